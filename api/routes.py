"""The JSON API under ``/api/v1``. Each route is: who may call it, the step, the answer.

Errors are ``{"code", "message"}`` (message in Vietnamese, for the person at the screen) with the
HTTP status of the error class; see ``api.state`` and ``pipeline.errors``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer

from api import i18n
from api import intakes as steps
from api.auth import OptionalPrincipal, Principal, actor_names, ecopy_access, load_intake_for, require_role
from api.lookups import lookup_file, lookup_id, record_lookup
from api.state import EcopyNotFoundError, ForbiddenError, StateDep
from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.errors import EcopyError, InputError
from pipeline.models import SourceFile
from pipeline.read.load import LoadLimits, check_file
from storage.registry import EcopyRecord
from workflow.doctitle import check_type
from workflow.lifecycle import IntakeStatus
from workflow.signing import pages_prefix

Clerk = Annotated[Principal, Depends(require_role("clerk"))]
Signer = Annotated[Principal, Depends(require_role("signer"))]
Staff = Annotated[Principal, Depends(require_role("clerk", "signer", "admin"))]
Anyone = Annotated[Principal, Depends(require_role("clerk", "signer", "verifier", "admin"))]


class RevokeInputError(InputError):
    code = "input.revoke"
    default_message = "Hãy ghi lý do thu hồi; mã bản sao thay thế (nếu có) phải là một bản sao đã cấp."


def _ecopy_for(state: Any, principal: Principal, text: str, right: str, refusal: str) -> EcopyRecord:
    """The copy with this ID (404 if none), if ``principal`` has ``right`` on it (else 403)."""
    ecopy_id = normalize_ecopy_id(text)
    rec = state.registry.get_ecopy(ecopy_id) if ecopy_id else None
    if rec is None:
        raise EcopyNotFoundError(detail=text)
    if not getattr(ecopy_access(principal, rec), right):
        raise ForbiddenError(detail=refusal)
    return rec


async def _read_uploads(files: list[UploadFile], limit: int) -> list[SourceFile]:
    uploads = []
    for i, f in enumerate(files):
        upload = SourceFile(f.filename or f"file-{i + 1}", await f.read())
        check_file(upload, LoadLimits(max_bytes=limit))  # type sniffed from the bytes; refused before storing any
        uploads.append(upload)
    return uploads


# Declared for the OpenAPI page (/docs "Authorize"); the key itself is checked by api.auth.
_bearer = HTTPBearer(auto_error=False, description="an API key from `ecopy admin create-key`: ek_…")
router = APIRouter(prefix="/api/v1", dependencies=[Depends(_bearer)])


@router.get("/me")
def me(principal: Anyone) -> dict[str, str]:
    return principal.to_dict()


# ---- intakes (counter and signer's desk) -------------------------------------------------------
@router.post("/intakes", status_code=202)
async def create_intake(
    st: StateDep,
    principal: Clerk,
    files: Annotated[list[UploadFile], File(description="scans: JPEG, PNG, TIFF or PDF")],
    doc_type: Annotated[str | None, Form(description="a catalogue type; default: recognised")] = None,
    owner_id: Annotated[str | None, Form(description="the citizen's personal ID number (12 digits)")] = None,
    doc_title: Annotated[
        str | None, Form(description='with doc_type "other": the title as printed on the document (required)')
    ] = None,
) -> dict[str, str]:
    doc_type, doc_title = check_type(doc_type or None, doc_title)  # refused before the scans are read
    owner = steps.normalize_owner_id(owner_id)
    uploads = await _read_uploads(files, st.max_upload_bytes)
    intake = await run_in_threadpool(steps.create, st, principal, uploads, doc_type, owner, doc_title)
    return {"id": intake.id, "status": intake.status}


@router.get("/intakes")
def list_intakes(
    st: StateDep, principal: Staff, status: str | None = None, limit: int = 50, office: str | None = None
) -> dict[str, Any]:
    statuses = [s for s in (status or "").split(",") if s] or None
    if principal.role != "admin":
        office = principal.office
    rows = st.registry.list_intakes(status=statuses, office=office, limit=max(1, min(limit, 500)))
    names = actor_names(st.registry, [i.submitted_by for i in rows])
    return {"intakes": [steps.intake_summary(i, names=names) for i in rows]}


@router.get("/intakes/{intake_id}")
def get_intake(st: StateDep, principal: OptionalPrincipal, intake_id: str) -> dict[str, Any]:
    return steps.intake_detail(st, load_intake_for(st, principal, intake_id))


@router.get("/intakes/{intake_id}/pages/{n}")
def get_page(st: StateDep, principal: OptionalPrincipal, intake_id: str, n: int) -> Response:
    intake = load_intake_for(st, principal, intake_id)
    if not 0 <= n < (intake.page_count or 0):
        raise InputError("Không có trang này.", detail=f"page {n} of {intake.page_count}")
    data = st.store.get(f"{pages_prefix(intake.id)}page-{n:03d}.png")
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.patch("/intakes/{intake_id}/fields")
def correct_fields(
    st: StateDep, principal: Clerk, intake_id: str, fields: Annotated[dict[str, Any], Body(embed=True)]
) -> dict[str, Any]:
    return steps.intake_detail(st, steps.correct(st, principal, intake_id, fields))


@router.post("/intakes/{intake_id}/type")
def change_intake_type(
    st: StateDep,
    request: Request,
    principal: Clerk,
    intake_id: str,
    doc_type: Annotated[str, Body(embed=True)],
    doc_title: Annotated[str | None, Body(embed=True)] = None,
) -> dict[str, Any]:
    """The clerk names or changes the document's type; a new type is read again with its extractor."""
    changed = steps.change_type(st, principal, intake_id, doc_type, doc_title)
    return steps.intake_detail(st, changed, i18n.answer_lang(request))


