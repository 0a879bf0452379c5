"""gis-service: the Flask application that wires sources, renderers and pages together."""

__version__ = "0.1.0"
