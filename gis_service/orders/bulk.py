"""Bulk actions on orders selected in the staff queue: take, assign to a colleague, pick them for export."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from catalogues import msg
from gis_service.errors import ApiError
from gis_service.orders.actions import OrderActions
from gis_service.orders.models import Order
from gis_service.orders.repository import valid_order_number

MAX_SELECTION = 500
# A checkbox carries number and version ("LK-2026-ABC123@4"), so a colleague's change meanwhile is noticed.
_SELECTED = re.compile(r"^(?P<number>[^@\s]{1,32})@(?P<version>\d{1,9})$")
SELECTION_EMPTY = msg("bulk_selection_empty")
SELECTION_TOO_LARGE = msg("bulk_selection_too_large", MAX_SELECTION=MAX_SELECTION)
SELECTION_INVALID = msg("bulk_selection_invalid")
UNKNOWN_COLLEAGUE = msg("bulk_unknown_colleague")


@dataclass
class BulkOutcome:
    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # order number, why (German)


def parse_selection(values: list[str]) -> list[tuple[str, int]]:
    """The (number, version) pairs of the ticked boxes, once each; ApiError when none or malformed."""
    selection: dict[str, int] = {}
    for value in values:
        match = _SELECTED.match(value or "")
        if match is None or not valid_order_number(match["number"]):
            raise ApiError(SELECTION_INVALID, status=400, code="bad-selection")
        selection.setdefault(match["number"], int(match["version"]))
    if not selection:
        raise ApiError(SELECTION_EMPTY, status=422, code="selection-empty")
    if len(selection) > MAX_SELECTION:
        raise ApiError(SELECTION_TOO_LARGE, status=422, code="selection-too-large")
    return list(selection.items())


class BulkActions:
    def __init__(self, factory: sessionmaker[Session], actions: OrderActions):
        self.factory = factory
        self.actions = actions

    def _each(self, selection: list[tuple[str, int]], act: Callable[[str, int], object]) -> BulkOutcome:
        outcome = BulkOutcome()
        for number, version in selection:
            try:
                act(number, version)
            except ApiError as exc:
                # One order that cannot be changed does not stop the others; the clerk sees why.
                outcome.failed.append((number, exc.de))
            else:
                outcome.done.append(number)
        return outcome

    def take(self, selection: list[tuple[str, int]], actor: str) -> BulkOutcome:
        return self._each(selection, lambda number, version: self.actions.take(number, actor, version))

    def assign(self, selection: list[tuple[str, int]], actor: str, assignee: str, colleagues: set[str]) -> BulkOutcome:
        """Give the orders to `assignee`, who must be one of the active `colleagues` (user names)."""
        if assignee not in colleagues:
            raise ApiError(UNKNOWN_COLLEAGUE, status=422, code="unknown-colleague")
        return self._each(selection, lambda number, version: self.actions.take(number, actor, version, assignee))

    def orders(self, selection: list[tuple[str, int]]) -> list[Order]:
        """The selected orders as they are now (an export shows the current state), in the order selected."""
        numbers = [number for number, _ in selection]
        with self.factory() as session:
            found = {o.order_number: o for o in session.scalars(
                select(Order).where(Order.order_number.in_(numbers)).options(selectinload(Order.payments)))}
        return [found[number] for number in numbers if number in found]
