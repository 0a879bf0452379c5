"""/readyz for the load balancer: 503 with the reason while the upstream's circuit is open or the cache is gone."""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from service_support import SwitchableProxy, free_port, make_app, upstream_settings

EXAMPLE = "05987100100090______"
PARAMS = {"parcel": EXAMPLE, "scale": 500, "paper": "A4", "orientation": "portrait", "dpi": 96}
RESET_SECONDS = 1.5


def test_readyz_is_503_while_the_circuit_is_open_and_ready_when_it_may_probe_again(demo_upstream_url, tmp_path):
    proxy = SwitchableProxy(demo_upstream_url)
    try:
        # generous budgets: the failures below are quick 500s, and the machine may be busy
        settings = upstream_settings(tmp_path, proxy.url, request_timeout=10, cache={"ttl_seconds": 0},
                                     http={"connect_timeout": 2, "read_timeout": 5, "total_timeout": 8,
                                           "retries": 0, "failure_threshold": 2, "reset_timeout": RESET_SECONDS})
        client = make_app(settings).test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.get_json() == {"status": "ready", "problems": []}

        proxy.mode = "error500"
        for _ in range(3):
            client.get("/api/v1/preview.png", query_string=PARAMS)
        down = client.get("/readyz")
        assert down.status_code == 503, down.get_json()
        problems = down.get_json()["problems"]
        assert any(p.startswith(("upstream WFS: circuit open", "upstream WMS: circuit open")) for p in problems), problems
        assert client.get("/healthz").status_code == 200  # the process itself still answers
        counted = {(m.name, tuple(sorted(m.labels.items()))): m.value
                   for f in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
                   for m in f.samples}
        open_services = [service for service in ("wfs", "wms")
                         if counted.get(("gis_upstream_circuit_open", (("service", service),))) == 1]
        assert open_services and all(f"upstream {s.upper()}: circuit open" in " ".join(problems) for s in open_services)
        assert counted[("gis_upstream_requests_total", (("outcome", "circuit-open"), ("service", open_services[0])))] >= 1

        proxy.mode = "pass"
        time.sleep(RESET_SECONDS + 0.2)  # half-open: ready again, so that traffic can bring the probe
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/v1/preview.png", query_string=PARAMS).status_code == 200
        assert client.get("/readyz").get_json() == {"status": "ready", "problems": []}
    finally:
        proxy.stop()


def test_readyz_names_a_redis_cache_that_does_not_answer(tmp_path):
    from gis_service.config import load_settings

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = load_settings(None, overrides={"instance_path": str(tmp_path),
                                              "cache": {"backend": "redis", "redis_url": dead}})
    response = make_app(settings).test_client().get("/readyz", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response.get_json()["problems"] == [
        f"cache redis {dead} does not answer: ConnectionError"]
