"""The time budget of one request for upstream calls: a shared deadline and a pool to wait on."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar
from typing import TypeVar

from wms_clients.http import UpstreamError

T = TypeVar("T")

# Upstream calls run here so that a request can stop waiting at its deadline while the call
# finishes (bounded by the session's own total timeout) without holding the worker.
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="upstream")
# How long a request may still wait after its budget is spent: our own bookkeeping, not the upstream's.
MARGIN_S = 0.05


class _Scope:
    """One request: the deadline is fixed by the first upstream call made within it."""

    __slots__ = ("deadline",)

    def __init__(self) -> None:
        self.deadline: float | None = None


_scope: ContextVar[_Scope | None] = ContextVar("gis_upstream_scope", default=None)


def begin_shared_budget() -> Callable[[], None]:
    """From here on, every upstream call in this context shares one deadline (a WFS lookup and a
    GetMap together get one budget); the web layer opens one per request. Returns the closer."""
    token = _scope.set(_Scope())
    return lambda: _scope.reset(token)


def request_deadline(budget: float) -> float:
    """The monotonic time by which upstream waiting must stop: shared within a scope, else per call (CLI)."""
    now = time.monotonic()
    scope = _scope.get()
    if scope is None:
        return now + budget
    if scope.deadline is None:
        scope.deadline = now + budget
    return scope.deadline


def call_bounded(function: Callable[[], T], deadline: float, what: str) -> T:
    """function() in the upstream pool; UpstreamError(timeout) when it has not answered by the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= MARGIN_S:
        raise UpstreamError(f"{what}: the request's time for the upstream is spent", kind="timeout")

    def run() -> T:
        if time.monotonic() >= deadline:  # waited in the queue past the deadline: nobody listens
            raise UpstreamError(f"{what}: started too late", kind="timeout")
        return function()

    future = _POOL.submit(run)
    try:
        return future.result(timeout=remaining)
    except FutureTimeout:
        raise UpstreamError(f"{what}: no answer within the request's {remaining:.1f} s", kind="timeout") from None
