"""The counter's workflow on an intake, over HTTP: each step checks who may take it
(``api.auth.load_intake_for``), then runs the step of :mod:`workflow.counter`; and the intake as
the API and the pages show it (summary, detail with labels and progress).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi.concurrency import run_in_threadpool

from api import i18n
from api.auth import Principal, actor_names, load_intake_for
from api.lookups import holder_name
from api.state import AppState
from pipeline.models import REVIEW_THRESHOLD, SourceFile
from pipeline.read.doctypes import registry as doctypes
from storage.registry import IntakeRecord
from workers.queues import RqJobs
from workflow import counter
from workflow.counter import FIELD_ORDER, field_order, normalize_owner_id
from workflow.doctitle import type_named
from workflow.errors import IntakeWrongStateError
from workflow.lifecycle import EDITABLE, IN_FLIGHT, IntakeStatus

__all__ = [
    "EDITABLE",
    "FIELD_ORDER",
    "IN_FLIGHT",
    "approve",
    "change_type",
    "correct",
    "create",
    "field_order",
    "intake_detail",
    "intake_summary",
    "normalize_owner_id",
    "queue_signing",
    "record_event",
    "reject",
    "submit",
    "wait_issued",
]

S = IntakeStatus
_PROGRESS: dict[str, int] = {
    S.RECEIVED: 2,
    S.QUEUED: 5,
    S.PROCESSING: 45,
    S.RETRYING: 45,
    S.READY: 100,
    S.REVIEW: 100,
    S.REJECTED: 100,
    S.SUBMITTED: 100,
    S.SIGNING: 85,
    S.ISSUED: 100,
    S.FAILED: 100,
}


def _error_of(intake: IntakeRecord, lang: str) -> dict[str, str] | None:
    """The intake's stored error in the reader's language (stored Vietnamese; English by code)."""
    if not intake.error_code:
        return None
    message = i18n.error_message(lang, intake.error_code, intake.error_message or "")
    return {"code": intake.error_code, "message": message}


def _type_note(intake: IntakeRecord, lang: str) -> str | None:
    """Why the intake cannot go to the signer yet: its type is not named (or "other" has no title)."""
    if intake.doc_type is None or intake.status not in EDITABLE or type_named(intake):
        return None
    return i18n.t(lang, "intake.title_required" if intake.doc_type in doctypes.DOCTYPES else "intake.type_required")


def intake_summary(intake: IntakeRecord, lang: str = "vi", names: dict[str, str] | None = None) -> dict[str, Any]:
    names = names or {}
    note = _type_note(intake, lang)
    return {
        "id": intake.id,
        "status": intake.status,
        "status_label": i18n.status_label(lang, intake.status),
        "doc_type": intake.doc_type,
        "doc_type_label": i18n.doc_type_label(lang, intake.doc_type) if intake.doc_type else None,
        "doc_title": i18n.doc_title(lang, intake.doc_type, intake.doc_title),
        "type_required": note is not None,
        "type_note": note,
        "owner_id": intake.owner_id,
        "file_names": intake.file_names,
        "office": intake.office,
        "min_confidence": intake.min_confidence,
        "needs_review": intake.needs_review,
        "ecopy_id": intake.ecopy_id if intake.status == IntakeStatus.ISSUED else None,
        "holder_name": holder_name(intake.doc_type, intake.fields),
        "error": _error_of(intake, lang),
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
    counter.record_event(state.registry, intake_id, principal.actor if principal else None, action, **detail)


@contextlib.contextmanager
def _status_in_words() -> Iterator[None]:
    """A refused step names the intake's status as the clerk sees it."""
    try:
        yield
    except IntakeWrongStateError as e:
        raise e.in_words(i18n.status_label("vi", e.status)) from e


# ---- steps -------------------------------------------------------------------------------------
def create(
    state: AppState,
    principal: Principal,
    uploads: Sequence[SourceFile],
    doc_type: str | None,
    owner_id: str | None,
    doc_title: str | None = None,
) -> IntakeRecord:
    return counter.create(
        state.registry,
        state.store,
        RqJobs(state.redis),
        actor=principal.actor,
        office=principal.office,
        uploads=uploads,
        doc_type=doc_type,
        owner_id=owner_id,
        doc_title=doc_title,
    )


def change_type(
    state: AppState, principal: Principal, intake_id: str, doc_type: str, doc_title: str | None
) -> IntakeRecord:
    intake = load_intake_for(state, principal, intake_id, roles=("clerk",))
    with _status_in_words():
        return counter.change_type(
            state.registry, intake, principal.actor, doc_type, doc_title, jobs=RqJobs(state.redis)
        )


def correct(state: AppState, principal: Principal, intake_id: str, changes: Any) -> IntakeRecord:
    intake = load_intake_for(state, principal, intake_id, roles=("clerk",))
    with _status_in_words():
        return counter.correct(state.registry, intake, principal.actor, changes)


def submit(state: AppState, principal: Principal, intake_id: str) -> IntakeRecord:
    intake = load_intake_for(state, principal, intake_id, roles=("clerk",))
    with _status_in_words():
        return counter.submit(state.registry, intake, principal.actor)


def reject(state: AppState, principal: Principal, intake_id: str, reason: str) -> IntakeRecord:
    intake = load_intake_for(state, principal, intake_id, roles=("signer",))
    with _status_in_words():
        return counter.reject(state.registry, intake, principal.actor, reason)


def approve(state: AppState, principal: Principal, intake_id: str, *, enqueue: bool = True) -> dict[str, Any]:
    """Approve a submitted intake: its e-copy ID is fixed now, the signer worker signs it
    (``enqueue=False``: the caller queues one signing job for a whole selection)."""
    intake = load_intake_for(state, principal, intake_id, roles=("signer",))
    with _status_in_words():
        done = counter.approve(
            state.registry,
            intake,
            principal.actor,
            signs_for=state.signs_for(),
            jobs=RqJobs(state.redis) if enqueue else None,
        )
    return {"id": done.intake_id, "ecopy_id": done.ecopy_id, "status": done.status}


def queue_signing(state: AppState, intake_ids: list[str]) -> None:
    """One signing job: one intake, or a signer's whole selection in one key session."""
    counter.queue_signing(RqJobs(state.redis), intake_ids)


async def wait_issued(state: AppState, results: list[dict[str, Any]]) -> None:
    """Give the signer worker a few seconds, so the usual answer is "issued", not "signing"."""
    deadline = time.monotonic() + state.approve_wait_seconds
    pending = [r for r in results if r.get("status") == IntakeStatus.SIGNING]
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        for r in list(pending):
            intake = await run_in_threadpool(state.registry.get_intake, r["id"])  # not on the event loop
            if intake is not None and intake.status in (IntakeStatus.ISSUED, IntakeStatus.FAILED):
                r["status"] = intake.status
                if intake.status == IntakeStatus.FAILED:
                    r["error"] = {"code": intake.error_code, "message": intake.error_message}
                pending.remove(r)
