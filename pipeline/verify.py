"""Verify an e-copy: by its exact bytes first, then by its signature.

The registry holds the SHA-256 of every issued file. A file whose bytes are not on record is not
an issued copy, whatever its signature says (an appended revision can keep the old signature
"valid" for the bytes it covers). So the order is: hash → registry state → signature.

Every verdict carries ``reasons`` (short Vietnamese sentences a receiving agency can read) and
``codes`` (a stable English code per reason, same order) for API users and tests.

Nothing here raises on hostile input: an unreadable file is a verdict, not an exception.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import pikepdf
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.models import VN_TZ, IssuedCopyInfo, SignatureReport, Verdict, VerdictStatus
from pipeline.render import INFO_KEY_CERTIFICATE_NUMBER, INFO_KEY_ECOPY_ID, XMP_ID_PREFIX

log = logging.getLogger(__name__)


# ---- signature ----------------------------------------------------------------------------------
def _load_roots(trust_roots: Sequence[bytes]) -> list[object]:
    roots: list[object] = []
    for data in trust_roots:
        try:
            roots.extend(load_certs_from_pemder_data(data))
        except Exception as e:  # a bad configured root must not hide the others
            log.warning("ignoring an unreadable trust root: %s", e)
    return roots


def validate_signature(pdf: bytes, trust_roots: Sequence[bytes], *, at: dt.datetime | None = None) -> SignatureReport:
    """Validate the first (certifying) signature against ``trust_roots`` only, offline.

    ``at`` is the moment the certificate chain must have been valid: for a copy on record it is
    when the registry says it was issued, so a copy stays verifiable after its signer's
    certificate expires (the registry, not the file, vouches for that time). Default: now.

    ``trusted`` means the signer's certificate chains to one of the roots (checked even when the
    document digest no longer matches, so an altered copy can still be attributed to its signer);
    ``intact`` says whether the signed bytes are unchanged. ``problems`` are short codes with
    technical detail, for logs and API users.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_regular_signatures)
    except Exception as e:
        return SignatureReport(present=False, problems=(f"unreadable: {type(e).__name__}: {e}"[:300],))
    if not sigs:
        return SignatureReport(present=False, problems=("no_signature",))
    sig = sigs[0]
    problems: list[str] = []
    if len(sigs) > 1:
        problems.append(f"extra_signatures: {len(sigs) - 1}")

    subject, fingerprint = "", ""
    try:
        cert = sig.signer_cert
        subject, fingerprint = cert.subject.human_friendly, hashlib.sha256(cert.dump()).hexdigest()
    except Exception as e:
        problems.append(f"no_signer_cert: {type(e).__name__}: {e}"[:300])

    try:
        vc = ValidationContext(
            trust_roots=_load_roots(trust_roots), allow_fetching=False, revocation_mode="soft-fail", moment=at
        )
        status = validate_pdf_signature(sig, signer_validation_context=vc)
    except Exception as e:
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
    covers_whole_file = coverage == SignatureCoverageLevel.ENTIRE_FILE or only_validation_data_after
    modified = not covers_whole_file or status.docmdp_ok is False

    ts = status.timestamp_validity
    timestamped = ts is not None and ts.intact and ts.valid
    signing_time = ts.timestamp if timestamped and ts is not None else status.signer_reported_dt

    if not status.intact:
        problems.append("not_intact")
    if not status.valid:
        problems.append("invalid")
    if not chains:
        indic = status.trust_problem_indic
        problems.append(f"untrusted: {indic if indic is not None else 'no path'}")
    if not covers_whole_file:
        problems.append(f"partial_coverage: {coverage.name if coverage else None}, {level.name if level else None}")
    if status.docmdp_ok is False:
        problems.append("docmdp_violated")
    if ts is not None and not timestamped:
        problems.append("timestamp_invalid")
    elif ts is not None and not ts.trusted:
        problems.append("timestamp_untrusted")
    return SignatureReport(
        present=True,
        intact=status.intact,
        valid=status.valid,
        trusted=chains,
        covers_whole_file=covers_whole_file,
        modified_after_signing=modified,
        signer_subject=subject,
        signer_cert_sha256=fingerprint,
        signing_time=signing_time,
        timestamped=timestamped,
        problems=tuple(problems),
    )


def read_embedded_ecopy_id(pdf: bytes) -> str | None:
    """The e-copy ID the file says it carries (Info /EcopyID, else XMP dc:identifier).

    Only a hint for messages: anyone can write it, so it never decides a verdict.
    """
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            value = doc.docinfo.get(INFO_KEY_ECOPY_ID)
            if value is not None:
                found = normalize_ecopy_id(str(value))
                if found:
                    return found
            ident = str(doc.open_metadata().get("dc:identifier", "") or "")
            if ident.startswith(XMP_ID_PREFIX):
                return normalize_ecopy_id(ident[len(XMP_ID_PREFIX) :])
    except Exception as e:
        log.debug("no e-copy ID readable: %s", e)
    return None


def read_certificate_number(pdf: bytes) -> str | None:
    """The certification number our renderer wrote into the Info dictionary, if any."""
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            value = doc.docinfo.get(INFO_KEY_CERTIFICATE_NUMBER)
            return str(value) if value is not None else None
    except Exception as e:
        log.debug("no certificate number readable: %s", e)
    return None


# ---- verdicts -----------------------------------------------------------------------------------
@dataclass
class _Reasons:
    items: list[tuple[str, str]]

    def add(self, code: str, message: str) -> None:
        self.items.append((code, message))

    def verdict(
        self,
        status: VerdictStatus,
        ecopy_id: str | None,
        record: IssuedCopyInfo | None = None,
        signature: SignatureReport | None = None,
    ) -> Verdict:
        return Verdict(
            status=status,
            ecopy_id=ecopy_id,
            reasons=tuple(m for _, m in self.items),
            record=record,
            signature=signature,
            codes=tuple(c for c, _ in self.items),
        )


