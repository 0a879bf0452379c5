"""Test doubles for upstream tests: a real HTTP server whose paths misbehave, and canned OGC documents."""

from __future__ import annotations

import functools
import io
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from PIL import Image


def png_bytes(width: int, height: int, color=(255, 255, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


@functools.lru_cache(maxsize=4)
def png_bomb(width: int = 13000, height: int = 13000) -> bytes:
    """A valid 8-bit grey PNG of width×height black pixels: some 160 kB that decode to width×height bytes.

    Written chunk by chunk, so making it costs neither the decoded size nor Pillow.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + width)  # filter byte "none", then the pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8 bit, grey, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@functools.lru_cache(maxsize=1)
def gzip_bomb(size: int = 96 * 1024 * 1024) -> bytes:
    """A gzip stream of `size` zero bytes, about a thousandth of that on the wire."""
    packer = zlib.compressobj(9, wbits=31)
    block = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(size // len(block))) + packer.flush()


WMS_CAPABILITIES = b"""<?xml version="1.0" encoding="UTF-8"?>
<WMS_Capabilities version="1.3.0" xmlns="http://www.opengis.net/wms" xmlns:xlink="http://www.w3.org/1999/xlink">
  <Service><Name>WMS</Name><Title>Fault server</Title>
    <OnlineResource xlink:href="http://example.invalid/"/>
    <MaxWidth>256</MaxWidth><MaxHeight>256</MaxHeight></Service>
  <Capability>
    <Request>
      <GetCapabilities><Format>text/xml</Format><DCPType><HTTP><Get><OnlineResource xlink:href="http://example.invalid/"/></Get></HTTP></DCPType></GetCapabilities>
      <GetMap><Format>image/png</Format><DCPType><HTTP><Get><OnlineResource xlink:href="http://example.invalid/"/></Get></HTTP></DCPType></GetMap>
    </Request>
    <Exception><Format>XML</Format></Exception>
    <Layer><Title>root</Title><CRS>EPSG:25832</CRS><CRS>EPSG:4326</CRS>
      <Layer queryable="0"><Name>test</Name><Title>test</Title></Layer>
      <Layer queryable="0"><Name>other</Name><Title>other</Title></Layer>
    </Layer>
  </Capability>
</WMS_Capabilities>
"""

# The same WMS with a 8192 px maximum: an A3 face is one GetMap, not hundreds of tiles.
WMS_LARGE_CAPABILITIES = WMS_CAPABILITIES.replace(b"<MaxWidth>256</MaxWidth><MaxHeight>256</MaxHeight>",
                                                  b"<MaxWidth>8192</MaxWidth><MaxHeight>8192</MaxHeight>")

WFS_CAPABILITIES = b"""<?xml version="1.0" encoding="UTF-8"?>
<wfs:WFS_Capabilities version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:ows="http://www.opengis.net/ows/1.1"
    xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ave="http://example.invalid/ave">
  <ows:ServiceIdentification><ows:Title>Fault WFS</ows:Title><ows:ServiceType>WFS</ows:ServiceType><ows:ServiceTypeVersion>2.0.0</ows:ServiceTypeVersion></ows:ServiceIdentification>
  <ows:OperationsMetadata>
    <ows:Operation name="GetFeature"><ows:DCP><ows:HTTP><ows:Get xlink:href="http://example.invalid/"/></ows:HTTP></ows:DCP></ows:Operation>
  </ows:OperationsMetadata>
  <wfs:FeatureTypeList>
    <wfs:FeatureType><wfs:Name>ave:Flurstueck</wfs:Name><wfs:Title>Flurstueck</wfs:Title>
      <wfs:DefaultCRS>urn:ogc:def:crs:EPSG::25832</wfs:DefaultCRS>
      <ows:WGS84BoundingBox><ows:LowerCorner>6 50</ows:LowerCorner><ows:UpperCorner>7 51</ows:UpperCorner></ows:WGS84BoundingBox>
    </wfs:FeatureType>
  </wfs:FeatureTypeList>
</wfs:WFS_Capabilities>
"""

SERVICE_EXCEPTION = b"""<?xml version="1.0" encoding="UTF-8"?>
<ServiceExceptionReport version="1.3.0" xmlns="http://www.opengis.net/ogc">
  <ServiceException code="LayerNotDefined">msWMSLoadGetMapParams(): WMS server error. Invalid layer(s) given in the LAYERS parameter: nope</ServiceException>
</ServiceExceptionReport>
"""

OWS_EXCEPTION = b"""<?xml version="1.0" encoding="UTF-8"?>
<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">
  <ows:Exception exceptionCode="InvalidParameterValue" locator="typenames">
    <ows:ExceptionText>Feature type ave:Flurstueck is temporarily not available</ows:ExceptionText>
  </ows:Exception>
</ows:ExceptionReport>
"""

HTML_PAGE = b"""<!DOCTYPE html><html><head><title>502 Proxy Error</title></head>
<body><h1>Proxy Error</h1><p>The proxy server received an invalid response from an upstream server.</p></body></html>"""

INVALID_GML = b"""<?xml version="1.0" encoding="UTF-8"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2"
    xmlns:ave="http://example.invalid/ave" numberMatched="1" numberReturned="1">
  <wfs:member><ave:Flurstueck gml:id="F.1">
    <ave:geometrie><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832"><gml:exterior><gml:LinearRing>
      <gml:posList srsDimension="2">1 2 3 4 5</gml:posList>
    </gml:LinearRing></gml:exterior></gml:Polygon></ave:geometrie>
    <ave:flstkennz>05314403900040______</ave:flstkennz>
  </ave:Flurstueck></wfs:member>
</wfs:FeatureCollection>
"""

_FEATURE = b"""<wfs:member><ave:Flurstueck gml:id="F.%d"><ave:flstkennz>05314403900040______</ave:flstkennz>
  <ave:geometrie><gml:Polygon srsName="urn:ogc:def:crs:EPSG::25832"><gml:exterior><gml:LinearRing>
    <gml:posList srsDimension="2">0 0 10 0 10 10 0 10 0 0</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></ave:geometrie>
</ave:Flurstueck></wfs:member>
"""
_COLLECTION_START = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                     b'<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2"'
                     b' xmlns:ave="http://example.invalid/ave" numberMatched="unknown" numberReturned="0">\n')

_LAUGHS = b"".join(
    b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1)) * 10 if i else b"lol") for i in range(10)
)
BILLION_LAUGHS_GML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE wfs:FeatureCollection [\n' + _LAUGHS + b"]>\n"
    + _COLLECTION_START[_COLLECTION_START.index(b"<wfs:"):]
    + b'<wfs:member><ave:Flurstueck gml:id="F.1"><ave:flstkennz>&lol9;</ave:flstkennz></ave:Flurstueck></wfs:member>\n'
    b"</wfs:FeatureCollection>\n"
)
EXTERNAL_ENTITY_GML = BILLION_LAUGHS_GML.replace(
    BILLION_LAUGHS_GML[BILLION_LAUGHS_GML.index(b"[") + 1:BILLION_LAUGHS_GML.index(b"]>")],
    b'\n<!ENTITY lol9 SYSTEM "file:///etc/passwd">\n',
)


def with_entity(document: bytes, root: bytes) -> bytes:
    """The document with an internal entity declared in a DOCTYPE and used in its first Title."""
    declaration_end = document.index(b"?>") + 2
    doctype = b'\n<!DOCTYPE %s [<!ENTITY title "Entity title">]>' % root
    body = document[declaration_end:].replace(b"Title>", b"Title>&title;", 1)
    return document[:declaration_end] + doctype + body


NOT_WELL_FORMED = b"""<?xml version="1.0"?><wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0"><wfs:member>"""


def serve_requests(handle) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A real HTTP/1.1 server on a free loopback port; every GET and POST goes to handle(request, body)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            handle(self, b"")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            handle(self, self.rfile.read(length))

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            # Clients that refuse an answer hang up in the middle of it; that is no error here.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


class FaultServer:
    """A real HTTP server on loopback; the first path segment chooses the fault.

    /wms/<fault>, /wms-large/<fault> (MaxWidth 8192) and /wfs/<fault> answer GetCapabilities
    properly (except entity-capabilities) and apply the fault to every other request, so that
    clients get as far as the request under test.
    """

    def __init__(self):
        self.hits: dict[str, int] = {}
        self.sent: dict[str, int] = {}  # bytes of endless answers written so far, by path
        self.requests: list[tuple[str, dict, dict]] = []
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._server, self._thread = serve_requests(self._handle)
        self.port = self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def reset(self) -> None:
        with self._lock:
            self.hits.clear()
            self.sent.clear()
            self.requests.clear()

    def stop(self) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, handler, body: bytes) -> None:
        parts = urlsplit(handler.path)
        query = {k.upper(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
        segments = [s for s in parts.path.split("/") if s]
        with self._lock:
            key = "/".join(segments)
            self.hits[key] = self.hits.get(key, 0) + 1
            hit = self.hits[key]
            self.requests.append((key, query, dict(handler.headers)))
        service = segments[0] if segments and segments[0] in ("wms", "wms-large", "wfs") else None
        fault = segments[1] if service and len(segments) > 1 else (segments[0] if segments else "")
        if service and query.get("REQUEST", "").lower() == "getcapabilities":
            capabilities = {"wms": WMS_CAPABILITIES, "wms-large": WMS_LARGE_CAPABILITIES, "wfs": WFS_CAPABILITIES}[service]
            if fault == "entity-capabilities":
                capabilities = with_entity(capabilities, b"wfs:WFS_Capabilities" if service == "wfs" else b"WMS_Capabilities")
            return self._send(handler, 200, "text/xml", capabilities)
        width, height = int(query.get("WIDTH", 64) or 64), int(query.get("HEIGHT", 64) or 64)

        if fault == "hang":
            self.stop_event.wait(30)
            return
        if fault == "slow":  # answers, but only after 0.6 s
            time.sleep(0.6)
            return self._send(handler, 200, "image/png", png_bytes(width, height))
        if fault == "drip":  # headers at once, then one byte every 0.3 s
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            for _ in range(1000):
                if self.stop_event.wait(0.3):
                    return
                try:
                    handler.wfile.write(b"x")
                    handler.wfile.flush()
                except OSError:
                    return
            return
        if fault == "error500":
            return self._send(handler, 500, "text/plain", b"Internal Server Error: database connection lost")
        if fault == "unavailable":
            return self._send(handler, 503, "text/html", HTML_PAGE)
        if fault == "flaky":  # 503 twice, then fine
            if hit <= 2:
                return self._send(handler, 503, "text/plain", b"try again")
            return self._send(handler, 200, "image/png", png_bytes(width, height))
        if fault == "notfound":
            return self._send(handler, 404, "text/plain", b"no such thing")
        if fault == "html":
            return self._send(handler, 200, "text/html; charset=utf-8", HTML_PAGE)
        if fault == "service-exception":
            return self._send(handler, 200, "application/vnd.ogc.se_xml", SERVICE_EXCEPTION)
        if fault == "ows-exception":
            return self._send(handler, 200, "text/xml", OWS_EXCEPTION)
        if fault == "ows-exception-400":
            return self._send(handler, 400, "application/xml", OWS_EXCEPTION)
        if fault == "truncated-png":
            data = png_bytes(width, height, (10, 200, 30))
            return self._send(handler, 200, "image/png", data[: len(data) // 2])
        if fault == "wrong-size":
            return self._send(handler, 200, "image/png", png_bytes(width // 2 + 1, height))
        if fault == "not-png":
            return self._send(handler, 200, "image/png", b"GIF89a" + b"\0" * 100)
        if fault == "invalid-gml":
            return self._send(handler, 200, "text/xml; subtype=gml/3.2", INVALID_GML)
        if fault == "broken-xml":
            return self._send(handler, 200, "text/xml; subtype=gml/3.2", NOT_WELL_FORMED)
        if fault == "counted":  # a slow, correct answer; tests count how often it is asked
            time.sleep(0.5)
            return self._send(handler, 200, "image/png", png_bytes(width, height))
        if fault == "big":
            return self._send(handler, 200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 200_000)
        if fault == "bomb":  # a valid PNG of 13000×13000 pixels whatever was asked
            return self._send(handler, 200, "image/png", png_bomb())
        if fault == "billion-laughs":
            return self._send(handler, 200, "text/xml; subtype=gml/3.2", BILLION_LAUGHS_GML)
        if fault == "external-entity":
            return self._send(handler, 200, "text/xml; subtype=gml/3.2", EXTERNAL_ENTITY_GML)
        if fault == "endless-gml":  # well-formed GML that never ends, without Content-Length
            return self._stream_forever(handler, key)
        if fault == "gzip-bomb":
            return self._send(handler, 200, "text/xml; subtype=gml/3.2", gzip_bomb(), {"Content-Encoding": "gzip"})
        if fault == "echo":
            return self._send(handler, 200, "image/png", png_bytes(width, height))
        if fault == "auth":
            if handler.headers.get("Authorization") != "Basic dXNlcjpzZWNyZXQ=":  # user:secret
                return self._send(handler, 401, "text/plain", b"who are you?")
            return self._send(handler, 200, "image/png", png_bytes(width, height))
        return self._send(handler, 404, "text/plain", b"unknown fault")

    def _stream_forever(self, handler, key: str) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", "text/xml; subtype=gml/3.2")
        handler.send_header("Connection", "close")
        handler.end_headers()
        block = b"".join(_FEATURE % i for i in range(200))
        sent, deadline = 0, time.monotonic() + 30
        try:
            handler.wfile.write(_COLLECTION_START)
            while time.monotonic() < deadline and sent < 1024**3 and not self.stop_event.is_set():
                handler.wfile.write(block)
                sent += len(block)
                with self._lock:
                    self.sent[key] = sent
        except OSError:
            pass  # the client hung up: what a client with a body limit does

    @staticmethod
    def _send(handler, status: int, content_type: str, body: bytes, headers: dict | None = None) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass
