"""The payment interface and its XBezahldienste client: request, status, refund, notifications."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests

from gis_service.config import PaymentSettings
from gis_service.orders import xbezahldienste as xbz
from gis_service.orders.errors import PaymentError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentRequest:
    request_id: str  # ours, unique per attempt: the provider answers a repeated one with the same transaction
    amount_cents: int
    currency: str
    purpose: str
    reference: str  # the order number
    return_url: str
    notify_url: str
    lang: str = "de"


@dataclass(frozen=True)
class CreatedPayment:
    transaction_id: str
    payment_url: str
    status: str


@dataclass(frozen=True)
class PaymentState:
    transaction_id: str
    request_id: str
    status: str
    amount_cents: int
    currency: str
    reference: str  # our order number as the provider holds it
    payment_reference: str | None  # the provider's reference, e.g. the Kassenzeichen


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    status: str
    amount_cents: int


class InvalidNotification(Exception):
    """A notification that is not signed by our payment service (or too old)."""


class PaymentProvider(ABC):
    name: str

    @abstractmethod
    def create(self, request: PaymentRequest) -> CreatedPayment: ...

    @abstractmethod
    def status(self, transaction_id: str) -> PaymentState: ...

    @abstractmethod
    def refund(self, transaction_id: str, refund_id: str, amount_cents: int, reason: str) -> RefundResult: ...

    @abstractmethod
    def verify_notification(self, headers, body: bytes) -> str:
        """The transaction id a genuine notification names; raises InvalidNotification."""


class XBezahldiensteClient(PaymentProvider):
    name = "xbezahldienste"

    def __init__(self, settings: PaymentSettings, session: requests.Session | None = None):
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "gis-service orders"

    # --- outgoing -----------------------------------------------------------------------------
    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8") if payload is not None else b""
        s = self.settings
        headers = xbz.signed_headers(s.secret, s.originator_id,
                                     lambda ts: xbz.request_message(s.originator_id, ts, method, path, body))
        headers["Accept"] = "application/json"
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(method, self.base_url + path, data=body or None, headers=headers,
                                            timeout=s.timeout_seconds, allow_redirects=False)
        except requests.RequestException as exc:
            raise PaymentError(f"{method} {path}: {exc.__class__.__name__}: {exc}") from None
        if response.status_code >= 300:
            raise PaymentError(f"{method} {path}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError:
            raise PaymentError(f"{method} {path}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise PaymentError(f"{method} {path}: the answer is not a JSON object")
        return data

    def create(self, request: PaymentRequest) -> CreatedPayment:
        data = self._call("POST", "/api/v1/paymentrequests", {
            "requestId": request.request_id,
            "purpose": request.purpose,
            "reference": request.reference,
            "grossAmount": xbz.cents_to_amount(request.amount_cents),
            "currency": request.currency,
            "redirectUrl": request.return_url,
            "notifyUrl": request.notify_url,
            "lang": request.lang,
        })
        transaction_id, url, status = data.get("transactionId"), data.get("paymentUrl"), data.get("status")
        if not _plain_id(transaction_id) or not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PaymentError("payment request: the answer lacks transactionId or paymentUrl")
        if status not in xbz.STATES:
            raise PaymentError(f"payment request: unknown status {str(status)[:20]!r}")
        return CreatedPayment(transaction_id, url, status)

    def status(self, transaction_id: str) -> PaymentState:
        data = self._call("GET", f"/api/v1/paymentrequests/{quote(transaction_id, safe='')}")
        try:
            state = PaymentState(
                transaction_id=str(data["transactionId"]),
                request_id=str(data["requestId"]),
                status=str(data["status"]),
                amount_cents=xbz.amount_to_cents(data["grossAmount"]),
                currency=str(data["currency"]),
                reference=str(data.get("reference") or ""),
                payment_reference=(str(data["paymentReference"])[:120] if data.get("paymentReference") else None),
            )
        except (KeyError, ValueError) as exc:
            raise PaymentError(f"status of {transaction_id}: malformed answer ({exc})") from None
        if state.status not in xbz.STATES:
            raise PaymentError(f"status of {transaction_id}: unknown status {state.status[:20]!r}")
        if state.transaction_id != transaction_id:
            raise PaymentError(f"status of {transaction_id}: the answer names another transaction")
        return state

    def refund(self, transaction_id: str, refund_id: str, amount_cents: int, reason: str) -> RefundResult:
        data = self._call("POST", f"/api/v1/paymentrequests/{quote(transaction_id, safe='')}/refunds", {
            "refundId": refund_id, "grossAmount": xbz.cents_to_amount(amount_cents), "reason": reason[:200]})
        try:
            return RefundResult(str(data["refundId"]), str(data["status"]), xbz.amount_to_cents(data["grossAmount"]))
        except (KeyError, ValueError) as exc:
            raise PaymentError(f"refund of {transaction_id}: malformed answer ({exc})") from None

    # --- incoming -----------------------------------------------------------------------------
    def verify_notification(self, headers, body: bytes) -> str:
        s = self.settings
        originator = headers.get(xbz.HEADER_ORIGINATOR)
        timestamp = headers.get(xbz.HEADER_TIMESTAMP)
        if originator != s.originator_id:
            raise InvalidNotification("unknown originator")
        if not xbz.fresh(timestamp, s.notification_max_age_seconds):
            raise InvalidNotification("timestamp missing or too old")
        if not xbz.verify(s.secret, xbz.notification_message(originator, timestamp, body),
                          headers.get(xbz.HEADER_SIGNATURE)):
            raise InvalidNotification("bad signature")
        try:
            data = json.loads(body)
        except ValueError:
            raise InvalidNotification("body is not JSON") from None
        transaction_id = data.get("transactionId") if isinstance(data, dict) else None
        if not _plain_id(transaction_id):
            raise InvalidNotification("no transactionId")
        return transaction_id


def _plain_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 120 and value.isascii() and value.isprintable() and "/" not in value


def host_of(url: str) -> str:
    return urlsplit(url).netloc
