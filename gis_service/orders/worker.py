"""A background thread that does the order work that is due: production, reconciliation, refunds, mail."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class OrderWorker:
    def __init__(self, service, interval_seconds: float):
        self.service = service
        self.interval = interval_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self.service.wake = self.wake
        self._thread = threading.Thread(target=self._run, name="gis-service-orders", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            self._wake.clear()
            try:
                # On start, work left by a crashed process is picked up at once.
                self.service.run_due(startup=first)
            except Exception:  # noqa: BLE001 - the thread must survive anything
                log.exception("order worker round failed")
            first = False
            self._wake.wait(self.interval)
