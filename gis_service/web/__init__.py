"""Flask blueprints: the JSON API, the embeddable pages and, later, orders, staff and OGC API."""
