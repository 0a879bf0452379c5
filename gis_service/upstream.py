"""The WFS/WMS upstream as the service sees it: one time budget per request, cached parcels, fallback, 503."""

from __future__ import annotations

import json
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from pathlib import Path
from typing import Callable, TypeVar

import shapely
from flask import after_this_request, g, has_request_context

from cadastre.addresses import AddressQuery
from cadastre.kennzeichen import Flurstueckskennzeichen, GemarkungIndex, GemarkungRef, parse_kennzeichen
from cadastre.model import MapFeatures, Parcel
from gis_service.cache import Cache
from gis_service.errors import ApiError
from wms_clients.base import BBox, CadastreSource, SourceInfo
from wms_clients.http import UpstreamError
from wms_clients.wfs import WfsSource
from wms_clients.wms import WmsClient

log = logging.getLogger(__name__)

T = TypeVar("T")

# Upstream calls run here so that a request can stop waiting at its deadline while the call
# finishes (bounded by the session's own total timeout) without holding the worker.
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="upstream")
# How long a request may still wait after its budget is spent: our own bookkeeping, not the upstream's.
MARGIN_S = 0.05
# After a failed info()/gemarkungen() call, answer from what we have for this long.
QUIET_AFTER_FAILURE_S = 30.0
INFO_REFRESH_S = 60.0


class UpstreamUnavailable(ApiError):
    """503: the cadastral office's service does not answer and nothing cached or local can stand in."""

    status = 503
    code = "upstream-unavailable"


def map_unavailable(retry_after: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        "Der Kartendienst des Katasteramts ist gerade nicht erreichbar, und es liegt kein gespeichertes "
        f"Kartenbild vor. Bitte versuchen Sie es in {_minutes_de(retry_after)} noch einmal.",
        "The cadastral office's map service cannot be reached right now and no stored map image is "
        f"available. Please try again in {_minutes_en(retry_after)}.",
        headers={"Retry-After": str(retry_after)},
    )


def parcels_unavailable(retry_after: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        "Die Flurstücksdaten des Katasteramts sind gerade nicht erreichbar. Bitte versuchen Sie es in "
        f"{_minutes_de(retry_after)} noch einmal.",
        "The cadastral office's parcel data cannot be reached right now. Please try again in "
        f"{_minutes_en(retry_after)}.",
        headers={"Retry-After": str(retry_after)},
    )


