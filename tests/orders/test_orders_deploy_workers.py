"""The README's deployment, run for real: gunicorn with 2 worker processes on PostgreSQL and a Redis cache."""

from __future__ import annotations

import concurrent.futures
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from order_support import (
    PARCEL,
    REPO,
    free_port,
    order_body,
    order_settings,
    pay_order,
    subprocess_env,
    token_of,
    wait_status,
    wait_until,
)

GUNICORN = Path(os.sys.executable).with_name("gunicorn")


class Deployed:
    """Just enough of LiveApp for the shared helpers: a base URL."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
def deployed(tmp_path, postgres, simulator, smtp):
    if not GUNICORN.exists():
        pytest.fail(f"gunicorn is a dependency of the project but missing at {GUNICORN}")
    import redis

    redis_url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"Redis not reachable at {redis_url}: {exc}")
    port = free_port()
    prefix = f"gis-test-{secrets.token_hex(4)}"
    settings = order_settings(instance=tmp_path / "instance", db_url=postgres.new_database(), port=port,
                              simulator=simulator, smtp=smtp)
    settings["cache"] = {"backend": "redis", "redis_url": redis_url, "key_prefix": prefix}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    env = subprocess_env()
    env["GIS_SERVICE_CONFIG"] = str(config)
    process = subprocess.Popen(
        [str(GUNICORN), "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "60", "gis_service.wsgi:app"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"

    def up():
        if process.poll() is not None:
            pytest.fail("gunicorn exited: " + process.stderr.read().decode(errors="replace")[-2000:])
        try:
            return requests.get(base + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, 60, 0.2, "gunicorn with 2 workers")
    yield Deployed(base), process
    process.terminate()
    process.wait(20)
    redis.Redis.from_url(redis_url).delete(*(redis.Redis.from_url(redis_url).keys(prefix + "*") or [b"-"]))
    shutil.rmtree(tmp_path / "instance", ignore_errors=True)


def test_two_workers_share_orders_and_cache(deployed, simulator):
    app, process = deployed
    # concurrent orders, each sent twice with the same Idempotency-Key, land on both workers
    keys = [secrets.token_hex(8) for _ in range(8)]
    bodies = {key: order_body() for key in keys}

    def send(key):
        return requests.post(app.url("/api/v1/orders"), json=bodies[key], headers={"Idempotency-Key": key}, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, keys + keys))
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses if r.status_code >= 300]
    numbers = {key: set() for key in keys}
    for key, response in zip(keys + keys, responses):
        numbers[key].add(response.json()["order_number"])
    assert all(len(n) == 1 for n in numbers.values()), "the same Idempotency-Key made two orders"
    assert len({next(iter(n)) for n in numbers.values()}) == len(keys)

    # one order paid end to end: the notification may reach either worker
    first = responses[0].json()
    token = token_of(first["status_url"])
    pay_order(app, simulator, first["order_number"], token)
    wait_status(app, first["order_number"], token, "completed", timeout=60)

    # previews rendered by one worker are served from the shared cache by both
    params = {"parcel": PARCEL, "scale": 500, "paper": "A4", "orientation": "portrait"}
    images = [requests.get(app.url("/api/v1/preview.png"), params=params, timeout=60) for _ in range(6)]
    assert all(r.status_code == 200 for r in images)
    assert len({r.content for r in images}) == 1
    assert process.poll() is None
