"""The product catalogue from the configuration and the fee of an order, item by item, in cents."""

from __future__ import annotations

from dataclasses import dataclass

from catalogues import LANGUAGES, text
from gis_service.config import ProductConfig

LARGE_PAPERS = ("A2", "A1", "A0")


@dataclass(frozen=True)
class FeeItem:
    code: str
    label_de: str
    label_en: str
    quantity: int
    unit_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_cents

    def as_dict(self) -> dict:
        return {"code": self.code, "label": {lang: self.label(lang) for lang in LANGUAGES}, "quantity": self.quantity,
                "unit_cents": self.unit_cents, "amount_cents": self.amount_cents}

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_de


@dataclass(frozen=True)
class Fee:
    items: tuple[FeeItem, ...]
    currency: str = "EUR"

    @property
    def total_cents(self) -> int:
        return sum(item.amount_cents for item in self.items)

    def breakdown(self) -> list[dict]:
        return [item.as_dict() for item in self.items]

    @classmethod
    def from_breakdown(cls, breakdown: list[dict], currency: str) -> "Fee":
        return cls(tuple(FeeItem(b["code"], b["label"]["de"], b["label"]["en"], b["quantity"], b["unit_cents"])
                         for b in breakdown), currency)


def format_money(cents: int, lang: str = "de", currency: str = "EUR") -> str:
    """1500 → "15,00 €" (German, no-break space) or "€15.00" (English)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    if lang == "en":
        return f"{sign}€{euros:,}.{rest:02d}" if currency == "EUR" else f"{sign}{euros:,}.{rest:02d} {currency}"
    grouped = f"{euros:,}".replace(",", ".")
    # a no-break space, so that an amount never wraps between the number and its currency
    return f"{sign}{grouped},{rest:02d}\u00a0€" if currency == "EUR" else f"{sign}{grouped},{rest:02d}\u00a0{currency}"


class Catalogue:
    def __init__(self, products: list[ProductConfig], currency: str = "EUR"):
        self.products = list(products)
        self.currency = currency
        self._by_id = {p.id: p for p in products}

    def get(self, product_id: str) -> ProductConfig | None:
        return self._by_id.get(product_id)

    def fee(self, product: ProductConfig, *, paper: str | None = None, copies: int = 1,
            certified: bool = False) -> Fee:
        """The fee the office charges; the only place that computes it."""
        large = paper in LARGE_PAPERS and product.large_paper_fee_cents is not None
        base = product.large_paper_fee_cents if large else product.fee_cents
        label_de, label_en = product.name.de, product.name.get("en")
        if product.kind == "map" and paper:
            label_de += f", DIN {paper}"
            label_en += f", DIN {paper}"
        items = [FeeItem("base", label_de, label_en, 1, int(base or 0))]
        if certified and product.certified_fee_cents:
            items.append(FeeItem("certified", text("fee_certified", "de"), text("fee_certified", "en"), 1,
                                 product.certified_fee_cents))
        if copies > 1:
            items.append(FeeItem("copies", text("fee_further_copy", "de"), text("fee_further_copy", "en"), copies - 1,
                                 product.copy_fee_cents))
        return Fee(tuple(items), self.currency)

    def lowest_fee(self, product: ProductConfig) -> int:
        return product.fee_cents

    def describe(self, product: ProductConfig) -> dict:
        """A product as /api/v1/products shows it."""
        return {
            "id": product.id,
            # the configured wording (products in the configuration, not the catalogues) in each language
            "name": {lang: product.name.get(lang) for lang in LANGUAGES},
            "description": {lang: product.description.get(lang) for lang in LANGUAGES},
            "kind": product.kind,
            "fulfilment": product.fulfilment,
            "currency": self.currency,
            "fee_cents": product.fee_cents,
            "large_paper_fee_cents": product.large_paper_fee_cents,
            "large_papers": [p for p in product.papers if p in LARGE_PAPERS],
            "certified_fee_cents": product.certified_fee_cents,
            "copy_fee_cents": product.copy_fee_cents,
            "max_copies": product.max_copies,
            "papers": list(product.papers),
            "orientations": ["portrait", "landscape"] if product.kind == "map" else [],
            "scales": list(product.scales),
            "deliveries": list(product.deliveries),
            "certifiable": product.certifiable,
            "requires_justification": product.requires_justification,
            "payment_methods": list(product.payment_methods),
            "vat": "none",
        }
