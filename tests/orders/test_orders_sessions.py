"""Staff sessions and logins under attack: revoked cookies, atomic lock-out, argon2 outside the write lock."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text
from test_orders_staff import PASSWORD, Browser, account

from gis_service.orders.accounts import LOGIN_REFUSED, AccountError
from gis_service.orders.db import transaction
from gis_service.orders.models import StaffUser


def test_copied_cookie_is_refused_after_logout(quiet_sqlite):
    name = account(quiet_sqlite)
    browser = Browser(quiet_sqlite)
    assert browser.login(name).status_code == 303
    copy = Browser(quiet_sqlite)
    copy.session.cookies.update(browser.session.cookies)
    assert "Aufträge" in copy.get("/staff/").text
    assert browser.post("/staff/logout").status_code == 303
    # the copy still carries a validly signed cookie, but its session generation is gone
    assert copy.get("/staff/").url.endswith("/staff/login?next=/staff/")


def test_password_change_ends_other_sessions(quiet_sqlite):
    name = account(quiet_sqlite)
    browser = Browser(quiet_sqlite)
    assert browser.login(name).status_code == 303
    user_id = next(u.id for u in quiet_sqlite.orders.accounts.list() if u.username == name)
    quiet_sqlite.orders.accounts.set_password(user_id, "Neues-Pferd-Batterie-43")
    assert browser.get("/staff/").url.endswith("/staff/login?next=/staff/")


def test_one_message_for_wrong_and_locked(quiet_sqlite):
    accounts = quiet_sqlite.orders.accounts
    name = account(quiet_sqlite)
    messages = set()
    for _ in range(accounts.settings.max_failed_logins):
        with pytest.raises(AccountError) as wrong:
            accounts.authenticate(name, "falsch-falsch-falsch")
        messages.add(wrong.value.message)
    with pytest.raises(AccountError) as locked:
        accounts.authenticate(name, PASSWORD)
    with pytest.raises(AccountError) as unknown:
        accounts.authenticate("nobody-at-all", PASSWORD)
    assert messages == {locked.value.message} == {unknown.value.message} == {LOGIN_REFUSED.render("de")}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_forty_parallel_wrong_passwords_lock_the_account(request, backend):
    live = request.getfixturevalue(f"quiet_{backend}")
    accounts = live.orders.accounts
    name = account(live)

    def guess(_):
        try:
            accounts.authenticate(name, "falsch-falsch-falsch")
        except AccountError:
            return "refused"
        return "in"

    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(guess, range(40)))
    assert results == ["refused"] * 40
    with live.orders.factory() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == name))
    assert user.locked_until is not None
    with pytest.raises(AccountError):
        accounts.authenticate(name, PASSWORD)


def test_login_flood_does_not_block_an_order_write_on_sqlite(quiet_sqlite):
    orders = quiet_sqlite.orders
    assert orders.engine.dialect.name == "sqlite"
    name = account(quiet_sqlite)
    stop = threading.Event()

    def flood(who: str):
        while not stop.is_set():
            try:
                orders.accounts.authenticate(who, "falsch-falsch-falsch")
            except AccountError:
                pass

    # a real account (locked after a few guesses) and names nobody has: both ran argon2 under the lock
    threads = [threading.Thread(target=flood, args=(who,)) for who in [name, "nobody-1", "nobody-2", "nobody-3"] * 2]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        slowest = 0.0
        for _ in range(5):
            started = time.monotonic()
            with transaction(orders.factory) as session:
                session.execute(text("UPDATE orders SET version = version WHERE id = -1"))
            slowest = max(slowest, time.monotonic() - started)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    # Before, each argon2 check (tens of ms, more on a busy machine) held the write lock, and eight of
    # them queued ahead of the order; now only the counter's short UPDATE does.
    assert slowest < 1.0, slowest
