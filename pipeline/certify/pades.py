"""PAdES signatures on rendered e-copies (pyHanko): baseline levels B-B, B-T, B-LT and B-LTA.

* B-B: CAdES-detached CMS with the signing-certificate attribute.
* B-T: plus an RFC 3161 signature time-stamp from ``timestamp_url``.
* B-LT: plus the validation data (certificates, OCSP responses/CRLs of the signer's and the TSA's
  chains, fetched at signing time) in the document security store (DSS). The DSS is written **in
  the signature's own revision** (pyHanko ``TOGETHER_WITH_SIGNATURE``): the file is one revision
  after the rendered copy, so checkers that do not analyse incremental updates (poppler's pdfsig)
  see one signature covering the whole document.
* B-LTA: B-LT plus a document time-stamp; the DSS is written with that time-stamp
  (``TOGETHER_WITH_NEXT_TS``, and the time-stamp's own validation data *before* it), so the file
  ends with the document time-stamp, which covers everything.

The signature is a **certification** (DocMDP) signature with "no changes allowed" by default: an
issued e-copy is immutable, and saying so in the file makes viewers such as Acrobat flag any later
edit, not only our own verifier (which compares SHA-256 first anyway). DSS updates and document
time-stamps are the changes ISO 32000-2 allows after it (pyHanko: modification level LTA_UPDATES).
The visible stamp uses an embedded OpenType font; pyHanko's default stamp font cannot show
Vietnamese diacritics.

Nothing half-signed ever leaves :func:`sign_pdf`: if the TSA or the revocation sources fail at
any step (also after the signature, for the document time-stamp), it raises and returns nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, get_args

from asn1crypto import cms, crl, ocsp, pem, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_VENDOR
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    SigDSSPlacementPreference,
    TimestampDSSContentSettings,
)
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
)
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from pipeline.certify._net import fetching_context, http_timestamper, run_fetching
from pipeline.ecopy_file import NOTO_REGULAR, SIGNATURE_BOX, SignatureBox
from pipeline.errors import (
    CertificateExpiredError,
    CertificateRevokedError,
    RevocationUnavailableError,
    SigningError,
    TimestampError,
    VerificationError,
)

log = logging.getLogger(__name__)

DEFAULT_STAMP_TEXT = "Người chứng thực: %(signer)s\nCơ quan: %(office)s\nKý ngày: %(ts)s\nNơi ký: %(location)s"
Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LEVELS: tuple[Level, ...] = get_args(Level)
T = TypeVar("T")
ARCHIVE_TIMESTAMP_FIELD = "DauThoiGianLuuTru"  # + a number: one field per document time-stamp


@dataclass(frozen=True)
class SigningKey:
    """A signer ready to use. ``signer`` is any pyHanko signer (PKCS#12 → SimpleSigner,
    a token → PKCS11Signer); ``cert_sha256`` is what the registry stores per issued copy."""

    signer: signers.Signer = field(repr=False)
    cert_sha256: str
    subject: str


@dataclass(frozen=True)
class SignOptions:
    """How to sign. ``level`` is the PAdES baseline level; B-T and above need ``timestamp_url``.
    A ``timestamp_url`` with level B-B still gives B-T (as before levels existed)."""

    level: Level = "B-B"
    timestamp_url: str | None = None  # RFC 3161 TSA; required for B-T, B-LT, B-LTA
    timestamp_timeout: float = 10.0
    # Roots (PEM or DER) that the signer's and the TSA's chains end in: used to build the paths
    # whose OCSP/CRL are fetched for B-LT/B-LTA. Empty → the self-signed certificates the key
    # carries (its PKCS#12 chain); name the TSA's root here if another CA issued it.
    trust_roots: tuple[bytes, ...] = ()
    revocation_timeout: float = 10.0  # per OCSP/CRL/certificate request
    reason: str = "Chứng thực bản sao đúng với bản chính"
    signer_name: str = ""  # the signature's /Name and the stamp's %(signer)s; empty → the certificate's name
    office: str = ""  # the stamp's %(office)s; empty → the certificate's organisational unit or "—"
    location: str = ""
    contact: str = ""
    field_name: str = "ChungThuc"
    certify: bool = True  # DocMDP "no changes allowed"; see module docstring
    stamp_text: str = DEFAULT_STAMP_TEXT  # pyHanko interpolation: %(signer)s %(office)s %(ts)s %(location)s
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


def effective_level(options: SignOptions) -> Level:
    """The level :func:`sign_pdf` produces for ``options``; a misconfiguration is a SigningError."""
    if options.level not in LEVELS:
        raise SigningError(
            f"Mức chữ ký {options.level!r} không hợp lệ. Hãy chọn một trong: {', '.join(LEVELS)}.",
            detail=f"unknown PAdES level {options.level!r}",
        )
    if options.level == "B-B":
        return "B-T" if options.timestamp_url else "B-B"
    if not options.timestamp_url:
        raise SigningError(
            f"Mức chữ ký {options.level} cần dịch vụ cấp dấu thời gian (TSA). "
            "Hãy cấu hình địa chỉ TSA (tsa_url) hoặc chọn mức B-B.",
            detail=f"level {options.level} without timestamp_url",
        )
    return options.level


# ---- appearance and PDF/A metadata -----------------------------------------------------------
# The stamp's font: pyHanko subsets the whole font file for every signature, and for NotoSans
# (thousands of glyphs, OpenType layout tables) that took ≈250 ms, most of a signature. So each
# process subsets it once to the Latin and Vietnamese letters, without layout tables (Vietnamese
# text is NFC: precomposed letters, no mark positioning needed), and the stamp embeds from that.
_STAMP_UNICODES = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x250),
    *range(0x300, 0x324),
    *range(0x1EA0, 0x1EFA),
    *(0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x20AB),
]


@functools.cache
def stamp_font_file(path: str) -> str:
    """A Latin + Vietnamese subset of ``path`` in a per-user cache file (made once per font)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"ecopy-stamp-{os.getuid()}-{digest}.ttf"
    if target.exists():
        return str(target)
    opts = subset.Options()
    opts.layout_features = []
    opts.drop_tables += ["GSUB", "GPOS", "GDEF"]
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    font = TTFont(path)
    subsetter = subset.Subsetter(opts)
    subsetter.populate(unicodes=_STAMP_UNICODES)
    subsetter.subset(font)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    font.save(str(tmp))
    os.replace(tmp, target)  # atomic: concurrent processes write the same bytes
    return str(target)


