"""A scripted citizen session in headless Chromium on the picker, against MapServer behind a 400 ms delay: waiting and upstream requests.

Run by hand: .venv/bin/python bench/bench_session.py [--dataset neuwerk|demo] [--delay-ms 400] [--json out.json]

MapServer (the test upstream, its own process) stands behind a small proxy that holds every answer
for `--delay-ms` (a state WMS answers in 0.3–1.5 s) and counts the requests by kind. The service
runs on a fresh cache and instance folder, pointed at the proxy. Debian's Chromium (through
Playwright, as the browser tests do) plays a citizen on `/embed`:

  open the picker · search an address · pick the suggestion (the map goes to the parcel, the
  preview opens) · move the print area five times with the buttons · change the scale twice ·
  pan the map four times · zoom in once

Each step's waiting is measured in the page: from the action to the end of the last map, tile or
preview answer it caused (resource timing) or to the preview being shown (`aria-busy` gone),
whichever is later. The next step starts once nothing is loading. Then a second citizen, in a fresh
browser context (empty browser cache), does the same next door on the same server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import requests  # noqa: E402

from bench_upstream import mapserver_missing, start_mapserver, upstream_source  # noqa: E402
from gis_testing import GENEROUS_RATE_LIMITS  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# A step is over when nothing the page asked the service for has been loading for this long: longer
# than the picker's debounce of a print-area move (350 ms), so a request still to come is not missed.
QUIET_MS = 800
STEP_TIMEOUT_S = 60

# (first citizen's address, second citizen's address next door)
ADDRESSES = {"neuwerk": ("Insel Neuwerk 7a", "Insel Neuwerk 5"), "demo": ("Mühlenweg 12a", "Mühlenweg 10")}

# Records, in the page's own clock, when the preview stops being busy; the resource timing buffer
# must hold every tile of a session.
INIT_SCRIPT = """
(() => {
  performance.setResourceTimingBufferSize(100000);
  window.__bench = { shown: [] };
  const watch = () => {
    const figure = document.getElementById('preview-figure');
    if (!figure) return false;
    new MutationObserver(() => {
      if (!figure.hasAttribute('aria-busy')) window.__bench.shown.push(performance.now());
    }).observe(figure, { attributes: true, attributeFilter: ['aria-busy'] });
    return true;
  };
  if (!watch()) document.addEventListener('DOMContentLoaded', watch);
})();
"""

# How long the citizen waited since t0: the latest end of an answer from the service that was still
# outstanding at t0 or started after it (static files aside), or the preview shown, if later.
WAITED_JS = """
(t0) => {
  const ends = performance.getEntriesByType('resource')
    .filter((e) => e.responseEnd > t0 && !new URL(e.name).pathname.startsWith('/static/'))
    .map((e) => e.responseEnd);
  const shown = window.__bench.shown.filter((t) => t > t0);
  const last = Math.max(t0, ...ends, ...shown);
  return { waited: last - t0, answers: ends.length };
}
"""


class DelayProxy:
    """A real HTTP server before the upstream: holds each answer for `delay` seconds, counts requests by kind."""

    def __init__(self, target: str, delay: float):
        self.target = target.rstrip("/")
        self.delay = delay
        self.counts: Counter[str] = Counter()
        self.log: list[str] = []  # every request, for --verbose
        self._lock = threading.Lock()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002 - stdlib signature
                pass

            def do_GET(self):
                proxy.relay(self, None)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                proxy.relay(self, self.rfile.read(length))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    @staticmethod
    def kind(path: str, body: bytes | None) -> str:
        query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        request = query.get("request", "")
        if not request and body:
            text = body[:400].decode("utf-8", "replace")
            request = "GetFeature" if "GetFeature" in text else "POST"
        return request or "other"

    @staticmethod
    def describe(kind: str, path: str, body: bytes | None) -> str:
        query = {k.upper(): v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        if kind == "GetMap":
            return f"GetMap {query.get('WIDTH')}×{query.get('HEIGHT')} px, bbox {query.get('BBOX')}"
        return f"{kind} {path[:120]}" + (f" {body[:200]!r}" if body else "")

    def relay(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        path = handler.path if handler.path.startswith("/") else "/" + handler.path
        with self._lock:
            kind = self.kind(path, body)
            self.counts[kind] += 1
            self.log.append(self.describe(kind, path, body))
        try:
            if body is None:
                answer = self.session().get(self.target + path, timeout=60)
            else:
                answer = self.session().post(self.target + path, data=body, timeout=60,
                                             headers={"Content-Type": handler.headers.get("Content-Type", "text/xml")})
            status, content_type, content = answer.status_code, answer.headers.get("Content-Type", ""), answer.content
        except requests.RequestException:
            status, content_type, content = 502, "text/plain", b"proxy: upstream unreachable"
        # The delay is added to the upstream's own time, as a slow state WMS would.
        time.sleep(self.delay)
        handler.send_response(status)
        handler.send_header("Content-Type", content_type or "application/octet-stream")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Step:
    name: str
    waited_ms: float
    upstream: int
    counts_map: bool = True  # a wait for a map or a preview (the search's suggestions are not)


@dataclass
class Session:
    name: str
    steps: list[Step] = field(default_factory=list)
    upstream_by_kind: Counter[str] = field(default_factory=Counter)

    @property
    def waited_ms(self) -> float:
        return sum(s.waited_ms for s in self.steps if s.counts_map)

    @property
    def upstream(self) -> int:
        return sum(s.upstream for s in self.steps)


class Citizen:
    """One browser context on the picker; every action is started in the page, timed in the page."""

    def __init__(self, browser, service: str, proxy: DelayProxy, width: int, height: int):
        self.context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                                           locale="de-DE", reduced_motion="reduce")
        self.context.add_init_script(INIT_SCRIPT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(STEP_TIMEOUT_S * 1000)
        self.service = service
        self.proxy = proxy
        self.pending: set = set()
        self.asked: list[str] = []  # what the page asked the service for, for --verbose
        self.last_activity = time.monotonic()
        self.page.on("request", self._started)
        for event in ("requestfinished", "requestfailed"):
            self.page.on(event, self._ended)
        self.errors: list[str] = []
        self.verbose = False
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _ours(self, request) -> bool:
        return request.url.startswith(self.service) and "/static/" not in request.url

    def _started(self, request) -> None:
        if self._ours(request):
            self.asked.append(request.url[len(self.service):])
            self.pending.add(request)
            self.last_activity = time.monotonic()

    def _ended(self, request) -> None:
        if request in self.pending:
            self.pending.discard(request)
            self.last_activity = time.monotonic()

    def settle(self, ready_js: str | None = None) -> None:
        """Until nothing has been loading for QUIET_MS, the preview is not busy and ready_js holds."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
            if self.pending or time.monotonic() - self.last_activity < QUIET_MS / 1000:
                continue
            state = self.page.evaluate(
                "(ready) => ({busy: document.getElementById('preview-figure')?.getAttribute('aria-busy') === 'true',"
                " ready: ready ? Boolean(eval(ready)) : true})", ready_js)
            if not state["busy"] and state["ready"]:
                return
        raise TimeoutError(f"the page did not settle within {STEP_TIMEOUT_S} s ({len(self.pending)} requests pending)")

    def step(self, session: Session, name: str, action_js: str | None, ready_js: str | None = None, *,
             counts_map: bool = True) -> Step:
        """Runs action_js in the page (t0 is taken right before it; None: open the picker, t0 is the
        navigation's start), waits until the page has settled, and measures."""
        before = self.proxy.snapshot()
        logged, asked = len(self.proxy.log), len(self.asked)
        if action_js is None:
            self.page.goto(f"{self.service}/embed?lang=de")
            self.page.wait_for_selector("#picker:not([hidden])")
            t0 = 0.0
        else:
            t0 = self.page.evaluate(f"() => {{ const t0 = performance.now(); ({action_js})(); return t0; }}")
        self.settle(ready_js)
        measured = self.page.evaluate(WAITED_JS, t0)
        after = self.proxy.snapshot()
        step = Step(name, measured["waited"], sum((after - before).values()), counts_map)
        session.steps.append(step)
        session.upstream_by_kind.update(after - before)
        if self.verbose:
            print(f"  {name}: {step.waited_ms:.0f} ms", *(f"    page: {url[:150]}" for url in self.asked[asked:]),
                  *(f"    upstream: {line}" for line in self.proxy.log[logged:]), sep="\n")
        return step

    def close(self) -> None:
        self.context.close()


