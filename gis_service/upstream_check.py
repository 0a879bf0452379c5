"""Checks of a configured WMS/WFS upstream as values (Check: name, status, message, fix), for `gis-service check-upstream` and the start."""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
from PIL import Image
from pyproj import Transformer

from cadastre.errors import KennzeichenError
from cadastre.kennzeichen import parse_kennzeichen
from cadastre.model import NATIVE_CRS
from gis_service.config import UpstreamSourceSettings
from wms_clients.base import BBox, SearchLimit
from wms_clients.crs import crs_code
from wms_clients.gml import Feature
from wms_clients.http import UpstreamError
from wms_clients.wfs_source import WfsSource, advertised_extent
from wms_clients.wms import DPI_PARAMS, WmsClient

OK, WARN, FAIL = "ok", "warn", "fail"
EXIT_CODES = {OK: 0, WARN: 1, FAIL: 2}

# Lines drawn at 300 dpi are 300/96 ≈ 3.1 times as wide as at 96 dpi when the server honours the
# parameter; overlapping lines and labels make the measured share grow less. Below this the
# parameter is taken as ignored.
DPI_HONOURED_RATIO = 1.5
DARK = 128  # luminance below which a pixel counts as line or text
SAMPLE_FEATURES = 10
SAMPLE_GROUND_M = 300.0  # side of the small GetMap used for the DPI comparison
SAMPLE_PX = 256
PAGE_PX = (794, 1123)  # A4 portrait at 96 dpi: the GetMap timed as a preview would ask it
ENV = {
    "source.wms.url": "GIS_SERVICE_WMS_URL",
    "source.wfs.url": "GIS_SERVICE_WFS_URL",
    "source.wms.layers": "GIS_SERVICE_WMS_LAYERS",
    "source.wms.dpi_param": "GIS_SERVICE_WMS_DPI_PARAM",
    "source.wfs.typename": "GIS_SERVICE_WFS_TYPENAME",
    "source.wfs.search_extent": "GIS_SERVICE_WFS_SEARCH_EXTENT",
}
# Fields that may be empty on a good service: Hamburg has no Flur, most parcels no Nenner, some no address.
MAY_BE_EMPTY = frozenset({"flur", "nenner", "lage", "nutzung"})


@dataclass(frozen=True)
class Check:
    """One finding: status ok | warn | fail, a sentence, and what to set to fix it (None when nothing)."""

    name: str
    status: str
    message: str
    fix: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def exit_code(checks: list[Check]) -> int:
    """0 all green, 1 warnings, 2 failures."""
    return max((EXIT_CODES[c.status] for c in checks), default=0)


def setting_fix(key: str, yaml_value: str, env_value: str | None = None) -> str:
    """"set source.wfs.typename: X (or GIS_SERVICE_WFS_TYPENAME=X)", naming the variable where the examples have one."""
    text = f"set {key}: {yaml_value}"
    if key in ENV:
        text += f" (or {ENV[key]}={env_value if env_value is not None else yaml_value})"
    return text


def _bbox_text(bbox: BBox) -> tuple[str, str]:
    numbers = [f"{v:.0f}" for v in bbox]
    return f"[{', '.join(numbers)}]", ",".join(numbers)


# ---------------------------------------------------------------------------- the search extent


def search_extent_check(limit: SearchLimit | None) -> Check:
    """Whether source.wfs.search_extent covers the feature type's advertised extent (no request: values only)."""
    name = "wfs.search_extent"
    if limit is None:
        return Check(name, OK, "not set: address searches ask the whole service.")
    mine, _ = _bbox_text(limit.extent)
    if limit.service_extent is None:
        return Check(name, WARN, f"address searches are limited to {mine}, but the service advertises no extent "
                                 "for the feature type to compare with.",
                     "make sure search_extent covers your office's area")
    theirs, theirs_env = _bbox_text(_outward(limit.service_extent))
    share = limit.covered_share
    fix = setting_fix("source.wfs.search_extent", theirs, theirs_env) + " or to your office's area within it"
    if share == 0:
        return Check(name, FAIL, f"address searches are limited to {mine}, which lies wholly outside the feature "
                                 f"type's extent {theirs}: every address search finds nothing.", fix)
    if share is not None and share < 0.999:
        return Check(name, WARN, f"address searches are limited to {mine}, which covers {share:.0%} of the feature "
                                 f"type's extent {theirs}: addresses outside are never found.", fix)
    return Check(name, OK, f"address searches are limited to {mine}, which covers the feature type's extent {theirs}.")


