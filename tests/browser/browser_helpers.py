"""Steps the browser tests share: find things in the picker iframe, drive it by mouse, keyboard and touch, read what the host got."""

from __future__ import annotations

import re
import time

from playwright.sync_api import FrameLocator, Page, expect

EXAMPLE_ADDRESS = "Mühlenweg 12a"
EXAMPLE_KEY = "05987100100090______"
NO_INNER_SCROLL_TOLERANCE_PX = 2


def open_demo(page: Page, url: str) -> FrameLocator:
    page.goto(url)
    frame = page.frame_locator("#picker-frame")
    expect(frame.locator("#picker")).to_be_visible()
    return frame


def preview_src(frame: FrameLocator) -> str:
    return frame.locator("#preview-img").get_attribute("src") or ""


def wait_preview(frame: FrameLocator, *fragments: str) -> str:
    """Waits until the preview image asks for all fragments and has loaded; returns its URL."""
    image = frame.locator("#preview-img")
    for fragment in fragments:
        expect(image).to_have_attribute("src", re.compile(re.escape(fragment)))
    expect(frame.locator("#preview-figure")).not_to_have_attribute("aria-busy", "true")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0"), "the preview image did not load"
    return preview_src(frame)


def chosen_key(frame: FrameLocator) -> str:
    return frame.locator('#parcel-facts [data-field="key"]').inner_text().strip()


def map_box(frame: FrameLocator) -> dict:
    frame.locator("#map").scroll_into_view_if_needed()
    box = frame.locator("#map").bounding_box()
    assert box, "the map has no box"
    return box


def grip_offset(frame: FrameLocator) -> tuple[float, float]:
    """The print frame's grip (middle of its top edge), relative to the map element."""
    element = frame.locator("#map")
    expect(element).to_have_attribute("data-frame", re.compile(r"^-?\d+,-?\d+,-?\d+,-?\d+$"))
    left, top, right, _bottom = (int(v) for v in element.get_attribute("data-frame").split(","))
    # the map element has a 2 px border; OpenLayers' pixels start inside it
    return 2 + (left + right) / 2, 2 + top


def centre_offset(frame: FrameLocator, dx: float = 0, dy: float = 0) -> dict:
    """A point relative to the map element's centre, as Playwright's position= wants it."""
    box = map_box(frame)
    return {"x": box["width"] / 2 + dx, "y": box["height"] / 2 + dy}


def drag_grip(page: Page, frame: FrameLocator, dx: float, dy: float) -> None:
    """Drags the print frame by its grip with the mouse.

    hover() lets Playwright wait until the iframe has settled, so the press lands in the picker's
    frame even right after the host has resized it.
    """
    gx, gy = grip_offset(frame)
    frame.locator("#map").hover(position={"x": gx, "y": gy})
    box = frame.locator("#map").bounding_box()
    x, y = box["x"] + gx, box["y"] + gy
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()


def grip_on_page(frame: FrameLocator) -> tuple[float, float]:
    gx, gy = grip_offset(frame)
    box = map_box(frame)
    return box["x"] + gx, box["y"] + gy


def received(page: Page) -> dict:
    """What the demo host page took over from the picker's message."""
    return {name: page.locator(f"#f-{name}").input_value() for name in ("key", "label", "scale", "paper", "orientation", "center")}


def assert_no_inner_scrollbar(page: Page, frame: FrameLocator) -> None:
    """The host made the iframe as tall as its page and the page fits the iframe's width."""
    inner = frame.locator("body").evaluate(
        "b => ({scrollH: document.documentElement.scrollHeight, innerH: window.innerHeight,"
        " scrollW: document.documentElement.scrollWidth, innerW: document.documentElement.clientWidth})"
    )
    assert inner["scrollH"] <= inner["innerH"] + NO_INNER_SCROLL_TOLERANCE_PX, inner
    assert inner["scrollW"] <= inner["innerW"], inner


def tab_to(page: Page, frame: FrameLocator, selector: str, limit: int = 60) -> None:
    """Presses Tab until the element has the focus, as a keyboard user would."""
    target = frame.locator(selector)
    for _ in range(limit):
        if target.evaluate("e => e === document.activeElement && document.hasFocus()"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus after {limit} presses of Tab")


def touch_drag(page: Page, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
    """A one-finger drag through the DevTools protocol: Playwright has taps, but no touch moves."""
    cdp = page.context.new_cdp_session(page)
    (x0, y0), (x1, y1) = start, end
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for i in range(1, steps + 1):
        x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def place_in_host(page: Page, frame: FrameLocator, target) -> dict:
    """Where an element of the picker's page is in the host page's viewport, and whether it has the focus."""
    frame_top = page.locator("#picker-frame").evaluate("f => f.getBoundingClientRect().top + f.clientTop")
    inner = target.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, focused: e === document.activeElement && document.hasFocus()}; }"
    )
    viewport = page.evaluate("() => window.innerHeight")
    return {"top": frame_top + inner["top"], "bottom": frame_top + inner["bottom"], "viewport": viewport,
            "focused": inner["focused"]}


def expect_focused_in_view(page: Page, frame: FrameLocator, target, timeout: float = 5.0) -> dict:
    """The step's heading (or error summary) has the focus and the host has scrolled it into its viewport."""
    expect(target).to_be_visible()
    deadline = time.monotonic() + timeout
    while True:
        place = place_in_host(page, frame, target)
        if place["focused"] and 0 <= place["top"] and place["bottom"] <= place["viewport"]:
            return place
        if time.monotonic() > deadline:
            raise AssertionError(f"not focused inside the host's viewport: {place}")
        page.wait_for_timeout(100)
