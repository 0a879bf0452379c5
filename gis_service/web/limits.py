"""Rate limits: routes declare which limit (limits.rate.*) applies and by what key; app.py applies them with the one limiter."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from gis_service.config import RateLimitSettings
from gis_service.orders.validation import normalised_email
from gis_service.web.i18n import choose_language, text
from gis_service.web.responses import error_response

_ATTRIBUTE = "_gis_rate_limits"
_LIMITER = "gis_rate_limiter"
ORDER_CREATED = "gis_order_created"  # set in g by a handler that made an order: only made orders count
# The key of a request that names no recipient or account (it is refused anyway): Flask-Limiter would log
# an empty key as an error on every such request.
NO_KEY = "-"


def client_address() -> str:
    # ProxyFix (server.trusted_proxies) has already put the client's address here.
    return request.remote_addr or "unknown"


def recipient_key(email: str | None) -> str:
    """The key of a recipient: a keyed digest of the normalised address, so the limit store holds no addresses
    (and no list of guessed addresses finds them there); every worker has the same secret, so the same key."""
    normal = normalised_email(email or "")
    if not normal:
        return NO_KEY
    secret = str(current_app.secret_key).encode("utf-8")
    return hmac.new(secret, normal.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


def account_key() -> str:
    return (request.form.get("username") or "").strip().lower()[:80] or NO_KEY


def order_created(_response) -> bool:
    return bool(g.get(ORDER_CREATED))


@dataclass(frozen=True)
class Declared:
    setting: str  # a field of RateLimitSettings
    key: Callable[[], str]
    methods: tuple[str, ...] | None = None  # None: every method
    only_when: Callable[[], bool] | None = None  # the limit counts only when this holds
    counts: Callable | None = None  # counts only responses for which this holds (default: every request)


def limited(*declared: Declared):
    """Marks a view with its limits; nothing happens until apply_limits attaches them to an app's limiter."""

    def mark(view):
        setattr(view, _ATTRIBUTE, (*getattr(view, _ATTRIBUTE, ()), *declared))
        return view

    return mark


def per_address(setting: str, **options) -> Declared:
    return Declared(setting, client_address, **options)


def build_rate_limiter(rate: RateLimitSettings) -> Limiter:
    """The one rate limiter of an app (limits.rate): storage in memory (this process) or Redis (all workers).

    Every declared limit names its own key function; the limiter's default key is never used.
    """
    return Limiter(
        key_func=lambda: "",
        storage_uri=rate.storage_uri,
        key_prefix=rate.key_prefix,
        strategy="moving-window",  # no burst of twice the limit at the edge of a fixed window
        headers_enabled=False,  # the 429 answer carries Retry-After; other answers stay as they are
        # A store that does not answer lets requests through (logged) rather than turning them into 500s.
        swallow_errors=True,
    )


def rate_limit_problems(app: Flask) -> list[str]:
    """For /readyz: without its store the limiter lets every request through, so the service is not protected."""
    limiter: Limiter | None = app.extensions.get(_LIMITER)
    if limiter is None:
        return []
    try:
        answers = limiter.storage.check()
    except Exception:  # noqa: BLE001 - any failure of the store means the same
        answers = False
    uri = app.extensions["gis_settings"].limits.rate.storage_uri
    return [] if answers else [f"the rate limit store ({uri}) does not answer"]


def apply_limits(app: Flask, rate: RateLimitSettings) -> Limiter:
    """Build the limiter, attach it to the app and give every marked view its declared limits.

    The scope is the setting's name, so routes that declare the same limit share one count
    (the API's search and the picker's search, for instance).
    """
    limiter = build_rate_limiter(rate)
    limiter.init_app(app)
    app.extensions[_LIMITER] = limiter
    wrapped: dict[int, Callable] = {}  # one view under two rules: its limits once
    for endpoint, view in list(app.view_functions.items()):
        declared = getattr(view, _ATTRIBUTE, ())
        if not declared:
            continue
        if id(view) not in wrapped:
            checked = view
            for item in declared:
                only_when = item.only_when
                checked = limiter.shared_limit(
                    getattr(rate, item.setting), scope=item.setting, key_func=item.key,
                    methods=list(item.methods) if item.methods else None,
                    exempt_when=(lambda when=only_when: not when()) if only_when else None,
                    deduct_when=item.counts,
                )(checked)
            wrapped[id(view)] = checked
        # Flask-Limiter checks a route's limits in the wrapper it returns, when the view is called.
        app.view_functions[endpoint] = wrapped[id(view)]

    @app.errorhandler(RateLimitExceeded)
    def too_many(error: RateLimitExceeded):
        current = limiter.current_limit
        seconds = max(1, math.ceil(current.reset_at - time.time())) if current is not None else 60
        lang = choose_language()
        wait = text("wait_seconds", lang, n=seconds) if seconds < 120 else text("wait_minutes", lang, n=math.ceil(seconds / 60))
        message = text("too_many_requests", lang, wait=wait)
        return error_response(429, message, "too-many-requests", {"Retry-After": str(seconds)})

    return limiter
