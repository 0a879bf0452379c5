"""Builds every service from the settings, in one place: source, cache, map faces, page pipeline, previews, orders."""

from __future__ import annotations

import math
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from cadastre.errors import CadastreError
from cadastre.gemarkung_files import load_gemarkungen_file
from cadastre.kennzeichen import GemarkungIndex, GemarkungRef
from gis_service.admission import MAX_VIEW_PX, RenderLimiter
from gis_service import metrics
from gis_service.cache import Cache, DiskCache, MemoryCache, ObservedCache, RedisCache, TieredCache
from gis_service.config import (
    PROJECT_ROOT,
    CacheSettings,
    ConfigError,
    LocalSourceSettings,
    Settings,
    UpstreamSourceSettings,
)
from gis_service.map_faces import LocalMapFaces, MapFaceProvider, UpstreamMapFaces
from gis_service.orders import db
from gis_service.orders.accounts import Accounts
from gis_service.orders.fulfilment import ExtractProducer
from gis_service.orders.installation import Orders
from gis_service.orders.notifications import Mailer
from gis_service.orders.payments import XBezahldiensteClient
from gis_service.orders.products import Catalogue
from gis_service.orders.seal import SealError, Sealer, load_sealer
from gis_service.orders.service import OrderService
from gis_service.orders.storage import FileStore
from gis_service.orders.urls import Urls
from gis_service.orders.validation import OrderValidator
from gis_service.page_pipeline import PagePipeline
from gis_service.page_request import PageChoices
from gis_service.parcels import ParcelService, SearchExamples
from gis_service.previews import PreviewService
from gis_service.tile_faces import TileComposedFaces
from gis_service.tile_grid import SCREEN_DPI, TileGrid
from gis_service.tiles import TileService
from gis_service.upstream_source import UpstreamSource
from renderers.layout import PAPER_SIZES_MM, mm_to_px
from wms_clients.base import CadastreSource
from wms_clients.http import MIB, UpstreamSession
from wms_clients.local import LocalLayers, LocalSource, LocalSourceConfig
from wms_clients.wfs import WfsClient
from wms_clients.wfs_source import WfsSource
from wms_clients.wms import WmsClient


log = logging.getLogger(__name__)

@dataclass
class Services:
    """Everything the web app, the CLI and the benchmarks use, built from one Settings."""

    settings: Settings
    instance_path: Path
    secret_key: str
    source: CadastreSource
    parcels: ParcelService
    cache: Cache
    faces: MapFaceProvider
    pipeline: PagePipeline
    previews: PreviewService
    orders: Orders | None
    tiles: TileService | None = None

    def readiness_problems(self) -> list[str]:
        """Why this process should not get traffic now: the upstream's open circuits, the cache, the order database."""
        problems = list(self.source.readiness_problems())
        problems += [p for p in (self.cache.readiness_problem(),
                                 self.orders.readiness_problem() if self.orders is not None else None) if p]
        return problems

    def close(self) -> None:
        if self.orders is not None:
            self.orders.close()
        close = getattr(self.source, "close", None)
        if close is not None:
            close()


def instance_path_of(settings: Settings) -> Path:
    return Path(settings.instance_path or (PROJECT_ROOT / "instance"))


