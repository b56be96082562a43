"""``ecopy eval``: read every document of a corpus, write one result per document, then score.

Reading and scoring are two separate passes. The reading pass sees only the scan files of each
document folder (``truth.json`` and other ``.json`` files are never opened); the results are
written first, and only then does the scoring pass open the truth files, if there are any.
The metric is the corpus's ``score.py`` metric, re-implemented here so that the score table can
be broken down per document type × profile and the field confidences can be calibrated.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from pipeline.errors import EcopyError
from pipeline.models import REVIEW_THRESHOLD, ExtractedFields, FieldValue, SourceFile
from pipeline.read.calibration import CalibrationTable, calibrate_fields
from pipeline.read.reader import ReadOptions, read_document

# Files in a document folder that are not scans.
_NOT_SCANS = {".json", ".txt", ".md", ".csv", ".yaml", ".yml"}


# ---- reading pass ----------------------------------------------------------------------------
def document_folders(corpus: Path) -> list[Path]:
    """Each sub-folder that holds at least one scan file, in name order."""
    return [d for d in sorted(corpus.iterdir()) if d.is_dir() and scan_files(d)]


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def scan_files(folder: Path) -> list[Path]:
    """The document's pages: every file but notes and ground truth, in natural order (page2 < page10)."""
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in _NOT_SCANS
        ),
        key=lambda p: _natural_key(p.name),
    )


def read_one(folder: Path, options: ReadOptions) -> dict[str, Any]:
    """The result of one document in the format ``score.py`` reads, plus confidences and timing."""
    started = time.monotonic()
    result: dict[str, Any] = {"doc_id": folder.name, "doc_type": None, "fields": {}, "text": []}
    try:
        files = [SourceFile(name=p.name, data=p.read_bytes()) for p in scan_files(folder)]
        read = read_document(files, options)
    except EcopyError as e:
        result["error"] = {"code": e.code, "message": e.message, "detail": e.detail}
    except Exception as e:  # a bug on one document must not end the evaluation
        result["error"] = {"code": "internal", "message": type(e).__name__, "detail": str(e)}
    else:
        result["doc_type"] = read.classification.doc_type
        result["doc_type_confidence"] = round(read.classification.confidence, 3)
        result["fields"] = read.fields.values()
        result["confidence"] = {k: round(f.confidence, 3) for k, f in read.fields.fields.items()}
        result["confirmed"] = sorted(k for k, f in read.fields.fields.items() if f.confirmed)
        scores = read.scores or read.fields
        result["score"] = {k: round(f.confidence, 3) for k, f in scores.fields.items()}  # before calibration
        result["text"] = [p.text for p in read.ocr.pages]
        words = [w.confidence for p in read.ocr.pages for w in p.words]
        result["ocr_confidence"] = round(sum(words) / len(words), 3) if words else 0.0
        result["pages"] = len(read.pages)
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def read_corpus(
    corpus: Path, out: Path, options: ReadOptions, jobs: int = 1, progress: Any = None
) -> list[dict[str, Any]]:
    """Read every document folder of ``corpus`` into ``out/<doc_id>.json``; ``jobs`` processes."""
    folders = document_folders(corpus)
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    executor = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
    try:
        mapped: Iterable[dict[str, Any]]
        if executor is None:
            mapped = (read_one(f, options) for f in folders)
        else:
            mapped = executor.map(read_one, folders, [options] * len(folders))
        for i, r in enumerate(mapped, 1):
            (out / f"{r['doc_id']}.json").write_text(json.dumps(r, ensure_ascii=False, indent=1), encoding="utf-8")
            results.append(r)
            if progress is not None:
                progress(i, len(folders), r)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    return results


# ---- scoring pass (the score.py metric) -------------------------------------------------------
_WS = re.compile(r"\s+")
_LEADER = re.compile(r"(?:[.…·] ?){4,}")