def _outward(bbox: BBox) -> BBox:
    return (float(np.floor(bbox[0])), float(np.floor(bbox[1])), float(np.ceil(bbox[2])), float(np.ceil(bbox[3])))


# ---------------------------------------------------------------------------- the whole check


@dataclass
class _Timer:
    seconds: float = 0.0

    def run(self, function: Callable):
        start = time.perf_counter()
        try:
            return function()
        finally:
            self.seconds = time.perf_counter() - start


def check_upstream(settings: UpstreamSourceSettings, wms: WmsClient, wfs: WfsSource) -> list[Check]:
    """Every check, in the order an operator fixes things: service, layers, CRS, formats, fields, extent, DPI, time.

    `wms` and `wfs` are built from `settings` without requiring the configured layers and feature
    type (wiring.build_upstream_clients(strict=False)), so that missing ones are reported here.
    """
    checks: list[Check] = []
    wms_ok = _check_wms(settings, wms, checks)
    features = _check_wfs(settings, wfs, checks)
    if wms_ok and features:
        centre = features[0].geometry.representative_point() if features[0].geometry is not None else None
        if centre is not None:
            x, y = _to_native(wfs, centre.x, centre.y)
            _check_dpi(settings, wms, (x, y), checks)
            _check_getmap_time(settings, wms, (x, y), checks)
    return checks


def _failed(name: str, what: str, error: UpstreamError, fix: str) -> Check:
    said = f" The server said: {error.server_message}" if getattr(error, "server_message", None) else ""
    return Check(name, FAIL, f"{what} failed: {error}.{said}", fix)


def _check_wms(settings: UpstreamSourceSettings, wms: WmsClient, checks: list[Check]) -> bool:
    w = settings.wms
    timer = _Timer()
    try:
        caps = timer.run(lambda: wms.capabilities(refresh=True))
    except UpstreamError as error:
        checks.append(_failed("wms.capabilities", f"WMS {w.version} GetCapabilities", error,
                              setting_fix("source.wms.url", "<the service's URL>", "https://…")))
        return False
    checks.append(Check("wms.capabilities", OK, f"WMS {w.version} “{caps.title}” answered in "
                                                f"{timer.seconds * 1000:.0f} ms with {len(caps.layers)} layers."))
    missing = [name for name in w.layers if name not in caps.layers]
    if missing:
        offered = ", ".join(caps.layers[:20]) + (" …" if len(caps.layers) > 20 else "")
        checks.append(Check("wms.layers", FAIL, f"the WMS lacks the layer(s) {', '.join(missing)}; it offers {offered}.",
                            setting_fix("source.wms.layers", "[<names from that list, drawn bottom to top>]", "a,b,c")))
        return False
    checks.append(Check("wms.layers", OK, f"all {len(w.layers)} layers are offered: {', '.join(w.layers)}."))
    contents = caps.owslib.contents
    without = [n for n in w.layers if contents[n].crsOptions and w.crs.upper() not in {c.upper() for c in contents[n].crsOptions}]
    if without:
        common = set.intersection(*({c.upper() for c in contents[n].crsOptions or []} for n in w.layers))
        choice = "EPSG:25832" if "EPSG:25832" in common else (sorted(common)[0] if common else None)
        checks.append(Check("wms.crs", WARN, f"the layer(s) {', '.join(without)} do not list {w.crs}.",
                            setting_fix("source.wms.crs", choice) if choice else "ask the provider for EPSG:25832"))
    else:
        checks.append(Check("wms.crs", OK, f"every layer lists {w.crs}."))
    formats = wms.capabilities().owslib.getOperationByName("GetMap").formatOptions or []
    if formats and w.format not in formats:
        choice = next((f for f in ("image/png", "image/png; mode=8bit", "image/jpeg") if f in formats), formats[0])
        checks.append(Check("wms.format", FAIL, f"GetMap does not offer {w.format}; it offers {', '.join(formats)}.",
                            setting_fix("source.wms.format", choice)))
        return False
    checks.append(Check("wms.format", OK, f"GetMap offers {w.format}."))
    return True


