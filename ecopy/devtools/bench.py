"""``make bench``: pages/min of the full pipeline beside bare Tesseract on the same pages, same run.

Figures are ratios against the baseline measured in the same run, so a slow machine shifts
both numbers and not the conclusion. Single process, OMP_THREAD_LIMIT=1 for both.

Then the same corpus as an archive batch on 1 and on 2 ``ecopy worker`` processes (each run with
its own data dir, registry, dev PKI and private redis-server): batch pages/min, the 2/1 scaling
and the peak memory of each worker's process tree (worker, RQ work-horse, tesseract, scheduler).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
from pydantic import SecretStr
from redis import Redis

from ecopy.devtools.ports import free_port
from ecopy.settings import Settings

SCAN_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf"}


def corpus_documents(corpus: Path, limit: int | None) -> list[list[Path]]:
    docs = []
    for d in sorted(p for p in corpus.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.suffix.lower() in SCAN_SUFFIXES)
        if files:
            docs.append(files)
    return docs[:limit] if limit else docs


def _page_images(files: list[Path], tmp: Path) -> list[Path]:
    """Pages as image files for bare tesseract (PDFs rasterised at 300 dpi, outside the timing)."""
    out: list[Path] = []
    for f in files:
        if f.suffix.lower() != ".pdf":
            out.append(f)
            continue
        pdf = pdfium.PdfDocument(str(f))
        for i in range(len(pdf)):
            target = tmp / f"{f.parent.name}-{i}.png"
            pdf[i].render(scale=300 / 72).to_pil().save(target)
            out.append(target)
    return out


# The bench runs on the embedded default whatever the environment configures: files, SQLite, the
# development PKI, no time-stamp server.
EMBEDDED_DEFAULT: dict[str, object] = {
    "database_url": None,
    "store": "fs",
    "tsa_url": None,
    "pkcs12_path": None,
    "pkcs11_token_label": None,
    "offices_file": None,
    "signature_level": None,
}


def run(s: Settings, corpus: Path, *, limit: int | None = None) -> int:
    from ecopy import wiring
    from pipeline.models import SourceFile
    from pipeline.read.reader import read_document
    from workflow.issuing import IssueRequest, issue_ecopy

    docs = corpus_documents(corpus, limit)
    if not docs:
        print(f"no scans under {corpus}")
        return 1
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    with tempfile.TemporaryDirectory(prefix="ecopy-bench-") as tmpdir:
        tmp = Path(tmpdir)
        pages = [p for files in docs for p in _page_images(files, tmp)]
        t0 = time.perf_counter()
        for page in pages:
            subprocess.run(
                ["tesseract", str(page), "-", "-l", "vie", "--oem", "1"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        bare = time.perf_counter() - t0

        bench_settings = s.model_copy(update={"data_dir": tmp / "data", **EMBEDDED_DEFAULT})
        svc = wiring.build_services(bench_settings, with_key=True)
        svc.signing_key and svc.signing_key()  # key loading is start-up work, not per page
        n_pages = 0
        stage = {"read": 0.0, "issue": 0.0}
        t0 = time.perf_counter()
        for files in docs:
            t = time.perf_counter()
            result = read_document([SourceFile(f.name, f.read_bytes()) for f in files], svc.read_options)
            stage["read"] += time.perf_counter() - t
            t = time.perf_counter()
            fields = result.fields.to_dict()
            issue_ecopy(
                IssueRequest(
                    pages=result.pages, ocr=result.ocr, doc_type=result.classification.doc_type, fields=fields
                ),
                svc,
            )
            stage["issue"] += time.perf_counter() - t
            n_pages += len(result.pages)
        full = time.perf_counter() - t0

    bare_ppm = len(pages) / bare * 60
    full_ppm = n_pages / full * 60
    print(f"documents: {len(docs)}   pages: {len(pages)} (bare) / {n_pages} (pipeline)   one process")
    print(f"bare tesseract -l vie --oem 1 : {bare_ppm:7.1f} pages/min  ({bare / len(pages):.2f} s/page)")
    print(f"ecopy full pipeline          : {full_ppm:7.1f} pages/min  ({full / n_pages:.2f} s/page)")
    print(
        f"  of which read (load+preprocess+ocr+classify+extract): {stage['read'] / n_pages:.2f} s/page, "
        f"issue (render+sign+store+registry): {stage['issue'] / n_pages:.2f} s/page"
    )
    print(f"ratio full/bare throughput    : {full_ppm / bare_ppm:.2f}", flush=True)

    print_batch_runs([batch_run(s, docs, n) for n in BATCH_WORKERS])

    from ecopy.devtools import bench_sign

    bench_sign.print_sign_bench(bench_sign.run_sign_bench(40, scan=docs[0][0]))
    return 0


# ---- batch throughput: N worker processes on one machine ------------------------------------------
BATCH_WORKERS = (1, 2)  # worker processes per run; the scaling figure is the last over the first
BATCH_QUEUES = "intake,sign,batch"
BATCH_TIMEOUT = 30 * 60.0  # seconds, per run, from submission to the last document finished
WORKER_START_TIMEOUT = 120.0
POLL_SECONDS = 0.5
RECONCILE_SECONDS = 10.0  # as the ``ecopy batch`` monitor does
SAMPLE_SECONDS = 0.2  # RSS (cheap: /proc/<pid>/status)
PSS_EVERY = 5  # samples; PSS comes from smaps_rollup, ~6 ms of CPU per large process per read
BUSY_ELSEWHERE = 0.3  # CPUs, on average, taken by processes not part of the bench: over that, warn


@dataclass
class BatchRun:
    workers: int
    documents: int
    pages: int
    counts: dict[str, int]
    seconds: float  # from just before submission to the last document finished
    submit_seconds: float  # of which recording + uploading + enqueueing the batch
    peak_rss: list[int]  # bytes, per worker: worker + its work-horse + tesseract, RSS summed
    peak_single: list[int]  # bytes, per worker: the largest single process among them
    peak_scheduler: list[int]  # bytes, per worker: RSS of its RQ scheduler fork (one worker has it)
    peak_pss: list[int]  # bytes, per worker: its whole tree, copy-on-write pages split between processes
    samples: int
    worker_cores: float  # CPUs the workers' process trees kept busy, on average over the run
    bench_cores: float  # … this process (submission, polling, sampling) and its redis-server
    machine_cores: float  # … the whole machine, anyone's work
    problems: list[str] = field(default_factory=list)  # "ref: [code] message" of failed documents

    @property
    def pages_per_minute(self) -> float:
        return self.pages / self.seconds * 60 if self.seconds > 0 else 0.0


def _batch_folder(docs: list[list[Path]], target: Path) -> Path:
    """One folder per corpus document holding only its scans (copies: the batch source refuses links)."""
    for files in docs:
        folder = target / files[0].parent.name
        folder.mkdir(parents=True)
        for f in files:
            shutil.copyfile(f, folder / f.name)
    return target


def _worker_env(s: Settings) -> dict[str, str]:
    """The bench settings, every field, as ECOPY_* variables (over any in the environment or .env)."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    for name, value in s.model_dump(mode="json").items():
        raw = getattr(s, name)
        if isinstance(raw, SecretStr):
            text = raw.get_secret_value()
        elif value is None:
            text = ""
        elif isinstance(value, dict | list):
            text = json.dumps(value)
        else:
            text = str(value)
        env[f"ECOPY_{name.upper()}"] = text
    return env


