"""Admission control: the pixel budget, the view extent and the render limiter, alone and under a burst on a real server."""

from __future__ import annotations

import sys
import tempfile
import threading
import time

import pytest

from gis_service.admission import RenderLimiter, RendersBusy, affordable_supersample, check_view
from gis_service.config import LimitSettings
from gis_service.errors import ApiError
from gis_testing import REPO
from renderers.layout import make_view

sys.path.insert(0, str(REPO / "bench"))
from bench_admission import burst, start_server  # noqa: E402

DEMO_EXTENT = (352000.0, 5702500.0, 353800.0, 5704100.0)


def test_a_view_far_from_the_data_or_too_large_is_refused():
    limits = LimitSettings()
    check_view(make_view((352800, 5703200, 352900, 5703300), 256, 256), DEMO_EXTENT, limits)
    with pytest.raises(ApiError, match="outside the area"):
        check_view(make_view((400000, 5703200, 400100, 5703300), 256, 256), DEMO_EXTENT, limits)
    with pytest.raises(ApiError, match="km"):
        check_view(make_view((300000, 5650000, 400000, 5750000), 256, 256), DEMO_EXTENT, limits)
    with pytest.raises(ApiError, match="million pixels"):
        check_view(make_view((352800, 5703200, 352900, 5703300), 8000, 8000), DEMO_EXTENT, limits)
    # an upstream that has not told its extent yet: only the size rules apply
    check_view(make_view((400000, 5703200, 400100, 5703300), 256, 256), (0.0, 0.0, 0.0, 0.0), limits)


def test_a_large_view_is_drawn_with_fewer_samples_instead_of_refused():
    limits = LimitSettings(max_megapixels_per_request=40)
    assert affordable_supersample(make_view((0, 0, 100, 100), 1024, 1024), limits) == 2
    assert affordable_supersample(make_view((0, 0, 100, 100), 4096, 4096), limits) == 1


def test_the_limiter_queues_briefly_then_answers_busy():
    limiter = RenderLimiter(LimitSettings(render_megapixels_in_flight=10, render_queue=1, render_queue_seconds=0.3,
                                          retry_after_seconds=7))
    entered = threading.Event()
    release = threading.Event()

    def hold():
        with limiter.admit(8):
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    waited = []

    def queued():
        start = time.monotonic()
        try:
            with limiter.admit(5):
                pass
        except RendersBusy as busy:
            waited.append((time.monotonic() - start, busy.headers["Retry-After"]))

    in_queue = threading.Thread(target=queued)
    in_queue.start()
    time.sleep(0.05)
    with pytest.raises(RendersBusy):  # the queue holds one: the next is refused at once
        with limiter.admit(5):
            pass
    in_queue.join(5)
    assert waited and waited[0][0] >= 0.25 and waited[0][1] == "7"
    # a render larger than the whole allowance runs alone once the others are done
    release.set()
    holder.join(5)
    with limiter.admit(1000):
        assert limiter.in_flight == 10
    assert limiter.in_flight == 0 and limiter.waiting == 0


@pytest.mark.timeout(240)
def test_sixteen_huge_new_map_images_at_once_stay_within_memory_and_keep_liveness():
    """The issue's burst: 16 × 4096² with new bboxes. Every answer an image or a 503 with Retry-After,
    liveness answers throughout, the server grows by less than 700 MiB (bench/bench_admission.py has the times)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc for the server's memory")
    with tempfile.TemporaryDirectory() as instance:
        process, base = start_server(instance)
        try:
            result = burst(base, process.pid, requests=16, size=4096)
        finally:
            process.kill()
    assert len(result.statuses) == 16 and set(result.statuses) <= {200, 503}, result.statuses
    assert 200 in result.statuses and result.retry_after_missing == 0
    assert result.health_failures == 0 and result.health_latencies
    assert result.rss_peak - result.rss_before < 700, (result.rss_before, result.rss_peak)