def _vn_datetime(t: dt.datetime) -> str:
    if t.tzinfo is not None:
        t = t.astimezone(VN_TZ)
    return t.strftime("%H:%M ngày %d/%m/%Y")


def _record_state(info: IssuedCopyInfo, out: _Reasons) -> bool:
    """Add the reasons for a revoked/superseded record; True when the record is not in force."""
    if info.status == "revoked":
        why = f": {info.revoked_reason}" if info.revoked_reason else ""
        out.add("record.revoked", f"Bản sao {info.ecopy_id} đã bị thu hồi{why}.")
        return True
    if info.status == "superseded":
        by = f" bằng bản sao {info.superseded_by}" if info.superseded_by else ""
        out.add("record.superseded", f"Bản sao {info.ecopy_id} đã được thay thế{by}; hãy dùng bản mới.")
        return True
    if info.status != "issued":
        out.add("record.not_in_force", f"Bản sao {info.ecopy_id} không còn hiệu lực ({info.status}).")
        return True
    return False


def _signature_reasons(report: SignatureReport, out: _Reasons) -> None:
    if not report.present:
        out.add("signature.missing", "Tệp không có chữ ký số hợp lệ của cơ quan chứng thực.")
        return
    if not report.intact:
        out.add("signature.not_intact", "Nội dung đã ký bị thay đổi: chữ ký số không còn khớp với tệp.")
    if not report.valid:
        out.add("signature.invalid", "Chữ ký số không hợp lệ.")
    if not report.trusted:
        out.add("signature.untrusted", "Chứng thư ký số không thuộc cơ quan chứng thực được tin cậy.")
    if not report.covers_whole_file or report.modified_after_signing:
        out.add("signature.modified_after", "Tệp đã bị thêm hoặc sửa nội dung sau khi ký.")
    if report.bottom_line:
        out.add("signature.other", "Chữ ký số hợp lệ nhưng khác với chữ ký ghi trong sổ đăng ký.")


def verify_pdf(
    pdf: bytes,
    lookup_sha256: Callable[[str], IssuedCopyInfo | None],
    trust_roots: Sequence[bytes],
    known_signer_fingerprints: Collection[str] = (),
) -> Verdict:
    """Verdict on an uploaded file: valid / revoked / altered / unknown."""
    digest = hashlib.sha256(pdf).hexdigest()
    out = _Reasons([])
    info = lookup_sha256(digest)
    report = validate_signature(pdf, trust_roots, at=info.issued_at if info is not None else None)
    if info is not None:
        if _record_state(info, out):
            return out.verdict("revoked", info.ecopy_id, info, report)
        signer_ok = not info.signer_cert_sha256 or info.signer_cert_sha256 == report.signer_cert_sha256
        if report.bottom_line and signer_ok:
            out.add(
                "hash.match",
                f"Tệp trùng khớp hoàn toàn với bản sao {info.ecopy_id} do {info.office} cấp "
                f"lúc {_vn_datetime(info.issued_at)}.",
            )
            signer = report.signer_subject or "cơ quan chứng thực"
            out.add("signature.valid", f"Chữ ký số hợp lệ và được tin cậy ({signer}).")
            return out.verdict("valid", info.ecopy_id, info, report)
        out.add("hash.match_bad_signature", f"Tệp trùng với bản sao {info.ecopy_id} nhưng chữ ký số không đạt.")
        _signature_reasons(report, out)
        log.warning("issued copy %s fails signature validation: %s", info.ecopy_id, report.problems)
        return out.verdict("altered", info.ecopy_id, info, report)

    embedded_id = read_embedded_ecopy_id(pdf)
    known = {f.lower() for f in known_signer_fingerprints}
    ours = report.present and (report.trusted or report.signer_cert_sha256.lower() in known)
    if ours:
        out.add(
            "hash.mismatch",
            "Tệp không trùng khớp với bất kỳ bản sao nào đã cấp: nội dung đã bị thay đổi so với bản được cấp.",
        )
        _signature_reasons(report, out)
        if embedded_id:
            out.add(
                "id.embedded",
                f"Tệp ghi mã bản sao {embedded_id}; hãy tra cứu mã này để xem bản đã cấp.",
            )
        return out.verdict("altered", embedded_id, None, report)
    if not report.present and any(p.startswith("unreadable") for p in report.problems):
        out.add("file.unreadable", "Tệp không phải là tệp PDF đọc được.")
    out.add("hash.unknown", "Không tìm thấy bản sao nào trùng với tệp này trong sổ đăng ký.")
    if report.present:
        out.add("signature.foreign", "Chữ ký số trong tệp không phải của cơ quan chứng thực trong hệ thống.")
    else:
        out.add("signature.missing", "Tệp không có chữ ký số của cơ quan chứng thực.")
    return out.verdict("unknown", None, None, report)


def verify_record(info: IssuedCopyInfo | None, ecopy_id: str | None) -> Verdict:
    """Verdict on a lookup by ID (typed or from the QR): only the registry state can be checked."""
    out = _Reasons([])
    if info is None:
        shown = ecopy_id or ""
        out.add("record.unknown", f"Không tìm thấy mã bản sao {shown} trong sổ đăng ký.".replace("  ", " "))
        return out.verdict("unknown", ecopy_id)
    if _record_state(info, out):
        return out.verdict("revoked", info.ecopy_id, info)
    out.add(
        "record.issued",
        f"Bản sao {info.ecopy_id} do {info.office} cấp lúc {_vn_datetime(info.issued_at)}, hiện còn hiệu lực.",
    )
    return out.verdict("valid", info.ecopy_id, info)
