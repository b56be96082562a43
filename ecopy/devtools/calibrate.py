"""``ecopy calibrate``: fit the table that turns field scores into measured probabilities.

Input: corpora read by ``ecopy eval`` (each result keeps the extractors' own ``score`` beside the
calibrated ``confidence``). Fit on generated documents you did not develop the reader on, and
check the table with ``ecopy eval`` on yet other documents: a table judged on the documents it
was fitted on proves nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ecopy.devtools.evaluate import load_results, score
from pipeline.read.calibration import TABLE_FILE, Sample, fit_table


def samples(corpus: Path, results_dir: Path) -> list[Sample]:
    """One sample per truth field of each document that was read as its true type."""
    results = load_results(results_dir)
    confirmed = {r["doc_id"]: set(r.get("confirmed") or ()) for r in results}
    scored = [{**r, "confidence": r.get("score", r.get("confidence") or {})} for r in results]
    out: list[Sample] = []
    for doc in score(scored, corpus):
        if not doc.type_correct:  # a wrong type's fields say nothing about that type's reading
            continue
        for f in doc.fields:
            out.append(Sample(f.doc_type, f.name, f.confidence, f.name in confirmed.get(doc.doc_id, ()), f.correct))
    return out


def run(pairs: Sequence[str], out: Path | None = None, note: str = "") -> int:
    collected: list[Sample] = []
    for pair in pairs:
        corpus, _, results = pair.partition("=")
        if not results:
            print(f"Cần CORPUS_DIR=RESULTS_DIR, nhận được {pair!r}.", file=sys.stderr)
            return 2
        got = samples(Path(corpus), Path(results))
        print(f"{corpus}: {len(got)} trường")
        collected += got
    if not collected:
        print("Không có trường nào để hiệu chỉnh.", file=sys.stderr)
        return 2
    table = fit_table(collected, fitted_on=note or ", ".join(pairs))
    target = out or TABLE_FILE
    target.write_text(table.to_json() + "\n", encoding="utf-8")
    print(f"Đã ghi bảng hiệu chỉnh ({len(table.rows)} hàng, {len(collected)} trường) vào {target}")
    return 0
