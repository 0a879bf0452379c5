"""WSGI entry point for process managers (gunicorn, uWSGI): `gis_service.wsgi:app`, config from $GIS_SERVICE_CONFIG."""

from gis_service.app import create_app
from gis_service.config import load_settings
from gis_service.logging_setup import configure_logging

settings = load_settings()
configure_logging(settings.logging.format, settings.logging.level)
app = create_app(settings)
