"""The embeddable pages without JavaScript: search → result list → preview → select, German first."""

import re
from html.parser import HTMLParser


class Page(HTMLParser):
    """Collects what the tests check: lang, title, links, images, form fields, their labels."""

    def __init__(self, html: str):
        super().__init__()
        self.lang = None
        self.links: list[str] = []
        self.images: list[dict] = []
        self.labels: set[str] = set()
        self.controls: list[dict] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "a":
            self.links.append(attrs.get("href", ""))
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "label" and attrs.get("for"):
            self.labels.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append(attrs)

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self):
        return " ".join(" ".join(self.text).split())


def test_search_page_is_german_and_labelled(demo_client):
    response = demo_client.get("/embed")
    assert response.status_code == 200
    page = Page(response.get_data(as_text=True))
    assert page.lang == "de"
    assert "Flurstück suchen" in page.all_text
    for control in page.controls:
        assert control.get("id") in page.labels or control.get("aria-label"), control


def test_english_on_request(demo_client):
    page = Page(demo_client.get("/embed?lang=en").get_data(as_text=True))
    assert page.lang == "en" and "Find a parcel" in page.all_text
    # the pages sit inside a German form: an English browser alone does not switch them
    page = Page(demo_client.get("/embed", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(as_text=True))
    assert page.lang == "de"


def test_search_to_preview_to_selection(demo_client, demo_facts):
    example = demo_facts["example_address"]
    page = Page(demo_client.get("/embed", query_string={"q": example["text"]}).get_data(as_text=True))
    preview_links = [link for link in page.links if "/embed/preview" in link]
    assert preview_links and example["key"] in preview_links[0]

    html = demo_client.get(preview_links[0]).get_data(as_text=True)
    page = Page(html)
    image = next(img for img in page.images if "preview.png" in img["src"])
    assert "Maßstab 1:1000" in image["alt"] and "Flurstück" in image["alt"]
    assert demo_client.get(image["src"].replace("&amp;", "&")).status_code == 200

    changed = Page(demo_client.get(preview_links[0] + "&scale=500&paper=A3&orientation=landscape").get_data(as_text=True))
    image = next(img for img in changed.images if "preview.png" in img["src"])
    assert "scale=500" in image["src"] and "paper=A3" in image["src"] and "orientation=landscape" in image["src"]

    response = demo_client.post(
        "/embed/select", data={"parcel": example["key"], "scale": "500", "paper": "A3", "orientation": "landscape"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert example["key"] in html and "Flurstück ausgewählt" in html


def test_search_errors_are_shown_on_the_page(demo_client):
    response = demo_client.get("/embed", query_string={"q": "Gemarkung Atlantis Flur 1 Flurstück 2"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "Atlantis" in html and 'aria-invalid="true"' in html


def test_no_result_is_said_in_words(demo_client):
    html = demo_client.get("/embed", query_string={"q": "Nirgendwostraße 999"}).get_data(as_text=True)
    assert "Kein Flurstück gefunden" in html


def test_bad_preview_parameters_give_an_html_error_page_not_a_500(demo_client):
    response = demo_client.get("/embed/preview?parcel=05987100199999______")
    assert response.status_code == 404
    assert "nicht gefunden" in response.get_data(as_text=True)
    response = demo_client.get("/embed/preview?parcel=%00%ff<script>")
    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True)


def test_frame_ancestors(demo_client):
    assert "frame-ancestors" in demo_client.get("/embed").headers["Content-Security-Policy"]
    assert demo_client.get("/healthz").headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_every_page_has_a_title_and_skip_link(demo_client):
    html = demo_client.get("/embed").get_data(as_text=True)
    assert re.search(r"<title>[^<]+</title>", html)
    assert 'href="#content"' in html


def test_search_help_cites_an_address_and_a_parcel_the_search_finds(demo_client):
    from gis_testing import found_keys, search_help_examples

    for lang in ("de", "en"):
        address, *parcel_forms = search_help_examples(demo_client, lang)
        assert len(parcel_forms) == 2 and parcel_forms[0].startswith("Gemarkung Lindenhagen Flur ")
        assert len(found_keys(demo_client, address)) == 1, address
        # both written forms name one and the same parcel
        assert [found_keys(demo_client, form) for form in parcel_forms] == [found_keys(demo_client, parcel_forms[0])] * 2
        assert len(found_keys(demo_client, parcel_forms[0])) == 1


def test_search_help_is_the_same_on_every_start(demo_app):
    """Each start is a new process with its own hash seed; the choice must not depend on it."""
    import os
    import subprocess
    import sys

    from gis_testing import REPO

    script = ("from gis_service.wiring import build_local_source; from gis_service.config import load_settings; "
              "from gis_service.parcels import ParcelService; "
              "print(repr(ParcelService(build_local_source(load_settings(None).source)).examples))")
    shown = {
        subprocess.run([sys.executable, "-c", script], cwd=REPO, env={**os.environ, "PYTHONHASHSEED": seed},
                       capture_output=True, text=True, check=True).stdout.strip()
        for seed in ("1", "2")
    }
    assert shown == {repr(demo_app.extensions["gis_parcels"].examples)}


def test_configured_examples_replace_the_derived_ones_in_the_help_and_the_error(tmp_path):
    from gis_service.app import create_app
    from gis_service.config import load_settings
    from gis_testing import quoted, search_help_examples

    settings = load_settings(None, overrides={
        "instance_path": str(tmp_path),
        "search": {"examples": {"address": "Mühlenweg 12a", "parcel": "Gemarkung Lindenhagen Flur 1 Flurstück 90"}},
    })
    client = create_app(settings).test_client()
    assert search_help_examples(client) == ["Mühlenweg 12a", "Gemarkung Lindenhagen Flur 1 Flurstück 90"]
    assert search_help_examples(client, "en") == ["Mühlenweg 12a", "Gemarkung Lindenhagen Flur 1 Flurstück 90"]
    detail = client.get("/api/v1/parcels/quatsch").get_json()["detail"]
    assert quoted(detail) == ["quatsch", "Gemarkung Lindenhagen Flur 1 Flurstück 90"]


def test_unreadable_parcel_on_the_page_cites_the_help_examples(demo_client):
    from gis_testing import quoted, search_help_examples

    response = demo_client.get("/embed", query_string={"q": "Flurstück zwölf"})
    assert response.status_code == 400
    error = re.search(r'<p id="search-error"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S).group(1)
    import html

    assert quoted(html.unescape(error))[1:] == search_help_examples(demo_client)[1:]
