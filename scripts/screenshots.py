#!/usr/bin/env python3
"""Takes the README's screenshots (picker on a desktop, picker on a phone, the preview) from the running program into docs/images/."""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
ADDRESS = "Mühlenweg 12a"
MAX_BYTES = 300 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(instance: str):
    """The real app under waitress on a free loopback port; returns its base URL and a stop function."""
    from waitress import create_server

    from gis_service.app import create_app
    from gis_service.config import load_settings

    port = free_port()
    settings = load_settings(os.environ.get("GIS_SERVICE_CONFIG"), overrides={"instance_path": instance})
    server = create_server(create_app(settings), listen=f"127.0.0.1:{port}", threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
            break
        except OSError:
            time.sleep(0.05)
    return base, server.close


def save_png(data: bytes, path: Path) -> None:
    """Writes the PNG, reduced to a 256-colour palette when it would be over 300 KB (maps have few colours)."""
    from PIL import Image

    if len(data) > MAX_BYTES:
        image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        data = buffer.getvalue()
    path.write_bytes(data)
    print(f"{path.relative_to(REPO)}: {len(data) // 1024} KB")


def choose_parcel(page) -> None:
    page.locator("#picker").wait_for()
    page.locator("#q").fill(ADDRESS)
    page.get_by_role("option", name=re.compile(ADDRESS)).click()
    page.locator("#map-status").filter(has_text="Flurstück").wait_for()
    page.wait_for_function("() => !document.getElementById('preview-figure').hasAttribute('aria-busy')")


def settle(page) -> None:
    """Waits until the map and the preview have drawn."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.getElementById('preview-figure').hasAttribute('aria-busy')")
    page.wait_for_timeout(400)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--chromium", default=os.environ.get("GIS_SERVICE_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as instance:
        base, stop = serve(instance)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)

                # desktop: a parcel found by address, print area moved, A4 landscape 1:1000
                page = browser.new_page(viewport={"width": 1000, "height": 1300}, locale="de-DE", reduced_motion="reduce")
                page.goto(f"{base}/embed?lang=de")
                choose_parcel(page)
                page.locator("#orientation").select_option("landscape")
                settle(page)
                page.locator("#map").focus()
                page.keyboard.press("Shift+ArrowLeft")
                page.keyboard.press("Shift+ArrowLeft")
                settle(page)
                page.locator("#q").focus()  # no focus ring in the picture
                top = page.locator("h1").bounding_box()["y"] - 8
                bottom = page.locator("#panel").bounding_box()
                clip = {"x": 0, "y": top, "width": 1000, "height": min(bottom["y"] + bottom["height"] - top + 16, 1800)}
                save_png(page.screenshot(clip=clip, full_page=True), args.out / "picker-desktop.png")
                page.close()

                # phone: 320 px, touch; the map, the description and the print-area buttons
                context = browser.new_context(viewport={"width": 320, "height": 900}, device_scale_factor=2, is_mobile=True,
                                              has_touch=True, locale="de-DE", reduced_motion="reduce")
                page = context.new_page()
                page.goto(f"{base}/embed?lang=de")
                choose_parcel(page)
                settle(page)
                top = page.locator("#picker").bounding_box()["y"]
                end = page.locator("#frame-controls").bounding_box()
                clip = {"x": 0, "y": top, "width": 320, "height": end["y"] + end["height"] - top + 8}
                save_png(page.screenshot(clip=clip, full_page=True), args.out / "picker-phone.png")
                context.close()

                # the preview itself: what the extract will look like, exactly to scale
                page = browser.new_page(viewport={"width": 794, "height": 1123}, device_scale_factor=1)
                page.goto(f"{base}/embed/preview?parcel=05987100100090______&scale=1000&paper=A4&orientation=portrait&lang=de")
                src = page.locator("#preview-img").get_attribute("src")
                page.goto(base + src)
                save_png(page.locator("img").screenshot(), args.out / "preview.png")
                browser.close()
        finally:
            stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
