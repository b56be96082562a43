"""The intake lifecycle: its statuses, which step may move an intake from which status to which,
and the one place a status changes (:func:`move`, :func:`move_if`).

counter: queued → processing → ready (clerk corrects) → submitted → signing → issued,
         or submitted → rejected (back to the clerk) → submitted again;
archive: queued → processing → ready (auto-issue) → signing → issued, or → review (a person checks);
with the clerk (ready, review, rejected): a change of the document's type → queued, read again;
any job: → retrying while RQ tries again, → failed when it gives up; a failed batch document whose
error may go away is queued again by the batch's reconcile.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from storage.registry import IntakeRecord, Registry

log = logging.getLogger(__name__)


class IntakeStatus(enum.StrEnum):
    RECEIVED = "received"  # recorded, scans not queued (the registry's default for a new intake)
    QUEUED = "queued"  # waiting for an OCR worker
    PROCESSING = "processing"  # being read
    RETRYING = "retrying"  # a job failed for a reason that may go away; RQ runs it again
    READY = "ready"  # read; with the clerk (counter) or on its way to the signer (archive, auto-issue)
    REVIEW = "review"  # read, an archive document a person must check
    SUBMITTED = "submitted"  # in the signer's queue
    REJECTED = "rejected"  # sent back to the clerk with the signer's reason
    SIGNING = "signing"  # approved; a signer worker renders and signs it
    ISSUED = "issued"  # its e-copy is in the registry
    FAILED = "failed"  # a job gave up, or the input was refused; the message says what to do


S = IntakeStatus

# How an intake may start: a counter or batch intake is queued; a refused batch document is received.
INITIAL: frozenset[IntakeStatus] = frozenset({S.RECEIVED, S.QUEUED})
# Statuses after which no worker will touch an intake again by itself (storage keeps a copy for its SQL).
FINISHED: frozenset[IntakeStatus] = frozenset({S.ISSUED, S.FAILED, S.REVIEW})
# Read, and waiting for a clerk (ready, rejected) or a signer (submitted): no job is owed.
WAITING_FOR_PEOPLE: frozenset[IntakeStatus] = frozenset({S.READY, S.SUBMITTED, S.REJECTED})
# Read, and with the clerk: fields may be corrected, the intake submitted.
EDITABLE: tuple[IntakeStatus, ...] = (S.READY, S.REVIEW, S.REJECTED)
# On its way through the workers: the page polls.
IN_FLIGHT: tuple[IntakeStatus, ...] = (S.QUEUED, S.RECEIVED, S.PROCESSING, S.RETRYING, S.SIGNING)
# What a signer worker may sign (with an approval, or the archive's auto-issue policy).
SIGNABLE: tuple[IntakeStatus, ...] = (S.READY, S.REVIEW, S.SIGNING, S.FAILED, S.RETRYING)
APPROVED_WAITING = S.SIGNING  # approved by a signer, not issued yet


class Step(enum.StrEnum):
    """What moves an intake."""

    QUEUE_FAILED = "queue_failed"  # the scan was stored but its job could not be queued
    REFUSE = "refuse"  # an archive document refused at intake (unsafe name, wrong type…)
    READ = "read"  # an OCR job starts
    READ_DONE = "read_done"  # … and finishes
    JOB_FAILED = "job_failed"  # a job's error, a lost worker: tried again or given up
    CORRECT = "correct"  # the clerk corrects fields (no status change)
    SUBMIT = "submit"  # the clerk sends it to the signer
    REJECT = "reject"  # the signer sends it back
    APPROVE = "approve"  # the signer approves: its e-copy ID is fixed
    SIGN = "sign"  # a signer worker starts the copy
    RECORD_ISSUED = "record_issued"  # the copy is in the registry (also found there by a re-run)
    REQUEUE = "requeue"  # a re-run of a batch queues a document that failed for a passing reason
    RETYPE = "retype"  # the clerk names or changes the document's type: it is read again with that type


_UNFINISHED_WORK = frozenset({S.RECEIVED, S.QUEUED, S.PROCESSING, S.RETRYING, S.READY, S.REVIEW, S.SIGNING})


@dataclass(frozen=True)
class Transition:
    sources: frozenset[IntakeStatus]  # empty: a guard of the current status only (no move)
    targets: frozenset[IntakeStatus]


def _t(sources: Iterable[IntakeStatus], targets: Iterable[IntakeStatus]) -> Transition:
    return Transition(frozenset(sources), frozenset(targets))


TRANSITIONS: dict[Step, Transition] = {
    Step.QUEUE_FAILED: _t({S.QUEUED}, {S.FAILED}),
    Step.REFUSE: _t({S.RECEIVED}, {S.FAILED}),
    Step.READ: _t({S.RECEIVED, S.QUEUED, S.PROCESSING, S.RETRYING, S.FAILED}, {S.PROCESSING}),
    Step.READ_DONE: _t({S.PROCESSING}, {S.READY, S.REVIEW}),
    Step.JOB_FAILED: _t(_UNFINISHED_WORK | {S.FAILED}, {S.RETRYING, S.FAILED}),
    Step.CORRECT: _t(EDITABLE, ()),
    Step.SUBMIT: _t(EDITABLE, {S.SUBMITTED}),
    Step.REJECT: _t({S.SUBMITTED}, {S.REJECTED}),
    Step.APPROVE: _t({S.SUBMITTED}, {S.SIGNING}),
    Step.SIGN: _t(SIGNABLE, {S.SIGNING}),
    Step.RECORD_ISSUED: _t(set(S), {S.ISSUED}),
    Step.REQUEUE: _t({S.FAILED}, {S.QUEUED}),
    Step.RETYPE: _t(EDITABLE, {S.QUEUED}),
}


def next_statuses(status: IntakeStatus) -> frozenset[IntakeStatus]:
    """Every status some step may move an intake in ``status`` to."""
    return frozenset(t for tr in TRANSITIONS.values() if status in tr.sources for t in tr.targets)


def steps_between(source: IntakeStatus, target: IntakeStatus) -> frozenset[Step]:
    return frozenset(step for step, tr in TRANSITIONS.items() if source in tr.sources and target in tr.targets)


def _target(step: Step, to: IntakeStatus | None) -> dict[str, Any]:
    tr = TRANSITIONS[step]
    if to is None:
        if tr.targets:
            raise ValueError(f"step {step} moves an intake: say to which of {sorted(tr.targets)}")
        return {}
    if to not in tr.targets:
        raise ValueError(f"step {step} cannot move an intake to {to!r} (only to {sorted(tr.targets)})")
    return {"status": to}


def move(
    registry: Registry,
    intake_id: str,
    step: Step,
    to: IntakeStatus,
    *,
    current: str | None = None,
    **changes: Any,
) -> IntakeRecord:
    """Move an intake whatever its status now (a job owns it). ``current``, when the caller knows
    it, is checked against the table: a move the table does not know is logged, not refused, so a
    stale job still records what happened."""
    values = _target(step, to)
    if current is not None and current not in TRANSITIONS[step].sources:
        log.warning(
            "intake %s: %s moves it from %s to %s, which the lifecycle does not foresee", intake_id, step, current, to
        )
    return registry.update_intake(intake_id, **values, **changes)


def move_if(
    registry: Registry,
    intake_id: str,
    step: Step,
    to: IntakeStatus | None = None,
    *,
    sources: Collection[IntakeStatus] | None = None,
    **changes: Any,
) -> IntakeRecord | None:
    """Move an intake only if it is in one of the step's source statuses (``sources`` narrows them),
    in one conditional UPDATE: of two signers approving the same intake at once, one wins. None: it was not."""
    allowed = TRANSITIONS[step].sources
    if sources is not None:
        if not set(sources) <= allowed:
            raise ValueError(f"step {step} does not start from {sorted(set(sources) - allowed)}")
        allowed = frozenset(sources)
    return registry.transition_intake(intake_id, sorted(allowed), **_target(step, to), **changes)
