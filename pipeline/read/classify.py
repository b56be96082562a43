"""Which kind of document is this? Scored on titles and form labels, tolerant to OCR errors.

A title counts when a whole line reads like it (a letter that *mentions* "giấy khai sinh" in its
body is still a letter); form labels count when found anywhere. Letters are the fallback. Each type's cues are its own
(``DocType.cues`` in :mod:`pipeline.read.doctypes`).
"""

from __future__ import annotations

import logging

from pipeline.models import Classification, OcrResult
from pipeline.read.doctypes.contract import Cue
from pipeline.read.doctypes.registry import DOCTYPES, FALLBACK
from pipeline.read.text.lines import TextLine, collapse, document_lines, find_fuzzy, fold, levenshtein

log = logging.getLogger(__name__)


MIN_SCORE = 2.0  # below this for every specific type, the document is read as a letter
_TITLE_SIMILARITY = 0.8


def _line_similarity(line: str, title: str) -> float:
    a, b = collapse(line), collapse(title)
    return 1.0 - levenshtein(a, b) / max(len(a), len(b), 1)


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


def _cue_found(cue: Cue, lines: list[TextLine]) -> bool:
    pattern = collapse(fold(cue.text))
    for ln in lines:
        if cue.whole_line:
            # Titles are printed in capitals; the same words in running text are not a title.
            if _is_upper(ln.text) == _is_upper(cue.text) and _line_similarity(ln.folded, pattern) >= _TITLE_SIMILARITY:
                return True
        elif find_fuzzy(ln.folded, pattern):
            return True
    return False


def classify(ocr: OcrResult) -> Classification:
    lines = document_lines(ocr)
    scores: dict[str, float] = {}
    for doc in DOCTYPES.values():
        scores[doc.name] = sum(c.weight for c in doc.cues if _cue_found(c, lines))
    specific = {k: v for k, v in scores.items() if k != FALLBACK}
    best = max(specific, key=lambda k: specific[k])
    if specific[best] >= MIN_SCORE and specific[best] >= scores[FALLBACK]:
        doc_type = best
    else:
        doc_type = FALLBACK
    ranked = sorted(scores.values(), reverse=True)
    top, runner_up = scores[doc_type], (ranked[1] if ranked[0] == scores[doc_type] else ranked[0])
    confidence = top / (top + runner_up) if top + runner_up > 0 else 0.3
    if doc_type == FALLBACK and top == 0:
        confidence = 0.3  # nothing recognised at all: a guess, the clerk must choose
    log.info("classified as %s (%.2f) %s", doc_type, confidence, scores)
    return Classification(doc_type=doc_type, confidence=round(confidence, 3), scores=scores)
