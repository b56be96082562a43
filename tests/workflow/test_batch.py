"""Archive batches in one process: submit, archive policy, reconciliation, report, re-runs.

Real Redis and real RQ workers (forking work-horses); the registry on SQLite and PostgreSQL.
The multi-process fault tests (workers, Redis and S3 killed) are in ``test_batch_faults.py``.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus

from ecopy import wiring
from ecopy.batchrun import render_line
from ecopy.settings import Settings
from pipeline.read.load import LoadLimits
from storage.objectstore import S3Access
from storage.registry import BatchProgress, Registry
from tests.support.corpus import corpus_doc
from tests.support.services import S3Service
from workers.queues import BATCH_QUEUE, SIGN_QUEUE, RqJobs, enqueue_issue_intake
from workflow import batch, context
from workflow.batch_source import ArchiveLimits, open_source
from workflow.context import Services

GOOD = "dev_0004"  # ID card, every confidence above the review threshold
DOUBTFUL = "dev_0032"  # ID card whose place of origin the two OCR models read differently: waits for review


@dataclass
class Env:
    services: Services
    registry: Registry
    conn: Redis
    settings: Settings

    def submit(
        self,
        spec: str | Path,
        doc_type: str | None = None,
        *,
        office: str | None = None,
        s3: S3Access | None = None,
        on_document: Callable[[int, int, str], None] | None = None,
    ) -> batch.SubmitResult:
        with open_source(str(spec), limits=ArchiveLimits(), s3=s3) as src:
            return batch.submit_batch(
                src,
                registry=self.registry,
                store=self.services.store,
                jobs=RqJobs(self.conn),
                office=office or self.settings.office,
                doc_type=doc_type,
                limits=LoadLimits(),
                on_document=on_document,
            )

    def drain(self) -> None:
        """Real forking workers in priority order until every queue is empty."""
        Worker(
            [Queue(q, connection=self.conn) for q in ("intake", SIGN_QUEUE, BATCH_QUEUE)], connection=self.conn
        ).work(burst=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[Env]:
    overrides: dict = {"data_dir": tmp_path / "data", "redis_url": redis_url}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("pg_url")
    settings = Settings(**overrides)
    services = wiring.build_services(settings, with_key=True)
    context.configure(services)
    conn = Redis.from_url(redis_url)
    forget_jobs(conn)
    yield Env(services, services.registry, conn, settings)
    services.registry.close()
    forget_jobs(conn)


def forget_jobs(conn: Redis) -> None:
    """What a Redis restarted without persistence would have lost: every queue and job."""
    for key in conn.scan_iter("rq:*"):
        conn.delete(key)


def _copy(doc_id: str, dest: Path) -> Path:
    (src,), _ = corpus_doc(doc_id)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


@pytest.mark.slow
def test_batch_issues_confident_documents_and_holds_doubtful_ones(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "kho"
    _copy(GOOD, src / "a-the.png")
    _copy(GOOD, src / "ho-so-b" / "trang-1.png")  # a folder is one document
    _copy(DOUBTFUL, src / "c-mo.png")
    (src / "d-rong.jpg").write_bytes(b"")

    first = env.submit(src)
    assert (first.created, first.already_known, first.refused) == (3, 0, 1)
    assert first.reconciled.enqueued_process == 3
    env.drain()

    by_ref = {i.source_ref: i for i in env.registry.batch_intakes(first.batch.id)}
    assert {k: v.status for k, v in by_ref.items()} == {
        "a-the.png": "issued",
        "ho-so-b": "issued",
        "c-mo.png": "review",
        "d-rong.jpg": "failed",
    }
    assert by_ref["d-rong.jpg"].error_code == "input.empty" and "rỗng" in (by_ref["d-rong.jpg"].error_message or "")
    assert by_ref["c-mo.png"].needs_review is True and (by_ref["c-mo.png"].min_confidence or 1) < 0.80
    assert by_ref["a-the.png"].needs_review is False and by_ref["a-the.png"].page_count == 1
    assert env.registry.count_ecopies() == 2

    rows = {r.source_ref: r for r in batch.report_rows(env.registry, first.batch.id)}
    for ref in ("a-the.png", "ho-so-b"):
        rec = env.registry.find_by_intake(by_ref[ref].id)
        assert rec is not None and rows[ref].ecopy_id == rec.ecopy_id
    assert rows["c-mo.png"].ecopy_id == "" and rows["c-mo.png"].needs_review is True
    assert rows["d-rong.jpg"].error_code == "input.empty"
    csv_path, json_path = batch.write_report(first.batch, rows.values(), tmp_path / "bc")
    assert "a-the.png" in csv_path.read_text(encoding="utf-8-sig") and json_path.exists()

    # The same batch again: same batch ID, nothing uploaded, enqueued or issued again.
    again = env.submit(src)
    assert again.batch.id == first.batch.id
    assert (again.created, again.already_known, again.reconciled.changed) == (0, 4, 0)
    env.drain()
    assert env.registry.count_ecopies() == 2
    # A different type hint is a different batch (its own documents and report).
    assert env.submit(src, doc_type="cccd_front").batch.id != first.batch.id
    # Unchecked, the doubtful document is not signed, whoever queues its job...
    enqueue_issue_intake(env.conn, by_ref["c-mo.png"].id)
    Worker([Queue(SIGN_QUEUE, connection=env.conn)], connection=env.conn).work(burst=True)
    assert env.registry.get_intake(by_ref["c-mo.png"].id).status == "review"  # type: ignore[union-attr]
    # ...once a person has checked it and a signer approved it, it is issued like a counter intake.
    env.registry.update_intake(by_ref["c-mo.png"].id, status="signing", approved_by="user:ky-duyet")
    enqueue_issue_intake(env.conn, by_ref["c-mo.png"].id)
    Worker([Queue(SIGN_QUEUE, connection=env.conn)], connection=env.conn).work(burst=True)
    reviewed = env.registry.get_intake(by_ref["c-mo.png"].id)
    assert reviewed is not None and reviewed.status == "issued" and reviewed.ecopy_id


@pytest.mark.slow
def test_reconcile_puts_back_jobs_lost_with_redis(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "kho"
    for i in range(2):
        _copy(GOOD, src / f"the-{i}.png")
    result = env.submit(src)
    forget_jobs(env.conn)  # Redis lost every queued job (restarted without persistence)
    fixed = batch.reconcile(env.registry, RqJobs(env.conn), result.batch.id)
    assert fixed.enqueued_process == 2
    assert batch.reconcile(env.registry, RqJobs(env.conn), result.batch.id).changed == 0  # jobs are waiting now
    env.drain()
    assert {i.status for i in env.registry.batch_intakes(result.batch.id)} == {"issued"}

    # A document read but whose signing job vanished is handed to a signer again, once.
    intake = env.registry.batch_intakes(result.batch.id)[0]
    assert batch.reconcile(env.registry, RqJobs(env.conn), result.batch.id).changed == 0
    env.registry.update_intake(intake.id, status="ready")
    forget_jobs(env.conn)
    assert batch.reconcile(env.registry, RqJobs(env.conn), result.batch.id).enqueued_issue == 1
    env.drain()
    assert env.registry.get_intake(intake.id).status == "issued"  # type: ignore[union-attr]
    assert env.registry.count_ecopies() == 2


def test_a_job_rq_gave_up_on_marks_the_document_failed_then_a_rerun_retries_it(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "kho"
    _copy(GOOD, src / "the.png")
    result = env.submit(src)
    (intake,) = env.registry.batch_intakes(result.batch.id)
    # RQ gave up (e.g. abandoned by killed workers more times than Retry allows): the job is FAILED
    # while the document never got past "processing".
    env.registry.update_intake(intake.id, status="processing")
    job = Job.fetch(f"process-{intake.id}", connection=env.conn)
    Queue(BATCH_QUEUE, connection=env.conn).remove(job)
    job.set_status(JobStatus.FAILED)
    lost = batch.reconcile(env.registry, RqJobs(env.conn), result.batch.id)
    assert lost.marked_lost == 1
    failed = env.registry.get_intake(intake.id)
    assert failed is not None and failed.status == "failed" and failed.error_code == "worker.lost"
    assert "chạy lại lô" in (failed.error_message or "")

    again = env.submit(src)  # a re-run retries what failed for a reason that may have gone away
    assert again.reconciled.requeued_failed == 1 and again.reconciled.enqueued_process == 1
    env.drain()
    assert env.registry.get_intake(intake.id).status == "issued"  # type: ignore[union-attr]


@pytest.mark.slow
def test_zip_batch_refuses_unsafe_entries_and_processes_the_rest(env: Env, tmp_path: Path) -> None:
    (good,), _ = corpus_doc(GOOD)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("the-tot.png", good.read_bytes())
        z.writestr("../../etc/evil.png", good.read_bytes())
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as iz:
            iz.writestr("x.png", good.read_bytes())
        z.writestr("long-nhau.zip", inner.getvalue())
        z.writestr("bom.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 5_000_000, compress_type=zipfile.ZIP_DEFLATED)
    archive = tmp_path / "lo.zip"
    archive.write_bytes(buf.getvalue())

    result = env.submit(archive)
    env.drain()
    by_ref = {i.source_ref: i for i in env.registry.batch_intakes(result.batch.id)}
    assert by_ref["the-tot.png"].status == "issued"
    refused = {ref: i.error_code for ref, i in by_ref.items() if ref != "the-tot.png"}
    assert sorted(refused.values()) == ["input.nested_archive", "input.unsafe_path", "input.zip_bomb"], refused
    assert all(i.error_message for ref, i in by_ref.items() if ref != "the-tot.png")
    assert env.registry.count_ecopies() == 1


@pytest.mark.slow
def test_batch_from_an_s3_prefix(env: Env, s3_server: S3Service, s3_bucket: str) -> None:
    from minio import Minio

    (good,), _ = corpus_doc(GOOD)
    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False, region="us-east-1")
    client.make_bucket(s3_bucket)
    data = good.read_bytes()
    client.put_object(s3_bucket, "phuong-7/2019/the.png", io.BytesIO(data), len(data))
    client.put_object(s3_bucket, "phuong-7/2019/ho-so-2/trang-1.png", io.BytesIO(data), len(data))
    client.put_object(s3_bucket, "phuong-7/2020/khac.png", io.BytesIO(data), len(data))  # another prefix
    access = wiring.s3_access(
        env.settings.model_copy(
            update={
                "s3_endpoint": s3_server.endpoint,
                "s3_access_key": s3_server.access_key,
                "s3_secret_key": SecretStr(s3_server.secret_key),
            }
        )
    )
    spec = f"s3://{s3_bucket}/phuong-7/2019/"
    with open_source(spec, s3=access) as src:
        assert src.kind == "s3" and [d.ref for d in src.documents] == ["ho-so-2", "the.png"]
    result = env.submit(spec, office="Lưu trữ phường 7", s3=access)
    env.drain()
    intakes = env.registry.batch_intakes(result.batch.id)
    assert [(i.source_ref, i.status, i.office) for i in intakes] == [
        ("ho-so-2", "issued", "Lưu trữ phường 7"),
        ("the.png", "issued", "Lưu trữ phường 7"),
    ]


def test_progress_line_says_what_is_done_in_vietnamese() -> None:
    p = BatchProgress(
        counts={"issued": 20, "review": 2, "failed": 1, "queued": 27},
        pages_finished=23,
        first_finished_at=None,
        last_finished_at=None,
    )
    line = render_line(p, rate=30.0)
    assert "23/50 xong" in line and "đã cấp 20" in line and "chờ duyệt 2" in line and "lỗi 1" in line
    assert "30.0 trang/phút" in line and "còn khoảng 54 giây" in line  # 27 docs × 1 page ÷ 30 pages/min
    assert "trang/phút" not in render_line(p, rate=None)


@pytest.mark.slow
def test_a_batch_cli_killed_while_recording_resumes_on_the_next_run(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "kho"
    for i in range(4):
        _copy(GOOD, src / f"the-{i}.png")

    def killed_at_third(n: int, total: int, ref: str) -> None:
        if n == 3:
            raise KeyboardInterrupt  # Ctrl+C / the CLI killed while it records documents

    with pytest.raises(KeyboardInterrupt):
        env.submit(src, on_document=killed_at_third)
    with open_source(str(src)) as source:
        batch_id = batch.batch_id_for(source, env.settings.office, None)
    assert len(env.registry.batch_intakes(batch_id)) == 2  # recorded, but never queued

    again = env.submit(src)
    assert (again.created, again.already_known) == (2, 2)
    assert again.reconciled.enqueued_process == 4  # the two orphans are queued too
    env.drain()
    assert [i.status for i in env.registry.batch_intakes(batch_id)] == ["issued"] * 4
    assert env.registry.count_ecopies() == 4


@pytest.mark.slow
def test_counter_intakes_whose_jobs_were_lost_are_queued_again(env: Env) -> None:
    from pipeline.models import SourceFile
    from workflow.intakes import store_originals

    (good,), _ = corpus_doc(GOOD)
    keys = store_originals(env.services.store, "quay-1", [SourceFile("the.png", good.read_bytes())])
    env.registry.create_intake("quay-1", office="quầy 3", file_keys=keys, file_names=["the.png"], status="queued")
    # Its job never reached Redis (or Redis lost it). Recent intakes are left alone a while...
    assert batch.reconcile_counter(env.registry, RqJobs(env.conn)).changed == 0
    # ...then queued again, on the counter's queue.
    fixed = batch.reconcile_counter(env.registry, RqJobs(env.conn), idle_seconds=0)
    assert fixed.enqueued_process == 1 and Queue("intake", connection=env.conn).count == 1
    env.drain()
    intake = env.registry.get_intake("quay-1")
    assert intake is not None and intake.status == "ready"  # and there it waits for the clerk
    assert batch.reconcile_counter(env.registry, RqJobs(env.conn), idle_seconds=0).changed == 0

    # The signer approved the copy, then the signing job was lost: it is queued again.
    env.registry.update_intake("quay-1", status="signing", approved_by="user:ky-duyet")
    assert batch.reconcile_counter(env.registry, RqJobs(env.conn), idle_seconds=0).enqueued_issue == 1
    env.drain()
    issued = env.registry.get_intake("quay-1")
    assert issued is not None and issued.status == "issued" and env.registry.count_ecopies() == 1


def test_monitor_and_summary_of_a_finished_batch(env: Env, tmp_path: Path) -> None:
    from ecopy.batchrun import monitor, print_summary

    src = tmp_path / "kho"
    src.mkdir()
    (src / "rong.png").write_bytes(b"")
    result = env.submit(src)
    shown, summary = io.StringIO(), io.StringIO()
    progress = monitor(env.registry, env.conn, result.batch.id, out=shown, poll=0.01)
    assert progress.finished == progress.total == 1
    assert "1/1 xong (lỗi 1)" in shown.getvalue()
    assert print_summary(env.registry, result.batch.id, tmp_path / "bc", out=summary) == 1  # something failed
    text = summary.getvalue()
    assert "lỗi" in text and ": 1" in text
    assert "rong.png: [input.empty]" in text and (tmp_path / "bc" / f"{result.batch.id}.csv").exists()