def norm(s: object) -> str:
    if s is None:
        return ""
    return _WS.sub(" ", unicodedata.normalize("NFC", s if isinstance(s, str) else str(s))).strip()


def field_equal(key: str, pred: object, truth: object) -> bool:
    p, t = norm(pred), norm(truth)
    return p == t if "name" in key else p.casefold() == t.casefold()


def doc_text(pages: object) -> str:
    if pages is None:
        return ""
    if not isinstance(pages, str):
        pages = " ".join("\n".join(map(str, p)) if isinstance(p, list) else str(p or "") for p in pages)  # type: ignore[attr-defined]
    return norm(_LEADER.sub(" ", unicodedata.normalize("NFC", pages)))


def cer(pred_pages: object, truth_pages: object) -> float:
    t, p = doc_text(truth_pages), doc_text(pred_pages)
    if not t:
        return 0.0 if not p else 1.0
    return Levenshtein.distance(p, t) / len(t)


@dataclass
class FieldOutcome:
    doc_id: str
    doc_type: str
    profile: str
    name: str
    predicted: str
    truth: str
    correct: bool
    confidence: float


@dataclass
class DocOutcome:
    doc_id: str
    doc_type: str
    profile: str
    type_correct: bool
    cer: float | None  # None: the truth has no text (real documents), so there is nothing to compare
    fields: list[FieldOutcome] = field(default_factory=list)


def score(results: Sequence[dict[str, Any]], corpus: Path) -> list[DocOutcome]:
    """Compare results with each folder's truth.json; a document without a result scores zero."""
    by_id = {r["doc_id"]: r for r in results}
    out: list[DocOutcome] = []
    for folder in sorted(corpus.iterdir()):
        truth_file = folder / "truth.json"
        if not truth_file.is_file():
            continue
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        doc_id = truth.get("doc_id", folder.name)
        r = by_id.get(doc_id, {})
        doc = DocOutcome(
            doc_id=doc_id,
            doc_type=truth["doc_type"],
            profile=truth.get("profile", "?"),
            type_correct=r.get("doc_type") == truth["doc_type"],
            cer=None if "text" not in truth else cer(r.get("text"), truth.get("text")) if r else 1.0,
        )
        fields, confidence = r.get("fields") or {}, r.get("confidence") or {}
        for name, value in truth.get("fields", {}).items():
            predicted = fields.get(name)
            doc.fields.append(
                FieldOutcome(
                    doc_id,
                    doc.doc_type,
                    doc.profile,
                    name,
                    norm(predicted),
                    norm(value),
                    predicted is not None and field_equal(name, predicted, value),
                    float(confidence.get(name, 0.0)) if predicted is not None else 0.0,
                )
            )
        out.append(doc)
    return out


@dataclass(frozen=True)
class Calibration:
    threshold: float
    wrong_flagged: float  # share of the wrong fields whose confidence is below the threshold
    right_flagged: float  # share of the right fields below it (work for the clerk for nothing)
    wrong: int
    right: int


def calibrate(fields: Sequence[FieldOutcome], threshold: float) -> Calibration:
    wrong = [f for f in fields if not f.correct]
    right = [f for f in fields if f.correct]
    return Calibration(
        threshold,
        sum(f.confidence < threshold for f in wrong) / len(wrong) if wrong else 1.0,
        sum(f.confidence < threshold for f in right) / len(right) if right else 0.0,
        len(wrong),
        len(right),
    )


@dataclass(frozen=True)
class Row:
    label: str
    docs: int
    doctype: float
    fields: int
    field_acc: float
    cer: float | None


def _row(label: str, docs: Sequence[DocOutcome]) -> Row:
    fields = [f for d in docs for f in d.fields]
    cers = [d.cer for d in docs if d.cer is not None]
    return Row(
        label,
        len(docs),
        sum(d.type_correct for d in docs) / len(docs),
        len(fields),
        sum(f.correct for f in fields) / len(fields) if fields else 1.0,
        sum(cers) / len(cers) if cers else None,
    )


