"""The original preview inside the form: the viewer zooms and pans at 1280 and 375 px, the PDF never replaces the picker."""

from __future__ import annotations

import re

import pytest
from browser_helpers import EXAMPLE_ADDRESS, EXAMPLE_KEY, chosen_key, open_demo, wait_preview
from playwright.sync_api import FrameLocator, Page, expect
from test_accessibility import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def zoom_of(frame: FrameLocator) -> float:
    text = frame.locator("#viewer-level").inner_text()
    return float(re.sub(r"[^0-9]", "", text)) / 100


def shown_width(frame: FrameLocator) -> float:
    return frame.locator("#preview-img").evaluate("img => img.getBoundingClientRect().width")


def scroll_of(frame: FrameLocator) -> tuple[float, float]:
    return tuple(frame.locator("#viewer-pane").evaluate("p => [p.scrollLeft, p.scrollTop]"))


def choose_example(frame: FrameLocator) -> None:
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).click()
    expect(frame.locator("#map-status")).to_contain_text("Flurstück 90, Mühlenweg 12a")
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")


def pinch(page: Page, centre: tuple[float, float], start_gap: float, end_gap: float, steps: int = 6) -> None:
    """Two fingers moving apart through the DevTools protocol (Playwright has no multi-touch)."""
    cdp = page.context.new_cdp_session(page)
    x, y = centre

    def points(gap: float) -> list[dict]:
        return [{"x": x - gap / 2, "y": y, "id": 1}, {"x": x + gap / 2, "y": y, "id": 2}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(start_gap)})
    for i in range(1, steps + 1):
        gap = start_gap + (end_gap - start_gap) * i / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(gap)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


@pytest.mark.parametrize("width", [1280, 375])
def test_viewer_in_the_form_zooms_pans_and_opens_the_pdf_beside_it(make_page, origins, width):
    page, problems = make_page(width, 900, touch=width < 500)
    frame = open_demo(page, origins.demo(lang="de"))
    choose_example(frame)
    frame.locator("#viewer").scroll_into_view_if_needed()
    expect(frame.get_by_role("heading", name="Vorschau in Originalgröße")).to_be_visible()

    # At first the whole page is shown; "true size" makes a CSS pixel what the preview's 96 dpi say.
    fitted = zoom_of(frame)
    assert fitted < 1
    frame.get_by_role("button", name="Originalgröße").click()
    assert zoom_of(frame) == 1
    image_px = int(frame.locator("#preview-img").get_attribute("width"))
    assert abs(shown_width(frame) - image_px) <= 1  # 96 dpi image, 96 CSS px per inch: true size

    # Buttons zoom in and out; zooming in past what 96 dpi shows sharply fetches a finer image.
    frame.get_by_role("button", name="Vorschau vergrößern").click()
    frame.get_by_role("button", name="Vorschau vergrößern").click()
    assert zoom_of(frame) == pytest.approx(1.56, abs=0.01)
    expect(frame.locator("#preview-img")).to_have_attribute("src", re.compile(r"dpi=192"))
    expect(frame.locator("#preview-figure")).not_to_have_attribute("aria-busy", "true")
    frame.locator("#preview-img").evaluate("img => img.decode()")
    assert frame.locator("#preview-img").evaluate("img => img.naturalWidth") >= 2 * image_px - 2

    # Panning without dragging (WCAG 2.5.7): the arrow buttons and the arrow keys move the view.
    before = scroll_of(frame)
    frame.get_by_role("button", name="Vorschau nach rechts").click()
    frame.get_by_role("button", name="Vorschau nach unten").click()
    after = scroll_of(frame)
    assert after[0] > before[0] and after[1] > before[1]
    frame.locator("#viewer-pane").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(300)  # native scrolling by key may animate
    assert scroll_of(frame)[0] < after[0]

    # Keys zoom too: minus out, 0 whole page.
    zoom = zoom_of(frame)
    page.keyboard.press("-")
    assert zoom_of(frame) < zoom
    page.keyboard.press("0")
    assert zoom_of(frame) == pytest.approx(fitted, abs=0.01)

    if width < 500:
        # Two fingers apart zoom in around their middle.
        box = frame.locator("#viewer-pane").bounding_box()
        pinch(page, (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2), 60, 180)
        assert zoom_of(frame) > fitted * 2.5
    else:
        # Ctrl + wheel (and a trackpad pinch) zooms; the plain wheel scrolls.
        box = frame.locator("#viewer-pane").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.keyboard.down("Control")
        page.mouse.wheel(0, -300)
        page.keyboard.up("Control")
        page.wait_for_timeout(200)
        assert zoom_of(frame) > fitted * 2

    # The PDF opens in a window of its own; the form and the picker with its selection stay.
    with page.expect_popup() as popup_info:
        frame.get_by_role("link", name=re.compile("Vorschau als PDF öffnen")).click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert "/api/v1/preview.pdf" in popup.url and f"parcel={EXAMPLE_KEY}" in popup.url
    popup.close()
    with page.expect_download() as download_info:
        frame.get_by_role("link", name="PDF herunterladen").click()
    download = download_info.value
    assert download.suggested_filename == "liegenschaftskarte-vorschau.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    expect(frame.locator("#picker")).to_be_visible()
    assert chosen_key(frame) == EXAMPLE_KEY
    expect(frame.locator("#map-status")).to_contain_text("Flurstück 90, Mühlenweg 12a")
    assert problems.unexpected() == []


@pytest.mark.parametrize("width", [1280, 375])
def test_viewer_page_has_no_axe_violations(make_page, origins, width):
    page, _ = make_page(width, 900)
    page.goto(f"{origins.picker}/embed/preview?parcel={EXAMPLE_KEY}&lang=de")
    page.get_by_role("button", name="Vorschau vergrößern").click()
    assert axe_violations(page) == []
    page.goto(f"{origins.picker}/embed/preview?parcel={EXAMPLE_KEY}&lang=en")
    expect(page.get_by_role("heading", name="Preview at true size")).to_be_visible()
    assert axe_violations(page) == []


def test_without_javascript_the_viewer_is_a_scrollable_page_at_true_size(browser, origins):
    context = browser.new_context(viewport={"width": 375, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{origins.picker}/embed/preview?parcel={EXAMPLE_KEY}&lang=de")
    image = page.locator("#preview-img")
    width = int(image.get_attribute("width"))
    assert abs(image.evaluate("img => img.getBoundingClientRect().width") - width) <= 1
    assert page.locator("#viewer-pane").evaluate("p => p.scrollWidth > p.clientWidth")  # scrolls sideways
    expect(page.get_by_role("toolbar")).to_be_hidden()
    assert page.get_by_role("link", name=re.compile("Vorschau als PDF öffnen")).get_attribute("target") == "_blank"
    context.close()
