"""``python -m pipeline.verify.diagnose``: the child process that examines one uploaded PDF."""

from __future__ import annotations

import base64
import json
import logging
import sys
from typing import Any

from pipeline.verify.diagnose._sandbox import EXIT_MEMORY, _limit_self
from pipeline.verify.diagnose.examination import examine


def main() -> int:
    """Child entry point: header JSON line + PDF on stdin, JSON events on stdout."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    data = sys.stdin.buffer.read()
    header_line, _, pdf = data.partition(b"\n")
    header = json.loads(header_line)
    _limit_self(int(header["memory_bytes"]), int(header["cpu_seconds"]))
    del data
    sys.setrecursionlimit(2000)

    def emit(event: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    try:
        examine(pdf, [base64.b64decode(r) for r in header["roots"]], header["known"], emit=emit)
    except MemoryError:
        sys.stderr.write("MemoryError: memory limit reached\n")
        return EXIT_MEMORY
    return 0


if __name__ == "__main__":
    sys.exit(main())
