"""Absolute links the order domain hands out (e-mails, payment callbacks); web routes must match them."""

from __future__ import annotations

from urllib.parse import quote, urlencode

ORDER_PAGES = "/embed/order"
NOTIFY_PATH = "/api/v1/payments/notify"
API_ORDERS = "/api/v1/orders"
STAFF = "/staff"


class Urls:
    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")

    def _page(self, number: str, suffix: str, token: str, lang: str, **extra) -> str:
        # The language goes along so a link from an e-mail opens in the order's language.
        query = {"t": token, "lang": lang if lang in ("de", "en") else "de", **extra}
        return f"{self.base}{ORDER_PAGES}/{quote(number, safe='')}{suffix}?{urlencode(query)}"

    def status(self, number: str, token: str, lang: str = "de") -> str:
        return self._page(number, "", token, lang)

    def confirm(self, number: str, confirmation_token: str, lang: str = "de") -> str:
        query = {"c": confirmation_token, "lang": lang if lang in ("de", "en") else "de"}
        return f"{self.base}{ORDER_PAGES}/{quote(number, safe='')}/confirm?{urlencode(query)}"

    def pay(self, number: str, token: str, lang: str = "de") -> str:
        return self._page(number, "/pay", token, lang)

    def payment_return(self, number: str, token: str, lang: str = "de") -> str:
        return self._page(number, "/payment-return", token, lang)

    def document(self, number: str, token: str, document_id: int, filename: str) -> str:
        return (f"{self.base}{ORDER_PAGES}/{quote(number, safe='')}/files/{document_id}/{quote(filename, safe='')}"
                f"?{urlencode({'t': token})}")

    def staff_order(self, number: str) -> str:
        return f"{self.base}{STAFF}/orders/{quote(number, safe='')}"

    def staff_outbox(self) -> str:
        return f"{self.base}{STAFF}/outbox"

    def notify(self) -> str:
        return f"{self.base}{NOTIFY_PATH}"

    def api_order(self, number: str) -> str:
        return f"{self.base}{API_ORDERS}/{quote(number, safe='')}"
