"""Issue 12, done when: an extract ordered and paid end to end proves itself to readers that are not ours.

zbarimg (zbar-tools) decodes the QR code to the verification URL, whose page shows the SHA-256 of the file
downloaded; pdftotext reads parcel, scale, order number and code; pdfsig (poppler) and pyHanko find the
office's seal valid, and invalid once a byte is flipped.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import shutil
import subprocess

import pikepdf
import pytest
import requests
from order_support import Mailbox, absolute, make_live, order_state, pay_order, unique_email
from seal_support import PASSPHRASE, flip_signed_byte, make_pki, nss_database, pdfsig, pyhanko_status
from test_orders_e2e import citizen_orders, number_and_token

from gis_service.orders import verification as codes

TOOLS = ("zbarimg", "pdftoppm", "pdftotext", "pdfsig")
pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS) and not os.environ.get("CI"),
                                reason=f"needs {', '.join(TOOLS)} (zbar-tools, poppler-utils; scripts/install)")


@pytest.fixture(scope="module")
def pki():
    return make_pki()


@pytest.fixture(scope="module")
def sealed_live(request, pki, tmp_path_factory, postgres, simulator, smtp):
    """A live app (SQLite, worker on) whose office seals its extracts with the test seal certificate."""
    folder = tmp_path_factory.mktemp("seal")
    (folder / "siegel.p12").write_bytes(pki.pkcs12)
    variable = f"GIS_TEST_SEAL_PIN_{secrets.token_hex(4).upper()}"
    os.environ[variable] = PASSPHRASE  # read once, when the app is built
    try:
        live = make_live("sqlite", postgres, tmp_path_factory, simulator, smtp,
                         seal={"pkcs12_path": str(folder / "siegel.p12"), "passphrase_env": variable,
                               "location": "Lindenhagen"})
    finally:
        del os.environ[variable]
    request.addfinalizer(live.stop)
    return live


def run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{command[0]}: {result.stderr}"
    return result.stdout


def test_a_paid_extract_proves_itself(sealed_live, simulator, smtp, pki, tmp_path):
    live = sealed_live
    email = unique_email("pruefung")
    number, token = number_and_token(citizen_orders(live, email).headers["Location"])
    back = pay_order(live, simulator, number, token)
    assert back.status_code == 303
    requests.get(absolute(live, back.headers["Location"]), timeout=30)
    state = order_state(live, number, token)
    assert state["status"] == "completed", state["status"]
    [document] = state["documents"]
    pdf = requests.get(document["url"], timeout=30).content
    path = tmp_path / "Auszug.pdf"
    path.write_bytes(pdf)
    digest = hashlib.sha256(pdf).hexdigest()
    # the file the mail links to is the same file
    link = re.search(r"(http://\S+/files/\S+)", Mailbox.body(smtp.wait_for(email, "ist fertig"))).group(1)
    assert hashlib.sha256(requests.get(link, timeout=30).content).hexdigest() == digest

    # zbarimg, an independent reader, decodes the QR code on the page to the verification URL
    run("pdftoppm", "-r", "300", "-png", "-singlefile", str(path), str(tmp_path / "page"))
    decoded = run("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(tmp_path / "page.png")).split()
    assert decoded == [document["verification_url"]]
    url = decoded[0]
    code = url.rsplit("/", 1)[1]
    assert url == live.url(f"/verify/{code}") and codes.normalise(code)

    # its page shows the SHA-256 of the file downloaded, and says the extract is sealed and valid
    page = requests.get(url, timeout=30)
    assert page.status_code == 200 and digest in page.text
    assert 'data-valid="true"' in page.text and "elektronisch gesiegelt" in page.text

    # pdftotext reads parcel, scale, order number and code from the page itself (real text in the title block)
    text = run("pdftotext", "-layout", str(path), "-")
    key = live.service.repository.get(number).parcel_key  # Land+Gemarkung (6), Flur (3), Zähler (5), Nenner
    gemarkung = live.service.repository.get(number).parcel_label.split(",")[0].removeprefix("Gemarkung ").strip()
    for label, value in (("Gemarkung", gemarkung), ("Flur", str(int(key[6:9]))), ("Flurstück", str(int(key[9:14]))),
                         ("Maßstab", "1:1000"), ("Auftragsnummer", number), ("Prüfcode", code)):
        assert re.search(rf"{label}:\s+{re.escape(value)}(\s|$)", text, re.MULTILINE), (label, value, text)

    # the office's seal: pdfsig (poppler, with the test CA in its trust store) and pyHanko find it valid …
    nss = nss_database(pki, tmp_path / "nss")
    report = pdfsig(path, nss)
    assert report.valid, report.output
    if nss is not None:
        assert report.certificate == "Certificate is Trusted.", report.output
    status = pyhanko_status(pdf, pki)
    assert status.bottom_line and status.coverage.name == "ENTIRE_FILE", status.pretty_print_details()

    # the seal is an incremental update that leaves the PDF/A-2b of the document as made: identification,
    # output intent and file identifier stay; the seal's widget has no area and is printable, not hidden
    with pikepdf.open(io.BytesIO(pdf)) as document:
        meta = document.open_metadata()
        assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("2", "B")
        assert len(document.Root.OutputIntents) == 1 and "/ID" in document.trailer and not document.is_encrypted
        [widget] = [a for a in document.pages[0].get("/Annots", []) if a.get("/FT") == "/Sig"]
        assert [float(v) for v in widget.Rect] == [0, 0, 0, 0]
        assert int(widget.F) & 4 and not int(widget.F) & (1 | 2 | 32)  # Print; not Invisible, Hidden or NoView

    # … and invalid once one byte of the signed content is flipped; the verification page sees it too
    tampered = tmp_path / "verfaelscht.pdf"
    tampered.write_bytes(flip_signed_byte(pdf))
    assert not pdfsig(tampered, nss).valid
    assert not pyhanko_status(tampered.read_bytes(), pki).intact
    check = requests.post(url, files={"pdf": ("verfaelscht.pdf", tampered.read_bytes(), "application/pdf")}, timeout=30)
    assert check.status_code == 200 and 'data-match="false"' in check.text


def test_a_seal_certificate_expired_meanwhile_sends_the_order_to_staff(quiet_sqlite, simulator, monkeypatch):
    """The certificate was valid at start and expired while the service ran: no extract goes out unsealed."""
    from datetime import UTC, datetime, timedelta

    from order_support import api_order, order_body, token_of
    from pyhanko.sign import signers

    from gis_service.orders.seal import Sealer

    live = quiet_sqlite
    lapsed = make_pki(seal_days=1, seal_start=datetime.now(UTC) - timedelta(days=2))
    expired = signers.SimpleSigner.load_pkcs12_data(lapsed.pkcs12, other_certs=(), passphrase=PASSPHRASE.encode())
    assert expired.signing_cert.not_valid_after < datetime.now(UTC)
    monkeypatch.setattr(live.service.issuer, "sealer", Sealer(expired))
    body = api_order(live, order_body()).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)
    order = live.service.repository.get(number)
    assert order.status == "in_progress" and order.handling == "staff" and order.attention
    assert "expired" in order.staff_reason
    assert order.documents == []  # nothing issued, unsealed or otherwise


def test_metrics_tell_the_operator_about_extracts_and_the_seal(sealed_live, simulator):
    from prometheus_client.parser import text_string_to_metric_families

    from order_support import api_order, order_body, token_of

    body = api_order(sealed_live, order_body()).json()
    pay_order(sealed_live, simulator, body["order_number"], token_of(body["status_url"]))
    text = requests.get(sealed_live.url("/metrics"), timeout=30).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("gis_extracts_issued", (("state", "valid"),))] >= 1
    assert ("gis_extracts_issued", (("state", "superseded"),)) in samples  # every state, zeros too
    left = samples[("gis_seal_certificate_expiry_seconds", (("level", "B-B"),))]
    assert 29 * 86400 < left <= 30 * 86400  # the test certificate lives 30 days
