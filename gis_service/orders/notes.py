"""Internal notes on an order: written by clerks, audited, shown on the staff pages only (never to the citizen)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalogues import msg
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.errors import ActionError, OrderNotFound
from gis_service.orders.models import Order, OrderEvent, OrderNote
from gis_service.orders.repository import valid_order_number

MAX_NOTE = 4000
NOTE_EMPTY = msg("notes_note_empty")
NOTE_TOO_LONG = msg("notes_note_too_long", MAX_NOTE=MAX_NOTE)


class OrderNotes:
    def __init__(self, factory: sessionmaker[Session]):
        self.factory = factory

    def add(self, number: str, actor: str, text: str) -> OrderNote:
        """Store the note and an audit entry; the order row is not touched, so no clerk's open form goes stale."""
        text = (text or "").strip()
        if not text:
            raise ActionError(NOTE_EMPTY, status=422, code="note-empty")
        if len(text) > MAX_NOTE:
            raise ActionError(NOTE_TOO_LONG, status=422, code="note-too-long")
        if not valid_order_number(number):
            raise OrderNotFound()
        with transaction(self.factory) as session:
            order_id = session.scalar(select(Order.id).where(Order.order_number == number))
            if order_id is None:
                raise OrderNotFound()
            note = OrderNote(order_id=order_id, at=utcnow(), author=actor[:120], text=text)
            session.add(note)
            session.flush()
            # The audit says that and who, not what: the text stays in one place, the notes table.
            session.add(OrderEvent(order_id=order_id, at=note.at, actor=actor[:120], action="note_added",
                                   details={"note_id": note.id, "length": len(text)}))
        return note

    def for_order(self, order_id: int) -> list[OrderNote]:
        with self.factory() as session:
            return list(session.scalars(select(OrderNote).where(OrderNote.order_id == order_id)
                                        .order_by(OrderNote.at, OrderNote.id)))
