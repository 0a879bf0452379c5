"""Form-Solutions style Postdata handover: POST the selection as form fields, receive a cacheID."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from gis_service.config import FormServerSettings

_CACHE_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,200}$")


class HandoverError(Exception):
    pass


def form_fields(settings: FormServerSettings, values: dict[str, object]) -> dict[str, str]:
    """Our fields → the form's field paths; fields the config does not map are not sent."""
    fields = {path: "" if values.get(ours) is None else str(values[ours])
              for ours, path in settings.field_map.items() if ours in values}
    fields.update(settings.extra_fields)
    return fields


def post_selection(settings: FormServerSettings, values: dict[str, object],
                   session: requests.Session | None = None) -> str:
    """Send the fields to the form server and return the single-use cacheID it answers with."""
    if not settings.enabled:
        raise HandoverError("no form server configured")
    http = session or requests
    try:
        response = http.post(settings.postdata_url, data=form_fields(settings, values),
                             timeout=settings.timeout_seconds, allow_redirects=False,
                             headers={"Accept": "text/plain, application/json", "User-Agent": "gis-service handover"})
    except requests.RequestException as exc:
        raise HandoverError(f"{exc.__class__.__name__}: {exc}") from None
    if response.status_code != 200:
        raise HandoverError(f"HTTP {response.status_code}")
    text = response.text.strip()[:1000]
    cache_id = text
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise HandoverError("unreadable JSON answer") from None
        cache_id = str(data.get("cacheID") or data.get("cacheId") or "") if isinstance(data, dict) else ""
    if not _CACHE_ID.match(cache_id):
        raise HandoverError("the answer holds no cacheID")
    return cache_id


def form_url_with_cache_id(form_url: str, cache_id: str) -> str:
    parts = urlsplit(form_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cacheID"]
    query.append(("cacheID", cache_id))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
