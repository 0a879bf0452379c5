"""The citizen's whole task on the demo host page in Chromium: by mouse, by keyboard only, and on a 320 px phone."""

from __future__ import annotations

import re

import pytest
from browser_helpers import (
    EXAMPLE_ADDRESS,
    EXAMPLE_KEY,
    assert_no_inner_scrollbar,
    centre_offset,
    chosen_key,
    drag_grip,
    grip_on_page,
    map_box,
    open_demo,
    received,
    tab_to,
    touch_drag,
    wait_preview,
)
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def centre_of(url: str) -> tuple[float, float]:
    match = re.search(r"center=([0-9.]+)%2C([0-9.]+)", url)
    assert match, f"no centre in {url}"
    return float(match[1]), float(match[2])


def test_task_with_the_mouse(make_page, origins):
    page, problems = make_page(1280, 900)
    frame = open_demo(page, origins.demo(lang="de"))

    # search an address; the suggestion zooms the map to the parcel and describes it
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).click()
    expect(frame.locator("#map-status")).to_contain_text("Flurstück 90, Mühlenweg 12a, 980 m²")
    assert chosen_key(frame) == EXAMPLE_KEY
    wait_preview(frame, f"parcel={EXAMPLE_KEY}", "scale=1000", "paper=A4")

    # pick the neighbouring parcel on the map
    frame.locator("#map").click(position=centre_offset(frame, 110, 0))
    expect(frame.locator("#map-status")).not_to_contain_text("Flurstück 90,")
    expect(frame.locator('#parcel-facts [data-field="key"]')).not_to_have_text(EXAMPLE_KEY)
    picked = chosen_key(frame)
    expect(frame.locator("#map-status")).to_contain_text("Ausgewählt: Gemarkung Lindenhagen, Flur 1, Flurstück")
    wait_preview(frame, f"parcel={picked}")

    # change scale and paper: the preview follows without a submit button
    frame.locator("#scale").select_option("500")
    frame.locator("#paper").select_option("A3")
    before = wait_preview(frame, "scale=500", "paper=A3")
    assert "center=" not in before
    expect(frame.locator("#fits")).to_contain_text("Flurstück")

    # drag the print area by its grip: the preview follows with the new centre
    drag_grip(page, frame, -80, -60)
    moved = wait_preview(frame, "center=", "scale=500", "paper=A3")
    cx, cy = centre_of(moved)
    assert frame.locator('#select-form input[name="center"]').input_value() == f"{cx:.2f},{cy:.2f}"
    alt = frame.locator("#preview-img").get_attribute("alt")
    label = frame.locator('#parcel-facts [data-field="label"]').inner_text()
    assert alt.startswith(f"Vorschau der Liegenschaftskarte: {label}, Maßstab 1:500, A3 Hochformat."), alt

    # select: the host page receives the choice from the picker's origin
    frame.get_by_role("button", name="Dieses Flurstück auswählen").click()
    expect(frame.get_by_role("heading", name="Flurstück ausgewählt")).to_be_visible()
    expect(page.locator("#f-key")).to_have_value(picked)
    got = received(page)
    assert got["scale"] == "1:500" and got["paper"] == "A3" and got["orientation"] == "Hochformat"
    assert got["center"] == f"{cx:.2f}, {cy:.2f}"
    assert got["label"].startswith("Gemarkung Lindenhagen, Flur 1, Flurstück")
    expect(page.locator("#f-preview")).to_have_attribute("href", re.compile(re.escape(origins.picker) + r"/api/v1/preview\.png\?"))
    expect(page.locator("#demo-status")).to_contain_text("Auswahl empfangen")
    page.wait_for_timeout(300)
    assert_no_inner_scrollbar(page, frame)
    assert problems.unexpected() == []


