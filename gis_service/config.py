"""One YAML file + ${VAR:-default} from the environment, validated at start with errors that name the key (one module: the whole configuration reference in one place)."""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wms_clients.base import AddressFieldMapping, FieldMapping
from wms_clients.http import DEFAULT_BODY_LIMITS, MIB

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DATASET = PROJECT_ROOT / "fixtures" / "demo" / "demo_gemarkung.gpkg"
CONFIG_ENV = "GIS_SERVICE_CONFIG"
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and what is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayersConfig(_Strict):
    flurstueck: str = "flurstueck"
    gebaeude: str | None = "gebaeude"
    adresse: str | None = "adresse"
    strasse: str | None = "strasse"


class LocalSourceSettings(_Strict):
    type: Literal["local"] = "local"
    dataset: Path = DEMO_DATASET
    layers: LayersConfig = LayersConfig()
    # the dataclasses of wms_clients.base hold the names and defaults once; pydantic validates them
    fields: FieldMapping = FieldMapping()
    address_fields: AddressFieldMapping = AddressFieldMapping()
    gemarkungen: dict[str, str] = Field(default_factory=dict, description="Gemarkungsschlüssel (Land+Nummer) → name")
    default_land: str | None = None
    data_currency: str | None = None
    attribution: str = "Demo-Daten: fiktive Gemarkung Lindenhagen, erzeugt von gis-service (keine amtlichen Daten)"
    name: str = ""

    @field_validator("gemarkungen")
    @classmethod
    def _gemarkung_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"\d{6}", str(key)):
                raise ValueError(f"key {key!r} must be Land + Gemarkung number, six digits such as '053144'")
        return value

    @field_validator("default_land")
    @classmethod
    def _land(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{2}", value):
            raise ValueError("must be a two-digit Land code such as '05'")
        return value


# --- the WMS/WFS upstream (issue 3): every key maps onto an argument of wms_clients -----------------

BBoxSetting = tuple[float, float, float, float]


def _bbox_from_text(value: Any) -> Any:
    """A bbox given as one string, as an environment variable carries it: "minx,miny,maxx,maxy"; empty is none."""
    if isinstance(value, str):
        if not value.strip() or value.strip().lower() in ("null", "none"):
            return None
        return [part.strip() for part in value.split(",")]
    return value


def _list_from_text(value: Any) -> Any:
    """A list given as one comma-separated string (an environment variable): "a,b,c"."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _check_bbox(value: BBoxSetting | None) -> BBoxSetting | None:
    if value is not None and not (value[0] < value[2] and value[1] < value[3]):
        raise ValueError("must be [minx, miny, maxx, maxy] in EPSG:25832 with minx < maxx and miny < maxy")
    return value


class BasicAuthSettings(_Strict):
    user: str
    password: str


def _auth_from_environment(value: Any) -> Any:
    # `user: ${GIS_SERVICE_UPSTREAM_USER:-}` in a file: an empty user name means no authentication.
    if isinstance(value, dict) and not str(value.get("user") or "").strip():
        return None
    return value


class BodyLimitSettings(_Strict):
    """The largest answer accepted per kind of request, in MiB; refused while it streams in."""

    getmap: int = Field(DEFAULT_BODY_LIMITS["getmap"] // MIB, ge=1, le=1024)
    getfeature: int = Field(DEFAULT_BODY_LIMITS["getfeature"] // MIB, ge=1, le=1024)
    capabilities: int = Field(DEFAULT_BODY_LIMITS["capabilities"] // MIB, ge=1, le=1024)


class HttpSettings(_Strict):
    """One UpstreamSession per service (WMS, WFS), each with these limits."""

    connect_timeout: float = Field(5.0, gt=0, le=120)
    read_timeout: float = Field(5.0, gt=0, le=300)
    total_timeout: float | None = Field(None, gt=0, le=600)  # default: connect + read
    retries: int = Field(2, ge=0, le=10)
    backoff: float = Field(0.2, ge=0, le=30)
    backoff_max: float = Field(2.0, ge=0, le=60)
    failure_threshold: int = Field(5, ge=1, le=1000)
    reset_timeout: float = Field(30.0, gt=0, le=3600)
    auth: BasicAuthSettings | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    verify: bool | str = True  # TLS: true, false or the path of a CA bundle
    max_body_mb: BodyLimitSettings = BodyLimitSettings()
    pool_size: int = Field(16, ge=1, le=256)

    @field_validator("auth", mode="before")
    @classmethod
    def _no_auth_without_user(cls, value: Any) -> Any:
        return _auth_from_environment(value)

    @field_validator("max_body_mb", mode="before")
    @classmethod
    def _one_number_for_every_kind(cls, value: Any) -> Any:
        # The earlier form, one number for every answer, still reads.
        if isinstance(value, int) and not isinstance(value, bool):
            return dict.fromkeys(BodyLimitSettings.model_fields, value)
        return value

    @property
    def effective_total_timeout(self) -> float:
        return self.total_timeout if self.total_timeout is not None else self.connect_timeout + self.read_timeout


class WmsSettings(_Strict):
    url: str = Field(pattern=r"^https?://\S+$")
    # Drawing order: the last layer is drawn on top (NRW: land use, parcels, buildings).
    layers: list[str] = Field(
        default_factory=lambda: ["adv_alkis_tatsaechliche_nutzung", "adv_alkis_flurstuecke", "adv_alkis_gebaeude"],
        min_length=1,
    )
    version: Literal["1.3.0", "1.1.1"] = "1.3.0"
    crs: str = "EPSG:25832"
    format: str = "image/png"
    styles: list[str] | None = None
    transparent: bool = False
    bgcolor: str | None = None
    # map_resolution (MapServer) | dpi (QGIS and others) | format_options (GeoServer) | null
    dpi_param: Literal["map_resolution", "dpi", "format_options"] | None = "map_resolution"
    max_width: int | None = Field(None, ge=64, le=100_000)
    max_height: int | None = Field(None, ge=64, le=100_000)
    tile_size: int | None = Field(None, ge=64, le=100_000)
    tile_buffer: int = Field(0, ge=0, le=512)
    tile_workers: int = Field(4, ge=1, le=32)
    axis_order: Literal["xy", "yx"] | None = None
    capabilities_ttl: float = Field(3600.0, ge=0)
    extra_params: dict[str, str] = Field(default_factory=dict)
    use_advertised_url: bool = False
    # Pillow's MAX_IMAGE_PIXELS for the process; default: the largest image the service asks for, twice.
    max_image_pixels: int | None = Field(None, ge=1_000_000, le=1_000_000_000)

    @field_validator("layers", "styles", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _list_from_text(value)

    @field_validator("dpi_param", mode="before")
    @classmethod
    def _no_dpi_param(cls, value: Any) -> Any:
        # GIS_SERVICE_WMS_DPI_PARAM= (empty) or "none" switches the vendor parameter off.
        if isinstance(value, str) and value.strip().lower() in ("", "none", "null"):
            return None
        return value.strip().lower() if isinstance(value, str) else value


class WfsSettings(_Strict):
    url: str = Field(pattern=r"^https?://\S+$")
    typename: str = "ave:Flurstueck"
    srs: str = "EPSG:25832"
    method: Literal["GET", "POST"] = "GET"
    axis_order: Literal["xy", "yx"] | None = None
    output_format: str | None = None
    qualify_properties: bool = True
    gemarkung_key_length: Literal[4, 6] = 6  # gemaschl holds Land + Gemarkung ("053144")
    bezirk_typename: str | None = None  # e.g. ave:KatasterBezirk, to learn every Gemarkung name
    search_extent: BBoxSetting | None = None  # limits address searches on state-wide services
    point_tolerance: float = Field(0.05, gt=0, le=10)
    address_candidates: int = Field(500, ge=1, le=10_000)
    map_features_limit: int = Field(2000, ge=1, le=100_000)
    sortable: bool = True
    capabilities_ttl: float = Field(3600.0, ge=0)

    @field_validator("search_extent", mode="before")
    @classmethod
    def _bbox_text(cls, value: Any) -> Any:
        return _bbox_from_text(value)

    @field_validator("search_extent")
    @classmethod
    def _bbox(cls, value: BBoxSetting | None) -> BBoxSetting | None:
        return _check_bbox(value)


class UpstreamSourceSettings(_Strict):
    """A cadastral office's WMS (map image) and WFS (parcels), with a local dataset to fall back on."""

    type: Literal["upstream"]
    name: str = ""
    attribution: str = ""
    wms: WmsSettings
    wfs: WfsSettings
    http: HttpSettings = HttpSettings()
    fields: FieldMapping = FieldMapping()
    gemarkungen: dict[str, str] = Field(default_factory=dict, description="Gemarkungsschlüssel (Land+Nummer) → name")
    # A JSON file of Gemarkung names; the NRW list (Katasteramt → "Name (nummer)" → {schluessel}) is understood.
    gemarkungen_file: Path | None = None
    default_land: str | None = None
    data_currency: str | None = None  # overrides the newest `aktualit` the WFS reports
    extent: BBoxSetting | None = None  # default: the WFS capabilities' bounding box
    # The most one request waits for the upstreams altogether (default: http total timeout).
    request_timeout: float | None = Field(None, gt=0, le=600)
    retry_after: int = Field(30, ge=1, le=86_400)  # seconds, for 503 answers while the circuit is closed
    fallback: LocalSourceSettings | None = None

    @field_validator("gemarkungen")
    @classmethod
    def _gemarkung_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return LocalSourceSettings._gemarkung_keys(value)

    @field_validator("default_land")
    @classmethod
    def _land(cls, value: str | None) -> str | None:
        return LocalSourceSettings._land(value)

    @field_validator("extent", mode="before")
    @classmethod
    def _bbox_text(cls, value: Any) -> Any:
        return _bbox_from_text(value)

    @field_validator("extent")
    @classmethod
    def _bbox(cls, value: BBoxSetting | None) -> BBoxSetting | None:
        return _check_bbox(value)

    @model_validator(mode="after")
    def _fallback_names_its_dataset(self) -> "UpstreamSourceSettings":
        # Without this the fallback would silently be the fictitious demo data.
        if self.fallback is not None and "dataset" not in self.fallback.model_fields_set:
            raise ValueError("fallback needs its own dataset (a GeoPackage path)")
        return self

    @property
    def effective_request_timeout(self) -> float:
        return self.request_timeout if self.request_timeout is not None else self.http.effective_total_timeout


SourceSettings = Annotated[Union[LocalSourceSettings, UpstreamSourceSettings], Field(discriminator="type")]


class CacheSettings(_Strict):
    """Rendered previews, upstream images and parcels, keyed by the normalised request."""

    backend: Literal["disk", "redis"] = "disk"
    path: Path | None = None  # disk: default <instance>/cache
    max_size_mb: int = Field(512, ge=1, le=1_000_000)  # disk only; Redis is bounded by its maxmemory
    redis_url: str | None = Field(None, pattern=r"^rediss?://\S+$")
    key_prefix: str = Field("gis-service", pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")
    # Served without asking the upstream again for this long (the data change nightly).
    ttl_seconds: int = Field(12 * 3600, ge=0, le=365 * 86_400)
    # Kept this much longer, to answer with the last good image while the upstream fails.
    stale_seconds: int = Field(30 * 86_400, ge=0, le=365 * 86_400)
    memory_mb: int = Field(64, ge=0, le=4096)  # in-process layer in front of disk/Redis; 0 turns it off

    @model_validator(mode="after")
    def _redis_needs_url(self) -> "CacheSettings":
        if self.backend == "redis" and not self.redis_url:
            raise ValueError("backend redis needs redis_url, e.g. redis://127.0.0.1:6379/0")
        return self


class TileSettings(_Strict):
    """The tile grid of the web map (WMTS and the picker): EPSG:25832, fixed origin, levels from the offered scales."""

    enabled: bool = True
    # ETRS89 / UTM 32N; covers Germany's zone-32 Länder with room. The origin is the grid's top-left corner.
    extent: BBoxSetting = (280_000.0, 5_200_000.0, 920_000.0, 6_120_000.0)
    origin: tuple[float, float] = (280_000.0, 6_120_000.0)
    tile_size_px: int = Field(256, ge=64, le=1024)
    # Coarser levels below the coarsest preview scale, each twice the one before (the overview when the map opens).
    overview_levels: int = Field(4, ge=0, le=8)
    # Tiles fetched in one GetMap: metatile_size × metatile_size, with this margin all round against cut labels.
    metatile_size: int = Field(4, ge=1, le=16)
    metatile_buffer_px: int = Field(256, ge=0, le=1024)
    # Browsers and proxies may keep a tile this long without asking again (the data change nightly).
    ttl_seconds: int = Field(3600, ge=0, le=7 * 86_400)

    @model_validator(mode="after")
    def _origin_on_the_extent(self) -> "TileSettings":
        minx, miny, maxx, maxy = self.extent
        if not (maxx > minx and maxy > miny):
            raise ValueError("extent must be minx,miny,maxx,maxy with minx < maxx and miny < maxy")
        if self.origin != (minx, maxy):
            raise ValueError(f"origin must be the extent's top-left corner ({minx:g}, {maxy:g})")
        side = self.metatile_size * self.tile_size_px + 2 * self.metatile_buffer_px
        if side > 4096:  # the largest image the service asks for or draws for a screen (admission.MAX_VIEW_PX)
            raise ValueError(f"a metatile would be {side} px wide (metatile_size × tile_size_px + 2 × "
                             "metatile_buffer_px); at most 4096")
        return self


class OgcSettings(_Strict):
    """The OGC API (pygeoapi) mounted at /ogc."""

    enabled: bool = True
    # Public URL of the mount (https://karte.example.de/ogc); default: from each request's host.
    url: str | None = Field(None, pattern=r"^https?://\S+/ogc$")
    title: str = "Liegenschaftskarte – OGC API"
    max_items: int = Field(1000, ge=1, le=10_000)
    licence: str | None = None  # default: the source's attribution
    licence_url: str | None = Field(None, pattern=r"^https?://\S+$")  # e.g. https://www.govdata.de/dl-de/zero-2-0


class PreviewSettings(_Strict):
    scales: list[int] = [500, 1000, 2000]
    default_scale: int = 1000
    papers: list[Literal["A4", "A3"]] = ["A4", "A3"]
    default_paper: Literal["A4", "A3"] = "A4"
    default_orientation: Literal["portrait", "landscape"] = "portrait"
    min_dpi: int = 72
    max_dpi: int = 300
    default_dpi: int = 96
    # After a preview whose tiles were not all cached (a parcel just chosen, a new scale), the tiles under it
    # and this much paper around it are made in the background: moving the print area then finds them cached.
    prefetch_margin_mm: float = Field(30.0, ge=0, le=200)
    # Previews at a tile grid level (96 dpi) pasted together from cached tiles instead of one GetMap each
    # (needs tiles.enabled); false: every preview is its own exact GetMap, as the official extract always is.
    from_tiles: bool = True

    @field_validator("scales")
    @classmethod
    def _scales(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("needs at least one scale")
        for scale in value:
            if not 250 <= scale <= 5000:
                raise ValueError(f"scale 1:{scale} is outside 1:250 … 1:5000")
        return sorted(set(value))

    @field_validator("max_dpi", "min_dpi", "default_dpi")
    @classmethod
    def _dpi(cls, value: int) -> int:
        if not 72 <= value <= 600:
            raise ValueError(f"{value} is outside 72 … 600 dpi")
        return value

    @model_validator(mode="after")
    def _defaults_allowed(self) -> "PreviewSettings":
        if self.default_scale not in self.scales:
            raise ValueError(f"default_scale 1:{self.default_scale} is not in scales {self.scales}")
        if self.default_paper not in self.papers:
            raise ValueError(f"default_paper {self.default_paper} is not in papers {self.papers}")
        if not self.min_dpi <= self.default_dpi <= self.max_dpi:
            raise ValueError("default_dpi must lie between min_dpi and max_dpi")
        return self


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    threads: int = Field(8, ge=1, le=256)
    # Reverse proxies in front that set X-Forwarded-For/-Proto/-Host/-Port. 0: those headers are
    # ignored, since anyone can send them; set the exact number, or a client can forge its scheme and host.
    trusted_proxies: int = Field(0, ge=0, le=10)


class LoggingSettings(_Strict):
    # json: one JSON object per line for a log collector; text: for a terminal. Both carry the request id.
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # One line per request: method, route pattern, status, duration, map source (no path, query or address).
    requests: bool = True


class MetricsSettings(_Strict):
    """/metrics in Prometheus' text format, for the operator's monitoring and nobody else."""

    enabled: bool = True
    # Clients allowed without a token (after server.trusted_proxies): loopback only by default.
    allow_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    # With a token, any client that sends `Authorization: Bearer <token>` may read them too.
    token: str | None = Field(None, min_length=16)

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a network: {network!r}") from exc
        return value
def _rate(value: str) -> str:
    """A rate such as "10/hour" or "5 per 10 minutes" (the notation of the `limits` library)."""
    from limits import parse_many

    try:
        parsed = parse_many(value)
    except ValueError:
        parsed = []
    if not parsed:
        raise ValueError(f"{value!r} is not a rate such as '10/hour', '5 per 10 minutes' or '100/day;10/minute'")
    return value


RateText = Annotated[str, AfterValidator(_rate)]


class RateLimitSettings(_Strict):
    """How often one client address, one recipient or one account may do the costly things (429 beyond)."""

    # memory:// counts in this process only; with several gunicorn workers use Redis so they share the count.
    storage_uri: str = Field("memory://", pattern=r"^(memory://|rediss?://\S+)$")
    key_prefix: str = Field("gis-service-limits", pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")
    orders_per_address: RateText = "10/hour;30/day"
    orders_per_recipient: RateText = "5/hour;10/day"  # the normalised e-mail address of the order
    logins_per_address: RateText = "20 per 10 minutes"
    logins_per_account: RateText = "10 per 10 minutes"  # besides the lock-out after failed logins
    searches_per_address: RateText = "60/minute;1000/hour"
    # /verify pages and file checks: a recipient checks a few extracts; 70-bit codes need far more guesses.
    verifications_per_address: RateText = "30/minute;300/hour"
    feedback_per_address: RateText = "5/hour;20/day"  # accessibility feedback sent (the form's POST)


class PagingSettings(_Strict):
    """Bulk reading of parcels by bbox (/api/v1/parcels?bbox=, OGC API items): bounded pages and areas."""

    max_page_size: int = Field(100, ge=1, le=1000)
    max_offset: int = Field(5000, ge=0, le=1_000_000)
    # ground of one bbox request in square kilometres (EPSG:25832); larger areas answer 400
    max_bbox_km2: float = Field(10.0, gt=0, le=100_000)  # about a Gemarkung; the demo one is 9 km²


class LimitSettings(_Strict):
    """What one request may cost and how many renders run at once in a process (issue: fit for the open internet)."""

    # Pixels one image request may allocate, supersampling included; A3 at 300 dpi is about 30 million.
    max_megapixels_per_request: float = Field(40.0, ge=1.0, le=1000.0)
    # Pixels rendering at once in one process; more wait in the queue below, then get 503.
    render_megapixels_in_flight: float = Field(64.0, ge=1.0, le=4000.0)
    # Requests waiting for a render at once; keep it below server.threads so liveness still answers.
    render_queue: int = Field(4, ge=0, le=1000)
    render_queue_seconds: float = Field(10.0, gt=0, le=300)
    # A web map view may reach this far beyond the data (metres) and span at most this much ground.
    view_margin_m: float = Field(2000.0, ge=0, le=1_000_000)
    max_view_ground_m: float = Field(20_000.0, ge=100, le=2_000_000)
    retry_after_seconds: int = Field(5, ge=1, le=3600)
    rate: RateLimitSettings = RateLimitSettings()
    paging: PagingSettings = PagingSettings()


class EmbedSettings(_Strict):
    allowed_origins: list[str] = Field(default_factory=list, description="origins allowed to frame /embed")
    # The picker that /demo/formular embeds; another origin exercises the origin checks (default: /embed here).
    demo_picker_url: str | None = Field(default=None, pattern=r"^(https?://[A-Za-z0-9.\-\[\]:]+)?/[^\s\"'<>]*$")

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", origin):
                raise ValueError(f"{origin!r} is not an origin such as 'https://formulare.example.de'")
        return value


class SearchExamplesSettings(_Strict):
    """Shown as written in the search help and in the error for an unreadable parcel."""

    address: str | None = Field(None, min_length=3, max_length=120)
    # one parcel in one to three written forms, e.g. ["Gemarkung X Flur 1 Flurstück 23/4", "1234 1 23/4"]
    parcel: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(default_factory=list, max_length=3)

    @field_validator("parcel", mode="before")
    @classmethod
    def _one_form_alone(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class SearchSettings(_Strict):
    # Without them: chosen from a local dataset; an upstream's help then names no concrete parcel.
    examples: SearchExamplesSettings = SearchExamplesSettings()


# An optional e-mail address, checked like every other address in the settings when given.
OptionalMailAddress = Annotated[str | None, AfterValidator(lambda value: _mail_address(value) if value else None)]


class EnforcementBodySettings(_Strict):
    """Where a citizen turns when the office's answer to accessibility feedback does not help (BITV 2.0 § 7)."""

    name: str = Field("Ombudsstelle für barrierefreie Informationstechnik des Landes NRW", min_length=3, max_length=200)
    url: str = Field("https://www.lbbp.nrw.de/ombudsstelle", pattern=r"^https?://[^\s\"'<>]+$")
    email: OptionalMailAddress = None


class AccessibilityContactSettings(_Strict):
    """Who answers accessibility feedback; each missing value is taken from orders.office."""

    name: str | None = Field(None, min_length=3, max_length=200)
    email: OptionalMailAddress = None  # also where the feedback form's messages are mailed
    phone: str | None = Field(None, max_length=50)


class AccessibilitySettings(_Strict):
    """The accessibility statement (Erklärung zur Barrierefreiheit) and its feedback form."""

    # The day the statement was made or last reviewed; the office sets its own when it publishes the service.
    statement_date: date = date(2026, 12, 5)
    method: Literal["self", "third_party"] = "self"  # Selbstbewertung, or a test by an outside body
    contact: AccessibilityContactSettings = AccessibilityContactSettings()
    enforcement: EnforcementBodySettings = EnforcementBodySettings()
    # Further limitations the office knows of (its own content, the host form), shown after the built-in ones.
    limitations: list[LocalText] = Field(default_factory=list, max_length=20)
    feedback: bool = True  # the form (needs orders.enabled: messages are kept in the order database)


class Settings(_Strict):
    source: SourceSettings = LocalSourceSettings()
    preview: PreviewSettings = PreviewSettings()
    server: ServerSettings = ServerSettings()
    embed: EmbedSettings = EmbedSettings()
    search: SearchSettings = SearchSettings()
    cache: CacheSettings = CacheSettings()
    ogc: OgcSettings = OgcSettings()
    tiles: TileSettings = TileSettings()
    limits: LimitSettings = LimitSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    accessibility: AccessibilitySettings = Field(default_factory=lambda: AccessibilitySettings())  # LocalText comes later
    instance_path: Path | None = None
    default_language: Literal["de", "en"] = "de"
    secret_key: str | None = None  # at least 32 bytes; default: a random one in the instance folder
    orders: OrdersSettings = Field(default_factory=lambda: OrdersSettings())

    config_file: Path | None = Field(default=None, exclude=True)

    @property
    def served_over_https(self) -> bool:
        """Citizens reach the service over https (orders.public_base_url): HSTS, Secure cookies."""
        return self.orders.enabled and (self.orders.public_base_url or "").lower().startswith("https://")

    @property
    def cookies_secure(self) -> bool:
        configured = self.orders.staff.cookie_secure
        return self.served_over_https if configured is None else configured

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: str | None) -> str | None:
        # Sessions are signed with it: a short key can be guessed offline from one cookie.
        if value is not None and len(value.encode()) < 32:
            raise ValueError("must be at least 32 bytes long (e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
        return value


# Credentials are text as written: read as YAML, "0123" would become 83 and "a: b" a mapping.
_TEXT_KEYS = frozenset({"user", "username", "password", "secret", "secret_key", "key"})


def substitute_environment(value: Any, where: str = "") -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string of a parsed YAML document."""
    if isinstance(value, dict):
        return {k: substitute_environment(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_environment(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        name, default = match["name"], match["default"]
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable {name} is not set and has no default (${{{name}:-…}})")

    replaced = _VARIABLE.sub(replace, value)
    if where.rsplit(".", 1)[-1] in _TEXT_KEYS:
        return replaced
    if replaced != value and _VARIABLE.fullmatch(value):
        # a whole-value variable may carry a number or a boolean; read it as YAML would
        try:
            return yaml.safe_load(replaced) if replaced.strip() else replaced
        except yaml.YAMLError:
            return replaced
    return replaced


def _format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        parts = [str(part) for part in item["loc"] if not str(part).startswith("function-")]
        if parts[:1] == ["source"] and parts[1:2] in (["local"], ["upstream"]):
            del parts[1]  # pydantic names the union member; the file has no such key
        location = ".".join(parts)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            message = "unknown key (check the spelling; see README, configuration reference)"
        lines.append(f"  {location or '(top level)'}: {message}")
    return "\n".join(lines)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    source = settings.source
    if isinstance(source, LocalSourceSettings) and not source.dataset.is_absolute():
        source.dataset = (base / source.dataset).resolve()
    if isinstance(source, UpstreamSourceSettings):
        if source.fallback is not None and not source.fallback.dataset.is_absolute():
            source.fallback.dataset = (base / source.fallback.dataset).resolve()
        if source.gemarkungen_file is not None and not source.gemarkungen_file.is_absolute():
            source.gemarkungen_file = (base / source.gemarkungen_file).resolve()
    if settings.cache.path is not None and not settings.cache.path.is_absolute():
        settings.cache.path = (base / settings.cache.path).resolve()
    if settings.instance_path is not None and not settings.instance_path.is_absolute():
        settings.instance_path = (base / settings.instance_path).resolve()
    seal = settings.orders.seal
    if seal.pkcs12_path is not None and not seal.pkcs12_path.is_absolute():
        seal.pkcs12_path = (base / seal.pkcs12_path).resolve()
    return settings


def load_settings(path: str | Path | None = None, overrides: dict | None = None) -> Settings:
    """Settings from `path`, else $GIS_SERVICE_CONFIG, else the embedded demo defaults.

    Relative paths in a config file are relative to the file's own folder.
    """
    path = path or os.environ.get(CONFIG_ENV) or None
    raw: dict = {}
    base = PROJECT_ROOT
    source_name = "the built-in defaults"
    if path:
        path = Path(path)
        source_name = str(path)
        if not path.is_file():
            raise ConfigError(f"configuration file {path} does not exist")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys")
        base = path.resolve().parent
    raw = substitute_environment(raw)
    if isinstance(raw.get("source"), dict):
        raw["source"].setdefault("type", "local")
    if overrides:
        raw = _merge(raw, overrides)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source_name)) from None
    settings.config_file = Path(path).resolve() if path else None
    return _resolve_paths(settings, base)


def _merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# --- orders (issue 4): products and fees, payment, office, mail, staff, data protection, handover ---

PAPERS_ALL = ("A4", "A3", "A2", "A1", "A0")


class LocalText(_Strict):
    de: str
    en: str = ""

    def get(self, lang: str) -> str:
        return (self.en if lang == "en" else self.de) or self.de


class ProductConfig(_Strict):
    """One orderable product; fees in cents (EUR, public fees carry no VAT)."""

    id: str
    name: LocalText
    description: LocalText = LocalText(de="")
    kind: Literal["map", "record"] = "map"  # map: Liegenschaftskarte (paper, scale); record: a Nachweis
    fulfilment: Literal["automatic", "staff"] = "staff"
    fee_cents: int = Field(ge=0, le=10_000_000)
    large_paper_fee_cents: int | None = Field(default=None, ge=0, le=10_000_000)  # papers larger than A3
    certified_fee_cents: int = Field(default=0, ge=0, le=10_000_000)
    copy_fee_cents: int = Field(default=0, ge=0, le=10_000_000)  # each further copy (Mehrausfertigung)
    max_copies: int = Field(default=1, ge=1, le=100)
    papers: list[Literal["A4", "A3", "A2", "A1", "A0"]] = Field(default_factory=list)
    scales: list[int] = Field(default_factory=list)
    deliveries: list[Literal["download", "post"]] = ["download"]
    certifiable: bool = False
    requires_justification: bool = False
    payment_methods: list[Literal["online", "invoice"]] = ["online"]

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", value):
            raise ValueError(f"{value!r} must be lower-case letters, digits and '-', at most 40 characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "ProductConfig":
        if self.kind == "map" and (not self.papers or not self.scales):
            raise ValueError(f"product {self.id}: a map product needs papers and scales")
        if self.fulfilment == "automatic":
            if self.kind != "map" or self.requires_justification:
                raise ValueError(f"product {self.id}: only a map product without justification can be automatic")
            if "invoice" in self.payment_methods:
                raise ValueError(f"product {self.id}: invoice is a payment method for staff-made products only")
            if any(p not in ("A4", "A3") for p in self.papers):
                raise ValueError(f"product {self.id}: automatic production offers A4 and A3 only")
        if not self.deliveries or not self.payment_methods:
            raise ValueError(f"product {self.id}: needs at least one delivery and one payment method")
        if self.max_copies > 1 and "post" not in self.deliveries:
            raise ValueError(f"product {self.id}: further copies need delivery by post")
        for scale in self.scales:
            if not 250 <= scale <= 5000:
                raise ValueError(f"product {self.id}: scale 1:{scale} is outside 1:250 … 1:5000")
        return self


def _default_products() -> list[ProductConfig]:
    # Fees as published by NRW offices (VermWertKostO NRW); tariff numbers unverified, hence config.
    return [
        ProductConfig(
            id="karte-online",
            name=LocalText(de="Auszug aus der Liegenschaftskarte (Sofort-Download)",
                           en="Extract of the cadastral map (instant download)"),
            description=LocalText(de="Amtlicher Auszug als PDF, sofort nach der Bezahlung, DIN A4 oder A3.",
                                  en="Official extract as PDF, right after payment, DIN A4 or A3."),
            kind="map", fulfilment="automatic", fee_cents=1500, papers=["A4", "A3"], scales=[500, 1000, 2000],
            deliveries=["download"], payment_methods=["online"],
        ),
        ProductConfig(
            id="karte-amt",
            name=LocalText(de="Auszug aus der Liegenschaftskarte, vom Katasteramt erstellt",
                           en="Extract of the cadastral map, made by the surveying office"),
            description=LocalText(de="Bis DIN A0, auf Wunsch beglaubigt, als PDF oder per Post.",
                                  en="Up to DIN A0, certified on request, as PDF or by post."),
            kind="map", fulfilment="staff", fee_cents=3000, large_paper_fee_cents=6000, copy_fee_cents=1000,
            max_copies=10, papers=list(PAPERS_ALL), scales=[250, 500, 1000, 2000], deliveries=["download", "post"],
            certifiable=True, payment_methods=["online", "invoice"],
        ),
        ProductConfig(
            id="flurstuecksnachweis",
            name=LocalText(de="Flurstücksnachweis", en="Parcel record (Flurstücksnachweis)"),
            description=LocalText(de="Beschreibende Angaben zum Flurstück, vom Katasteramt erstellt.",
                                  en="Descriptive data of the parcel, made by the surveying office."),
            kind="record", fulfilment="staff", fee_cents=3000, copy_fee_cents=1000, max_copies=10,
            deliveries=["download", "post"], certifiable=True, payment_methods=["online", "invoice"],
        ),
        ProductConfig(
            id="eigentuemernachweis",
            name=LocalText(de="Flurstücks- und Eigentümernachweis", en="Parcel and owner record"),
            description=LocalText(
                de="Enthält die Eigentümer. Nur mit berechtigtem Interesse; das Katasteramt prüft jeden Antrag.",
                en="Names the owners. Only with a legitimate interest; the office reviews every request."),
            kind="record", fulfilment="staff", fee_cents=3000, copy_fee_cents=1000, max_copies=10,
            deliveries=["download", "post"], certifiable=True, requires_justification=True,
            payment_methods=["online", "invoice"],
        ),
    ]


class OrderRulesSettings(_Strict):
    # Parcels that cannot be produced automatically (e.g. Flurbereinigung areas): prefixes of the
    # 20-character key — "059871" a Gemarkung, "059871001" one Flur, a whole key one parcel.
    staff_only_parcels: list[str] = Field(default_factory=list)
    staff_only_reason: str = "Flurstück liegt in einem Flurbereinigungsgebiet"
    justification_min_length: int = Field(default=30, ge=1, le=1000)

    @field_validator("staff_only_parcels")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not re.fullmatch(r"[0-9_]{2,20}", prefix):
                raise ValueError(f"{prefix!r} is not a prefix of a Flurstückskennzeichen such as '059871001'")
        return value


class PaymentSettings(_Strict):
    provider: Literal["xbezahldienste"] = "xbezahldienste"
    base_url: str = "http://127.0.0.1:8090"  # the payment service (default: the simulator)
    originator_id: str = "gis-service-demo"
    secret: str = "demo-secret-change-me"  # shared HMAC secret with the payment service
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # How the payment page opens from the iframe: real providers refuse to be framed.
    target: Literal["_top", "_self"] = "_top"
    reconcile_after_seconds: int = Field(default=120, ge=0)  # ask the provider about pending payments
    abandon_after_minutes: int = Field(default=24 * 60, ge=1)  # then an unpaid order is cancelled
    notification_max_age_seconds: int = Field(default=24 * 3600, ge=60)


class OfficeSettings(_Strict):
    name: str = "Vermessungs- und Katasteramt Lindenhagen (Demo)"
    address_lines: list[str] = ["Am Markt 1", "59999 Lindenhagen"]
    email: str = "kataster@lindenhagen.example"
    phone: str = ""
    website: str = ""


class SmtpSettings(_Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: str | None = None
    sender: str = "Katasteramt Lindenhagen <noreply@lindenhagen.example>"
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=15, ge=1, le=100)  # then a mail has failed for good and the office is told


class OfficeNotificationSettings(_Strict):
    """Mail to the office when an order needs a person, a payment or mail fails for good (issue 11)."""

    mode: Literal["single", "digest", "off"] = "single"  # one mail per event, one a day, or none
    recipients: list[str] = Field(default_factory=list)  # default: orders.office.email
    per_product: dict[str, list[str]] = Field(default_factory=dict)  # product id → recipients instead
    digest_hour: int = Field(default=7, ge=0, le=23)  # on the clerks' clock (orders.staff.timezone)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_mail_address(v) for v in value]

    @field_validator("per_product")
    @classmethod
    def _product_addresses(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for product, addresses in value.items():
            if not addresses:
                raise ValueError(f"product {product!r} needs at least one address")
            value[product] = [_mail_address(v) for v in addresses]
        return value


def _mail_address(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+", value):
        raise ValueError(f"{value!r} is not an e-mail address such as 'kataster@example.org'")
    return value


class StaffSettings(_Strict):
    cookie_secure: bool | None = None  # default: true when orders.public_base_url is https
    session_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60)
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    max_upload_mb: int = Field(default=20, ge=1, le=200)
    page_size: int = Field(default=50, ge=5, le=500)
    timezone: str = "Europe/Berlin"  # times shown to staff; stored times stay UTC
    queue_refresh_seconds: int = Field(default=60, ge=2, le=3600)  # the queue page asks for new counts this often

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as 'Europe/Berlin'") from None
        return value


class DataProtectionSettings(_Strict):
    personal_data_days: int = Field(default=90, ge=1)  # after an order is closed
    justification_days: int = Field(default=3 * 365, ge=1)  # audit period for owner-data justifications
    delete_files: bool = True
    # An order in progress holds the citizen's contact data before any order exists; a day is ample
    # for one sitting, and a week is the most a deployment may allow.
    draft_hours: int = Field(default=24, ge=1, le=168)


class FormServerSettings(_Strict):
    """Form-Solutions style Postdata: POST url-encoded fields, get a cacheID, open the form with it."""

    postdata_url: str | None = None
    form_url: str | None = None
    # our field → the form's field path; our fields: key, label, gemarkung, flur, flurstueck, scale,
    # paper, orientation, preview_url, order_number, status_url
    field_map: dict[str, str] = Field(default_factory=lambda: {
        "key": "flurstueck.kennzeichen", "label": "flurstueck.bezeichnung", "scale": "karte.massstab",
        "paper": "karte.format", "preview_url": "karte.vorschau", "order_number": "bestellung.nummer",
        "status_url": "bestellung.status"})
    extra_fields: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @property
    def enabled(self) -> bool:
        return bool(self.postdata_url and self.form_url)


class ApiKeyConfig(_Strict):
    name: str
    key: str = Field(min_length=16)


class ConfirmationSettings(_Strict):
    """Orders paid by invoice: no payment proves the e-mail address, so its owner confirms it first."""

    # Unconfirmed invoice orders are closed as expired after this long and never reach the staff queue.
    expire_hours: int = Field(default=24, ge=1, le=168)
    # Orders sent with an API key (orders.api_keys, e.g. the form server, which checked the address) skip it.
    api_key_skips: bool = False


class WorkerSettings(_Strict):
    enabled: bool = True
    interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    lease_seconds: int = Field(default=300, ge=1)  # a claimed production is retried after this


class ExtractSettings(_Strict):
    dpi: int = Field(default=300, ge=150, le=600)
    heading: str = "Auszug aus der Liegenschaftskarte"


class VerificationSettings(_Strict):
    """The public page /verify/<code> of issued extracts."""

    # The largest PDF a visitor may send for the server-side check (hashed as it streams in, never stored).
    max_upload_mb: int = Field(default=50, ge=1, le=500)


class SealSettings(_Strict):
    """The office's electronic seal on official extracts (PAdES, pyHanko); without a certificate, none."""

    pkcs12_path: Path | None = None  # the seal certificate with its key (and chain), PKCS#12 (.p12/.pfx)
    # The passphrase never sits in the file: the variable named here holds it (empty or unset: none).
    passphrase_env: str = Field(default="GIS_SERVICE_SEAL_PASSPHRASE", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timestamp_url: str | None = None  # an RFC 3161 timestamp authority: PAdES B-T instead of B-B
    timestamp_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # B-LT: certificates and revocation answers (OCSP/CRL, fetched at signing) embedded; needs a timestamp URL.
    long_term: bool = False
    reason: str = "Amtlicher Auszug aus dem Liegenschaftskataster"
    location: str = ""

    @field_validator("pkcs12_path", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        # `${GIS_SERVICE_SEAL_PKCS12:-}` left unset in a file: no certificate.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("timestamp_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) address such as 'https://tsa.example/tsr'")
        return value

    @model_validator(mode="after")
    def _long_term_needs_time(self) -> "SealSettings":
        if self.long_term and not self.timestamp_url:
            raise ValueError("long_term (PAdES B-LT) needs a timestamp_url")
        return self


class OrdersSettings(_Strict):
    enabled: bool = True
    database_url: str | None = None  # default: $DATABASE_URL, else SQLite in the instance folder
    public_base_url: str | None = None  # for links in e-mails and payment callbacks; default http://localhost:<port>
    order_number_prefix: str = Field(default="LK", pattern=r"^[A-Z]{1,4}$")
    currency: Literal["EUR"] = "EUR"
    products: list[ProductConfig] = Field(default_factory=_default_products)
    rules: OrderRulesSettings = OrderRulesSettings()
    payment: PaymentSettings = PaymentSettings()
    office: OfficeSettings = OfficeSettings()
    office_notifications: OfficeNotificationSettings = OfficeNotificationSettings()
    smtp: SmtpSettings = SmtpSettings()
    staff: StaffSettings = StaffSettings()
    data_protection: DataProtectionSettings = DataProtectionSettings()
    form_server: FormServerSettings = FormServerSettings()
    api_keys: list[ApiKeyConfig] = Field(default_factory=list)
    api_requires_key: bool = False  # POST /api/v1/orders only with an API key
    files_dir: Path | None = None  # default: <instance>/order-files
    worker: WorkerSettings = WorkerSettings()
    confirmation: ConfirmationSettings = ConfirmationSettings()
    extract: ExtractSettings = ExtractSettings()
    seal: SealSettings = SealSettings()
    verification: VerificationSettings = VerificationSettings()

    @field_validator("products")
    @classmethod
    def _unique_products(cls, value: list[ProductConfig]) -> list[ProductConfig]:
        ids = [p.id for p in value]
        if len(set(ids)) != len(ids):
            raise ValueError("product ids must be unique")
        if not value:
            raise ValueError("needs at least one product")
        return value

    @model_validator(mode="after")
    def _notified_products_exist(self) -> "OrdersSettings":
        known = {p.id for p in self.products}
        unknown = sorted(set(self.office_notifications.per_product) - known)
        if unknown:
            raise ValueError(f"office_notifications.per_product names unknown products: {', '.join(unknown)}")
        return self


# Settings names OrdersSettings (and AccessibilitySettings LocalText) before they are defined (orders come last).
AccessibilitySettings.model_rebuild()
Settings.model_rebuild()