@router.post("/intakes/{intake_id}/submit")
def submit_intake(st: StateDep, principal: Clerk, intake_id: str) -> dict[str, Any]:
    return steps.intake_detail(st, steps.submit(st, principal, intake_id))


@router.post("/intakes/{intake_id}/reject")
def reject_intake(
    st: StateDep, principal: Signer, intake_id: str, reason: Annotated[str, Body(embed=True)] = ""
) -> dict[str, Any]:
    return steps.intake_detail(st, steps.reject(st, principal, intake_id, reason))


@router.post("/intakes/{intake_id}/approve")
async def approve_intake(st: StateDep, principal: Signer, intake_id: str) -> JSONResponse:
    result = await run_in_threadpool(steps.approve, st, principal, intake_id)
    await steps.wait_issued(st, [result])
    return JSONResponse(result, status_code=200 if result["status"] == IntakeStatus.ISSUED else 202)


@router.post("/approvals")
async def approve_many(
    st: StateDep,
    request: Request,
    principal: Signer,
    intake_ids: Annotated[list[str], Body(embed=True, max_length=500)],
) -> dict[str, Any]:
    """Approve and sign many intakes in one request (one signing job, one key session); each
    succeeds or fails on its own."""
    results: list[dict[str, Any]] = []
    lang = i18n.answer_lang(request)
    for intake_id in dict.fromkeys(intake_ids):
        try:
            results.append(await run_in_threadpool(steps.approve, st, principal, intake_id, enqueue=False))
        except EcopyError as e:
            message = i18n.error_message(lang, e.code, e.message)
            results.append({"id": intake_id, "error": {"code": e.code, "message": message}})
    await run_in_threadpool(steps.queue_signing, st, [r["id"] for r in results if "error" not in r])
    await steps.wait_issued(st, results)
    failed = sum(1 for r in results if "error" in r)
    return {"results": results, "approved": len(results) - failed, "failed": failed}


# ---- e-copies (agencies, the issuing office, admins) ---------------------------------------------
@router.get("/ecopies/{ecopy_id}")
def get_ecopy(
    st: StateDep, request: Request, principal: Anyone, ecopy_id: str, purpose: str | None = None
) -> dict[str, Any]:
    rec = _ecopy_for(
        st, principal, ecopy_id, "full", "only agencies, admins and the issuing office read a copy's record"
    )
    lang = i18n.answer_lang(request)
    return lookup_id(st, request, principal, rec.ecopy_id, channel="record", purpose=purpose, lang=lang)


