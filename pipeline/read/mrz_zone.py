"""Re-reading a machine-readable zone (an ID card's back, a passport's data page) with the English
model: Tesseract's Vietnamese model reads the zone's OCR-B-like capitals, digits and ``<`` fillers
poorly ("TDVNMð63…", digits dropped), the English one nearly without fault, and every number of a
zone is checked by its check digit afterwards (:mod:`pipeline.read.text.mrz`).

A type with a zone declares ``refine=refine_zone``. The zone is found on the page OCR (rows with
runs of ``<``); the band across the page around them is read again and its words replace the
page OCR's there (the e-copy's text layer carries the better reading). A failed re-read (no
English model, tesseract crashed) keeps the page OCR.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence

import cv2

from pipeline.errors import OcrError
from pipeline.models import Box, OcrPage, OcrResult, Page, Word
from pipeline.read._exec.tesseract import image_to_words
from pipeline.read.ocr import OcrOptions, flatten_background, region_lines, upscale_for_ocr

log = logging.getLogger(__name__)

ZONE_LANG = "eng"
_ZONE_WORD = re.compile(r"<{2,}|^[A-Z0-9<]{12,}$")


def zone_region(ocr_page: OcrPage) -> Box | None:
    """The band across the page holding the zone's rows, if the page OCR saw any of them."""
    words = [w for w in ocr_page.words if _ZONE_WORD.search(w.text)]
    if not words:
        return None
    h = max(w.box.h for w in words)
    top = max(0, min(w.box.y for w in words) - 3 * h // 2)
    bottom = min(ocr_page.height, max(w.box.y + w.box.h for w in words) + 3 * h // 2)
    return Box(0, top, ocr_page.width, bottom - top)


def _reread(page: Page, ocr_page: OcrPage, region: Box, options: OcrOptions) -> OcrPage:
    crop = page.image[region.y : region.y + region.h, region.x : region.x + region.w]
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    grey, scale, dpi = upscale_for_ocr(grey, page.dpi, options.min_dpi)
    grey = flatten_background(grey, dpi)
    tess = dataclasses.replace(options.tesseract(), lang=ZONE_LANG, psm=6)
    rows = region_lines(image_to_words(grey, tess, dpi), region, scale, block_base=2000)
    if not rows:
        return ocr_page
    kept = [w for w in ocr_page.words if not _inside(w, region)]
    by_line: dict[int, list[Word]] = {}
    for w in kept:
        by_line.setdefault(w.line, []).append(w)
    ordered = [by_line[i] for i in sorted(by_line)]
    above = [ws for ws in ordered if min(w.box.y for w in ws) < region.y]
    below = [ws for ws in ordered if min(w.box.y for w in ws) >= region.y]
    lines = [*above, *(sorted(ws, key=lambda w: w.box.x) for ws in rows), *below]
    words = [dataclasses.replace(w, line=i) for i, ws in enumerate(lines) for w in ws]
    texts = tuple(" ".join(w.text for w in ws) for ws in lines)
    return OcrPage(ocr_page.index, ocr_page.width, ocr_page.height, tuple(words), texts)


def _inside(w: Word, region: Box) -> bool:
    cy = w.box.y + w.box.h / 2
    return region.y <= cy <= region.y + region.h


def refine_zone(pages: Sequence[Page], ocr: OcrResult, options: OcrOptions) -> OcrResult:
    """``ocr`` with every page's zone re-read by the English model (see the module doc)."""
    if len(pages) != len(ocr.pages):
        return ocr
    out = list(ocr.pages)
    for k, (page, ocr_page) in enumerate(zip(pages, ocr.pages, strict=True)):
        region = zone_region(ocr_page)
        if region is None:
            continue
        try:
            out[k] = _reread(page, ocr_page, region, options)
        except OcrError as e:
            log.warning("machine-readable zone re-read failed: %s", e.detail)
    return dataclasses.replace(ocr, pages=tuple(out))
