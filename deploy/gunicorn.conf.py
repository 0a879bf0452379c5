"""gunicorn settings for gis-service behind a reverse proxy: `gunicorn -c deploy/gunicorn.conf.py gis_service.wsgi:app`."""

# Values an operator changes come from the environment, so the systemd unit can set them
# without editing this file.
import os
import shutil
import tempfile

bind = os.environ.get("GIS_SERVICE_BIND", "127.0.0.1:8080")
# A preview render can hold a few hundred MiB (docs/benchmarks.md); two workers per two cores keep a
# burst within memory. Threads serve cached answers and searches while renders run.
workers = int(os.environ.get("GIS_SERVICE_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GIS_SERVICE_THREADS", "4"))
# Upstream requests end within source.request_timeout (10 s by default); 60 s is only the last resort.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Restart workers now and then, so that memory fragmented by large renders is returned to the system.
max_requests = 2000
max_requests_jitter = 200
# Each worker builds its own app: the order migrations run under a PostgreSQL advisory lock, so
# starting several at once is safe, and a broken config stops every worker with the key named.
preload_app = False
# The app trusts forwarded headers through server.trusted_proxies (ProxyFix); gunicorn itself
# takes the scheme only from the local proxy.
forwarded_allow_ips = "127.0.0.1,::1"
# Access log without the client address and without query strings: status links carry tokens,
# and addresses are personal data. The app logs what it needs itself.
accesslog = os.environ.get("GIS_SERVICE_ACCESS_LOG", "-")
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GIS_SERVICE_LOG_LEVEL", "info")

# /metrics sums every worker's counters: prometheus-client keeps them in files in this folder, which
# must be set before a worker imports the app and emptied when the master starts.
metrics_dir = os.environ.get("GIS_SERVICE_METRICS_DIR") or tempfile.mkdtemp(prefix="gis-service-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir


def on_starting(server):
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, mode=0o700, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
