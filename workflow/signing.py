"""Sign approved intakes: one, or many in one key session (the signer's queue, ``ecopy sign --pending``).

A signer approves dozens of copies at once. Signing them one job at a time would open the key
(a token login) per copy; :func:`sign_approved` signs a list with the key this process already
holds, one copy after the other, and one copy's failure does not stop the others. It is the call
behind the API's "sign selected" (one ``sign`` job per request) and behind ``ecopy sign --pending``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from pipeline.certify.render import encoded_page
from pipeline.ecopy_id import new_ecopy_id
from pipeline.errors import EcopyError
from storage.access import IntakeEvent
from storage.errors import StorageError
from storage.registry import IntakeRecord
from workflow import serialize
from workflow.context import Services
from workflow.issuing import IssueRequest, issue_ecopy
from workflow.lifecycle import APPROVED_WAITING, SIGNABLE, IntakeStatus, Step, move

log = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "Lỗi hệ thống khi ký bản sao. Hệ thống sẽ thử lại; nếu vẫn lỗi, hãy báo quản trị viên."


def pages_prefix(intake_id: str) -> str:
    return f"intakes/{intake_id}/work/"


@dataclass(frozen=True)
class SignOutcome:
    intake_id: str
    status: str  # issued | skipped | failed
    ecopy_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retryable: bool = False


def may_sign(intake: IntakeRecord) -> bool:
    """Signed only if a signer approved it, or it is an archive document the auto-issue policy
    passed (type and every field confident) — whoever asks."""
    return bool(intake.approved_by) or (intake.batch_id is not None and intake.needs_review is False)


def sign_intake(svc: Services, intake_id: str) -> SignOutcome:
    """Render, sign and store the e-copy of one approved intake (idempotent). Errors propagate."""
    intake = svc.registry.get_intake(intake_id)
    if intake is None:
        raise LookupError(f"no intake {intake_id}")
    done = svc.registry.find_by_intake(intake_id)
    if done is not None:
        move(svc.registry, intake_id, Step.RECORD_ISSUED, IntakeStatus.ISSUED, ecopy_id=done.ecopy_id)
        return SignOutcome(intake_id, "issued", done.ecopy_id)
    if intake.status not in SIGNABLE or not intake.doc_type:
        # Not read yet (or read and failed): nothing to sign, and nothing about the intake to change.
        log.warning("intake %s: not signed, intake is %s", intake_id, intake.status)
        return SignOutcome(intake_id, "skipped")
    if not may_sign(intake):
        log.warning("intake %s: not signed, no signer approved it", intake_id)
        return SignOutcome(intake_id, "skipped")
    prefix = pages_prefix(intake_id)
    metas = json.loads(svc.store.get(f"{prefix}pages.json"))
    pages = [
        encoded_page(m["index"], svc.store.get(f"{prefix}page-{m['index']:03d}.jpg"), m.get("dpi"))
        if m.get("jpeg")
        else serialize.page_from_png(svc.store.get(f"{prefix}page-{m['index']:03d}.png"), m)
        for m in metas
    ]
    ocr = serialize.ocr_from_json(svc.store.get(f"{prefix}ocr.json"))
    reserved = svc.registry.reserve_ecopy_id(intake_id, new_ecopy_id())
    move(
        svc.registry,
        intake_id,
        Step.SIGN,
        IntakeStatus.SIGNING,
        current=intake.status,
        error_code=None,
        error_message=None,
    )
    certifier = svc.registry.actor_display_names([intake.approved_by]).get(intake.approved_by or "")
    record = issue_ecopy(
        IssueRequest(
            pages=pages,
            ocr=ocr,
            doc_type=intake.doc_type,
            fields=intake.fields,
            intake_id=intake_id,
            reserved_ecopy_id=reserved,
            office=intake.office,
            certifier_name=certifier if intake.approved_by else None,
            doc_title=intake.doc_title,
        ),
        svc,
    )
    move(svc.registry, intake_id, Step.RECORD_ISSUED, IntakeStatus.ISSUED, ecopy_id=record.ecopy_id)
    svc.registry.add_intake_event(
        IntakeEvent(intake_id=intake_id, actor="system", action="issued", detail={"ecopy_id": record.ecopy_id})
    )
    return SignOutcome(intake_id, "issued", record.ecopy_id)


def sign_approved(
    svc: Services,
    intake_ids: Sequence[str],
    *,
    on_progress: Callable[[int, int, SignOutcome], None] | None = None,
) -> list[SignOutcome]:
    """Sign each intake with the key this process holds (opened once, on the first copy).

    An intake that fails is recorded as failed with its message (retryable errors are left
    "retrying" for the caller to queue again) and the next one is signed.
    """
    outcomes: list[SignOutcome] = []
    ids = list(dict.fromkeys(intake_ids))
    for n, intake_id in enumerate(ids, start=1):
        try:
            outcome = sign_intake(svc, intake_id)
        except (EcopyError, StorageError) as e:
            log.warning("intake %s: signing failed: %s (%s)", intake_id, e.code, e.detail or e)
            status = IntakeStatus.RETRYING if e.retryable else IntakeStatus.FAILED
            move(svc.registry, intake_id, Step.JOB_FAILED, status, error_code=e.code, error_message=e.message)
            outcome = SignOutcome(intake_id, "failed", None, e.code, e.message, e.retryable)
        except LookupError as e:
            outcome = SignOutcome(intake_id, "skipped", error_message=str(e))
        except Exception:  # a bug must not stop the rest of the selection; this one is tried again alone
            log.exception("intake %s: signing crashed", intake_id)
            move(
                svc.registry,
                intake_id,
                Step.JOB_FAILED,
                IntakeStatus.RETRYING,
                error_code="internal",
                error_message=INTERNAL_ERROR_MESSAGE,
            )
            outcome = SignOutcome(intake_id, "failed", None, "internal", INTERNAL_ERROR_MESSAGE, True)
        outcomes.append(outcome)
        if on_progress is not None:
            on_progress(n, len(ids), outcome)
    issued = sum(1 for o in outcomes if o.status == "issued")
    log.info("signed %d of %d intakes in one key session", issued, len(ids))
    return outcomes


def pending_intake_ids(svc: Services, *, offices: Collection[str] | None = None, limit: int = 10_000) -> list[str]:
    """Approved intakes waiting for a signature, oldest first, for the offices given (default: all)."""
    waiting = svc.registry.list_intakes(status=APPROVED_WAITING, limit=limit)
    chosen = [i for i in waiting if i.approved_by and (offices is None or i.office in offices)]
    return [i.id for i in reversed(chosen)]
