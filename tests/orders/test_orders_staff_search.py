"""The staff search, sorting, assignee filter, bulk actions and internal notes, over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import secrets

import requests
from alembic import command
from order_support import confirmed_order, Mailbox, api_order, database_url, order_body, order_state, token_of, unique_email, wait_until
from sqlalchemy import select, text
from test_orders_staff import Browser, account

from cadastre.kennzeichen import parse_kennzeichen
from gis_service.orders import db
from gis_service.orders.models import Order
from gis_service.orders.staff_search import key_pattern, order_search_text

OTHER_PARCEL = "059871001001280002__"  # Lindenhagen Flur 1, Flurstück 128/2: another parcel of the demo data


def _clerk(live) -> Browser:
    browser = Browser(live)
    assert browser.login(account(live)).status_code == 303
    return browser


def _invoice_order(live, name: str, email: str | None = None, **options) -> dict:
    """An order paid by invoice: it waits for staff at once (an invoice needs a postal address)."""
    response = confirmed_order(live, order_body(product="karte-amt", payment_method="invoice", **options, contact={
        "name": name, "email": email or unique_email(), "street": "Weg 1", "postcode": "59999", "city": "Lindenhagen"}))
    assert response.status_code == 201, response.text
    return response.json()


def _numbers(html: str) -> list[str]:
    """The order numbers of the queue's rows, in the order shown."""
    return re.findall(r'<th scope="row"><a href="/staff/orders/([^"]+)"', html)


def _found(clerk: Browser, q: str, **params) -> list[str]:
    page = clerk.get("/staff/", params={"status": "all", "q": q, **params})
    assert page.status_code == 200, page.text
    return _numbers(page.text)


def test_search_text_folds_names_addresses_and_keys():
    class Row:
        order_number = "LK-2026-ABC123"
        contact_name = "Jürgen Grün"
        contact_organisation = "Müller & Söhne GmbH"
        contact_email = "J.Gruen@Example.org"
        address_street = "Hauptstr. 12 a"
        address_postcode = "59999"
        address_city = "Groß Lindenhagen"
        parcel_label = "Gemarkung Lindenhagen, Flur 1, Flurstück 90"
        parcel_key = "05987100100090______"

    text = order_search_text(Row())
    for part in ("juergen gruen", "mueller & soehne", "j.gruen@example.org", "hauptstrasse12a", "gross lindenhagen",
                 "flurstueck 90", "lk-2026-abc123", "05987100100090"):
        assert part in text, part
    assert key_pattern(parse_kennzeichen("9871 1 90", default_land="05")) == "05987100100090\\_\\_\\_\\_%"
    # No Flur typed: any Flur (LIKE's "_"); a Nenner typed: exactly that one.
    assert key_pattern(parse_kennzeichen("059871-___-00128/2")) == "059871___001280002%"


def test_migration_backfills_the_search_text(backend, postgres, tmp_path):
    """Orders stored before the search text existed are found after the upgrade."""
    engine = db.make_engine(database_url(backend, postgres, tmp_path))
    db.upgrade(engine)
    now = db.utcnow()
    with db.transaction(db.session_factory(engine)) as session:
        session.add(Order(order_number="LK-2026-MIGR01", token_salt="s", status="submitted", created_at=now,
                          updated_at=now, lang="de", created_by="test", product_id="karte-amt", product_name="Karte",
                          kind="map", handling="staff", parcel_key="05987100100090______",
                          parcel_label="Gemarkung Lindenhagen, Flur 1, Flurstück 90", copies=1, delivery="post",
                          certified=False, payment_method="invoice", amount_cents=3000, currency="EUR",
                          fee_breakdown=[], partial_parcel=False, contact_name="Jörg Weiß",
                          address_street="Mühlenweg 12a"))
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0004")
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        stored = session.scalar(select(Order.search_text).where(Order.order_number == "LK-2026-MIGR01"))
        assert "joerg weiss" in stored and "muehlenweg12a" in stored
        assert session.scalar(text("SELECT count(*) FROM order_notes")) == 0
    engine.dispose()


