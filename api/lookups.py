"""Every check of an e-copy — public or agency, by QR link, typed ID, uploaded file or API — goes
through here: rate limit, verdict, one row in the append-only audit log, and the answer cut to
what the caller may see.

The public gets the verdict and the minimum to match the paper in front of them (type, office,
date, status, the holder's name); agencies, admins and the issuing office also get the fields.
The audit row holds who asked, from which agency, the ID or the file's hash, the verdict, the time
and the stated purpose — never the document's content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from api import i18n, ratelimit
from api.auth import Principal, client_address, ecopy_access
from api.state import AppState
from pipeline.models import VN_TZ, Verdict
from pipeline.read.doctypes import registry as doctypes
from storage.registry import EcopyRecord
from workflow.verification import Asker, audit_lookup, verdict_to_dict, verify_file, verify_id

# Whose name a copy carries (each type's ``holder_fields``): shown to the public only to compare
# with the person presenting it. An official letter belongs to no person: none is shown.
HOLDER_FIELDS: Mapping[str, tuple[str, ...]] = {
    name: doc.holder_fields for name, doc in doctypes.DOCTYPES.items() if doc.holder_fields
}


def holder_name(doc_type: str | None, fields: Mapping[str, Any]) -> str | None:
    """The name(s) a document carries, from its fields (an intake's or an issued copy's)."""
    names = [str((fields.get(f) or {}).get("value") or "").strip() for f in HOLDER_FIELDS.get(doc_type or "", ())]
    return " — ".join(n for n in names if n) or None


def _limit(state: AppState, request: Request, principal: Principal | None) -> None:
    limits = state.rate_limits
    if principal is not None:
        ratelimit.hit(state.redis, "agency", principal.actor, limit=limits.agency_lookups, window=60)
        return
    client = client_address(request)
    ratelimit.peek(state.redis, "miss", client, limit=limits.public_misses, window=600)
    ratelimit.hit(state.redis, "public", client, limit=limits.public_lookups, window=60)


def _answer(
    state: AppState,
    request: Request,
    principal: Principal | None,
    verdict: Verdict,
    *,
    channel: str,
    purpose: str | None,
    file_sha256: str | None = None,
    lang: str = i18n.DEFAULT_LANG,
) -> dict[str, Any]:
    rec = state.registry.get_ecopy(verdict.ecopy_id) if verdict.ecopy_id and verdict.record is not None else None
    _log(state, request, principal, channel, verdict.ecopy_id, verdict.status, purpose, file_sha256)
    if principal is None and verdict.status == "unknown":  # guessing IDs: counted apart, allowed far fewer
        ratelimit.count(state.redis, "miss", client_address(request), window=600)
    return describe(verdict, rec, principal, lang)


def describe(
    verdict: Verdict, rec: EcopyRecord | None, principal: Principal | None, lang: str = i18n.DEFAULT_LANG
) -> dict[str, Any]:
    """The answer to a verification, its reasons (and the document type's name) in ``lang``."""
    out = verdict_to_dict(verdict)
    if lang != i18n.DEFAULT_LANG:
        out["reasons"] = i18n.verdict_reasons(lang, verdict)
    out.setdefault("record", None)
    if principal is None:
        out.pop("signature", None)  # signature diagnostics are for agencies
    record = out.get("record")
    if isinstance(record, dict) and rec is not None:
        record["doc_type_label"] = (
            doctypes.label_vi(rec.doc_type) if lang == i18n.DEFAULT_LANG else i18n.doc_type_label(lang, rec.doc_type)
        )
        # The title the copy's statement printed (for "other": the clerk's, in every language).
        record["doc_title"] = i18n.doc_title(lang, rec.doc_type, rec.doc_title)
        record["issued_on"] = rec.issued_at.astimezone(VN_TZ).strftime("%d/%m/%Y")
        record["holder_name"] = holder_name(rec.doc_type, rec.fields)
    access = ecopy_access(principal, rec)
    out["full"] = access.full
    if access.full and rec is not None:
        out["fields"] = rec.fields
        out["certificate_number"] = rec.certificate_number
        out["pdf_url"] = f"/api/v1/ecopies/{rec.ecopy_id}/pdf"
        out["intake_id"] = rec.intake_id
    return out


def lookup_id(
    state: AppState,
    request: Request,
    principal: Principal | None,
    text: str,
    *,
    channel: str,
    purpose: str | None,
    lang: str = i18n.DEFAULT_LANG,
) -> dict[str, Any]:
    _limit(state, request, principal)
    verdict = verify_id(text, state.registry)
    return _answer(state, request, principal, verdict, channel=channel, purpose=purpose, lang=lang)


def lookup_file(
    state: AppState,
    request: Request,
    principal: Principal | None,
    data: bytes,
    *,
    channel: str,
    purpose: str | None,
    lang: str = i18n.DEFAULT_LANG,
) -> dict[str, Any]:
    _limit(state, request, principal)
    verdict = verify_file(data, state.registry, state.trust_roots)
    digest = hashlib.sha256(data).hexdigest()
    return _answer(state, request, principal, verdict, channel=channel, purpose=purpose, file_sha256=digest, lang=lang)


def record_lookup(
    state: AppState, request: Request, principal: Principal, rec: EcopyRecord, *, channel: str, purpose: str | None
) -> None:
    """An agency read the record or the PDF itself: logged like a verification."""
    _limit(state, request, principal)
    _log(state, request, principal, channel, rec.ecopy_id, "valid" if rec.status == "issued" else "revoked", purpose)


def _log(
    state: AppState,
    request: Request,
    principal: Principal | None,
    channel: str,
    ecopy_id: str | None,
    verdict: str,
    purpose: str | None,
    file_sha256: str | None = None,
) -> None:
    """The audit row (:func:`workflow.verification.audit_lookup`) for this caller."""
    asker = Asker(
        actor=principal.actor if principal else "public",
        role=principal.role if principal else None,
        agency=principal.office if principal else None,
        client=client_address(request),
    )
    audit_lookup(
        state.registry,
        asker,
        channel=channel,
        ecopy_id=ecopy_id,
        verdict=verdict,
        purpose=purpose,
        file_sha256=file_sha256,
    )
