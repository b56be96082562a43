"""Which kind of document is this? Scored on titles and form labels, tolerant to OCR errors; and
``UNKNOWN`` when no catalogue type is clearly it.

A title counts when a whole line reads like it (a letter that *mentions* "giấy khai sinh" in its
body is still a letter); form labels count when found anywhere. Each type's cues are its own
(``DocType.cues`` in :mod:`pipeline.read.doctypes`), the letter's included: nothing is a letter by
default any more, since a wrong type certifies a wrong legal title.

The answer is ``UNKNOWN`` when the best score is weak (below ``MIN_SCORE``) or the best two types
are close (``MIN_MARGIN``): a person then names the type. Both sides of a two-sided type found
(an ID card's front and back, on two pages or on one) make that type.

``Classification.confidence`` is a probability measured on rendered documents of every catalogue
type and documents outside it (``tests/support/catalogue_docs.py``, table in
``tests/read/test_catalogue.py``): by the margin between the best two scores, how often the answer
was right.
"""

from __future__ import annotations

import logging
import re

from pipeline.models import Classification, OcrResult
from pipeline.read.doctypes.contract import Cue
from pipeline.read.doctypes.registry import DOCTYPES, UNKNOWN
from pipeline.read.text.lines import TextLine, collapse, document_lines, find_fuzzy, fold, levenshtein

log = logging.getLogger(__name__)


MIN_SCORE = 3.0  # below this for every type, the document is not recognised (one label, or a header, is not enough)
MIN_MARGIN = 2.0  # the best type must lead the next by this much, else it is not recognised
_TITLE_SIMILARITY = 0.8

# Measured on 154 rendered documents (20 kinds, 4 scan profiles; catalogue_docs.py seeds 1-8), as
# (right + 1) / (answers + 2) per bucket, so that a bucket of few answers is not called sure:
# (the best type's lead over the next at least, probability). The first row reached gives it.
CALIBRATION: tuple[tuple[float, float], ...] = ((5.0, 0.98), (3.0, 0.94), (MIN_MARGIN, 0.67), (-1e9, 0.5))
TWO_SIDED_CONFIDENCE = 0.94  # both sides, each recognised on its own page: 14 of 14 right
# An UNKNOWN answer: how often a document so answered was in fact outside the catalogue, by best
# score (a low-resolution card whose cues were half read is the usual catalogue document here).
UNKNOWN_CONFIDENCE: tuple[tuple[float, float], ...] = ((2.0, 0.62), (0.01, 0.82), (0.0, 0.96))


def _line_similarity(line: str, title: str) -> float:
    a, b = collapse(line), collapse(title)
    return 1.0 - levenshtein(a, b) / max(len(a), len(b), 1)


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


def _cue_found(cue: Cue, lines: list[TextLine]) -> bool:
    if cue.pattern:
        rx = re.compile(cue.text)
        return any(rx.search(ln.folded) for ln in lines)
    pattern = collapse(fold(cue.text))
    for ln in lines:
        if cue.whole_line:
            # Titles are printed in capitals; the same words in running text are not a title.
            if _is_upper(ln.text) == _is_upper(cue.text) and _line_similarity(ln.folded, pattern) >= _TITLE_SIMILARITY:
                return True
        elif (not cue.capitals or _is_upper(ln.text)) and find_fuzzy(ln.folded, pattern):
            return True
    return False


def scores(lines: list[TextLine]) -> dict[str, float]:
    """Each catalogue type's score on ``lines``: the weights of its cues found."""
    return {doc.name: sum(c.weight for c in doc.cues if _cue_found(c, lines)) for doc in DOCTYPES.values()}


def _two_sided(found: set[str]) -> str | None:
    """The two-sided type whose sides are exactly the types ``found``, if any."""
    return next((d.name for d in DOCTYPES.values() if d.sides and set(d.sides) == found), None)


def _is_a_side(name: str) -> bool:
    """A card's side: a document of more pages than sides recognised may hold its other side unread
    (a front with a back no cue was read on is not a front alone: a person says what it is)."""
    return any(name in d.sides for d in DOCTYPES.values())


def _lookup(table: tuple[tuple[float, float], ...], value: float) -> float:
    return next((p for at_least, p in table if value >= at_least), table[-1][1])


def classify(ocr: OcrResult) -> Classification:
    lines = document_lines(ocr)
    scored = scores(lines)
    ranked = sorted(scored, key=lambda k: scored[k], reverse=True)
    best, second = ranked[0], ranked[1]
    top, lead = scored[best], scored[best] - scored[second]

    # An ID card's front and back (two pages, or both on one page): each side read on its own.
    by_page = {pg: scores([ln for ln in lines if ln.page == pg]) for pg in sorted({ln.page for ln in lines})}
    sides: set[str] = set()
    recognised = 0  # pages one type clearly claims
    for page_scores in by_page.values():
        page_best = max(page_scores, key=lambda k: page_scores[k])
        rest = max((v for k, v in page_scores.items() if k != page_best), default=0.0)
        if page_scores[page_best] >= MIN_SCORE and page_scores[page_best] - rest >= MIN_MARGIN:
            sides.add(page_best)
            recognised += 1
    strong = {k for k, v in scored.items() if v >= MIN_SCORE}
    by_pages = _two_sided(sides) if len(sides) > 1 else None
    both = by_pages or (_two_sided({best, second}) if {best, second} <= strong else None)
    if both is not None:
        side_lead = min(scored[s] for s in DOCTYPES[both].sides) - max(
            (v for k, v in scored.items() if k not in DOCTYPES[both].sides), default=0.0
        )
        doc_type, confidence = both, TWO_SIDED_CONFIDENCE if by_pages else _lookup(CALIBRATION, side_lead)
    elif top >= MIN_SCORE and lead >= MIN_MARGIN and not (_is_a_side(best) and recognised < len(by_page)):
        doc_type, confidence = best, _lookup(CALIBRATION, lead)
    else:
        doc_type, confidence = UNKNOWN, _lookup(UNKNOWN_CONFIDENCE, top)
    log.info("classified as %s (%.2f) %s", doc_type, confidence, {k: v for k, v in scored.items() if v})
    return Classification(doc_type=doc_type, confidence=round(confidence, 3), scores=scored)
