"""Data protection: personal data of closed orders purged after N days; owner-data justifications kept for the audit period."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import yaml
from order_support import PYTHON, REPO, api_order, order_body, subprocess_env
from sqlalchemy import update

from gis_service.orders.dataprotection import purge_personal_data
from gis_service.orders import db
from gis_service.orders.db import utcnow
from gis_service.orders.models import MailMessage, Order

JUSTIFICATION = "Als Gläubiger mit Vollstreckungstitel benötige ich den Eigentümer dieses Flurstücks."


def close_days_ago(live, number: str, days: int) -> None:
    order = live.service.repository.find(number)
    live.service.actions.cancel(number, "staff:test", order.version, "Test der Löschfristen")
    with live.orders.factory() as session, session.begin():
        session.execute(update(Order).where(Order.order_number == number)
                        .values(closed_at=utcnow() - timedelta(days=days)))


def test_purge_keeps_an_anonymised_record(quiet_sqlite):
    live = quiet_sqlite
    settings = live.app.extensions["gis_settings"].orders.data_protection  # 90 days, justifications 3 years
    old = api_order(live, order_body(contact={"name": "Alt Alter", "email": "alt@example.org", "phone": "0123 456"})).json()
    owner = api_order(live, order_body(product="eigentuemernachweis", justification=JUSTIFICATION,
                                       contact={"name": "Gläubiger GmbH", "email": "g@example.org"})).json()
    recent = api_order(live, order_body(contact={"name": "Neu Neuer", "email": "neu@example.org"})).json()
    ancient = api_order(live, order_body(product="eigentuemernachweis", justification=JUSTIFICATION,
                                         contact={"name": "Sehr Alt", "email": "s@example.org"})).json()
    close_days_ago(live, old["order_number"], 91)
    close_days_ago(live, owner["order_number"], 91)
    close_days_ago(live, recent["order_number"], 10)
    close_days_ago(live, ancient["order_number"], 4 * 365)

    dry = purge_personal_data(live.orders.factory, settings, live.orders.store, dry_run=True)
    assert old["order_number"] in dry.anonymised
    assert live.service.repository.find(old["order_number"]).contact_name == "Alt Alter"

    report = purge_personal_data(live.orders.factory, settings, live.orders.store)
    assert {old["order_number"], owner["order_number"], ancient["order_number"]} <= set(report.anonymised)
    assert recent["order_number"] not in report.anonymised
    assert ancient["order_number"] in report.justifications_purged
    assert owner["order_number"] not in report.justifications_purged

    purged = live.service.repository.find(old["order_number"])
    assert purged.contact_name is None and purged.contact_email is None and purged.contact_phone is None
    assert purged.anonymised_at is not None
    # the anonymised record: what, when, how much, and the history
    assert purged.product_id == "karte-online" and purged.amount_cents == 1500 and purged.status == "cancelled"
    assert [e.action for e in purged.events][-1] == "personal_data_purged"
    with live.orders.factory() as session:
        assert not session.query(MailMessage).filter(MailMessage.order_id == purged.id).all()
    owner_order = live.service.repository.find(owner["order_number"])
    assert owner_order.contact_name is None and owner_order.justification == JUSTIFICATION  # kept for the audit
    ancient_order = live.service.repository.find(ancient["order_number"])
    assert ancient_order.justification is None and ancient_order.justification_purged_at is not None
    assert live.service.repository.find(recent["order_number"]).contact_name == "Neu Neuer"
    # a second run finds nothing new
    again = purge_personal_data(live.orders.factory, settings, live.orders.store)
    assert old["order_number"] not in again.anonymised


def test_purge_command(tmp_path):
    config = tmp_path / "gis.yaml"
    config.write_text(yaml.safe_dump({"instance_path": str(tmp_path), "orders": {
        "database_url": f"sqlite:///{tmp_path / 'p.sqlite3'}", "data_protection": {"personal_data_days": 30}}}))
    run = subprocess.run([PYTHON, "-m", "gis_service.cli", "purge-personal-data", "--config", str(config)],
                         capture_output=True, text=True, cwd=REPO, env=subprocess_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    assert "anonymised 0 orders" in run.stdout
    upgrade = subprocess.run([PYTHON, "-m", "gis_service.cli", "db-upgrade", "--config", str(config)],
                             capture_output=True, text=True, cwd=REPO, env=subprocess_env(), timeout=120)
    assert upgrade.returncode == 0 and f"at revision {db.head_revision()}" in upgrade.stdout
    tasks = subprocess.run([PYTHON, "-m", "gis_service.cli", "run-order-tasks", "--config", str(config)],
                           capture_output=True, text=True, cwd=REPO, env=subprocess_env(), timeout=120)
    assert tasks.returncode == 0 and "reconciled: 0" in tasks.stdout, tasks.stderr
