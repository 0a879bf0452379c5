"""axe-core in headless Chromium on every page, reflow at 320 px and text at 200 %: WCAG 2.1 AA as far as a machine can tell."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import axe_playwright_python
import pytest
from browser_helpers import EXAMPLE_ADDRESS, EXAMPLE_KEY, wait_preview
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
NOT_FITTING = "05987100400001______"  # over 1 km²: the warning is shown


def axe_violations(page: Page) -> list[str]:
    """axe-core's full default rule set (WCAG 2.0/2.1 A and AA plus best practices) on the page's own document."""
    page.evaluate(AXE_SOURCE)
    # frames are scanned as pages of their own: the picker's pages are all in PAGES
    result = page.evaluate("() => axe.run(document, {iframes: false, resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"]
    ]


# Reaching a page: a path on the picker's origin, or a function that drives the browser there.
def _selected(page: Page, base: str) -> None:
    page.goto(f"{base}/embed/preview?parcel={EXAMPLE_KEY}&scale=500&lang=de")
    page.get_by_role("button", name="Dieses Flurstück auswählen").click()
    expect(page.get_by_role("heading", name="Flurstück ausgewählt")).to_be_visible()


def _picker_with_parcel(page: Page, base: str) -> None:
    page.goto(f"{base}/embed?lang=de")
    expect(page.locator("#picker")).to_be_visible()
    page.locator("#q").fill(EXAMPLE_ADDRESS)
    page.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).click()
    expect(page.locator("#map-status")).to_contain_text("Flurstück 90")
    wait_preview(_Frame(page), f"parcel={EXAMPLE_KEY}")


def _suggestions_open(page: Page, base: str) -> None:
    page.goto(f"{base}/embed?lang=en")
    expect(page.locator("#picker")).to_be_visible()
    page.locator("#q").fill("Hauptstr")
    expect(page.get_by_role("listbox")).to_be_visible()
    page.keyboard.press("ArrowDown")


class _Frame:
    """Lets the frame helpers work on a page opened directly."""

    def __init__(self, page: Page):
        self.page = page

    def locator(self, selector: str):
        return self.page.locator(selector)


PAGES: dict[str, str | Callable[[Page, str], None]] = {
    "search": "/embed?lang=de",
    "search-en": "/embed?lang=en",
    "results": "/embed?q=Hauptstra%C3%9Fe&lang=de",
    "results-none": "/embed?q=Nirgendwoweg+1&lang=de",
    "search-error": "/embed?q=9999+99+99&lang=de",
    "preview": f"/embed/preview?parcel={EXAMPLE_KEY}&lang=de",
    "preview-not-fitting": f"/embed/preview?parcel={NOT_FITTING}&scale=500&paper=A4&lang=de",
    "preview-en": f"/embed/preview?parcel={EXAMPLE_KEY}&orientation=landscape&lang=en",
    "selected": _selected,
    "picker-with-parcel": _picker_with_parcel,
    "suggestions-open": _suggestions_open,
    "error-bad-parcel": "/embed/preview?parcel=00000000000000000000&lang=de",
    "error-not-found": "/nirgendwo",
}


def _open(page: Page, base: str, how) -> None:
    if callable(how):
        how(page, base)
    else:
        page.goto(base + how)
    page.wait_for_load_state("load")


@pytest.mark.parametrize("name", list(PAGES))
def test_no_axe_violations(make_page, origins, name):
    page, problems = make_page(1280, 900)
    _open(page, origins.picker, PAGES[name])
    assert axe_violations(page) == []
    assert problems.unexpected(allowed=("the server responded with a status of 4",)) == []


def test_no_axe_violations_on_the_demo_host_page(make_page, origins):
    page, _ = make_page(1280, 900)
    page.goto(origins.demo(lang="de"))
    expect(page.frame_locator("#picker-frame").locator("#picker")).to_be_visible()
    assert axe_violations(page) == []


def other_pages(app) -> list[str]:
    """GET pages of the other blueprints (order steps, staff) that need nothing in the path: new ones join by themselves."""
    return sorted({
        rule.rule for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments
        and not rule.rule.startswith(("/api/", "/static", "/healthz", "/demo", "/ogc"))
        and rule.rule not in ("/embed", "/embed/", "/embed/preview")
    })


def test_no_axe_violations_on_other_pages(make_page, origins, browser_app):
    page, _ = make_page(1280, 900)
    found = {}
    for path in other_pages(browser_app):
        response = page.goto(f"{origins.picker}{path}?lang=de")
        if "text/html" in (response.headers.get("content-type") or ""):
            found[f"{path} → {page.url.removeprefix(origins.picker)}"] = axe_violations(page)
    assert {page_: v for page_, v in found.items() if v} == {}


REFLOW_PAGES = ["search", "results", "preview", "preview-not-fitting", "selected", "picker-with-parcel", "search-error"]


@pytest.mark.parametrize("name", REFLOW_PAGES)
def test_reflow_at_320px(make_page, origins, name):
    page, _ = make_page(320, 640)
    _open(page, origins.picker, PAGES[name])
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"horizontal scrolling at 320 px: {widths}"


@pytest.mark.parametrize("name", ["search", "preview", "picker-with-parcel"])
def test_text_at_200_percent(browser, origins, name):
    # an injected style is inline CSS, which our CSP refuses: this context ignores the CSP
    context = browser.new_context(viewport={"width": 640, "height": 900}, bypass_csp=True, locale="de-DE")
    try:
        page = context.new_page()
        _open(page, origins.picker, PAGES[name])
        page.add_style_tag(content="html { font-size: 200% !important; }")
        page.wait_for_timeout(100)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"horizontal scrolling with 200 % text: {widths}"
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('label, legend, button, h1, h2, p, dt, dd, a')]
                .filter(e => e.offsetParent && !e.closest('.visually-hidden') && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow === 'hidden')
                .map(e => e.textContent.trim().slice(0, 40))"""
        )
        assert clipped == []
    finally:
        context.close()
