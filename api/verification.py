"""Verification by ID or by file, against the registry. Shared by the API and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.models import IssuedCopyInfo, Verdict
from pipeline.verify.verdict import verify_pdf, verify_record
from storage.registry import EcopyRecord, Registry


def record_info(rec: EcopyRecord) -> IssuedCopyInfo:
    return IssuedCopyInfo(
        ecopy_id=rec.ecopy_id,
        status=rec.status,
        sha256=rec.sha256,
        doc_type=rec.doc_type,
        office=rec.office,
        issued_at=rec.issued_at,
        signer_cert_sha256=rec.signer_cert_sha256,
        revoked_reason=rec.revoked_reason,
        superseded_by=rec.superseded_by,
    )


def verify_id(text: str, registry: Registry) -> Verdict:
    ecopy_id = normalize_ecopy_id(text)
    if ecopy_id is None:
        return Verdict(
            status="unknown",
            ecopy_id=None,
            reasons=("Mã bản sao không đúng định dạng (kiểm tra lại từng ký tự, kể cả ký tự cuối).",),
        )
    rec = registry.get_ecopy(ecopy_id)
    return verify_record(record_info(rec) if rec else None, ecopy_id)


def verify_file(pdf: bytes, registry: Registry, trust_roots: Sequence[bytes]) -> Verdict:
    def lookup(sha256: str) -> IssuedCopyInfo | None:
        rec = registry.find_by_sha256(sha256)
        return record_info(rec) if rec else None

    return verify_pdf(pdf, lookup, trust_roots, registry.known_signer_fingerprints())


def verdict_to_dict(v: Verdict) -> dict[str, object]:
    out: dict[str, object] = {
        "verdict": v.status,
        "ecopy_id": v.ecopy_id,
        "reasons": list(v.reasons),
        "codes": list(v.codes),
    }
    if v.record is not None:
        out["record"] = {
            "doc_type": v.record.doc_type,
            "office": v.record.office,
            "issued_at": v.record.issued_at.isoformat(),
            "status": v.record.status,
            "revoked_reason": v.record.revoked_reason,
            "superseded_by": v.record.superseded_by,
        }
    if v.signature is not None:
        s = v.signature
        out["signature"] = {
            "present": s.present,
            "intact": s.intact,
            "valid": s.valid,
            "trusted": s.trusted,
            "covers_whole_file": s.covers_whole_file,
            "modified_after_signing": s.modified_after_signing,
            "signer": s.signer_subject,
            "signing_time": s.signing_time.isoformat() if s.signing_time else None,
            "timestamped": s.timestamped,
            "problems": list(s.problems),
        }
    return out