def test_task_with_the_keyboard_only(make_page, origins):
    page, problems = make_page(1280, 900)
    frame = open_demo(page, origins.demo(lang="de"))

    tab_to(page, frame, "#q")
    page.keyboard.type(EXAMPLE_ADDRESS, delay=20)
    expect(frame.get_by_role("option").first).to_be_visible()
    expect(frame.locator("#q")).to_have_attribute("aria-expanded", "true")
    expect(frame.locator("#suggestions-status")).to_contain_text("Vorschl")
    page.keyboard.press("ArrowDown")
    expect(frame.locator("#q")).to_have_attribute("aria-activedescendant", "suggestion-0")
    page.keyboard.press("Enter")
    expect(frame.locator("#map-status")).to_contain_text("Flurstück 90")
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")

    # the map: focus ring and crosshair, arrows pan, +/- zoom, Enter picks the parcel under the crosshair
    tab_to(page, frame, "#map")
    outline = frame.locator("#map").evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none", "the focused map shows no focus ring"
    expect(frame.locator(".crosshair")).to_be_visible()
    page.keyboard.press("+")
    page.keyboard.press("-")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(200)
    page.keyboard.press("Enter")
    expect(frame.locator('#parcel-facts [data-field="key"]')).not_to_have_text(EXAMPLE_KEY)
    picked = chosen_key(frame)
    expect(frame.locator("#map-status")).to_contain_text("Ausgewählt:")
    wait_preview(frame, f"parcel={picked}")

    # Shift + arrows move the print area; the preview follows
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowUp")
    expect(frame.locator("#map-status")).to_have_text("Druckbereich verschoben.")
    moved = wait_preview(frame, "center=")
    cx, cy = centre_of(moved)

    # the buttons do the same, for those who tab past the map
    tab_to(page, frame, 'button[data-move="east"]')
    page.keyboard.press("Enter")
    moved_again = wait_preview(frame, "center=")
    assert centre_of(moved_again)[0] == pytest.approx(cx + 10, abs=0.02)  # 10 mm at 1:1000
    assert centre_of(moved_again)[1] == pytest.approx(cy, abs=0.02)

    # scale and paper with the keyboard
    tab_to(page, frame, "#paper")
    page.keyboard.press("ArrowDown")  # A4 → A3
    tab_to(page, frame, "#scale")
    page.keyboard.press("ArrowDown")  # 1:1000 → 1:2000
    wait_preview(frame, "paper=A3", "scale=2000", "center=")

    tab_to(page, frame, "#select-button")
    page.keyboard.press("Enter")
    expect(page.locator("#f-key")).to_have_value(picked)
    got = received(page)
    assert got["scale"] == "1:2000" and got["paper"] == "A3"
    page.wait_for_timeout(300)
    assert_no_inner_scrollbar(page, frame)
    assert problems.unexpected() == []


def test_task_on_a_320px_phone(make_page, origins):
    # the host page's margins leave the iframe exactly 320 CSS pixels wide
    page, problems = make_page(344, 740, touch=True)
    frame = open_demo(page, origins.demo(lang="de"))
    width = page.locator("#picker-frame").evaluate("f => f.clientWidth")
    assert width == 320, width
    assert_no_inner_scrollbar(page, frame)

    frame.locator("#q").tap()
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).tap()
    expect(frame.locator("#map-status")).to_contain_text("Flurstück 90")
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")

    box = map_box(frame)
    assert box["width"] <= 320
    frame.locator("#map").tap(position=centre_offset(frame, 40, 10))
    expect(frame.locator('#parcel-facts [data-field="key"]')).not_to_have_text(EXAMPLE_KEY)
    picked = chosen_key(frame)
    wait_preview(frame, f"parcel={picked}")

    frame.locator("#scale").select_option("500")
    frame.locator("#paper").select_option("A3")
    frame.locator("#orientation").select_option("landscape")
    wait_preview(frame, "scale=500", "paper=A3", "orientation=landscape")

    page.wait_for_timeout(200)  # let the host's resize of the iframe settle before a raw touch
    grip = grip_on_page(frame)
    touch_drag(page, grip, (grip[0] + 30, grip[1] + 25))
    moved = wait_preview(frame, "center=", "scale=500", "paper=A3", "orientation=landscape")
    assert centre_of(moved)

    page.wait_for_timeout(300)
    assert_no_inner_scrollbar(page, frame)
    frame.get_by_role("button", name="Dieses Flurstück auswählen").tap()
    expect(page.locator("#f-key")).to_have_value(picked)
    got = received(page)
    assert (got["scale"], got["paper"], got["orientation"]) == ("1:500", "A3", "Querformat")
    page.wait_for_timeout(300)
    assert_no_inner_scrollbar(page, frame)
    assert problems.unexpected() == []
