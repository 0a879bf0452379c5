"""UpstreamSession against a real misbehaving HTTP server: deadlines, retries, breaker, coalescing, auth."""

from __future__ import annotations

import threading
import time

import pytest

from wms_clients.http import USER_AGENT, CircuitBreaker, UpstreamError, UpstreamSession


def session(**options) -> UpstreamSession:
    defaults = dict(connect_timeout=0.5, read_timeout=0.5, retries=0, backoff=0.05)
    return UpstreamSession("test", **{**defaults, **options})


def test_a_hanging_server_costs_no_more_than_the_deadline(faults):
    client = session(read_timeout=0.4, total_timeout=1.0, retries=2)
    start = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client.get(faults.url("hang"))
    elapsed = time.monotonic() - start
    assert caught.value.kind == "timeout"
    assert elapsed < 1.0 + 0.3
    # Retries happen only while the budget lasts, and never more than `retries`.
    assert 1 <= faults.hits["hang"] <= 3


def test_a_trickling_body_is_cut_off_at_the_total_deadline(faults):
    # Every byte arrives well within the read timeout, so only the total deadline can stop it.
    client = session(read_timeout=1.0, total_timeout=1.2)
    start = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client.get(faults.url("drip"))
    assert caught.value.kind == "timeout"
    assert time.monotonic() - start < 1.2 + 0.3


def test_a_slow_answer_within_the_timeouts_is_fine(faults):
    response = session(read_timeout=2.0).get(faults.url("slow"), {"WIDTH": 10, "HEIGHT": 10})
    assert response.status == 200 and response.content.startswith(b"\x89PNG")


def test_http_500_is_not_retried_and_carries_the_server_text(faults):
    client = session(retries=3)
    with pytest.raises(UpstreamError) as caught:
        client.get(faults.url("error500"))
    assert caught.value.kind == "unavailable"
    assert caught.value.status == 500
    assert "database connection lost" in caught.value.server_message
    assert faults.hits["error500"] == 1


def test_503_is_retried_a_bounded_number_of_times(faults):
    client = session(retries=2, backoff=0.01, total_timeout=5)
    with pytest.raises(UpstreamError) as caught:
        client.get(faults.url("unavailable"))
    assert caught.value.kind == "unavailable"
    assert caught.value.server_message.startswith("502 Proxy Error")
    assert faults.hits["unavailable"] == 3
    assert client.stats.retries == 2


def test_a_flaky_server_is_rescued_by_retries(faults):
    client = session(retries=2, backoff=0.01, total_timeout=5)
    response = client.get(faults.url("flaky"))
    assert response.status == 200
    assert faults.hits["flaky"] == 3


def test_4xx_is_neither_retried_nor_counted_against_the_server(faults):
    client = session(retries=2, failure_threshold=1)
    with pytest.raises(UpstreamError) as caught:
        client.get(faults.url("notfound"))
    assert caught.value.kind == "bad-response" and caught.value.status == 404
    assert faults.hits["notfound"] == 1
    assert client.breaker.state == CircuitBreaker.CLOSED


def test_an_exception_report_with_http_400_is_an_exception_report(faults):
    with pytest.raises(UpstreamError) as caught:
        session().get(faults.url("ows-exception-400"))
    assert caught.value.kind == "exception-report"
    assert "temporarily not available" in caught.value.server_message


def test_connection_refused_opens_the_circuit_which_later_half_opens(faults, refused_url):
    client = session(retries=1, backoff=0.01, failure_threshold=3, reset_timeout=0.6)
    for _ in range(3):
        with pytest.raises(UpstreamError) as caught:
            client.get(refused_url)
        assert caught.value.kind == "unavailable"
    assert client.breaker.state == CircuitBreaker.OPEN
    assert client.stats.attempts == 6  # each call retried once, then gave up

    start = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client.get(faults.url("echo"))
    assert caught.value.kind == "circuit-open"
    assert "next try in" in caught.value.message
    assert time.monotonic() - start < 0.05
    assert "echo" not in faults.hits  # failed fast: the server never saw it

    time.sleep(0.65)
    assert client.breaker.state == CircuitBreaker.HALF_OPEN
    with pytest.raises(UpstreamError):  # the probe fails: open again at once, no retry
        client.get(refused_url)
    assert client.breaker.state == CircuitBreaker.OPEN
    time.sleep(0.65)
    assert client.get(faults.url("echo")).status == 200  # the probe succeeds
    assert client.breaker.state == CircuitBreaker.CLOSED


def test_only_one_half_open_probe_goes_out(faults):
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.0)
    breaker.failure()
    assert breaker.acquire() is True
    with pytest.raises(Exception):
        breaker.acquire()  # a second caller while the probe runs fails fast
    breaker.success()
    assert breaker.acquire() is False


def test_identical_concurrent_requests_go_upstream_once(faults):
    client = session(read_timeout=3.0, total_timeout=5.0)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def call():
        barrier.wait()
        try:
            results.append(client.get(faults.url("counted"), {"WIDTH": 20, "HEIGHT": 10, "A": "1"}))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert faults.hits["counted"] == 1
    assert len(results) == 8 and len({id(r) for r in results}) == 1
    assert client.stats.coalesced == 7


def test_different_parameters_are_not_coalesced(faults):
    client = session(read_timeout=3.0, total_timeout=5.0)
    threads = [
        threading.Thread(target=client.get, args=(faults.url("counted"), {"WIDTH": w})) for w in (10, 11, 12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert faults.hits["counted"] == 3


def test_a_failure_is_shared_by_every_waiting_caller(faults):
    client = session(read_timeout=0.3, total_timeout=0.6)
    barrier = threading.Barrier(4)
    kinds = []

    def call():
        barrier.wait()
        try:
            client.get(faults.url("hang"))
        except UpstreamError as exc:
            kinds.append(exc.kind)

    threads = [threading.Thread(target=call) for _ in range(4)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert kinds == ["timeout"] * 4
    assert time.monotonic() - start < 0.6 + 1.2
    assert faults.hits["hang"] <= 2


def test_user_agent_extra_headers_and_basic_auth(faults):
    client = session(auth=("user", "secret"), headers={"X-Api-Key": "k1"})
    assert client.get(faults.url("auth")).status == 200
    _, _, headers = faults.requests[-1]
    assert headers["User-Agent"] == USER_AGENT == "gis-service/0.1"
    assert headers["X-Api-Key"] == "k1"
    with pytest.raises(UpstreamError) as caught:
        session().get(faults.url("auth"))
    assert caught.value.status == 401 and caught.value.server_message == "who are you?"


def test_an_oversized_body_is_refused(faults):
    with pytest.raises(UpstreamError) as caught:
        session(max_body_bytes=100_000).get(faults.url("big"))
    assert caught.value.kind == "too-large"
    assert "limit" in caught.value.message


def test_post_is_not_retried_unless_idempotent(faults):
    with pytest.raises(UpstreamError):
        session(retries=2, backoff=0.01).post(faults.url("unavailable"), b"<x/>")
    assert faults.hits["unavailable"] == 1
    faults.reset()
    with pytest.raises(UpstreamError):
        session(retries=2, backoff=0.01).post(faults.url("unavailable"), b"<x/>", idempotent=True)
    assert faults.hits["unavailable"] == 3

