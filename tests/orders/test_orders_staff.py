"""Staff back office over HTTP: login, lock-out, CSRF, cookies, queue, detail, actions with refunds, CSV, accounts."""

from __future__ import annotations

import csv
import io
import re
import secrets
import subprocess

import pytest
import requests
from order_support import (
    PYTHON,
    REPO,
    Mailbox,
    api_order,
    check_page,
    confirm_address,
    order_body,
    order_state,
    pay_order,
    subprocess_env,
    token_of,
    unique_email,
)

PASSWORD = "Korrekt-Pferd-Batterie-42"
JUSTIFICATION = "Ich bin Nachbar und benötige die Angaben für ein Verfahren zur Grenzbebauung."


class Browser:
    def __init__(self, live):
        self.live = live
        self.session = requests.Session()
        self.csrf = ""

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.session.get(self.live.url(path), timeout=30, **kwargs)
        match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if match:
            self.csrf = match.group(1)
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs) -> requests.Response:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf)
        return self.session.post(self.live.url(path), data=data, timeout=60, allow_redirects=False, **kwargs)

    def login(self, username: str, password: str = PASSWORD) -> requests.Response:
        self.get("/staff/login")
        response = self.post("/staff/login", {"username": username, "password": password})
        if response.status_code == 303:
            self.get("/staff/")  # the login starts a new session with a new CSRF token
        return response

    def detail(self, number: str) -> tuple[str, int]:
        page = self.get(f"/staff/orders/{number}").text
        return page, int(re.search(r'name="version" value="(\d+)"', page).group(1))

    def act(self, number: str, action: str, version: int | None = None, **data) -> requests.Response:
        if version is None:
            _, version = self.detail(number)
        return self.post(f"/staff/orders/{number}/{action}", {"version": str(version), **data})


def account(live, role: str = "clerk") -> str:
    name = f"{role}-{secrets.token_hex(3)}"
    live.orders.accounts.create(name, PASSWORD, role=role)
    return name


@pytest.fixture
def clerk(quiet_sqlite):
    browser = Browser(quiet_sqlite)
    assert browser.login(account(quiet_sqlite)).status_code == 303
    return browser


def test_login_cookie_csrf_and_lockout(quiet_sqlite):
    live = quiet_sqlite
    name = account(live)
    browser = Browser(live)
    assert browser.get("/staff/").url.endswith("/staff/login?next=/staff/")
    response = browser.login(name)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Aufträge" in browser.get("/staff/").text

    # CSRF: no token, or another session's token → refused
    assert browser.post("/staff/logout", csrf=False).status_code == 400
    stranger = Browser(live)
    stranger.get("/staff/login")
    assert browser.post("/staff/logout", {"csrf_token": stranger.csrf}).status_code == 400
    assert browser.post("/staff/logout", headers={"Origin": "http://evil.example"}).status_code == 400
    assert browser.post("/staff/logout").status_code == 303

    # wrong password five times → locked, even for the right password
    guesser = Browser(live)
    for _ in range(5):
        failed = guesser.login(name, "falsch-falsch-falsch")
        assert failed.status_code == 401 and "falsch" in failed.text
    locked = guesser.login(name)
    assert locked.status_code == 401 and "gesperrt" in locked.text
    assert guesser.login("nobody-here", PASSWORD).status_code == 401


def test_secure_cookie_when_configured(tmp_path):
    from gis_service.app import create_app
    from gis_service.config import load_settings

    settings = load_settings(None, overrides={"instance_path": str(tmp_path), "orders": {
        "database_url": f"sqlite:///{tmp_path / 'o.sqlite3'}", "worker": {"enabled": False},
        "staff": {"cookie_secure": True}}})
    app = create_app(settings)
    app.extensions["gis_orders"].accounts.create("secure-admin", PASSWORD, role="admin")
    client = app.test_client()
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/staff/login", data={"username": "secure-admin", "password": PASSWORD, "csrf_token": token},
                           base_url="https://localhost")
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    app.extensions["gis_orders"].close()


