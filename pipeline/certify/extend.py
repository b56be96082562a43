"""Re-time-stamping stored copies (PAdES B-LTA): keep a signature provable after the certificates
that vouch for it expire.

A time-stamp proves when a copy was signed only while its authority's certificate chain can still
be checked. Before the newest time-stamp's chain expires (:func:`archive_timestamp_expiry`),
:func:`extend_pdf` adds the validation data (certificates, OCSP/CRL) of what the newest time-stamp
(or, in a B-T/B-LT copy, the signature and its time-stamp) needs, then a new document time-stamp
over everything, in one incremental update: the stored bytes stay a prefix of the result, and the
original signature still validates (pyHanko: coverage ENTIRE_REVISION, modification level
LTA_UPDATES, DocMDP ok — DSS updates and document time-stamps are what ISO 32000-2 allows after
a "no changes" certification).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time

from asn1crypto import cms, x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.path import ValidationPath

from pipeline.certify._net import fetching_context, http_timestamper, run_fetching
from pipeline.certify.pades import (
    ARCHIVE_TIMESTAMP_FIELD,
    SignOptions,
    ValidationData,
    load_certificate,
    open_signed,
    read_validation_data,
    signature_level,
    signature_timestamp_tokens,
    translate_signing_failure,
)
from pipeline.errors import SigningError, VerificationError

log = logging.getLogger(__name__)

_MAX_CHAIN = 10


# ---- when does the newest time-stamp stop being usable? ----------------------------------------
def _gen_time(token: cms.SignedData) -> dt.datetime:
    moment: dt.datetime = token["encap_content_info"]["content"].parsed["gen_time"].native
    return moment


def _token_certs(token: cms.SignedData) -> list[x509.Certificate]:
    certs = token["certificates"]
    if certs.native is None:
        return []
    return [c.chosen for c in certs if c.name == "certificate"]


def _chain(leaf: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """``leaf`` and the issuers found for it in ``pool`` (by name and key identifier), up to a
    self-signed certificate or the first missing issuer."""
    chain = [leaf]
    current = leaf
    while current.self_signed == "no" and len(chain) < _MAX_CHAIN:
        candidates = [c for c in pool if c.subject == current.issuer and c.dump() != current.dump()]
        aki = current.authority_key_identifier
        if aki is not None:
            candidates = [c for c in candidates if c.key_identifier in (None, aki)] or candidates
        if not candidates:
            break
        current = candidates[0]
        chain.append(current)
    return chain


def _newest_timestamp(reader: PdfFileReader) -> cms.SignedData | None:
    doc_timestamps = sorted(reader.embedded_timestamp_signatures, key=lambda ts: ts.signed_revision)
    if doc_timestamps:
        return doc_timestamps[-1].signed_data
    tokens = [t for sig in reader.embedded_regular_signatures for t in signature_timestamp_tokens(sig)]
    return max(tokens, key=_gen_time) if tokens else None


def archive_timestamp_expiry(pdf: bytes) -> dt.datetime | None:
    """When the newest time-stamp (the last document time-stamp, else the signature's time-stamp
    token) stops being usable: the earliest ``not_after`` in its TSA's certificate chain, as far as
    the file carries it (the token's certificates and the DSS). None without a time-stamp."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        token = _newest_timestamp(reader)
    except Exception as e:
        raise VerificationError(detail=f"cannot read PDF signatures: {type(e).__name__}: {e}") from e
    if token is None:
        return None
    pool = _token_certs(token) + list(read_validation_data(reader).certs)
    chain = _chain(extract_certificate_info(token).signer_cert, pool)
    return min(c.not_valid_after for c in chain)


# ---- adding a document time-stamp ---------------------------------------------------------------
def _next_field_name(reader: PdfFileReader) -> str:
    taken = {name for name, _, _ in enumerate_sig_fields(reader, filled_status=None)}
    n = len(reader.embedded_timestamp_signatures) + 1
    while f"{ARCHIVE_TIMESTAMP_FIELD}{n}" in taken:
        n += 1
    return f"{ARCHIVE_TIMESTAMP_FIELD}{n}"


def _not_extendable(why: str) -> SigningError:
    return SigningError(
        "Bản sao điện tử không còn nguyên vẹn (chữ ký không khớp nội dung hoặc đã bị sửa sau khi ký) "
        "nên không gia hạn dấu thời gian được.",
        detail=why,
    )


async def _check_intact(reader: PdfFileReader, roots: list[x509.Certificate]) -> None:
    """Never time-stamp a broken copy: every signature and time-stamp must still match the bytes,
    and nothing but LTA updates may follow the signatures. (Trust is not judged here.)"""
    offline = ValidationContext(trust_roots=roots, allow_fetching=False)
    for sig in reader.embedded_regular_signatures:
        st = await async_validate_pdf_signature(sig, offline)
        if not (st.intact and st.valid):
            raise _not_extendable(f"signature {sig.field_name}: intact={st.intact} valid={st.valid}")
        if st.coverage < SignatureCoverageLevel.ENTIRE_REVISION or st.docmdp_ok is False:
            raise _not_extendable(f"signature {sig.field_name}: coverage={st.coverage} docmdp_ok={st.docmdp_ok}")
        if st.modification_level is not None and st.modification_level > ModificationLevel.LTA_UPDATES:
            raise _not_extendable(f"signature {sig.field_name}: modification level {st.modification_level}")
    for ts in reader.embedded_timestamp_signatures:
        ts_st = await async_validate_pdf_timestamp(ts, offline)
        if not (ts_st.intact and ts_st.valid):
            raise _not_extendable(f"document time-stamp {ts.field_name}: intact={ts_st.intact} valid={ts_st.valid}")


async def _tsa_path(token: cms.SignedData, vc: ValidationContext) -> ValidationPath:
    info = extract_certificate_info(token)
    validator = CertificateValidator(info.signer_cert, intermediate_certs=info.other_certs, validation_context=vc)
    return await validator.async_validate_usage(set(), extended_key_usage={"time_stamping"})


async def _paths_to_cover(reader: PdfFileReader, data: ValidationData, vc: ValidationContext) -> list[ValidationPath]:
    """What the new time-stamp must make provable: the last document time-stamp if there is one
    (earlier ones are covered by it); else each signature's time-stamp and, when the DSS lacks it
    (B-T), the signer's own chain."""
    doc_timestamps = sorted(reader.embedded_timestamp_signatures, key=lambda ts: ts.signed_revision)
    if doc_timestamps:
        return [await _tsa_path(doc_timestamps[-1].signed_data, vc)]
    paths: list[ValidationPath] = []
    for sig in reader.embedded_regular_signatures:
        if not data.has_revocation_info(sig.signer_cert):
            validator = CertificateValidator(
                sig.signer_cert, intermediate_certs=sig.other_embedded_certs, validation_context=vc
            )
            paths.append(await validator.async_validate_usage(set()))
        for token in signature_timestamp_tokens(sig):
            paths.append(await _tsa_path(token, vc))
    return paths


def extend_pdf(pdf: bytes, options: SignOptions) -> bytes:
    """Add validation data and a new document time-stamp to a signed copy (B-T, B-LT or B-LTA;
    the result is B-LTA) as one incremental update. Uses ``options.timestamp_url``,
    ``timestamp_timeout``, ``trust_roots`` and ``revocation_timeout``; nothing else of it."""
    if not options.timestamp_url:
        raise SigningError(
            "Gia hạn bản sao cần dịch vụ cấp dấu thời gian (TSA). Hãy cấu hình địa chỉ TSA (tsa_url).",
            detail="extend without timestamp_url",
        )
    reader = open_signed(pdf)
    level = signature_level(pdf)
    if level == "B-B":
        raise SigningError(
            "Bản sao chỉ ký ở mức B-B (không có dấu thời gian) nên không gia hạn được; "
            "hãy cấp lại bản sao với chữ ký mức B-T trở lên.",
            detail="extend of a B-B signature",
        )
    data = read_validation_data(reader)
    roots = [load_certificate(r) for r in options.trust_roots]
    field_name = _next_field_name(reader)
    url = options.timestamp_url
    started = time.perf_counter()
    out = io.BytesIO()

    async def extend(backend: AIOHttpFetcherBackend) -> None:
        await _check_intact(reader, roots)
        embedded = list(data.certs)
        for sig in reader.embedded_regular_signatures:
            embedded.extend(sig.other_embedded_certs)
        vc = fetching_context(roots, backend, embedded)
        paths = await _paths_to_cover(reader, data, vc)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        DocumentSecurityStore.supply_dss_in_writer(writer, None, paths=paths, validation_context=vc)
        stamper = PdfTimeStamper(http_timestamper(url, options.timestamp_timeout), field_name=field_name)
        await stamper.async_timestamp_pdf(
            writer,
            "sha256",
            vc,
            output=out,
            # the new time-stamp's own validation data goes before it: the file ends with the time-stamp
            dss_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
        )

    try:
        run_fetching(options.revocation_timeout, extend)
    except SigningError:
        raise
    except Exception as e:
        raise translate_signing_failure(e, url) from e
    extended = out.getvalue()
    if not extended.startswith(pdf):  # an incremental update never rewrites; make sure of it
        raise SigningError(detail="extended copy does not start with the original bytes")
    log.info(
        "extended a %s copy (%d → %d bytes) with document time-stamp %s in %.0f ms",
        level,
        len(pdf),
        len(extended),
        field_name,
        (time.perf_counter() - started) * 1000,
    )
    return extended
