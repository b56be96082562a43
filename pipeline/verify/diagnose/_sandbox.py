"""The only place that starts the diagnosis child and sets its limits.

Uploaded files are hostile. :func:`diagnose` therefore runs :func:`examine` in a child process
(``python -m pipeline.verify.diagnose``, the PDF on stdin, one JSON event per line on stdout) with a
wall-clock limit and an address-space limit (RLIMIT_AS, plus RLIMIT_CPU as a backstop, set by the
child on itself once its imports are done and before it parses the PDF: no ``preexec_fn``, which
is unsafe in a threaded parent such as a FastAPI worker thread; the child is started by
``subprocess`` with fork+exec in C, safe from threads and from an RQ work-horse). At most
``max(2, cpu_count)`` children run at once per process. A child stopped by a limit still yields
a :class:`Diagnosis` (code ``diagnosis.limit``) with the events it reported before it stopped;
the signer attribution comes first for that reason.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from pipeline.verify.diagnose._wire import _Events
from pipeline.verify.diagnose.findings import Diagnosis, Finding

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MEMORY_BYTES = 768 * 1024 * 1024

_PACKAGE_PARENT = Path(__file__).resolve().parents[3]
# The child that parses an uploaded file gets a fixed environment, not ours: nothing it needs is in
# it, and a hostile file must not run next to the signer's PIN or the storage keys. One BLAS thread:
# numpy (imported with pipeline.models) must not reserve per-thread buffers under the memory limit.
_CHILD_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}
# At most this many children per process at once (each may use up to its memory limit): a burst of
# uploads queues here, for at most its own time limit, instead of exhausting the host.
_CHILDREN = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))


def diagnose(
    pdf: bytes,
    trust_roots: Sequence[bytes],
    known_signer_fingerprints: Collection[str] = (),
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> Diagnosis:
    """:func:`examine` in a child process with a wall-clock and a memory limit. Never raises, never hangs.

    A child stopped by a limit (or crashing) gives ``completed=False`` and the code ``diagnosis.limit``
    together with whatever it had reported before.
    """
    started = time.perf_counter()
    if not _CHILDREN.acquire(timeout=max(timeout_s, 0.0)):
        log.warning("PDF diagnosis refused: %d already running", max(2, os.cpu_count() or 2))
        finding = Finding("diagnosis.limit", "too many diagnoses at once")
        return Diagnosis(findings=(finding,), completed=False, elapsed_s=time.perf_counter() - started)
    try:
        return _diagnose_in_child(pdf, trust_roots, known_signer_fingerprints, timeout_s, memory_bytes, started)
    finally:
        _CHILDREN.release()


def _diagnose_in_child(
    pdf: bytes,
    trust_roots: Sequence[bytes],
    known_signer_fingerprints: Collection[str],
    timeout_s: float,
    memory_bytes: int,
    started: float,
) -> Diagnosis:
    header = {
        "roots": [base64.b64encode(r).decode("ascii") for r in trust_roots],
        "known": sorted({f.lower() for f in known_signer_fingerprints}),
        "memory_bytes": int(memory_bytes),
        "cpu_seconds": int(timeout_s) + 2,
    }
    payload = json.dumps(header).encode() + b"\n" + pdf
    events = _Events()
    why, limited = "", False
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline.verify.diagnose"],
            input=payload,
            capture_output=True,
            timeout=timeout_s,
            cwd=_PACKAGE_PARENT,
            env=_CHILD_ENV,
            check=False,
        )
        events.read(proc.stdout)
        if proc.returncode != 0:
            tail = proc.stderr[-600:].decode("utf-8", "replace").strip().replace("\n", " | ")
            why = f"child exited with {proc.returncode}: {tail}"
            # killed by a signal (SIGXCPU, SIGKILL, SIGSEGV when C code meets the address-space
            # limit) or out of memory in Python: a limit, not a bug of ours
            limited = proc.returncode < 0 or proc.returncode == EXIT_MEMORY
    except subprocess.TimeoutExpired as e:
        events.read(e.stdout or b"")
        why, limited = f"no answer within {timeout_s:.1f} s", True
    except OSError as e:
        why = f"cannot start the diagnosis: {e}"
    elapsed = time.perf_counter() - started

    findings = [Finding(code, "; ".join(d)[:1000]) for code, d in events.findings.items()]
    if not events.done:
        findings.append(Finding("diagnosis.limit" if limited else "diagnosis.failed", why or "incomplete answer"))
        log.warning("PDF diagnosis stopped after %.1f s (%d bytes): %s", elapsed, len(pdf), why)
    else:
        log.info("PDF diagnosis of %d bytes in %.2f s: %s", len(pdf), elapsed, [f.code for f in findings])
    return Diagnosis(
        findings=tuple(findings),
        signers=tuple(events.signers),
        report=events.report,
        embedded_ecopy_id=events.ecopy_id,
        completed=events.done,
        elapsed_s=elapsed,
    )


EXIT_MEMORY = 3


def _limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))  # backstop if the parent died
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it has no business writing files
