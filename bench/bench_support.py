"""What several benchmarks share: the service under gunicorn on a free port, waited for until it answers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def start_gunicorn(config: Path, port: int, env: dict, *, workers: int = 2, threads: int = 4) -> tuple[subprocess.Popen, str]:
    """gunicorn (gthread) on the configuration file; returns the process and its base URL once /healthz answers."""
    env = {**env, "GIS_SERVICE_CONFIG": str(config)}
    process = subprocess.Popen(
        [str(GUNICORN), "-w", str(workers), "-k", "gthread", "--threads", str(threads), "-b", f"127.0.0.1:{port}",
         "--timeout", "60", "gis_service.wsgi:app"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit("gunicorn exited at start")
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")
