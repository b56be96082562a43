"""A second reading of the fields ecopy is sure of, by another OCR model.

Tesseract's confidence does not see its worst mistakes: a wrong tone mark ("Thường Tin" for
"Thường Tín", "Trâu Quy" for "Trâu Quỳ") comes out at 0.95. Two models trained differently
rarely make the same slip, so the regions behind every confident field are read again with
the second model (``4.0.0_best_int`` by default, see the Makefile) in one tesseract call: the
regions are stacked into one strip image. Where the second model reads the same letters with
other marks, the field is sent to review. Nothing is *corrected* here: which of two readings
is right is the clerk's call.

Only tone marks and letter case are compared: a token the second model reads as other letters
(a date split differently, a garbled word) is no evidence either way.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.errors import OcrError
from pipeline.models import REVIEW_THRESHOLD, ExtractedFields, FieldValue, Page
from pipeline.read._exec.tesseract import TesseractOptions, image_to_words
from pipeline.read.ocr import OcrOptions, clean_word, prepare_for_ocr
from pipeline.read.text.lines import fold

log = logging.getLogger(__name__)

_GAP = 24  # white pixels between two stacked regions
_PUNCT = ".,;:()[]\"'!?"


@dataclass(frozen=True)
class SecondOpinion:
    tessdata_dir: str  # holds the second model's <lang>.traineddata (and configs/, see the Makefile)
    lang: str = "vie"
    threshold: float = REVIEW_THRESHOLD  # only fields at or above it are read again
    disagreed: float = 0.6  # a field's confidence when the two models disagree
    timeout: float = 60.0


def tokens(text: str) -> list[str]:
    return [t.strip(_PUNCT) for t in text.split() if t.strip(_PUNCT)]


def disagreement(value: str, second: str) -> tuple[str, str] | None:
    """A word of ``value`` that the second reading has with the same letters but other marks."""
    seen: dict[str, set[str]] = {}
    for t in tokens(second):
        seen.setdefault(fold(t), set()).add(t.casefold())
    for t in tokens(value):
        other = seen.get(fold(t))
        if other is not None and t.casefold() not in other:
            return t, sorted(other)[0]
    return None


@dataclass(frozen=True)
class _Region:
    name: str
    top: int  # in the stacked image
    bottom: int


def _stack(crops: Sequence[tuple[str, np.ndarray]]) -> tuple[np.ndarray, list[_Region]]:
    width = max(c.shape[1] for _, c in crops) + 2 * _GAP
    height = sum(c.shape[0] + _GAP for _, c in crops) + _GAP
    canvas = np.full((height, width), 255, dtype=np.uint8)
    regions: list[_Region] = []
    y = _GAP
    for name, crop in crops:
        h, w = crop.shape
        canvas[y : y + h, _GAP : _GAP + w] = crop
        regions.append(_Region(name, y, y + h))
        y += h + _GAP
    return canvas, regions


def check_fields(
    pages: Sequence[Page], fields: ExtractedFields, ocr_options: OcrOptions, opinion: SecondOpinion
) -> ExtractedFields:
    """``fields`` with the confidence of each confident field the second model reads otherwise lowered."""
    started = time.monotonic()
    by_page = {p.index: p for p in pages}
    todo = [
        f
        for f in fields.fields.values()
        if f.confidence >= opinion.threshold and not f.confirmed and f.value and f.box is not None and f.page in by_page
    ]
    if not todo:
        return fields
    crops: list[tuple[str, np.ndarray]] = []
    dpi: float | None = None
    prepared: dict[int, tuple[np.ndarray, float]] = {}
    for f in todo:
        assert f.box is not None and f.page is not None
        page = by_page[f.page]
        if f.page not in prepared:
            prepared[f.page] = prepare_for_ocr(page, ocr_options)
        image, scale = prepared[f.page]
        dpi = dpi or (page.dpi * scale if page.dpi else None)
        pad = max(4, round(0.15 * min(f.box.h, 60) * scale))
        x0, y0 = max(0, round(f.box.x * scale) - pad), max(0, round(f.box.y * scale) - pad)
        x1 = min(image.shape[1], round((f.box.x + f.box.w) * scale) + pad)
        y1 = min(image.shape[0], round((f.box.y + f.box.h) * scale) + pad)
        if x1 > x0 and y1 > y0:
            crops.append((f.name, image[y0:y1, x0:x1]))
    if not crops:
        return fields
    canvas, regions = _stack(crops)
    tess = TesseractOptions(lang=opinion.lang, oem=1, psm=6, tessdata_dir=opinion.tessdata_dir, timeout=opinion.timeout)
    try:
        words = image_to_words(canvas, tess, dpi)
    except OcrError as e:  # no second opinion: the fields keep the first model's confidence
        log.warning("second OCR opinion unavailable: %s", e.detail)
        return fields
    read: dict[str, list[str]] = {r.name: [] for r in regions}
    for w in sorted(words, key=lambda w: (w.block, w.par, w.line, w.word)):
        middle = w.top + w.height / 2
        region = next((r for r in regions if r.top <= middle < r.bottom), None)
        text = clean_word(w.text, w.conf / 100.0)
        if region is not None and text:
            read[region.name].append(text)
    out: dict[str, FieldValue] = dict(fields.fields)
    for name, texts in read.items():
        found = disagreement(out[name].value, " ".join(texts))
        if found is not None:
            log.info("%s: the second OCR model reads %r as %r: to review", name, found[0], found[1])
            out[name] = dataclasses.replace(out[name], confidence=min(out[name].confidence, opinion.disagreed))
    log.debug("second opinion on %d field(s) in %.2fs", len(crops), time.monotonic() - started)
    return dataclasses.replace(fields, fields=out)
