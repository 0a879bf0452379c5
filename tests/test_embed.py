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
