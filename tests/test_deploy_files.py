"""The files in deploy/, run for real: gunicorn with deploy/gunicorn.conf.py behind nginx with deploy/nginx/gis-service.conf (TLS)."""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def site_for_test(site: str, *, http_port: int, https_port: int, app_port: int, cert: Path, key: Path) -> str:
    """The shipped site with only the ADAPT lines (and the ports a test can bind) changed."""
    replacements = [
        ("server 127.0.0.1:8080;", f"server 127.0.0.1:{app_port};"),
        ("server_name karte.example.de;", "server_name localhost;"),
        ("/etc/ssl/certs/karte.example.de.pem", str(cert)),
        ("/etc/ssl/private/karte.example.de.key", str(key)),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:80;\n", ""),
        ("listen [::]:443 ssl http2;\n", ""),
    ]
    for old, new in replacements:
        assert old in site, f"deploy/nginx/gis-service.conf no longer has {old!r}"
        site = site.replace(old, new)
    return site


def wait_for(url: str, process: subprocess.Popen, what: str, **kwargs) -> None:
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            requests.get(url, timeout=1, **kwargs)
            return
        except requests.RequestException:
            time.sleep(0.1)
    pytest.fail(f"{what} did not answer at {url}")


@pytest.fixture
def deployed(tmp_path):
    if not GUNICORN.exists():
        pytest.fail(f"gunicorn is a dependency of the project but missing at {GUNICORN}")
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: scripts/install installs Debian's nginx-light")
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    public = f"https://localhost:{https_port}"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "instance_path": str(tmp_path / "instance"),
        "secret_key": "deploy-test-secret-key-0123456789abcdef",
        "server": {"trusted_proxies": 1},
        "orders": {"database_url": f"sqlite:///{tmp_path / 'orders.sqlite3'}", "public_base_url": public,
                   "payment": {"base_url": "http://127.0.0.1:9", "originator_id": "deploy-test",
                               "secret": "deploy-test-secret-" + "x" * 20},
                   "smtp": {"enabled": False}},
    }), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "GIS_SERVICE_CONFIG": str(config),
           "GIS_SERVICE_BIND": f"127.0.0.1:{app_port}", "GIS_SERVICE_ACCESS_LOG": str(tmp_path / "access.log"),
           "GIS_SERVICE_METRICS_DIR": str(tmp_path / "metrics")}
    env.pop("DATABASE_URL", None)
    gunicorn = subprocess.Popen([str(GUNICORN), "-c", str(REPO / "deploy" / "gunicorn.conf.py"), "gis_service.wsgi:app"],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cert, key = self_signed_certificate(tmp_path)
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    site = site_for_test((REPO / "deploy" / "nginx" / "gis-service.conf").read_text(encoding="utf-8"),
                         http_port=http_port, https_port=https_port, app_port=app_port, cert=cert, key=key)
    (prefix / "site.conf").write_text(site, encoding="utf-8")
    (prefix / "nginx.conf").write_text(
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n"
        f"  include {prefix}/site.conf;\n}}\n", encoding="utf-8")
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(f"http://127.0.0.1:{app_port}/healthz", gunicorn, "gunicorn")
        wait_for(f"{public}/healthz", nginx, "nginx", verify=False)
        yield {"metrics_dir": tmp_path / "metrics", "public": public, "http": f"http://localhost:{http_port}", "app": f"http://127.0.0.1:{app_port}",
               "gunicorn": gunicorn, "access_log": tmp_path / "access.log", "cert": str(cert)}
    finally:
        nginx.terminate()
        gunicorn.terminate()
        nginx.wait(20)
        gunicorn.wait(40)


def test_gunicorn_config_runs_two_workers_behind_the_nginx_site(deployed):
    public, cert = deployed["public"], deployed["cert"]
    children = Path(f"/proc/{deployed['gunicorn'].pid}/task/{deployed['gunicorn'].pid}/children").read_text().split()
    assert len(children) == 2, "deploy/gunicorn.conf.py starts two workers by default"

    ready = requests.get(f"{public}/readyz", verify=cert, timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"

    # The app sees the client's scheme, host and port through the forwarded headers: its own links
    # are https on the public port, and it sends HSTS because it knows the request came over TLS.
    landing = requests.get(f"{public}/ogc", params={"f": "json"}, verify=cert, timeout=30)
    assert landing.status_code == 200
    assert {link["href"].split("/ogc")[0] for link in landing.json()["links"]} == {public}
    assert landing.headers["Strict-Transport-Security"].startswith("max-age=")

    # Cache headers of the app pass through the proxy unchanged.
    direct = requests.get(deployed["app"] + "/api/v1/parcels/05987100100090______", timeout=30)
    proxied = requests.get(f"{public}/api/v1/parcels/05987100100090______", verify=cert, timeout=30)
    assert proxied.status_code == 200 and proxied.headers.get("Cache-Control") == direct.headers.get("Cache-Control")
    assert proxied.headers.get("Content-Security-Policy") == direct.headers.get("Content-Security-Policy")

    # Plain http is sent to https.
    redirect = requests.get(deployed["http"] + "/healthz", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://localhost")

    # The access log carries neither client addresses nor query strings (tokens live there).
    requests.get(f"{public}/api/v1/parcels", params={"q": "Mühlenweg 12a", "token": "secret-token-123"},
                 verify=cert, timeout=30)
    log = deployed["access_log"].read_text(encoding="utf-8")
    assert "/api/v1/parcels" in log and "secret-token-123" not in log and "127.0.0.1" not in log


def test_metrics_sum_both_workers_and_read_the_order_database(deployed):
    from prometheus_client.parser import text_string_to_metric_families

    app = deployed["app"]
    route = "/api/v1/parcels/<path:key>"
    with requests.Session() as first, requests.Session() as second:  # two connections: both workers answer
        for i in range(20):
            session = first if i % 2 else second
            assert session.get(app + "/api/v1/parcels/05987100100090______", timeout=30).status_code == 200

    def counted() -> tuple[float, dict]:
        text = requests.get(app + "/metrics", timeout=30).text
        found, names = 0.0, {}
        for family in text_string_to_metric_families(text):  # prometheus-client's own parser
            for sample in family.samples:
                names[sample.name] = sample
                if sample.name == "gis_http_requests_total" and sample.labels.get("route") == route:
                    found += sample.value
        return found, names

    # each scrape may land on either worker; every one must show all 20, summed over both
    for _ in range(6):
        total, names = counted()
        assert total == 20
    assert names["gis_mail_outbox_oldest_pending_seconds"].value == 0
    assert "gis_order_task_overdue_seconds" in names and "gis_orders_needing_a_person" in names
    workers = {int(p) for p in Path(f"/proc/{deployed['gunicorn'].pid}/task/{deployed['gunicorn'].pid}/children")
               .read_text().split()}
    assert len(workers) == 2
    # both workers keep their counters in the shared folder (which is what lets any of them answer for all)
    assert {f"counter_{pid}.db" for pid in workers} <= {p.name for p in deployed["metrics_dir"].glob("counter_*.db")}

    # nginx passes /metrics to loopback only; from there the app sees the client through the proxy
    through_proxy = requests.get(deployed["public"] + "/metrics", verify=deployed["cert"], timeout=30)
    assert through_proxy.status_code == 200