def _stamp_style(options: SignOptions) -> TextStampStyle:
    font = GlyphAccumulatorFactory(stamp_font_file(options.stamp_font_path), font_size=options.stamp_font_size)
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


# ---- validation data (B-LT / B-LTA / extension) ------------------------------------------------
def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes."""
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)


def _roots(options: SignOptions) -> list[x509.Certificate]:
    return [load_certificate(r) for r in options.trust_roots]


def _causes(e: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = e
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        yield seen
        seen = seen.__cause__ or seen.__context__


def translate_signing_failure(e: Exception, timestamp_url: str | None) -> SigningError:
    """One place that turns pyHanko/certvalidator failures into the project's errors."""
    detail = "; ".join(f"{type(c).__name__}: {c}" for c in _causes(e))[:2000]
    for cause in _causes(e):
        if isinstance(cause, SigningError):  # ours, raised inside a callback
            return cause
        if isinstance(cause, TimestampRequestError):
            return TimestampError(detail=f"{timestamp_url}: {detail}")
        if isinstance(cause, RevokedError):
            return CertificateRevokedError(detail=detail)
        if isinstance(cause, InsufficientRevinfoError):
            return RevocationUnavailableError(detail=detail)
        if isinstance(cause, (ExpiredError, NotYetValidError)):
            return SigningError(
                "Chứng thư số (của người ký hoặc của dịch vụ dấu thời gian) đã hết hạn hoặc chưa có hiệu lực.",
                detail=detail,
            )
        if isinstance(cause, (PathBuildingError, PathValidationError)):
            return SigningError(
                "Không xác minh được chuỗi chứng thư của người ký hoặc của dịch vụ dấu thời gian với các "
                "chứng thư gốc đã cấu hình (trust_roots).",
                detail=detail,
            )
    return SigningError(detail=detail)


