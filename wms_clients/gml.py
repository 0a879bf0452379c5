"""GML 2/3.1/3.2 read: geometries to shapely (axis order from srsName or a per-server override), WFS feature collections to features."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

from lxml import etree
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    box,
)
from shapely.geometry.base import BaseGeometry

from wms_clients.crs import srs_is_north_east
from wms_clients.ows import parse_xml

GML32_NS = "http://www.opengis.net/gml/3.2"
GML_NS = "http://www.opengis.net/gml"  # GML 2 and 3.1
GML_NAMESPACES = frozenset({GML32_NS, GML_NS})
GEOMETRY_TAGS = frozenset(
    {
        "Point", "LineString", "LinearRing", "Curve", "Polygon", "Surface", "PolygonPatch",
        "MultiPoint", "MultiCurve", "MultiLineString", "MultiSurface", "MultiPolygon",
        "CompositeSurface", "CompositeCurve", "MultiGeometry", "Envelope", "OrientableSurface",
    }
)
_ARC_STEP = math.radians(1.0)  # chord sagitta ≤ 4 mm on a 100 m radius
_MEMBER_TAGS = {"member", "featureMember", "featureMembers"}
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


class GmlError(ValueError):
    """The GML cannot be read as a geometry."""


def _local(element) -> str:
    return etree.QName(element).localname


def _is_gml(element) -> bool:
    return isinstance(element.tag, str) and etree.QName(element).namespace in GML_NAMESPACES


def _children(element, name: str | None = None):
    for child in element:
        if isinstance(child.tag, str) and (name is None or _local(child) == name):
            yield child


class GmlReader:
    """Reads one geometry element; `axis_order` 'xy'/'yx' overrides what srsName says."""

    def __init__(self, axis_order: str | None = None, default_srs: str | None = None):
        if axis_order not in (None, "xy", "yx"):
            raise ValueError(f"axis_order must be 'xy', 'yx' or None, not {axis_order!r}")
        self.axis_order = axis_order
        self.default_srs = default_srs

    def read(self, element) -> tuple[BaseGeometry, str | None]:
        """(geometry in x/y order, the srsName that applies) for a GML geometry element."""
        srs = self._srs_of(element)
        swap = self._swap(srs)
        geometry = self._geometry(element, swap)
        return geometry, srs

    # ------------------------------------------------------------------ helpers

    def _srs_of(self, element) -> str | None:
        node = element
        while node is not None:
            if isinstance(node.tag, str) and node.get("srsName"):
                return node.get("srsName")
            node = node.getparent()
        for inner in element.iter():
            if isinstance(inner.tag, str) and inner.get("srsName"):
                return inner.get("srsName")
        return self.default_srs

    def _swap(self, srs: str | None) -> bool:
        if self.axis_order is not None:
            return self.axis_order == "yx"
        return bool(srs) and srs_is_north_east(srs)

    @staticmethod
    def _dimension(element) -> int:
        node = element
        while node is not None:
            if isinstance(node.tag, str) and node.get("srsDimension"):
                try:
                    dimension = int(node.get("srsDimension"))
                except ValueError as exc:
                    raise GmlError(f"srsDimension {node.get('srsDimension')!r} is not a number") from exc
                if dimension not in (2, 3, 4):
                    raise GmlError(f"srsDimension {dimension} is not supported")
                return dimension
            node = node.getparent()
        return 2

    def _points(self, element, swap: bool) -> list[tuple[float, float]]:
        """Coordinates of posList / pos* / coordinates / coord* below a curve-like element."""
        pos_list = next(_children(element, "posList"), None)
        if pos_list is not None:
            values = self._numbers(pos_list.text)
            dimension = self._dimension(pos_list)
            if "count" in pos_list.attrib and pos_list.get("count", "").isdigit():
                if int(pos_list.get("count")) * dimension != len(values):
                    raise GmlError(f"posList count {pos_list.get('count')} does not match {len(values)} numbers")
            if len(values) % dimension:
                raise GmlError(f"posList has {len(values)} numbers, not a multiple of srsDimension {dimension}")
            pairs = [(values[i], values[i + 1]) for i in range(0, len(values), dimension)]
        else:
            poses = list(_children(element, "pos")) or [
                p for point in _children(element, "pointProperty") for p in point.iter() if _is_gml(p) and _local(p) == "pos"
            ]
            if poses:
                pairs = []
                for pos in poses:
                    values = self._numbers(pos.text)
                    if len(values) < 2:
                        raise GmlError("gml:pos with fewer than two numbers")
                    pairs.append((values[0], values[1]))
            elif (coordinates := next(_children(element, "coordinates"), None)) is not None:
                pairs = self._coordinates(coordinates)
            elif coords := list(_children(element, "coord")):
                pairs = []
                for coord in coords:
                    x, y = next(_children(coord, "X"), None), next(_children(coord, "Y"), None)
                    if x is None or y is None:
                        raise GmlError("gml:coord without X and Y")
                    pairs.append((self._numbers(x.text)[0], self._numbers(y.text)[0]))
            else:
                raise GmlError(f"gml:{_local(element)} has no coordinates")
        if swap:
            pairs = [(b, a) for a, b in pairs]
        return pairs

    @staticmethod
    def _numbers(text: str | None) -> list[float]:
        try:
            return [float(v) for v in (text or "").split()]
        except ValueError as exc:
            raise GmlError(f"not a coordinate list: {(text or '')[:60]!r}") from exc

    @staticmethod
    def _coordinates(element) -> list[tuple[float, float]]:
        cs, ts, decimal = element.get("cs", ","), element.get("ts", " "), element.get("decimal", ".")
        pairs = []
        for tuple_text in (element.text or "").strip().split(ts if ts.strip() else None):
            if not tuple_text:
                continue
            parts = tuple_text.split(cs)
            try:
                values = [float(p.replace(decimal, ".")) for p in parts]
            except ValueError as exc:
                raise GmlError(f"not a coordinate tuple: {tuple_text[:40]!r}") from exc
            if len(values) < 2:
                raise GmlError(f"coordinate tuple with one number: {tuple_text!r}")
            pairs.append((values[0], values[1]))
        return pairs

    # ------------------------------------------------------------------ geometry types

    def _geometry(self, element, swap: bool) -> BaseGeometry:
        name = _local(element)
        if name == "Point":
            points = self._points(element, swap)
            return Point(points[0])
        if name in ("LineString", "Curve", "CompositeCurve", "LineStringSegment"):
            return LineString(self._curve(element, swap))
        if name in ("Polygon", "PolygonPatch"):
            return self._polygon(element, swap)
        if name in ("Surface", "CompositeSurface", "OrientableSurface", "MultiSurface", "MultiPolygon"):
            polygons = self._polygons(element, swap)
            if name == "Surface" and len(polygons) == 1:
                return polygons[0]
            return MultiPolygon(polygons)
        if name in ("MultiCurve", "MultiLineString"):
            lines = [
                LineString(self._curve(member, swap))
                for member in self._members(element, ("curveMember", "curveMembers", "lineStringMember"))
            ]
            return MultiLineString(lines)
        if name == "MultiPoint":
            members = self._members(element, ("pointMember", "pointMembers"))
            return MultiPoint([Point(self._points(m, swap)[0]) for m in members])
        if name == "Envelope":
            lower, upper = next(_children(element, "lowerCorner"), None), next(_children(element, "upperCorner"), None)
            if lower is None or upper is None:
                raise GmlError("gml:Envelope without corners")
            (x0, y0), (x1, y1) = self._numbers(lower.text)[:2], self._numbers(upper.text)[:2]
            if swap:
                x0, y0, x1, y1 = y0, x0, y1, x1
            return box(x0, y0, x1, y1)
        raise GmlError(f"gml:{name} is not a geometry we can read")

    @staticmethod
    def _members(element, names: tuple[str, ...]) -> list:
        """Geometry elements inside the member properties (single or plural, or inline)."""
        found = []
        for child in _children(element):
            if _local(child) in names:
                found.extend(c for c in _children(child) if _local(c) in GEOMETRY_TAGS | {"LineStringSegment"})
        return found

    def _polygons(self, element, swap: bool) -> list[Polygon]:
        name = _local(element)
        if name in ("Polygon", "PolygonPatch"):
            return [self._polygon(element, swap)]
        if name == "OrientableSurface":
            base = next((c for p in _children(element, "baseSurface") for c in _children(p)), None)
            if base is None:
                raise GmlError("gml:OrientableSurface without baseSurface")
            return self._polygons(base, swap)
        if name == "Surface":
            patches = next(_children(element, "patches"), None)
            if patches is None:
                raise GmlError("gml:Surface without patches")
            return [self._polygon(patch, swap) for patch in _children(patches)]
        members = self._members(element, ("surfaceMember", "surfaceMembers", "polygonMember", "polygonMembers"))
        if not members:
            raise GmlError(f"gml:{name} has no members")
        polygons = []
        for member in members:
            polygons.extend(self._polygons(member, swap))
        return polygons

    def _polygon(self, element, swap: bool) -> Polygon:
        exterior = next((c for c in _children(element) if _local(c) in ("exterior", "outerBoundaryIs")), None)
        if exterior is None:
            raise GmlError(f"gml:{_local(element)} without exterior")
        shell = self._ring(exterior, swap)
        holes = [
            self._ring(interior, swap)
            for interior in _children(element)
            if _local(interior) in ("interior", "innerBoundaryIs")
        ]
        polygon = Polygon(shell, holes)
        if polygon.is_empty:
            raise GmlError("empty polygon")
        return polygon

    def _ring(self, boundary, swap: bool) -> list[tuple[float, float]]:
        ring = next(_children(boundary), None)
        if ring is None:
            raise GmlError(f"gml:{_local(boundary)} without a ring")
        if _local(ring) == "LinearRing":
            points = self._points(ring, swap)
        elif _local(ring) == "Ring":
            members = _children(ring, "curveMember")
            points = join_segments([self._curve(curve, swap) for member in members for curve in _children(member)])
        else:
            raise GmlError(f"gml:{_local(ring)} is not a ring")
        if len(points) >= 3 and points[0] != points[-1]:
            points.append(points[0])
        if len(points) < 4:
            raise GmlError(f"ring with {len(points)} points")
        return points

    def _curve(self, element, swap: bool) -> list[tuple[float, float]]:
        name = _local(element)
        if name in ("LineString", "LineStringSegment", "LinearRing"):
            return self._points(element, swap)
        if name == "Curve":
            segments = next(_children(element, "segments"), None)
            if segments is None:
                raise GmlError("gml:Curve without segments")
            return join_segments([self._segment(segment, swap) for segment in _children(segments)])
        if name == "CompositeCurve":
            members = _children(element, "curveMember")
            return join_segments([self._curve(curve, swap) for member in members for curve in _children(member)])
        if name in ("Arc", "ArcString", "Circle"):
            return self._segment(element, swap)
        raise GmlError(f"gml:{name} is not a curve we can read")

    def _segment(self, segment, swap: bool) -> list[tuple[float, float]]:
        name = _local(segment)
        points = self._points(segment, swap)
        if name in ("LineStringSegment", "GeodesicString"):
            return points
        if name in ("Arc", "ArcString"):
            if len(points) < 3 or len(points) % 2 == 0:
                raise GmlError(f"gml:{name} needs an odd number (≥ 3) of points, has {len(points)}")
            arcs = [arc_points(points[i], points[i + 1], points[i + 2]) for i in range(0, len(points) - 2, 2)]
            return join_segments(arcs)
        if name == "Circle":
            if len(points) != 3:
                raise GmlError("gml:Circle needs three points")
            return arc_points(*points, full_circle=True)
        raise GmlError(f"curve segment gml:{name} is not supported")


def join_segments(parts: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """The parts (curve segments, ring members) as one line, each continuing where the line ends; linear time.

    GML lists them in order, and then each part follows the one before. Where the next part
    does not start at the line's end, the unused part that does is looked up by its first point
    (or, reversed, by its last); only if none does is the next part appended as it is. A shared
    point is kept once.
    """
    parts = [part for part in parts if part]
    if not parts:
        return []
    # Index lists in descending order, so that pop() gives the earliest part first.
    starts: dict[tuple[float, float], list[int]] = {}
    ends: dict[tuple[float, float], list[int]] = {}
    for index in range(len(parts) - 1, -1, -1):
        starts.setdefault(parts[index][0], []).append(index)
        ends.setdefault(parts[index][-1], []).append(index)
    used = [False] * len(parts)
    used[0] = True
    points = list(parts[0])
    following = 1  # the earliest part not used yet
    for _ in range(len(parts) - 1):
        while used[following]:
            following += 1
        end = points[-1]
        index, reverse = following, False
        if parts[following][0] != end:
            found = _earliest_unused(starts.get(end), used)
            if found is None and (found := _earliest_unused(ends.get(end), used)) is not None:
                reverse = True
            if found is not None:
                index = found
        used[index] = True
        part = parts[index][::-1] if reverse else parts[index]
        points.extend(part[1:] if part[0] == end else part)
    return points


def _earliest_unused(indices: list[int] | None, used: list[bool]) -> int | None:
    # Each index leaves its list once, so all lookups together stay linear.
    while indices:
        index = indices.pop()
        if not used[index]:
            return index
    return None


def arc_points(p1, p2, p3, full_circle: bool = False) -> list[tuple[float, float]]:
    """Linearise the circular arc p1 → p2 → p3 (all on the arc) with steps of at most 1°."""
    (x1, y1), (x2, y2), (x3, y3) = p1, p2, p3
    d = 2 * (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2))
    if abs(d) < 1e-12:
        return [p1, p3] if not full_circle else [p1, p2, p1]
    ux = ((x1**2 + y1**2) * (y2 - y3) + (x2**2 + y2**2) * (y3 - y1) + (x3**2 + y3**2) * (y1 - y2)) / d
    uy = ((x1**2 + y1**2) * (x3 - x2) + (x2**2 + y2**2) * (x1 - x3) + (x3**2 + y3**2) * (x2 - x1)) / d
    radius = math.hypot(x1 - ux, y1 - uy)
    a1, a3 = math.atan2(y1 - uy, x1 - ux), math.atan2(y3 - uy, x3 - ux)
    ccw = d > 0  # p2 decides the direction: p1, p2, p3 turn counter-clockwise
    if full_circle:
        sweep = 2 * math.pi if ccw else -2 * math.pi
    else:
        sweep = (a3 - a1) % (2 * math.pi) if ccw else -((a1 - a3) % (2 * math.pi))
    steps = max(4, math.ceil(abs(sweep) / _ARC_STEP))
    result = [p1]
    for i in range(1, steps):
        angle = a1 + sweep * i / steps
        result.append((ux + radius * math.cos(angle), uy + radius * math.sin(angle)))
    result.append(p1 if full_circle else p3)
    return result


def find_geometry(element):
    """The first GML geometry element below (or at) element, or None."""
    for node in element.iter():
        if _is_gml(node) and _local(node) in GEOMETRY_TAGS and _local(node) != "Envelope":
            return node
    return None


# ---------------------------------------------------------------------------- features


@dataclass
class Feature:
    """One feature: properties as text (None for empty/nil, a list when repeated) and its geometry."""

    typename: str
    id: str | None
    properties: dict[str, object]
    geometry: BaseGeometry | None
    srs: str | None = None

    def get(self, name: str | None) -> str | None:
        """A property's text; the first value when repeated."""
        if not name:
            return None
        value = self.properties.get(name.split(":")[-1])
        if isinstance(value, list):
            return value[0] if value else None
        return value  # type: ignore[return-value]

    def get_all(self, name: str | None) -> list[str]:
        if not name:
            return []
        value = self.properties.get(name.split(":")[-1])
        if value is None:
            return []
        return [v for v in value if v] if isinstance(value, list) else [value]  # type: ignore[list-item]


