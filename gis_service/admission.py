"""What one image request may cost: a pixel budget, a ground extent tied to the data, and a per-process render limiter."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Iterator

from cadastre.model import BBox
from catalogues import msg
from gis_service import metrics
from gis_service.config import LimitSettings
from gis_service.errors import ApiError, bad_parameter
from renderers.layout import Layout
from renderers.map import supersample_factor

log = logging.getLogger(__name__)

MEGA = 1_000_000
# The widest and highest web map image (map.png, OGC Maps) a client may ask for, in pixels.
MAX_VIEW_PX = 4096


class RendersBusy(ApiError):
    """503: this process is rendering as much as it may; the client should come back shortly."""

    status = 503
    code = "renders-busy"


def renders_busy(retry_after: int) -> RendersBusy:
    return RendersBusy(
        msg("admission_many_maps_are_being_made_right"),
        headers={"Retry-After": str(retry_after)},
    )


def page_megapixels(layout: Layout) -> float:
    """A composed page: the page image and the face pasted into it."""
    width, height = layout.image_px
    face_w, face_h = layout.map_face_size_px
    return (width * height + face_w * face_h) / MEGA


def drawing_megapixels(layout: Layout, supersample: int) -> float:
    """A face drawn from vectors: the supersampled canvas and the reduced face."""
    width, height = layout.map_face_size_px
    return width * height * (supersample * supersample + 1) / MEGA


def affordable_supersample(layout: Layout, limits: LimitSettings) -> int:
    """The antialiasing a drawing can have within the budget: fewer samples before refusing a large view."""
    for supersample in range(supersample_factor(layout), 0, -1):
        if drawing_megapixels(layout, supersample) <= limits.max_megapixels_per_request:
            return supersample
    return 1


def check_view(view: Layout, data_extent: BBox, limits: LimitSettings) -> None:
    """A web map view (map.png, OGC Maps, tiles): within the pixel budget, near the data, not a whole country."""
    width, height = view.map_face_size_px
    if drawing_megapixels(view, 1) > limits.max_megapixels_per_request:
        raise bad_parameter("width", msg("admission_at_most_million_pixels_per_image", max_megapixels_per_request=limits.max_megapixels_per_request))
    minx, miny, maxx, maxy = view.bbox
    if maxx - minx > limits.max_view_ground_m or maxy - miny > limits.max_view_ground_m:
        km = limits.max_view_ground_m / 1000
        raise bad_parameter("bbox", msg("admission_the_extent_may_be_at_most", km=km))
    dminx, dminy, dmaxx, dmaxy = data_extent
    if dmaxx > dminx and dmaxy > dminy:  # an upstream whose extent is not known yet lets any view through
        m = limits.view_margin_m
        if maxx < dminx - m or minx > dmaxx + m or maxy < dminy - m or miny > dmaxy + m:
            raise bad_parameter("bbox", msg("admission_the_extent_lies_outside_the_area"))


class RenderLimiter:
    """Megapixels rendering at once in this process, with a short queue; beyond it, 503 with Retry-After.

    A render larger than the whole allowance (an A0 extract for staff) runs alone. When the last
    render of a burst ends, the C allocator is asked to return freed memory to the system.
    """

    def __init__(self, limits: LimitSettings):
        self.capacity = limits.render_megapixels_in_flight
        self.queue_limit = limits.render_queue
        self.queue_seconds = limits.render_queue_seconds
        self.retry_after = limits.retry_after_seconds
        self._lock = threading.Condition()
        self._in_flight = 0.0
        self._waiting = 0
        self._peak = 0.0

    @property
    def in_flight(self) -> float:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return self._waiting

    @contextlib.contextmanager
    def admit(self, megapixels: float) -> Iterator[None]:
        cost = min(megapixels, self.capacity)
        with self._lock:
            if self._in_flight + cost > self.capacity:
                if self._waiting >= self.queue_limit:
                    metrics.RENDER_REFUSED.inc()
                    raise renders_busy(self.retry_after)
                self._waiting += 1
                metrics.RENDER_WAITING.inc()
                deadline = time.monotonic() + self.queue_seconds
                try:
                    while self._in_flight + cost > self.capacity:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            metrics.RENDER_REFUSED.inc()
                            raise renders_busy(self.retry_after)
                        self._lock.wait(remaining)
                finally:
                    self._waiting -= 1
                    metrics.RENDER_WAITING.dec()
            self._in_flight += cost
            self._peak = max(self._peak, self._in_flight)
        started = time.monotonic()
        try:
            yield
        finally:
            metrics.RENDER_SECONDS.observe(time.monotonic() - started)
            with self._lock:
                self._in_flight -= cost
                burst_over = self._in_flight <= 0 and self._waiting == 0
                if burst_over:
                    self._in_flight = 0.0
                    peak, self._peak = self._peak, 0.0
                self._lock.notify_all()
            if burst_over and peak >= 8:
                return_memory()


_LIBC = None


def return_memory() -> None:
    """glibc keeps freed large buffers mapped; malloc_trim gives them back (no-op elsewhere)."""
    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    trim = getattr(_LIBC, "malloc_trim", None) if _LIBC else None
    if trim is not None:
        trim(0)
