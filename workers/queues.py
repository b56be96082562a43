"""Queue names and enqueueing. Jobs are enqueued by dotted name and take IDs, never file bytes."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Retry
from rq.job import Job

INTAKE_QUEUE = "intake"  # counter work, served first
BATCH_QUEUE = "batch"  # archive digitization
SIGN_QUEUE = "sign"  # only signer workers (the only holders of the key) listen here
ALL_QUEUES = (INTAKE_QUEUE, BATCH_QUEUE, SIGN_QUEUE)

JOB_TIMEOUT = 600
RETRY = Retry(max=3, interval=[5, 30, 120])


def connect(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def enqueue_process_intake(conn: Redis, intake_id: str, *, queue: str = INTAKE_QUEUE) -> Job:
    return Queue(queue, connection=conn).enqueue(
        "workers.jobs.process_intake",
        intake_id,
        job_id=f"process-{intake_id}",
        retry=RETRY,
        job_timeout=JOB_TIMEOUT,
        description=f"đọc hồ sơ {intake_id}",
    )


def enqueue_issue_intake(conn: Redis, intake_id: str) -> Job:
    return Queue(SIGN_QUEUE, connection=conn).enqueue(
        "workers.jobs.issue_intake",
        intake_id,
        job_id=f"issue-{intake_id}",
        retry=RETRY,
        job_timeout=JOB_TIMEOUT,
        description=f"ký và cấp bản sao cho hồ sơ {intake_id}",
    )