def _check_wfs(settings: UpstreamSourceSettings, wfs: WfsSource, checks: list[Check]) -> list[Feature]:
    """The WFS checks; returns the sample features (empty when none could be read)."""
    f, client = settings.wfs, wfs.client
    timer = _Timer()
    try:
        caps = timer.run(lambda: client.capabilities(refresh=True))
    except UpstreamError as error:
        checks.append(_failed("wfs.capabilities", "WFS 2.0.0 GetCapabilities", error,
                              setting_fix("source.wfs.url", "<the service's URL>", "https://…")))
        return []
    checks.append(Check("wfs.capabilities", OK, f"WFS 2.0.0 “{caps.title}” answered in {timer.seconds * 1000:.0f} ms "
                                                f"with {len(caps.typenames)} feature types."))
    if f.typename not in caps.typenames:
        candidates = [t for t in caps.typenames if "flurst" in t.lower()] or list(caps.typenames)
        checks.append(Check("wfs.feature_type", FAIL, f"the WFS has no feature type {f.typename}; it offers "
                                                      f"{', '.join(caps.typenames[:20])}.",
                            setting_fix("source.wfs.typename", candidates[0]) if candidates else None))
        return []
    checks.append(Check("wfs.feature_type", OK, f"the WFS offers {f.typename}."))
    content = caps.owslib.contents[f.typename]
    offered = [crs_code(str(getattr(c, "id", None) or c.getcode())) or str(c) for c in content.crsOptions or []]
    if offered and crs_code(f.srs) not in offered:
        choice = "EPSG:25832" if "EPSG:25832" in offered else offered[0]
        checks.append(Check("wfs.crs", WARN, f"{f.typename} does not list {f.srs}; it lists {', '.join(offered)}.",
                            setting_fix("source.wfs.srs", choice)))
    else:
        checks.append(Check("wfs.crs", OK, f"{f.typename} is offered in {f.srs}."))
    checks.append(_output_format_check(f.output_format, caps))
    checks.append(search_extent_check(
        SearchLimit(tuple(f.search_extent), advertised_extent(caps, f.typename)) if f.search_extent else None))
    try:
        page = timer.run(lambda: client.get_features(f.typename, count=SAMPLE_FEATURES,
                                                     geometry_property=settings.fields.geometry))
    except UpstreamError as error:
        checks.append(_failed("wfs.getfeature", f"GetFeature of {SAMPLE_FEATURES} {f.typename}", error,
                              "check source.wfs.output_format, source.wfs.method and source.wfs.srs"))
        return []
    checks.append(_timing_check("timing.getfeature", f"GetFeature of {len(page.features)} features", timer.seconds,
                                settings.effective_request_timeout))
    if not page.features:
        checks.append(Check("wfs.getfeature", FAIL, f"{f.typename} returned no feature.",
                            setting_fix("source.wfs.typename", "<the parcel feature type>")))
        return []
    try:
        schema = client.property_names(f.typename)
    except UpstreamError:
        schema = None  # then "missing" means: in no sampled feature
    checks.extend(field_checks(settings, page.features, schema))
    return page.features