def test_queue_filters_search_and_csv(quiet_sqlite, clerk):
    live = quiet_sqlite
    surname = f"Zimmermann{secrets.token_hex(2)}"
    invoice = api_order(live, order_body(product="karte-amt", payment_method="invoice", paper="A3",
                                         contact={"name": f"Olga {surname}", "email": unique_email(),
                                                  "street": "Weg 1", "postcode": "59999", "city": "Lindenhagen"})).json()
    confirm_address(live, invoice["order_number"])  # before that it is nobody's work (test_orders_abuse.py)
    hostile = api_order(live, order_body(contact={"name": f"=HYPERLINK(\"http://x\") {surname}",
                                                  "email": unique_email()})).json()
    queue = clerk.get("/staff/").text  # default: what needs staff
    check_page(queue)
    assert invoice["order_number"] in queue and hostile["order_number"] not in queue  # unpaid online order: not yet
    found = clerk.get("/staff/", params={"status": "all", "q": surname}).text
    assert invoice["order_number"] in found and hostile["order_number"] in found
    assert invoice["order_number"] in clerk.get("/staff/", params={"status": "all", "q": invoice["order_number"].lower()}).text
    by_product = clerk.get("/staff/", params={"status": "all", "product": "karte-amt", "q": surname}).text
    assert invoice["order_number"] in by_product and hostile["order_number"] not in by_product
    by_status = clerk.get("/staff/", params={"status": "submitted", "q": surname}).text
    assert invoice["order_number"] in by_status
    assert invoice["order_number"] not in clerk.get("/staff/", params={"status": "all", "q": surname,
                                                                      "to": "2000-01-01"}).text
    assert invoice["order_number"] in clerk.get("/staff/", params={"status": "all", "q": surname, "from": "2000-01-01"}).text
    for garbage in ({"status": "<x>"}, {"from": "not-a-date"}, {"page": "-5"}, {"q": "%_\\" * 50}, {"product": "zz"}):
        assert clerk.get("/staff/", params=garbage).status_code == 200

    export = clerk.get("/staff/export.csv", params={"status": "all", "q": surname})
    assert export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Bestellnummer" and len(rows) == 3
    names = [row[10] for row in rows[1:]]
    assert any(n.startswith("'=HYPERLINK") for n in names)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_owner_data_reviewed_then_rejected_with_refund(quiet_sqlite, simulator, smtp, clerk):
    live = quiet_sqlite
    email = unique_email()
    body = api_order(live, order_body(product="eigentuemernachweis", justification=JUSTIFICATION,
                                      contact={"name": "Nina Nachbar", "email": email})).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)
    assert order_state(live, number, token)["status"] == "paid"

    page, version = clerk.detail(number)
    check_page(page)
    assert JUSTIFICATION in page and "Nina Nachbar" in page and "30,00\u00a0€" in page and "Verlauf" in page
    assert any(e.action == "justification_viewed" for e in live.service.repository.find(number).events)
    assert clerk.act(number, "take", version).status_code == 303
    assert clerk.act(number, "reject", reason="").status_code == 303  # no reason: refused with a message
    assert "Begründung" in clerk.get(f"/staff/orders/{number}").text
    assert order_state(live, number, token)["status"] == "in_progress"
    assert clerk.act(number, "reject", reason="Ein berechtigtes Interesse ist nicht dargelegt.").status_code == 303
    state = order_state(live, number, token)
    assert state["status"] == "rejected" and state["payment"]["refund_status"] == "done"
    transaction = simulator.for_reference(number)[0]
    assert transaction["refunds"][0]["grossAmount"] == "30.00"
    live.service.outbox.send_pending()
    mail = smtp.wait_for(email, "abgelehnt")
    assert "nicht dargelegt" in Mailbox.body(mail) and "erstattet" in Mailbox.body(mail)
    status_page = requests.get(state["status_url"], timeout=10).text
    assert "abgelehnt" in status_page and "erstattet" in status_page


def test_staff_made_extract_take_produce_attach_complete(quiet_sqlite, simulator, smtp, clerk):
    live = quiet_sqlite
    email = unique_email()
    body = api_order(live, order_body(product="karte-amt", paper="A4", contact={"name": "Paul Plan", "email": email})).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)
    page, version = clerk.detail(number)
    assert "/api/v1/preview.png?" in page  # the clerk sees the parcel preview
    assert clerk.act(number, "complete", version).status_code == 303
    assert "Fehler" in clerk.get(f"/staff/orders/{number}").text  # not taken yet
    assert clerk.act(number, "take").status_code == 303
    assert clerk.act(number, "produce").status_code == 303
    order = live.service.repository.find(number)
    assert [d.kind for d in order.current_documents] == ["extract"]
    assert clerk.act(number, "produce").status_code == 303  # regenerate replaces it
    order = live.service.repository.find(number)
    assert len(order.current_documents) == 1 and any(e.action == "extract_regenerated" for e in order.events)

    _, version = clerk.detail(number)
    upload = clerk.session.post(live.url(f"/staff/orders/{number}/attach"),
                                data={"csrf_token": clerk.csrf, "version": str(version)},
                                files={"file": ("../../Begleitschreiben.pdf", b"%PDF-1.4\n%test\n", "application/pdf")},
                                allow_redirects=False, timeout=30)
    assert upload.status_code == 303
    bad = clerk.session.post(live.url(f"/staff/orders/{number}/attach"),
                             data={"csrf_token": clerk.csrf, "version": str(version + 1)},
                             files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")},
                             allow_redirects=False, timeout=30)
    assert bad.status_code == 303 and "Erlaubt sind PDF" in clerk.get(f"/staff/orders/{number}").text
    order = live.service.repository.find(number)
    assert sorted(d.filename for d in order.current_documents) == [f"Auszug-Liegenschaftskarte-{number}.pdf",
                                                                   "Begleitschreiben.pdf"]
    assert clerk.act(number, "complete", note="geprüft").status_code == 303
    state = order_state(live, number, token)
    assert state["status"] == "completed" and len(state["documents"]) == 2
    live.service.outbox.send_pending()
    mail = smtp.wait_for(email, "erledigt")
    assert "Begleitschreiben.pdf" in Mailbox.body(mail)
    doc = order.current_documents[0]
    assert clerk.get(f"/staff/orders/{number}/files/{doc.id}").content.startswith(b"%PDF")


