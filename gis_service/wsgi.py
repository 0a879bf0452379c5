"""WSGI entry point for process managers (gunicorn, uWSGI): `gis_service.wsgi:app`, config from $GIS_SERVICE_CONFIG."""

from gis_service.app import create_app

app = create_app()
