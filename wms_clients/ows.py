"""What OGC services answer besides data: exception reports and HTML pages, and GetCapabilities fetched, checked and cached."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Callable, Generic, TypeVar

from lxml import etree

log = logging.getLogger(__name__)

T = TypeVar("T")
# error(kind, message, server_message=None) → the exception to raise (a client's UpstreamError factory).
ErrorFactory = Callable[..., Exception]

# No DTD is loaded, no entity expanded, nothing fetched; parse_xml() refuses entity declarations.
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
)
# OGC answers never declare entities: one that does is an attack (billion laughs, external
# entities), refused before any parser, ours or OWSLib's, sees it. WMS 1.1.1 capabilities and
# exception reports do carry a DOCTYPE naming their DTD (MapServer, GeoServer): that one is
# accepted where they are read, without entities and without ever loading the DTD.
_ENTITY_MARKER = b"<!ENTITY"
_DOCTYPE_MARKER = b"<!DOCTYPE"
_EXCEPTION_ROOTS = {"ServiceExceptionReport", "ExceptionReport"}
# UpstreamError kinds after which capabilities from before are still good (the server, not its answer, failed).
_PASSING_FAILURES = ("timeout", "unavailable", "circuit-open")


# ---------------------------------------------------------------------------- sniffing answers


def looks_like_xml(content: bytes) -> bool:
    head = content[:200].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and not looks_like_html(content)


def looks_like_html(content: bytes) -> bool:
    head = content[:500].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:300]


class UnsafeXmlError(ValueError):
    """Upstream XML that declares entities (or a DOCTYPE where none belongs): refused, never parsed further."""


def refuse_dtd(content: bytes, *, doctype: bool = False) -> None:
    """Raise UnsafeXmlError when the bytes declare an entity, or a DOCTYPE unless `doctype` (anywhere, even in a comment)."""
    if _ENTITY_MARKER in content:
        raise UnsafeXmlError("the document declares an entity; upstream XML must not")
    if not doctype and _DOCTYPE_MARKER in content:
        raise UnsafeXmlError("the document declares a DOCTYPE; upstream XML must not")


def parse_xml(content: bytes, *, doctype: bool = False) -> etree._Element:
    """Parse untrusted XML without entities, DTD loading or network access.

    A DOCTYPE is refused unless `doctype` (then it may name a DTD, never loaded, and declare no
    entity). Raises etree.XMLSyntaxError or UnsafeXmlError.
    """
    refuse_dtd(content, doctype=doctype)
    root = etree.fromstring(content, parser=_SAFE_PARSER)
    # The byte checks miss other encodings (UTF-16); the parsed document tells for sure.
    docinfo = root.getroottree().docinfo
    internal = docinfo.internalDTD
    if internal is not None and any(True for _ in internal.iterentities()):
        raise UnsafeXmlError("the document declares an entity; upstream XML must not")
    if not doctype and (docinfo.doctype or internal is not None):
        raise UnsafeXmlError("the document declares a DOCTYPE; upstream XML must not")
    return root


def ogc_exception_message(content: bytes) -> str | None:
    """The text of a WMS ServiceExceptionReport or OWS ExceptionReport, else None."""
    if b"Exception" not in content[:4096]:
        return None
    try:
        root = parse_xml(content, doctype=True)  # WMS 1.1.1 reports name their DTD
    except (etree.XMLSyntaxError, UnsafeXmlError):
        return None
    if etree.QName(root).localname not in _EXCEPTION_ROOTS:
        return None
    parts = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        if name in ("ServiceException", "Exception"):
            code = element.get("code") or element.get("exceptionCode")
            locator = element.get("locator")
            texts = [t.strip() for t in element.itertext() if t.strip()]
            text = " ".join(texts)
            prefix = ", ".join(p for p in (code, f"locator {locator}" if locator else None) if p)
            parts.append(f"{prefix}: {text}" if prefix and text else (text or prefix))
    message = "; ".join(p for p in parts if p) or "exception report without text"
    return _shorten(message)


def html_message(content: bytes) -> str | None:
    """Title and first words of an HTML error page, else None."""
    if not looks_like_html(content):
        return None
    text = content[:20000].decode("utf-8", "replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", text, flags=re.I | re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    words = " ".join(body.split())
    title_text = " ".join(title.group(1).split()) if title else ""
    if title_text and words.startswith(title_text):
        words = words[len(title_text):].strip()
    return _shorten(" — ".join(p for p in (title_text, words) if p) or "HTML page")


def server_message(content: bytes) -> str | None:
    """Whatever readable message an error body carries (OGC exception, HTML page or short text)."""
    message = ogc_exception_message(content) or html_message(content)
    if message:
        return message
    text = content[:500].decode("utf-8", "replace").strip()
    return _shorten(" ".join(text.split())) if text and text.isprintable() else None


def _shorten(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_answer(content: bytes, operation: str, error: ErrorFactory, *, html_instead: str = "") -> None:
    """Raise error(...) when a 2xx answer to `operation` is an exception report or an HTML page."""
    if message := ogc_exception_message(content):
        raise error("exception-report", f"{operation} failed", message)
    if looks_like_html(content):
        raise error("bad-response", f"{operation} returned an HTML page{html_instead}", html_message(content))


# ---------------------------------------------------------------------------- capabilities


def fetch_capabilities(
    session,
    url: str,
    service: str,
    version: str,
    *,
    root_name: str,
    read: Callable[[bytes], T],
    error: ErrorFactory,
    root_hint: str = "",
) -> tuple[bytes, etree._Element, T]:
    """GetCapabilities through an UpstreamSession, checked: (raw bytes, XML root, read(raw), e.g. OWSLib's object).

    The document must be XML with the root element `root_name` and without entity declarations
    (a DOCTYPE naming the DTD is accepted: WMS 1.1.1 has one); `read` (OWSLib, which parses again
    with lxml's defaults) only sees documents parse_xml accepted. `read` may raise anything,
    which becomes a bad-response error like every other failed check.
    """
    params = {"SERVICE": service, "REQUEST": "GetCapabilities", "VERSION": version}
    content = session.get(url, params, body_kind="capabilities").content
    check_answer(content, "GetCapabilities", error)
    try:
        root = parse_xml(content, doctype=True)
    except UnsafeXmlError as exc:
        raise error("unsafe-xml", f"GetCapabilities refused: {exc}") from exc
    except etree.XMLSyntaxError as exc:
        raise error("bad-response", f"GetCapabilities returned no valid XML ({exc})") from exc
    if etree.QName(root).localname != root_name:
        raise error("bad-response", f"GetCapabilities returned <{etree.QName(root).localname}>, not <{root_name}>{root_hint}")
    try:
        parsed = read(content)
    except Exception as exc:  # OWSLib raises whatever its parser meets
        raise error("bad-response", f"OWSLib cannot read the capabilities ({exc})") from exc
    return content, root, parsed


class CapabilitiesCache(Generic[T]):
    """A service's capabilities, fetched at most once per TTL; the old ones are kept when a refresh fails.

    Stale capabilities are better than none: layers, limits and feature types rarely change, and a
    preview must not fail because a capabilities refresh met a slow server.
    """

    def __init__(self, url: str, ttl: float, fetch: Callable[[], T]):
        self.url = url
        self.ttl = ttl
        self._fetch = fetch  # () -> a document with a .fetched_at (time.monotonic())
        self._value: T | None = None
        self._lock = threading.Lock()

    def _fresh(self, value) -> bool:
        return value is not None and time.monotonic() - value.fetched_at < self.ttl

    def get(self, *, refresh: bool = False) -> T:
        value = self._value
        if not refresh and self._fresh(value):
            return value
        with self._lock:
            value = self._value
            if not refresh and self._fresh(value):
                return value
            try:
                self._value = self._fetch()
            except Exception as error:
                # Duck-typed on UpstreamError.kind: wms_clients.http imports this module, not the reverse.
                if value is not None and getattr(error, "kind", None) in _PASSING_FAILURES:
                    log.warning("%s: keeping capabilities from before: %s", self.url, error)
                    return value
                raise
            return self._value
