"""Messages read from what OGC services answer instead of data: exception reports and HTML pages."""

from __future__ import annotations

from wms_clients.ows import html_message, ogc_exception_message
from upstream_fakes import OWS_EXCEPTION, SERVICE_EXCEPTION


def test_server_messages_are_extracted():
    assert ogc_exception_message(SERVICE_EXCEPTION).startswith("LayerNotDefined: msWMSLoadGetMapParams()")
    assert ogc_exception_message(OWS_EXCEPTION) == (
        "InvalidParameterValue, locator typenames: Feature type ave:Flurstueck is temporarily not available"
    )
    assert ogc_exception_message(b"<wfs:FeatureCollection xmlns:wfs='x'/>") is None
    assert html_message(b"<html><head><title>Oops</title></head><body><p>Down for maintenance</p></body></html>") == (
        "Oops — Down for maintenance"
    )
