"""In the picker: a frame moved off the parcel gets true advice, and selecting it is refused before any order."""

from __future__ import annotations

import re

import pytest
from browser_helpers import EXAMPLE_ADDRESS, EXAMPLE_KEY, open_demo, wait_preview
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_frame_moved_off_the_parcel_gets_true_advice_and_cannot_be_selected(make_page, origins):
    page, problems = make_page(1280, 900)
    frame = open_demo(page, origins.demo(lang="de"))
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).click()
    frame.locator("#scale").select_option("500")
    wait_preview(frame, f"parcel={EXAMPLE_KEY}", "scale=500")
    expect(frame.locator("#fits")).to_contain_text("Das Flurstück passt vollständig")

    for _ in range(14):
        frame.get_by_role("button", name="Nach Osten").click()
    wait_preview(frame, "center=")
    advice = frame.locator("#fits")
    expect(advice).to_contain_text("Schieben Sie den Ausschnitt zurück auf das Flurstück")
    expect(advice).not_to_contain_text("1:500")  # the old advice named the scale already chosen
    assert "warning" in (advice.get_attribute("class") or "")

    frame.get_by_role("button", name="Dieses Flurstück auswählen").click()
    refusal = frame.locator("#select-refusal")  # the map's own alert may speak too, if a tile was slow under load
    expect(refusal).to_have_attribute("role", "alert")
    expect(refusal).to_contain_text("zurück auf das Flurstück")
    expect(frame.get_by_role("heading", name="Flurstück ausgewählt")).to_have_count(0)

    # the fix the advice names works: centred again, the parcel fits and can be selected
    frame.get_by_role("button", name="Auf das Flurstück zentrieren").click()
    expect(frame.locator("#fits")).to_contain_text("Das Flurstück passt vollständig")
    frame.get_by_role("button", name="Dieses Flurstück auswählen").click()
    expect(frame.get_by_role("heading", name="Flurstück ausgewählt")).to_be_visible()
    assert problems.unexpected(allowed=("422",)) == []
