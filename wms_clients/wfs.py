"""WFS 2.0 protocol client: checked, cached capabilities; GetFeature by GET or POST with fes 2.0 filters; paging."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

from lxml import etree
from owslib import fes2
from owslib.wfs import WebFeatureService

from cadastre.model import NATIVE_CRS
from wms_clients.base import BBox
from wms_clients.crs import crs_code, crs_is_north_east, urn
from wms_clients.fes import FES20_NS, BBoxFilter, filter_xml
from wms_clients.gml import GML32_NS, Feature, FeatureCollection, GmlError, GmlReader, parse_feature_collection
from wms_clients.http import UpstreamError, UpstreamSession
from wms_clients.ows import CapabilitiesCache, UnsafeXmlError, check_answer, fetch_capabilities, parse_xml

log = logging.getLogger(__name__)

WFS20_NS = "http://www.opengis.net/wfs/2.0"


@dataclass(frozen=True)
class WfsCapabilities:
    owslib: object  # owslib WebFeatureService_2_0_0
    typenames: tuple[str, ...]
    namespaces: dict[str, str]  # prefix → URI of the feature type names
    fetched_at: float
    raw: bytes

    @property
    def title(self) -> str:
        identification = getattr(self.owslib, "identification", None)
        return (identification.title if identification else None) or ""


class WfsClient:
    """GetFeature on one WFS 2.0 through our session; coordinates in `srs`, always x/y in Python."""

    def __init__(
        self,
        url: str,
        session: UpstreamSession | None = None,
        *,
        version: str = "2.0.0",
        srs: str = NATIVE_CRS,
        axis_order: str | None = None,
        method: str = "GET",
        output_format: str | None = None,
        capabilities_ttl: float = 3600.0,
        qualify_properties: bool = True,
        required_typenames: Sequence[str] = (),
    ):
        if version != "2.0.0":
            raise ValueError("only WFS 2.0.0 is supported")
        if method not in ("GET", "POST"):
            raise ValueError(f"method must be GET or POST, not {method!r}")
        self.url = url
        self.session = session or UpstreamSession(url)
        self.version = version
        self.srs = srs
        self.srs_urn = urn(srs)
        self.axis_order = axis_order
        self.method = method
        self.output_format = output_format
        self.capabilities_ttl = capabilities_ttl
        # The NRW service filters on ave:-qualified names; MapServer takes both forms.
        self.qualify_properties = qualify_properties
        self.required_typenames = tuple(required_typenames)
        self.reader = GmlReader(axis_order=axis_order, default_srs=self.srs_urn)
        self._capabilities = CapabilitiesCache(self.url, capabilities_ttl, self._fetch_capabilities)

    # ------------------------------------------------------------------ capabilities

    def capabilities(self, *, refresh: bool = False) -> WfsCapabilities:
        return self._capabilities.get(refresh=refresh)

    def _fetch_capabilities(self) -> WfsCapabilities:
        content, root, wfs = fetch_capabilities(
            self.session, self.url, "WFS", self.version,
            root_name="WFS_Capabilities",
            read=lambda xml: WebFeatureService(self.url, version=self.version, xml=xml),
            error=self._error,
        )
        namespaces: dict[str, str] = {}
        for name in root.iter(f"{{{WFS20_NS}}}Name"):
            text = (name.text or "").strip()
            if ":" in text:
                prefix = text.split(":", 1)[0]
                if prefix in name.nsmap:
                    namespaces[prefix] = name.nsmap[prefix]
        typenames = tuple(wfs.contents)
        missing = [t for t in self.required_typenames if t not in wfs.contents]
        if missing:
            raise self._error(
                "bad-response",
                f"the WFS lacks the feature type(s) {', '.join(missing)}; it offers: {', '.join(typenames[:40])}",
            )
        return WfsCapabilities(wfs, typenames, namespaces, time.monotonic(), content)

    def property_names(self, typename: str) -> list[str]:
        """The feature type's property names as DescribeFeatureType declares them (unqualified)."""
        params = {"SERVICE": "WFS", "VERSION": self.version, "REQUEST": "DescribeFeatureType", "TYPENAMES": typename}
        namespaces = self._namespaces(typename)
        if namespaces:
            params["NAMESPACES"] = ",".join(f"xmlns({p},{uri})" for p, uri in namespaces.items())
        content = self.session.get(self.url, params, body_kind="capabilities").content
        check_answer(content, "DescribeFeatureType", self._error)
        try:
            root = parse_xml(content)
        except (etree.XMLSyntaxError, UnsafeXmlError) as exc:
            raise self._error("bad-response", f"DescribeFeatureType returned no valid XML ({exc})") from exc
        names = []
        for element in root.iter("{http://www.w3.org/2001/XMLSchema}element"):
            # properties are the elements inside a complexType; the feature element itself stands at the top
            if element.get("name") and element.getparent() is not root and element.get("name") not in names:
                names.append(element.get("name"))
        return names

    # ------------------------------------------------------------------ GetFeature

    def property_name(self, typename: str, name: str) -> str:
        """The property as filters name it: "ave:flstkennz" for typename "ave:Flurstueck"."""
        if self.qualify_properties and ":" in typename and ":" not in name:
            return f"{typename.split(':', 1)[0]}:{name}"
        return name

    def bbox_filter(self, typename: str, geometry: str, bbox: BBox) -> BBoxFilter:
        """A fes:BBOX in our srs, corner coordinates in the axis order the srsName URN demands."""
        north_east = self.axis_order == "yx" or (self.axis_order is None and crs_is_north_east(crs_code(self.srs) or self.srs))
        return BBoxFilter(bbox, self.srs_urn, self.property_name(typename, geometry), north_east)

    def get_features(
        self,
        typename: str,
        *,
        filter: fes2.OgcExpression | None = None,  # noqa: A002 - the WFS parameter's name
        count: int | None = None,
        start_index: int | None = None,
        sort_by: Sequence[tuple[str, str]] = (),
        property_names: Sequence[str] = (),
        hits_only: bool = False,
        geometry_property: str | None = None,
    ) -> FeatureCollection:
        """One GetFeature; sort_by is [(property, "ASC"|"DESC")]; property names unqualified."""
        namespaces = self._namespaces(typename)
        if self.method == "POST":
            body = self._post_body(typename, filter, count, start_index, sort_by, property_names, hits_only, namespaces)
            response = self.session.post(self.url, body, idempotent=True, body_kind="getfeature")
        else:
            params: dict[str, object] = {
                "SERVICE": "WFS",
                "VERSION": self.version,
                "REQUEST": "GetFeature",
                "TYPENAMES": typename,
                "SRSNAME": self.srs_urn,
                "COUNT": count,
                "STARTINDEX": start_index or None,
                "OUTPUTFORMAT": self.output_format,
                "RESULTTYPE": "hits" if hits_only else None,
            }
            if namespaces:
                params["NAMESPACES"] = ",".join(f"xmlns({p},{uri})" for p, uri in namespaces.items())
            if filter is not None:
                params["FILTER"] = filter_xml(filter, namespaces)
            if sort_by:
                params["SORTBY"] = ",".join(f"{self.property_name(typename, p)} {o}" for p, o in sort_by)
            if property_names:
                params["PROPERTYNAME"] = ",".join(self.property_name(typename, p) for p in property_names)
            response = self.session.get(self.url, params, body_kind="getfeature")
        return self._parse(response.content, geometry_property)

    def _namespaces(self, typename: str) -> dict[str, str]:
        if ":" not in typename:
            return {}
        prefix = typename.split(":", 1)[0]
        uri = self.capabilities().namespaces.get(prefix)
        return {prefix: uri} if uri else {}

    def _post_body(self, typename, filter, count, start_index, sort_by, property_names, hits_only, namespaces) -> bytes:
        nsmap = {"wfs": WFS20_NS, "fes": FES20_NS, "gml": GML32_NS, **namespaces}
        root = etree.Element(f"{{{WFS20_NS}}}GetFeature", nsmap=nsmap, service="WFS", version=self.version)
        if count is not None:
            root.set("count", str(count))
        if start_index:
            root.set("startIndex", str(start_index))
        if hits_only:
            root.set("resultType", "hits")
        if self.output_format:
            root.set("outputFormat", self.output_format)
        query = etree.SubElement(root, f"{{{WFS20_NS}}}Query", typeNames=typename, srsName=self.srs_urn)
        for name in property_names:
            etree.SubElement(query, f"{{{WFS20_NS}}}PropertyName").text = self.property_name(typename, name)
        if filter is not None:
            query.append(etree.fromstring(filter_xml(filter, namespaces)))
        if sort_by:
            sort = etree.SubElement(query, f"{{{FES20_NS}}}SortBy")
            for name, order in sort_by:
                sort.append(fes2.SortProperty(self.property_name(typename, name), order).toXML())
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def _parse(self, content: bytes, geometry_property: str | None) -> FeatureCollection:
        check_answer(content, "GetFeature", self._error)
        try:
            return parse_feature_collection(content, self.reader, geometry_property=geometry_property)
        except GmlError as exc:
            snippet = " ".join(content[:200].decode("utf-8", "replace").split())
            raise self._error("bad-response", f"GetFeature returned invalid GML: {exc}", snippet) from exc
        except UnsafeXmlError as exc:
            raise self._error("unsafe-xml", f"GetFeature refused: {exc}") from exc

    def iter_features(
        self,
        typename: str,
        *,
        filter: fes2.OgcExpression | None = None,  # noqa: A002
        page_size: int = 500,
        limit: int | None = None,
        sort_by: Sequence[tuple[str, str]] = (),
        property_names: Sequence[str] = (),
        geometry_property: str | None = None,
    ) -> Iterator[Feature]:
        """All matching features, page by page (count/startIndex), at most `limit`."""
        start, seen = 0, 0
        while limit is None or seen < limit:
            count = page_size if limit is None else min(page_size, limit - seen)
            page = self.get_features(
                typename, filter=filter, count=count, start_index=start, sort_by=sort_by,
                property_names=property_names, geometry_property=geometry_property,
            )
            for feature in page.features:
                yield feature
            seen += len(page.features)
            start += len(page.features)
            if len(page.features) < count or (page.number_matched is not None and start >= page.number_matched):
                return

    def _error(self, kind: str, message: str, said: str | None = None) -> UpstreamError:
        return UpstreamError(f"WFS {self.url}: {message}", kind=kind, server_message=said, upstream=self.session.name, url=self.url)
