"""What the use-cases ask of the job queue. ``workers.queues.RqJobs`` is the RQ one; a queue that
cannot be reached raises :class:`workflow.errors.QueueUnavailableError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

# A job whose worker died under it (SIGKILL, out of memory, machine lost), as the document shows it.
LOST_CODE = "worker.lost"
LOST_RETRY_MESSAGE = "Máy xử lý bị dừng đột ngột khi đang xử lý hồ sơ này. Hệ thống sẽ tự thử lại."
LOST_MESSAGE = (
    "Máy xử lý bị dừng đột ngột khi đang xử lý hồ sơ này nhiều lần. Hãy chạy lại lô hoặc gửi lại hồ sơ; "
    "nếu vẫn lỗi, báo quản trị viên."
)

# A job's state as the reconciler needs it: waiting or running, given up on (failed), or neither
# (finished, expired, never queued).
JobState = Literal["pending", "failed", "none"]


class JobQueue(Protocol):
    def process(self, intake_id: str, *, batch: bool = False) -> None:
        """Queue the reading of an intake (on the archive queue if ``batch``); once per intake."""

    def issue(self, intake_id: str) -> None:
        """Queue the signing of one intake; once per intake."""

    def sign_many(self, intake_ids: Sequence[str]) -> None:
        """Queue one signing job for a signer's selection (one key session)."""

    def job_state(self, job_id: str) -> JobState: ...


def job_id(step: str, intake_id: str) -> str:
    """The ID of an intake's job for a step ("process", "issue"): one job per step and intake."""
    return f"{step}-{intake_id}"
