"""An order's documents: what its extract shows, adding a produced extract or a checked upload, finding one by id."""

from __future__ import annotations

import re

from gis_service.orders.db import utcnow
from gis_service.orders.fulfilment import ExtractSpec
from gis_service.orders.issuing import SUPERSEDED, withdraw
from gis_service.orders.models import Document, Order
from gis_service.orders.storage import StoredFile

# Recognised by their first bytes, never by the name or type the browser sends.
ALLOWED_UPLOADS = {"application/pdf": (b"%PDF-", "pdf"), "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
                   "image/jpeg": (b"\xff\xd8\xff", "jpg"), "image/tiff": (b"II*\x00", "tif")}


def extract_spec(order: Order) -> ExtractSpec:
    return ExtractSpec(order_number=order.order_number, parcel_key=order.parcel_key, paper=order.paper or "A4",
                       orientation=order.orientation or "portrait", scale=order.scale or 1000, centre=order.centre,
                       created=utcnow().date())


def add_document(order: Order, kind: str, filename: str, content_type: str, stored: StoredFile,
                 actor: str) -> Document:
    document = Document(kind=kind, filename=filename[:200], content_type=content_type,
                        storage_name=stored.storage_name, size=stored.size, sha256=stored.sha256,
                        created_at=utcnow(), created_by=actor[:120])
    order.documents.append(document)
    return document


def add_extract(order: Order, stored: StoredFile, actor: str) -> Document:
    return add_document(order, "extract", f"Auszug-Liegenschaftskarte-{order.order_number}.pdf", "application/pdf",
                        stored, actor)


def sniff_upload(filename: str, data: bytes) -> tuple[str, str, str] | None:
    """(content type, file suffix, safe file name) of an allowed upload; None for any other file."""
    content_type = next((ct for ct, (magic, _) in ALLOWED_UPLOADS.items() if data.startswith(magic)), None)
    if content_type is None:
        return None
    suffix = ALLOWED_UPLOADS[content_type][1]
    stem = re.sub(r"[^A-Za-z0-9ÄÖÜäöüß._-]+", "_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[:80].strip("._")
    return content_type, suffix, f"{(stem.rsplit('.', 1)[0] if '.' in stem else stem) or 'Anlage'}.{suffix}"


def current_document(order: Order, document_id: int) -> Document | None:
    return next((d for d in order.current_documents if d.id == document_id), None)


def revoke_documents(order: Order, reason: str) -> list[Document]:
    """Withdraw the order's current documents: the citizen's links stop working, the rows stay as the record,
    and the verification page shows the extracts as no longer valid, for `reason` (issuing.CANCELLED, …).

    The caller removes the files once the change is committed (FileStore.delete); name, size and SHA-256
    in the row and in the audit event keep what was delivered provable.
    """
    return _revoke(order.current_documents, reason)


def supersede_extracts(order: Order) -> list[Document]:
    """The order's current extracts, replaced by a new one: withdrawn, and shown as superseded."""
    return _revoke([d for d in order.current_documents if d.kind == "extract"], SUPERSEDED)


def _revoke(documents: list[Document], reason: str) -> list[Document]:
    now = utcnow()
    for document in documents:
        document.deleted_at = now
    withdraw(documents, reason)
    return documents


def revocation_record(documents: list[Document]) -> list[dict]:
    # No file name: an uploaded file's name may name a person, and the audit log outlives personal data.
    return [{"id": d.id, "kind": d.kind, "sha256": d.sha256, "size": d.size} for d in documents]
