"""Words and lines of each page, with boxes in the coordinates of the page image.

OCR may run on a cleaned copy of the page (grey, background flattened, binarised, upscaled);
boxes are mapped back to the page image the e-copy embeds, so the invisible text layer lands
on the printed words.
"""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from pipeline.models import Box, OcrPage, OcrResult, Page, Word
from pipeline.read._exec.tesseract import TesseractOptions, TsvWord, image_to_words

log = logging.getLogger(__name__)

Binarize = Literal["none", "otsu"]


@dataclass(frozen=True)
class OcrOptions:
    lang: str = "vie"
    oem: int = 1
    psm: int = 3
    tessdata_dir: str | None = None
    timeout: float = 120.0  # seconds per page
    flatten_background: bool = True  # divide by a blurred background (uneven light, yellowed paper)
    binarize: Binarize = "otsu"
    min_dpi: float | None = 300.0  # upscale pages scanned below this before OCR (200 dpi, phone photos)
    merge_baselines: bool = True  # side-by-side blocks on one baseline read as one line
    erase_leaders: bool = True  # dotted leader lines of forms (only on a binarised image)
    # A weak first reading (mean word confidence below this) is read again from other cleaned
    # images and the surest reading is kept; clean pages (mean ~0.94) pay nothing. None: never.
    # 0.85, not 0.90: the pages between (mostly ID cards) were re-read for nothing at 2.5-3x their
    # OCR time; of 15 weak pages measured, 3 switched image, at means 0.77, 0.79 and 0.90.
    reread_below: float | None = 0.85

    def tesseract(self) -> TesseractOptions:
        return TesseractOptions(
            lang=self.lang, oem=self.oem, psm=self.psm, tessdata_dir=self.tessdata_dir, timeout=self.timeout
        )


def ocr_pages(pages: Sequence[Page], options: OcrOptions, hide: Mapping[int, Sequence[Box]] | None = None) -> OcrResult:
    """``hide``: per page index, areas that are not text (QR codes): blanked before OCR."""
    hide = hide or {}
    read = tuple(ocr_page(p, options, hide.get(p.index, ())) for p in pages)
    return OcrResult(pages=read, engine="tesseract", language=options.lang)


def ocr_page(page: Page, options: OcrOptions, hide: Sequence[Box] = ()) -> OcrPage:
    grey, scale = grey_for_ocr(page, options)
    dpi = page.dpi * scale if page.dpi else None
    image = binarize(grey, dpi, options)
    if hide and np.shares_memory(image, grey):
        image = image.copy()
    for box in hide:  # a QR code read as text is noise, and it drags the text beside it into an "image" block
        x0, y0 = round(box.x * scale), round(box.y * scale)
        area = slice(max(0, y0), y0 + round(box.h * scale)), slice(max(0, x0), x0 + round(box.w * scale))
        image[area] = grey[area] = 255
    raw = image_to_words(image, options.tesseract(), dpi)
    if options.reread_below is not None and options.binarize == "otsu":
        raw = _surest_reading(raw, grey, dpi, options.reread_below, options, page.index)
    words, lines = _assemble(raw, 1.0 / scale, options.merge_baselines)
    h, w = page.image.shape[:2]
    log.debug("page %d: %d words, %d lines", page.index, len(words), len(lines))
    return OcrPage(index=page.index, width=w, height=h, words=tuple(words), lines=tuple(lines))


# ---- image for the OCR engine ----------------------------------------------------------------
def prepare_for_ocr(page: Page, options: OcrOptions) -> tuple[np.ndarray, float]:
    """The image tesseract sees first and its scale relative to ``page.image``."""
    grey, scale = grey_for_ocr(page, options)
    return binarize(grey, page.dpi * scale if page.dpi else None, options), scale