def run_session(citizen: Citizen, name: str, address: str) -> Session:
    session = Session(name)
    citizen.step(session, "open the picker (map)", None)

    q = json.dumps(address)
    citizen.step(session, "search the address (suggestions)",
                 f"() => {{ const q = document.getElementById('q'); q.value = {q};"
                 " q.dispatchEvent(new Event('input', {bubbles: true})); }",
                 "document.querySelector('#suggestions [role=option]') && !document.getElementById('suggestions').hidden",
                 counts_map=False)
    citizen.step(session, "pick the suggestion: map at the parcel, preview opens",
                 "() => document.querySelector('#suggestions [role=option]').click()",
                 "document.getElementById('preview-img').complete && document.getElementById('preview-img').naturalWidth > 0")
    for direction in ("east", "east", "north", "west", "south"):
        citizen.step(session, f"move the print area {direction}",
                     f"() => document.querySelector('button[data-move={direction}]').click()")
    for scale in ("500", "2000"):
        citizen.step(session, f"scale 1:{scale}",
                     f"() => {{ const s = document.getElementById('scale'); s.value = '{scale}';"
                     " s.dispatchEvent(new Event('change', {bubbles: true})); }")
    for key in ("ArrowRight", "ArrowDown", "ArrowLeft", "ArrowLeft"):
        citizen.step(session, f"pan the map ({key})",
                     f"() => document.getElementById('map').dispatchEvent(new KeyboardEvent('keydown', "
                     f"{{key: '{key}', bubbles: true}}))")
    citizen.step(session, "zoom in",
                 "() => document.getElementById('map').dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true}))")
    if citizen.errors:
        raise RuntimeError(f"errors in the page: {citizen.errors}")
    return session


