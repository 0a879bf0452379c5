"""WSGI entry point for process managers (gunicorn, uWSGI): `gis_service.wsgi:app`, config from $GIS_SERVICE_CONFIG."""

import threading

from gis_service.app import create_app
from gis_service.config import load_settings
from gis_service.logging_setup import configure_logging

settings = load_settings()
configure_logging(settings.logging.format, settings.logging.level)
app = create_app(settings)
# At start, as `gis-service serve` does: the source's information (on an upstream the WFS capabilities it
# needs anyway, then cached) and with it the log warning when source.wfs.search_extent misses the data.
# In the background, so that a slow upstream never holds up the worker's start.
threading.Thread(target=app.extensions["gis_source"].info, name="gis-source-info", daemon=True).start()