def test_cancel_with_refund_and_stale_form(quiet_sqlite, simulator, clerk):
    live = quiet_sqlite
    body = api_order(live, order_body(product="flurstuecksnachweis")).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)
    _, version = clerk.detail(number)
    other = Browser(live)
    other.login(account(live))
    assert other.act(number, "take", version).status_code == 303  # the other clerk was faster
    assert clerk.act(number, "cancel", version, reason="Doppelt bestellt").status_code == 303
    assert "inzwischen von jemand anderem geändert" in clerk.get(f"/staff/orders/{number}").text
    assert order_state(live, number, token)["status"] == "in_progress"
    assert clerk.act(number, "cancel", reason="Doppelt bestellt").status_code == 303
    state = order_state(live, number, token)
    assert state["status"] == "cancelled" and state["payment"]["refund_status"] == "done"


def test_admin_manages_accounts_clerk_may_not(quiet_sqlite, clerk):
    live = quiet_sqlite
    assert clerk.get("/staff/users").status_code == 403
    admin = Browser(live)
    admin.login(account(live, "admin"))
    assert "Benutzerkonten" in admin.get("/staff/users").text
    new_name = f"neu-{secrets.token_hex(3)}"
    assert admin.post("/staff/users", {"username": new_name, "password": "kurz", "role": "clerk"}).status_code == 303
    assert "mindestens 12" in admin.get("/staff/users").text
    admin.post("/staff/users", {"username": new_name, "password": PASSWORD, "role": "clerk"})
    assert new_name in admin.get("/staff/users").text
    assert Browser(live).login(new_name).status_code == 303


def test_create_admin_command(tmp_path):
    config = tmp_path / "gis.yaml"
    config.write_text(f"instance_path: {tmp_path}\norders:\n  database_url: sqlite:///{tmp_path / 'cli.sqlite3'}\n")
    run = subprocess.run([PYTHON, "-m", "gis_service.cli", "create-admin", "--username", "chefin", "--password-stdin",
                          "--config", str(config)], input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO,
                         env=subprocess_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    assert "created admin account chefin" in run.stdout
    again = subprocess.run([PYTHON, "-m", "gis_service.cli", "create-admin", "--username", "chefin", "--password-stdin",
                            "--config", str(config)], input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO,
                           env=subprocess_env(), timeout=120)
    assert again.returncode == 2 and "gibt es schon" in again.stderr
    weak = subprocess.run([PYTHON, "-m", "gis_service.cli", "create-admin", "--username", "zweite", "--password-stdin",
                           "--config", str(config)], input="123\n", capture_output=True, text=True, cwd=REPO,
                          env=subprocess_env(), timeout=120)
    assert weak.returncode == 2


def test_clerks_see_their_own_clock_and_german_history(quiet_sqlite, clerk):
    from datetime import UTC
    from zoneinfo import ZoneInfo

    body = api_order(quiet_sqlite, order_body(product="karte-amt", payment_method="invoice",
                                              contact={"name": "Uhr Zeit", "email": unique_email(), "street": "Weg 1",
                                                       "postcode": "59999", "city": "Lindenhagen"})).json()
    order = quiet_sqlite.service.repository.get(body["order_number"])
    berlin = order.created_at.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    utc_text = order.created_at.strftime("%d.%m.%Y %H:%M")
    page, _ = clerk.detail(body["order_number"])
    assert berlin.strftime("%d.%m.%Y %H:%M") in page
    assert utc_text not in page  # Berlin is always 1 or 2 hours ahead of UTC
    assert "angelegt" in page and ">created<" not in page


def test_date_filter_counts_days_on_the_clerks_clock():
    from datetime import date

    from gis_service.orders.queries import SearchFilters

    berlin = SearchFilters(timezone="Europe/Berlin")
    # 28 November: Berlin is UTC+1, so the day begins at 23:00 UTC the evening before
    assert berlin.day_start_utc(date(2026, 11, 28)).isoformat() == "2026-11-27T23:00:00"
    # in summer (UTC+2) at 22:00 UTC
    assert berlin.day_start_utc(date(2026, 7, 1)).isoformat() == "2026-06-30T22:00:00"
    assert SearchFilters().day_start_utc(date(2026, 7, 1)).isoformat() == "2026-07-01T00:00:00"