# -- memory of a process tree, from /proc -------------------------------------------------------------
def _proc_kb(path: str, key: str) -> int:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0  # gone, or a zombie (no memory lines)


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                kids.extend(int(k) for k in fh.read().split())
        except (OSError, ValueError):
            pass
    return kids


def _tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants (RQ's work-horse, its tesseract, the RQ scheduler)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on: [0] state, [2] pgrp, [11:15] utime stime cutime cstime,
    [19] start time."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    """With the pid, names one process even if pids are reused."""
    st = _stat(pid)
    return st[19] if st is not None else None


_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(pid: int) -> float:
    """CPU used by ``pid``'s live tree and every child it has reaped (RQ reaps each work-horse,
    a work-horse its tesseracts)."""
    ticks = 0
    for p in _tree(pid):
        st = _stat(p)
        if st is not None:
            ticks += sum(int(v) for v in st[11:15])
    return ticks / _TICKS


def _machine_busy_seconds() -> float:
    """CPU-seconds all CPUs of the machine have spent not idle since boot."""
    with open("/proc/stat", encoding="ascii") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return (sum(v[:8]) - idle) / _TICKS  # guest time is already in user


class _MemorySampler(threading.Thread):
    """Peak memory of each worker's process tree: RSS every SAMPLE_SECONDS, PSS every PSS_EVERY samples.

    A worker's tree is the worker, the work-horse RQ forks per job with its tesseract, and — in the
    one worker that holds the scheduler lock — the RQ scheduler, a fork that stays in the worker's
    process group. A work-horse moves to a process group of its own right after the fork, so a fork
    seen in the worker's group in two samples is the scheduler (counted apart); one seen there once
    is a work-horse caught mid-fork, left out of the RSS figures for that sample (its pages are the
    worker's then).
    """

    def __init__(self, pids: list[int]) -> None:
        super().__init__(name="bench-memory", daemon=True)
        self.pids = pids
        self.peak_rss = [0] * len(pids)  # worker + work-horse + tesseract, RSS summed
        self.peak_single = [0] * len(pids)  # largest one of those
        self.peak_scheduler = [0] * len(pids)  # RSS of the worker's other forks (the RQ scheduler)
        self.peak_pss = [0] * len(pids)  # the whole tree, scheduler included, PSS summed
        self.samples = 0
        self.seen: dict[int, str | None] = {}  # every descendant seen: pid -> start time
        self._in_worker_group: set[tuple[int, str]] = set()  # forks seen in their worker's group
        self._stop_event = threading.Event()

    def sample(self) -> None:
        with_pss = self.samples % PSS_EVERY == 0
        for i, pid in enumerate(self.pids):
            rss: list[int] = []
            scheduler = pss = 0
            for p in _tree(pid):
                st = _stat(p)
                if st is None:
                    continue
                if p != pid and p not in self.seen:
                    self.seen[p] = st[19]
                kb = _proc_kb(f"/proc/{p}/status", "VmRSS:") * 1024
                if p != pid and st[2] == str(pid):
                    if (p, st[19]) in self._in_worker_group:
                        scheduler += kb
                    self._in_worker_group.add((p, st[19]))
                else:
                    rss.append(kb)
                if with_pss:
                    pss += _proc_kb(f"/proc/{p}/smaps_rollup", "Pss:") * 1024
            self.peak_rss[i] = max(self.peak_rss[i], sum(rss))
            self.peak_single[i] = max([self.peak_single[i], *rss])
            self.peak_scheduler[i] = max(self.peak_scheduler[i], scheduler)
            self.peak_pss[i] = max(self.peak_pss[i], pss)
        self.samples += 1

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# -- processes ----------------------------------------------------------------------------------------
def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_registered(redis: Redis, procs: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    from rq import Worker

    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while len(Worker.all(connection=redis)) < len(procs):
        for proc, log_path in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"bench: worker {proc.pid} exited with {proc.returncode} before registering; "
                    f"its output ({log_path}):\n{_tail(log_path)}"
                )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"bench: {len(procs)} worker(s) not registered in Redis after {WORKER_START_TIMEOUT:.0f} s"
            )
        time.sleep(0.2)


def _stop_workers(procs: list[subprocess.Popen[bytes]], descendants: dict[int, str | None]) -> None:
    """SIGTERM each worker's session (worker + scheduler), SIGKILL what is left; then any work-horse
    that outlived its worker (RQ puts each in its own process group), if it is still the same process."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for pid, started in descendants.items():
        if started is not None and _start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _stop_redis(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# -- one run ------------------------------------------------------------------------------------------
def batch_run(s: Settings, docs: list[list[Path]], workers: int) -> BatchRun:
    """The corpus as one archive batch (a folder per document) on ``workers`` fresh worker processes,
    each with its own data dir, registry, dev PKI and private redis-server."""
    from ecopy import embedded, wiring
    from workers.queues import RqJobs, connect
    from workflow import batch as batches
    from workflow.batch_source import open_source
    from workflow.lifecycle import IntakeStatus

    with tempfile.TemporaryDirectory(prefix=f"ecopy-bench-batch{workers}-") as tmpdir:
        tmp = Path(tmpdir)
        bs = s.model_copy(
            update={
                "data_dir": tmp / "data",
                **EMBEDDED_DEFAULT,
                "redis_url": f"redis://127.0.0.1:{free_port()}/0",
                "log_level": "WARNING",
            }
        )
        registry = wiring.build_registry(bs)  # creates and migrates the registry before any worker
        wiring.ensure_dev_pki(bs)
        store = wiring.build_store(bs)
        source_dir = _batch_folder(docs, tmp / "batch")
        redis_proc = embedded.start_local_redis(bs)
        if redis_proc is None:
            raise RuntimeError(f"bench: something already answers at {bs.redis_url}; not using it")
        procs: list[subprocess.Popen[bytes]] = []
        sampler: _MemorySampler | None = None
        redis = connect(bs.redis_url)
        try:
            env = _worker_env(bs)
            logs = [tmp / f"worker-{i}.log" for i in range(workers)]
            for log_path in logs:
                with open(log_path, "wb") as out:
                    procs.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "ecopy.cli", "worker", "--queues", BATCH_QUEUES],
                            env=env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                            start_new_session=True,
                        )
                    )
            _wait_registered(redis, procs, logs)  # start-up is not batch work
            sampler = _MemorySampler([p.pid for p in procs])
            sampler.start()

            cpu0 = sum(_tree_cpu_seconds(p.pid) for p in procs)
            bench0 = time.process_time() + _tree_cpu_seconds(redis_proc.pid)
            machine0 = _machine_busy_seconds()
            wall0, t0 = time.time(), time.monotonic()
            with open_source(str(source_dir), limits=wiring.archive_limits(bs)) as source:
                result = batches.submit_batch(
                    source,
                    registry=registry,
                    store=store,
                    jobs=RqJobs(redis),
                    office=bs.office,
                    doc_type=None,
                    limits=wiring.load_limits(bs),
                )
            submit_seconds = time.monotonic() - t0
            batch_id = result.batch.id
            last_reconcile = time.monotonic()
            while True:
                progress = registry.batch_progress(batch_id)
                if progress.finished >= progress.total:
                    break
                for proc, log_path in zip(procs, logs, strict=True):
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"bench: worker {proc.pid} exited with {proc.returncode} during the batch "
                            f"({progress.finished}/{progress.total} documents finished); "
                            f"its output:\n{_tail(log_path)}"
                        )
                if time.monotonic() - t0 > BATCH_TIMEOUT:
                    raise RuntimeError(
                        f"bench: batch on {workers} worker(s) not finished after {BATCH_TIMEOUT / 60:.0f} min "
                        f"({progress.finished}/{progress.total} documents, by status {progress.counts})"
                    )
                if time.monotonic() - last_reconcile >= RECONCILE_SECONDS:
                    batches.reconcile(registry, RqJobs(redis), batch_id)
                    last_reconcile = time.monotonic()
                time.sleep(POLL_SECONDS)
            seconds = time.monotonic() - t0
            worker_cores = (sum(_tree_cpu_seconds(p.pid) for p in procs) - cpu0) / seconds
            bench_cores = (time.process_time() + _tree_cpu_seconds(redis_proc.pid) - bench0) / seconds
            machine_cores = (_machine_busy_seconds() - machine0) / seconds
            if progress.last_finished_at is not None:  # the registry's own time, not this poll's
                seconds = min(seconds, max(progress.last_finished_at.timestamp() - wall0, submit_seconds))
            sampler.stop()
            problems = [
                f"{r.source_ref}: [{r.error_code}] {r.error_message}"
                for r in batches.report_rows(registry, batch_id)
                if r.status == IntakeStatus.FAILED
            ]
            return BatchRun(
                workers=workers,
                documents=progress.total,
                pages=progress.pages_finished,
                counts=dict(progress.counts),
                seconds=seconds,
                submit_seconds=submit_seconds,
                peak_rss=sampler.peak_rss,
                peak_single=sampler.peak_single,
                peak_scheduler=sampler.peak_scheduler,
                peak_pss=sampler.peak_pss,
                samples=sampler.samples,
                worker_cores=worker_cores,
                bench_cores=bench_cores,
                machine_cores=machine_cores,
                problems=problems,
            )
        finally:
            if sampler is not None and sampler.is_alive():
                sampler.stop()
            _stop_workers(procs, sampler.seen if sampler is not None else {})
            redis.close()
            _stop_redis(redis_proc)


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def _per_run(runs: list[BatchRun], values: Callable[[BatchRun], list[int]]) -> str:
    return "; ".join(f"{_workers(r.workers)}: {', '.join(map(_mb, values(r)))}" for r in runs)


