"""PAdES signatures on rendered e-copies (pyHanko).

Baseline B-B (CAdES-detached CMS, signing certificate attribute), or B-T when a time-stamp
authority URL is given. The signature is a **certification** (DocMDP) signature with "no changes
allowed" by default: an issued e-copy is immutable, and saying so in the file makes viewers such
as Acrobat flag any later edit, not only our own verifier (which compares SHA-256 first anyway).
The visible stamp uses an embedded OpenType font; pyHanko's default stamp font cannot show
Vietnamese diacritics.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass, field

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_VENDOR
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.stamp import TextStampStyle

from pipeline.errors import SigningError, TimestampError
from pipeline.render import NOTO_REGULAR, SIGNATURE_BOX, SignatureBox

log = logging.getLogger(__name__)

DEFAULT_STAMP_TEXT = "Ký số bởi: %(signer)s\nThời gian ký: %(ts)s\nNơi ký: %(location)s"


@dataclass(frozen=True)
class SigningKey:
    """A signer ready to use. ``signer`` is any pyHanko signer (PKCS#12 → SimpleSigner,
    a token → PKCS11Signer); ``cert_sha256`` is what the registry stores per issued copy."""

    signer: signers.Signer = field(repr=False)
    cert_sha256: str
    subject: str


@dataclass(frozen=True)
class SignOptions:
    timestamp_url: str | None = None  # None → PAdES B-B; set → B-T with an RFC 3161 time-stamp
    timestamp_timeout: float = 10.0
    reason: str = "Chứng thực bản sao đúng với bản chính"
    location: str = ""
    contact: str = ""
    field_name: str = "ChungThuc"
    certify: bool = True  # DocMDP "no changes allowed"; see module docstring
    stamp_text: str = DEFAULT_STAMP_TEXT  # pyHanko interpolation: %(signer)s %(ts)s %(location)s
    stamp_font_path: str = NOTO_REGULAR
    stamp_font_size: int = 9
    stamp_timestamp_format: str = "%d/%m/%Y %H:%M:%S %Z"


def load_pkcs12_key(data: bytes, password: bytes | None) -> SigningKey:
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=password)
    except Exception as e:
        raise SigningError("Không mở được tệp chứng thư số (PKCS#12). Kiểm tra tệp và mật khẩu.", detail=str(e)) from e
    if signer is None or signer.signing_cert is None:
        raise SigningError("Tệp PKCS#12 không chứa khóa ký và chứng thư số.", detail="no key/cert in PKCS#12")
    return signing_key_from_signer(signer)


def signing_key_from_signer(signer: signers.Signer) -> SigningKey:
    """Wrap any pyHanko signer (e.g. a PKCS#11 token) in a SigningKey."""
    cert = signer.signing_cert
    if cert is None:
        raise SigningError(detail="signer has no signing certificate")
    return SigningKey(
        signer=signer,
        cert_sha256=hashlib.sha256(cert.dump()).hexdigest(),
        subject=cert.subject.human_friendly,
    )


def _stamp_style(options: SignOptions) -> TextStampStyle:
    font = GlyphAccumulatorFactory(options.stamp_font_path, font_size=options.stamp_font_size)
    return TextStampStyle(
        stamp_text=options.stamp_text,
        text_box_style=TextBoxStyle(font=font, font_size=options.stamp_font_size),
        timestamp_format=options.stamp_timestamp_format,
        border_width=1,
    )


def _keep_producer_in_sync(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A wants Info /Producer == XMP pdf:Producer. pyHanko sets the XMP one to its own name
    but *appends* its name to the Info one ("ecopy; pyHanko …"), so set both to the same value
    in the signing revision. Creator/CreatorTool still say "ecopy"."""
    if "/Info" not in writer.trailer:
        return
    info = writer.trailer["/Info"]
    info[generic.NameObject("/Producer")] = generic.TextStringObject(PYHANKO_VENDOR)
    writer.mark_update(writer.trailer.raw_get("/Info"))


def _caused_by_timestamp(e: BaseException) -> bool:
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, TimestampRequestError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def sign_pdf(
    pdf: bytes,
    key: SigningKey,
    options: SignOptions = SignOptions(),
    signature_box: SignatureBox | None = SIGNATURE_BOX,
) -> bytes:
    """Sign ``pdf`` as an incremental update; ``signature_box`` None → invisible signature."""
    meta = signers.PdfSignatureMetadata(
        field_name=options.field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=options.reason or None,
        location=options.location or None,
        contact_info=options.contact or None,
        certify=options.certify,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    if signature_box is not None:
        field_spec = fields.SigFieldSpec(
            sig_field_name=options.field_name, on_page=signature_box.page_index, box=signature_box.rect
        )
    else:
        field_spec = fields.SigFieldSpec(sig_field_name=options.field_name)
    timestamper = (
        HTTPTimeStamper(options.timestamp_url, timeout=options.timestamp_timeout) if options.timestamp_url else None
    )
    started = time.perf_counter()
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        _keep_producer_in_sync(writer)
        pdf_signer = signers.PdfSigner(
            meta,
            signer=key.signer,
            timestamper=timestamper,
            stamp_style=_stamp_style(options),
            new_field_spec=field_spec,
        )
        out = io.BytesIO()
        pdf_signer.sign_pdf(writer, output=out, appearance_text_params={"location": options.location or "—"})
    except Exception as e:
        if _caused_by_timestamp(e):
            raise TimestampError(detail=f"{options.timestamp_url}: {e}") from e
        raise SigningError(detail=f"{type(e).__name__}: {e}") from e
    signed = out.getvalue()
    log.info(
        "signed %d bytes as PAdES %s in %.0f ms (signer %s)",
        len(signed),
        "B-T" if timestamper else "B-B",
        (time.perf_counter() - started) * 1000,
        key.cert_sha256[:16],
    )
    return signed
