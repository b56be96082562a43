"""Queue names and enqueueing. Jobs are enqueued by dotted name and take IDs, never file bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from workflow.errors import QueueUnavailableError
from workflow.jobqueue import LOST_CODE, LOST_MESSAGE, LOST_RETRY_MESSAGE, JobState

INTAKE_QUEUE = "intake"  # counter work, served first
BATCH_QUEUE = "batch"  # archive digitization
SIGN_QUEUE = "sign"  # only signer workers (the only holders of the key) listen here
ALL_QUEUES = (INTAKE_QUEUE, BATCH_QUEUE, SIGN_QUEUE)

JOB_TIMEOUT = 600
RETRY = Retry(max=3, interval=[5, 30, 120])
__all__ = [
    "ALL_QUEUES",
    "BATCH_QUEUE",
    "INTAKE_QUEUE",
    "LOST_CODE",
    "LOST_MESSAGE",
    "LOST_RETRY_MESSAGE",
    "SIGN_QUEUE",
    "RqJobs",
    "connect",
    "enqueue_issue_intake",
    "enqueue_process_intake",
    "enqueue_sign_intakes",
]

PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def connect(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def _enqueue_once(conn: Redis, queue: str, func: str, intake_id: str, job_id: str, description: str) -> Job:
    """RQ does not de-duplicate job IDs: a job already waiting or running is not enqueued again."""
    try:
        job = Job.fetch(job_id, connection=conn)
        if job.get_status(refresh=False) in PENDING:
            return job
    except NoSuchJobError:
        pass
    return Queue(queue, connection=conn).enqueue(
        func,
        intake_id,
        job_id=job_id,
        retry=RETRY,
        job_timeout=JOB_TIMEOUT,
        description=description,
        on_failure=Callback("workers.jobs.on_job_failure"),
    )


def enqueue_process_intake(conn: Redis, intake_id: str, *, queue: str = INTAKE_QUEUE) -> Job:
    return _enqueue_once(
        conn, queue, "workers.jobs.process_intake", intake_id, f"process-{intake_id}", f"đọc hồ sơ {intake_id}"
    )


def enqueue_sign_intakes(conn: Redis, intake_ids: list[str]) -> Job:
    """One job for a signer's selection: signed in one key session (see workflow.signing)."""
    digest = hashlib.sha256("\n".join(intake_ids).encode()).hexdigest()[:16]
    return Queue(SIGN_QUEUE, connection=conn).enqueue(
        "workers.jobs.sign_intakes",
        intake_ids,
        job_id=f"sign-{digest}",
        job_timeout=JOB_TIMEOUT + 10 * len(intake_ids),
        description=f"ký {len(intake_ids)} hồ sơ đã duyệt",
    )


def enqueue_issue_intake(conn: Redis, intake_id: str) -> Job:
    return _enqueue_once(
        conn,
        SIGN_QUEUE,
        "workers.jobs.issue_intake",
        intake_id,
        f"issue-{intake_id}",
        f"ký và cấp bản sao cho hồ sơ {intake_id}",
    )


@dataclass(frozen=True)
class RqJobs:
    """The job queue the use-cases ask for (:class:`workflow.jobqueue.JobQueue`), on RQ. Redis
    away is :class:`workflow.errors.QueueUnavailableError`."""

    conn: Redis

    def process(self, intake_id: str, *, batch: bool = False) -> None:
        try:
            enqueue_process_intake(self.conn, intake_id, queue=BATCH_QUEUE if batch else INTAKE_QUEUE)
        except RedisError as e:
            raise QueueUnavailableError(detail=f"{type(e).__name__}: {e}") from e

    def issue(self, intake_id: str) -> None:
        try:
            enqueue_issue_intake(self.conn, intake_id)
        except RedisError as e:
            raise QueueUnavailableError(detail=f"{type(e).__name__}: {e}") from e

    def sign_many(self, intake_ids: Sequence[str]) -> None:
        try:
            enqueue_sign_intakes(self.conn, list(intake_ids))
        except RedisError as e:
            raise QueueUnavailableError(detail=f"{type(e).__name__}: {e}") from e

    def job_state(self, job_id: str) -> JobState:
        try:
            status = Job.fetch(job_id, connection=self.conn).get_status(refresh=False)
        except NoSuchJobError:
            return "none"
        except RedisError as e:
            raise QueueUnavailableError(detail=f"{type(e).__name__}: {e}") from e
        if status in PENDING:
            return "pending"
        return "failed" if status == JobStatus.FAILED else "none"