def _workers(n: int) -> str:
    return f"{n} worker{'s' if n > 1 else ''}"


def print_batch_runs(runs: list[BatchRun]) -> None:
    from workflow.lifecycle import IntakeStatus

    finished = (
        (IntakeStatus.ISSUED, "issued"),
        (IntakeStatus.REVIEW, "waiting for review"),
        (IntakeStatus.FAILED, "failed"),
    )
    print(
        f"batch (archive) throughput, same corpus as one folder per document, workers on '{BATCH_QUEUES}', "
        f"this machine has {os.cpu_count()} CPUs"
    )
    print("  (clock from just before submission — recording, uploading, enqueueing — to the last document finished)")
    for r in runs:
        states = ", ".join(
            f"{r.counts[k]} {text}"
            for k, text in finished
            if r.counts.get(k)
        )
        others = {k: v for k, v in r.counts.items() if k not in dict(finished)}
        if others:
            states += f", other: {others}"
        print(
            f"  {_workers(r.workers) + ':':<10} {r.pages_per_minute:6.1f} pages/min  ({r.pages} pages, "
            f"{r.documents} documents: {states}; {r.seconds:.0f} s, of which submission {r.submit_seconds:.1f} s)"
        )
        elsewhere = max(r.machine_cores - r.worker_cores - r.bench_cores, 0.0)
        print(
            f"             CPUs busy on average: {r.worker_cores:.2f} by the workers, {r.bench_cores:.2f} by this "
            f"bench and its redis, {elsewhere:.2f} by other processes ({r.machine_cores:.2f} in all)"
        )
        if elsewhere > BUSY_ELSEWHERE:
            print(
                f"             WARNING: other processes took {elsewhere:.2f} CPUs during the run: these figures "
                "are not reliable; run again on a quiet machine"
            )
        for p in r.problems:
            print(f"             failed: {p}")
    if len(runs) > 1 and runs[0].pages_per_minute > 0:
        first, last = runs[0], runs[-1]
        print(
            f"  scaling {last.workers}/{first.workers} workers: {last.pages_per_minute / first.pages_per_minute:.2f}x"
        )
    print(f"  peak RSS per worker (worker + its work-horse + tesseract): {_per_run(runs, lambda r: r.peak_rss)}")
    print(f"    largest single process: {_per_run(runs, lambda r: r.peak_single)}")
    print(
        "    plus the RQ scheduler fork of the worker holding its lock: "
        + _per_run(runs, lambda r: [b for b in r.peak_scheduler if b])
    )
    print(
        "    whole tree as PSS (copy-on-write pages shared with the forks counted once): "
        + _per_run(runs, lambda r: r.peak_pss)
    )
