"""Issuing an official extract: a new verification code printed on it, the seal, the stored file, and its public record."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalogues import N_
from gis_service.orders import verification
from gis_service.orders.db import utcnow
from gis_service.orders.fulfilment import ExtractProducer, ExtractSpec
from gis_service.orders.models import Document, ExtractVerification, Order
from gis_service.orders.seal import Sealer
from gis_service.orders.storage import FileStore, StoredFile

# Why an extract is no longer valid; the page words them (web/verify.py).
SUPERSEDED, CANCELLED, REJECTED, REFUNDED = "superseded", "cancelled", "rejected", "refunded"
# What the verification page says for each (templates/verify/record.html: t('verify_reason_' ~ reason)).
WITHDRAWN_TEXTS = {SUPERSEDED: N_("verify_reason_superseded"), CANCELLED: N_("verify_reason_cancelled"),
                   REJECTED: N_("verify_reason_rejected"), REFUNDED: N_("verify_reason_refunded")}


@dataclass(frozen=True)
class IssuedExtract:
    stored: StoredFile
    code: str  # canonical
    sealed: bool
    spec: ExtractSpec
    data_currency: str | None
    office: str


class ExtractIssuer:
    """Every official extract goes through here, automatic or made by a clerk, so none is issued without a code."""

    def __init__(self, producer: ExtractProducer, store: FileStore, base_url: str, sealer: Sealer | None = None):
        self.producer = producer
        self.store = store
        self.base_url = base_url
        self.sealer = sealer

    def issue(self, spec: ExtractSpec) -> IssuedExtract:
        """Produce, seal and store the extract; the SHA-256 is of the bytes delivered, the seal included."""
        code = verification.new_code()
        spec = replace(spec, verification_code=verification.formatted(code),
                       verification_url=verification.verify_url(self.base_url, code))
        page = self.producer.page(spec)
        data = self.producer.pdf(page, spec)
        if self.sealer is not None:
            data = self.sealer.seal(data)
        # The "Stand der Daten" the title block prints.
        currency = page.title.data_currency
        stored = self.store.save(data, "pdf")
        return IssuedExtract(stored=stored, code=code, sealed=self.sealer is not None, spec=spec,
                             data_currency=str(currency)[:40] if currency else None, office=self.producer.office.name)


def record_issue(order: Order, document: Document, issued: IssuedExtract) -> ExtractVerification:
    """The public record of an extract, written in the same change that adds its document to the order."""
    spec = issued.spec
    record = ExtractVerification(
        code=issued.code, order_id=order.id, sha256=issued.stored.sha256, size=issued.stored.size,
        sealed=issued.sealed, issued_at=utcnow(), issued_on=spec.created, product_id=order.product_id,
        product_name=order.product_name, parcel_key=order.parcel_key, parcel_label=order.parcel_label,
        scale=spec.scale, paper=spec.paper, orientation=spec.orientation, data_currency=issued.data_currency,
        office=issued.office[:200])
    document.verification = record
    return record


def withdraw(documents: list[Document], reason: str) -> None:
    """Mark the extracts among `documents` as no longer valid (their pages say why from now on)."""
    now = utcnow()
    for document in documents:
        record = document.verification
        if record is not None and record.withdrawn_at is None:
            record.withdrawn_at, record.withdrawn_reason = now, reason


@dataclass(frozen=True)
class VerificationRecord:
    """What the public page shows: the extract, never the orderer."""

    code: str  # as printed
    valid: bool
    withdrawn_reason: str | None
    withdrawn_on: date | None
    product_id: str
    product_name: str
    parcel_key: str
    parcel_label: str
    scale: int
    paper: str
    orientation: str
    data_currency: str | None
    issued_on: date
    office: str
    sha256: str
    size: int
    sealed: bool

    def as_dict(self) -> dict:
        """The record for machines (GET /api/v1/verifications/<code>): dates as ISO 8601."""
        return {"code": self.code, "valid": self.valid, "withdrawn_reason": self.withdrawn_reason,
                "withdrawn_on": self.withdrawn_on.isoformat() if self.withdrawn_on else None,
                "product": self.product_id, "parcel": {"key": self.parcel_key, "label": self.parcel_label},
                "scale": self.scale, "paper": self.paper, "orientation": self.orientation,
                "data_currency": self.data_currency, "issued_on": self.issued_on.isoformat(), "office": self.office,
                "sha256": self.sha256, "size": self.size, "sealed": self.sealed}


def find_record(factory: sessionmaker[Session], text: str) -> VerificationRecord | None:
    """The record of a code as a person typed it; None when it is no code or no extract has it."""
    code = verification.normalise(text)
    if code is None:
        return None
    with factory() as session:
        row = session.scalar(select(ExtractVerification).where(ExtractVerification.code == code))
        if row is None:
            return None
        return VerificationRecord(
            code=verification.formatted(row.code), valid=row.withdrawn_at is None, withdrawn_reason=row.withdrawn_reason,
            withdrawn_on=row.withdrawn_at.date() if row.withdrawn_at else None, product_id=row.product_id,
            product_name=row.product_name, parcel_key=row.parcel_key, parcel_label=row.parcel_label, scale=row.scale,
            paper=row.paper, orientation=row.orientation, data_currency=row.data_currency, issued_on=row.issued_on,
            office=row.office, sha256=row.sha256, size=row.size, sealed=row.sealed)
