"""Data protection: personal data and free text of closed orders purged after N days, with every file the order
ever had; owner-data justifications kept for the audit period; nothing personal in any log line."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
import yaml
from order_support import (
    confirmed_order,
    PYTHON,
    REPO,
    Mailbox,
    api_order,
    make_live,
    order_body,
    pay_order,
    submit_summary,
    subprocess_env,
    token_of,
    wait_until,
    walk_to_summary,
)
from sqlalchemy import update

from gis_service.orders import db
from gis_service.orders.dataprotection import purge_personal_data
from gis_service.orders.db import utcnow
from gis_service.orders.models import Base, MailMessage, Order

JUSTIFICATION = "Als Gläubiger mit Vollstreckungstitel benötige ich den Eigentümer dieses Flurstücks."
STAFF_PARCEL = "05987100400030______"  # Flur 4: a Flurbereinigung area, so the order goes to staff
CLERK = "staff:sachbearbeiter"
PDF = b"%PDF-1.4\n% an attachment\n"


def close_days_ago(live, number: str, days: int) -> None:
    order = live.service.repository.find(number)
    if order.status not in ("completed", "rejected", "cancelled"):
        live.service.actions.cancel(number, "staff:test", order.version, "Test der Löschfristen")
    with live.orders.factory() as session, session.begin():
        session.execute(update(Order).where(Order.order_number == number)
                        .values(closed_at=utcnow() - timedelta(days=days)))


def person(tag: str, refused: bool = False) -> dict:
    """A citizen whose every detail is unique to this test run, so finding it anywhere means a leak."""
    code = secrets.token_hex(3)
    return {"name": f"Mira {tag.title()}-{code}", "email": f"{'abgelehnt-' if refused else ''}{tag}-{code}@example.org",
            "phone": f"0171 {int(code, 16) % 10_000_000:07d}", "organisation": f"Planungsbüro {code}",
            "street": f"Lindenallee {code} 7", "postcode": "59999", "city": f"Lindenhagen-{code}"}


def secrets_of(contact: dict) -> list[str]:
    return [contact[k] for k in ("name", "email", "phone", "organisation", "street", "city")]


def staff_invoice_order(live, contact: dict, note: str) -> tuple[str, list[str]]:
    """An invoice order done by a clerk: taken, extract produced and regenerated, a file attached, completed
    with a note. Returns the order number and the storage names of every file it had."""
    body = confirmed_order(live, order_body(product="karte-amt", payment_method="invoice", contact=contact)).json()
    number = body["order_number"]
    actions = live.service.actions
    order = actions.take(number, CLERK, live.service.repository.get(number).version)
    order = actions.produce_extract(number, CLERK, order.version)
    order = actions.produce_extract(number, CLERK, order.version)  # regenerated: the first file is replaced
    order = actions.attach(number, CLERK, order.version, f"Lageplan {contact['name']}.pdf", PDF)
    order = actions.complete(number, CLERK, order.version, note=note)
    assert order.status == "completed"
    # settled: an open invoice would keep the address from the purge (it is needed for the invoice)
    order = live.service.invoices.mark_sent(number, CLERK, order.version, day=None, amount=None, invoice_number="R-1")
    order = live.service.invoices.write_off(number, CLERK, order.version, day=None,
                                            reason=f"{contact['name']} ist verzogen, unbekannt wohin")
    files = [d.storage_name for d in order.documents]
    assert len(files) == 3 and len(order.current_documents) == 2
    return number, files


def paid_order_rejected(live, simulator, contact: dict, reason: str, clerk: requests.Session | None = None) -> str:
    """Paid online, routed to staff (Flurbereinigung), then rejected with a reason (by `clerk`, a logged-in
    browser, over HTTP if given): refunded."""
    body = api_order(live, order_body(parcel=STAFF_PARCEL, orientation="landscape", contact=contact)).json()
    number, token = body["order_number"], token_of(body["status_url"])
    back = pay_order(live, simulator, number, token)
    assert back.status_code in (200, 303), back.text
    order = live.service.repository.get(number)
    assert order.status == "paid" and order.handling == "staff" and order.payments
    if clerk is None:
        live.service.actions.reject(number, CLERK, order.version, reason)
    else:
        page = clerk.get(live.url(f"/staff/orders/{number}"), timeout=30).text
        form = {"csrf_token": csrf_of(page), "version": re.search(r'name="version" value="(\d+)"', page).group(1),
                "reason": reason}
        done = clerk.post(live.url(f"/staff/orders/{number}/reject"), data=form, allow_redirects=False, timeout=60)
        assert done.status_code == 303, done.text
        assert live.service.repository.get(number).status == "rejected"
    return number


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def staff_browser(live, username: str, password: str) -> requests.Session:
    """A clerk logged in to the back office over HTTP."""
    live.orders.accounts.create(username, password, role="clerk", display_name=f"Sachbearbeiterin {username}")
    browser = requests.Session()
    page = browser.get(live.url("/staff/login"), timeout=30).text
    login = browser.post(live.url("/staff/login"), data={"csrf_token": csrf_of(page), "username": username,
                                                         "password": password}, allow_redirects=False, timeout=30)
    assert login.status_code == 303, login.text
    return browser


def order_rows(live, number: str) -> dict[str, list[dict]]:
    """Every row of every order table that belongs to the order (by order_id), as plain values."""
    rows: dict[str, list[dict]] = {}
    with live.orders.factory() as session:
        order_id = session.scalar(sa.select(Order.id).where(Order.order_number == number))
        for table in Base.metadata.sorted_tables:
            if table.name == "orders":
                condition = table.c.id == order_id
            elif "order_id" in table.c:
                condition = table.c.order_id == order_id
            else:
                continue
            rows[table.name] = [dict(r._mapping) for r in session.execute(sa.select(table).where(condition))]
    return rows


def leaks(rows: dict[str, list[dict]], needles: list[str]) -> list[str]:
    found = []
    for table, table_rows in rows.items():
        for row in table_rows:
            for column, value in row.items():
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
                for needle in needles:
                    if needle.lower() in text.lower():
                        found.append(f"{table}.{column}: {needle!r}")
    return found


def test_purge_clears_every_personal_and_free_text_and_every_file(quiet, simulator):
    live = quiet
    settings = live.app.extensions["gis_settings"].orders.data_protection  # 90 days, justifications 3 years
    store = live.orders.store
    invoice_person, online_person, recent_person = person("rechnung"), person("online"), person("neu")
    note = f"Telefonisch mit {invoice_person['name']} abgesprochen, Abholung am Schalter"
    reason = f"{online_person['name']} ist nicht Eigentümerin; Rückruf unter {online_person['phone']}"
    invoice_number, files = staff_invoice_order(live, invoice_person, note)
    online_number = paid_order_rejected(live, simulator, online_person, reason)
    recent_number, recent_files = staff_invoice_order(live, recent_person, f"Notiz zu {recent_person['name']}")
    live.service.refunds.process()
    live.service.outbox.send_pending()
    invoice_needles = secrets_of(invoice_person) + [note, "Lageplan", "unbekannt wohin"]
    online_needles = secrets_of(online_person) + [reason]
    # Before: the data are there, in the order, its events and its mails (so the scan below can fail).
    before = order_rows(live, invoice_number)
    assert {"orders", "order_events", "mail_outbox", "documents"} <= {t for t in before if before[t]}
    assert any(f.startswith("order_events.reason") for f in leaks(before, [note]))
    assert any(f.startswith("mail_outbox.") for f in leaks(before, [invoice_person["email"]]))
    assert leaks(order_rows(live, online_number), [reason]) and order_rows(live, online_number)["payments"]
    assert all(store.exists(name) for name in files)

    close_days_ago(live, invoice_number, 91)
    close_days_ago(live, online_number, 91)
    close_days_ago(live, recent_number, 10)
    recent_before = order_rows(live, recent_number)

    invoice_before = order_rows(live, invoice_number)
    dry = purge_personal_data(live.orders.factory, settings, store, dry_run=True)
    assert {invoice_number, online_number} <= set(dry.anonymised) and recent_number not in dry.anonymised
    assert dry.files_deleted >= len(files)  # counted, not deleted
    assert order_rows(live, invoice_number) == invoice_before and all(map(store.exists, files))
    assert live.service.repository.get(invoice_number).contact_email == invoice_person["email"]

    report = purge_personal_data(live.orders.factory, settings, store)
    assert {invoice_number, online_number} <= set(report.anonymised) and recent_number not in report.anonymised
    assert report.files_deleted >= 3

    for number, needles in ((invoice_number, invoice_needles), (online_number, online_needles)):
        rows = order_rows(live, number)
        assert leaks(rows, needles) == [], number
        order = rows["orders"][0]
        # The anonymised record: number, product, amount, dates and state stay for the accounts.
        assert order["order_number"] == number and order["amount_cents"] > 0
        assert order["status"] in ("completed", "rejected") and order["product_id"]
        assert order["created_at"] and order["closed_at"] and order["anonymised_at"]
        assert rows["mail_outbox"] == []
        purged = [e for e in rows["order_events"] if e["action"] == "personal_data_purged"]
        assert len(purged) == 1 and purged[0]["reason"] is None
    assert not any(store.exists(name) for name in files)
    assert not any(path.is_file() for path in map(store.path, files))
    online_payments = order_rows(live, online_number)["payments"]
    assert online_payments[0]["transaction_id"] and online_payments[0]["amount_cents"] > 0  # kept for the accounts
    assert online_payments[0]["payment_url"] is None

    # The order not yet due is untouched, files and all.
    assert order_rows(live, recent_number) == recent_before
    assert all(store.exists(name) for name in recent_files)
    # Idempotent: a second run finds nothing, changes nothing.
    after = order_rows(live, invoice_number)
    again = purge_personal_data(live.orders.factory, settings, store)
    assert invoice_number not in again.anonymised and order_rows(live, invoice_number) == after


def test_purge_keeps_justification_for_the_audit_period(quiet_sqlite):
    live = quiet_sqlite
    settings = live.app.extensions["gis_settings"].orders.data_protection
    owner = api_order(live, order_body(product="eigentuemernachweis", justification=JUSTIFICATION,
                                       contact={"name": "Gläubiger GmbH", "email": "g@example.org"})).json()
    ancient = api_order(live, order_body(product="eigentuemernachweis", justification=JUSTIFICATION,
                                         contact={"name": "Sehr Alt", "email": "s@example.org"})).json()
    close_days_ago(live, owner["order_number"], 91)
    close_days_ago(live, ancient["order_number"], 4 * 365)
    report = purge_personal_data(live.orders.factory, settings, live.orders.store)
    assert {owner["order_number"], ancient["order_number"]} <= set(report.anonymised)
    assert ancient["order_number"] in report.justifications_purged
    assert owner["order_number"] not in report.justifications_purged
    owner_order = live.service.repository.find(owner["order_number"])
    assert owner_order.contact_name is None and owner_order.justification == JUSTIFICATION  # kept for the audit
    ancient_rows = order_rows(live, ancient["order_number"])
    assert leaks(ancient_rows, [JUSTIFICATION, "Sehr Alt", "s@example.org"]) == []
    assert ancient_rows["orders"][0]["justification_purged_at"] is not None


def test_the_periodic_tasks_purge_and_several_workers_purge_once(quiet_sqlite):
    live = quiet_sqlite
    settings = live.app.extensions["gis_settings"].orders.data_protection
    first = api_order(live, order_body(contact=person("periodisch"))).json()["order_number"]
    close_days_ago(live, first, 91)
    results = live.service.run_due()
    assert results["personal_data_purged"] >= 1
    assert live.service.repository.get(first).anonymised_at is not None
    assert live.service.run_due()["personal_data_purged"] == 0  # nothing due: nothing done

    numbers = [api_order(live, order_body(contact=person("parallel"))).json()["order_number"] for _ in range(6)]
    for number in numbers:
        close_days_ago(live, number, 91)
    reports = []

    def purge():
        reports.append(purge_personal_data(live.orders.factory, settings, live.orders.store))

    threads = [threading.Thread(target=purge) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claimed = [n for r in reports for n in r.anonymised if n in numbers]
    assert sorted(claimed) == sorted(numbers)  # each order by exactly one worker
    for number in numbers:
        events = [e.action for e in live.service.repository.get(number).events]
        assert events.count("personal_data_purged") == 1


def test_files_left_by_a_crash_are_deleted_after_a_day(quiet_sqlite):
    live = quiet_sqlite
    settings = live.app.extensions["gis_settings"].orders.data_protection
    store = live.orders.store
    # A process died after writing these and before committing their document rows.
    orphan = store.save(b"%PDF-1.4 orphan", "pdf").storage_name
    leftover = f".{secrets.token_hex(16)}.pdf.tmp"
    (store.root / leftover).write_bytes(b"%PDF-1.4 half")
    fresh = store.save(b"%PDF-1.4 being committed right now", "pdf").storage_name
    kept_number, kept_files = staff_invoice_order(live, person("datei"), "Notiz")
    two_days_ago = time.time() - 2 * 86400
    for name in (orphan, leftover, *kept_files):
        os.utime(store.root / name, (two_days_ago, two_days_ago))

    dry = purge_personal_data(live.orders.factory, settings, store, dry_run=True)
    assert dry.orphans_deleted >= 2 and store.exists(orphan) and (store.root / leftover).exists()
    report = purge_personal_data(live.orders.factory, settings, store)
    assert report.orphans_deleted >= 2
    assert not store.exists(orphan) and not (store.root / leftover).exists()
    assert store.exists(fresh)  # younger than a day: its row may be on the way
    assert all(store.exists(name) for name in kept_files)  # an open order's files, replaced extract too
    assert kept_number not in report.anonymised


class RefusingMailbox(Mailbox):
    """A real SMTP server that refuses some recipients, quoting the address as real servers do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("abgelehnt-"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_live(postgres, tmp_path_factory, simulator):
    from aiosmtpd.controller import Controller
    from order_support import free_port

    mailbox = RefusingMailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    live = make_live("sqlite", postgres, tmp_path_factory, simulator, mailbox, worker=False)
    live.mailbox = mailbox
    yield live
    live.stop()
    controller.stop()


def test_no_personal_data_in_any_log_line(refusing_live, simulator, caplog):
    live = refusing_live
    caplog.set_level(logging.DEBUG)
    invoice_person, online_person, refused_person = person("rechnung"), person("online"), person("nie", refused=True)
    page_person = person("seite")
    reason = f"Antrag von {online_person['name']} unvollständig, bitte {online_person['street']} prüfen"
    invoice_number, _ = staff_invoice_order(live, invoice_person, f"Rückruf {invoice_person['phone']} erledigt")
    clerk_name = f"clerk-{secrets.token_hex(3)}"
    clerk = staff_browser(live, clerk_name, "Korrekt-Pferd-Batterie-42")
    online_number = paid_order_rejected(live, simulator, online_person, reason, clerk=clerk)
    refused = confirmed_order(live, order_body(product="karte-amt", payment_method="invoice", contact=refused_person)).json()
    # A citizen on the order pages: contact form, summary, payment, automatic extract, download mail.
    browser = requests.Session()
    contact = {k: page_person[k] for k in ("name", "phone", "street", "postcode", "city")}
    draft_id, summary = walk_to_summary(live, browser, page_person["email"], contact=contact)
    sent = submit_summary(live, browser, draft_id, summary.text)
    assert sent.status_code == 303, sent.text
    page_number = re.search(r"/embed/order/([A-Z]+-\d{4}-[0-9A-Z]{6})\?", sent.headers["Location"]).group(1)
    page_token = parse_qs(urlsplit(sent.headers["Location"]).query)["t"][0]
    pay_order(live, simulator, page_number, page_token)
    assert live.service.repository.get(page_number).status == "completed"
    live.service.run_due()
    wait_until(lambda: all(live.mailbox.to(p["email"]) for p in (invoice_person, online_person, page_person)),
               message="the mails")
    with live.orders.factory() as session:
        failed = session.scalars(sa.select(MailMessage).where(MailMessage.recipient == refused_person["email"])).all()
        assert failed and all(m.attempts >= 1 and m.sent_at is None for m in failed)
        # the stored error, too, names no one (the server quoted the address)
        assert all(refused_person["email"] not in (m.last_error or "") and "550" in m.last_error for m in failed)

    needles = [p[k] for p in (invoice_person, online_person, refused_person, page_person)
               for k in ("name", "email", "phone", "street", "organisation")] + [reason]
    needles += [refused_person["email"].partition("@")[0], clerk_name]  # the clerk is a person too
    lines = []
    for record in caplog.records:
        if record.name.startswith("mail."):
            continue  # the test's own SMTP server (aiosmtpd) logs the envelope, as any mail server does
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        # The extra fields too: the JSON log format writes every one of them.
        text += " " + " ".join(str(value) for value in vars(record).values())
        lines.append(text)
    # The journey was logged (so an empty capture cannot pass): the failed mail names its order.
    assert any("failed" in line and refused["order_number"] in line for line in lines), lines[-20:]
    assert any(r.name == "gis_service.requests" for r in caplog.records)  # one line per request
    leaked = [(needle, line) for line in lines for needle in needles if needle.lower() in line.lower()]
    assert leaked == []
    assert invoice_number and online_number


def test_purge_command(tmp_path):
    config = tmp_path / "gis.yaml"
    config.write_text(yaml.safe_dump({"instance_path": str(tmp_path), "orders": {
        "database_url": f"sqlite:///{tmp_path / 'p.sqlite3'}", "data_protection": {"personal_data_days": 30}}}))
    run = subprocess.run([PYTHON, "-m", "gis_service.cli", "purge-personal-data", "--config", str(config)],
                         capture_output=True, text=True, cwd=REPO, env=subprocess_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    assert "anonymised 0 orders" in run.stdout
    dry = subprocess.run([PYTHON, "-m", "gis_service.cli", "purge-personal-data", "--dry-run", "--config", str(config)],
                         capture_output=True, text=True, cwd=REPO, env=subprocess_env(), timeout=120)
    assert dry.returncode == 0 and "would anonymise 0 orders" in dry.stdout, dry.stderr
    upgrade = subprocess.run([PYTHON, "-m", "gis_service.cli", "db-upgrade", "--config", str(config)],
                             capture_output=True, text=True, cwd=REPO, env=subprocess_env(), timeout=120)
    assert upgrade.returncode == 0 and f"at revision {db.head_revision()}" in upgrade.stdout
    tasks = subprocess.run([PYTHON, "-m", "gis_service.cli", "run-order-tasks", "--config", str(config)],
                           capture_output=True, text=True, cwd=REPO, env=subprocess_env(), timeout=120)
    assert tasks.returncode == 0 and "reconciled: 0" in tasks.stdout and "personal_data_purged: 0" in tasks.stdout, \
        tasks.stdout + tasks.stderr
