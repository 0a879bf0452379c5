"""The electronic seal: PAdES signatures with a CA made at run time, checked by pyHanko's validator and by poppler's pdfsig."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from seal_support import (
    PASSPHRASE,
    dummy_timestamper,
    flip_signed_byte,
    make_pki,
    nss_database,
    pdfsig,
    pyhanko_status,
)

from gis_service.config import SealSettings
from gis_service.orders.seal import SealError, Sealer, load_sealer

# In CI (scripts/install puts poppler-utils there) a missing pdfsig fails the test instead.
needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None and not os.environ.get("CI"),
                                  reason="poppler-utils (pdfsig) not installed")


@pytest.fixture(scope="module")
def pki():
    return make_pki()


@pytest.fixture(scope="module")
def sealer(pki, tmp_path_factory):
    path = tmp_path_factory.mktemp("seal") / "siegel.p12"
    path.write_bytes(pki.pkcs12)
    return load_sealer(SealSettings(pkcs12_path=path, location="Lindenhagen"),
                       environ={"GIS_SERVICE_SEAL_PASSPHRASE": PASSPHRASE})


def sample_pdf(text: str = "Auszug aus der Liegenschaftskarte") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = BytesIO()
    page = canvas.Canvas(out, pagesize=A4, pageCompression=0)
    page.drawString(72, 720, text)
    page.rect(72, 72, 400, 500)
    page.showPage()
    page.save()
    return out.getvalue()


def test_without_a_certificate_there_is_no_sealer():
    assert load_sealer(SealSettings()) is None


def test_seal_is_pades_b_b_and_valid_for_pyhanko(sealer, pki):
    original = sample_pdf()
    sealed = sealer.seal(original)
    assert sealer.level == "B-B"
    # an incremental update: the document as made stays byte for byte in front
    assert sealed.startswith(original) and len(sealed) > len(original)
    assert b"/ETSI.CAdES.detached" in sealed
    status = pyhanko_status(sealed, pki)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.signing_cert.subject.native["common_name"] == "Siegel Katasteramt Lindenhagen"
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.timestamp_validity is None  # B-B: no timestamp


def test_a_flipped_byte_fails_pyhanko(sealer, pki):
    tampered = flip_signed_byte(sealer.seal(sample_pdf()))
    status = pyhanko_status(tampered, pki)
    assert not status.intact and not status.bottom_line


def test_another_ca_is_not_trusted(sealer):
    status = pyhanko_status(sealer.seal(sample_pdf()), make_pki())
    assert status.intact and not status.trusted


@needs_pdfsig
def test_pdfsig_finds_the_seal_valid_and_a_flipped_byte_invalid(sealer, pki, tmp_path):
    sealed = sealer.seal(sample_pdf())
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(sealed)
    bad.write_bytes(flip_signed_byte(sealed))
    nss = nss_database(pki, tmp_path / "nss")
    report = pdfsig(good, nss)
    assert report.valid, report.output
    if nss is not None:  # with the test CA in pdfsig's trust store, the certificate is trusted too
        assert report.certificate == "Certificate is Trusted.", report.output
    tampered = pdfsig(bad, nss)
    assert not tampered.valid and tampered.signature, tampered.output


def test_b_t_with_pyhankos_in_process_test_tsa(pki, sealer):
    stamped = Sealer(sealer.signer, timestamper=dummy_timestamper(pki))
    assert stamped.level == "B-T"
    status = pyhanko_status(stamped.seal(sample_pdf()), pki)
    assert status.bottom_line, status.pretty_print_details()
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    assert status.timestamp_validity.valid and status.timestamp_validity.trusted
    assert abs(status.timestamp_validity.timestamp - datetime.now(UTC)) < timedelta(minutes=5)


def test_b_lt_embeds_the_validation_data(pki, sealer):
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(pki.ca_cert.public_bytes(serialization.Encoding.DER))
    # The test CA publishes no revocation service; "soft-fail" lets the chain be embedded without one.
    context = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
    long_term = Sealer(sealer.signer, timestamper=dummy_timestamper(pki), long_term=True, validation_context=context)
    assert long_term.level == "B-LT"
    sealed = long_term.seal(sample_pdf())
    reader = PdfFileReader(BytesIO(sealed), strict=False)
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 2  # the seal certificate's chain, for validation after it expires
    assert pyhanko_status(sealed, pki).bottom_line


def test_wrong_passphrase_names_the_variable(pki, tmp_path):
    path = tmp_path / "siegel.p12"
    path.write_bytes(pki.pkcs12)
    settings = SealSettings(pkcs12_path=path, passphrase_env="SEAL_PIN")
    with pytest.raises(SealError, match=r"\$SEAL_PIN"):
        load_sealer(settings, environ={"SEAL_PIN": "falsch"})
    with pytest.raises(SealError, match="cannot read"):
        load_sealer(SealSettings(pkcs12_path=tmp_path / "missing.p12"), environ={})


def test_an_expired_certificate_seals_nothing(tmp_path):
    old = make_pki(seal_days=1, seal_start=datetime.now(UTC) - timedelta(days=3))
    path = tmp_path / "alt.p12"
    path.write_bytes(old.pkcs12)
    with pytest.raises(SealError, match="expired"):
        load_sealer(SealSettings(pkcs12_path=path), environ={"GIS_SERVICE_SEAL_PASSPHRASE": PASSPHRASE})


def test_settings_refuse_b_lt_without_a_timestamp_authority():
    with pytest.raises(ValueError, match="timestamp_url"):
        SealSettings(long_term=True)
    with pytest.raises(ValueError, match="http"):
        SealSettings(timestamp_url="ftp://tsa.example")


def test_a_seal_that_outgrows_the_room_kept_for_it_is_estimated_again(pki, tmp_path):
    path = tmp_path / "siegel.p12"
    path.write_bytes(pki.pkcs12)
    sealer = load_sealer(SealSettings(pkcs12_path=path), environ={"GIS_SERVICE_SEAL_PASSPHRASE": PASSPHRASE})
    first = sealer.seal(sample_pdf())
    kept = sealer._reserved
    assert kept and kept > 1000  # the first seal's room is kept for the next ones
    assert pyhanko_status(sealer.seal(sample_pdf("zweiter")), pki).bottom_line
    sealer._reserved = 64  # far too small, as a larger timestamp answer would find it
    again = sealer.seal(sample_pdf("dritter"))
    assert pyhanko_status(again, pki).bottom_line and pyhanko_status(first, pki).bottom_line
    assert abs(sealer._reserved - kept) < 64  # estimated anew (an ECDSA signature varies by a few bytes)


def test_configured_seal_at_start(pki, tmp_path, monkeypatch, caplog):
    """A config file names the certificate relative to itself; a wrong passphrase stops the start naming the key."""
    from gis_service.config import ConfigError, load_settings
    from gis_service.wiring import build_sealer

    (tmp_path / "siegel.p12").write_bytes(pki.pkcs12)
    config = tmp_path / "config.yaml"
    config.write_text("orders:\n  seal:\n    pkcs12_path: siegel.p12\n    passphrase_env: TEST_SEAL_PIN\n")
    settings = load_settings(config)
    assert settings.orders.seal.pkcs12_path == tmp_path / "siegel.p12"
    monkeypatch.setenv("TEST_SEAL_PIN", PASSPHRASE)
    with caplog.at_level("WARNING", logger="gis_service.wiring"):
        sealer = build_sealer(settings)
    assert sealer is not None and sealer.level == "B-B"
    assert "expires in" in caplog.text  # the test certificate lives 30 days: renewal is due
    monkeypatch.setenv("TEST_SEAL_PIN", "falsch")
    with pytest.raises(ConfigError, match="orders.seal.pkcs12_path"):
        build_sealer(settings)


def test_b_lt_as_configured_trusts_the_chain_in_the_pkcs12_file(pki, tmp_path):
    from pyhanko.pdf_utils.reader import PdfFileReader

    path = tmp_path / "siegel.p12"
    path.write_bytes(pki.pkcs12)
    sealer = load_sealer(SealSettings(pkcs12_path=path, timestamp_url="http://127.0.0.1:9/tsr", long_term=True),
                         environ={"GIS_SERVICE_SEAL_PASSPHRASE": PASSPHRASE})
    assert sealer.level == "B-LT" and sealer.timestamper.url == "http://127.0.0.1:9/tsr"
    sealer.timestamper = dummy_timestamper(pki)  # no real timestamp authority here (see dummy_timestamper)
    sealed = sealer.seal(sample_pdf())
    assert "/DSS" in PdfFileReader(BytesIO(sealed), strict=False).root
    assert pyhanko_status(sealed, pki).bottom_line


def test_the_nrw_example_takes_the_seal_from_the_environment(monkeypatch, tmp_path):
    from gis_service.config import PROJECT_ROOT, load_settings

    example = PROJECT_ROOT / "examples" / "nrw.yaml"
    for name in ("GIS_SERVICE_SEAL_PKCS12", "GIS_SERVICE_SEAL_TSA_URL"):
        monkeypatch.delenv(name, raising=False)
    unset = load_settings(example).orders.seal
    assert unset.pkcs12_path is None and unset.timestamp_url is None  # unsigned, as the README says
    monkeypatch.setenv("GIS_SERVICE_SEAL_PKCS12", str(tmp_path / "siegel.p12"))
    monkeypatch.setenv("GIS_SERVICE_SEAL_TSA_URL", "https://tsa.example/tsr")
    configured = load_settings(example).orders.seal
    assert configured.pkcs12_path == tmp_path / "siegel.p12" and configured.timestamp_url == "https://tsa.example/tsr"


def test_check_seal_command(pki, tmp_path):
    """`gis-service check-seal`: unsigned without a certificate, sealed and trusted with the test seal, a wrong
    passphrase stops it with the key named."""
    import subprocess
    import sys

    from order_support import REPO, subprocess_env

    (tmp_path / "siegel.p12").write_bytes(pki.pkcs12)
    config = tmp_path / "config.yaml"
    config.write_text(f"instance_path: {tmp_path / 'instance'}\norders:\n  seal:\n    pkcs12_path: siegel.p12\n")

    def check_seal(passphrase: str | None, config_file=config):
        env = {**subprocess_env(), "GIS_SERVICE_SEAL_PASSPHRASE": passphrase or ""}
        return subprocess.run([sys.executable, "-m", "gis_service.cli", "check-seal", "--config", str(config_file)],
                              capture_output=True, text=True, cwd=REPO, env=env, timeout=120)

    good = check_seal(PASSPHRASE)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Siegel Katasteramt Lindenhagen" in good.stdout and "PAdES B-B" in good.stdout
    assert "signature is intact" in good.stdout and "chains to a root in the PKCS#12 file" in good.stdout
    wrong = check_seal("falsch")
    assert wrong.returncode == 2 and "orders.seal.pkcs12_path" in wrong.stderr and "GIS_SERVICE_SEAL_PASSPHRASE" in wrong.stderr
    none = tmp_path / "none.yaml"
    none.write_text(f"instance_path: {tmp_path / 'instance'}\n")
    unsigned = check_seal(None, none)
    assert unsigned.returncode == 1 and "extracts are issued unsigned" in unsigned.stdout
    # a PKCS#12 file without the chain: sealed, but nothing here says readers will trust it
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    (tmp_path / "siegel.p12").write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", pki.seal_key, pki.seal_cert, None, serialization.BestAvailableEncryption(PASSPHRASE.encode())))
    alone = check_seal(PASSPHRASE)
    assert alone.returncode == 1 and "does not chain to a root" in alone.stdout, alone.stdout + alone.stderr
