"""Embedding rules in Chromium: CSP frame-ancestors from the allow-list, postMessage only to and from allowed origins."""

from __future__ import annotations

import urllib.request

import pytest
from browser_helpers import EXAMPLE_KEY, open_demo
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def csp(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers["Content-Security-Policy"]


def test_security_headers(origins):
    embed = csp(f"{origins.picker}/embed")
    assert f"frame-ancestors 'self' {origins.host}" in embed
    assert "script-src 'self'" in embed and "unsafe-inline" not in embed
    demo = csp(origins.demo())
    assert f"frame-src 'self' {origins.picker}" in demo and "frame-ancestors 'none'" in demo
    assert csp(f"{origins.picker}/api/v1/parcels?q=M%C3%BChlenweg") == "frame-ancestors 'none'"


def test_a_host_off_the_allow_list_cannot_frame_the_picker(make_page, origins):
    page, problems = make_page()
    page.goto(origins.demo(origins.foreign))
    page.wait_for_timeout(1500)
    assert page.frame_locator("#picker-frame").locator("#q").count() == 0
    expect(page.locator("#demo-log")).not_to_contain_text("gis-service:resize")
    expect(page.locator("#f-key")).to_have_value("")
    assert any("frame-ancestors" in message for message in problems.messages), problems.messages


def test_messages_from_other_origins_are_ignored(make_page, origins):
    page, problems = make_page()
    frame = open_demo(page, origins.demo(lang="de"))
    expect(page.locator("#demo-log")).to_contain_text("gis-service:resize")

    # a window on another origin gets hold of both the host and the picker and sends them messages
    with page.expect_popup() as popup_info:
        page.evaluate("url => { window.open(url); }", f"{origins.foreign}/healthz")
    popup = popup_info.value
    popup.wait_for_load_state()
    popup.evaluate(
        """key => {
            window.opener.frames[0].postMessage({type: 'gis-service:select-parcel', key}, '*');
            window.opener.postMessage({type: 'gis-service:parcel-selected', key, label: 'forged'}, '*');
        }""",
        EXAMPLE_KEY,
    )
    expect(page.locator("#demo-log")).to_contain_text(f"ignoriert, Herkunft nicht erlaubt: {origins.foreign}")
    page.wait_for_timeout(700)
    expect(frame.locator("#map-status")).to_have_text("Noch kein Flurstück ausgewählt.")
    expect(page.locator("#f-key")).to_have_value("")
    popup.close()

    # the allowed host may preselect a parcel; an unknown one is reported in the alert region
    send = "([key, origin]) => document.getElementById('picker-frame').contentWindow.postMessage({type: 'gis-service:select-parcel', key}, origin)"
    page.evaluate(send, ["05987199999999______", origins.picker])
    expect(frame.get_by_role("alert")).to_contain_text("Das hat nicht geklappt")
    page.evaluate(send, [EXAMPLE_KEY, origins.picker])
    expect(frame.locator("#map-status")).to_contain_text("Flurstück 90, Mühlenweg 12a")
    expect(frame.locator("#map-error")).to_have_text("")
    assert problems.unexpected(allowed=("404 (NOT FOUND)",)) == []
