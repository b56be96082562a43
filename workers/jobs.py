"""RQ jobs: plain functions, enqueued by dotted name, taking an intake ID; idempotent; the work is
``workflow``'s.

Errors are translated here, in one wrapper: the intake records the code and the clerk's
message; retryable errors are re-raised so RQ's Retry runs the job again, the others end it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from rq import get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job

from pipeline.errors import EcopyError
from storage.errors import StorageError
from workers.queues import LOST_CODE, LOST_MESSAGE, LOST_RETRY_MESSAGE, enqueue_issue_intake
from workflow import context
from workflow.intakes import require_intake
from workflow.lifecycle import IntakeStatus, Step, move
from workflow.reading import read_intake
from workflow.signing import sign_approved, sign_intake

log = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "Lỗi hệ thống khi xử lý hồ sơ. Hệ thống sẽ thử lại; nếu vẫn lỗi, hãy báo quản trị viên."


def _status_after_failure(retryable: bool) -> IntakeStatus:
    """ "retrying" when RQ will run the job again, so the clerk is not told it failed for good."""
    job = get_current_job()
    return (
        IntakeStatus.RETRYING if retryable and job is not None and (job.retries_left or 0) > 0 else IntakeStatus.FAILED
    )


def _job(func: Callable[[str], Any]) -> Callable[[str], Any]:
    @functools.wraps(func)
    def wrapper(intake_id: str) -> Any:
        registry = context.current().registry
        try:
            return func(intake_id)
        except (EcopyError, StorageError) as e:
            log.warning("intake %s: %s failed: %s (%s)", intake_id, func.__name__, e.code, e.detail or e)
            status = _status_after_failure(e.retryable)
            move(registry, intake_id, Step.JOB_FAILED, status, error_code=e.code, error_message=e.message)
            if e.retryable:
                raise
            return None
        except Exception:
            log.exception("intake %s: %s crashed", intake_id, func.__name__)
            move(
                registry,
                intake_id,
                Step.JOB_FAILED,
                _status_after_failure(True),
                error_code="internal",
                error_message=INTERNAL_ERROR_MESSAGE,
            )
            raise

    return wrapper


@_job
def process_intake(intake_id: str) -> str:
    """Read the scans of an intake (:func:`workflow.reading.read_intake`); an archive document the
    policy issues without a person is handed to a signer."""
    outcome = read_intake(context.current(), intake_id)
    if outcome.auto_issue:
        job = get_current_job()
        if job is not None:  # run by RQ: hand it to a signer
            try:
                enqueue_issue_intake(job.connection, intake_id)
            except RedisError as e:  # the reading is saved; the batch's reconcile queues the signing
                log.warning("intake %s read, but its signing job could not be queued: %s", intake_id, e)
    return outcome.status


def record_lost(job: Job, reason: str) -> None:
    """A worker or work-horse died under this job (SIGKILL, out of memory, machine lost).

    Called by RQ in the worker that notices, never in the dead horse: the document shows
    "retrying" while RQ's Retry still has attempts, then "failed" with ``worker.lost``.
    """
    intake_id = job.args[0] if job.args else None
    if not isinstance(intake_id, str):
        return
    retrying = (job.retries_left or 0) > 0
    log.warning("intake %s: job %s lost (%s); %s", intake_id, job.id, reason, "retrying" if retrying else "giving up")
    try:
        move(
            context.current().registry,
            intake_id,
            Step.JOB_FAILED,
            IntakeStatus.RETRYING if retrying else IntakeStatus.FAILED,
            error_code=LOST_CODE,
            error_message=LOST_RETRY_MESSAGE if retrying else LOST_MESSAGE,
        )
    except Exception:  # the registry itself may be what is down; reconcile repairs it later
        log.exception("intake %s: could not record the lost job", intake_id)


def on_job_failure(job: Job, connection: object, exc_type: type, value: BaseException, tb: object) -> None:
    """RQ failure callback. Ordinary errors were recorded by ``_job``; this catches abandonment."""
    if isinstance(value, AbandonedJobError):
        record_lost(job, "abandoned: worker and work-horse gone")


def on_work_horse_killed(job: Job, retpid: int, ret_val: int, rusage: object) -> None:
    record_lost(job, f"work-horse {retpid} ended with status {ret_val}")


@_job
def issue_intake(intake_id: str) -> str:
    """Render, sign and store the e-copy of a reviewed intake (signer workers only)."""
    svc = context.current()
    require_intake(svc.registry, intake_id)
    outcome = sign_intake(svc, intake_id)
    if outcome.status == "skipped":
        intake = svc.registry.get_intake(intake_id)
        return intake.status if intake is not None else outcome.status
    return outcome.ecopy_id or outcome.status


def sign_intakes(intake_ids: list[str]) -> dict[str, Any]:
    """Sign a signer's selection in one job, so the key (a token session) is opened once.

    Each intake succeeds or fails on its own; one whose error is retryable (a time-stamp server
    away) is queued again on its own, with the retries of a single signing job."""
    svc = context.current()
    outcomes = sign_approved(svc, intake_ids)
    job = get_current_job()
    for o in outcomes:
        if o.retryable and job is not None:
            try:
                enqueue_issue_intake(job.connection, o.intake_id)
            except RedisError as e:  # the counter reconciler queues it later
                log.warning("intake %s: could not queue the retry: %s", o.intake_id, e)
    return {o.intake_id: o.ecopy_id or o.error_code or o.status for o in outcomes}
