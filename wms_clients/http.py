"""HTTP transport, one UpstreamSession per upstream: timeouts and a hard deadline, bounded retries, circuit breaker, coalescing (one module: every call passes through all of them)."""

from __future__ import annotations

import hashlib
import logging
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import requests

from wms_clients.ows import ogc_exception_message, server_message

USER_AGENT = "gis-service/0.1"
KINDS = ("timeout", "unavailable", "bad-response", "circuit-open", "exception-report", "too-large", "unsafe-xml")
RETRY_STATUS = frozenset({502, 503, 504})
MIB = 1024 * 1024
# Largest answer accepted per kind of request, checked while it streams in. A cadastral GetMap
# tile of 4096 px is a few MiB of PNG, a page of 2000 parcels a few MiB of GML, a capabilities
# document well under one; "other" is for requests that name no kind.
DEFAULT_BODY_LIMITS = {"getmap": 32 * MIB, "getfeature": 32 * MIB, "capabilities": 8 * MIB, "other": 64 * MIB}
BODY_KINDS = tuple(DEFAULT_BODY_LIMITS)

log = logging.getLogger(__name__)


class UpstreamError(Exception):
    """A cadastral upstream failed; `kind` says how, `server_message` is what the server said."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        server_message: str | None = None,
        upstream: str | None = None,
        url: str | None = None,
        status: int | None = None,
    ):
        if kind not in KINDS:
            raise ValueError(f"unknown UpstreamError kind {kind!r}")
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.server_message = server_message
        self.upstream = upstream
        self.url = url
        self.status = status

    def __str__(self) -> str:
        text = f"[{self.kind}] {self.message}"
        if self.server_message:
            text += f" — server said: {self.server_message}"
        return text

    def copy(self) -> "UpstreamError":
        """A fresh instance, so that several threads can raise the same failure independently."""
        return UpstreamError(
            self.message,
            kind=self.kind,
            server_message=self.server_message,
            upstream=self.upstream,
            url=self.url,
            status=self.status,
        )


@dataclass(frozen=True)
class UpstreamResponse:
    """A complete, size-checked answer with a 2xx status."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    elapsed: float

    @property
    def content_type(self) -> str:
        """Media type without parameters, lower case ("image/png")."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


# ---------------------------------------------------------------------------- circuit breaker


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failures → one half-open probe after `reset_timeout`."""

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.failure_threshold = max(1, failure_threshold)
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_running = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == self.OPEN and self._clock() - self._opened_at >= self.reset_timeout:
                return self.HALF_OPEN
            return self._state

    def retry_in(self) -> float:
        with self._lock:
            if self._state != self.OPEN:
                return 0.0
            return max(0.0, self.reset_timeout - (self._clock() - self._opened_at))

    def acquire(self) -> bool:
        """May a request go out now? Returns whether it is the half-open probe; raises when open."""
        with self._lock:
            if self._state == self.CLOSED:
                return False
            waited = self._clock() - self._opened_at
            if self._state == self.OPEN and waited >= self.reset_timeout:
                self._state = self.HALF_OPEN
            if self._state == self.HALF_OPEN and not self._probe_running:
                self._probe_running = True
                return True
            raise _BreakerOpen(max(0.0, self.reset_timeout - waited), self._failures)

    def success(self) -> None:
        with self._lock:
            if self._state != self.CLOSED:
                log.info("circuit closed again after a successful probe")
            self._state, self._failures, self._probe_running = self.CLOSED, 0, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._probe_running = False
            if self._state == self.HALF_OPEN or self._failures >= self.failure_threshold:
                if self._state != self.OPEN:
                    log.warning("circuit opened after %d consecutive failures", self._failures)
                self._state = self.OPEN
                self._opened_at = self._clock()

    def neutral(self) -> None:
        """The request ended without telling whether the upstream is healthy (e.g. a 4xx)."""
        with self._lock:
            if self._probe_running:
                self._probe_running = False
                self._state, self._failures = self.CLOSED, 0


class _BreakerOpen(Exception):
    def __init__(self, retry_in: float, failures: int):
        self.retry_in = retry_in
        self.failures = failures


# ---------------------------------------------------------------------------- the session


