"""``ecopy batch``: submit an archive batch, watch it with a live progress bar, write its report.

The progress monitor is only a window on the registry: killing it loses nothing, and
``ecopy batch status ID`` (or running the same batch again) re-attaches. While it watches it
also reconciles, so documents whose jobs were lost (Redis restarted, a worker killed) are put
back on the queue without anyone having to notice.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker

from ecopy import wiring
from ecopy.settings import Settings
from pipeline.read.doctypes import registry as doctypes
from storage.errors import StorageError, StorageUnavailableError
from storage.registry import BatchProgress, Registry
from workers.queues import BATCH_QUEUE, SIGN_QUEUE, RqJobs, connect
from workflow import batch as batches
from workflow.errors import QueueUnavailableError
from workflow.lifecycle import IntakeStatus

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
RECONCILE_SECONDS = 10.0

# The finished statuses of a batch document, in the order the progress line and the summary show them.
FINISHED_ORDER = (IntakeStatus.ISSUED, IntakeStatus.REVIEW, IntakeStatus.FAILED)
STATUS_LABELS_VI = {
    IntakeStatus.ISSUED: "đã cấp",
    IntakeStatus.REVIEW: "chờ duyệt",
    IntakeStatus.FAILED: "lỗi",
}


class BatchNotFoundError(StorageError):
    code = "batch.not_found"
    http_status = 404
    default_message = "Không tìm thấy lô này. Kiểm tra lại mã lô (dạng LO-XXXX-XXXX-XXXX)."


@dataclass
class Rate:
    """Pages per minute between the first finish this monitor saw and now: the time spent
    waiting for a worker to start, or for the first document, does not drag it down."""

    last_seen: int | None = None
    started: float | None = None
    pages_at_start: int = 0

    def per_minute(self, pages_now: int) -> float | None:
        moved = self.last_seen is not None and pages_now > self.last_seen
        self.last_seen = pages_now
        if self.started is None:
            if moved:
                self.started, self.pages_at_start = time.monotonic(), pages_now
            return None
        elapsed = time.monotonic() - self.started
        done = pages_now - self.pages_at_start
        return done / elapsed * 60 if done > 0 and elapsed > 0 else None


def render_line(p: BatchProgress, rate: float | None, width: int = 30) -> str:
    total = max(p.total, 1)
    filled = int(width * p.finished / total)
    bar = "█" * filled + "·" * (width - filled)
    parts = [f"{STATUS_LABELS_VI[s]} {p.counts[s]}" for s in FINISHED_ORDER if p.counts.get(s)]
    line = f"[{bar}] {p.finished}/{p.total} xong"
    if parts:
        line += " (" + ", ".join(parts) + ")"
    if rate:
        line += f" | {rate:.1f} trang/phút"
        remaining = p.total - p.finished
        per_doc = p.pages_finished / p.finished if p.finished else 1.0
        if remaining:
            eta = dt.timedelta(seconds=int(remaining * per_doc / rate * 60))
            line += f" | còn khoảng {_human(eta)}"
    return line


def _human(td: dt.timedelta) -> str:
    s = int(td.total_seconds())
    if s < 60:
        return f"{s} giây"
    if s < 3600:
        return f"{s // 60} phút"
    return f"{s // 3600} giờ {s % 3600 // 60} phút"


def _workers_listening(redis: Redis) -> set[str]:
    queues: set[str] = set()
    for w in Worker.all(connection=redis):
        queues.update(w.queue_names())
    return queues


def monitor(
    registry: Registry,
    redis: Redis,
    batch_id: str,
    *,
    out: TextIO = sys.stderr,
    poll: float = POLL_SECONDS,
    reconcile_every: float = RECONCILE_SECONDS,
) -> BatchProgress:
    """Show progress until every document is finished (issued, waiting for review, failed)."""
    tty = out.isatty()
    rate = Rate()
    last_reconcile = time.monotonic()
    last_printed = ""
    last_print_time = 0.0
    warned_no_worker = warned_redis = warned_registry = False
    while True:
        try:
            p = registry.batch_progress(batch_id)
            warned_registry = False
        except StorageUnavailableError as e:  # PostgreSQL restarting: wait, the batch goes on without us
            if not warned_registry:
                warned_registry = True
                out.write(f"\nSổ đăng ký tạm thời không truy cập được: {e.detail}. Đang thử lại.\n")
            time.sleep(poll)
            continue
        line = render_line(p, rate.per_minute(p.pages_finished))
        if tty:
            out.write("\r" + line.ljust(len(last_printed)))
            out.flush()
        elif (line != last_printed and time.monotonic() - last_print_time >= 10) or p.finished == p.total:
            out.write(line + "\n")
            out.flush()
            last_print_time = time.monotonic()
        last_printed = line
        if p.finished >= p.total:
            if tty:
                out.write("\n")
            return p
        if time.monotonic() - last_reconcile >= reconcile_every:
            last_reconcile = time.monotonic()
            try:
                batches.reconcile(registry, RqJobs(redis), batch_id)
                listening = _workers_listening(redis)
                warned_redis = False
                if not warned_no_worker and not {BATCH_QUEUE, SIGN_QUEUE} <= listening:
                    warned_no_worker = True
                    out.write(
                        "\nChú ý: chưa có máy xử lý (worker) nào nhận hàng đợi "
                        f"{', '.join(sorted({BATCH_QUEUE, SIGN_QUEUE} - listening))}. "
                        "Hãy chạy «ecopy worker» (hoặc «make run») để lô được xử lý.\n"
                    )
            except (RedisError, QueueUnavailableError) as e:
                if not warned_redis:
                    warned_redis = True
                    why = e.detail if isinstance(e, QueueUnavailableError) else e
                    out.write(f"\nMất kết nối tới hàng đợi (Redis): {why}. Đang thử lại; lô không mất gì.\n")
            except StorageUnavailableError:
                pass  # said above when the progress query failed; the next round tries again
        time.sleep(poll)


def print_summary(registry: Registry, batch_id: str, report_dir: Path, out: TextIO = sys.stdout) -> int:
    batch = registry.get_batch(batch_id)
    if batch is None:
        raise BatchNotFoundError(detail=batch_id)
    rows = batches.report_rows(registry, batch_id)
    csv_path, json_path = batches.write_report(batch, rows, report_dir)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    out.write(f"Lô {batch_id}: {len(rows)} hồ sơ từ {batch.location}\n")
    for status in FINISHED_ORDER:
        if counts.get(status):
            out.write(f"  {STATUS_LABELS_VI[status]:<10}: {counts[status]}\n")
    others = {k: v for k, v in counts.items() if k not in STATUS_LABELS_VI}
    if others:
        out.write(f"  đang xử lý: {sum(others.values())} ({', '.join(f'{k} {v}' for k, v in others.items())})\n")
    failed = [r for r in rows if r.status == IntakeStatus.FAILED]
    for r in failed[:20]:
        out.write(f"  ✗ {r.source_ref}: [{r.error_code}] {r.error_message}\n")
    if len(failed) > 20:
        out.write(f"  … và {len(failed) - 20} hồ sơ lỗi khác (xem báo cáo)\n")
    review = [r for r in rows if r.status == IntakeStatus.REVIEW]
    for r in review[:10]:
        if r.doc_type not in doctypes.DOCTYPES:  # not recognised: a person names its type
            out.write(f"  ? {r.source_ref}: chưa nhận ra loại giấy tờ — cần người chọn loại giấy tờ\n")
            continue
        label = doctypes.label_vi(r.doc_type)
        out.write(f"  ? {r.source_ref}: {label}, độ tin cậy thấp nhất {r.min_confidence} — cần người duyệt\n")
    out.write(f"Báo cáo: {csv_path}\n         {json_path}\n")
    return 1 if failed else 0


def run(
    s: Settings,
    spec: str,
    *,
    doc_type: str | None,
    office: str | None,
    report_dir: Path,
    wait: bool,
    doc_title: str | None = None,
) -> int:
    from workflow.batch_source import open_source
    from workflow.doctitle import check_type

    doc_type, doc_title = check_type(doc_type, doc_title)  # "other" without --title: refused before anything

    registry = wiring.build_registry(s)
    store = wiring.build_store(s)
    redis = connect(s.redis_url)
    office = office or s.office
    with open_source(spec, limits=wiring.archive_limits(s), s3=wiring.s3_access(s)) as source:
        print(f"Lô từ {source.location}: {len(source.documents)} hồ sơ. Đang ghi nhận…", file=sys.stderr)

        def shown(n: int, total: int, ref: str) -> None:
            if sys.stderr.isatty():
                sys.stderr.write(f"\r  ghi nhận {n}/{total}: {ref[:60]:<60}")
                sys.stderr.flush()

        result = batches.submit_batch(
            source,
            registry=registry,
            store=store,
            jobs=RqJobs(redis),
            office=office,
            doc_type=doc_type,
            doc_title=doc_title,
            limits=wiring.load_limits(s),
            on_document=shown,
        )
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    b = result.batch
    print(
        f"Lô {b.id}: {result.created} hồ sơ mới, {result.already_known} đã có từ lần chạy trước, "
        f"{result.refused} bị từ chối; {result.reconciled.enqueued_process + result.reconciled.enqueued_issue} "
        "việc được đưa vào hàng đợi.",
        file=sys.stderr,
    )
    if not wait:
        print(f"Theo dõi: ecopy batch status {b.id}", file=sys.stderr)
        return 0
    return watch(s, b.id, report_dir=report_dir, registry=registry, redis=redis)


def watch(
    s: Settings,
    batch_id: str,
    *,
    report_dir: Path,
    registry: Registry | None = None,
    redis: Redis | None = None,
) -> int:
    registry = registry or wiring.build_registry(s)
    redis = redis or connect(s.redis_url)
    if registry.get_batch(batch_id) is None:
        raise BatchNotFoundError(detail=batch_id)
    try:
        monitor(registry, redis, batch_id)
    except KeyboardInterrupt:
        print(
            f"\nĐã dừng theo dõi. Lô vẫn chạy trên các máy xử lý; xem lại: ecopy batch status {batch_id}",
            file=sys.stderr,
        )
        return 130
    return print_summary(registry, batch_id, report_dir)
