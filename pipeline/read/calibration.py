"""Field confidences that are probabilities someone measured.

An extractor's confidence is a score: OCR word confidences, held down by failed validators and
raised by cross-checks. How often a field with a given score is right depends on the field (a
date with a check is surer than a place cut at a line wrap). The calibration table maps each
score to the share of fields that were right with that score, per field, on generated documents
the reader was not developed on (``ecopy calibrate``, see ``ecopy/devtools/calibrate.py``).

The table has one row per key: ``<doc_type>.<field>``, then ``<doc_type>.*`` and ``*`` (used for a
field or a type the table has not seen), and ``confirmed`` for fields a second source agreed
with. Each row is the observed right rate per bin of the score; rows were shrunk towards their
parent where they had few fields and made non-decreasing, so a higher score never means a lower
probability. A bin with no data keeps the parent's value.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.models import ExtractedFields

log = logging.getLogger(__name__)

TABLE_FILE = Path(__file__).with_name("calibration.json")
ANY_FIELD = "*"
CONFIRMED = "confirmed"


@dataclass(frozen=True)
class CalibrationTable:
    edges: tuple[float, ...]  # bin i holds scores in [edges[i], edges[i+1]); the last bin includes 1.0
    rows: Mapping[str, tuple[float, ...]]  # key → right rate per bin
    fitted_on: str = ""

    def bin_of(self, score: float) -> int:
        return min(max(bisect.bisect_right(self.edges, score) - 1, 0), len(self.edges) - 2)

    def row_for(self, doc_type: str, name: str, confirmed: bool) -> tuple[float, ...] | None:
        keys = ([CONFIRMED] if confirmed else []) + [f"{doc_type}.{name}", f"{doc_type}.{ANY_FIELD}", ANY_FIELD]
        return next((self.rows[k] for k in keys if k in self.rows), None)

    def probability(self, doc_type: str, name: str, score: float, confirmed: bool = False) -> float:
        """The right rate measured for such a score of such a field, never above the score itself.

        An extractor that doubted a value (a repair, a failed check, a cut line) keeps its doubt
        even where such doubts were often unfounded: the clerk looks, and a wrong value the doubt
        caught is not let through because most doubted values were right.
        """
        row = self.row_for(doc_type, name, confirmed)
        return score if row is None else min(score, row[self.bin_of(score)])

    def to_json(self) -> str:
        return json.dumps(
            {
                "fitted_on": self.fitted_on,
                "edges": list(self.edges),
                "rows": {k: list(v) for k, v in self.rows.items()},
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> CalibrationTable:
        data = json.loads(text)
        edges = tuple(float(e) for e in data["edges"])
        rows = {str(k): tuple(float(x) for x in v) for k, v in data["rows"].items()}
        if any(len(v) != len(edges) - 1 for v in rows.values()):
            raise ValueError("calibration table: every row needs one value per bin")
        return cls(edges=edges, rows=rows, fitted_on=str(data.get("fitted_on", "")))


@functools.cache
def default_table() -> CalibrationTable | None:
    """The table shipped beside this module, or None (scores are then used as they are)."""
    try:
        return CalibrationTable.from_json(TABLE_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.warning("no calibration table at %s: field confidences are uncalibrated scores", TABLE_FILE)
        return None


def calibrate_fields(fields: ExtractedFields, table: CalibrationTable | None) -> ExtractedFields:
    """Each field's score replaced by the right rate measured for such a score of such a field."""
    if table is None:
        return fields
    out = {
        name: dataclasses.replace(f, confidence=table.probability(fields.doc_type, name, f.confidence, f.confirmed))
        for name, f in fields.fields.items()
    }
    return dataclasses.replace(fields, fields=out)


# ---- fitting (used by ``ecopy calibrate``; kept here so the table's meaning lives in one place) ----
@dataclass(frozen=True)
class Sample:
    doc_type: str
    name: str
    score: float
    confirmed: bool
    correct: bool


DEFAULT_EDGES: tuple[float, ...] = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 1.0)


def _pool_adjacent_violators(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The closest non-decreasing sequence (weighted least squares): isotonic regression."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for v, w in zip(values, weights, strict=True):
        blocks.append([v, max(w, 1e-9), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return [b[0] for b in blocks for _ in range(int(b[2]))]


def _fit_row(
    samples: Sequence[Sample], edges: Sequence[float], parent: Sequence[float], strength: float
) -> tuple[float, ...]:
    """Right rate per bin, shrunk towards ``parent`` by ``strength`` pseudo-fields, then monotone."""
    bins = len(edges) - 1
    hits, counts = [0.0] * bins, [0.0] * bins
    for s in samples:
        k = min(max(bisect.bisect_right(edges, s.score) - 1, 0), bins - 1)
        counts[k] += 1
        hits[k] += s.correct
    rates = [(hits[k] + strength * parent[k]) / (counts[k] + strength) for k in range(bins)]
    return tuple(round(v, 4) for v in _pool_adjacent_violators(rates, [c + strength for c in counts]))


def fit_table(
    samples: Sequence[Sample],
    edges: Sequence[float] = DEFAULT_EDGES,
    strength: float = 8.0,
    min_fields: int = 20,
    fitted_on: str = "",
) -> CalibrationTable:
    """Rows for every field and type with at least ``min_fields`` samples, each shrunk towards its parent.

    The root's parent is the score itself (a bin's midpoint): with no data, a score is taken at its word.
    """
    mids = [(lo + hi) / 2 for lo, hi in itertools.pairwise(edges)]
    rows: dict[str, tuple[float, ...]] = {}
    plain = [s for s in samples if not s.confirmed]
    rows[ANY_FIELD] = _fit_row(plain, edges, mids, strength)
    confirmed = [s for s in samples if s.confirmed]
    if len(confirmed) >= min_fields:
        rows[CONFIRMED] = _fit_row(confirmed, edges, rows[ANY_FIELD], strength)
    for doc_type in sorted({s.doc_type for s in plain}):
        of_type = [s for s in plain if s.doc_type == doc_type]
        if len(of_type) < min_fields:
            continue
        type_row = rows[f"{doc_type}.{ANY_FIELD}"] = _fit_row(of_type, edges, rows[ANY_FIELD], strength)
        for name in sorted({s.name for s in of_type}):
            of_field = [s for s in of_type if s.name == name]
            if len(of_field) >= min_fields:
                rows[f"{doc_type}.{name}"] = _fit_row(of_field, edges, type_row, strength)
    return CalibrationTable(edges=tuple(edges), rows=rows, fitted_on=fitted_on)
