"""fes 2.0 filters for WFS 2.0 queries: a BBOX on a named geometry, LIKE patterns, the <fes:Filter> text."""

from __future__ import annotations

from typing import Mapping

from lxml import etree
from owslib import fes2

from wms_clients.base import BBox
from wms_clients.gml import GML32_NS

FES20_NS = "http://www.opengis.net/fes/2.0"


class BBoxFilter(fes2.BBox):
    """fes:BBOX on a named geometry property, with a GML 3.2 envelope.

    OWSLib's fes2.BBox always writes the CSW property "ows:BoundingBox" and a GML 3.1 envelope,
    which does not belong in a FES 2.0 filter against GML 3.2 data.
    """

    def __init__(self, bbox: BBox, crs: str, geometry_property: str, north_east: bool = False):
        super().__init__(bbox, crs)
        self.geometry_property = geometry_property
        self.north_east = north_east

    def toXML(self):  # noqa: N802 - OWSLib's name
        node = etree.Element(f"{{{FES20_NS}}}BBOX", nsmap={"fes": FES20_NS, "gml": GML32_NS})
        etree.SubElement(node, f"{{{FES20_NS}}}ValueReference").text = self.geometry_property
        envelope = etree.SubElement(node, f"{{{GML32_NS}}}Envelope", srsName=self.crs)
        minx, miny, maxx, maxy = self.bbox
        lower, upper = ((miny, minx), (maxy, maxx)) if self.north_east else ((minx, miny), (maxx, maxy))
        etree.SubElement(envelope, f"{{{GML32_NS}}}lowerCorner").text = f"{lower[0]!r} {lower[1]!r}"
        etree.SubElement(envelope, f"{{{GML32_NS}}}upperCorner").text = f"{upper[0]!r} {upper[1]!r}"
        return node


def filter_xml(operation: fes2.OgcExpression, namespaces: Mapping[str, str] | None = None) -> str:
    """<fes:Filter> text for a fes2 operation, declaring the prefixes our property names use."""
    nsmap = {"fes": FES20_NS, "gml": GML32_NS, **(namespaces or {})}
    root = etree.Element(f"{{{FES20_NS}}}Filter", nsmap=nsmap)
    root.append(operation.toXML())
    return etree.tostring(root, encoding="unicode")


def property_like(name: str, pattern: str, *, match_case: bool = True) -> fes2.PropertyIsLike:
    """fes:PropertyIsLike with the wildcards our patterns use: "*" any run, "?" one character."""
    return fes2.PropertyIsLike(name, pattern, wildCard="*", singleChar="?", escapeChar="\\", matchCase=match_case)


def like_pattern(street: str, letters: int = 4) -> str | None:
    """A case-insensitive LIKE pattern ("*h*a*u*p*") for a folded street (AddressQuery.street).

    The folded form has no spaces and writes ä as "ae", ß as "ss"; the data may have
    "Haupt-Str." or "Hauptstraße". A wildcard between letters (and in place of ae/oe/ue/ss)
    matches every spelling; the exact ranking happens locally with match_address.
    """
    letters_found: list[str] = []
    i = 0
    while i < len(street) and len(letters_found) < letters:
        if street[i : i + 2] in ("ae", "oe", "ue", "ss"):
            i += 2  # the wildcard between letters stands for ä / ae
            continue
        if street[i].isalnum():
            letters_found.append(street[i])
        i += 1
    if not letters_found:
        return None
    return "*" + "*".join(letters_found) + "*"