def test_staff_search_finds_by_every_field_and_form(quiet):
    live, clerk = quiet, _clerk(quiet)
    tag = secrets.token_hex(3)
    email = unique_email(f"gruen-{tag}")
    wanted = confirmed_order(live, order_body(product="karte-amt", payment_method="invoice", contact={
        "name": f"Lütje Grünewald-Müller{tag}", "email": email, "organisation": f"Öko-Bau {tag} GmbH",
        "street": "Mühlenweg 12a", "postcode": "59999", "city": "Lindenhagen"})).json()
    other = confirmed_order(live, order_body(parcel=OTHER_PARCEL, product="karte-amt", payment_method="invoice", contact={
        "name": f"Erika Mustermann{tag}", "email": unique_email(), "street": "Mühlenweg 21",
        "postcode": "59999", "city": "Lindenhagen"})).json()
    a, b = wanted["order_number"], other["order_number"]

    assert _found(clerk, email) == [a]
    assert _found(clerk, email.upper()) == [a]
    assert _found(clerk, f"oeko-bau {tag}") == [a]
    assert _found(clerk, a.lower()) == [a]
    # names without umlauts, as a keyboard without them writes them
    assert _found(clerk, f"luetje gruenewald-mueller{tag}") == [a]
    assert _found(clerk, f"mueller{tag}") == [a]
    # the address with and without umlauts, with the house number suffix apart
    for address in ("Mühlenweg 12a", "Muehlenweg 12 a", "muehlenweg 12A, Lindenhagen"):
        found = _found(clerk, address)
        assert a in found and b not in found, address
    assert b in _found(clerk, "Mühlenweg 21")
    # the parcel key in every written form the citizen search reads
    for form in ("9871 1 90", "059871-001-00090", "Lindenhagen Flur 1 Flurstück 90", "05987100100090______"):
        found = _found(clerk, form)
        assert a in found and b not in found, form
    for form in ("9871 1 128/2", "Gemarkung Lindenhagen, Flur 1, Flurstück 128/2"):
        found = _found(clerk, form)
        assert b in found and a not in found, form
    # combined with the filters
    assert _found(clerk, email, status="completed") == []
    assert _found(clerk, email, product="karte-online") == []
    assert _found(clerk, "nichts-dergleichen-" + tag) == []
    for hostile in ("%", "_", "\\", "' OR 1=1 --", "9871 999 99999", "Flur 1000 Flurstück 1"):
        assert clerk.get("/staff/", params={"status": "all", "q": hostile}).status_code == 200


def test_sorting_and_the_mine_filter(quiet):
    live, clerk = quiet, _clerk(quiet)
    tag = f"Sortierung{secrets.token_hex(3)}"
    made = {}
    for name, copies in (("Anton", 1), ("Berta", 3), ("Cäsar", 2)):
        response = confirmed_order(live, order_body(product="karte-amt", payment_method="invoice", delivery="post",
                                                copies=copies, contact={"name": f"{name} {tag}", "email": unique_email(), "street": "Weg 1",
                                                                        "postcode": "59999", "city": "Lindenhagen"}))
        assert response.status_code == 201, response.text
        made[name] = response.json()
    by_name = _found(clerk, tag, sort="name", dir="asc")
    assert by_name == [made[n]["order_number"] for n in ("Anton", "Berta", "Cäsar")]
    assert _found(clerk, tag, sort="name", dir="desc") == by_name[::-1]
    amounts = [made[n]["amount_cents"] for n in ("Anton", "Berta", "Cäsar")]
    assert len(set(amounts)) == 3  # further copies cost more: the fee sort has something to order
    by_amount = _found(clerk, tag, sort="amount", dir="asc")
    shown = [next(m["amount_cents"] for m in made.values() if m["order_number"] == n) for n in by_amount]
    assert shown == sorted(amounts)
    assert _found(clerk, tag, sort="amount", dir="desc") == by_amount[::-1]
    page = clerk.get("/staff/", params={"status": "all", "q": tag, "sort": "name", "dir": "asc"}).text
    assert re.search(r'<th scope="col" aria-sort="ascending"><a class="sort" href="[^"]*sort=name&amp;dir=desc', page)
    assert page.count("aria-sort=") == 1
    assert clerk.get("/staff/", params={"sort": "<script>", "dir": "sideways"}).status_code == 200

    # "mine": only what this clerk took; "none": what nobody took
    _, version = clerk.detail(made["Berta"]["order_number"])
    assert clerk.act(made["Berta"]["order_number"], "take", version).status_code == 303
    assert _found(clerk, tag, assignee="mine") == [made["Berta"]["order_number"]]
    assert made["Berta"]["order_number"] not in _found(clerk, tag, assignee="none")
    assert len(_found(clerk, tag, assignee="none")) == 2
    colleague = _clerk(live)
    assert _found(colleague, tag, assignee="mine") == []
    assert len(_found(colleague, tag, assignee="bogus")) == 3


