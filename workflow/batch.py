"""Archive batches: fan a folder / ZIP / S3 prefix out on the ``batch`` queue, crash-safely.

Everything a batch needs to resume lives in the registry, not in Redis or in the CLI:

* the batch ID comes from the source (its path, URL or the ZIP's bytes) plus office and type,
  and each document's intake ID from the batch ID plus the document's place in the source, so
  running the same batch again finds the same rows and uploads nothing twice;
* ``reconcile`` looks at every unfinished document and makes sure a job for its next step is
  waiting in Redis. It repairs what a crash left behind — a CLI killed before enqueueing, jobs
  lost with a Redis restart, a job RQ gave up on — and it is cheap to run again and again (the
  progress monitor runs it every few seconds);
* issuing is idempotent per intake (``workflow.issuing``), so a job that runs twice leaves one copy.

The job queue is reached through :class:`workflow.jobqueue.JobQueue` (``workers.queues.RqJobs``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.ecopy_id import ALPHABET
from pipeline.errors import EcopyError, InputError
from pipeline.models import SourceFile
from pipeline.read.load import LoadLimits, check_file
from storage import errors as storage_errors
from storage.objectstore import ObjectStore
from storage.registry import BatchRecord, IntakeRecord, Registry
from workflow.batch_source import BatchDocument, BatchSource
from workflow.doctitle import check_type
from workflow.intakes import store_originals
from workflow.jobqueue import LOST_CODE, LOST_MESSAGE, JobQueue, job_id
from workflow.lifecycle import FINISHED, IntakeStatus, Step, move

log = logging.getLogger(__name__)


def _retryable_codes() -> frozenset[str]:
    """Codes of the errors that may go away by themselves (a server down, a time-out)."""
    codes = {"internal", LOST_CODE}
    stack: list[type[EcopyError] | type[storage_errors.StorageError]] = [EcopyError, storage_errors.StorageError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.retryable:
            codes.add(cls.code)
    return frozenset(codes)


RETRYABLE_CODES = _retryable_codes()


# ---- identities ---------------------------------------------------------------------------------
def batch_id_for(source: BatchSource, office: str, doc_type: str | None, doc_title: str | None = None) -> str:
    """Same source, office and type (and title, for "other") → same batch: that is what makes a re-run a resume."""
    key = f"{source.kind}\n{source.fingerprint}\n{office}\n{doc_type or ''}" + (f"\n{doc_title}" if doc_title else "")
    digest = hashlib.sha256(key.encode()).digest()
    value = int.from_bytes(digest[:8], "big")
    code = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(12))
    return f"LO-{code[:4]}-{code[4:8]}-{code[8:]}"


def intake_id_for(batch_id: str, ref: str) -> str:
    return f"{batch_id}-{hashlib.sha256(ref.encode()).hexdigest()[:20]}"


# ---- submit -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubmitResult:
    batch: BatchRecord
    created: int  # documents new in the registry this run
    already_known: int  # documents a previous run had already recorded
    refused: int  # documents refused at intake (recorded as failed with their reason)
    reconciled: ReconcileResult


def submit_batch(
    source: BatchSource,
    *,
    registry: Registry,
    store: ObjectStore,
    jobs: JobQueue,
    office: str,
    doc_type: str | None,
    limits: LoadLimits,
    on_document: Callable[[int, int, str], None] | None = None,
    doc_title: str | None = None,
) -> SubmitResult:
    """Record the batch and its documents (uploading only those not known yet), then enqueue.

    A document that cannot be taken (unsafe ZIP entry, empty or wrong-type file…) is recorded as
    failed with its code and message; the rest of the batch goes on. ``doc_type`` "other" needs
    ``doc_title``, the title of every document of the batch. A document no type is named for and
    classification does not recognise goes to review (:mod:`workflow.reading`), never issued by itself.
    """
    doc_type, doc_title = check_type(doc_type, doc_title)
    batch = registry.create_batch(
        BatchRecord(
            id=batch_id_for(source, office, doc_type, doc_title),
            kind=source.kind,
            location=source.location,
            fingerprint=source.fingerprint,
            office=office,
            doc_type_hint=doc_type,
            total=len(source.documents),
        )
    )
    created = known = refused = 0
    recorded = {i.id for i in registry.batch_intakes(batch.id)}  # by an earlier run of this batch
    for n, doc in enumerate(source.documents, start=1):
        if on_document is not None:
            on_document(n, len(source.documents), doc.ref)
        intake_id = intake_id_for(batch.id, doc.ref)
        if intake_id in recorded:
            known += 1
            continue
        try:
            files = _read_document(doc, limits)
        except InputError as e:
            refused += 1
            _record_refused(registry, batch, intake_id, doc, e, doc_title)
            continue
        keys = store_originals(store, intake_id, files)
        registry.create_intake(
            intake_id,
            office=office,
            file_keys=keys,
            file_names=[f.name for f in files],
            doc_type_hint=doc_type,
            doc_title=doc_title,
            status=IntakeStatus.QUEUED,
            batch_id=batch.id,
            source_ref=doc.ref,
        )
        created += 1
    reconciled = reconcile(registry, jobs, batch.id, retry_failed=True)
    return SubmitResult(batch, created, known, refused, reconciled)


def _read_document(doc: BatchDocument, limits: LoadLimits) -> list[SourceFile]:
    if doc.error is not None:
        raise doc.error if isinstance(doc.error, InputError) else InputError(doc.error.message, detail=doc.error.detail)
    if not doc.files:
        raise InputError("Hồ sơ không có tệp nào. Hãy đặt các trang quét vào thư mục của hồ sơ.", detail=doc.ref)
    files = []
    for bf in doc.files:
        f = SourceFile(name=bf.name, data=bf.read())
        check_file(f, limits)
        files.append(f)
    return files


def _record_refused(
    registry: Registry, batch: BatchRecord, intake_id: str, doc: BatchDocument, e: InputError, doc_title: str | None
) -> None:
    log.warning("batch %s: %s refused: %s (%s)", batch.id, doc.ref, e.code, e.detail or e.message)
    registry.create_intake(
        intake_id,
        office=batch.office,
        file_keys=[],
        file_names=[],
        doc_type_hint=batch.doc_type_hint,
        doc_title=doc_title,
        status=IntakeStatus.RECEIVED,
        batch_id=batch.id,
        source_ref=doc.ref,
    )
    move(
        registry,
        intake_id,
        Step.REFUSE,
        IntakeStatus.FAILED,
        current=IntakeStatus.RECEIVED,
        error_code=e.code,
        error_message=e.message,
    )


# ---- reconcile ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReconcileResult:
    enqueued_process: int = 0
    enqueued_issue: int = 0
    marked_lost: int = 0
    requeued_failed: int = 0

    @property
    def changed(self) -> int:
        return self.enqueued_process + self.enqueued_issue + self.marked_lost + self.requeued_failed


def next_step(intake: IntakeRecord) -> str | None:
    """ "process", "issue" or None (finished, or waiting for a person)."""
    if intake.status in FINISHED or intake.status in (IntakeStatus.SUBMITTED, IntakeStatus.REJECTED):
        return None  # done, or with a person
    if intake.status == IntakeStatus.READY:  # read; a batch document that passed the threshold goes on by itself
        return "issue" if intake.batch_id is not None and intake.needs_review is False else None
    if intake.status == IntakeStatus.SIGNING:  # somebody (or the archive policy) asked for the copy
        return "issue"
    if intake.status == IntakeStatus.RETRYING:
        return "issue" if intake.doc_type else "process"
    return "process"  # queued, received, processing


def reconcile(registry: Registry, jobs: JobQueue, batch_id: str, *, retry_failed: bool = False) -> ReconcileResult:
    """Make sure every unfinished document of the batch has a job waiting for its next step.

    A job RQ has given up on (failed, e.g. abandoned by a killed worker too many times) while the
    document is still unfinished marks the document failed with ``worker.lost``. With
    ``retry_failed`` (a re-run of the batch), documents that failed for a reason that may have
    gone away (server down, time-out, lost worker) are queued again; input errors stay failed.
    """
    result = reconcile_intakes(registry, jobs, registry.batch_intakes(batch_id), retry_failed=retry_failed)
    if result.changed:
        log.info("batch %s reconciled: %s", batch_id, result)
    return result


def reconcile_counter(registry: Registry, jobs: JobQueue, *, idle_seconds: float = 60.0) -> ReconcileResult:
    """The same repair for counter intakes (no batch) that have not moved for ``idle_seconds``:
    a clerk's scan whose job was lost with a Redis restart is queued again. Run by the API."""
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=idle_seconds)
    result = reconcile_intakes(registry, jobs, registry.stale_counter_intakes(updated_before=before))
    if result.changed:
        log.info("counter intakes reconciled: %s", result)
    return result