def _cer(value: float | None, width: int = 7) -> str:
    return f"{'—':>{width}}" if value is None else f"{value:>{width}.4f}"


@dataclass(frozen=True)
class Bin:
    """Fields whose confidence is in [low, high): what was predicted against what was observed."""

    low: float
    high: float
    n: int
    predicted: float  # mean confidence
    observed: float  # share right


DECILES = tuple(k / 10 for k in range(11))


def calibration_bins(fields: Sequence[FieldOutcome], edges: Sequence[float] = DECILES) -> list[Bin]:
    """Per decile of confidence: mean predicted confidence against the observed right rate.

    A confidence is honest when the two agree in every bin; empty bins are left out.
    """
    out: list[Bin] = []
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        last = k == len(edges) - 2
        sel = [f for f in fields if lo <= f.confidence < hi or (last and f.confidence == hi)]
        if sel:
            out.append(
                Bin(lo, hi, len(sel), sum(f.confidence for f in sel) / len(sel), sum(f.correct for f in sel) / len(sel))
            )
    return out


def expected_calibration_error(bins: Sequence[Bin]) -> float:
    total = sum(b.n for b in bins)
    return sum(b.n * abs(b.predicted - b.observed) for b in bins) / total if total else 0.0


def confidently_wrong(fields: Sequence[FieldOutcome], threshold: float) -> list[FieldOutcome]:
    """Wrong fields no clerk would be asked to look at: what an archive batch would issue unseen."""
    return sorted((f for f in fields if not f.correct and f.confidence >= threshold), key=lambda f: -f.confidence)


@dataclass(frozen=True)
class FieldRow:
    doc_type: str
    name: str
    n: int
    accuracy: float
    flagged: float  # share below the review threshold
    confident_wrong: int


def per_field(fields: Sequence[FieldOutcome], threshold: float) -> list[FieldRow]:
    groups: dict[tuple[str, str], list[FieldOutcome]] = defaultdict(list)
    for f in fields:
        groups[(f.doc_type, f.name)].append(f)
    return [
        FieldRow(
            t,
            n,
            len(sel),
            sum(f.correct for f in sel) / len(sel),
            sum(f.confidence < threshold for f in sel) / len(sel),
            len(confidently_wrong(sel, threshold)),
        )
        for (t, n), sel in sorted(groups.items())
    ]


def table(docs: Sequence[DocOutcome], key: str) -> list[Row]:
    groups: dict[str, list[DocOutcome]] = defaultdict(list)
    for d in docs:
        groups[getattr(d, key)].append(d)
    return [_row(k, groups[k]) for k in sorted(groups)] + [_row("TOTAL", docs)]


