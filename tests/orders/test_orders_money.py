"""Money to the end over HTTP: a completed order cancelled with a refund, invoices sent → paid, the CSV, the cash report."""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import date, timedelta

import pytest
import requests
from order_support import (
    confirmed_order,
    Mailbox,
    api_order,
    check_page,
    order_body,
    order_state,
    pay_order,
    token_of,
    unique_email,
    wait_until,
)
from test_orders_staff import Browser, account


@pytest.fixture
def clerk(quiet):
    browser = Browser(quiet)
    assert browser.login(account(quiet)).status_code == 303
    return browser


def flash_error(browser: Browser, number: str) -> str:
    page = browser.get(f"/staff/orders/{number}").text
    found = re.search(r'<p class="flash error">Fehler: ([^<]+)</p>', page)
    return found.group(1) if found else ""


def money(browser: Browser, number: str, action: str, version: int | None = None, **data) -> requests.Response:
    if version is None:
        _, version = browser.detail(number)
    return browser.post(f"/staff/orders/{number}/money/{action}", {"version": str(version), **data})


def cash_rows(browser: Browser, day: date) -> dict[tuple[str, str], list[str]]:
    """The cash report of one day: {(product, payment method): row}; the sum row under ("Summe", "")."""
    response = browser.get("/staff/kasse.csv", params={"from": day.isoformat(), "to": day.isoformat()})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # Excel opens UTF-8 with umlauts intact
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Tag", "Produkt", "Zahlart", "Zahlungseingänge (EUR)", "Erstattungen (EUR)", "Summe (EUR)",
                       "Anzahl Zahlungen", "Anzahl Erstattungen"]
    return {(r[1], r[2]) if r[0] != "Summe" else ("Summe", ""): r for r in rows[1:]}


def open_invoices(browser: Browser) -> str:
    page = browser.get("/staff/kasse").text
    check_page(page)
    return page[page.index("Offene Rechnungen"):]


def cents(text: str) -> int:
    assert re.fullmatch(r"-?\d+,\d\d", text), text  # comma decimals, no currency sign: a number Excel sums
    sign = -1 if text.startswith("-") else 1
    euros, rest = text.lstrip("-").split(",")
    return sign * (int(euros) * 100 + int(rest))


def cell(rows: dict, key: tuple[str, str], column: int) -> int:
    row = rows.get(key)
    return 0 if row is None else (cents(row[column]) if column in (3, 4, 5) else int(row[column]))


def completed_online_order(live, simulator, email: str) -> tuple[str, str]:
    body = api_order(live, order_body(contact={"name": "Rita Rückgabe", "email": email})).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)

    def completed():
        if order_state(live, number, token)["status"] != "completed":
            live.service.run_due()
            return False
        return True

    wait_until(completed, 60, 0.2, f"order {number} to be completed")
    return number, token