def _output_format_check(configured: str | None, caps) -> Check:
    try:
        offered = caps.owslib.getOperationByName("GetFeature").parameters["outputFormat"]["values"]
    except (KeyError, AttributeError, TypeError):
        offered = []
    if configured is not None:
        if offered and configured not in offered:
            gml32 = next((o for o in offered if "3.2" in o), None)
            return Check("wfs.output_format", FAIL, f"GetFeature does not offer {configured}; it offers {', '.join(offered)}.",
                         setting_fix("source.wfs.output_format", "null") + (f" or {gml32}" if gml32 else ""))
        return Check("wfs.output_format", OK, f"GetFeature offers {configured}.")
    if offered and not any("3.2" in o for o in offered):
        return Check("wfs.output_format", WARN, f"GetFeature lists no GML 3.2 format ({', '.join(offered)}); the "
                                                "server's default is asked for.", setting_fix("source.wfs.output_format", offered[0]))
    return Check("wfs.output_format", OK, "the server's default format (GML 3.2) is read.")


# ---------------------------------------------------------------------------- fields


def _is_int(value: str) -> bool:
    return re.fullmatch(r"\s*\d+(?:\.0+)?\s*", value) is not None


def _is_number(value: str) -> bool:
    return re.fullmatch(r"\s*-?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?\s*", value) is not None


def _is_key(value: str) -> bool:
    try:
        parse_kennzeichen(value)
    except KennzeichenError:
        return False
    return True


# our field → (what it should look like, test)
_TYPES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "kennzeichen": ("a Flurstückskennzeichen", _is_key),
    "land": ("a two-digit Land code", lambda v: re.fullmatch(r"\d{2}", v.strip()) is not None),
    "gemarkungsnummer": ("a Gemarkung number of 4 or 6 digits", lambda v: re.fullmatch(r"\d{4}|\d{6}", v.strip()) is not None),
    "flur": ("a whole number", _is_int),
    "zaehler": ("a whole number", _is_int),
    "nenner": ("a whole number", _is_int),
    "flaeche": ("a number (m²)", _is_number),
    "aktualitaet": ("a date (YYYY-MM-DD…)", lambda v: re.match(r"\d{4}-\d{2}-\d{2}", v.strip()) is not None),
}


def field_checks(settings: UpstreamSourceSettings, features: list[Feature], schema: list[str] | None) -> list[Check]:
    """How each configured field maps on the sampled features: missing, empty, unexpected type, or a sample value."""
    mapping = settings.fields
    names = [n for n in type(mapping).__dataclass_fields__ if n != "lage_separator"]
    seen_keys = {key for feature in features for key in feature.properties}
    available = list(schema) if schema is not None else sorted(seen_keys)
    mapped = {getattr(mapping, n) for n in names if getattr(mapping, n)}
    checks = []
    for ours in names:
        theirs = getattr(mapping, ours)
        key = f"source.fields.{ours}"
        name = f"fields.{ours}"
        if not theirs:
            checks.append(Check(name, OK, "not mapped (null): not read."))
            continue
        bare = theirs.split(":")[-1]
        needed = ours in ("kennzeichen", "geometry")
        if ours == "geometry":
            present = bare in available if schema is not None else any(f.geometry is not None for f in features)
        else:
            present = bare in available if schema is not None else bare in seen_keys
        if not present:
            unused = [a for a in available if a not in mapped]
            close = difflib.get_close_matches(bare, unused, n=1, cutoff=0.5)
            choice = close[0] if close else ("null" if not needed else "<one of: " + ", ".join(unused[:12]) + ">")
            checks.append(Check(name, FAIL if needed else WARN,
                                f"{theirs} is missing from {settings.wfs.typename}"
                                + (f" (it has {', '.join(available[:15])})." if available else "."),
                                setting_fix(key, choice)))
            continue
        if ours == "geometry":
            kinds = sorted({f.geometry.geom_type for f in features if f.geometry is not None})
            if not kinds:
                checks.append(Check(name, FAIL, f"{theirs} is empty in all {len(features)} sampled features.",
                                    setting_fix(key, "<the polygon property>")))
            elif not all(k in ("Polygon", "MultiPolygon") for k in kinds):
                checks.append(Check(name, WARN, f"{theirs} holds {', '.join(kinds)}, not (multi)polygons.",
                                    setting_fix(key, "<the parcel polygon property>")))
            else:
                checks.append(Check(name, OK, f"{theirs}: {', '.join(kinds)}."))
            continue
        values = [v for f in features for v in f.get_all(theirs) if v and v.strip()]
        if not values:
            allowed = ours in MAY_BE_EMPTY
            checks.append(Check(name, OK if allowed else WARN,
                                f"{theirs} is empty in all {len(features)} sampled features"
                                + (" (allowed: not every parcel has one)." if allowed else "."),
                                None if allowed else setting_fix(key, "<a property that carries it> or null")))
            continue
        expected = _TYPES.get(ours)
        wrong = [v for v in values if expected and not expected[1](v)]
        if wrong:
            checks.append(Check(name, FAIL if needed else WARN,
                                f"{theirs} holds {wrong[0]!r}, not {expected[0]}; {len(wrong)} of {len(values)} values "
                                "are like that.", setting_fix(key, "<the property that holds it>")))
            continue
        if ours == "gemarkungsnummer":
            length = len(values[0].strip())
            if length != settings.wfs.gemarkung_key_length:
                checks.append(Check(name, WARN, f"{theirs} holds {values[0]!r} ({length} digits) but "
                                                f"gemarkung_key_length is {settings.wfs.gemarkung_key_length}.",
                                    setting_fix("source.wfs.gemarkung_key_length", str(length))))
                continue
        checks.append(Check(name, OK, f"{theirs} = {values[0]!r}."))
    return checks


