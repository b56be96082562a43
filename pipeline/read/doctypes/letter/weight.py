"""The stroke weight of the header's lines: Decree 30/2020 prints the parent body in regular type and
the issuing body in bold (both upper case), so the weight tells which is which where the words cannot.

A word's weight is its strokes' mean width (twice the ink's area over its outline's length, on the
word's crop enlarged to a common text height and binarised with one threshold for the whole header
block) over the line's text height. Regular and bold type of one face differ by about 1.5 times; two
lines of the same type on the same scan by much less (``weights_decide``). Only the first
page's left header block is measured: a few dozen small crops, no OCR.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

import cv2
import numpy as np

from pipeline.models import OcrPage, Word

# Crops are enlarged to about this text height (px) before they are binarised, so that a stroke of one
# or two pixels of a 100-dpi scan is measured to a fraction of a pixel.
TEXT_HEIGHT = 48
PAD = 2
# An upper line at most LIGHTER times as heavy as the line under it is regular type over bold (bold
# strokes are ~1.4-1.5 times as wide, also at 100 dpi); within SAME of it, the same type.
LIGHTER = 0.8
SAME = 0.1


def grey(image: np.ndarray) -> np.ndarray:
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if grey.dtype == np.uint8:
        return grey
    lo, hi = float(grey.min()), float(grey.max())
    return ((grey - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)


def _crop(grey: np.ndarray, w: Word, scale: float) -> np.ndarray | None:
    y0, x0 = max(0, w.box.y - PAD), max(0, w.box.x - PAD)
    y1, x1 = min(grey.shape[0], w.box.y + w.box.h + PAD), min(grey.shape[1], w.box.x + w.box.w + PAD)
    if y1 - y0 < 4 or x1 - x0 < 4:
        return None
    crop = grey[y0:y1, x0:x1]
    return cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else crop


def stroke_width(ink: np.ndarray) -> float | None:
    """Mean stroke width (px) of a binary image (ink non-zero): 2 × area / outline length."""
    area = int(np.count_nonzero(ink))
    if area < 20:
        return None
    contours, _ = cv2.findContours(ink.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * area / outline if outline > 0 else None


def measure(grey: np.ndarray, rows: Sequence[Sequence[Word]]) -> dict[int, float]:
    """The weight of each word of ``rows`` (by ``id``): stroke width over its row's text height."""
    heights = [statistics.median(w.box.h for w in row) for row in rows if row]
    if not heights:
        return {}
    scale = max(1.0, TEXT_HEIGHT / statistics.median(heights))
    crops: list[tuple[Word, float, np.ndarray]] = []
    for row, height in zip((r for r in rows if r), heights, strict=True):
        for w in row:
            crop = _crop(grey, w, scale)
            if crop is not None:
                crops.append((w, height * scale, crop))
    if not crops:
        return {}
    # one threshold for the block: a light line must not be binarised bolder than it is
    pixels = np.concatenate([c.ravel() for _, _, c in crops])
    threshold, _ = cv2.threshold(pixels.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    out: dict[int, float] = {}
    for w, height, crop in crops:
        width = stroke_width(crop < threshold)
        if width is not None and height > 0:
            out[id(w)] = round(width / height, 4)
    return out


def row_weight(words: Sequence[Word]) -> float | None:
    """The median weight of the words of two letters or more, if most of them were measured."""
    lettered = [w for w in words if sum(c.isalpha() for c in w.text) >= 2]
    weights = [w.weight for w in lettered if w.weight is not None]
    return statistics.median(weights) if weights and 2 * len(weights) >= len(lettered) else None


def weights_decide(upper: Sequence[Sequence[Word]], lower: Sequence[Sequence[Word]]) -> bool | None:
    """Whether the ``upper`` lines are lighter type than the ``lower`` (True), the same type (False),
    or neither clearly, or not measured (None)."""
    up = [x for r in upper if (x := row_weight(r)) is not None]
    low = [x for r in lower if (x := row_weight(r)) is not None]
    if not up or not low or len(up) < len(upper) or len(low) < len(lower):
        return None
    ratio = statistics.median(up) / statistics.median(low)
    if ratio <= LIGHTER:  # and every word of the upper lines lighter than every word below: no outlier's doing
        heaviest = max(w.weight for r in upper for w in r if w.weight is not None)
        return True if heaviest < min(w.weight for r in lower for w in r if w.weight is not None) else None
    return False if abs(ratio - 1) <= SAME else None


def with_weights(page: OcrPage, weights: dict[int, float]) -> OcrPage:
    """``page`` with the weights (by the words' ``id``) set on its words."""
    words = tuple(dataclasses.replace(w, weight=weights[id(w)]) if id(w) in weights else w for w in page.words)
    return dataclasses.replace(page, words=words)