def build_services(settings: Settings, source: CadastreSource | None = None) -> Services:
    """The whole service for these settings; `source` replaces the configured one (tests)."""
    instance = instance_path_of(settings)
    instance.mkdir(parents=True, exist_ok=True)
    secret_key = settings.secret_key or instance_secret(instance)
    source = source or build_source(settings)
    examples = settings.search.examples
    parcels = ParcelService(source, default_land=getattr(settings.source, "default_land", None),
                            examples=SearchExamples(address=examples.address, parcel=tuple(examples.parcel)))
    limits = settings.limits
    limiter = RenderLimiter(limits)  # one per process: every render of this process counts against it
    if isinstance(source, UpstreamSource):
        # The upstream's parcels and images share one cache with the rendered pages.
        cache = source.cache
        fallback = LocalMapFaces(source.fallback, cache, limiter, limits) if source.fallback is not None else None
        faces: MapFaceProvider = UpstreamMapFaces(source, cache, limiter, fallback)
        source.wms.decode_guard = limiter.admit
    else:
        cache = build_cache(settings.cache, instance)
        faces = LocalMapFaces(source, cache, limiter, limits)
    tiles = build_tiles(settings, source, faces, cache, limiter) if settings.tiles.enabled else None
    if tiles is not None and settings.preview.from_tiles:
        faces = TileComposedFaces(tiles, faces, limiter,
                                  ahead_px=round(mm_to_px(settings.preview.prefetch_margin_mm, SCREEN_DPI)))
    choices = PageChoices(settings.preview, lambda: source.info().extent)
    pipeline = PagePipeline(parcels, source, faces, choices, limiter)
    orders = build_orders(settings, instance, secret_key, pipeline) if settings.orders.enabled else None
    return Services(settings=settings, instance_path=instance, secret_key=secret_key, source=source, parcels=parcels,
                    cache=cache, faces=faces, pipeline=pipeline, previews=PreviewService(pipeline, cache, limits), orders=orders,
                    tiles=tiles)


def build_tiles(settings: Settings, source: CadastreSource, faces: MapFaceProvider, cache: Cache,
                limiter: RenderLimiter) -> TileService:
    """The tile grid of the offered scales and the tiles over the same faces and cache as the previews."""
    grid = TileGrid.from_settings(settings.tiles, settings.preview)
    if isinstance(source, UpstreamSource):
        deadline, retry_after = source.deadline, source.retry_after
    else:
        # Drawing locally fails only by taking too long: as long as a render may wait in the queue, and then some.
        wait = settings.limits.render_queue_seconds + 20.0
        deadline, retry_after = (lambda: time.monotonic() + wait), (lambda: settings.limits.retry_after_seconds)
    return TileService(grid, faces, cache, settings.tiles, deadline=deadline, retry_after=retry_after,
                       data_extent=lambda: source.info().extent, margin_m=settings.limits.view_margin_m,
                       limiter=limiter)


def build_order_services(settings: Settings) -> Orders:
    """The order database and accounts without any map (commands that only need the database)."""
    instance = instance_path_of(settings)
    instance.mkdir(parents=True, exist_ok=True)
    return build_orders(settings, instance, "unused-by-this-command")


def instance_secret(instance: Path) -> str:
    """A per-installation secret kept in the instance folder, so sessions survive restarts.

    Several worker processes may start at once: the first to link its file in wins, and every
    worker reads that one, so a session made by one worker is valid in all.
    """
    path = instance / "secret_key"
    if not path.exists():
        candidate = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        # Created 0600 in one step: a write-then-chmod leaves a moment in which others may read it.
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()


# ---------------------------------------------------------------------------- orders


def public_base_url(settings: Settings) -> str:
    configured = settings.orders.public_base_url
    if configured:
        return configured.rstrip("/")
    host = settings.server.host
    host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "") else host
    return f"http://{host}:{settings.server.port}"


