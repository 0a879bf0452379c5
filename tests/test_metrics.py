"""/metrics: Prometheus' text format (read by prometheus-client's own parser), counters that move, access by configuration."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gis_service.app import create_app
from gis_service.config import load_settings

KEY = "05987100100090______"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample as (name, sorted labels) → value; fails on anything the official parser rejects."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(table, name, **labels) -> float:
    return table.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_renders_and_cache_lookups(tmp_path):
    client = create_app(load_settings(None, overrides={"instance_path": str(tmp_path)})).test_client()
    before = samples(client.get("/metrics").get_data(as_text=True))
    for _ in range(3):
        assert client.get(f"/api/v1/parcels/{KEY}").status_code == 200
    assert client.get("/api/v1/parcels/not-a-key").status_code in (400, 404)
    params = {"parcel": KEY, "scale": 1000, "paper": "A4", "orientation": "portrait"}
    assert client.get("/api/v1/preview.png", query_string=params).status_code == 200
    assert client.get("/api/v1/preview.png", query_string=params).status_code == 200  # from the cache
    assert client.get("/no/such/page").status_code == 404

    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    after = samples(response.get_data(as_text=True))
    route = "/api/v1/parcels/<path:key>"
    assert value(after, "gis_http_requests_total", route=route, method="GET", status="200") - \
        value(before, "gis_http_requests_total", route=route, method="GET", status="200") == 3
    assert value(after, "gis_http_requests_total", route="unmatched", method="GET", status="404") - \
        value(before, "gis_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(after, "gis_http_request_duration_seconds_count", route=route) - \
        value(before, "gis_http_request_duration_seconds_count", route=route) == 4  # the refused key too
    assert value(after, "gis_map_answers_total", source="local") - value(before, "gis_map_answers_total", source="local") == 2
    assert value(after, "gis_cache_lookups_total", result="hit") - value(before, "gis_cache_lookups_total", result="hit") >= 1
    assert value(after, "gis_cache_lookups_total", result="miss") - value(before, "gis_cache_lookups_total", result="miss") >= 1
    assert value(after, "gis_render_duration_seconds_count") - value(before, "gis_render_duration_seconds_count") >= 1


def test_metrics_only_for_allowed_networks_or_the_token(tmp_path):
    token = "metrics-token-0123456789"
    settings = load_settings(None, overrides={"instance_path": str(tmp_path),
                                              "metrics": {"allow_networks": ["10.0.0.0/8"], "token": token}})
    client = create_app(settings).test_client()
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert outside.status_code == 403 and outside.json["code"] == "metrics-forbidden"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403  # not listed
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    wrong = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"},
                       headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert wrong.status_code == 403
    right = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"},
                       headers={"Authorization": f"Bearer {token}"})
    assert right.status_code == 200 and "gis_http_requests_total" in right.get_data(as_text=True)

    off = create_app(load_settings(None, overrides={"instance_path": str(tmp_path / "off"),
                                                    "metrics": {"enabled": False}})).test_client()
    assert off.get("/metrics").status_code == 404
