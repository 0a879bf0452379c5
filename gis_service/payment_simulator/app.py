"""The payment simulator: payment requests, a payment page (success / failure / cancel), status, refunds, notifications."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from html import escape

import requests
from flask import Flask, Response, abort, jsonify, redirect, request

from gis_service.orders import xbezahldienste as xbz

log = logging.getLogger("payment_simulator")


@dataclass
class SimulatorConfig:
    originators: dict[str, str]  # originator id → shared secret
    test_controls: bool = False
    notify_mode: str = "async"  # async: after the browser is sent back; sync: before; none: never
    notify_delay: float = 0.0
    notify_duplicates: int = 1
    notify_retry_delays: tuple[float, ...] = (1, 2, 4, 8, 16, 32)


@dataclass
class Transaction:
    id: str
    originator: str
    request_id: str
    purpose: str
    reference: str
    amount: str
    currency: str
    redirect_url: str
    notify_url: str
    lang: str
    status: str = xbz.INITIAL
    payment_reference: str | None = None
    created: float = field(default_factory=time.time)
    refunds: dict[str, dict] = field(default_factory=dict)
    notifications: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"transactionId": self.id, "requestId": self.request_id, "status": self.status,
                "grossAmount": self.amount, "currency": self.currency, "reference": self.reference,
                "purpose": self.purpose, "paymentReference": self.payment_reference,
                "timestamp": int(self.created)}


def create_simulator_app(config: SimulatorConfig) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    lock = threading.Lock()
    transactions: dict[str, Transaction] = {}
    by_request: dict[tuple[str, str], str] = {}
    counter = {"kassenzeichen": 0}
    app.extensions["simulator"] = {"transactions": transactions, "config": config}

    def authenticated() -> str:
        originator = request.headers.get(xbz.HEADER_ORIGINATOR, "")
        timestamp = request.headers.get(xbz.HEADER_TIMESTAMP)
        secret = config.originators.get(originator)
        if secret is None or not xbz.fresh(timestamp, 300):
            abort(Response(json.dumps({"error": "unknown originator or stale timestamp"}), 401, mimetype="application/json"))
        message = xbz.request_message(originator, timestamp, request.method, request.path, request.get_data())
        if not xbz.verify(secret, message, request.headers.get(xbz.HEADER_SIGNATURE)):
            abort(Response(json.dumps({"error": "bad signature"}), 401, mimetype="application/json"))
        return originator

    def find(transaction_id: str, originator: str | None = None) -> Transaction:
        tx = transactions.get(transaction_id)
        if tx is None or (originator is not None and tx.originator != originator):
            abort(Response(json.dumps({"error": "unknown transaction"}), 404, mimetype="application/json"))
        return tx

    def notify(tx: Transaction, delay: float = 0.0, retries: tuple[float, ...] | None = None) -> int | None:
        """Send the signed notification; retried while the receiver is not reachable or fails."""
        if delay:
            time.sleep(delay)
        body = json.dumps({"transactionId": tx.id, "requestId": tx.request_id, "status": tx.status,
                           "timestamp": int(time.time())}).encode("utf-8")
        secret = config.originators[tx.originator]
        delays = (0.0, *(config.notify_retry_delays if retries is None else retries))
        status = None
        for wait in delays:
            if wait:
                time.sleep(wait)
            headers = xbz.signed_headers(secret, tx.originator,
                                         lambda ts: xbz.notification_message(tx.originator, ts, body))
            headers["Content-Type"] = "application/json"
            try:
                status = requests.post(tx.notify_url, data=body, headers=headers, timeout=10).status_code
            except requests.RequestException as exc:
                status = None
                log.info("notification for %s failed: %s", tx.id, exc)
            tx.notifications.append({"at": time.time(), "status": tx.status, "http_status": status})
            if status is not None and 200 <= status < 300:
                return status
        return status

    def notify_in_background(tx: Transaction) -> None:
        for _ in range(max(1, config.notify_duplicates)):
            threading.Thread(target=notify, args=(tx, config.notify_delay), daemon=True).start()

    # --- API of the online service --------------------------------------------------------------
    @app.post("/api/v1/paymentrequests")
    def create_payment_request():
        originator = authenticated()
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return jsonify({"error": "JSON object expected"}), 400
        try:
            amount = data["grossAmount"]
            xbz.amount_to_cents(amount)
            fields = {k: str(data[k]) for k in ("requestId", "purpose", "reference", "currency", "redirectUrl", "notifyUrl")}
        except (KeyError, ValueError) as exc:
            return jsonify({"error": f"invalid payment request: {exc}"}), 400
        for url_field in ("redirectUrl", "notifyUrl"):
            if not fields[url_field].startswith(("http://", "https://")):
                return jsonify({"error": f"{url_field} must be an http(s) URL"}), 400
        with lock:
            existing = by_request.get((originator, fields["requestId"]))
            if existing:
                tx = transactions[existing]
                return jsonify({**tx.as_dict(), "paymentUrl": _page_url(tx)}), 200
            tx = Transaction(id=uuid.uuid4().hex, originator=originator, request_id=fields["requestId"][:80],
                             purpose=fields["purpose"][:140], reference=fields["reference"][:80], amount=amount,
                             currency=fields["currency"][:3], redirect_url=fields["redirectUrl"],
                             notify_url=fields["notifyUrl"], lang="en" if data.get("lang") == "en" else "de")
            transactions[tx.id] = tx
            by_request[(originator, tx.request_id)] = tx.id
        return jsonify({**tx.as_dict(), "paymentUrl": _page_url(tx)}), 201

    def _page_url(tx: Transaction) -> str:
        return f"{request.host_url.rstrip('/')}/pay/{tx.id}"

    @app.get("/api/v1/paymentrequests/<transaction_id>")
    def get_payment_request(transaction_id: str):
        originator = authenticated()
        return jsonify(find(transaction_id, originator).as_dict())

    @app.post("/api/v1/paymentrequests/<transaction_id>/refunds")
    def refund(transaction_id: str):
        originator = authenticated()
        tx = find(transaction_id, originator)
        data = request.get_json(silent=True) or {}
        refund_id = str(data.get("refundId") or "")[:120]
        try:
            cents = xbz.amount_to_cents(data.get("grossAmount"))
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400
        if not refund_id:
            return jsonify({"error": "refundId missing"}), 400
        with lock:
            if refund_id in tx.refunds:
                return jsonify(tx.refunds[refund_id]), 200
            if tx.status != xbz.PAYED:
                return jsonify({"error": f"transaction is {tx.status}, not PAYED"}), 409
            already = sum(xbz.amount_to_cents(r["grossAmount"]) for r in tx.refunds.values())
            if already + cents > xbz.amount_to_cents(tx.amount):
                return jsonify({"error": "refund exceeds the amount paid"}), 409
            record = {"refundId": refund_id, "status": "REFUNDED", "grossAmount": xbz.cents_to_amount(cents),
                      "reason": str(data.get("reason") or "")[:200], "transactionId": tx.id}
            tx.refunds[refund_id] = record
        return jsonify(record), 201

    # --- the payment page the citizen sees ------------------------------------------------------------
    @app.get("/pay/<transaction_id>")
    def payment_page(transaction_id: str):
        tx = transactions.get(transaction_id)
        if tx is None:
            return _page("unknown_title", f"<p>{_text('unknown', 'de')}</p>", "de"), 404
        lang = tx.lang
        amount = f"{tx.amount} {tx.currency}"
        if tx.status != xbz.INITIAL:
            body = (f"<p>{_text('already_done', lang)}: <strong>{escape(tx.status)}</strong>.</p>"
                    f"<p><a href=\"{escape(tx.redirect_url)}\">{_text('back', lang)}</a></p>")
            return _page("title", body, lang)
        body = f"""
