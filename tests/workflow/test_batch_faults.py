"""Archive batches under faults, on real services run as separate processes.

A private Redis with AOF (as in production), a private SeaweedFS S3, a fresh PostgreSQL
database, ``ecopy worker`` processes (two OCR workers, one signer) and the ``ecopy batch`` CLI.
During each batch of 50+ documents one fault is injected — a worker and its work-horse
SIGKILLed, Redis SIGKILLed and restarted, the S3 server stopped and started again — and then:
every document ends issued or failed with a reason, none is lost, none is issued twice
(registry rows, S3 objects and object versions counted), the report matches the registry, and
running the batch again issues nothing new.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from minio import Minio
from rq import Worker

from pipeline.models import SourceFile
from storage.objectstore import S3Store
from storage.registry import Registry
from tests.support import services
from tests.support.corpus import corpus_doc
from tests.support.issued_audit import collect_s3_copies, register_trust_root
from tests.support.services import PostgresService, RedisServer, S3Service
from workers.queues import enqueue_process_intake
from workflow.intakes import store_originals

pytestmark = pytest.mark.slow

BUCKET = "ecopy-faults"
GOOD_FAST = "dev_0004"  # an ID card whose fields all pass the review threshold: issued automatically
GOOD_PAGE = "dev_0028"  # a diploma photo, also issued automatically
BATCH_ID_RE = re.compile(r"LO-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
FINISH_TIMEOUT = 600.0


@dataclass
class Cluster:
    env: dict[str, str]
    redis_server: RedisServer
    s3: S3Service
    registry: Registry
    workdir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.env["ECOPY_REDIS_URL"])

    def minio(self) -> Minio:
        return Minio(self.s3.endpoint, self.s3.access_key, self.s3.secret_key, secure=False, region=self.s3.region)

    def ecopy(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ecopy.cli", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn_worker(self, queues: str) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"worker-{len(self.workers)}-{queues.replace(',', '-')}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ecopy.cli", "worker", "--queues", queues],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.workers.append(proc)
        return proc

    def stop_workers(self) -> list[int]:
        """SIGTERM every worker (a warm shutdown); returns the PIDs that had to be SIGKILLed."""
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        stubborn = []
        for proc in self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stubborn.append(proc.pid)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.workers.clear()
        return stubborn


@pytest.fixture(scope="module")
def cluster(pg_server: PostgresService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    owner = services.RedisService()
    s3 = services.start_s3()
    pg_url, drop = pg_server.create_database()
    registry: Registry | None = None
    try:
        redis_server = services.start_redis_server(owner, aof=True)
        workdir = tmp_path_factory.mktemp("faults")
        env = {
            **os.environ,
            "ECOPY_DATA_DIR": str(workdir / "data"),
            "ECOPY_DATABASE_URL": pg_url,
            "ECOPY_STORE": "s3",
            "ECOPY_S3_ENDPOINT": s3.endpoint,
            "ECOPY_S3_ACCESS_KEY": s3.access_key,
            "ECOPY_S3_SECRET_KEY": s3.secret_key,
            "ECOPY_S3_BUCKET": BUCKET,
            "ECOPY_RETENTION_DAYS": "1",
            "ECOPY_RETENTION_MODE": "GOVERNANCE",
            "ECOPY_REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0",
            "ECOPY_LOG_LEVEL": "INFO",
            "OMP_THREAD_LIMIT": "1",
            # What is tested here is the batch machinery under faults, not reading accuracy: no second
            # OCR model (it only ever lowers confidences, so every document is still auto-issued).
            "ECOPY_OCR_CHECK": "false",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
        c = Cluster(env=env, redis_server=redis_server, s3=s3, registry=Registry(pg_url), workdir=workdir)
        registry = c.registry
        init = c.ecopy("init")  # migrations, bucket with object lock, the dev PKI: once, before any worker
        assert init.returncode == 0, init.stderr
        yield c
        c.stop_workers()
        # every copy this cluster issued goes through the session's independent check too
        register_trust_root((workdir / "data" / "pki" / "root.pem").read_bytes())
        collect_s3_copies(s3.endpoint, s3.access_key, s3.secret_key, BUCKET, s3.region)
    finally:
        if registry is not None:
            registry.close()
        owner.stop()
        s3.stop()
        drop()


def make_batch_dir(root: Path, good: int) -> Path:
    """``good`` auto-issuable documents (files and one folder document) plus two bad files."""
    root.mkdir(parents=True)
    (fast,), _ = corpus_doc(GOOD_FAST)
    (page,), _ = corpus_doc(GOOD_PAGE)
    for i in range(good - 1):
        src = page if i % 5 == 4 else fast
        shutil.copyfile(src, root / f"ho-so-{i:03d}{src.suffix}")
    folder = root / "ho-so-thu-muc"
    folder.mkdir()
    shutil.copyfile(fast, folder / "trang-1.png")
    (root / "hong.png").write_bytes(fast.read_bytes()[:3000])  # a PNG cut short: fails in the worker
    (root / "ghi-chu.jpg").write_text("không phải ảnh", encoding="utf-8")  # refused at intake
    return root


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_batch(c: Cluster, src: Path) -> str:
    r = c.ecopy("batch", str(src), "--no-wait")
    assert r.returncode == 0, r.stderr
    m = BATCH_ID_RE.search(r.stderr)
    assert m, r.stderr
    return m.group(0)


def finish_and_check(c: Cluster, src: Path, batch_id: str, good: int, tmp: Path) -> dict[str, str]:
    """Watch the batch to its end with the CLI, then check registry, S3 and report agree."""
    report_dir = tmp / "report"
    r = c.ecopy("batch", "status", batch_id, "--report-dir", str(report_dir), timeout=FINISH_TIMEOUT)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    intakes = c.registry.batch_intakes(batch_id)
    assert len(intakes) == good + 2
    statuses = {i.source_ref: i.status for i in intakes}
    assert set(statuses.values()) <= {"issued", "failed"}, statuses
    failed = {i.source_ref: i for i in intakes if i.status == "failed"}
    assert set(failed) == {"hong.png", "ghi-chu.jpg"}, {k: (v.error_code, v.error_message) for k, v in failed.items()}
    assert failed["hong.png"].error_code == "input.corrupt"
    assert failed["ghi-chu.jpg"].error_code == "input.unsupported_type"
    assert all(i.error_message for i in failed.values())

    # None lost, none twice: one registry row per issued document, one S3 object (one version) per row.
    issued = {i.id: c.registry.find_by_intake(i.id) for i in intakes if i.status == "issued"}
    assert all(rec is not None for rec in issued.values())
    ecopy_ids = {rec.ecopy_id for rec in issued.values() if rec is not None}
    assert len(ecopy_ids) == good
    versions: dict[str, int] = {}
    for obj in c.minio().list_objects(BUCKET, prefix="ecopies/", recursive=True, include_version=True):
        versions[obj.object_name or ""] = versions.get(obj.object_name or "", 0) + 1
    mine = {k: n for k, n in versions.items() if Path(k).stem in ecopy_ids}
    assert len(mine) == good, f"{len(mine)} S3 objects for {good} issued copies"
    assert set(mine.values()) == {1}, "an issued copy was written twice"
    assert c.registry.count_ecopies() == sum(versions.values()), "an S3 copy with no registry row (or the reverse)"

    # The report says what the registry says.
    with open(report_dir / f"{batch_id}.csv", encoding="utf-8-sig") as f:
        rows = {row["source_ref"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(statuses)
    for i in intakes:
        row = rows[i.source_ref or ""]
        assert row["status"] == i.status
        rec = issued.get(i.id)
        assert row["ecopy_id"] == (rec.ecopy_id if rec else "")
        assert row["error_code"] == (i.error_code or "")
        if i.status == "issued":
            assert float(row["min_confidence"]) >= 0.80 and row["needs_review"] == "False"
    report = json.loads((report_dir / f"{batch_id}.json").read_text(encoding="utf-8"))
    assert report["summary"] == {"issued": good, "failed": 2}

    # Running the same batch again: nothing new uploaded, enqueued or issued.
    before = c.registry.count_ecopies()
    again = c.ecopy("batch", str(src), "--report-dir", str(tmp / "report-again"), timeout=FINISH_TIMEOUT)
    assert again.returncode == 1, again.stderr  # 1: the batch has (the two) failed documents
    assert f"Lô {batch_id}: 0 hồ sơ mới, {good + 2} đã có" in again.stderr, again.stderr
    assert "; 0 việc được đưa vào hàng đợi" in again.stderr, again.stderr
    assert c.registry.count_ecopies() == before
    return {i.id: i.status for i in intakes}


def horse_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_batch_survives_a_worker_and_its_work_horse_killed(cluster: Cluster, tmp_path: Path) -> None:
    c, good = cluster, 50
    src = make_batch_dir(tmp_path / "lo-kill", good)
    ocr = [c.spawn_worker("intake,batch"), c.spawn_worker("intake,batch")]
    c.spawn_worker("sign")
    try:
        batch_id = start_batch(c, src)
        wait_for(lambda: c.registry.batch_progress(batch_id).finished >= 6, 300, "the first documents")

        # Find an OCR worker in the middle of a job; SIGKILL it and its work-horse together.
        victim: tuple[int, list[int], str] | None = None

        def busy() -> bool:
            nonlocal victim
            for w in Worker.all(connection=c.redis()):
                job_id = w.get_current_job_id()
                if w.pid in {p.pid for p in ocr} and job_id and horse_pids(w.pid):
                    victim = (w.pid, horse_pids(w.pid), job_id)
                    return True
            return False

        wait_for(busy, 120, "an OCR worker busy with a document")
        assert victim is not None
        worker_pid, horses, job_id = victim
        for pid in (worker_pid, *horses):
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        c.spawn_worker("intake,batch")  # what compose's restart policy does
        intake_id = job_id.split("-", 1)[1]

        result = finish_and_check(c, src, batch_id, good, tmp_path)
        assert result[intake_id] == "issued", "the document of the killed job was not finished"
        print(f"killed job {job_id} finished {time.monotonic() - killed_at:.0f} s after the kill")
    finally:
        c.stop_workers()


def run_with_fault(c: Cluster, tmp_path: Path, fault: Callable[[], None], good: int = 50) -> None:
    src = make_batch_dir(tmp_path / "lo", good)
    c.spawn_worker("intake,batch")
    c.spawn_worker("intake,batch")
    c.spawn_worker("sign")
    try:
        batch_id = start_batch(c, src)
        wait_for(lambda: c.registry.batch_progress(batch_id).finished >= 10, 300, "the first documents")
        fault()
        finish_and_check(c, src, batch_id, good, tmp_path)
        # Every worker process rode the fault out (none died and left its queue unserved)...
        assert [p.pid for p in c.workers if p.poll() is not None] == []
        # ...and still stops when asked.
        assert c.stop_workers() == []
    finally:
        c.stop_workers()


def test_batch_survives_redis_killed_and_restarted(cluster: Cluster, tmp_path: Path) -> None:
    def fault() -> None:
        cluster.redis_server.kill(signal.SIGKILL)  # no shutdown save: only what the AOF already holds survives
        time.sleep(3)
        cluster.redis_server.start()

    run_with_fault(cluster, tmp_path, fault)


def test_batch_survives_the_s3_server_stopped_for_a_while(cluster: Cluster, tmp_path: Path) -> None:
    process = cluster.s3.process
    assert process is not None

    def fault() -> None:
        process.stop(timeout=3)
        time.sleep(8)
        process.start()

    run_with_fault(cluster, tmp_path, fault)


def test_counter_intake_goes_before_queued_batch_documents(cluster: Cluster, tmp_path: Path) -> None:
    """One worker serving every queue: a clerk's intake is read next, not after the archive."""
    c = cluster
    src = tmp_path / "lo-uu-tien"
    src.mkdir()
    (fast,), _ = corpus_doc(GOOD_FAST)
    for i in range(8):
        shutil.copyfile(fast, src / f"ho-so-{i}.png")
    c.spawn_worker("intake,sign,batch")
    try:
        batch_id = start_batch(c, src)

        def read_so_far() -> int:
            return sum(1 for i in c.registry.batch_intakes(batch_id) if i.page_count is not None)

        wait_for(lambda: read_so_far() >= 1, 120, "the batch to start")
        before = read_so_far()
        intake_id = f"quay-{time.time_ns()}"
        store = S3Store(c.s3.endpoint, c.s3.access_key, c.s3.secret_key, BUCKET, secure=False, region=c.s3.region)
        keys = store_originals(store, intake_id, [SourceFile("quay.png", fast.read_bytes())])
        c.registry.create_intake(intake_id, office="quầy", file_keys=keys, file_names=["quay.png"], status="queued")
        enqueue_process_intake(c.redis(), intake_id)

        def counter_ready() -> bool:
            intake = c.registry.get_intake(intake_id)
            return intake is not None and intake.status == "ready"

        wait_for(counter_ready, 120, "the counter intake")
        after = read_so_far()
        assert after - before <= 1, f"{after - before} batch documents were read before the counter's intake"
        assert after < 8
    finally:
        c.stop_workers()