@dataclass
class FeatureCollection:
    features: list[Feature] = field(default_factory=list)
    number_matched: int | None = None  # None when the server says "unknown"
    number_returned: int | None = None


def parse_feature_collection(
    content: bytes, reader: GmlReader, *, geometry_property: str | None = None
) -> FeatureCollection:
    """wfs:FeatureCollection (WFS 2.0, or 1.x/GML 2) → features; raises GmlError on anything else.

    A document with a DOCTYPE raises UnsafeXmlError (from parse_xml) before it is parsed.
    """
    try:
        root = parse_xml(content)
    except etree.XMLSyntaxError as exc:
        raise GmlError(f"not well-formed XML ({exc})") from exc
    if etree.QName(root).localname != "FeatureCollection":
        raise GmlError(f"<{etree.QName(root).localname}> is not a FeatureCollection")
    collection = FeatureCollection(
        number_matched=_int_or_none(root.get("numberMatched")),
        number_returned=_int_or_none(root.get("numberReturned") or root.get("numberOfFeatures")),
    )
    for element in _feature_elements(root):
        collection.features.append(_feature(element, reader, geometry_property))
    return collection


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _feature_elements(collection) -> Iterator:
    for member in collection:
        if not isinstance(member.tag, str) or etree.QName(member).localname not in _MEMBER_TAGS:
            continue
        for element in member:
            if not isinstance(element.tag, str):
                continue
            if etree.QName(element).localname == "FeatureCollection":
                yield from _feature_elements(element)  # WFS 2.0 nests collections for joins
            elif etree.QName(element).localname != "additionalObjects":
                yield element


def _feature(element, reader: GmlReader, geometry_property: str | None) -> Feature:
    properties: dict[str, object] = {}
    geometry, srs = None, None
    wanted = geometry_property.split(":")[-1] if geometry_property else None
    for child in element:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.namespace in GML_NAMESPACES:
            continue  # gml:boundedBy, gml:name, gml:identifier …
        geometry_element = find_geometry(child) if len(child) else None
        if geometry_element is not None:
            if geometry is None or qname.localname == wanted:
                geometry, srs = reader.read(geometry_element)
            continue
        if child.get(_XSI_NIL) == "true":
            value = None
        else:
            value = "".join(child.itertext()).strip() or None
        name = qname.localname
        if name in properties:
            previous = properties[name]
            properties[name] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            properties[name] = value
    feature_id = element.get(f"{{{GML32_NS}}}id") or element.get(f"{{{GML_NS}}}id") or element.get("fid")
    return Feature(etree.QName(element).localname, feature_id, properties, geometry, srs)
