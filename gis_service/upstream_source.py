"""The upstream as the service sees it: WFS answers within the request's time budget, cached parcels, fallback, 503."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from typing import Callable, TypeVar

from cadastre.addresses import AddressQuery
from cadastre.kennzeichen import Flurstueckskennzeichen, GemarkungIndex
from cadastre.model import MapFeatures, Parcel
from cadastre.parcel_codec import parcel_from_json, parcel_to_json
from gis_service.cache import Cache
from gis_service.errors import parcels_unavailable
from gis_service.time_budget import call_bounded, request_deadline
from gis_service.upstream_check import OK, search_extent_check
from wms_clients.base import BBox, CadastreSource, SearchLimit, SourceInfo
from wms_clients.http import UpstreamError
from wms_clients.wfs_source import WfsSource
from wms_clients.wms import WmsClient

log = logging.getLogger(__name__)

T = TypeVar("T")
# After a failed info()/gemarkungen() call, answer from what we have for this long.
QUIET_AFTER_FAILURE_S = 30.0
INFO_REFRESH_S = 60.0


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
        self._extent_checked_for: float | None = None  # fetched_at of the capabilities last checked

    # ------------------------------------------------------------------ helpers

    def deadline(self) -> float:
        return request_deadline(self.request_timeout)

    def retry_after(self) -> int:
        """Seconds a client should wait: until the open circuit probes again, else the configured value."""
        waits = [s.breaker.retry_in() for s in (self.wfs.client.session, self.wms.session)]
        longest = max(waits)
        return max(5, math.ceil(longest)) if longest > 0 else self.retry_after_default

    def readiness_problems(self) -> list[str]:
        """An open circuit means every request to that service is refused until it probes again."""
        problems = []
        for service, session in (("WFS", self.wfs.client.session), ("WMS", self.wms.session)):
            if session.breaker.state == session.breaker.OPEN:
                problems.append(f"upstream {service}: circuit open after repeated failures, "
                                f"next try in {math.ceil(session.breaker.retry_in())} s")
        return problems

    def _ask(self, what: str, function: Callable[[], T]) -> T:
        return call_bounded(function, self.deadline(), f"WFS {what}")

    def _degraded(self, what: str, error: UpstreamError, fallback: Callable[[], T] | None) -> T:
        if fallback is None or self.fallback is None:
            log.warning("upstream %s failed, nothing to fall back on: %s", what, error)
            raise parcels_unavailable(self.retry_after()) from error
        log.warning("upstream %s failed, answering from the fallback dataset: %s", what, error)
        return _marked_fallback(fallback())

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
        seen = self.wfs.gemarkungen_seen
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
            configured = self.wfs.configured_gemarkungen
            index = GemarkungIndex(list(configured.gemarkungen) if configured else [])
            if self.fallback is not None:
                for ref in self.fallback.gemarkungen().gemarkungen:
                    index.add(ref)
            return index
        self._gemarkungen, self._gemarkungen_at, self._gemarkungen_seen = index, now, self.wfs.gemarkungen_seen
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
        self._warn_about_search_extent()
        return fresh

    def address_search_limit(self) -> SearchLimit | None:
        try:
            # the capabilities by_address() has just used; within the request's time should they need a refresh
            return self._ask("search extent", self.wfs.address_search_limit)
        except UpstreamError as error:
            # Unknown coverage still tells the citizen that the search was limited.
            log.info("upstream capabilities for the search extent failed: %s", error)
            return SearchLimit(tuple(self.wfs.search_extent)) if self.wfs.search_extent else None

    def _warn_about_search_extent(self) -> None:
        """Once per capabilities document (the one info() just used, cached): warn when search_extent misses the data."""
        try:
            caps = self.wfs.client.capabilities()
            if caps.fetched_at == self._extent_checked_for:
                return
            limit = self.wfs.address_search_limit()  # from these same cached capabilities
        except UpstreamError:
            return
        self._extent_checked_for = caps.fetched_at
        check = search_extent_check(limit)
        if check.status != OK:
            log.warning("source.wfs.search_extent: %s Fix: %s", check.message, check.fix)

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


def _marked_fallback(answer: T) -> T:
    """The fallback's answer with each parcel marked as such (copies: the fallback keeps its own records)."""
    if isinstance(answer, Parcel):
        return replace(answer, origin="fallback")  # type: ignore[return-value]
    if isinstance(answer, list):
        return [_marked_fallback(item) for item in answer]  # type: ignore[return-value]
    if isinstance(answer, tuple):
        return tuple(_marked_fallback(item) for item in answer)  # type: ignore[return-value]
    return answer
