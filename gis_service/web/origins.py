"""Origins of one server: on loopback, 127.0.0.1 and localhost with the same port are the same server."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

_OTHER_NAME = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}


def loopback_twin(origin: str) -> str | None:
    """The same loopback server under its other name (http://127.0.0.1:8080 ↔ http://localhost:8080); else None.

    Only loopback names have a twin, so an allow-list of real hosts stays exactly as configured.
    """
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    other = _OTHER_NAME.get(parts.hostname or "")
    if parts.scheme not in ("http", "https") or other is None or parts.path not in ("", "/"):
        return None
    return f"{parts.scheme}://{other}" + (f":{port}" if port else "")


def server_origins(origin: str) -> set[str]:
    """An origin (or host URL such as request.host_url) and, on loopback, the same server's other name."""
    own = origin.rstrip("/").lower()
    twin = loopback_twin(own)
    return {own, twin} if twin else {own}


def foreign_origin() -> bool:
    """Whether the request's Origin header names another server than the one it was sent to (a cross-site post)."""
    origin = request.headers.get("Origin")
    return bool(origin) and origin != "null" and urlsplit(origin).netloc != request.host
