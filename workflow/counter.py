"""The counter's steps on an intake, as the API, its pages and the CLI share them:

queued → processing → ready (clerk reviews, corrects) → submitted (signer's queue) → signing → issued,
or rejected (back to the clerk with the signer's reason) → corrected → submitted again. While the
intake is with the clerk its type may be named or changed (:func:`change_type`): it is read again
with that type. A document nobody named the type of (read as ``UNKNOWN``, or "other" without a
title) is never submitted nor approved (:func:`workflow.doctitle.require_named_type`).

Each step takes the intake its caller has loaded (and checked the actor may act on), moves it with
one conditional UPDATE (two signers approving the same intake: one wins, the other is told the
intake's state changed) and writes an event with who and when. Who may take which step is the
delivery room's business (the API's roles); these functions take a plain actor ID.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.ecopy_id import new_ecopy_id
from pipeline.models import REVIEW_THRESHOLD, SourceFile
from pipeline.read.doctypes import registry as doctypes
from storage.access import IntakeEvent
from storage.objectstore import ObjectStore
from storage.registry import IntakeRecord, Registry
from workflow.doctitle import check_type, require_named_type
from workflow.errors import (
    FieldsInvalidError,
    IntakeWrongStateError,
    OfficeHasNoSignerError,
    OwnerIdError,
    QueueUnavailableError,
    ReasonRequiredError,
)
from workflow.intakes import store_originals
from workflow.jobqueue import JobQueue
from workflow.lifecycle import EDITABLE, IntakeStatus, Step, move, move_if

log = logging.getLogger(__name__)

FIELD_MAX = 500
REASON_MAX = 1000

# The order fields are printed in on each document (the review form follows the paper).
FIELD_ORDER: dict[str, tuple[str, ...]] = {name: doc.field_names for name, doc in doctypes.DOCTYPES.items()}


def field_order(intake: IntakeRecord) -> list[str]:
    known = FIELD_ORDER.get(intake.doc_type or "", ())
    return [f for f in known if f in intake.fields] + sorted(f for f in intake.fields if f not in known)


def record_event(registry: Registry, intake_id: str, actor: str | None, action: str, **detail: Any) -> None:
    """One line of the intake's history: who (``None``: the system), what, and the step's facts."""
    registry.add_intake_event(IntakeEvent(intake_id=intake_id, actor=actor or "system", action=action, detail=detail))


def _wrong_state(intake: IntakeRecord, action: str) -> IntakeWrongStateError:
    return IntakeWrongStateError.about(intake.id, intake.status, action)


def normalize_owner_id(owner_id: str | None) -> str | None:
    if owner_id is None or not owner_id.strip():
        return None
    digits = "".join(owner_id.split())
    if not digits.isdigit() or len(digits) not in (9, 12):
        raise OwnerIdError(detail=f"owner_id {owner_id!r}")
    return digits


# ---- steps -------------------------------------------------------------------------------------
def create(
    registry: Registry,
    store: ObjectStore,
    jobs: JobQueue,
    *,
    actor: str,
    office: str,
    uploads: Sequence[SourceFile],
    doc_type: str | None,
    owner_id: str | None,
    doc_title: str | None = None,
) -> IntakeRecord:
    """Store the scans, record the intake and queue its reading. The queue away: the intake is
    recorded failed and :class:`QueueUnavailableError` raised (the clerk sends it again).
    ``doc_type`` named by the clerk is read with that type's extractor ("other": ``doc_title`` required)."""
    doc_type, doc_title = check_type(doc_type, doc_title)
    intake_id = uuid.uuid4().hex
    keys = store_originals(store, intake_id, uploads)
    intake = registry.create_intake(
        intake_id,
        office=office,
        file_keys=keys,
        file_names=[u.name for u in uploads],
        doc_type_hint=doc_type,
        doc_title=doc_title,
        status=IntakeStatus.QUEUED,
        owner_id=owner_id,
        created_by=actor,
    )
    detail: dict[str, Any] = {"files": len(uploads), "doc_type": doc_type}
    if doc_title is not None:
        detail["doc_title"] = doc_title
    record_event(registry, intake_id, actor, "created", **detail)
    _queue_reading(registry, jobs, intake_id)
    return intake


def _queue_reading(registry: Registry, jobs: JobQueue, intake_id: str) -> None:
    try:
        jobs.process(intake_id)
    except QueueUnavailableError as err:
        move(
            registry,
            intake_id,
            Step.QUEUE_FAILED,
            IntakeStatus.FAILED,
            current=IntakeStatus.QUEUED,
            error_code=err.code,
            error_message=err.message,
        )
        raise