def test_bulk_take_assign_export_report_each_failure(quiet):
    live, clerk = quiet, _clerk(quiet)
    colleague_name = account(live)
    tag = f"Sammel{secrets.token_hex(3)}"
    orders = [_invoice_order(live, f"{tag} {i}") for i in range(3)]
    numbers = [o["order_number"] for o in orders]
    page = clerk.get("/staff/", params={"status": "all", "q": tag}).text
    boxes = dict(re.findall(r'name="selected" value="(([^"@]+)@\d+)"', page))
    selection = {number: box for box, number in boxes.items()}
    assert set(selection) == set(numbers)

    # a colleague changes the first order meanwhile: the stale selection fails for it alone
    other = _clerk(live)
    assert other.act(numbers[0], "take").status_code == 303
    taken = clerk.post("/staff/bulk", {"bulk_action": "take", "selected": list(selection.values()),
                                       "back": f"/staff/?q={tag}&status=all"})
    assert taken.status_code == 303 and taken.headers["Location"].endswith(f"/staff/?q={tag}&status=all")
    result = clerk.get(taken.headers["Location"]).text
    assert "2 von 3 Aufträgen übernommen." in result
    assert f"{numbers[0]}: Der Auftrag wurde inzwischen von jemand anderem geändert" in result
    assert sorted(_found(clerk, tag, assignee="mine")) == sorted(numbers[1:])

    # assign to a colleague, with fresh versions
    page = clerk.get("/staff/", params={"status": "all", "q": tag}).text
    fresh = [box for box, number in re.findall(r'name="selected" value="(([^"@]+)@\d+)"', page) if number != numbers[0]]
    assigned = clerk.post("/staff/bulk", {"bulk_action": "assign", "assignee": colleague_name, "selected": fresh})
    assert "2 von 2 Aufträgen an " + colleague_name in clerk.get(assigned.headers["Location"]).text
    detail, _ = clerk.detail(numbers[1])
    assert "zugewiesen" in detail and colleague_name in detail
    unknown = clerk.post("/staff/bulk", {"bulk_action": "assign", "assignee": "niemand-hier", "selected": fresh})
    assert "aktive Kollegin" in clerk.get(unknown.headers["Location"]).text

    # export exactly the selection, as the CSV export writes it
    export = clerk.post("/staff/bulk", {"bulk_action": "export", "selected": fresh})
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Bestellnummer" and sorted(r[0] for r in rows[1:]) == sorted(numbers[1:])

    # bad input: a 4xx or a message, never a 500; no CSRF token: refused
    assert clerk.post("/staff/bulk", {"bulk_action": "take", "selected": fresh}, csrf=False).status_code == 400
    assert clerk.post("/staff/bulk", {"bulk_action": "explode", "selected": fresh}).status_code == 422
    for bad in ([], ["x@1"], ["LK-2026-ZZZZZZ"], [f"{numbers[1]}@99999999999"]):
        response = clerk.post("/staff/bulk", {"bulk_action": "take", "selected": bad})
        assert response.status_code == 303
        assert "Fehler:" in clerk.get(response.headers["Location"]).text
    gone = clerk.post("/staff/bulk", {"bulk_action": "take", "selected": ["LK-2026-ZZZZZZ@1"]})
    assert "LK-2026-ZZZZZZ:" in clerk.get(gone.headers["Location"]).text


def test_internal_note_is_audited_and_never_reaches_the_citizen(live, smtp):
    mailbox = smtp
    clerk = _clerk(live)
    email = unique_email("notiz")
    created = _invoice_order(live, "Nora Nachtigall", email)
    number, token = created["order_number"], token_of(created["status_url"])
    secret = f"Nachbar ruft an, Grenzstreit {secrets.token_hex(6)}"
    _, version = clerk.detail(number)
    added = clerk.post(f"/staff/orders/{number}/notes", {"note": secret})
    assert added.status_code == 303 and added.headers["Location"].endswith(f"/staff/orders/{number}#notes")
    detail, version_after = clerk.detail(number)
    assert secret in detail and "interne Notiz hinzugefügt" in detail
    assert version_after == version  # a note does not make a colleague's open form stale
    assert clerk.post(f"/staff/orders/{number}/notes", {"note": "   "}).status_code == 303
    assert "Bitte schreiben Sie einen Text" in clerk.get(f"/staff/orders/{number}").text
    assert clerk.post(f"/staff/orders/{number}/notes", {"note": "x" * 4001}).status_code == 303
    assert clerk.post("/staff/orders/LK-2026-ZZZZZZ/notes", {"note": "gibt es nicht"}).status_code == 404
    assert clerk.post(f"/staff/orders/{number}/notes", {"note": "ohne Token"}, csrf=False).status_code == 400

    # the order goes on to completion, so the citizen gets mails after the note was written
    clerk.act(number, "take")
    clerk.act(number, "produce")
    assert clerk.act(number, "complete").status_code == 303
    mailbox.wait_for(email, "")
    wait_until(lambda: len(mailbox.to(email)) >= 2, message="the completion mail")
    for message in mailbox.to(email):
        assert secret not in Mailbox.body(message) and "Notiz" not in Mailbox.body(message)
    state = order_state(live, number, token)
    assert secret not in str(state) and state["status"] == "completed"
    status_page = requests.get(created["status_url"], timeout=30)
    assert status_page.status_code == 200 and number in status_page.text
    assert secret not in status_page.text and "Notiz" not in status_page.text
    staff_page, _ = clerk.detail(number)
    assert secret in staff_page


def test_purge_removes_notes_and_the_searchable_name(quiet):
    from test_orders_dataprotection import close_days_ago

    from gis_service.orders.dataprotection import purge_personal_data

    live, clerk = quiet, _clerk(quiet)
    name = f"Vergessene Person{secrets.token_hex(3)}"
    number = _invoice_order(live, name)["order_number"]
    live.service.notes.add(number, "staff:test", f"ruft oft an, {name}")
    assert _found(clerk, name) == [number]
    close_days_ago(live, number, 400)
    purge_personal_data(live.orders.factory, live.app.extensions["gis_settings"].orders.data_protection, None)
    assert _found(clerk, name) == []
    order = live.service.repository.get(number)
    assert live.service.notes.for_order(order.id) == []
    assert name.lower() not in (order.search_text or "")
    assert number in _found(clerk, number)  # the anonymised record stays findable by its number
