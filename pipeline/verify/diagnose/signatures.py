"""Each signature dictionary against the bytes (/SubFilter, /Contents, /ByteRange, our own digest
check), and pyHanko's view of the first signature narrowed by what those raw checks found."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.general import extract_signer_info
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.generic_cms import extract_certs_for_validation
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel

from pipeline.models import SignatureReport
from pipeline.verify.diagnose._objects import _get
from pipeline.verify.diagnose.findings import INFORMATIONAL, _Collector, _reraise_if_fatal
from pipeline.verify.diagnose.signers import _MAX_SIGNATURES, _validation_context

SIGNATURE_SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"})
TIMESTAMP_SUBFILTERS = frozenset({"/ETSI.RFC3161"})


# ---- signature dictionaries ---------------------------------------------------------------------
@dataclass
class _Sig:
    name: str
    field: Any  # the field dictionary
    sig: Any  # the signature dictionary
    revision: int  # the revision that wrote the signature dictionary
    is_timestamp: bool
    contents: bytes | None = None
    intact: bool | None = None  # our own digest check; None when it could not be made


def _signature_fields(reader: PdfFileReader) -> list[_Sig]:
    found: list[_Sig] = []
    for n, (name, _value, field_ref) in enumerate(enumerate_sig_fields(reader, filled_status=True)):
        if n >= _MAX_SIGNATURES:
            break
        field_dict = field_ref.get_object()
        raw_value = field_dict.raw_get("/V")
        if isinstance(raw_value, generic.IndirectObject):
            sig = raw_value.get_object()
            revision = reader.xrefs.get_last_change(raw_value.reference)
        else:
            sig = raw_value
            revision = reader.xrefs.get_last_change(field_ref.reference)
        if not isinstance(sig, generic.DictionaryObject):
            continue
        is_ts = _get(sig, "/Type") == "/DocTimeStamp" or _get(sig, "/SubFilter") in TIMESTAMP_SUBFILTERS
        found.append(_Sig(str(name), field_dict, sig, revision, is_ts))
    found.sort(key=lambda s: s.revision)
    return found


def _digest_matches(cms_bytes: bytes, signed: Callable[[], Iterable[bytes]]) -> bool | None:
    """Our own check of the document digest: messageDigest (signatures) or messageImprint (time-stamps)."""
    signed_data = cms.ContentInfo.load(cms_bytes)["content"]
    eci = signed_data["encap_content_info"]
    if eci["content_type"].native == "tst_info":
        imprint = eci["content"].parsed["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        expected = imprint["hashed_message"].native
    else:
        signer_info = extract_signer_info(signed_data)
        algorithm = signer_info["digest_algorithm"]["algorithm"].native
        expected = None
        for attr in signer_info["signed_attrs"]:
            if attr["type"].native == "message_digest":
                expected = attr["values"][0].native
        if expected is None:
            return None
    h = hashlib.new(algorithm)
    for chunk in signed():
        h.update(chunk)
    return bool(h.digest() == expected)


def _check_signature(pdf: bytes, s: _Sig, reader: PdfFileReader, ends: dict[int, set[int]], out: _Collector) -> None:
    sig = s.sig
    label = f"{'time-stamp' if s.is_timestamp else 'signature'} {s.name!r}"
    subfilter = _get(sig, "/SubFilter")
    allowed = TIMESTAMP_SUBFILTERS if s.is_timestamp else SIGNATURE_SUBFILTERS
    if subfilter not in allowed:
        out.add("signature.subfilter", f"{label}: /SubFilter {subfilter}")

    contents = sig.raw_get("/Contents") if "/Contents" in sig else None
    if not isinstance(contents, (generic.ByteStringObject, generic.TextStringObject)):
        out.add("signature.unparsable", f"{label}: /Contents is {type(contents).__name__}")
        return
    s.contents = contents.original_bytes
    if not s.contents.rstrip(b"\x00"):
        out.add("signature.zeroed", f"{label}: /Contents is {len(s.contents)} zero bytes")

    if "/ByteRange" not in sig:
        out.add("signature.no_byte_range", f"{label}: no /ByteRange")
        return
    br = sig.raw_get("/ByteRange")
    numbers = list(br) if isinstance(br, generic.ArrayObject) else []
    if len(numbers) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numbers):
        out.add("signature.byte_range", f"{label}: /ByteRange {br!r:.100} is not four non-negative integers")
        return
    start1, len1, start2, len2 = (int(v) for v in numbers)
    problems: list[str] = []
    if start1 != 0:
        problems.append(f"first range starts at {start1}")
    if not len1 < start2:
        problems.append("ranges overlap")
    if start2 + len2 > len(pdf):
        problems.append("second range runs past the end of the file")
    gap = pdf[len1:start2]
    hex_ok = len(gap) >= 2 and gap[:1] == b"<" and gap[-1:] == b">" and re.fullmatch(rb"[0-9A-Fa-f]*", gap[1:-1])
    if not hex_ok:
        problems.append(f"the unsigned gap [{len1}, {start2}) is not exactly the /Contents hex string")
    elif len(gap) - 2 != len(s.contents) * 2 or bytes.fromhex(gap[1:-1].decode("ascii")) != s.contents:
        problems.append("the unsigned gap holds another value than /Contents")
    try:
        declared = reader.xrefs.get_startxref_for_revision(s.revision)
    except Exception as e:
        _reraise_if_fatal(e)
        declared = -1
    if start2 + len2 not in ends.get(declared, set()):
        problems.append(f"signed bytes end at {start2 + len2}, not at the end of revision {s.revision}")
    if problems:
        out.add("signature.byte_range", f"{label}: " + "; ".join(problems))
    if not s.contents.rstrip(b"\x00") or start2 + len2 > len(pdf) or not len1 < start2:
        return

    def signed() -> Iterator[bytes]:
        yield pdf[start1 : start1 + len1]
        yield pdf[start2 : start2 + len2]

    try:
        s.intact = _digest_matches(s.contents, signed)
    except Exception as e:
        _reraise_if_fatal(e)
        out.add("signature.unparsable", f"{label}: {type(e).__name__}: {e}"[:300])
        return
    if s.intact is False:
        out.add("signature.not_intact", f"{label}: the digest of the signed bytes does not match")


# ---- pyHanko's view of the first signature ------------------------------------------------------
def _pyhanko_status(reader: PdfFileReader, s: _Sig, roots: Sequence[Any], at: dt.datetime | None) -> PdfSignatureStatus:
    embedded = EmbeddedPdfSignature(reader, s.field, s.name)
    return validate_pdf_signature(embedded, signer_validation_context=_validation_context(roots, at))


def _report(
    reader: PdfFileReader, s: _Sig, roots: Sequence[Any], at: dt.datetime | None, out: _Collector, extra: int
) -> SignatureReport:
    """SignatureReport as pyHanko sees the first signature, narrowed by what the raw checks found."""
    problems: list[str] = []
    if extra:
        problems.append(f"extra_signatures: {extra}")
    subject, fingerprint = "", ""
    try:
        if s.contents is None:
            raise ValueError("no readable /Contents")
        cert = extract_certs_for_validation(cms.ContentInfo.load(s.contents)["content"]).signer_cert
        subject, fingerprint = cert.subject.human_friendly, hashlib.sha256(cert.dump()).hexdigest()
    except Exception as e:
        _reraise_if_fatal(e)
        problems.append(f"no_signer_cert: {type(e).__name__}: {e}"[:300])
    try:
        status = _pyhanko_status(reader, s, roots, at)
    except Exception as e:
        _reraise_if_fatal(e)
        problems.append(f"validation_failed: {type(e).__name__}: {e}"[:300])
        return SignatureReport(
            present=True, signer_subject=subject, signer_cert_sha256=fingerprint, problems=tuple(problems)
        )

    chains = status.valid and status.trust_problem_indic is None and status.validation_path is not None
    coverage = status.coverage
    level = status.modification_level
    only_validation_data_after = (
        coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and level is not None
        and level <= ModificationLevel.LTA_UPDATES
        and status.docmdp_ok is not False
    )
    pyhanko_whole = coverage == SignatureCoverageLevel.ENTIRE_FILE or only_validation_data_after
    structural = [c for c in out.details if c not in INFORMATIONAL and c != "signature.extra"]
    covers_whole_file = pyhanko_whole and not structural and not extra
    intact = bool(status.intact) and s.intact is not False
    modified = not covers_whole_file or status.docmdp_ok is False

    ts = status.timestamp_validity
    timestamped = ts is not None and ts.intact and ts.valid
    signing_time = ts.timestamp if timestamped and ts is not None else status.signer_reported_dt

    if not intact:
        problems.append("not_intact")
    if not status.valid:
        problems.append("invalid")
    if not chains:
        indic = status.trust_problem_indic
        problems.append(f"untrusted: {indic if indic is not None else 'no path'}")
    if not pyhanko_whole:
        problems.append(f"partial_coverage: {coverage.name if coverage else None}, {level.name if level else None}")
    if structural:
        problems.append("structure: " + ", ".join(structural))
    if status.docmdp_ok is False:
        problems.append("docmdp_violated")
    if ts is not None and not timestamped:
        problems.append("timestamp_invalid")
    elif ts is not None and not ts.trusted:
        problems.append("timestamp_untrusted")
    return SignatureReport(
        present=True,
        intact=intact,
        valid=bool(status.valid),
        trusted=chains,
        covers_whole_file=covers_whole_file,
        modified_after_signing=modified,
        signer_subject=subject,
        signer_cert_sha256=fingerprint,
        signing_time=signing_time,
        timestamped=timestamped,
        problems=tuple(problems),
    )
