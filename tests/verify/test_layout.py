"""The verification room keeps its shape: small files, and one named module that starts the diagnosis child."""

from __future__ import annotations

import re
from pathlib import Path

import pipeline
from pipeline.verify import diagnose

PIPELINE = Path(pipeline.__file__).parent
STARTS_A_PROCESS = re.compile(r"^\s*(import subprocess|from subprocess import)|\bPopen\b|\bos\.(fork|exec|spawn)", re.M)


def test_every_file_of_the_verification_room_is_at_most_400_lines() -> None:
    sizes = {str(p.relative_to(PIPELINE)): len(p.read_text().splitlines()) for p in (PIPELINE / "verify").rglob("*.py")}
    assert sizes and all(n <= 400 for n in sizes.values()), {p: n for p, n in sizes.items() if n > 400}


def test_only_the_named_wrappers_start_processes() -> None:
    """pipeline.read._exec (Tesseract, the parse child) and the diagnosis sandbox: nothing else in pipeline/."""
    starting = sorted(
        str(p.relative_to(PIPELINE)) for p in PIPELINE.rglob("*.py") if STARTS_A_PROCESS.search(p.read_text())
    )
    allowed = [s for s in starting if s.startswith("read/_exec/") or s == "verify/diagnose/_sandbox.py"]
    assert starting == allowed and "verify/diagnose/_sandbox.py" in starting, starting


def test_the_package_names_what_its_importers_use() -> None:
    for name in (
        "DEFAULT_MEMORY_BYTES",
        "DEFAULT_TIMEOUT_S",
        "MESSAGES",
        "Diagnosis",
        "Finding",
        "diagnose",
        "examine",
    ):
        assert hasattr(diagnose, name), name
    assert diagnose.diagnose.__module__ == "pipeline.verify.diagnose._sandbox"