def grey_for_ocr(page: Page, options: OcrOptions) -> tuple[np.ndarray, float]:
    """A grey copy of the page (a new array), upscaled to ``min_dpi`` and its background flattened."""
    grey = page.image if page.image.ndim == 2 else cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)
    scale = 1.0
    if options.min_dpi and page.dpi and page.dpi < options.min_dpi * 0.95:
        scale = options.min_dpi / page.dpi
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if options.flatten_background:
        grey = flatten_background(grey, page.dpi * scale if page.dpi else None)
    return (grey.copy() if np.shares_memory(grey, page.image) else grey), scale


def binarize(grey: np.ndarray, dpi: float | None, options: OcrOptions) -> np.ndarray:
    if options.binarize != "otsu":
        return grey
    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return erase_dotted_leaders(binary, dpi or 300.0) if options.erase_leaders else binary


# ---- a second reading when the first is weak ---------------------------------------------------
def reading_strength(raw: Sequence[TsvWord]) -> tuple[float, float]:
    """(mean confidence, confidence-weighted characters) of the words that hold a letter or digit.

    The second figure scores competing readings of one page: it grows with what was read surely
    and does not reward a reading for dropping the hard words, as a mean would.
    """
    words = [w for w in raw if any(ch.isalnum() for ch in w.text)]
    if not words:
        return 0.0, 0.0
    mean = sum(w.conf for w in words) / (100.0 * len(words))
    return mean, sum(w.conf / 100.0 * len(w.text) for w in words)


