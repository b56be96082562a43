"""The one module that starts the parse sandbox: untrusted bytes are decoded in a limited child.

A 3-kB PDF whose content stream inflates to 10 GB, a page tree that loops, a fuzzed TIFF that
crashes libtiff: none of them can be seen from a header, and any of them takes down the process
that decodes it. So every uploaded file is decoded by ``python -m pipeline.read._exec.parse_child``
(the file on stdin, page pixels written as raw RGB into a private temporary folder, JSON events on
stdout) under an address-space limit (RLIMIT_AS: the budget on top of the child's size after its
imports), a CPU limit as a backstop and a wall-clock timeout; the page and pixel counts are checked
in the child from each page's header before it is decoded. A child that goes past its budget, is
killed, or crashes ends as :class:`pipeline.errors.TooComplexError` (``input.too_complex``) within
its timeout; the calling process (an RQ work-horse, the CLI, the API) lives on.

The child is started with ``subprocess`` (fork+exec in C: safe from threads and from an RQ
work-horse; no ``preexec_fn``: the child limits itself once its imports are done) and a fixed
environment. It does not import numpy, so a cold start costs ~0.1 s a file. At most
``max(2, cpu_count)`` children run at once per process; more wait their turn here.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import errors
from pipeline.errors import CorruptFileError, EcopyError, InputError
from pipeline.read._exec import parse_child

log = logging.getLogger(__name__)

DEFAULT_MEMORY_BYTES = 1024 * 1024 * 1024  # on top of the child's own ~60 MB
DEFAULT_TIMEOUT_S = 30.0

_PACKAGE_PARENT = Path(__file__).resolve().parents[3]
# Not our environment: nothing the child needs is in it, and a hostile file must not run next to
# the signer's PIN or the storage keys.
_CHILD_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}
# ``-S``: no site initialisation (the editable-install finder alone is a fifth of a cold start);
# the child finds the project first, then the libraries where this process found them.
_CHILD_ENV["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(_PACKAGE_PARENT), *(p for p in sys.path if p)]))
_CHILDREN = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))


@dataclass(frozen=True)
class ParsedPage:
    """One decoded page, waiting as raw RGB bytes (``h*w*3``) in ``path``."""

    w: int
    h: int
    dpi: float | None
    path: str


class ChildReport(Exception):
    """What the child said or how it ended: the ``__cause__`` of the error raised here."""


def _input_errors() -> dict[str, type[InputError]]:
    out: dict[str, type[InputError]] = {}
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, InputError):
            out.setdefault(value.code, value)
    return out


_BY_CODE = _input_errors()


def parse_file(
    name: str,
    kind: str,
    data: bytes,
    limits: parse_child.ParseLimits,
    budget: parse_child.Budget,
    out_dir: str,
    *,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    sandbox: bool = True,
) -> list[ParsedPage]:
    """Decode one file's pages into ``out_dir``; ``budget`` is updated with what they used.

    Raises an :class:`InputError` for every file that is not a readable document, never anything
    a parser raised itself. ``sandbox=False`` decodes in this process (trusted bytes, measurements).
    """
    if not sandbox:
        return _parse_here(name, kind, data, limits, budget, out_dir)
    with _CHILDREN:
        return _parse_in_child(name, kind, data, limits, budget, out_dir, memory_bytes, timeout_s)


def _parse_here(
    name: str, kind: str, data: bytes, limits: parse_child.ParseLimits, budget: parse_child.Budget, out_dir: str
) -> list[ParsedPage]:
    pages: list[ParsedPage] = []

    def emit(event: dict[str, Any]) -> None:
        pages.append(ParsedPage(int(event["w"]), int(event["h"]), event["dpi"], str(event["path"])))

    try:
        parse_child.parse(name, kind, data, limits, budget, out_dir, emit)
    except EcopyError:
        raise
    except MemoryError as e:
        raise parse_child.too_complex(name, "out of memory") from e
    except Exception as e:  # what a parser raises on bad bytes is the file's fault, never a traceback
        raise CorruptFileError(
            f"Tệp «{name}» bị hỏng hoặc không đọc được. Vui lòng quét lại.", detail=f"{name}: {type(e).__name__}: {e}"
        ) from e
    return pages


def _parse_in_child(
    name: str,
    kind: str,
    data: bytes,
    limits: parse_child.ParseLimits,
    budget: parse_child.Budget,
    out_dir: str,
    memory_bytes: int,
    timeout_s: float,
) -> list[ParsedPage]:
    header = {
        "name": name,
        "kind": kind,
        "limits": limits.__dict__,
        "used_pages": budget.pages,
        "used_pixels": budget.pixels,
        "out_dir": out_dir,
        "memory_bytes": int(memory_bytes),
        "cpu_seconds": int(timeout_s) + 2,
    }
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-S", "-m", "pipeline.read._exec.parse_child"],
            input=json.dumps(header).encode() + b"\n" + data,
            capture_output=True,
            timeout=timeout_s,
            cwd=_PACKAGE_PARENT,
            env=_CHILD_ENV,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("parse of %s (%d bytes) stopped after %.1f s", name, len(data), timeout_s)
        raise parse_child.too_complex(name, f"no answer within {timeout_s:.1f} s") from ChildReport("timeout")
    except OSError as e:
        raise EcopyError(detail=f"cannot start the parse sandbox: {e}") from e
    elapsed = time.perf_counter() - started

    pages: list[ParsedPage] = []
    done: dict[str, Any] | None = None
    ready = False
    for line in proc.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        ready = ready or bool(event.get("ready"))
        if "error" in event:
            cls = _BY_CODE.get(str(event["error"]), CorruptFileError)
            log.info("parse of %s refused in %.2f s: %s (%s)", name, elapsed, cls.code, event.get("detail"))
            raise cls(str(event.get("message") or "") or None, detail=str(event.get("detail") or "")) from ChildReport(
                str(event.get("detail") or "")
            )
        if "page" in event:
            pages.append(ParsedPage(int(event["w"]), int(event["h"]), event.get("dpi"), str(event["path"])))
        if event.get("done"):
            done = event
    if proc.returncode != 0 or done is None:
        tail = proc.stderr[-600:].decode("utf-8", "replace").strip().replace("\n", " | ")
        if not ready:  # it died before it read the file: a deployment fault (missing library), not the file's
            log.error("the parse sandbox could not start (exit %s): %s", proc.returncode, tail)
            raise EcopyError(detail=f"parse sandbox did not start: exit {proc.returncode}: {tail}")
        why = f"child exited with {proc.returncode} after {elapsed:.1f} s: {tail}"
        # Killed by a signal (SIGXCPU, SIGKILL, SIGSEGV/SIGABRT when C code meets the address-space
        # limit or bad bytes) or out of memory in Python: the file went past its budget.
        log.warning("parse of %s (%d bytes): %s", name, len(data), why)
        raise parse_child.too_complex(name, why) from ChildReport(why)
    budget.pages, budget.pixels = int(done["pages"]), int(done["pixels"])
    log.debug("parsed %s: %d page(s) in %.2f s", name, len(pages), elapsed)
    return pages