# ---- signing -----------------------------------------------------------------------------------
def _signature_metadata(
    options: SignOptions, level: Level, key: SigningKey, backend: AIOHttpFetcherBackend
) -> signers.PdfSignatureMetadata:
    long_term = level in ("B-LT", "B-LTA")
    validation_context = fetching_context(_roots(options), backend, key.signer.cert_registry) if long_term else None
    if level == "B-LTA":
        # DSS goes with the document time-stamp; the time-stamp's own data before it, so the file
        # ends with the time-stamp (no trailing DSS-only revision).
        dss = DSSContentSettings(
            placement=SigDSSPlacementPreference.TOGETHER_WITH_NEXT_TS,
            include_vri=False,
            next_ts_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
        )
    else:
        dss = DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False)
    return signers.PdfSignatureMetadata(
        field_name=options.field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=options.reason or None,
        name=options.signer_name or None,
        location=options.location or None,
        contact_info=options.contact or None,
        certify=options.certify,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        embed_validation_info=long_term,
        validation_context=validation_context,
        use_pades_lta=level == "B-LTA",
        timestamp_field_name=f"{ARCHIVE_TIMESTAMP_FIELD}1" if level == "B-LTA" else None,
        dss_settings=dss,
    )


def check_valid_now(key: SigningKey) -> None:
    """A copy signed outside its certificate's validity would never verify: issuing refuses to make
    one (``sign_pdf`` itself does not check, so tests can sign "in the past")."""
    cert = key.signer.signing_cert
    if cert is None:
        raise SigningError(detail="signer has no signing certificate")
    now = dt.datetime.now(dt.UTC)
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    if not not_before <= now <= not_after:
        raise CertificateExpiredError(detail=f"certificate {key.cert_sha256[:16]} valid {not_before} to {not_after}")


def sign_pdf(
    pdf: bytes,
    key: SigningKey,
    options: SignOptions = SignOptions(),
    signature_box: SignatureBox | None = SIGNATURE_BOX,
) -> bytes:
    """Sign ``pdf`` as an incremental update; ``signature_box`` None → invisible signature."""
    level = effective_level(options)
    started = time.perf_counter()
    if signature_box is not None:
        field_spec = fields.SigFieldSpec(
            sig_field_name=options.field_name, on_page=signature_box.page_index, box=signature_box.rect
        )
    else:
        field_spec = fields.SigFieldSpec(sig_field_name=options.field_name)
    timestamper = (
        http_timestamper(options.timestamp_url, options.timestamp_timeout)
        if options.timestamp_url and level != "B-B"
        else None
    )
    out = io.BytesIO()

    async def sign(backend: AIOHttpFetcherBackend) -> None:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        _keep_producer_in_sync(writer)
        pdf_signer = signers.PdfSigner(
            _signature_metadata(options, level, key, backend),
            signer=key.signer,
            timestamper=timestamper,
            stamp_style=_stamp_style(options),
            new_field_spec=field_spec,
        )
        await pdf_signer.async_sign_pdf(
            writer,
            output=out,
            appearance_text_params={"location": options.location or "—", "office": options.office or "—"},
        )

    try:
        run_fetching(options.revocation_timeout, sign)
    except SigningError:
        raise
    except Exception as e:
        raise translate_signing_failure(e, options.timestamp_url) from e
    signed = out.getvalue()
    log.info(
        "signed %d bytes as PAdES %s in %.0f ms (signer %s)",
        len(signed),
        level,
        (time.perf_counter() - started) * 1000,
        key.cert_sha256[:16],
    )
    return signed