# ---------------------------------------------------------------------------- DPI and GetMap time


def _to_native(wfs: WfsSource, x: float, y: float) -> tuple[float, float]:
    code = crs_code(wfs.client.srs)
    if code == NATIVE_CRS:
        return x, y
    return Transformer.from_crs(wfs.client.srs, NATIVE_CRS, always_xy=True).transform(x, y)


def _wms_bbox(wms: WmsClient, centre: tuple[float, float], half: float) -> BBox:
    x, y = centre
    bbox = (x - half, y - half, x + half, y + half)
    if crs_code(wms.crs) == NATIVE_CRS:
        return bbox
    return Transformer.from_crs(NATIVE_CRS, wms.crs, always_xy=True).transform_bounds(*bbox, densify_pts=5)


def dark_share(image: Image.Image) -> float:
    """The share of dark pixels (lines, text): at one size and extent, it grows with the line width."""
    grey = np.asarray(image.convert("RGBA").convert("L"))
    return float((grey < DARK).mean())


def _share_with(wms: WmsClient, bbox: BBox, param: str | None, dpi: int) -> float:
    params = wms.get_map_params(bbox, SAMPLE_PX, SAMPLE_PX, dpi)
    for name in ("MAP_RESOLUTION", "DPI", "FORMAT_OPTIONS"):
        params.pop(name, None)
    if param == "map_resolution":
        params["MAP_RESOLUTION"] = str(dpi)
    elif param == "dpi":
        params["DPI"] = str(dpi)
    elif param == "format_options":
        params["FORMAT_OPTIONS"] = f"dpi:{dpi}"
    response = wms.session.get(wms.url, params, body_kind="getmap")
    return dark_share(wms.check_image(response, SAMPLE_PX, SAMPLE_PX))


def _dpi_ratio(wms: WmsClient, bbox: BBox, param: str | None) -> tuple[float, float, float]:
    low, high = _share_with(wms, bbox, param, 96), _share_with(wms, bbox, param, 300)
    return low, high, (high / low if low > 0 else 0.0)