@router.get("/ecopies/{ecopy_id}/pdf")
def get_ecopy_pdf(
    st: StateDep, request: Request, principal: Anyone, ecopy_id: str, purpose: str | None = None
) -> Response:
    rec = _ecopy_for(st, principal, ecopy_id, "full", "only agencies, admins and the issuing office download a copy")
    record_lookup(st, request, principal, rec, channel="pdf", purpose=purpose)
    return Response(
        st.store.get(rec.object_key),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="ban-sao-{rec.ecopy_id}.pdf"'},
    )


@router.post("/ecopies/{ecopy_id}/revoke")
def revoke_ecopy(
    st: StateDep,
    principal: Anyone,
    ecopy_id: str,
    reason: Annotated[str, Body(embed=True)] = "",
    superseded_by: Annotated[str | None, Body(embed=True)] = None,
) -> dict[str, Any]:
    rec = _ecopy_for(st, principal, ecopy_id, "revoke", "only a signer of the issuing office or an admin revokes")
    reason = " ".join((reason or "").split())
    successor = None
    if superseded_by:
        successor = normalize_ecopy_id(superseded_by)
        found = st.registry.get_ecopy(successor) if successor else None
        if found is None or found.status != "issued" or found.ecopy_id == rec.ecopy_id:
            raise RevokeInputError(detail=f"superseded_by {superseded_by!r} is not another issued copy")
    if not reason:
        raise RevokeInputError(detail="reason is required")
    updated = st.registry.revoke(rec.ecopy_id, reason[:1000], superseded_by=successor)
    if rec.intake_id:
        steps.record_event(st, rec.intake_id, principal, "revoked", reason=reason[:1000], superseded_by=successor)
    return {
        "ecopy_id": updated.ecopy_id,
        "status": updated.status,
        "revoked_reason": updated.revoked_reason,
        "superseded_by": updated.superseded_by,
    }


@router.get("/ecopies/{ecopy_id}/lookups")
def ecopy_lookups(st: StateDep, principal: Anyone, ecopy_id: str) -> dict[str, Any]:
    rec = _ecopy_for(st, principal, ecopy_id, "lookups", "only the issuing office and admins read its lookups")
    rows = st.registry.list_lookups(rec.ecopy_id)
    names = actor_names(st.registry, [x.actor for x in rows if x.actor != "public"])
    return {
        "ecopy_id": rec.ecopy_id,
        "lookups": [
            {
                "at": x.at.isoformat(),
                "actor": x.actor,
                "actor_name": names.get(x.actor),
                "role": x.role,
                "agency": x.agency,
                "channel": x.channel,
                "verdict": x.verdict,
                "purpose": x.purpose,
                "ecopy_id": x.ecopy_id,
                "file_sha256": x.file_sha256,
            }
            for x in rows
        ],
    }


# ---- verification (public; an agency's credential gets the fields too) --------------------------
@router.post("/verify")
async def verify(st: StateDep, request: Request, principal: OptionalPrincipal) -> dict[str, Any]:
    """Upload the PDF (multipart field ``file``, optional ``purpose``) or send JSON
    ``{"ecopy_id": "...", "purpose": "..."}``."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError as e:
            raise InputError("Nội dung JSON không hợp lệ.", detail=str(e)) from e
        ecopy_id = body.get("ecopy_id") if isinstance(body, dict) else None
        if not isinstance(ecopy_id, str):
            raise InputError("Thiếu mã bản sao (ecopy_id).")
        purpose = body.get("purpose") if isinstance(body.get("purpose"), str) else None
        lang = i18n.answer_lang(request)
        return await run_in_threadpool(
            lookup_id, st, request, principal, ecopy_id, channel="api-id", purpose=purpose, lang=lang
        )
    form = await request.form()
    upload, purpose_field = form.get("file"), form.get("purpose")
    if upload is None or isinstance(upload, str):
        raise InputError("Hãy gửi tệp PDF trong trường 'file' hoặc JSON {\"ecopy_id\": …}.")
    data = await upload.read()
    purpose = purpose_field if isinstance(purpose_field, str) else None
    return await run_in_threadpool(
        lookup_file, st, request, principal, data, channel="api-file", purpose=purpose, lang=i18n.answer_lang(request)
    )


def register_api(app: FastAPI) -> None:
    app.include_router(router)
