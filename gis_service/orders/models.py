"""ORM tables of the order domain: orders, their audit events, payments, documents, mail, staff, citizens' drafts."""

from __future__ import annotations

from datetime import datetime

from datetime import date

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(String(32), unique=True)
    token_salt: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    lang: Mapped[str] = mapped_column(String(2), default="de")
    created_by: Mapped[str] = mapped_column(String(120))

    product_id: Mapped[str] = mapped_column(String(40), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    handling: Mapped[str] = mapped_column(String(10), index=True)  # automatic | staff
    staff_reason: Mapped[str | None] = mapped_column(Text)

    parcel_key: Mapped[str] = mapped_column(String(20), index=True)
    parcel_label: Mapped[str] = mapped_column(String(200))
    paper: Mapped[str | None] = mapped_column(String(2))
    orientation: Mapped[str | None] = mapped_column(String(10))
    scale: Mapped[int | None] = mapped_column(Integer)
    centre_x: Mapped[float | None] = mapped_column(Float)
    centre_y: Mapped[float | None] = mapped_column(Float)
    # The citizen confirmed that the parcel cannot fit at this scale and paper and wants the part shown.
    partial_parcel: Mapped[bool] = mapped_column(Boolean, default=False)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    delivery: Mapped[str] = mapped_column(String(10))
    certified: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_method: Mapped[str] = mapped_column(String(10))

    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    fee_breakdown: Mapped[list] = mapped_column(JSON)

    contact_name: Mapped[str | None] = mapped_column(String(200), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    contact_organisation: Mapped[str | None] = mapped_column(String(200))
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_postcode: Mapped[str | None] = mapped_column(String(10))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_country: Mapped[str | None] = mapped_column(String(2))
    justification: Mapped[str | None] = mapped_column(Text)
    justification_purged_at: Mapped[datetime | None] = mapped_column(DateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    attention: Mapped[bool] = mapped_column(Boolean, default=False, index=True)  # a person must look at it
    assigned_to: Mapped[str | None] = mapped_column(String(80), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    closing_reason: Mapped[str | None] = mapped_column(Text)

    idempotency_key: Mapped[str | None] = mapped_column(String(250), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Folded text of number, contact, address and parcel for the staff search (kept by orders.staff_search).
    search_text: Mapped[str | None] = mapped_column(Text)
    # Paid by invoice and the e-mail address not confirmed yet: no other mail, not in the staff queue.
    awaiting_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    events: Mapped[list[OrderEvent]] = relationship(back_populates="order", order_by="OrderEvent.id",
                                                    cascade="all, delete-orphan")
    payments: Mapped[list[Payment]] = relationship(back_populates="order", order_by="Payment.id",
                                                   cascade="all, delete-orphan")
    documents: Mapped[list[Document]] = relationship(back_populates="order", order_by="Document.id",
                                                     cascade="all, delete-orphan")
    # Loaded with the order: pages and the CSV read it after the session has closed.
    invoice: Mapped[Invoice | None] = relationship(back_populates="order", uselist=False, lazy="selectin",
                                                   cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}
    # What the data protection purge asks every round of the order tasks: the orders due for it,
    # found without reading the open or already anonymised ones (dataprotection.py).
    __table_args__ = (
        Index("ix_orders_purge_due", "anonymised_at", "closed_at"),
        Index("ix_orders_justification_due", "closed_at", sqlite_where=text("justification IS NOT NULL"),
              postgresql_where=text("justification IS NOT NULL")),
    )

    @property
    def centre(self) -> tuple[float, float] | None:
        if self.centre_x is None or self.centre_y is None:
            return None
        return self.centre_x, self.centre_y

    @property
    def current_documents(self) -> list[Document]:
        return [d for d in self.documents if d.deleted_at is None]


class OrderEvent(Base):
    """The audit log: who did what to an order, when and why."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSON)

    order: Mapped[Order] = relationship(back_populates="events")


class OrderNote(Base):
    """A clerk's internal note on an order: for the office only, never shown to the citizen."""

    __tablename__ = "order_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str] = mapped_column(String(80), unique=True)
    transaction_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # INITIAL PAYED FAILED CANCELED
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str | None] = mapped_column(String(120))  # e.g. the Kassenzeichen
    payment_url: Mapped[str | None] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(Text)
    reported_amount_cents: Mapped[int | None] = mapped_column(Integer)  # what the provider says was paid
    reported_currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    refund_status: Mapped[str | None] = mapped_column(String(10), index=True)  # pending done failed
    refund_id: Mapped[str | None] = mapped_column(String(120))
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    refund_attempts: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="payments")


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # extract | attachment
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    storage_name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    order: Mapped[Order] = relationship(back_populates="documents")
    # An official extract's public record (its verification code); none for uploads.
    verification: Mapped[ExtractVerification | None] = relationship(back_populates="document", uselist=False,
                                                                    lazy="selectin")


class ExtractVerification(Base):
    """What the public verification page shows of an issued extract: no personal data, only the extract itself.

    Kept when the order's personal data and files are purged: a recipient may check an extract for
    years. `withdrawn_reason`: superseded (produced again), cancelled, rejected or refunded.
    """

    __tablename__ = "extract_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # canonical: no dashes, upper case
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))  # of the delivered (sealed) bytes
    size: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    issued_on: Mapped[date] = mapped_column(Date)  # the date printed on the extract
    product_id: Mapped[str] = mapped_column(String(40))
    product_name: Mapped[str] = mapped_column(String(200))
    parcel_key: Mapped[str] = mapped_column(String(20))
    parcel_label: Mapped[str] = mapped_column(String(200))
    scale: Mapped[int] = mapped_column(Integer)
    paper: Mapped[str] = mapped_column(String(2))
    orientation: Mapped[str] = mapped_column(String(10))
    data_currency: Mapped[str | None] = mapped_column(String(40))
    office: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(20))

    document: Mapped[Document] = relationship(back_populates="verification")