def _check_dpi(settings: UpstreamSourceSettings, wms: WmsClient, centre: tuple[float, float], checks: list[Check]) -> None:
    configured = settings.wms.dpi_param
    bbox = _wms_bbox(wms, centre, SAMPLE_GROUND_M / 2)
    try:
        low, high, ratio = _dpi_ratio(wms, bbox, configured)
    except UpstreamError as error:
        checks.append(_failed("wms.dpi", "GetMap for the DPI comparison", error, "check source.wms.* against the capabilities"))
        return
    if low == 0:
        checks.append(Check("wms.dpi", WARN, f"the {SAMPLE_PX}×{SAMPLE_PX} GetMap around the first parcel shows no "
                                             "lines at 96 dpi: the DPI parameter cannot be judged.",
                            "check source.wms.layers draw parcel boundaries"))
        return
    measured = f"dark pixels {low:.1%} at 96 dpi, {high:.1%} at 300 dpi ({ratio:.1f}×)"
    if configured is not None and ratio >= DPI_HONOURED_RATIO:
        checks.append(Check("wms.dpi", OK, f"the server honours dpi_param {configured}: lines are thicker at 300 dpi; {measured}."))
        return
    working = None
    for candidate in (p for p in DPI_PARAMS if p != configured):
        try:
            if _dpi_ratio(wms, bbox, candidate)[2] >= DPI_HONOURED_RATIO:
                working = candidate
                break
        except UpstreamError:
            continue
    what = f"dpi_param {configured}" if configured else "no dpi_param"
    if working:
        checks.append(Check("wms.dpi", WARN, f"with {what} lines are as thin at 300 dpi as at 96 dpi ({measured}): "
                                             f"printed extracts get hairlines. The server honours {working}.",
                            setting_fix("source.wms.dpi_param", working)))
    else:
        checks.append(Check("wms.dpi", WARN, f"with {what} lines are as thin at 300 dpi as at 96 dpi ({measured}), and "
                                             "no other DPI parameter changes that: printed extracts get hairlines.",
                            "ask the provider for a DPI parameter (MAP_RESOLUTION, DPI or FORMAT_OPTIONS=dpi:)"))


def _check_getmap_time(settings: UpstreamSourceSettings, wms: WmsClient, centre: tuple[float, float],
                       checks: list[Check]) -> None:
    width, height = PAGE_PX
    # A4 at 1:1000: 210 × 297 m minus nothing; the same ground a preview at 96 dpi asks for.
    x, y = centre
    bbox = (x - 105.0, y - 148.5, x + 105.0, y + 148.5)
    if crs_code(wms.crs) != NATIVE_CRS:
        bbox = Transformer.from_crs(NATIVE_CRS, wms.crs, always_xy=True).transform_bounds(*bbox, densify_pts=5)
    timer = _Timer()
    try:
        image = timer.run(lambda: wms.get_map(bbox, width, height, 96))
    except UpstreamError as error:
        checks.append(_failed("timing.getmap", f"GetMap of {width}×{height} px", error, "check source.wms.*"))
        return
    checks.append(_timing_check("timing.getmap", f"GetMap of {image.width}×{image.height} px (A4 at 1:1000, 96 dpi)",
                                timer.seconds, settings.effective_request_timeout))


def _timing_check(name: str, what: str, seconds: float, budget: float) -> Check:
    """A warning past half the request's time budget: a preview needs a WFS lookup and a GetMap within it."""
    status = WARN if seconds > budget / 2 else OK
    return Check(name, status, f"{what} took {seconds * 1000:.0f} ms (the time budget of one request is {budget:g} s).",
                 "raise source.request_timeout and source.http.read_timeout" if status == WARN else None)


def render_text(checks: list[Check]) -> str:
    """One line per check with ✓ / ! / ✗, the fix indented below, and the verdict."""
    marks = {OK: "✓", WARN: "!", FAIL: "✗"}
    lines = []
    for check in checks:
        lines.append(f"{marks[check.status]} {check.name}: {check.message}")
        if check.fix and check.status != OK:
            lines.append(f"    fix: {check.fix}")
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    if not fails and not warns:
        lines.append(f"verdict: all {len(checks)} checks green.")
    else:
        lines.append(f"verdict: {fails} failure(s), {warns} warning(s) in {len(checks)} checks.")
    return "\n".join(lines)
