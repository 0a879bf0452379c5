"""Structured logs: JSON lines with the request id that the answer and the error page also show, and no search text."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served_with_json_logs(tmp_path):
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"instance_path": str(tmp_path / "instance"),
                                      "logging": {"format": "json", "level": "INFO"}}), encoding="utf-8")
    log_path = tmp_path / "stderr.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("GIS_SERVICE_CONFIG", None)
    with log_path.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "gis_service.cli", "serve", "--config", str(config),
                                    "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                if process.poll() is not None:
                    pytest.fail("gis-service serve exited: " + log_path.read_text(errors="replace")[-2000:])
                try:
                    requests.get(base + "/healthz", timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            yield base, log_path
        finally:
            process.terminate()
            process.wait(20)


def log_records(path: Path) -> list[dict]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is JSON, or this fails


def test_json_lines_carry_the_request_id_the_answer_shows(served_with_json_logs):
    base, log_path = served_with_json_logs
    search = requests.get(base + "/api/v1/parcels", params={"q": "Mühlenweg 12a"}, timeout=30)
    request_id = search.headers["X-Request-ID"]
    assert search.status_code == 200 and len(request_id) == 32

    from_proxy = requests.get(base + "/api/v1/parcels/05987100100090______", timeout=30,
                              headers={"X-Request-ID": "proxy-7f3a9c21"})
    assert from_proxy.headers["X-Request-ID"] == "proxy-7f3a9c21"
    forged = requests.get(base + "/healthz", headers={"X-Request-ID": "x" * 200}, timeout=10)
    assert forged.headers["X-Request-ID"] != "x" * 200

    problem = requests.get(base + "/api/v1/preview.png", params={"parcel": "nonsense", "scale": 1000}, timeout=30)
    assert problem.status_code in (400, 404)
    assert problem.json()["request_id"] == problem.headers["X-Request-ID"]

    page = requests.get(base + "/embed/does-not-exist", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 404
    assert f"<code>{page.headers['X-Request-ID']}</code>" in page.text

    preview = requests.get(base + "/api/v1/preview.png", timeout=60, params={
        "parcel": "05987100100090______", "scale": 1000, "paper": "A4", "orientation": "portrait"})
    assert preview.status_code == 200

    time.sleep(0.3)
    records = log_records(log_path)
    by_id = {r["request_id"]: r for r in records if r.get("message") == "request"}
    line = by_id[request_id]
    assert line["route"] == "/api/v1/parcels" and line["status"] == 200 and line["method"] == "GET"
    assert line["duration_ms"] >= 0 and line["level"] == "INFO" and "time" in line
    assert by_id["proxy-7f3a9c21"]["route"] == "/api/v1/parcels/<path:key>"
    assert by_id[problem.headers["X-Request-ID"]]["status"] == problem.status_code
    assert by_id[preview.headers["X-Request-ID"]]["map_source"] == preview.headers["X-Map-Source"]
    # the search text, the parcel key and the client address are not written
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records
                     if not r["message"].startswith("Serving on"))  # waitress names its own address
    assert "Mühlenweg" not in text and "05987100100090" not in text and "127.0.0.1" not in text


def test_text_format_names_the_request_id(caplog):
    import logging

    from gis_service.logging_setup import TEXT_FORMAT, RequestIdFilter
    from gis_service.request_context import begin_request, end_request

    record = logging.LogRecord("gis_service.x", logging.INFO, __file__, 1, "hello", None, None)
    begin_request("proxy-0123456789")
    try:
        RequestIdFilter().filter(record)
    finally:
        end_request()
    assert logging.Formatter(TEXT_FORMAT).format(record).endswith("gis_service.x [proxy-0123456789]: hello")
