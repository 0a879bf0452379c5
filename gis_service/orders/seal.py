"""The office's electronic seal on an extract PDF: PAdES B-B, B-T with a timestamp authority, B-LT with validation data (pyHanko)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO

from gis_service.config import SealSettings


def outside_event_loop[T](call: Callable[[], T]) -> T:
    """`call()`, in a thread of its own when this thread runs an asyncio loop.

    pyHanko's synchronous functions (signing, validating) run their coroutines with asyncio.run, which
    refuses to run inside a running loop (an async server, or Playwright's in a test session).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seal") as pool:
        return pool.submit(call).result()


class SealError(Exception):
    """The seal cannot be applied (certificate unreadable or expired, timestamp authority unreachable)."""


class Sealer:
    """Signs extract PDFs with one seal certificate as an incremental update, so the document's bytes stay as made."""

    FIELD = "Siegel"

    def __init__(self, signer, *, timestamper=None, long_term: bool = False, validation_context=None,
                 reason: str = "", location: str = ""):
        if long_term and timestamper is None:
            raise SealError("PAdES B-LT needs a timestamp authority")
        self.signer = signer
        self.timestamper = timestamper
        self.long_term = long_term
        self.validation_context = validation_context
        self.reason = reason
        self.location = location
        # Room for the signature in the file, as pyHanko estimated it for the first seal: estimating means
        # signing a dummy first, which doubled the time a seal takes; the certificates do not change.
        self._reserved: int | None = None

    @property
    def level(self) -> str:
        """The PAdES baseline level the seals reach: B-B, B-T (with a timestamp) or B-LT (with validation data)."""
        return "B-LT" if self.long_term else "B-T" if self.timestamper is not None else "B-B"

    @property
    def not_after(self) -> datetime:
        return self.signer.signing_cert.not_valid_after

    @property
    def subject(self) -> str:
        return self.signer.signing_cert.subject.human_friendly

    def seal(self, pdf: bytes) -> bytes:
        """The PDF with the seal appended; raises SealError rather than issue an extract sealed with an expired certificate."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers
        from pyhanko.sign.fields import SigSeedSubFilter

        now = datetime.now(UTC)
        if now > self.not_after:
            raise SealError(f"the seal certificate expired on {self.not_after:%Y-%m-%d}")
        meta = signers.PdfSignatureMetadata(
            field_name=self.FIELD, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES,
            reason=self.reason or None, location=self.location or None,
            embed_validation_info=self.long_term, validation_context=self.validation_context,
            use_pades_lta=False)
        reserved = self._reserved

        def sign(room: int | None):  # None: pyHanko estimates the room for the signature
            return outside_event_loop(lambda: signers.sign_pdf(
                IncrementalPdfFileWriter(BytesIO(pdf), strict=False), meta, signer=self.signer,
                timestamper=self.timestamper, bytes_reserved=room))

        try:
            try:
                out = sign(reserved)
            except Exception:
                if reserved is None:
                    raise
                # A larger answer than before (a timestamp authority's, say): estimate again.
                self._reserved = reserved = None
                out = sign(None)
        except Exception as exc:  # noqa: BLE001 - pyHanko raises many kinds; the order then goes to staff
            raise SealError(f"sealing failed: {exc.__class__.__name__}: {exc}") from exc
        sealed = out.getvalue()
        if reserved is None:
            self._reserved = _reserved_length(sealed, len(pdf))
        return sealed


@dataclass(frozen=True)
class SealCheck:
    """A configured seal tried on a test page: what signed, at which level, and what pyHanko found."""

    level: str
    subject: str
    issuer: str
    not_after: datetime
    milliseconds: float
    intact: bool  # the signature covers the bytes as they are
    trusted: bool  # the certificate chains to a root in the PKCS#12 file
    timestamped: bool
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted and self.problem is None


def try_seal(sealer: Sealer) -> SealCheck:
    """Seal a one-page test PDF (with the timestamp authority, when configured) and validate the result against
    the roots in the PKCS#12 file: what an operator checks before the first extract goes out."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from reportlab.pdfgen import canvas

    out = BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "gis-service check-seal")
    page.save()
    cert = sealer.signer.signing_cert
    facts = {"level": sealer.level, "subject": sealer.subject, "issuer": cert.issuer.human_friendly,
             "not_after": sealer.not_after}
    started = time.perf_counter()
    try:
        sealed = sealer.seal(out.getvalue())
    except SealError as exc:
        return SealCheck(**facts, milliseconds=0.0, intact=False, trusted=False, timestamped=False, problem=str(exc))
    elapsed = (time.perf_counter() - started) * 1000
    roots = [c for c in sealer.signer.cert_registry if c.subject == c.issuer]
    [signature] = PdfFileReader(BytesIO(sealed), strict=False).embedded_signatures
    status = outside_event_loop(lambda: validate_pdf_signature(
        signature, ValidationContext(trust_roots=roots, allow_fetching=False)))
    return SealCheck(**facts, milliseconds=elapsed, intact=status.intact and status.valid, trusted=status.trusted,
                     timestamped=status.timestamp_validity is not None)


def _reserved_length(sealed: bytes, original_length: int) -> int | None:
    """The length of the signature's /Contents hex string in the update appended after byte `original_length`."""
    start = sealed.find(b"/Contents <", original_length)
    end = sealed.find(b">", start + 11) if start >= 0 else -1
    return end - start - 11 if end > 0 else None


def load_sealer(settings: SealSettings, environ: Mapping[str, str] | None = None) -> Sealer | None:
    """The sealer the settings describe, or None without a certificate; SealError names what is wrong."""
    if settings.pkcs12_path is None:
        return None
    from pyhanko.sign import signers

    environ = os.environ if environ is None else environ
    passphrase = environ.get(settings.passphrase_env) or None
    try:
        data = settings.pkcs12_path.read_bytes()
    except OSError as exc:
        raise SealError(f"orders.seal.pkcs12_path: cannot read {settings.pkcs12_path}: {exc.strerror}") from None
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=(),
                                                       passphrase=passphrase.encode() if passphrase else None)
    except ValueError:
        raise SealError(f"orders.seal.pkcs12_path: {settings.pkcs12_path} cannot be opened; is the passphrase in "
                        f"${settings.passphrase_env} right?") from None
    timestamper = validation_context = None
    if settings.timestamp_url:
        from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

        timestamper = RequestsHTTPTimeStamper(settings.timestamp_url, timeout=settings.timestamp_timeout_seconds)
    if settings.long_term:
        from pyhanko_certvalidator import ValidationContext

        # The chain in the PKCS#12 file is what the office trusts for its own seal; revocation data
        # are fetched from the addresses in the certificates and embedded.
        validation_context = ValidationContext(trust_roots=list(signer.cert_registry), allow_fetching=True)
    sealer = Sealer(signer, timestamper=timestamper, long_term=settings.long_term,
                    validation_context=validation_context, reason=settings.reason, location=settings.location)
    if datetime.now(UTC) > sealer.not_after:
        raise SealError(f"orders.seal.pkcs12_path: the seal certificate expired on {sealer.not_after:%Y-%m-%d}")
    return sealer