def reconcile_intakes(
    registry: Registry, jobs: JobQueue, intakes: Iterable[IntakeRecord], *, retry_failed: bool = False
) -> ReconcileResult:
    process = issue = lost = requeued = 0
    for intake in intakes:
        if retry_failed and intake.status == IntakeStatus.FAILED and intake.error_code in RETRYABLE_CODES:
            intake = move(
                registry,
                intake.id,
                Step.REQUEUE,
                IntakeStatus.QUEUED,
                current=intake.status,
                error_code=None,
                error_message=None,
            )
            requeued += 1
        step = next_step(intake)
        if step is None:
            continue
        state = jobs.job_state(job_id(step, intake.id))
        if state == "pending":
            continue
        if state == "failed" and not retry_failed:
            fresh = registry.get_intake(intake.id)  # the job's own error handler may have just recorded why
            if fresh is not None and fresh.status == intake.status:
                move(
                    registry,
                    intake.id,
                    Step.JOB_FAILED,
                    IntakeStatus.FAILED,
                    current=intake.status,
                    error_code=LOST_CODE,
                    error_message=LOST_MESSAGE,
                )
                lost += 1
            continue
        if step == "process":
            jobs.process(intake.id, batch=intake.batch_id is not None)
            process += 1
        else:
            jobs.issue(intake.id)
            issue += 1
    return ReconcileResult(process, issue, lost, requeued)