<p>{_text('test_notice', lang)}</p>
<dl>
  <dt>{_text('purpose', lang)}</dt><dd>{escape(tx.purpose)}</dd>
  <dt>{_text('amount', lang)}</dt><dd><strong>{escape(amount)}</strong></dd>
</dl>
<form method="post" action="/pay/{escape(tx.id)}">
  <fieldset>
    <legend>{_text('outcome', lang)}</legend>
    <button type="submit" name="action" value="success">{_text('pay_success', lang)}</button>
    <button type="submit" name="action" value="failure">{_text('pay_failure', lang)}</button>
    <button type="submit" name="action" value="cancel">{_text('pay_cancel', lang)}</button>
  </fieldset>
</form>"""
        return _page("title", body, lang)

    @app.post("/pay/<transaction_id>")
    def pay(transaction_id: str):
        tx = transactions.get(transaction_id)
        if tx is None:
            return _page("unknown_title", f"<p>{_text('unknown', 'de')}</p>", "de"), 404
        outcome = {"success": xbz.PAYED, "failure": xbz.FAILED, "cancel": xbz.CANCELED}.get(request.form.get("action", ""))
        if outcome is None:
            return _page("title", f"<p>{_text('unknown_action', tx.lang)}</p>", tx.lang), 400
        with lock:
            changed = tx.status == xbz.INITIAL
            if changed:
                tx.status = outcome
                if outcome == xbz.PAYED:
                    counter["kassenzeichen"] += 1
                    tx.payment_reference = f"KZ-{time.strftime('%Y')}-{counter['kassenzeichen']:06d}-{secrets.token_hex(2).upper()}"
        if changed:
            if config.notify_mode == "sync":
                for _ in range(max(1, config.notify_duplicates)):
                    notify(tx, 0.0, ())
            elif config.notify_mode == "async":
                notify_in_background(tx)
        return redirect(tx.redirect_url, 303)

    # --- controls for tests (only with --test-controls) -----------------------------------------------
    def require_test_controls():
        if not config.test_controls:
            abort(404)

    @app.post("/_test/config")
    def test_config():
        require_test_controls()
        data = request.get_json(silent=True) or {}
        if "notify_mode" in data:
            config.notify_mode = str(data["notify_mode"])
        if "notify_delay" in data:
            config.notify_delay = float(data["notify_delay"])
        if "notify_duplicates" in data:
            config.notify_duplicates = int(data["notify_duplicates"])
        if "notify_retry_delays" in data:
            config.notify_retry_delays = tuple(float(v) for v in data["notify_retry_delays"])
        return jsonify({"notify_mode": config.notify_mode, "notify_delay": config.notify_delay,
                        "notify_duplicates": config.notify_duplicates,
                        "notify_retry_delays": list(config.notify_retry_delays)})

    @app.get("/_test/transactions")
    def test_transactions():
        require_test_controls()
        return jsonify([{**tx.as_dict(), "refunds": list(tx.refunds.values()), "notifications": tx.notifications,
                         "notifyUrl": tx.notify_url, "redirectUrl": tx.redirect_url} for tx in transactions.values()])

    @app.post("/_test/transactions/<transaction_id>")
    def test_change(transaction_id: str):
        require_test_controls()
        tx = find(transaction_id)
        data = request.get_json(silent=True) or {}
        with lock:
            for key, attr in (("status", "status"), ("grossAmount", "amount"), ("currency", "currency"),
                              ("reference", "reference"), ("paymentReference", "payment_reference")):
                if key in data:
                    setattr(tx, attr, data[key])
        return jsonify(tx.as_dict())

    @app.post("/_test/transactions/<transaction_id>/notify")
    def test_notify(transaction_id: str):
        require_test_controls()
        tx = find(transaction_id)
        return jsonify({"http_status": notify(tx, 0.0, ())})

    @app.after_request
    def refuse_framing(response):
        # like real payment providers: the payment page opens in the whole window, never in a frame
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "transactions": len(transactions)})

    return app


# The simulator stands for a provider of its own, so its page texts live here, not in gis_service.orders.texts;
# it speaks the language of the payment request (German unless the request says "en").
TEXTS: dict[str, tuple[str, str]] = {
    "title": ("Bezahlung", "Payment"),
    "unknown_title": ("Unbekannte Zahlung", "Unknown payment"),
    "service": ("Bezahldienst (Simulator)", "Payment service (simulator)"),
    "unknown": ("Diese Zahlung gibt es nicht.", "There is no such payment."),
    "unknown_action": ("Unbekannte Aktion.", "Unknown action."),
    "already_done": ("Diese Zahlung ist bereits abgeschlossen", "This payment is already completed"),
    "back": ("Zurück zum Online-Dienst", "Back to the online service"),
    "test_notice": ("Test-Bezahldienst – es wird kein echtes Geld bewegt.",
                    "Test payment service – no real money is moved."),
    "purpose": ("Verwendungszweck", "Purpose"),
    "amount": ("Betrag", "Amount"),
    "outcome": ("Ergebnis der simulierten Zahlung", "Outcome of the simulated payment"),
    "pay_success": ("Bezahlen (erfolgreich)", "Pay (success)"),
    "pay_failure": ("Zahlung schlägt fehl", "Payment fails"),
    "pay_cancel": ("Abbrechen", "Cancel"),
}


def _text(key: str, lang: str) -> str:
    de, en = TEXTS[key]
    return en if lang == "en" else de


def _page(title_key: str, body: str, lang: str) -> str:
    title = _text(title_key, lang)
    return f"""<!doctype html>
<html lang="{'en' if lang == 'en' else 'de'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>{escape(title)} – {_text('service', lang)}</title>
<style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}}
button{{font:inherit;min-height:2.75rem;margin:.25rem;padding:.5rem 1rem;border:2px solid #00549f;background:#fff;color:#00549f;border-radius:3px}}
button[value=success]{{background:#00549f;color:#fff}} :focus-visible{{outline:3px solid #ffbf47;outline-offset:2px}}</style>
</head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>"""
