"""The journey as a phone user lives it: each step starts at its heading, a readable first map, a free grip, a fee that follows."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from browser_helpers import (
    EXAMPLE_ADDRESS,
    EXAMPLE_KEY,
    expect_focused_in_view,
    grip_offset,
    map_box,
    open_demo,
    wait_preview,
)
from order_steps import STAFF_MADE, choose_product, expect_step, order_page_url
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PHONE = (375, 740)


def heading(frame, name: str):
    return frame.get_by_role("heading", level=1, name=name)


def test_each_step_starts_at_its_heading_on_a_phone(make_page, origins):
    page, problems = make_page(*PHONE, touch=True)
    frame = open_demo(page, origins.demo(lang="de"))
    page.wait_for_timeout(500)
    # the first page inside the form takes nothing from the form: its own fields come first
    assert page.evaluate("() => [window.scrollY, document.activeElement.tagName]") == [0, "BODY"]
    assert frame.locator("body").evaluate("b => document.activeElement === b")

    frame.locator("#q").tap()
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).tap()
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")
    # the select button is far down the picker: the citizen has scrolled the host page there
    frame.get_by_role("button", name="Dieses Flurstück auswählen").tap()
    expect_focused_in_view(page, frame, heading(frame, "Flurstück ausgewählt"))

    frame.get_by_role("button", name="Auszug bestellen").tap()
    expect_focused_in_view(page, frame, heading(frame, "Was möchten Sie bestellen?"))
    frame.get_by_role("button", name="Weiter", exact=True).tap()
    expect_focused_in_view(page, frame, heading(frame, "Optionen und Gebühr"))
    frame.get_by_role("button", name="Weiter zu den Kontaktdaten").tap()
    expect_focused_in_view(page, frame, heading(frame, "Ihre Kontaktdaten"))

    # a failed submit: the error summary has the focus, and the step's heading is in view with it
    frame.get_by_role("button", name="Weiter zur Übersicht").tap()
    expect_focused_in_view(page, frame, frame.locator("#error-summary"))
    heading_top = page.locator("#picker-frame").evaluate("f => f.getBoundingClientRect().top + f.clientTop") + \
        heading(frame, "Ihre Kontaktdaten").evaluate("h => h.getBoundingClientRect().top")
    assert heading_top >= 0, heading_top
    # the host was told only where to look, from the picker's origin (the demo log shows every message)
    expect(page.locator("#demo-log")).not_to_contain_text("ignoriert")
    assert problems.unexpected(allowed=("status of 422",)) == []


def test_a_refused_selection_is_focused_and_in_view_on_a_phone(make_page, origins):
    """"Select" with the print area beside the parcel: the refusal under the map is where the citizen lands."""
    page, problems = make_page(*PHONE, touch=True)
    frame = open_demo(page, origins.demo(lang="de"))
    frame.locator("#q").tap()
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).tap()
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")
    for _ in range(40):  # 40 × 10 m at 1:1000: the frame leaves the parcel
        frame.locator('button[data-move="east"]').tap()
    wait_preview(frame, "center=")
    frame.get_by_role("button", name="Dieses Flurstück auswählen").tap()
    expect_focused_in_view(page, frame, frame.locator("#select-refusal"))
    assert problems.unexpected(allowed=("status of 422",)) == []


def test_the_map_starts_readable_and_its_buttons_leave_the_grip_free(make_page, origins):
    page, problems = make_page(*PHONE, touch=True)
    tiles: list[str] = []
    page.on("request", lambda request: "/wmts/" in request.url and tiles.append(request.url))
    page.goto(f"{origins.picker}/embed?lang=de")
    expect(page.locator("#picker")).to_be_visible()
    page.wait_for_function("() => document.querySelector('#map canvas, #map img') !== null")
    page.wait_for_timeout(300)
    assert tiles, "the map asked for no tile"
    # the map's tiles are the service's tile grid: one tile pixel per CSS pixel, at the grid level nearest to
    # 1 m per CSS pixel, where street names and parcel numbers can be read (not the Gemarkung's mass of lines)
    resolutions = json.loads(page.locator("#picker-config").text_content())["tiles"]["resolutions"]
    levels = {int(urlsplit(url).path.split("/")[-3]) for url in tiles}
    assert len(levels) == 1, levels
    assert resolutions[levels.pop()] == pytest.approx(1.0, rel=0.07)

    page.locator("#q").fill(EXAMPLE_ADDRESS)
    page.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).tap()
    expect(page.locator("#map-status")).to_contain_text("Flurstück 90")
    box = map_box(page)
    buttons = page.locator(".ol-zoom button")
    expect(buttons).to_have_count(2)
    for button in buttons.all():
        b = button.bounding_box()
        overlap_x = b["x"] < box["x"] + box["width"] and box["x"] < b["x"] + b["width"]
        overlap_y = b["y"] < box["y"] + box["height"] and box["y"] < b["y"] + b["height"]
        assert not (overlap_x and overlap_y), f"a zoom button lies on the map: {b} over {box}"
    # wherever the frame goes, its grip is the map's to take (here: moved to the map's top left)
    for _ in range(12):
        page.locator('button[data-move="west"]').tap()
    page.wait_for_timeout(400)  # the view follows the frame
    gx, gy = grip_offset(page)
    box = map_box(page)
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('#map') !== null",
                        [box["x"] + gx, box["y"] + gy])
    assert hit
    # and the buttons still zoom: the next tiles are of the level with half the metres per pixel
    shown = max(int(urlsplit(url).path.split("/")[-3]) for url in tiles)
    tiles.clear()
    page.get_by_role("button", name="Karte vergrößern").tap()
    page.wait_for_timeout(600)
    assert tiles, "zooming in asked for no tile"
    zoomed = {int(urlsplit(url).path.split("/")[-3]) for url in tiles}
    assert resolutions[max(zoomed)] == pytest.approx(resolutions[shown] / 2)
    assert problems.unexpected() == []


def test_the_fee_follows_the_options_in_place(make_page, origins):
    page, problems = make_page(*PHONE, touch=True)
    page.goto(order_page_url(origins.picker, EXAMPLE_KEY))
    choose_product(page, STAFF_MADE)
    address = page.url
    total = page.locator("table.fee tfoot td.amount")
    live = page.locator("#fee-live")
    expect(total).to_have_text("30,00\u00a0€")
    # the no-script way stays: the button recalculates with a new page
    expect(page.get_by_role("button", name="Gebühr neu berechnen")).to_be_visible()

    page.locator("#field-paper").select_option("A2")
    expect(total).to_have_text("60,00\u00a0€")
    expect(live).to_have_text("Die Gebühr beträgt jetzt 60,00\u00a0€.")
    expect(page.locator("table.fee tbody")).to_contain_text("DIN A2")

    # a further copy only goes by post: the sum is struck through and the reason said, until it holds again
    page.locator("#field-copies").fill("2")
    expect(live).to_contain_text("Weitere Ausfertigungen gibt es nur beim Versand per Post.")
    expect(page.locator("table.fee")).to_have_class(re.compile("fee-stale"))
    page.locator('input[name="delivery"][value="post"]').check()
    expect(total).to_have_text("70,00\u00a0€")
    expect(live).to_have_text("Die Gebühr beträgt jetzt 70,00\u00a0€.")
    expect(page.locator("table.fee")).not_to_have_class(re.compile("fee-stale"))
    expect(page.locator("table.fee tbody tr")).to_have_count(2)

    # no change of context on input: the same page, the focus where the citizen left it
    assert page.url == address
    expect(page.locator('input[name="delivery"][value="post"]')).to_be_focused()
    # the next step takes what the page shows
    page.get_by_role("button", name="Weiter zu den Kontaktdaten").tap()
    expect_step(page, "contact")
    assert problems.unexpected(allowed=("status of 422",)) == []  # the fee refused for copies by download


def test_the_fee_endpoint_answers_bad_options_with_422(make_page, origins):
    page, _ = make_page()
    answer = page.request.get(f"{origins.picker}/api/v1/fee",
                              params={"parcel": EXAMPLE_KEY, "product": "karte-amt", "copies": "99", "lang": "en"})
    assert answer.status == 422
    body = answer.json()
    assert body["errors"][0]["field"] == "copies" and "1 to 10" in body["errors"][0]["message"]