@dataclass
class SessionStats:
    calls: int = 0  # get()/post() calls
    attempts: int = 0  # requests that went on the wire
    retries: int = 0
    coalesced: int = 0  # calls answered by another caller's identical request
    failures: int = 0
    rejected: int = 0  # failed fast because the circuit was open
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class _Flight:
    __slots__ = ("done", "response", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: UpstreamResponse | None = None
        self.error: UpstreamError | None = None


class _Retryable(Exception):
    def __init__(self, error: UpstreamError, retry_after: float | None = None):
        self.error = error
        self.retry_after = retry_after


class UpstreamSession:
    """Every request to one upstream goes through here; no call outlasts `total_timeout`.

    connect_timeout / read_timeout bound each socket operation; total_timeout bounds a whole
    call including retries, backoff and waiting for a coalesced twin. Retries happen only for
    idempotent requests, on connection errors, timeouts and 502/503/504, and only while the
    budget lasts. max_body_bytes is one limit for every answer, or a limit per body kind
    (BODY_KINDS; missing kinds keep DEFAULT_BODY_LIMITS); each call names its body kind.
    """

    def __init__(
        self,
        name: str = "upstream",
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        total_timeout: float | None = None,
        retries: int = 2,
        backoff: float = 0.2,
        backoff_max: float = 2.0,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        max_body_bytes: int | Mapping[str, int] = DEFAULT_BODY_LIMITS,
        coalesce: bool = True,
        verify: bool | str = True,
        pool_size: int = 16,
        observer: Callable[[str, float, bool], None] | None = None,
    ):
        self.name = name
        # Told of every call's outcome ("ok" or the error kind), its seconds and whether the circuit
        # is open afterwards; the service counts these for its metrics.
        self.observer = observer
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout if total_timeout is not None else connect_timeout + read_timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.body_limits = _body_limits(max_body_bytes)
        self.coalesce = coalesce
        self.breaker = CircuitBreaker(failure_threshold, reset_timeout)
        self.stats = SessionStats()
        self._flights: dict[str, _Flight] = {}
        self._flights_lock = threading.Lock()

        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.max_redirects = 5
        self._session.verify = verify
        self._session.headers["User-Agent"] = USER_AGENT
        self._session.headers.update(headers or {})
        if auth:
            self._session.auth = requests.auth.HTTPBasicAuth(*auth)

    # ------------------------------------------------------------------ public

    def get(
        self,
        url: str,
        params: Mapping[str, object] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        body_kind: str = "other",
    ) -> UpstreamResponse:
        return self.request("GET", url, params=params, headers=headers, idempotent=True, body_kind=body_kind)

    def post(
        self,
        url: str,
        data: bytes,
        *,
        content_type: str = "text/xml; charset=utf-8",
        params: Mapping[str, object] | None = None,
        idempotent: bool = False,
        headers: Mapping[str, str] | None = None,
        body_kind: str = "other",
    ) -> UpstreamResponse:
        """POST; pass idempotent=True (e.g. a WFS GetFeature) to allow retries and coalescing."""
        merged = {"Content-Type": content_type, **(headers or {})}
        return self.request(
            "POST", url, params=params, data=data, headers=merged, idempotent=idempotent, body_kind=body_kind
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, object] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
        body_kind: str = "other",
    ) -> UpstreamResponse:
        if body_kind not in self.body_limits:
            raise ValueError(f"body_kind must be one of {BODY_KINDS}, not {body_kind!r}")
        self.stats.add(calls=1)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if not (self.coalesce and idempotent):
            return self._call(method, url, params, data, headers, idempotent, body_kind)

        key = self._key(method, url, params, data, headers, body_kind)
        with self._flights_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        if leader:
            try:
                flight.response = self._call(method, url, params, data, headers, idempotent, body_kind)
            except UpstreamError as error:
                flight.error = error
                raise
            except BaseException as exc:
                flight.error = UpstreamError(
                    f"request to {self.name} failed unexpectedly ({type(exc).__name__}: {exc})",
                    kind="bad-response", upstream=self.name, url=url,
                )
                raise
            finally:
                with self._flights_lock:
                    self._flights.pop(key, None)
                flight.done.set()
            return flight.response

        self.stats.add(coalesced=1)
        # The leader is itself bounded by total_timeout; the margin covers its bookkeeping.
        if not flight.done.wait(self.total_timeout + 1.0):
            raise UpstreamError(
                f"no answer from {self.name} within {self.total_timeout:.1f} s (waiting for an identical request)",
                kind="timeout", upstream=self.name, url=url,
            )
        if flight.error is not None or flight.response is None:
            raise (flight.error or UpstreamError("identical request ended without an answer", kind="bad-response")).copy()
        return flight.response

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "UpstreamSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _key(method, url, params, data, headers, body_kind) -> str:
        digest = hashlib.sha256()
        digest.update(method.encode() + b"\0" + url.encode() + b"\0" + body_kind.encode() + b"\0")
        for name, value in sorted((str(k).upper(), str(v)) for k, v in params.items()):
            digest.update(name.encode() + b"=" + value.encode() + b"\0")
        for name, value in sorted((headers or {}).items()):
            digest.update(name.lower().encode() + b":" + str(value).encode() + b"\0")
        digest.update(data or b"")
        return digest.hexdigest()

    def _call(self, method, url, params, data, headers, idempotent, body_kind) -> UpstreamResponse:
        started = time.monotonic()
        outcome = "ok"
        try:
            return self._call_through_breaker(method, url, params, data, headers, idempotent, body_kind)
        except UpstreamError as error:
            outcome = error.kind
            raise
        except BaseException:
            outcome = "error"
            raise
        finally:
            if self.observer is not None:
                self.observer(outcome, time.monotonic() - started, self.breaker.state == CircuitBreaker.OPEN)

    def _call_through_breaker(self, method, url, params, data, headers, idempotent, body_kind) -> UpstreamResponse:
        try:
            probe = self.breaker.acquire()
        except _BreakerOpen as open_:
            self.stats.add(rejected=1)
            raise UpstreamError(
                f"{self.name} is not being asked: it failed {open_.failures} times in a row; "
                f"next try in {open_.retry_in:.0f} s",
                kind="circuit-open", upstream=self.name, url=url,
            ) from None

        try:
            response = self._with_retries(method, url, params, data, headers, idempotent, probe, body_kind)
        except UpstreamError as error:
            self._record(error)
            raise
        except BaseException:
            self.breaker.neutral()  # our own fault; never leave a probe hanging
            raise
        self.breaker.success()
        return response

    def _with_retries(self, method, url, params, data, headers, idempotent, probe, body_kind) -> UpstreamResponse:
        deadline = time.monotonic() + self.total_timeout
        # A probe tells whether the upstream is back; retrying it would only delay the answer.
        attempts = 1 if (probe or not idempotent) else self.retries + 1
        last: UpstreamError | None = None
        for attempt in range(attempts):
            if deadline - time.monotonic() <= 0.05:
                break
            try:
                return self._attempt(method, url, params, data, headers, deadline, body_kind)
            except _Retryable as retryable:
                last, retry_after = retryable.error, retryable.retry_after
            if attempt + 1 >= attempts:
                break
            delay = min(self.backoff_max, self.backoff * (2**attempt)) * (0.5 + random.random() / 2)
            if retry_after is not None:
                delay = max(delay, retry_after)
            if time.monotonic() + delay >= deadline - 0.05:
                break  # no time left for another try
            log.info("%s: %s; retry %d in %.2f s", self.name, last, attempt + 1, delay)
            self.stats.add(retries=1)
            time.sleep(delay)
        raise last or UpstreamError(
            f"no answer from {self.name} within {self.total_timeout:.1f} s",
            kind="timeout", upstream=self.name, url=url,
        )

    def _record(self, error: UpstreamError) -> None:
        self.stats.add(failures=1)
        if error.kind in ("timeout", "unavailable"):
            self.breaker.failure()
        else:
            self.breaker.neutral()

    def _attempt(self, method, url, params, data, headers, deadline, body_kind) -> UpstreamResponse:
        self.stats.add(attempts=1)
        start = time.monotonic()
        remaining = deadline - start
        timeout = (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))
        try:
            response = self._session.request(
                method, url, params=params, data=data, headers=headers, timeout=timeout, stream=True
            )
        except requests.exceptions.Timeout as exc:
            raise _Retryable(self._error("timeout", f"no answer from {self.name} in time ({_why(exc)})", url))
        except requests.exceptions.ConnectionError as exc:
            if time.monotonic() >= deadline:
                raise _Retryable(self._error("timeout", f"no answer from {self.name} in time", url))
            raise _Retryable(self._error("unavailable", f"cannot reach {self.name} ({_why(exc)})", url))
        except requests.exceptions.RequestException as exc:
            raise self._error("bad-response", f"request to {self.name} failed ({_why(exc)})", url) from exc

        with response:
            body = self._read_body(response, deadline, url, body_kind)
        elapsed = time.monotonic() - start
        status = response.status_code
        if 200 <= status < 300:
            return UpstreamResponse(response.url, status, response.headers, body, elapsed)

        said = server_message(body)
        ogc = ogc_exception_message(body)
        if status in RETRY_STATUS:
            raise _Retryable(
                self._error("unavailable", f"{self.name} answered HTTP {status}", url, said, status),
                _retry_after(response.headers.get("Retry-After")),
            )
        if ogc:
            raise self._error("exception-report", f"{self.name} answered HTTP {status} with an exception report", url, ogc, status)
        if status >= 500:
            raise self._error("unavailable", f"{self.name} answered HTTP {status}", url, said, status)
        raise self._error("bad-response", f"{self.name} answered HTTP {status}", url, said, status)

    def _read_body(self, response: requests.Response, deadline: float, url: str, body_kind: str) -> bytes:
        limit = self.body_limits[body_kind]
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise self._error(
                "too-large",
                f"{self.name} announced {int(length)} bytes, more than the limit of {limit} for {body_kind} answers",
                url,
            )
        # requests' read timeout is per socket read: a server that trickles bytes would never
        # trip it. A watchdog shuts the socket down at the deadline so the read returns.
        sock = _socket_of(response)
        watchdog = None
        if sock is not None:
            watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shutdown, (sock,))
            watchdog.daemon = True
            watchdog.start()
        chunks, size = [], 0
        try:
            # Counted after decoding (gzip), chunk by chunk: nothing past the limit is kept.
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise self._error(
                        "too-large",
                        f"{self.name} sent more than the limit of {limit} bytes for {body_kind} answers",
                        url,
                    )
                if time.monotonic() > deadline:
                    raise _Retryable(self._error("timeout", f"{self.name} did not finish its answer in time", url))
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            if time.monotonic() >= deadline - 0.01:
                raise _Retryable(self._error("timeout", f"{self.name} did not finish its answer in time", url))
            raise _Retryable(self._error("unavailable", f"{self.name} broke off its answer ({_why(exc)})", url))
        finally:
            if watchdog is not None:
                watchdog.cancel()
        if time.monotonic() > deadline:
            raise _Retryable(self._error("timeout", f"{self.name} did not finish its answer in time", url))
        return b"".join(chunks)

    def _error(self, kind, message, url, said=None, status=None) -> UpstreamError:
        return UpstreamError(message, kind=kind, server_message=said, upstream=self.name, url=url, status=status)


def _body_limits(limits: int | Mapping[str, int]) -> dict[str, int]:
    if isinstance(limits, int):
        return dict.fromkeys(BODY_KINDS, limits)
    unknown = set(limits) - set(BODY_KINDS)
    if unknown:
        raise ValueError(f"unknown body kind(s) {sorted(unknown)}; known: {BODY_KINDS}")
    return {**DEFAULT_BODY_LIMITS, **limits}


def _socket_of(response: requests.Response) -> socket.socket | None:
    connection = getattr(response.raw, "connection", None)
    return getattr(connection, "sock", None)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _why(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, without the URL noise."""
    reason = exc
    while True:
        inner = getattr(reason, "reason", None) or (reason.args[0] if reason.args and isinstance(reason.args[0], BaseException) else None)
        if inner is None or inner is reason:
            break
        reason = inner
    text = str(reason)
    text = re.sub(r"<urllib3\.[^>]*>: ", "", text)
    text = re.sub(r"HTTPS?Connection(?:Pool)?\([^)]*\):\s*", "", text)
    return text[:200] or type(reason).__name__