def _minutes_de(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "einer Minute" if minutes == 1 else f"{minutes} Minuten"


def _minutes_en(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


# ---------------------------------------------------------------------------- the time budget


def request_deadline(budget: float) -> float:
    """The monotonic time by which this request must stop waiting for upstreams.

    Within a web request the budget is shared by every upstream call the request makes (a WFS
    lookup and a GetMap together get one budget); elsewhere (CLI) each call gets its own.
    """
    now = time.monotonic()
    if not has_request_context():
        return now + budget
    deadline = g.get("_gis_upstream_deadline")
    if deadline is None:
        deadline = now + budget
        g._gis_upstream_deadline = deadline
    return deadline


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


def announce(header: str, value: str, *, degraded: bool = False) -> None:
    """Set a response header for the current request (if any) from deep inside a service call."""
    if not has_request_context():
        return
    if g.get(f"_gis_announced_{header}") == value:
        return
    setattr(g, f"_gis_announced_{header}", value)

    @after_this_request
    def _set(response):
        response.headers[header] = value
        if degraded:
            # A stand-in must not stay in browsers and proxies once the upstream is back.
            response.headers["Cache-Control"] = "no-store"
        return response


# ---------------------------------------------------------------------------- parcels in the cache


def parcel_to_json(parcel: Parcel) -> bytes:
    return json.dumps(
        {
            "key": parcel.key,
            "wkb": shapely.to_wkb(parcel.geometry, hex=True),
            "gemarkung": parcel.gemarkung_name,
            "flaeche": parcel.flaeche_m2,
            "lage": parcel.lage,
            "aktualitaet": parcel.aktualitaet,
            "nutzung": parcel.nutzung,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def parcel_from_json(data: bytes) -> Parcel | None:
    try:
        record = json.loads(data)
        return Parcel(
            kennzeichen=parse_kennzeichen(record["key"]),
            geometry=shapely.from_wkb(record["wkb"]),
            gemarkung_name=record.get("gemarkung"),
            flaeche_m2=record.get("flaeche"),
            lage=list(record.get("lage") or []),
            aktualitaet=record.get("aktualitaet"),
            nutzung=record.get("nutzung"),
        )
    except (ValueError, KeyError, TypeError, shapely.errors.GEOSException) as exc:
        log.warning("cache: unreadable parcel entry (%s)", exc)
        return None


def load_gemarkungen_file(path: Path, default_land: str | None) -> list[GemarkungRef]:
    """Gemarkung names from JSON: {"053144": "Rüttenscheid", …} or the NRW list by Katasteramt."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    refs: list[GemarkungRef] = []
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        for key, name in data.items():
            refs.append(GemarkungRef(land=key[:2], nummer=key[2:6], name=name))
        return refs
    if not default_land:
        raise ValueError("the NRW list carries 4-digit Gemarkung numbers: set default_land (e.g. '05')")
    for gemarkungen in data.values():  # Katasteramt → "Name (nummer)" → {"schluessel": "2851", "fluren": […]}
        for label, entry in gemarkungen.items():
            number = str(entry.get("schluessel", "")).zfill(4)
            name = label.rsplit(" (", 1)[0].strip()
            if number.isdigit() and len(number) == 4:
                refs.append(GemarkungRef(land=default_land, nummer=number, name=name))
    return refs


# ---------------------------------------------------------------------------- the source


class UpstreamSource(CadastreSource):
    """The WFS source under the service's rules; also carries the WMS client for the map faces.

    Each call gets what is left of the request's time budget. Parcels fetched by key are cached
    (fresh for the cache TTL, kept longer for outages). When the WFS fails: a cached parcel, else
    the fallback dataset, else UpstreamUnavailable (503 with Retry-After). info() and
    gemarkungen() never fail: they answer from what is known.
    """

    def __init__(
        self,
        wfs: WfsSource,
        wms: WmsClient,
        *,
        cache: Cache,
        fallback: CadastreSource | None = None,
        request_timeout: float = 10.0,
        retry_after: int = 30,
        name: str = "",
        attribution: str = "",
        extent: BBox | None = None,
        data_currency: str | None = None,
    ):
        self.wfs = wfs
        self.wms = wms
        self.cache = cache
        self.fallback = fallback
        self.request_timeout = request_timeout
        self.retry_after_default = retry_after
        self.name = name
        self.attribution = attribution
        self.extent = extent
        self.data_currency = data_currency
        self.cache_id = f"{wfs.client.url}|{wfs.typename}"
        self._info: SourceInfo | None = None
        self._info_at = -math.inf
        self._info_quiet_until = 0.0
        self._gemarkungen: GemarkungIndex | None = None
        self._gemarkungen_at = -math.inf
        self._gemarkungen_quiet_until = 0.0
        self._gemarkungen_seen = 0

    # ------------------------------------------------------------------ helpers

    def deadline(self) -> float:
        return request_deadline(self.request_timeout)

    def retry_after(self) -> int:
        """Seconds a client should wait: until the open circuit probes again, else the configured value."""
        waits = [s.breaker.retry_in() for s in (self.wfs.client.session, self.wms.session)]
        longest = max(waits)
        return max(5, math.ceil(longest)) if longest > 0 else self.retry_after_default

    def _ask(self, what: str, function: Callable[[], T]) -> T:
        return call_bounded(function, self.deadline(), f"WFS {what}")

    def _degraded(self, what: str, error: UpstreamError, fallback: Callable[[], T] | None) -> T:
        if fallback is None or self.fallback is None:
            log.warning("upstream %s failed, nothing to fall back on: %s", what, error)
            raise parcels_unavailable(self.retry_after()) from error
        log.warning("upstream %s failed, answering from the fallback dataset: %s", what, error)
        announce("X-Data-Source", "fallback", degraded=True)
        return fallback()

    def _parcel_key(self, key: str) -> str:
        return f"parcel:{self.cache_id}:{key}"

    def _remember(self, parcels: list[Parcel], *, shared: bool) -> None:
        """Keep parcels: a search result in the front layer only, a parcel asked by key everywhere."""
        target = self.cache if shared else getattr(self.cache, "front", None)
        if target is None:
            return
        for parcel in parcels:
            target.put(self._parcel_key(parcel.key), parcel_to_json(parcel))

    # ------------------------------------------------------------------ CadastreSource

    def get(self, kennzeichen: Flurstueckskennzeichen) -> Parcel | None:
        entry = self.cache.get(self._parcel_key(kennzeichen.key))
        cached = parcel_from_json(entry.data) if entry is not None else None
        if cached is not None and self.cache.is_fresh(entry):
            return cached
        try:
            parcel = self._ask("parcel by key", lambda: self.wfs.get(kennzeichen))
        except UpstreamError as error:
            if cached is not None:
                log.warning("upstream parcel %s failed, using the one cached %.0f s ago: %s",
                            kennzeichen.key, entry.age(), error)
                return cached
            return self._degraded("parcel by key", error, self.fallback and (lambda: self.fallback.get(kennzeichen)))
        if parcel is not None:
            self._remember([parcel], shared=True)
        return parcel

    def find(self, *, gemarkungsschluessel: str, flur: int | None = None, zaehler: int | None = None,
             nenner: int | None = None, limit: int = 50) -> list[Parcel]:
        def ask() -> list[Parcel]:
            return self.wfs.find(gemarkungsschluessel=gemarkungsschluessel, flur=flur, zaehler=zaehler,
                                 nenner=nenner, limit=limit)

        try:
            parcels = self._ask("parcels by attributes", ask)
        except UpstreamError as error:
            return self._degraded("parcels by attributes", error, self.fallback and (lambda: self.fallback.find(
                gemarkungsschluessel=gemarkungsschluessel, flur=flur, zaehler=zaehler, nenner=nenner, limit=limit)))
        self._remember(parcels, shared=False)
        return parcels

    def at_point(self, x: float, y: float) -> list[Parcel]:
        try:
            parcels = self._ask("parcels at a point", lambda: self.wfs.at_point(x, y))
        except UpstreamError as error:
            return self._degraded("parcels at a point", error, self.fallback and (lambda: self.fallback.at_point(x, y)))
        self._remember(parcels, shared=False)
        return parcels

    def in_bbox(self, bbox: BBox, limit: int = 50, offset: int = 0) -> tuple[list[Parcel], int]:
        try:
            parcels, total = self._ask("parcels in a bbox", lambda: self.wfs.in_bbox(bbox, limit=limit, offset=offset))
        except UpstreamError as error:
            return self._degraded("parcels in a bbox", error,
                                  self.fallback and (lambda: self.fallback.in_bbox(bbox, limit=limit, offset=offset)))
        return parcels, total

    def by_address(self, query: AddressQuery, limit: int = 50) -> list[tuple[Parcel, float, str]]:
        try:
            found = self._ask("parcels by address", lambda: self.wfs.by_address(query, limit=limit))
        except UpstreamError as error:
            return self._degraded("parcels by address", error,
                                  self.fallback and (lambda: self.fallback.by_address(query, limit=limit)))
        self._remember([item[0] for item in found[:20]], shared=False)
        return found

    def map_features(self, bbox: BBox) -> MapFeatures:
        try:
            return self._ask("parcels for a map", lambda: self.wfs.map_features(bbox))
        except UpstreamError as error:
            return self._degraded("parcels for a map", error, self.fallback and (lambda: self.fallback.map_features(bbox)))

    def gemarkungen(self) -> GemarkungIndex:
        now = time.monotonic()
        index = self._gemarkungen
        # Rebuilt when the WFS answers have named a Gemarkung not seen before, else once a minute.
        seen = len(self.wfs._seen)
        current = now - self._gemarkungen_at < INFO_REFRESH_S and seen == self._gemarkungen_seen
        if index is not None and (current or now < self._gemarkungen_quiet_until):
            return index
        try:
            index = self._ask("Gemarkungen", self.wfs.gemarkungen)
        except UpstreamError as error:
            log.warning("upstream Gemarkungen failed, answering from what is known: %s", error)
            self._gemarkungen_quiet_until = now + QUIET_AFTER_FAILURE_S
            if self._gemarkungen is not None:
                return self._gemarkungen
            index = GemarkungIndex(list(self.wfs._configured_index.gemarkungen) if self.wfs._configured_index else [])
            if self.fallback is not None:
                for ref in self.fallback.gemarkungen().gemarkungen:
                    index.add(ref)
            return index
        self._gemarkungen, self._gemarkungen_at, self._gemarkungen_seen = index, now, len(self.wfs._seen)
        return index

    def info(self) -> SourceInfo:
        now = time.monotonic()
        info = self._info
        if info is not None and (now - self._info_at < INFO_REFRESH_S or now < self._info_quiet_until):
            return info
        if info is None and now < self._info_quiet_until:
            return self._static_info()
        try:
            fresh = self._ask("service information", self.wfs.info)
        except UpstreamError as error:
            log.warning("upstream service information failed, answering from what is known: %s", error)
            self._info_quiet_until = now + QUIET_AFTER_FAILURE_S
            return info or self._static_info()
        if self.data_currency:
            fresh = replace(fresh, data_currency=self.data_currency)
        self._info, self._info_at = fresh, now
        return fresh

    def _static_info(self) -> SourceInfo:
        extent = self.extent
        if extent is None and self.fallback is not None:
            extent = self.fallback.info().extent
        return SourceInfo(
            attribution=self.attribution,
            data_currency=self.data_currency,
            extent=extent or (0.0, 0.0, 0.0, 0.0),
            name=self.name or self.wfs.client.url,
            extra={"url": self.wfs.client.url, "known": False},
        )

    def close(self) -> None:
        self.wfs.close()
        self.wms.session.close()


def build_upstream_source(settings, source_settings, instance_path: Path, fallback: CadastreSource | None) -> UpstreamSource:
    """WfsSource + WmsClient with one UpstreamSession each, from gis_service.config.UpstreamSourceSettings."""
    from cadastre.kennzeichen import GemarkungIndex as Index
    from gis_service.cache import build_cache
    from gis_service.config import ConfigError
    from wms_clients.http import UpstreamSession
    from wms_clients.wfs import WfsClient

    s = source_settings
    http = s.http

    def session(name: str) -> UpstreamSession:
        return UpstreamSession(
            name,
            connect_timeout=http.connect_timeout,
            read_timeout=http.read_timeout,
            total_timeout=http.effective_total_timeout,
            retries=http.retries,
            backoff=http.backoff,
            backoff_max=http.backoff_max,
            failure_threshold=http.failure_threshold,
            reset_timeout=http.reset_timeout,
            auth=(http.auth.user, http.auth.password) if http.auth else None,
            headers=http.headers,
            max_body_bytes=http.max_body_mb * 1024 * 1024,
            verify=http.verify,
            pool_size=http.pool_size,
        )

    refs = [GemarkungRef(land=key[:2], nummer=key[2:], name=name) for key, name in s.gemarkungen.items()]
    if s.gemarkungen_file is not None:
        try:
            refs += load_gemarkungen_file(s.gemarkungen_file, s.default_land)
        except (OSError, ValueError, AttributeError) as exc:
            raise ConfigError(f"source.gemarkungen_file: cannot read {s.gemarkungen_file}: {exc}") from exc
    w, f = s.wms, s.wfs
    try:
        wms = WmsClient(
            w.url, w.layers, session(f"WMS {w.url}"), version=w.version, crs=w.crs, format=w.format,
            styles=w.styles, transparent=w.transparent, bgcolor=w.bgcolor, dpi_param=w.dpi_param,
            max_width=w.max_width, max_height=w.max_height, tile_size=w.tile_size, tile_buffer=w.tile_buffer,
            tile_workers=w.tile_workers, axis_order=w.axis_order, capabilities_ttl=w.capabilities_ttl,
            extra_params=w.extra_params, use_advertised_url=w.use_advertised_url,
        )
        client = WfsClient(
            f.url, session(f"WFS {f.url}"), srs=f.srs, axis_order=f.axis_order, method=f.method,
            output_format=f.output_format, capabilities_ttl=f.capabilities_ttl,
            qualify_properties=f.qualify_properties, required_typenames=[f.typename],
        )
    except ValueError as exc:
        raise ConfigError(f"source: {exc}") from exc
    wfs = WfsSource(
        client,
        fields=s.fields,
        typename=f.typename,
        gemarkung_key_length=f.gemarkung_key_length,
        bezirk_typename=f.bezirk_typename,
        gemarkungen=Index(refs) if refs else None,
        name=s.name,
        attribution=s.attribution,
        extent=s.extent,
        search_extent=f.search_extent,
        point_tolerance=f.point_tolerance,
        address_candidates=f.address_candidates,
        map_features_limit=f.map_features_limit,
        sortable=f.sortable,
    )
    return UpstreamSource(
        wfs,
        wms,
        cache=build_cache(settings.cache, instance_path),
        fallback=fallback,
        request_timeout=s.effective_request_timeout,
        retry_after=s.retry_after,
        name=s.name,
        attribution=s.attribution,
        extent=s.extent,
        data_currency=s.data_currency,
    )