def seed(app) -> int:
    """Every metatile over the data's extent on every level, two at a time, as `gis-service seed` makes
    them; how many there were."""
    from gis_service.tiles import seed as seed_tiles

    tiles = app.extensions["gis_tiles"]
    metatiles = tiles.metatiles(app.extensions["gis_source"].info().extent, range(len(tiles.grid.matrices)))
    report = seed_tiles(tiles, metatiles, workers=2)
    if report.failed:
        raise RuntimeError(f"{report.failed} of {report.total} metatiles failed: {report.errors}")
    return len(metatiles)


def report(sessions: list[Session], title: str) -> str:
    lines = [f"### {title}", "", "| step | " + " | ".join(f"{s.name}: waited | upstream" for s in sessions) + " |",
             "|---|" + "---|---|" * len(sessions)]
    for i, step in enumerate(sessions[0].steps):
        cells = []
        for s in sessions:
            other = s.steps[i]
            mark = "" if other.counts_map else " ¹"
            cells.append(f"{other.waited_ms:.0f} ms{mark} | {other.upstream}")
        lines.append(f"| {step.name} | " + " | ".join(cells) + " |")
    lines.append("| **total (map and preview waiting)** | " + " | ".join(
        f"**{s.waited_ms / 1000:.2f} s** | **{s.upstream}**" for s in sessions) + " |")
    lines.append("")
    for s in sessions:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(s.upstream_by_kind.items()))
        lines.append(f"- {s.name}: upstream requests by kind: {kinds or 'none'}")
    lines.append("- ¹ waiting for the suggestion list, not for a map: not in the total")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="neuwerk", choices=sorted(ADDRESSES),
                        help="what MapServer serves (neuwerk needs ../shared/data)")
    parser.add_argument("--delay-ms", type=float, default=400.0, help="added to every upstream answer")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--title", default="session", help="heading of the printed table")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--verbose", action="store_true", help="print every upstream request under its step")
    parser.add_argument("--seed", action="store_true",
                        help="first make every tile of the data's area on every level, as the office's nightly "
                             "`gis-service seed` would (its upstream requests are counted apart)")
    parser.add_argument("--settings", type=json.loads, default={},
                        help='more settings for the service as JSON, e.g. \'{"tiles": {"metatile_size": 8}}\'')
    args = parser.parse_args(argv)

    if missing := mapserver_missing(args.dataset):
        print(missing, file=sys.stderr)
        return 2
    chromium = os.environ.get("GIS_SERVICE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not (ROOT / "gis_service" / "static" / "dist" / "embed.js").exists():
        print("the front-end bundle is missing: npm run build", file=sys.stderr)
        return 2
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

    from playwright.sync_api import sync_playwright
    from waitress.server import create_server

    from gis_service.app import create_app
    from gis_service.config import load_settings

    mapserver, upstream = start_mapserver(args.dataset, 4096)
    proxy = DelayProxy(upstream, args.delay_ms / 1000)
    instance = Path(tempfile.mkdtemp(prefix="bench-session-"))
    settings = load_settings(None, overrides={
        "instance_path": str(instance),
        "source": upstream_source(args.dataset, proxy.url),
        "limits": {"rate": GENEROUS_RATE_LIMITS},
        "logging": {"requests": False},
        **args.settings,
    })
    app = create_app(settings)
    server = create_server(app, host="127.0.0.1", port=0, threads=settings.server.threads)
    threading.Thread(target=server.run, daemon=True).start()
    service = f"http://127.0.0.1:{server.effective_port}"
    print(f"MapServer {upstream} ({args.dataset}) behind {proxy.url} (+{args.delay_ms:.0f} ms); service {service}; "
          f"instance {instance}", flush=True)

    sessions = []
    try:
        if args.seed:
            seeded = seed(app)
            print(f"seeded the data's area on every level the night before: {seeded} metatiles, "
                  f"{proxy.total()} upstream requests (not counted below)", flush=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for name, address in zip(("first citizen", "second citizen"), ADDRESSES[args.dataset]):
                citizen = Citizen(browser, service, proxy, args.width, args.height)
                citizen.verbose = args.verbose
                try:
                    sessions.append(run_session(citizen, name, address))
                finally:
                    citizen.close()
            browser.close()
    finally:
        server.close()
        proxy.stop()
        mapserver.terminate()
        mapserver.wait(10)

    print()
    print(report(sessions, f"{args.title}: {args.dataset}, +{args.delay_ms:.0f} ms per upstream answer, "
                           f"{args.width}×{args.height} px"))
    if args.json:
        args.json.write_text(json.dumps([{
            "name": s.name, "waited_ms": round(s.waited_ms, 1), "upstream": s.upstream,
            "upstream_by_kind": dict(s.upstream_by_kind),
            "steps": [{"name": st.name, "waited_ms": round(st.waited_ms, 1), "upstream": st.upstream,
                       "counts_map": st.counts_map} for st in s.steps],
        } for s in sessions], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
