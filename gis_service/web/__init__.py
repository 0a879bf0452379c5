"""Flask blueprints: JSON API, embeddable pages, demo host page, orders, staff back office, OGC API mount."""