# ---- which level does a copy have? ---------------------------------------------------------------
@dataclass(frozen=True)
class ValidationData:
    """What a file's DSS holds."""

    certs: tuple[x509.Certificate, ...] = ()
    ocsps: tuple[ocsp.OCSPResponse, ...] = ()
    crls: tuple[crl.CertificateList, ...] = ()

    def has_revocation_info(self, cert: x509.Certificate) -> bool:
        """An OCSP response about ``cert`` or a CRL from its issuer."""
        for resp in self.ocsps:
            try:
                basic = resp["response_bytes"]["response"].parsed
                singles = basic["tbs_response_data"]["responses"]
            except (KeyError, ValueError, TypeError):
                continue
            for single in singles:
                cert_id = single["cert_id"]
                if cert_id["serial_number"].native != cert.serial_number:
                    continue
                try:
                    name_hash = hashlib.new(cert_id["hash_algorithm"]["algorithm"].native, cert.issuer.dump())
                except ValueError:
                    continue
                if cert_id["issuer_name_hash"].native == name_hash.digest():
                    return True
        return any(c["tbs_cert_list"]["issuer"] == cert.issuer for c in self.crls)


def read_validation_data(reader: PdfFileReader) -> ValidationData:
    try:
        dss = reader.root["/DSS"]
    except KeyError:
        return ValidationData()

    def streams(key: str) -> list[bytes]:
        try:
            return [ref.get_object().data for ref in dss[key]]
        except KeyError:
            return []

    return ValidationData(
        certs=tuple(x509.Certificate.load(d) for d in streams("/Certs")),
        ocsps=tuple(ocsp.OCSPResponse.load(d) for d in streams("/OCSPs")),
        crls=tuple(crl.CertificateList.load(d) for d in streams("/CRLs")),
    )


def signature_timestamp_tokens(sig: EmbeddedPdfSignature) -> list[cms.SignedData]:
    """The RFC 3161 tokens in the signature's unsigned attributes (signature-time-stamp)."""
    out: list[cms.SignedData] = []
    attrs = sig.signer_info["unsigned_attrs"]
    if attrs.native is None:
        return out
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            out.extend(value["content"] for value in attr["values"])
    return out


def _signer_cert(signed_data: cms.SignedData) -> x509.Certificate:
    return extract_certificate_info(signed_data).signer_cert


def open_signed(pdf: bytes) -> PdfFileReader:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_regular_signatures
    except Exception as e:
        raise VerificationError(detail=f"cannot read PDF signatures: {type(e).__name__}: {e}") from e
    if not sigs:
        raise VerificationError("Tệp không có chữ ký số.", detail="no signature in PDF")
    return reader


def signature_level(pdf: bytes) -> Level:
    """The PAdES level a signed copy actually has, by inspection (not validation): B-T if the
    signature carries a time-stamp token, B-LT if the DSS also holds revocation data for the
    signer's and the TSA's certificates, B-LTA if a document time-stamp follows the signature.
    Several signatures → the lowest of their levels."""
    reader = open_signed(pdf)
    try:
        return _lowest_level(reader)
    except Exception as e:  # a malformed DSS or token: not something we issued
        raise VerificationError(detail=f"cannot inspect signatures: {type(e).__name__}: {e}") from e


def _lowest_level(reader: PdfFileReader) -> Level:
    data = read_validation_data(reader)
    doc_ts_revisions = [ts.signed_revision for ts in reader.embedded_timestamp_signatures]
    levels: list[Level] = []
    for sig in reader.embedded_regular_signatures:
        tokens = signature_timestamp_tokens(sig)
        if not tokens:
            levels.append("B-B")
            continue
        covered = [sig.signer_cert, *(_signer_cert(t) for t in tokens)]
        if not all(data.has_revocation_info(c) for c in covered):
            levels.append("B-T")
        elif any(rev > sig.signed_revision for rev in doc_ts_revisions):
            levels.append("B-LTA")
        else:
            levels.append("B-LT")
    return min(levels, key=LEVELS.index)