def format_report(docs: Sequence[DocOutcome], results: Sequence[dict[str, Any]], threshold: float) -> str:
    lines: list[str] = []

    def emit_table(title: str, rows: list[Row]) -> None:
        lines.append(f"\n{title}")
        lines.append(f"  {'':<22} {'docs':>4} {'type':>6} {'fields':>6} {'field acc':>9} {'CER':>7}")
        for r in rows:
            lines.append(
                f"  {r.label:<22} {r.docs:>4} {r.doctype:>6.3f} {r.fields:>6} {r.field_acc:>9.3f} {_cer(r.cer)}"
            )

    emit_table("Per profile", table(docs, "profile"))
    emit_table("Per document type", table(docs, "doc_type"))

    # doc type × profile: field accuracy (CER) per cell
    types = sorted({d.doc_type for d in docs})
    profiles = sorted({d.profile for d in docs})
    lines.append("\nField accuracy / CER, document type × profile")
    lines.append("  " + f"{'':<21}" + "".join(f"{p[:14]:>16}" for p in profiles))
    for t in types:
        cells = []
        for p in profiles:
            sel = [d for d in docs if d.doc_type == t and d.profile == p]
            if not sel:
                cells.append(f"{'—':>16}")
                continue
            r = _row("", sel)
            cells.append(f"{f'{r.field_acc:.2f} / ' + ('—' if r.cer is None else f'{r.cer:.3f}'):>16}")
        lines.append(f"  {t:<21}" + "".join(cells))

    fields = [f for d in docs for f in d.fields]
    cal = calibrate(fields, threshold)
    lines.append(
        f"\nConfidence (review threshold {threshold:.2f}): {cal.wrong_flagged:.1%} of the {cal.wrong} wrong fields "
        f"are flagged, {cal.right_flagged:.1%} of the {cal.right} right fields are flagged"
    )
    sweep = [calibrate(fields, t) for t in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)]
    lines.append(
        "  other thresholds (wrong flagged / right flagged): "
        + ", ".join(f"{c.threshold:.2f}: {c.wrong_flagged:.0%} / {c.right_flagged:.0%}" for c in sweep)
    )
    lines.append("\nCalibration per decile of confidence (predicted = mean confidence, observed = share right)")
    lines.append(f"  {'confidence':<12} {'fields':>6} {'predicted':>9} {'observed':>8}")
    bins = calibration_bins(fields)
    for b in bins:
        lines.append(f"  {f'{b.low:.1f}–{b.high:.1f}':<12} {b.n:>6} {b.predicted:>9.3f} {b.observed:>8.3f}")
    lines.append(f"  expected calibration error {expected_calibration_error(bins):.3f}")

    lines.append(f"\nPer field (flagged = below {threshold:.2f}; confident wrong = wrong at or above it)")
    lines.append(f"  {'type':<21} {'field':<26} {'n':>4} {'accuracy':>8} {'flagged':>7} {'conf.wrong':>10}")
    for fr in per_field(fields, threshold):
        lines.append(
            f"  {fr.doc_type:<21} {fr.name:<26} {fr.n:>4} {fr.accuracy:>8.3f} "
            f"{fr.flagged:>7.1%} {fr.confident_wrong:>10}"
        )

    sure_wrong = confidently_wrong(fields, threshold)
    share = len(sure_wrong) / len(fields) if fields else 0.0
    lines.append(
        f"\nConfidently wrong (wrong with confidence ≥ {threshold:.2f}): {len(sure_wrong)} of {len(fields)} fields "
        f"({share:.2%}; the goal is at most 0.5 %)"
    )
    for f in sure_wrong:
        lines.append(
            f"  {f.doc_id} [{f.profile}] {f.doc_type}.{f.name} {f.confidence:.2f} {f.predicted!r} → {f.truth!r}"
        )
    wrong = [f for f in fields if not f.correct and f.confidence < threshold]
    if wrong:
        lines.append("\nOther wrong fields, flagged for review (confidence, read → truth):")
        for f in sorted(wrong, key=lambda f: (f.doc_type, f.name, f.doc_id)):
            lines.append(f"    {f.doc_id} {f.name:<24} {f.confidence:.2f} {f.predicted!r} → {f.truth!r}")
    failed = [r for r in results if r.get("error")]
    if failed:
        lines.append("\nDocuments that could not be read:")
        for res in failed:
            lines.append(f"  {res['doc_id']}: {res['error']['code']} {res['error']['message']}")
    total = _row("", docs)
    lines.append(
        f"\nfield_accuracy={total.field_acc:.3f} cer={'n/a' if total.cer is None else f'{total.cer:.4f}'} "
        f"doctype_accuracy={total.doctype:.3f} wrong_flagged={cal.wrong_flagged:.3f} "
        f"right_flagged={cal.right_flagged:.3f} confident_wrong={share:.4f}"
    )
    return "\n".join(lines)


