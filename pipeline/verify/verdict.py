"""Verify an e-copy: by its exact bytes first, then by its signature.

The registry holds the SHA-256 of every issued file. A file whose bytes are not on record is not
an issued copy, whatever its signature says (an appended revision can keep the old signature
"valid" for the bytes it covers). So the order is: hash → registry state → signature.

A file on record is our own bytes: its signature is checked in this process. Any other upload is
hostile: pipeline.verify.diagnose examines it in a child process with a time and a memory limit, only to
say why it is not an issued copy and whether it carries one of our signatures (``altered``) or not
(``unknown``). pyHanko alone is not the judge of "nothing changed after signing": it accepts junk
after %%EOF, metadata-only updates and, under an approval signature, filled forms; the diagnosis
checks the raw structure (byte ranges, revisions) itself.

Every verdict carries ``reasons`` (short Vietnamese sentences a receiving agency can read) and
``codes`` (a stable English code per reason, same order) for API users and tests; the English
sentence of each code, with the same facts, is in api/i18n.py (``verdict_reasons``).

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

from pipeline.ecopy_file import INFO_KEY_CERTIFICATE_NUMBER, INFO_KEY_ECOPY_ID, XMP_ID_PREFIX
from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.models import VN_TZ, IssuedCopyInfo, SignatureReport, Verdict, VerdictStatus
from pipeline.verify.diagnose import DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT_S, MESSAGES, Diagnosis, diagnose, examine

log = logging.getLogger(__name__)


# ---- signature ----------------------------------------------------------------------------------
def validate_signature(pdf: bytes, trust_roots: Sequence[bytes], *, at: dt.datetime | None = None) -> SignatureReport:
    """Validate the first (certifying) signature against ``trust_roots`` only, offline, in this process.

    For bytes we trust to parse (an issued copy, a file we just signed); untrusted uploads go
    through :func:`verify_pdf`, which diagnoses them in a child process with limits.

    ``at`` is the moment the certificate chain must have been valid: for a copy on record it is
    when the registry says it was issued, so a copy stays verifiable after its signer's
    certificate expires (the registry, not the file, vouches for that time). Default: now.

    ``trusted`` means the signer's certificate chains to one of the roots (checked even when the
    document digest no longer matches, so an altered copy can still be attributed to its signer);
    ``intact`` says whether the signed bytes are unchanged; ``covers_whole_file`` holds only when
    nothing but validation data (DSS, document time-stamps) follows the signature, checked on the
    raw structure as well as by pyHanko. ``problems`` are short codes with technical detail.
    """
    return _examined_report(examine(pdf, trust_roots, at=at))


def _examined_report(diag: Diagnosis) -> SignatureReport:
    if diag.report is not None:
        return diag.report
    return SignatureReport(present=False, problems=tuple(f"{f.code}: {f.detail}"[:300] for f in diag.findings))


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

    def has(self, code: str) -> bool:
        return any(c == code for c, _ in self.items)

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


def _signature_reasons(report: SignatureReport, out: _Reasons, *, on_record: bool) -> None:
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
    if report.bottom_line and on_record:
        out.add("signature.other", "Chữ ký số hợp lệ nhưng khác với chữ ký ghi trong sổ đăng ký.")


def verify_pdf(
    pdf: bytes,
    lookup_sha256: Callable[[str], IssuedCopyInfo | None],
    trust_roots: Sequence[bytes],
    known_signer_fingerprints: Collection[str] = (),
    *,
    diagnosis_timeout_s: float = DEFAULT_TIMEOUT_S,
    diagnosis_memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> Verdict:
    """Verdict on an uploaded file: valid / revoked / altered / unknown. Never raises, never hangs.

    Hash first. A hit is a file we issued (each stored version of a copy, e.g. re-time-stamped,
    has its own hash on record): record state, then its signature, in this process; valid only if
    the signer certificate is the record's, chains to ``trust_roots`` and covers the whole file
    (or only validation data follows). A miss is never valid; a diagnosis in a child process with
    ``diagnosis_timeout_s`` and ``diagnosis_memory_bytes`` says why, and whether the file carries one
    of our signatures (chains to our roots or is in ``known_signer_fingerprints``: ``altered``)
    or not (``unknown``).
    """
    digest = hashlib.sha256(pdf).hexdigest()
    out = _Reasons([])
    info = lookup_sha256(digest)
    if info is not None:
        return _verify_issued(pdf, info, trust_roots, out)

    if b"%PDF-" not in pdf[:1024]:  # not worth a child process
        out.add("file.unreadable", MESSAGES["file.unreadable"])
        out.add("hash.unknown", "Không tìm thấy bản sao nào trùng với tệp này trong sổ đăng ký.")
        out.add("signature.missing", "Tệp không có chữ ký số của cơ quan chứng thực.")
        return out.verdict("unknown", None, None, SignatureReport(present=False, problems=("unreadable: not a PDF",)))

    diag = diagnose(
        pdf,
        trust_roots,
        known_signer_fingerprints,
        timeout_s=diagnosis_timeout_s,
        memory_bytes=diagnosis_memory_bytes,
    )
    report = diag.report or SignatureReport(
        present=bool(diag.signers), problems=tuple(f"{f.code}: {f.detail}"[:300] for f in diag.findings)
    )
    embedded_id = diag.embedded_ecopy_id
    if diag.carries_our_signature:
        out.add(
            "hash.mismatch",
            "Tệp không trùng khớp với bất kỳ bản sao nào đã cấp: nội dung đã bị thay đổi so với bản được cấp.",
        )
        _signature_reasons(report, out, on_record=False)
        _diagnosis_reasons(diag, out)
        if embedded_id:
            out.add(
                "id.embedded",
                f"Tệp ghi mã bản sao {embedded_id}; hãy tra cứu mã này để xem bản đã cấp.",
            )
        log.info("altered copy (claims %s): %s", embedded_id, [f"{f.code}: {f.detail}" for f in diag.findings])
        return out.verdict("altered", embedded_id, None, report)

    if "file.unreadable" in diag.codes:
        out.add("file.unreadable", MESSAGES["file.unreadable"])
    out.add("hash.unknown", "Không tìm thấy bản sao nào trùng với tệp này trong sổ đăng ký.")
    if any(s.crypto_valid for s in diag.signers):  # a working signature, by someone else
        out.add("signature.foreign", MESSAGES["signature.foreign"])
    elif diag.completed and not report.present and "file.unreadable" not in diag.codes:
        out.add("signature.missing", "Tệp không có chữ ký số của cơ quan chứng thực.")
    _diagnosis_reasons(diag, out)
    log.info("unknown file: %s", [f"{f.code}: {f.detail}" for f in diag.findings])
    return out.verdict("unknown", None, None, report)


def _verify_issued(pdf: bytes, info: IssuedCopyInfo, trust_roots: Sequence[bytes], out: _Reasons) -> Verdict:
    """A file whose exact bytes we issued: record state, then the signature (our own bytes: in-process)."""
    if _record_state(info, out):
        return out.verdict("revoked", info.ecopy_id, info)
    diag = examine(pdf, trust_roots, at=info.issued_at)
    report = _examined_report(diag)
    on_record = info.signer_cert_sha256.lower()
    signer_ok = bool(on_record) and on_record == report.signer_cert_sha256.lower()
    if report.bottom_line and signer_ok and not diag.blocking:
        out.add(
            "hash.match",
            f"Tệp trùng khớp hoàn toàn với bản sao {info.ecopy_id} do {info.office} cấp "
            f"lúc {_vn_datetime(info.issued_at)}.",
        )
        signer = report.signer_subject or "cơ quan chứng thực"
        out.add("signature.valid", f"Chữ ký số hợp lệ và được tin cậy ({signer}).")
        return out.verdict("valid", info.ecopy_id, info, report)
    out.add("hash.match_bad_signature", f"Tệp trùng với bản sao {info.ecopy_id} nhưng chữ ký số không đạt.")
    _signature_reasons(report, out, on_record=True)
    if report.present and not signer_ok and not out.has("signature.other"):
        out.add("signature.other", "Chữ ký số khác với chữ ký ghi trong sổ đăng ký.")
    _diagnosis_reasons(diag, out)
    log.warning("issued copy %s fails signature validation: %s %s", info.ecopy_id, report.problems, list(diag.codes))
    return out.verdict("altered", info.ecopy_id, info, report)


def _diagnosis_reasons(diag: Diagnosis, out: _Reasons) -> None:
    for finding in diag.findings:
        if not out.has(finding.code):
            out.add(finding.code, finding.message)


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