class MailMessage(Base):
    """The outbox: a mail is written with the change that causes it and sent afterwards."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    audience: Mapped[str] = mapped_column(String(10), default="citizen", server_default="citizen")  # citizen | office


class OfficeNotice(Base):
    """Something the office was (or, for the digest, will be) told by mail; unique so it is told once.

    kind: needs_person, payment_failed, mail_failed, or digest (the claim of one day's digest,
    ref = YYYYMMDD). ref: the order, event or mail id the notice is about.
    """

    __tablename__ = "office_notices"
    __table_args__ = (UniqueConstraint("kind", "ref", name="uq_office_notices_kind_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # None: waits for the digest


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))  # clerk | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    session_epoch: Mapped[int] = mapped_column(Integer, default=1)  # raised to end all sessions
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class SavedDraft(Base):
    """An order in progress on the citizen pages, kept here because the iframe cannot rely on cookies.

    Only the hash of the draft id is stored: the id in the URL is the capability, and the database
    alone must not open a draft (nor, through it, the order made from it).
    """

    __tablename__ = "order_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    form_values: Mapped[dict] = mapped_column(JSON)
    lang: Mapped[str] = mapped_column(String(2))
    revision: Mapped[int] = mapped_column(Integer)  # raised on every change: a summary names the one it shows
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Invoice(Base):
    """The invoice of an order paid by invoice: sent, then paid or written off (each step also in the audit log)."""

    __tablename__ = "order_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # sent | paid | written_off
    invoice_number: Mapped[str | None] = mapped_column(String(60))
    sent_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date | None] = mapped_column(Date, index=True)
    paid_cents: Mapped[int | None] = mapped_column(Integer)
    written_off_on: Mapped[date | None] = mapped_column(Date)
    write_off_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(120))

    order: Mapped[Order] = relationship(back_populates="invoice")


class AccessibilityFeedback(Base):
    """A message from the accessibility statement's feedback form (BITV 2.0 § 7): new, read, answered.

    Name, e-mail address and the page are optional; the message is what the citizen reports.
    """

    __tablename__ = "accessibility_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    lang: Mapped[str] = mapped_column(String(2))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True)  # new | read | answered
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    read_by: Mapped[str | None] = mapped_column(String(120))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_by: Mapped[str | None] = mapped_column(String(120))
    # The mail that carried it to the contact: it holds the message too, so it goes with it.
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mail_outbox.id", ondelete="SET NULL"))
