"""A test CA, seal and timestamp certificates made at run time (cryptography), and the two independent validators."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSPHRASE = "test-seal-passphrase"


@dataclass
class TestPki:
    ca_cert: x509.Certificate
    ca_key: rsa.RSAPrivateKey
    seal_cert: x509.Certificate
    seal_key: ec.EllipticCurvePrivateKey
    pkcs12: bytes  # seal key + certificate + CA, encrypted with PASSPHRASE
    tsa_cert: x509.Certificate
    tsa_key: rsa.RSAPrivateKey

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Katasteramt Lindenhagen (Test)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool, usage: x509.KeyUsage,
                 eku: list | None = None, days: int = 30, start: datetime | None = None) -> x509.Certificate:
    start = start or datetime.now(UTC) - timedelta(hours=1)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(start)
               .not_valid_after(start + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(usage, critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(signing_key, hashes.SHA256())


def _usage(**flags) -> x509.KeyUsage:
    names = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"]
    return x509.KeyUsage(**{name: flags.get(name, False) for name in names})


def make_pki(*, seal_days: int = 30, seal_start: datetime | None = None) -> TestPki:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_cert = _certificate(_name("Test-Wurzel-CA"), _name("Test-Wurzel-CA"), ca_key.public_key(), ca_key, ca=True,
                           usage=_usage(key_cert_sign=True, crl_sign=True), days=365)
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal_cert = _certificate(_name("Siegel Katasteramt Lindenhagen"), ca_cert.subject, seal_key.public_key(), ca_key,
                             ca=False, usage=_usage(digital_signature=True, content_commitment=True),
                             days=seal_days, start=seal_start)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_cert = _certificate(_name("Test-Zeitstempeldienst"), ca_cert.subject, tsa_key.public_key(), ca_key, ca=False,
                            usage=_usage(digital_signature=True), eku=[ExtendedKeyUsageOID.TIME_STAMPING], days=365)
    bundle = pkcs12.serialize_key_and_certificates(
        b"seal", seal_key, seal_cert, [ca_cert],
        serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    return TestPki(ca_cert, ca_key, seal_cert, seal_key, bundle, tsa_cert, tsa_key)


def dummy_timestamper(pki: TestPki):
    """pyHanko's in-process test TSA (DummyTimeStamper), signing with the test TSA certificate: a stand-in for a
    real timestamp authority, which the test machine cannot reach."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.keys import load_private_key_from_pemder_data
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    cert = asn1_x509.Certificate.load(pki.tsa_cert.public_bytes(serialization.Encoding.DER))
    key = load_private_key_from_pemder_data(
        pki.tsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()), passphrase=None)
    ca = asn1_x509.Certificate.load(pki.ca_cert.public_bytes(serialization.Encoding.DER))
    return DummyTimeStamper(tsa_cert=cert, tsa_key=key, certs_to_embed=[ca])


def pyhanko_status(pdf: bytes, pki: TestPki):
    """pyHanko's validation of the one signature in `pdf`, trusting only the test CA."""
    from io import BytesIO

    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from gis_service.orders.seal import outside_event_loop

    root = asn1_x509.Certificate.load(pki.ca_cert.public_bytes(serialization.Encoding.DER))
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    [signature] = reader.embedded_signatures
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    return outside_event_loop(lambda: validate_pdf_signature(signature, context))


def nss_database(pki: TestPki, folder: Path) -> Path | None:
    """An NSS certificate database trusting the test CA, for pdfsig (poppler checks trust with NSS); None without certutil."""
    if shutil.which("certutil") is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True, capture_output=True)
    ca = folder / "ca.pem"
    ca.write_bytes(pki.ca_pem)
    subprocess.run(["certutil", "-A", "-d", f"sql:{folder}", "-n", "Test-Wurzel-CA", "-t", "C,C,C", "-i", str(ca)],
                   check=True, capture_output=True)
    return folder


@dataclass
class PdfsigReport:
    signature: str  # "Signature Validation: …"
    certificate: str  # "Certificate Validation: …"
    output: str

    @property
    def valid(self) -> bool:
        return self.signature == "Signature is Valid."


def pdfsig(path: Path, nss: Path | None = None) -> PdfsigReport:
    """poppler's pdfsig on one file: its verdict on the signature and on the certificate."""
    command = ["pdfsig"] + (["-nssdir", f"sql:{nss}"] if nss else []) + [str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    signature = re.search(r"Signature Validation: (.+)", output)
    certificate = re.search(r"Certificate Validation: (.+)", output)
    return PdfsigReport(signature.group(1).strip() if signature else "", certificate.group(1).strip() if certificate else "",
                        output)


def flip_signed_byte(pdf: bytes) -> bytes:
    """The PDF with one byte of a content stream changed, inside what the signature covers (before /Contents)."""
    start = pdf.index(b"stream", pdf.index(b"/Length")) + len(b"stream\n") + 20
    contents = pdf.index(b"/Contents <")
    assert start < contents, "the flipped byte must lie inside the signed range"
    return pdf[:start] + bytes([pdf[start] ^ 0x01]) + pdf[start + 1:]