def change_type(
    registry: Registry,
    intake: IntakeRecord,
    actor: str,
    doc_type: str,
    doc_title: str | None,
    *,
    jobs: JobQueue,
) -> IntakeRecord:
    """The clerk names the document's type (one classification did not recognise) or changes it.

    Allowed while the intake is with the clerk (ready, review, rejected). A new type: the intake is
    read again with that type's extractor (queued with the type forced, as a type named at upload)
    and what was read and corrected under the old type is dropped. The same type "other" with a new
    title: only the title changes. The history records who changed what to what."""
    new_type, new_title = check_type(doc_type, doc_title)
    if new_type is None:
        raise FieldsInvalidError(detail="body must be {'doc_type': name, 'doc_title': title for 'other'}")
    if intake.status not in EDITABLE:
        raise _wrong_state(intake, "đổi loại giấy tờ")
    old = {"doc_type": intake.doc_type, "doc_title": intake.doc_title}
    new = {"doc_type": new_type, "doc_title": new_title}
    if old == new:
        return intake
    if new_type == intake.doc_type:  # "other" retitled: nothing to read again
        updated = move_if(registry, intake.id, Step.CORRECT, doc_title=new_title)
        if updated is None:
            raise _wrong_state(registry.get_intake(intake.id) or intake, "đổi loại giấy tờ")
        record_event(registry, intake.id, actor, "type_changed", **{"from": old, "to": new, "read_again": False})
        return updated
    updated = move_if(
        registry,
        intake.id,
        Step.RETYPE,
        IntakeStatus.QUEUED,
        doc_type_hint=new_type,
        doc_type=new_type,
        doc_title=new_title,
        fields={},
        min_confidence=None,
        needs_review=None,
        error_code=None,
        error_message=None,
    )
    if updated is None:
        raise _wrong_state(registry.get_intake(intake.id) or intake, "đổi loại giấy tờ")
    record_event(registry, intake.id, actor, "type_changed", **{"from": old, "to": new, "read_again": True})
    log.info("intake %s: type %s → %s by %s, read again", intake.id, old["doc_type"], new_type, actor)
    _queue_reading(registry, jobs, intake.id)
    return updated


def correct(registry: Registry, intake: IntakeRecord, actor: str, changes: Any) -> IntakeRecord:
    """The clerk's corrections of fields: each corrected field is confirmed (confidence 1.0) and
    keeps what was read first."""
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
            "corrected_by": actor,
            "corrected_at": now,
            "original": old.get("original", old.get("value", "")),
        }
        changed[name] = {"from": old.get("value", ""), "to": value}
    if not changed:
        return intake
    confidences = [float(f.get("confidence") or 0.0) for f in fields.values()]
    updated = move_if(
        registry,
        intake.id,
        Step.CORRECT,
        fields=fields,
        min_confidence=min(confidences),
        needs_review=min(confidences) < REVIEW_THRESHOLD,
    )
    if updated is None:
        raise _wrong_state(registry.get_intake(intake.id) or intake, "sửa thông tin")
    record_event(registry, intake.id, actor, "corrected", fields=changed)
    return updated


def submit(registry: Registry, intake: IntakeRecord, actor: str) -> IntakeRecord:
    """Send the intake to the signer; refused until its type is named (and "other" titled)."""
    if intake.status in EDITABLE:
        require_named_type(intake)
    updated = move_if(
        registry,
        intake.id,
        Step.SUBMIT,
        IntakeStatus.SUBMITTED,
        submitted_by=actor,
        submitted_at=dt.datetime.now(dt.UTC),
        review_note=None,
    )
    if updated is None:
        raise _wrong_state(intake, "gửi người ký")
    record_event(registry, intake.id, actor, "submitted")
    return updated


def reject(registry: Registry, intake: IntakeRecord, actor: str, reason: str) -> IntakeRecord:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ReasonRequiredError("Hãy ghi lý do trả lại hồ sơ để cán bộ tiếp nhận biết cần sửa gì.")
    updated = move_if(registry, intake.id, Step.REJECT, IntakeStatus.REJECTED, review_note=reason[:REASON_MAX])
    if updated is None:
        raise _wrong_state(intake, "trả lại")
    record_event(registry, intake.id, actor, "rejected", reason=reason[:REASON_MAX])
    return updated


@dataclass(frozen=True)
class Approval:
    intake_id: str
    ecopy_id: str  # fixed at approval: every signing run of the intake issues this ID
    status: str


def approve(
    registry: Registry,
    intake: IntakeRecord,
    actor: str,
    *,
    signs_for: Collection[str],
    jobs: JobQueue | None,
) -> Approval:
    """Approve a submitted intake: its e-copy ID is fixed now, the signer worker signs it
    (``jobs=None``: the caller queues one signing job for a whole selection).
    ``signs_for``: the offices the signer workers hold keys for (empty: any)."""
    if intake.status != IntakeStatus.SUBMITTED:
        raise _wrong_state(intake, "duyệt ký")
    require_named_type(intake)
    if signs_for and intake.office not in signs_for:
        raise OfficeHasNoSignerError(
            detail=f"intake office {intake.office!r}, signers hold keys for {sorted(signs_for)}"
        )
    ecopy_id = registry.reserve_ecopy_id(intake.id, new_ecopy_id())
    updated = move_if(
        registry,
        intake.id,
        Step.APPROVE,
        IntakeStatus.SIGNING,
        approved_by=actor,
        error_code=None,
        error_message=None,
    )
    if updated is None:  # somebody else approved or rejected it a moment ago
        raise _wrong_state(registry.get_intake(intake.id) or intake, "duyệt ký")
    record_event(registry, intake.id, actor, "approved", ecopy_id=ecopy_id)
    if jobs is not None:
        queue_signing(jobs, [intake.id])
    return Approval(intake.id, ecopy_id, IntakeStatus.SIGNING)


def queue_signing(jobs: JobQueue, intake_ids: list[str]) -> None:
    """One signing job: one intake, or a signer's whole selection in one key session."""
    if not intake_ids:
        return
    try:
        if len(intake_ids) == 1:
            jobs.issue(intake_ids[0])
        else:
            jobs.sign_many(intake_ids)
    except QueueUnavailableError as e:  # the approvals stand; the counter reconciler queues the signing later
        log.warning("intakes %s approved, signing job not queued yet: %s", intake_ids, e.detail or e)
