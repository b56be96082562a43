"""Where the shared dev corpus is: beside the repository (as in CI), or ECOPY_TEST_CORPUS."""

from __future__ import annotations

import json
import os
from pathlib import Path

CORPUS_DIR = Path(
    os.environ.get("ECOPY_TEST_CORPUS") or Path(__file__).resolve().parents[3] / "shared" / "corpus" / "dev"
)


def corpus_doc(doc_id: str) -> tuple[list[Path], dict[str, object]]:
    """The scan files and the truth of one corpus document; a missing corpus fails, never skips."""
    folder = CORPUS_DIR / doc_id
    if not folder.is_dir():
        raise FileNotFoundError(
            f"corpus document {folder} is missing: the tests need ../shared/corpus/dev "
            "beside the repository (or set ECOPY_TEST_CORPUS)"
        )
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    return [folder / f for f in truth["files"]], truth