def other_images(grey: np.ndarray, dpi: float | None) -> dict[str, np.ndarray]:
    """Other cleaned images of a weakly read page.

    * ``smooth``: blurred by ~1 px at 300 dpi, then thresholded: rounds the jagged edges and closes
      the broken strokes of black-and-white photocopies and faxes and of JPEG blocks.
    * ``grey``: no threshold at all (the LSTM reads grey levels): keeps thin strokes that a hard
      threshold drops on faint or low-resolution text. The form leaders found on the binary image
      are whitened here too.
    """
    sigma = (dpi or 300.0) / 300.0
    _, smooth = cv2.threshold(cv2.GaussianBlur(grey, (0, 0), sigma), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    _, otsu = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    leaders = cv2.dilate((erase_dotted_leaders(otsu, dpi or 300.0) > otsu).astype(np.uint8), np.ones((5, 5), np.uint8))
    return {"smooth": erase_dotted_leaders(smooth, dpi or 300.0), "grey": np.where(leaders > 0, 255, grey)}


def _surest_reading(
    raw: list[TsvWord],
    grey: np.ndarray,
    dpi: float | None,
    below: float,
    options: OcrOptions,
    index: int,
) -> list[TsvWord]:
    """``raw``, or another image's reading of the page when ``raw`` is weak and the other is surer.

    Another reading must be 2 % surer to win: on a page read equally well either way, the
    first reading (the one the other steps were measured with) stays.
    """
    mean, best_score = reading_strength(raw)
    if raw and mean >= below:
        return raw
    best, chosen = raw, "otsu"
    for name, image in other_images(grey, dpi).items():
        again = image_to_words(image, options.tesseract(), dpi)
        score = reading_strength(again)[1]
        if score > 1.02 * best_score:
            best, best_score, chosen = again, score, name
    log.info("page %d: weak reading (mean confidence %.2f), kept the %s image's", index, mean, chosen)
    return best


def erase_dotted_leaders(binary: np.ndarray, dpi: float) -> np.ndarray:
    """Whiten runs of 6+ evenly spaced dots on one baseline (the "........" of printed forms).

    Tesseract reads a sharp leader as dots but a soft one as "2222 reeeese" glued to the value.
    A full stop or a dot under a vowel has no such run of neighbours.
    """
    n, _, stats, centroids = cv2.connectedComponentsWithStats(255 - binary, connectivity=8)
    max_side, max_area = 0.03 * dpi, 0.0008 * dpi * dpi
    dots = [
        i
        for i in range(1, n)
        if stats[i, cv2.CC_STAT_WIDTH] <= max_side
        and stats[i, cv2.CC_STAT_HEIGHT] <= max_side
        and stats[i, cv2.CC_STAT_AREA] <= max_area
    ]
    if len(dots) < 6:
        return binary
    max_dy, max_dx = 0.012 * dpi, 0.09 * dpi
    rows: dict[int, list[int]] = {}  # dots binned by height, for a local neighbour search
    for i in dots:
        rows.setdefault(int(centroids[i][1] // max_dy), []).append(i)
    dots.sort(key=lambda i: (centroids[i][0], centroids[i][1]))
    used: set[int] = set()
    out = binary.copy()
    for i in dots:
        if i in used:
            continue
        chain = [i]
        while True:
            x, y = centroids[chain[-1]]
            row = int(y // max_dy)
            nxt = [
                j
                for r in (row - 1, row, row + 1)
                for j in rows.get(r, ())
                if j not in used and 0 < centroids[j][0] - x <= max_dx and abs(centroids[j][1] - y) <= max_dy
            ]
            if not nxt:
                break
            chain.append(min(nxt, key=lambda j: centroids[j][0]))
        if len(chain) >= 6:
            used.update(chain)
            for j in chain:
                x0, y0, w, h = stats[j, :4]
                out[y0 : y0 + h, x0 : x0 + w] = 255
    return out


def flatten_background(grey: np.ndarray, dpi: float | None = None) -> np.ndarray:
    """Divide by the paper's brightness so shadows, stains and yellowing become white.

    The background is a grey closing wider than any glyph stroke (~4 mm), so text is removed from it.
    """
    k = int(dpi * 0.16) if dpi else min(grey.shape) // 25
    k = max(15, k | 1)
    background = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.GaussianBlur(background, (0, 0), k / 2)
    flat = cv2.divide(grey, background, scale=255)
    lo, hi = int(flat.min()), int(flat.max())
    if hi <= lo:
        return flat
    stretched = (flat.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return stretched.astype(np.uint8)


# ---- words → lines ---------------------------------------------------------------------------
# Table rulings, speckles and seal edges come back as these; they are never part of a word.
_JUNK_EDGE = "|_`¬„ˆ~¡¿\\“”\"'‘’«»—"


def upscale_for_ocr(
    grey: np.ndarray, page_dpi: float | None, min_dpi: float | None
) -> tuple[np.ndarray, float, float | None]:
    """A crop of a page below ``min_dpi`` brought up to it, as the page OCR does: (image, scale, dpi)."""
    scale = 1.0
    if min_dpi and page_dpi and page_dpi < min_dpi * 0.95:
        scale = min_dpi / page_dpi
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return grey, scale, (page_dpi * scale if page_dpi else None)


def region_lines(raw: Sequence[TsvWord], region: Box, scale: float, block_base: int) -> list[list[Word]]:
    """Tesseract's words of a re-read crop, as page words (boxes back in page pixels, blocks numbered
    from ``block_base`` so they never merge with the page's own), one list per Tesseract line."""
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for r in raw:
        text = clean_word(r.text, r.conf / 100.0)
        if text is None:
            continue
        box = Box(
            region.x + round(r.left / scale),
            region.y + round(r.top / scale),
            max(1, round(r.width / scale)),
            max(1, round(r.height / scale)),
        )
        conf = max(0.0, min(1.0, r.conf / 100.0))
        word = Word(text, conf, box, line=-1, block=block_base + r.block)
        lines.setdefault((r.block, r.par, r.line), []).append(word)
    return list(lines.values())


def clean_word(text: str, confidence: float) -> str | None:
    """The word without OCR junk at its edges; None when nothing worth keeping is left."""
    t = unicodedata.normalize("NFC", text).strip(_JUNK_EDGE)
    if not t:
        return None
    if not any(ch.isalnum() for ch in t) and confidence < 0.5:
        return None
    return t


@dataclass
class _Line:
    words: list[TsvWord]

    @property
    def top(self) -> int:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> int:
        return max(w.top + w.height for w in self.words)

    @property
    def left(self) -> int:
        return min(w.left for w in self.words)

    @property
    def right(self) -> int:
        return max(w.left + w.width for w in self.words)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2.0


def _assemble(raw: Sequence[TsvWord], unscale: float, merge: bool) -> tuple[list[Word], list[str]]:
    groups: dict[tuple[int, int, int], _Line] = {}
    for w in raw:
        text = clean_word(w.text, w.conf / 100.0)
        if text is None:
            continue
        groups.setdefault((w.block, w.par, w.line), _Line([])).words.append(dataclasses.replace(w, text=text))
    lines = [ln for ln in groups.values() if ln.words]
    if merge:
        lines = [ln for panel in _panels(lines) for ln in _merge_baselines(panel)]
    words: list[Word] = []
    texts: list[str] = []
    for i, ln in enumerate(lines):
        for w in ln.words:
            words.append(
                Word(
                    text=w.text,
                    confidence=max(0.0, min(1.0, w.conf / 100.0)),
                    box=Box(
                        round(w.left * unscale),
                        round(w.top * unscale),
                        max(1, round(w.width * unscale)),
                        max(1, round(w.height * unscale)),
                    ),
                    line=i,
                    block=w.block,
                )
            )
        texts.append(" ".join(w.text for w in ln.words))
    return words, texts


def _panels(lines: list[_Line]) -> list[list[_Line]]:
    """Split the page at a vertical gutter that no line crosses (a diploma's two halves).

    Each panel is read on its own, top to bottom. A gutter only counts with 3+ lines either side,
    each side spanning at least half the text's height.
    """
    if len(lines) < 6:
        return [lines]
    lo, hi = min(ln.left for ln in lines), max(ln.right for ln in lines)
    covered = np.zeros(hi - lo + 1, dtype=bool)
    for ln in lines:
        covered[ln.left - lo : ln.right - lo] = True
    best: tuple[int, int] | None = None
    x = 0
    while x < len(covered):
        if covered[x]:
            x += 1
            continue
        start = x
        while x < len(covered) and not covered[x]:
            x += 1
        if best is None or x - start > best[1] - best[0]:
            best = (start, x)
    if best is None:
        return [lines]
    cut = lo + (best[0] + best[1]) / 2.0
    left = [ln for ln in lines if ln.right <= cut]
    right = [ln for ln in lines if ln.left >= cut]
    if len(left) < 3 or len(right) < 3:
        return [lines]
    # Panels run down the page side by side (a diploma's halves). A few lines beside a photo
    # (an ID card's expiry date) are a column of one block, read across with the rest.
    top, bottom = min(ln.top for ln in lines), max(ln.bottom for ln in lines)
    for side in (left, right):
        if max(ln.bottom for ln in side) - min(ln.top for ln in side) < 0.5 * (bottom - top):
            return [lines]
    return [*_panels(left), *_panels(right)]


def _merge_baselines(lines: list[_Line]) -> list[_Line]:
    """Join lines that sit on one baseline, left to right, and order lines top to bottom.

    Tesseract reads side-by-side header blocks (issuing body | national motto), form cells and
    signature blocks one column after the other; a reader, and the clerk checking the text layer,
    read them across, as one line. Two lines join when their vertical extents overlap by most of
    the smaller height and they do not overlap horizontally.
    """
    out: list[_Line] = []
    for ln in sorted(lines, key=lambda ln: ln.middle):
        target = None
        for prev in out:
            overlap = min(prev.bottom, ln.bottom) - max(prev.top, ln.top)
            height = min(prev.bottom - prev.top, ln.bottom - ln.top)
            if height <= 0 or overlap < 0.6 * height or abs(prev.middle - ln.middle) > 0.5 * height:
                continue
            if ln.left >= prev.right or ln.right <= prev.left:
                target = prev
                break
        if target is None:
            out.append(ln)
        else:
            target.words = sorted([*target.words, *ln.words], key=lambda w: w.left)
    return sorted(out, key=lambda ln: ln.middle)
