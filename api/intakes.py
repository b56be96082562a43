"""The counter's workflow on an intake, as the API and the pages share it:

queued → processing → ready (clerk reviews, corrects) → submitted (signer's queue) → signing → issued,
or rejected (back to the clerk with the signer's reason) → corrected → submitted again.

Every step checks who may take it (``api.auth.load_intake_for``), moves the intake with one
conditional UPDATE (two signers approving the same intake: one wins, the other gets 409), and
writes an event with who and when.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi.concurrency import run_in_threadpool
from redis.exceptions import RedisError

from api import i18n
from api.auth import Principal, actor_names, load_intake_for
from api.lookups import holder_name
from api.state import AppState, IntakeWrongStateError, QueueUnavailableError
from pipeline.ecopy_id import new_ecopy_id
from pipeline.errors import EcopyError, InputError
from pipeline.models import REVIEW_THRESHOLD, SourceFile
from pipeline.read.extract import EXTRACTORS
from storage.access import IntakeEvent
from storage.registry import IntakeRecord
from workers.intakes import store_originals
from workers.queues import enqueue_issue_intake, enqueue_process_intake, enqueue_sign_intakes

log = logging.getLogger(__name__)

EDITABLE = ("ready", "review", "rejected")  # read, and with the clerk
IN_FLIGHT = ("queued", "received", "processing", "retrying", "signing")
FIELD_MAX = 500

# The order fields are printed in on each document (the review form follows the paper).
FIELD_ORDER: dict[str, tuple[str, ...]] = {doc_type: e.field_names for doc_type, e in EXTRACTORS.items()}
_PROGRESS = {
    "received": 2,
    "queued": 5,
    "processing": 45,
    "retrying": 45,
    "ready": 100,
    "review": 100,
    "rejected": 100,
    "submitted": 100,
    "signing": 85,
    "issued": 100,
    "failed": 100,
}


class OwnerIdError(InputError):
    code = "input.owner_id"
    default_message = "Số định danh cá nhân của người yêu cầu phải gồm 12 chữ số (hoặc 9 chữ số với CMND cũ)."


class OfficeHasNoSignerError(EcopyError):
    code = "office.no_signer"
    http_status = 409
    default_message = (
        "Hệ thống này chỉ ký bản sao cho cơ quan đã cấu hình khóa ký. Hồ sơ thuộc cơ quan khác; hãy báo quản trị viên."
    )


class FieldsInvalidError(InputError):
    code = "input.fields"
    default_message = "Thông tin sửa không hợp lệ: chỉ sửa các trường của giấy tờ này, mỗi trường tối đa 500 ký tự."


class ReasonRequiredError(InputError):
    code = "input.reason_required"
    default_message = "Hãy ghi lý do."


def field_order(intake: IntakeRecord) -> list[str]:
    known = FIELD_ORDER.get(intake.doc_type or "", ())
    return [f for f in known if f in intake.fields] + sorted(f for f in intake.fields if f not in known)


def intake_summary(intake: IntakeRecord, lang: str = "vi", names: dict[str, str] | None = None) -> dict[str, Any]:
    names = names or {}
    return {
        "id": intake.id,
        "status": intake.status,
        "status_label": i18n.status_label(lang, intake.status),
        "doc_type": intake.doc_type,
        "doc_type_label": i18n.doc_type_label(lang, intake.doc_type) if intake.doc_type else None,
        "owner_id": intake.owner_id,
        "file_names": intake.file_names,
        "office": intake.office,
        "min_confidence": intake.min_confidence,
        "needs_review": intake.needs_review,
        "ecopy_id": intake.ecopy_id if intake.status == "issued" else None,
        "holder_name": holder_name(intake.doc_type, intake.fields),
        "error": {"code": intake.error_code, "message": intake.error_message} if intake.error_code else None,
        "review_note": intake.review_note,
        "created_by": intake.created_by,
        "submitted_by": intake.submitted_by,
        "submitted_by_name": names.get(intake.submitted_by or ""),
        "submitted_at": intake.submitted_at.isoformat() if intake.submitted_at else None,
        "approved_by": intake.approved_by,
        "batch_id": intake.batch_id,
        "created_at": intake.created_at.isoformat(),
        "updated_at": intake.updated_at.isoformat(),
    }


def intake_detail(state: AppState, intake: IntakeRecord, lang: str = "vi") -> dict[str, Any]:
    events = state.registry.list_intake_events(intake.id)
    correctors: list[str | None] = [(intake.fields[f] or {}).get("corrected_by") for f in intake.fields]
    names = actor_names(
        state.registry, [e.actor for e in events] + [intake.submitted_by, intake.approved_by] + correctors
    )
    fields: dict[str, Any] = {}
    for name in field_order(intake):
        value = dict(intake.fields[name])
        value["label"] = i18n.field_label(lang, name, intake.doc_type)
        value["low"] = float(value.get("confidence") or 0.0) < REVIEW_THRESHOLD
        if value.get("corrected_by"):
            value["corrected_by_name"] = names.get(str(value["corrected_by"]))
        fields[name] = value
    pages = intake.page_count or 0
    return intake_summary(intake, lang, names) | {
        "progress": {
            "step": intake.status,
            "percent": _PROGRESS.get(intake.status, 0),
            "label": i18n.status_label(lang, intake.status),
        },
        "fields": fields,
        "field_order": list(fields),
        "text": intake.text,
        "pages": pages,
        "page_urls": [f"/api/v1/intakes/{intake.id}/pages/{i}" for i in range(pages)],
        "review_threshold": REVIEW_THRESHOLD,
        "events": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "actor_name": names.get(e.actor),
                "action": e.action,
                "detail": e.detail,
            }
            for e in events
        ],
    }


def record_event(state: AppState, intake_id: str, principal: Principal | None, action: str, **detail: Any) -> None:
    state.registry.add_intake_event(
        IntakeEvent(intake_id=intake_id, actor=principal.actor if principal else "system", action=action, detail=detail)
    )


def _wrong_state(intake: IntakeRecord, action: str) -> IntakeWrongStateError:
    label = i18n.status_label("vi", intake.status)
    return IntakeWrongStateError(
        f"Không thể {action}: hồ sơ đang ở trạng thái “{label}”. Tải lại trang để xem trạng thái hiện tại.",
        detail=f"intake {intake.id} is {intake.status}",
    )


# ---- steps -------------------------------------------------------------------------------------
def normalize_owner_id(owner_id: str | None) -> str | None:
    if owner_id is None or not owner_id.strip():
        return None
    digits = "".join(owner_id.split())
    if not digits.isdigit() or len(digits) not in (9, 12):
        raise OwnerIdError(detail=f"owner_id {owner_id!r}")
    return digits


def create(
    state: AppState, principal: Principal, uploads: Sequence[SourceFile], doc_type: str | None, owner_id: str | None
) -> IntakeRecord:
    intake_id = uuid.uuid4().hex
    keys = store_originals(state.store, intake_id, uploads)
    intake = state.registry.create_intake(
        intake_id,
        office=principal.office,
        file_keys=keys,
        file_names=[u.name for u in uploads],
        doc_type_hint=doc_type,
        status="queued",
        owner_id=owner_id,
        created_by=principal.actor,
    )
    record_event(state, intake_id, principal, "created", files=len(uploads), doc_type=doc_type)
    try:
        enqueue_process_intake(state.redis, intake_id)
    except RedisError as e:
        err = QueueUnavailableError(detail=f"{type(e).__name__}: {e}")
        state.registry.update_intake(intake_id, status="failed", error_code=err.code, error_message=err.message)
        raise err from e
    return intake


def correct(state: AppState, principal: Principal, intake_id: str, changes: Any) -> IntakeRecord:
    intake = load_intake_for(state, principal, intake_id, roles=("clerk",))
    if not isinstance(changes, dict) or not changes:
        raise FieldsInvalidError(detail="body must be {'fields': {name: value}}")
    known = set(intake.fields) | set(FIELD_ORDER.get(intake.doc_type or "", ()))
    clean: dict[str, str] = {}
    for name, value in changes.items():
        if name not in known or not isinstance(value, str) or len(value) > FIELD_MAX:
            raise FieldsInvalidError(detail=f"field {name!r}")
        clean[name] = unicodedata.normalize("NFC", " ".join(value.split()))
    if intake.status not in EDITABLE:
        raise _wrong_state(intake, "sửa thông tin")
    now = dt.datetime.now(dt.UTC).isoformat()
    fields = {k: dict(v) for k, v in intake.fields.items()}
    changed = {}
    for name, value in clean.items():
        old = fields.get(name) or {"value": "", "confidence": 0.0}
        if old.get("value") == value:
            continue
        fields[name] = old | {
            "value": value,
            "confidence": 1.0,
            "confirmed": True,
            "corrected_by": principal.actor,
            "corrected_at": now,
            "original": old.get("original", old.get("value", "")),
        }
        changed[name] = {"from": old.get("value", ""), "to": value}
    if not changed:
        return intake
    confidences = [float(f.get("confidence") or 0.0) for f in fields.values()]
    updated = state.registry.transition_intake(
        intake.id,
        EDITABLE,
        fields=fields,
        min_confidence=min(confidences),
        needs_review=min(confidences) < REVIEW_THRESHOLD,
    )
    if updated is None:
        raise _wrong_state(state.registry.get_intake(intake.id) or intake, "sửa thông tin")
    record_event(state, intake.id, principal, "corrected", fields=changed)
    return updated


def submit(state: AppState, principal: Principal, intake_id: str) -> IntakeRecord:
    intake = load_intake_for(state, principal, intake_id, roles=("clerk",))
    updated = state.registry.transition_intake(
        intake.id,
        EDITABLE,
        status="submitted",
        submitted_by=principal.actor,
        submitted_at=dt.datetime.now(dt.UTC),
        review_note=None,
    )
    if updated is None:
        raise _wrong_state(intake, "gửi người ký")
    record_event(state, intake.id, principal, "submitted")
    return updated


def reject(state: AppState, principal: Principal, intake_id: str, reason: str) -> IntakeRecord:
    intake = load_intake_for(state, principal, intake_id, roles=("signer",))
    reason = " ".join((reason or "").split())
    if not reason:
        raise ReasonRequiredError("Hãy ghi lý do trả lại hồ sơ để cán bộ tiếp nhận biết cần sửa gì.")
    updated = state.registry.transition_intake(intake.id, ("submitted",), status="rejected", review_note=reason[:1000])
    if updated is None:
        raise _wrong_state(intake, "trả lại")
    record_event(state, intake.id, principal, "rejected", reason=reason[:1000])
    return updated


def approve(state: AppState, principal: Principal, intake_id: str, *, enqueue: bool = True) -> dict[str, Any]:
    """Approve a submitted intake: its e-copy ID is fixed now, the signer worker signs it
    (``enqueue=False``: the caller queues one signing job for a whole selection)."""
    intake = load_intake_for(state, principal, intake_id, roles=("signer",))
    if intake.status != "submitted":
        raise _wrong_state(intake, "duyệt ký")
    offices = state.signs_for()
    if offices and intake.office not in offices:
        raise OfficeHasNoSignerError(detail=f"intake office {intake.office!r}, signers hold keys for {sorted(offices)}")
    ecopy_id = state.registry.reserve_ecopy_id(intake.id, new_ecopy_id())
    updated = state.registry.transition_intake(
        intake.id, ("submitted",), status="signing", approved_by=principal.actor, error_code=None, error_message=None
    )
    if updated is None:  # somebody else approved or rejected it a moment ago
        raise _wrong_state(state.registry.get_intake(intake.id) or intake, "duyệt ký")
    record_event(state, intake.id, principal, "approved", ecopy_id=ecopy_id)
    if enqueue:
        queue_signing(state, [intake.id])
    return {"id": intake.id, "ecopy_id": ecopy_id, "status": "signing"}


def queue_signing(state: AppState, intake_ids: list[str]) -> None:
    """One signing job: one intake, or a signer's whole selection in one key session."""
    if not intake_ids:
        return
    try:
        if len(intake_ids) == 1:
            enqueue_issue_intake(state.redis, intake_ids[0])
        else:
            enqueue_sign_intakes(state.redis, intake_ids)
    except RedisError as e:  # the approvals stand; the counter reconciler queues the signing later
        log.warning("intakes %s approved, signing job not queued yet: %s", intake_ids, e)


async def wait_issued(state: AppState, results: list[dict[str, Any]]) -> None:
    """Give the signer worker a few seconds, so the usual answer is "issued", not "signing"."""
    deadline = time.monotonic() + state.approve_wait_seconds
    pending = [r for r in results if r.get("status") == "signing"]
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        for r in list(pending):
            intake = await run_in_threadpool(state.registry.get_intake, r["id"])  # not on the event loop
            if intake is not None and intake.status in ("issued", "failed"):
                r["status"] = intake.status
                if intake.status == "failed":
                    r["error"] = {"code": intake.error_code, "message": intake.error_message}
                pending.remove(r)