# ---- report -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportRow:
    source_ref: str
    intake_id: str
    status: str
    ecopy_id: str
    doc_type: str
    pages: int | None
    min_confidence: float | None
    needs_review: bool | None
    error_code: str
    error_message: str


REPORT_COLUMNS = tuple(ReportRow.__dataclass_fields__)


def report_rows(registry: Registry, batch_id: str) -> list[ReportRow]:
    """One row per document, the e-copy ID taken from the registry of issued copies itself."""
    rows = []
    issued = registry.batch_ecopy_ids(batch_id)
    for intake in registry.batch_intakes(batch_id):
        ecopy_id = issued.get(intake.id)
        rows.append(
            ReportRow(
                source_ref=intake.source_ref or "",
                intake_id=intake.id,
                status=IntakeStatus.ISSUED if ecopy_id is not None else intake.status,
                ecopy_id=ecopy_id or "",
                doc_type=intake.doc_type or "",
                pages=intake.page_count,
                min_confidence=None if intake.min_confidence is None else round(intake.min_confidence, 3),
                needs_review=intake.needs_review,
                error_code=intake.error_code or "",
                error_message=intake.error_message or "",
            )
        )
    return rows


def write_report(batch: BatchRecord, rows: Iterable[ReportRow], out_dir: Path) -> tuple[Path, Path]:
    """``<batch>.csv`` (UTF-8 with BOM, so a spreadsheet shows the diacritics) and ``<batch>.json``."""
    rows = list(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out_dir / f"{batch.id}.csv", out_dir / f"{batch.id}.json"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REPORT_COLUMNS)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(r).items()})
    csv_path.write_text(buf.getvalue(), encoding="utf-8-sig")
    summary: dict[str, int] = {}
    for r in rows:
        summary[r.status] = summary.get(r.status, 0) + 1
    doc = {
        "batch_id": batch.id,
        "source": batch.location,
        "office": batch.office,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "summary": summary,
        "documents": [asdict(r) for r in rows],
    }
    json_path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return csv_path, json_path