def build_orders(settings: Settings, instance_path: str | Path, secret: str, pipeline: PagePipeline | None = None,
                 migrate: bool = True) -> Orders:
    """Everything the order process needs; without a page pipeline (commands that need no maps) only
    the database, accounts and files."""
    o = settings.orders
    host = o.payment.base_url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if o.payment.secret == "demo-secret-change-me" and host not in ("127.0.0.1", "localhost", "[::1]"):
        log.warning("orders.payment.secret is the demo secret but the payment service is %s: set a real secret", host)
    url = db.database_url(o.database_url, instance_path)
    engine = db.make_engine(url)
    if migrate:
        db.upgrade(engine)
    factory = db.session_factory(engine)
    files_dir = o.files_dir or Path(instance_path) / "order-files"
    if not Path(files_dir).is_absolute():
        files_dir = Path(instance_path) / files_dir
    store = FileStore(files_dir)
    catalogue = Catalogue(o.products, o.currency)
    urls = Urls(public_base_url(settings))
    validator = service = None
    if pipeline is not None:
        validator = OrderValidator(catalogue, pipeline.parcels, o.rules, pipeline.choices, o.extract.dpi)
        service = OrderService(
            factory=factory, settings=o, catalogue=catalogue, provider=XBezahldiensteClient(o.payment),
            producer=ExtractProducer(pipeline, o.office, o.extract), store=store, mailer=Mailer(o.smtp),
            urls=urls, secret=secret, sealer=build_sealer(settings),
            feedback_recipient=settings.accessibility.contact.email)
    return Orders(settings=settings, engine=engine, factory=factory, catalogue=catalogue, validator=validator,
                  service=service, accounts=Accounts(factory, o.staff), store=store, urls=urls)


SEAL_EXPIRY_WARNING_DAYS = 30


def build_sealer(settings: Settings) -> Sealer | None:
    """The office's seal from orders.seal; a certificate that cannot be used stops the start (ConfigError)."""
    try:
        sealer = load_sealer(settings.orders.seal)
    except SealError as exc:
        raise ConfigError(str(exc)) from None
    if sealer is None:
        log.info("orders.seal: no seal certificate configured; extracts are issued unsigned, with their verification code")
    else:
        log.info("orders.seal: extracts are sealed (PAdES %s) by %s, certificate valid until %s", sealer.level,
                 sealer.subject, f"{sealer.not_after:%Y-%m-%d}")
        left = sealer.not_after - datetime.now(UTC)
        if left < timedelta(days=SEAL_EXPIRY_WARNING_DAYS):
            # After that day every extract goes to the staff instead (Sealer.seal refuses): renew in time.
            log.warning("orders.seal: the seal certificate expires in %d days (%s); renew it", left.days,
                        f"{sealer.not_after:%Y-%m-%d}")
    return sealer


# ---------------------------------------------------------------------------- cache


def build_cache(settings: CacheSettings, instance_path: Path) -> Cache:
    """The cache the configuration asks for: memory in front of disk or Redis."""
    ttl, stale = float(settings.ttl_seconds), float(settings.stale_seconds)
    if settings.backend == "redis":
        back: Cache = RedisCache(settings.redis_url, settings.key_prefix, ttl, stale)
    else:
        root = settings.path or (Path(instance_path) / "cache")
        back = DiskCache(root, settings.max_size_mb * 1024 * 1024, ttl, stale)
    cache = back if settings.memory_mb <= 0 else TieredCache(MemoryCache(settings.memory_mb * 1024 * 1024, ttl, stale), back)
    return ObservedCache(cache, metrics.count_cache_lookup)


# ---------------------------------------------------------------------------- sources


def build_source(settings: Settings) -> CadastreSource:
    source = settings.source
    if isinstance(source, LocalSourceSettings):
        return build_local_source(source)
    if isinstance(source, UpstreamSourceSettings):
        fallback = build_local_source(source.fallback, "source.fallback") if source.fallback else None
        return build_upstream_source(settings, source, instance_path_of(settings), fallback)
    raise ConfigError(f"source.type: unsupported source type {source.type!r}")


def build_local_source(source: LocalSourceSettings, where: str = "source") -> LocalSource:
    try:
        return LocalSource(
            LocalSourceConfig(
                dataset=source.dataset,
                fields=source.fields,
                address_fields=source.address_fields,
                layers=LocalLayers(**source.layers.model_dump()),
                attribution=source.attribution,
                gemarkung_names=source.gemarkungen,
                data_currency=source.data_currency,
                default_land=source.default_land,
                name=source.name,
            )
        )
    except CadastreError as exc:
        raise ConfigError(f"{where}.dataset: {exc.en}") from exc


# Room above the largest legitimate image (tile buffers, rounding); a decompression bomb declares far more.
IMAGE_PIXELS_SAFETY = 2