def test_completed_order_cancelled_with_refund(quiet, simulator, smtp, clerk):
    live = quiet
    email = unique_email("rueckgabe")
    number, token = completed_online_order(live, simulator, email)
    state = order_state(live, number, token)
    link = state["documents"][0]["url"]
    assert requests.get(link, timeout=30).content.startswith(b"%PDF")
    stored = [d.storage_name for d in live.service.repository.get(number).current_documents]
    assert stored and all(live.orders.store.exists(name) for name in stored)
    today = live.service.invoices.today()
    product = live.service.repository.get(number).product_name
    before = cash_rows(clerk, today)

    page, version = clerk.detail(number)
    check_page(page)
    assert "Stornieren und Gebühr erstatten" in page and "Stornieren und 15,00\u00a0€ erstatten" in page

    # no reason: refused, nothing changes
    assert money(clerk, number, "cancel-refund", version, reason="  ").status_code == 303
    assert "Grund" in flash_error(clerk, number)
    assert order_state(live, number, token)["status"] == "completed"

    # two clerks (or a double click) with the same form: one refund, the other is told the order changed
    other = Browser(live)
    other.login(account(live))
    assert money(other, number, "cancel-refund", version, reason="Doppelt bestellt, bitte erstatten").status_code == 303
    assert money(clerk, number, "cancel-refund", version, reason="Doppelt bestellt, bitte erstatten").status_code == 303
    assert "inzwischen von jemand anderem geändert" in flash_error(clerk, number)

    state = order_state(live, number, token)
    assert state["status"] == "cancelled" and state["payment"]["refund_status"] == "done"
    transaction = simulator.for_reference(number)[0]
    assert [r["grossAmount"] for r in transaction["refunds"]] == ["15.00"]

    # a second try with the current version (no form offers it any more) refunds nothing more
    assert "Stornieren und Gebühr erstatten" not in clerk.get(f"/staff/orders/{number}").text
    assert money(clerk, number, "cancel-refund", live.service.repository.get(number).version,
                 reason="Noch einmal erstatten").status_code == 303
    assert "nur bei erledigten" in flash_error(clerk, number)
    assert len(simulator.for_reference(number)[0]["refunds"]) == 1

    # documents revoked: the citizen's link is gone, the file removed, the record kept
    assert state["documents"] == []
    status_page = requests.get(state["status_url"], timeout=10).text
    assert "storniert" in status_page and "erstattet" in status_page and "/files/" not in status_page
    assert requests.get(link, timeout=30).status_code == 404
    assert not any(live.orders.store.exists(name) for name in stored)
    order = live.service.repository.get(number)
    assert order.current_documents == [] and all(d.deleted_at for d in order.documents)
    event = next(e for e in order.events if e.action == "cancelled_with_refund")
    assert event.reason == "Doppelt bestellt, bitte erstatten" and event.details["amount_cents"] == 1500
    assert event.from_status == "completed" and event.to_status == "cancelled"
    assert {d["sha256"] for d in event.details["documents_revoked"]} == {d.sha256 for d in order.documents}
    assert any(e.action == "refunded" and e.details["amount_cents"] == 1500 for e in order.events)
    page = clerk.get(f"/staff/orders/{number}").text
    check_page(page)
    assert "nach Abschluss storniert" in page and "Widerrufene oder ersetzte Unterlagen" in page

    # the citizen is told by mail, on the real SMTP server
    live.service.outbox.send_pending()
    body = Mailbox.body(smtp.wait_for(email, "storniert"))
    assert "Doppelt bestellt" in body and "erstattet" in body and "gelten nicht mehr" in body

    # the treasury sees the refund as a negative amount on the day
    after = cash_rows(clerk, today)
    key = (product, "online")
    assert cell(after, key, 4) - cell(before, key, 4) == -1500
    assert cell(after, key, 7) - cell(before, key, 7) == 1
    assert cell(after, ("Summe", ""), 5) - cell(before, ("Summe", ""), 5) == -1500


@pytest.mark.parametrize("backend", ["sqlite"])
def test_produced_order_cancelled_revokes_its_documents(quiet, simulator, smtp, clerk):
    """Cancelling (or rejecting) an order in progress whose extract the citizen can already download revokes it too."""
    live = quiet
    email = unique_email("erstellt")
    body = api_order(live, order_body(product="karte-amt", lang="en",
                                      contact={"name": "Egon Entwurf", "email": email})).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)
    assert clerk.act(number, "take").status_code == 303
    assert clerk.act(number, "produce").status_code == 303
    state = order_state(live, number, token)
    assert state["status"] == "in_progress" and len(state["documents"]) == 1
    link = state["documents"][0]["url"]
    assert requests.get(link, timeout=30).content.startswith(b"%PDF")
    stored = live.service.repository.get(number).current_documents[0]

    assert clerk.act(number, "cancel", reason="Auftrag zurückgezogen").status_code == 303
    state = order_state(live, number, token)
    assert state["status"] == "cancelled" and state["payment"]["refund_status"] == "done" and state["documents"] == []
    assert requests.get(link, timeout=30).status_code == 404
    assert not live.orders.store.exists(stored.storage_name)
    event = next(e for e in live.service.repository.get(number).events if e.action == "documents_revoked")
    assert event.details["documents"] == [{"id": stored.id, "kind": "extract", "sha256": stored.sha256,
                                           "size": stored.size}]
    live.service.outbox.send_pending()
    body = Mailbox.body(smtp.wait_for(email, "cancelled"))  # the citizen ordered in English
    assert "zurückgezogen" in body and "refunded" in body and "no longer valid" in body


