"""Which kind of document is this? Scored on titles and form labels, tolerant to OCR errors.

A title counts when a whole line reads like it (a letter that *mentions* "giấy khai sinh" in its
body is still a letter); form labels count when found anywhere. Letters are the fallback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.models import DOC_TYPES, Classification, OcrResult
from pipeline.read.extract.common import TextLine, collapse, document_lines, find_fuzzy, fold, levenshtein

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cue:
    text: str
    weight: float
    whole_line: bool = False  # a title: the line must read as this and little else


CUES: dict[str, tuple[Cue, ...]] = {
    "cccd_front": (
        Cue("CĂN CƯỚC CÔNG DÂN", 3.0, whole_line=True),
        Cue("CĂN CƯỚC", 2.0, whole_line=True),
        Cue("Citizen Identity Card", 2.0, whole_line=True),
        Cue("Identity Card", 1.0),
        Cue("Place of origin", 1.0),
        Cue("Place of residence", 1.0),
        Cue("Date of expiry", 1.0),
        Cue("Có giá trị đến", 1.0),
    ),
    "birth_certificate": (
        Cue("GIẤY KHAI SINH", 3.0, whole_line=True),
        Cue("Họ, chữ đệm, tên người đi khai sinh", 1.0),
        Cue("Nơi đăng ký khai sinh", 1.0),
        Cue("NGƯỜI KÝ GIẤY KHAI SINH", 1.0),
        Cue("Ghi bằng chữ", 1.0),
    ),
    "marriage_certificate": (
        Cue("GIẤY CHỨNG NHẬN KẾT HÔN", 3.0, whole_line=True),
        Cue("Nơi đăng ký kết hôn", 1.0),
        Cue("Thông tin Chồng Vợ", 1.0),
        Cue("Chồng Vợ", 0.5),
    ),
    "diploma": (
        Cue("BẰNG TỐT NGHIỆP", 3.0, whole_line=True),
        Cue("BẰNG CỬ NHÂN", 3.0, whole_line=True),
        Cue("BẰNG KỸ SƯ", 2.0, whole_line=True),
        Cue("BẰNG THẠC SĨ", 2.0, whole_line=True),
        Cue("CÔNG NHẬN TỐT NGHIỆP", 1.0),
        Cue("Số vào sổ cấp bằng", 1.0),
        Cue("Xếp loại tốt nghiệp", 1.0),
        Cue("Năm tốt nghiệp", 1.0),
    ),
    "generic_letter": (
        Cue("Kính gửi", 1.5),
        Cue("Nơi nhận", 1.5),
        Cue("V/v", 1.0),
    ),
}

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
    for doc_type in DOC_TYPES:
        scores[doc_type] = sum(c.weight for c in CUES.get(doc_type, ()) if _cue_found(c, lines))
    specific = {k: v for k, v in scores.items() if k != "generic_letter"}
    best = max(specific, key=lambda k: specific[k])
    if specific[best] >= MIN_SCORE and specific[best] >= scores["generic_letter"]:
        doc_type = best
    else:
        doc_type = "generic_letter"
    ranked = sorted(scores.values(), reverse=True)
    top, runner_up = scores[doc_type], (ranked[1] if ranked[0] == scores[doc_type] else ranked[0])
    confidence = top / (top + runner_up) if top + runner_up > 0 else 0.3
    if doc_type == "generic_letter" and top == 0:
        confidence = 0.3  # nothing recognised at all: a guess, the clerk must choose
    log.info("classified as %s (%.2f) %s", doc_type, confidence, scores)
    return Classification(doc_type=doc_type, confidence=round(confidence, 3), scores=scores)
