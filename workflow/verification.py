"""Verification by ID or by file, against the registry, and the audit row every check writes.
Shared by the API and the CLI.

The audit row holds who asked, from which agency, the ID or the file's hash, the verdict, the time
and the stated purpose — never the document's content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.models import IssuedCopyInfo, Verdict
from pipeline.verify.verdict import verify_pdf, verify_record
from storage.access import LookupRecord
from storage.registry import EcopyRecord, Registry

PURPOSE_MAX = 200


@dataclass(frozen=True)
class Asker:
    """Who checks a copy, as the audit log records them."""

    actor: str  # user:NAME, key:ID, public, cli:USER
    role: str | None = None
    agency: str | None = None
    client: str | None = None  # the caller's address


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
            codes=("id.malformed",),
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


def audit_lookup(
    registry: Registry,
    asker: Asker,
    *,
    channel: str,
    ecopy_id: str | None,
    verdict: str,
    purpose: str | None = None,
    file_sha256: str | None = None,
) -> None:
    """The audit row: who, agency, address, channel, ID or file hash, verdict, purpose — no content."""
    registry.add_lookup(
        LookupRecord(
            actor=asker.actor,
            role=asker.role,
            agency=asker.agency,
            client=asker.client,
            channel=channel,
            ecopy_id=ecopy_id,
            file_sha256=file_sha256,
            verdict=verdict,
            purpose=(purpose or "").strip()[:PURPOSE_MAX] or None,
        )
    )