def load_results(out: Path) -> list[dict[str, Any]]:
    """Results an earlier run wrote (``--score-only``: change the scoring, not the reading)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.json"))]


def recalibrate(result: dict[str, Any], table: CalibrationTable | None) -> dict[str, Any]:
    """A result's confidences recomputed from its scores with ``table``: what the reader would now
    give, without reading again (the calibration is the last step and depends on nothing else)."""
    scores = result.get("score")
    if not scores or not result.get("doc_type"):
        return result
    confirmed = set(result.get("confirmed") or ())
    fields = ExtractedFields(
        result["doc_type"],
        {
            k: FieldValue(k, str(result["fields"].get(k, "")), float(v), confirmed=k in confirmed)
            for k, v in scores.items()
        },
    )
    calibrated = calibrate_fields(fields, table)
    return {**result, "confidence": {k: round(f.confidence, 3) for k, f in calibrated.fields.items()}}


def report_data(docs: Sequence[DocOutcome], threshold: float) -> dict[str, Any]:
    """The figures of the printed report, for ``--report FILE`` (JSON)."""
    fields = [f for d in docs for f in d.fields]
    cal = calibrate(fields, threshold)
    bins = calibration_bins(fields)
    total = _row("TOTAL", docs)
    return {
        "threshold": threshold,
        "overall": dataclasses.asdict(total),
        "per_profile": [dataclasses.asdict(r) for r in table(docs, "profile")],
        "per_doc_type": [dataclasses.asdict(r) for r in table(docs, "doc_type")],
        "per_type_profile": [
            {"doc_type": t, "profile": p, **dataclasses.asdict(_row(f"{t}/{p}", sel))}
            for t in sorted({d.doc_type for d in docs})
            for p in sorted({d.profile for d in docs})
            if (sel := [d for d in docs if d.doc_type == t and d.profile == p])
        ],
        "flagging": dataclasses.asdict(cal),
        "calibration": [dataclasses.asdict(b) for b in bins],
        "ece": expected_calibration_error(bins),
        "per_field": [dataclasses.asdict(r) for r in per_field(fields, threshold)],
        "confidently_wrong": [dataclasses.asdict(f) for f in confidently_wrong(fields, threshold)],
        "confident_wrong_share": len(confidently_wrong(fields, threshold)) / len(fields) if fields else 0.0,
    }


# ---- the command -------------------------------------------------------------------------------
def run(
    corpus: Path,
    out: Path,
    options: ReadOptions,
    jobs: int | None = None,
    quiet: bool = False,
    score_only: bool = False,
    report: Path | None = None,
) -> int:
    if not corpus.is_dir():
        print(f"Không tìm thấy thư mục {corpus}.", file=sys.stderr)
        return 2
    jobs = jobs or os.cpu_count() or 1
    started = time.monotonic()

    def progress(i: int, n: int, r: dict[str, Any]) -> None:
        if quiet:
            return
        status = r["error"]["code"] if r.get("error") else r["doc_type"]
        print(f"[{i}/{n}] {r['doc_id']}: {status} ({r['seconds']:.1f} s)", file=sys.stderr, flush=True)

    if score_only:
        results = [recalibrate(r, options.calibration) for r in load_results(out)]
        print(
            f"Chấm lại {len(results)} kết quả đã có ở {out} (không đọc lại; độ tin cậy theo bảng hiệu chỉnh hiện tại)."
        )
    else:
        results = read_corpus(corpus, out, options, jobs=jobs, progress=progress)
        elapsed = time.monotonic() - started
        pages = sum(r.get("pages", 0) for r in results)
        print(
            f"Đã đọc {len(results)} tài liệu ({pages} trang) trong {elapsed:.0f} s với {jobs} tiến trình "
            f"({pages / elapsed * 60 if elapsed else 0:.1f} trang/phút); kết quả ở {out}"
        )
    docs = score(results, corpus)
    if not docs:
        print("Không có truth.json: không chấm điểm.")
        return 0
    print(format_report(docs, results, REVIEW_THRESHOLD))
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            json.dumps(report_data(docs, REVIEW_THRESHOLD), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    return 0