def test_invoice_sent_then_paid_in_csv_and_cash_report(quiet, clerk):
    live = quiet
    company = f"Planungsbüro Öztürk {secrets.token_hex(2)}"
    body = confirmed_order(live, order_body(product="karte-amt", payment_method="invoice", paper="A3",
                                      contact={"name": "Ida Invoice", "email": unique_email(), "organisation": company,
                                               "street": "Mühlenweg 12a", "postcode": "59999",
                                               "city": "Lindenhagen"})).json()
    number = body["order_number"]
    order = live.service.repository.get(number)
    amount = order.amount_cents
    today = live.service.invoices.today()
    before = cash_rows(clerk, today)
    before_yesterday = cash_rows(clerk, today - timedelta(days=1))

    page, _ = clerk.detail(number)
    check_page(page)
    assert "noch keine Rechnung" in page and "nicht beglichen" in page and "Versand vermerken" in page
    assert "Zahlung vermerken" not in page  # the next action only

    # bad input: a clear message, nothing booked
    assert money(clerk, number, "invoice-paid", amount="80").status_code == 303
    assert "zuerst den Versand" in flash_error(clerk, number)
    for bad in ({"amount": "achtzig", "date": today.isoformat()}, {"amount": "-5", "date": today.isoformat()},
                {"amount": "80", "date": (today + timedelta(days=1)).isoformat()},
                {"amount": "80", "date": "31.12.2026"}):
        assert money(clerk, number, "invoice-sent", **bad).status_code == 303
        assert flash_error(clerk, number), bad
    assert live.service.repository.get(number).invoice is None

    assert money(clerk, number, "invoice-sent", date=today.isoformat(), invoice_number="R-2026-0815",
                 amount=f"{amount // 100},{amount % 100:02d}").status_code == 303
    page, _ = clerk.detail(number)
    check_page(page)
    assert "Rechnung verschickt, offen" in page and "nicht beglichen" in page and "R-2026-0815" in page
    assert "Zahlung vermerken" in page and "Rechnung abschreiben" in page
    assert number in open_invoices(clerk)
    assert money(clerk, number, "invoice-sent", date=today.isoformat(), amount="1").status_code == 303
    assert "bereits als verschickt" in flash_error(clerk, number)
    assert money(clerk, number, "invoice-written-off", reason="").status_code == 303
    assert "Grund" in flash_error(clerk, number)

    assert money(clerk, number, "invoice-paid", date=today.isoformat(), amount="").status_code == 303  # amount as billed
    page, _ = clerk.detail(number)
    assert "Rechnung bezahlt" in page and "nicht beglichen" not in page and "Zahlung vermerken" not in page
    assert number not in open_invoices(clerk)
    assert money(clerk, number, "invoice-written-off", reason="Doch nicht bezahlt").status_code == 303
    assert "bereits bezahlt" in flash_error(clerk, number)

    order = live.service.repository.get(number)
    sent = next(e for e in order.events if e.action == "invoice_sent")
    paid = next(e for e in order.events if e.action == "invoice_paid")
    assert sent.details == {"date": today.isoformat(), "amount_cents": amount, "invoice_number": "R-2026-0815"}
    assert paid.details == {"date": today.isoformat(), "amount_cents": amount, "invoice_number": "R-2026-0815"}
    assert "Rechnung verschickt" in page and "Rechnung bezahlt" in page  # the history in words

    # the CSV: postal address, company, invoice state, dates and amounts
    export = clerk.get("/staff/export.csv", params={"status": "all", "q": number})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Firma/Organisation"] == company and row["Straße"] == "Mühlenweg 12a" and row["PLZ"] == "59999"
    assert row["Ort"] == "Lindenhagen" and row["Zahlart"] == "Rechnung"
    assert row["Rechnung"] == "Rechnung bezahlt" and row["Rechnungsnummer"] == "R-2026-0815"
    euro_text = f"{amount // 100},{amount % 100:02d}\u00a0€"
    assert row["Rechnung verschickt am"] == today.isoformat() and row["Rechnungsbetrag"] == euro_text
    assert row["Bezahlt am"] == today.isoformat() and row["Bezahlter Betrag"] == euro_text
    assert row["Abgeschrieben am"] == ""

    # the cash report: the invoice payment on the day it was marked paid
    after = cash_rows(clerk, today)
    key = (order.product_name, "Rechnung")
    assert cell(after, key, 3) - cell(before, key, 3) == amount
    assert cell(after, key, 6) - cell(before, key, 6) == 1
    assert after[key][0] == today.strftime("%d.%m.%Y")
    assert cell(after, ("Summe", ""), 5) - cell(before, ("Summe", ""), 5) == amount
    # … and on no other day
    assert cash_rows(clerk, today - timedelta(days=1)).get(key) == before_yesterday.get(key)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_invoice_written_off_and_bad_requests(quiet, clerk):
    live = quiet
    body = confirmed_order(live, order_body(product="karte-amt", payment_method="invoice",
                                      contact={"name": "Wolf Abschreiber", "email": unique_email(), "street": "Weg 2",
                                               "postcode": "59999", "city": "Lindenhagen"})).json()
    number = body["order_number"]
    assert number in open_invoices(clerk)  # not yet sent: open as well
    yesterday = (live.service.invoices.today() - timedelta(days=1)).isoformat()
    assert money(clerk, number, "invoice-sent", date=yesterday, amount="30").status_code == 303
    order = live.service.repository.get(number)
    assert order.invoice.sent_on.isoformat() == yesterday and order.invoice.amount_cents == 3000
    assert money(clerk, number, "invoice-written-off", date="", reason="Schuldner unbekannt verzogen").status_code == 303
    order = live.service.repository.get(number)
    assert order.invoice.status == "written_off" and order.invoice.write_off_reason == "Schuldner unbekannt verzogen"
    event = next(e for e in order.events if e.action == "invoice_written_off")
    assert event.reason == "Schuldner unbekannt verzogen" and event.details["amount_cents"] == 3000
    page, _ = clerk.detail(number)
    assert "Rechnung abgeschrieben" in page and "nicht beglichen" not in page
    assert number not in open_invoices(clerk)

    # an online order has no invoice; an unknown action, a missing version, a bad range: 4xx, never a 500
    online = api_order(live).json()["order_number"]
    assert money(clerk, online, "invoice-sent", amount="15").status_code == 303
    assert "nicht per Rechnung" in flash_error(clerk, online)
    assert money(clerk, online, "cancel-refund", reason="Nicht bezahlt, nicht erledigt").status_code == 303
    assert "nur bei erledigten" in flash_error(clerk, online)
    assert clerk.post(f"/staff/orders/{number}/money/verschenken", {"version": "1"}).status_code == 404
    assert clerk.post(f"/staff/orders/{number}/money/invoice-paid", {"version": "x"}).status_code == 400
    assert clerk.post("/staff/orders/XX-0000-000000/money/invoice-paid", {"version": "1"}).status_code in (303, 404)
    for params in ({"from": "gestern", "to": "heute"}, {"from": "2026-02-01", "to": "2026-01-01"},
                   {"from": "2020-01-01", "to": "2026-01-01"}, {}):
        answer = clerk.get("/staff/kasse.csv", params=params)
        assert answer.status_code == 422 and "gültigen Zeitraum" in answer.text
        check_page(answer.text)
    page = clerk.get("/staff/kasse")
    assert page.status_code == 200 and "CSV herunterladen" in page.text
    check_page(page.text)
    assert Browser(live).get("/staff/kasse.csv").url.endswith("/staff/login?next=/staff/kasse.csv")