def image_pixel_limit(settings: Settings) -> int:
    """Pillow's MAX_IMAGE_PIXELS: source.wms.max_image_pixels, else the largest image the service asks for, twice.

    The largest image is the largest page rendered automatically (preview papers, automatic
    products) at the highest dpi (preview.max_dpi, orders.extract.dpi), or the web map.
    """
    source = settings.source
    if isinstance(source, UpstreamSourceSettings) and source.wms.max_image_pixels:
        return source.wms.max_image_pixels
    papers = set(settings.preview.papers)
    automatic = [product for product in settings.orders.products if product.fulfilment == "automatic"]
    papers.update(paper for product in automatic for paper in product.papers)
    dpi = max(settings.preview.max_dpi, settings.orders.extract.dpi)
    pages = [math.ceil(mm_to_px(w, dpi)) * math.ceil(mm_to_px(h, dpi)) for w, h in map(PAPER_SIZES_MM.get, papers)]
    return IMAGE_PIXELS_SAFETY * max([MAX_VIEW_PX**2, *pages])


def build_upstream_source(settings: Settings, s: UpstreamSourceSettings, instance_path: Path,
                          fallback: CadastreSource | None) -> UpstreamSource:
    """WfsSource + WmsClient with one UpstreamSession each; asks nothing of the network yet."""
    wms, wfs = build_upstream_clients(settings, s)
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


def build_upstream_clients(settings: Settings, s: UpstreamSourceSettings, *,
                           strict: bool = True) -> tuple[WmsClient, WfsSource]:
    """The WMS client and the WFS source of the configured upstream; not `strict`: capabilities that lack
    the configured layers or feature type are still read (check-upstream reports what is missing)."""
    http = s.http

    def session(name: str) -> UpstreamSession:
        service = name.split()[0].lower()  # "wms" | "wfs": a bounded metrics label
        return UpstreamSession(
            name,
            observer=lambda outcome, seconds, circuit_open: metrics.count_upstream(service, outcome, seconds,
                                                                                    circuit_open),
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
            max_body_bytes={kind: mb * MIB for kind, mb in http.max_body_mb.model_dump().items()},
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
    # Pillow's own guard for every image this process decodes; WmsClient also checks each header.
    Image.MAX_IMAGE_PIXELS = image_pixel_limit(settings)
    try:
        wms = WmsClient(
            w.url, w.layers, session(f"WMS {w.url}"), version=w.version, crs=w.crs, format=w.format,
            styles=w.styles, transparent=w.transparent, bgcolor=w.bgcolor, dpi_param=w.dpi_param,
            max_width=w.max_width, max_height=w.max_height, tile_size=w.tile_size, tile_buffer=w.tile_buffer,
            tile_workers=w.tile_workers, axis_order=w.axis_order, capabilities_ttl=w.capabilities_ttl,
            extra_params=w.extra_params, use_advertised_url=w.use_advertised_url, require_layers=strict,
        )
        client = WfsClient(
            f.url, session(f"WFS {f.url}"), srs=f.srs, axis_order=f.axis_order, method=f.method,
            output_format=f.output_format, capabilities_ttl=f.capabilities_ttl,
            qualify_properties=f.qualify_properties, required_typenames=[f.typename] if strict else [],
        )
    except ValueError as exc:
        raise ConfigError(f"source: {exc}") from exc
    wfs = WfsSource(
        client,
        fields=s.fields,
        typename=f.typename,
        gemarkung_key_length=f.gemarkung_key_length,
        bezirk_typename=f.bezirk_typename,
        gemarkungen=GemarkungIndex(refs) if refs else None,
        name=s.name,
        attribution=s.attribution,
        extent=s.extent,
        search_extent=f.search_extent,
        point_tolerance=f.point_tolerance,
        address_candidates=f.address_candidates,
        map_features_limit=f.map_features_limit,
        sortable=f.sortable,
    )
    return wms, wfs