def test_cash_report_sums_and_days():
    """The report's arithmetic and format without a server: days on the treasury's clock, refunds negative."""
    from gis_service.orders.cashreport import CashRow, cash_report_csv, euro, parse_range

    assert euro(8000) == "80,00" and euro(-1505) == "-15,05" and euro(0) == "0,00" and euro(123456) == "1234,56"
    assert parse_range("2026-12-01", "2026-12-31") == (date(2026, 12, 1), date(2026, 12, 31))
    text = cash_report_csv([CashRow(date(2026, 12, 4), "=Karte", "online", 3000, -1500, 2, 1),
                            CashRow(date(2026, 12, 4), "Karte", "invoice", 8000, 0, 1, 0)])
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows[1] == ["04.12.2026", "'=Karte", "online", "30,00", "-15,00", "15,00", "2", "1"]
    assert rows[3] == ["Summe", "", "", "110,00", "-15,00", "95,00", "3", "1"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_open_invoice_keeps_the_address_from_the_purge(quiet, clerk):
    """Personal data of a closed order go after the period, but not while its invoice is unpaid."""
    from gis_service.orders.dataprotection import purge_personal_data
    from test_orders_dataprotection import close_days_ago

    live = quiet
    settings = live.app.extensions["gis_settings"].orders.data_protection

    def invoice_order(name: str) -> str:
        return confirmed_order(live, order_body(product="karte-amt", payment_method="invoice", contact={
            "name": name, "email": unique_email(), "street": "Weg 3", "postcode": "59999",
            "city": "Lindenhagen"})).json()["order_number"]

    billed, never_billed = invoice_order("Berta Offen"), invoice_order("Nora Nie")
    assert money(clerk, billed, "invoice-sent", amount="30").status_code == 303
    close_days_ago(live, billed, 91)  # cancelled after the invoice went out: it is still owed
    close_days_ago(live, never_billed, 91)  # cancelled before: nothing owed
    report = purge_personal_data(live.orders.factory, settings, live.orders.store)
    assert never_billed in report.anonymised and billed not in report.anonymised
    assert live.service.repository.get(billed).address_street == "Weg 3"

    assert money(clerk, billed, "invoice-paid", amount="30").status_code == 303
    report = purge_personal_data(live.orders.factory, settings, live.orders.store)
    assert billed in report.anonymised
    assert live.service.repository.get(billed).address_street is None


def test_two_clerks_at_the_same_moment_refund_once(quiet, simulator, clerk):
    """Both press "erstatten" on the same form at once: one change wins, one refund reaches the provider."""
    from concurrent.futures import ThreadPoolExecutor

    live = quiet
    number, token = completed_online_order(live, simulator, unique_email("gleichzeitig"))
    other = Browser(live)
    other.login(account(live))
    _, version = clerk.detail(number)
    other.detail(number)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda b: money(b, number, "cancel-refund", version, reason="Gleichzeitig erstattet"),
                                (clerk, other)))
    assert [a.status_code for a in answers] == [303, 303]
    errors = [flash_error(b, number) for b in (clerk, other)]
    assert sorted(bool(e) for e in errors) == [False, True], errors  # exactly one was refused
    state = order_state(live, number, token)
    assert state["status"] == "cancelled" and state["payment"]["refund_status"] == "done"
    assert [r["grossAmount"] for t in simulator.for_reference(number) for r in t["refunds"]] == ["15.00"]
    events = live.service.repository.get(number).events
    assert [e.action for e in events].count("cancelled_with_refund") == 1
    assert [e.action for e in events].count("refunded") == 1
