"""The signature block, read a second time without the seal's and the pen's ink.

The page OCR (psm 3 on the flattened, Otsu-binarised page) takes a signature block for an image:
the printed name under the seal and the signature is lost, and the seal's ring text and the pen
strokes come back as junk rows. The block is re-read here:

1. its region is found from the block's title lines ("GIÁM ĐỐC", "NGƯỜI KÝ GIẤY KHAI SINH"...),
   given per document type as its ``DocType.signature_block`` (letters find their own: right of
   the "Nơi nhận" list);
2. ink that is not the text's own colour (a red or gold seal, a blue pen) is turned to paper; the
   text's colour is sampled under the title words, so a diploma printed in crimson keeps its text;
3. the region is read as one block of text lines (psm 6);
4. each re-read row replaces the page OCR's row at its height when it is surer, word by word where
   both readings cut the row into the same words; rows only one reading has are kept when sure
   (the page OCR's pen strokes and seal edges read as "> v^" go).

``refiner(doctype.signature_block)`` is the refine step (see ``Extractor.refine``) of a type with a signature block;
``pipeline.read.reader`` runs it for a type whose extractor declares no refine step of its own.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.errors import OcrError
from pipeline.models import Box, OcrPage, OcrResult, Page, Word
from pipeline.read._exec.tesseract import image_to_words
from pipeline.read.doctypes.contract import BlockTitles, Refine
from pipeline.read.ocr import OcrOptions, flatten_background, region_lines, upscale_for_ocr
from pipeline.read.text.dates import find_written_date
from pipeline.read.text.lines import TextLine, document_lines, find_fuzzy, fold

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Block:
    """Where a page's signature block is, in page pixels."""

    region: Box
    ink_from: tuple[Box, ...] = ()  # words printed in the text's ink (the titles); none: black print


# The block reaches this many title heights below its first line (the seal, the signature, the name).
BLOCK_LINES = 16
# The block reaches at least this far left and right of its title's middle, and this far (MARGIN) past
# the title's ends, in text heights: a name, or the italic "(Ký, ghi rõ họ tên)", is wider than its title.
HALF_WIDTH = 8
MARGIN = 6
# Title lines further apart than this (lines in reading order, text heights on the page) belong to
# different blocks.
TITLE_GAP = 3
# A row that only one reading has (the page OCR's or the re-read's) is kept when it has a word of
# 2+ letters or digits and tesseract is at least this sure of it: pen strokes and the seal's
# edge read as "> v^" or "VÀ," come back at 0.1-0.6.
MIN_ROW_CONFIDENCE = 0.6


# ---- finding the block ---------------------------------------------------------------------------
def _height(words: Sequence[Word]) -> int:
    return max(1, round(statistics.median(w.box.h for w in words)))


def _text_extent(lines: Sequence[TextLine]) -> tuple[int, int]:
    words = [w for ln in lines for w in ln.words if w.confidence >= 0.5] or [w for ln in lines for w in ln.words]
    return min(w.box.x for w in words), max(w.box.x + w.box.w for w in words)


def _title_words(ln: TextLine, titles: Sequence[str]) -> list[Word]:
    """The words of ``ln`` that print one of ``titles`` standing alone (nothing right after it in its column).

    "GIÁM ĐỐC" heads a signature block; "GIÁM ĐỐC SỞ GIÁO DỤC VÀ ĐÀO TẠO" is a header.
    """
    found: list[Word] = []
    for title in titles:
        pattern = fold(title)
        start = 0
        while (hit := find_fuzzy(ln.folded, pattern, start)) is not None:
            s, e, _ = hit
            start = e
            words = ln.words_between(s, e)
            if not words:
                break
            after = [  # junk marks after a title (the seal's edge read as "s") do not count
                w
                for w in ln.words
                if w.box.x > words[-1].box.x and w.confidence >= 0.5 and sum(c.isalpha() for c in w.text) >= 2
            ]
            gap = after[0].box.x - (words[-1].box.x + words[-1].box.w) if after else None
            if gap is None or gap > 1.5 * _height(words):
                found.extend(w for w in words if w not in found)
    return found


def find_block(ocr_page: OcrPage, spec: BlockTitles) -> Block | None:
    """The page's signature block: from its last group of title lines (or the line above it) down."""
    lines = document_lines(OcrResult((ocr_page,)))
    if not lines:
        return None
    # the unit of the block's size: the page's text height (a title's boxes swell with speckles)
    h = _height([w for ln in lines for w in ln.words if w.confidence >= 0.5] or [w for ln in lines for w in ln.words])
    titled = [(ln, ws) for ln in lines if (ws := _title_words(ln, spec.titles))]
    group: list[tuple[TextLine, list[Word]]] = []
    for ln, ws in reversed(titled):  # the last group: a header that names the signer's office comes first
        if group and (
            group[0][0].index - ln.index > TITLE_GAP
            or min(w.box.y for w in group[0][1]) - max(w.box.y + w.box.h for w in ws) > TITLE_GAP * h
        ):
            break
        group.insert(0, (ln, ws))
    above: TextLine | None = None
    for ln in lines:
        if (spec.after_date and find_written_date(ln.text)) or any(
            find_fuzzy(ln.folded, fold(label), line_start=True) for label in spec.after
        ):
            above = ln
    if above is not None and group and above.index < group[0][0].index:
        above = None  # the titles were read: the block starts at them
    if not group and above is None:
        return None
    lo, hi = _text_extent(lines)
    if above is None:
        anchor = [w for _, ws in group for w in ws]
        top = max(0, min(w.box.y for w in anchor) - h // 2)
        first = group[0][0].index
    else:
        anchor = list(above.words)
        top = max(w.box.y + w.box.h for w in anchor) + 1
        first = above.index + 1
    if spec.across:
        left, right = lo - h, hi + h
    else:
        x0, x1 = min(w.box.x for w in anchor), max(w.box.x + w.box.w for w in anchor)
        middle = (x0 + x1) / 2
        left = max(lo - h, min(x0 - MARGIN * h, round(middle - HALF_WIDTH * h)))
        right = min(hi + h, max(x1 + MARGIN * h, round(middle + HALF_WIDTH * h)))
    left, right = max(0, left), min(ocr_page.width, right)
    bottom = min(ocr_page.height, top + BLOCK_LINES * h)
    for ln in lines:  # down to body text running across the block's edge
        if ln.index <= first:
            continue
        y = min(w.box.y for w in ln.words)
        sure = [w for w in ln.words if w.confidence >= 0.6 and sum(c.isalpha() for c in w.text) >= 2]
        if y <= top or y >= bottom or not any(w.box.x < e < w.box.x + w.box.w for w in sure for e in (left, right)):
            continue
        x0, x1 = min(w.box.x for w in sure), max(w.box.x + w.box.w for w in sure)
        if abs((x0 + x1) / 2 - (left + right) / 2) < 0.25 * (right - left):  # centred: the block's own line
            left, right = max(0, min(left, x0 - h // 2)), min(ocr_page.width, max(right, x1 + h // 2))
            continue
        bottom = y - 2
        break
    if bottom - top < 2 * h or right - left < 4 * h:
        return None
    return Block(Box(left, top, right - left, bottom - top), tuple(w.box for w in anchor))


# ---- the ink ----------------------------------------------------------------------------------------
def _paper(image: np.ndarray) -> np.ndarray:
    """The paper's colour: the median of the brighter half of the pixels."""
    pixels = image.reshape(-1, 3).astype(np.float32)
    lum = pixels.mean(axis=1)
    return np.median(pixels[lum >= np.median(lum)], axis=0)


def text_ink(image: np.ndarray, boxes: Sequence[Box]) -> np.ndarray | None:
    """The colour (RGB) of the text printed in ``boxes`` of ``image``: the darkest fifth of its pixels."""
    if image.ndim != 3:
        return None
    picked: list[np.ndarray] = []
    for b in boxes:
        patch = image[max(0, b.y) : b.y + b.h, max(0, b.x) : b.x + b.w].reshape(-1, 3).astype(np.float32)
        if len(patch):
            lum = patch.mean(axis=1)
            picked.append(patch[lum <= np.percentile(lum, 20)])
    if not picked:
        return None
    pixels = np.concatenate(picked)
    return np.median(pixels, axis=0) if len(pixels) else None


def remove_colored_ink(image: np.ndarray, ink: np.ndarray | None = None, max_off: float = 0.12) -> np.ndarray:
    """Grey copy of an RGB image with the ink that is not the text's (a seal, a signature) turned to paper.

    ``ink``: the text's colour (RGB, see ``text_ink``); None for black print. Colours are taken
    relative to the paper's (white-balanced), so yellowed paper and dim photos read as white paper.
    A pixel of the text, or of its anti-aliased edge, is a blend of paper and ink: its colour lies
    on the line from the paper's to the ink's, as far along as it is dark. A pixel whose colour is
    more than ``max_off`` off that line is another ink: a red seal or a blue pen on black print, a
    gold or red seal or a blue pen on crimson print. Where text crosses the seal the pixel is
    darker and takes the text's colour, and stays.
    """
    if image.ndim == 2:
        return image.copy()
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    paper = np.maximum(_paper(image), 32.0)
    q = np.clip(image.astype(np.float32) / paper, 0.0, 1.0)
    mean = q.mean(axis=2, keepdims=True)
    chroma = q - mean  # the colour off the grey axis
    offset = chroma
    limit = max_off
    if ink is not None:
        t = np.clip(np.asarray(ink, np.float32) / paper, 0.0, 1.0)
        t_dark = 1.0 - float(t.mean())
        t_chroma = t - t.mean()
        if t_dark > 0.15:  # the sample is ink, not paper
            limit = max_off * min(1.0, max(0.4, t_dark / 0.8))  # a faded page's seal is faded too
            if float(np.linalg.norm(t_chroma)) > 0.05:  # printed in colour
                along = np.clip((1.0 - mean) / t_dark, 0.0, 1.5)
                offset = chroma - along * t_chroma
    off = np.linalg.norm(offset, axis=2)
    out = grey.copy()
    # paint with the paper's grey, not white: white rings on a dim page binarise as black outlines
    out[off >= limit] = int(np.percentile(grey, 90))
    return out


def remove_specks(binary: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``binary`` (black ink on white) without specks that stand alone on the paper.

    A faded archive's dust, binarised, is a scatter of dots that tesseract's layout analysis
    takes for text, and the block is then read as junk. A speck is a blob smaller than a dot of
    print (``scale``: the image's dpi / 300) with no larger ink within 1 mm: the dot under "ạ"
    and the tone mark over "ứ" are beside their letter and stay.
    """
    ink = (binary < 128).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return binary
    small = np.zeros(n, dtype=bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] <= max(2.0, 30.0 * scale * scale)
    if not small.any():
        return binary
    reach = 2 * max(3, round(12 * scale)) + 1  # 1 mm either side: a tone mark is nearer its letter
    near_print = cv2.dilate((~small[labels] & (ink > 0)).astype(np.uint8), np.ones((reach, reach), np.uint8))
    touching = np.unique(labels[(near_print > 0) & small[labels]])
    specks = small.copy()
    specks[touching] = False
    out = binary.copy()
    out[specks[labels]] = 255
    return out


# ---- re-reading ------------------------------------------------------------------------------------
def reread(page: Page, ocr_page: OcrPage, block: Block, options: OcrOptions) -> OcrPage:
    """The page's OCR with ``block`` re-read without the seal's and the pen's ink (boxes in page pixels)."""
    region = block.region
    if page.image.ndim != 3:
        return ocr_page
    crop = page.image[region.y : region.y + region.h, region.x : region.x + region.w]
    grey = remove_colored_ink(crop, text_ink(page.image, block.ink_from) if block.ink_from else None)
    grey, scale, dpi = upscale_for_ocr(grey, page.dpi, options.min_dpi)
    grey = flatten_background(grey, dpi)
    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    binary = remove_specks(binary, (dpi or 300.0) / 300.0)
    tess = dataclasses.replace(options.tesseract(), psm=6)  # one block of text lines
    fresh = region_lines(image_to_words(binary, tess, dpi), region, scale, block_base=1000)
    return merge_region(ocr_page, region, fresh)


def _inside(w: Word, region: Box) -> bool:
    cx, cy = w.box.x + w.box.w / 2, w.box.y + w.box.h / 2
    return region.x <= cx < region.x + region.w and region.y <= cy < region.y + region.h


def _extent(ws: Sequence[Word]) -> tuple[int, int]:
    return min(w.box.y for w in ws), max(w.box.y + w.box.h for w in ws)


def _same_row(a: Sequence[Word], b: Sequence[Word], share: float = 0.6) -> bool:
    (t1, b1), (t2, b2) = _extent(a), _extent(b)
    height = min(b1 - t1, b2 - t2)
    return height > 0 and min(b1, b2) - max(t1, t2) >= share * height and abs((t1 + b1) - (t2 + b2)) <= height


def _mean_confidence(ws: Sequence[Word]) -> float:
    return sum(w.confidence for w in ws) / len(ws) if ws else 0.0


def _has_alnum(w: Word) -> bool:
    return any(c.isalnum() for c in w.text)


def _word_by_word(old: Sequence[Word], new: Sequence[Word]) -> list[Word] | None:
    """The row as the surer reading of each word, when both readings cut it into the same words.

    Each reading has its doubtful words ("Trân" for "Trần" in one, "An" at 0.56 in the other).
    Marks without a letter or digit (the seal's edge read as "-.") pair with nothing and are left
    out. None when the words do not pair up one to one by position.
    """
    a, b = sorted(old, key=lambda w: w.box.x), sorted(new, key=lambda w: w.box.x)
    if len(a) != len(b):
        a, b = [w for w in a if _has_alnum(w)], [w for w in b if _has_alnum(w)]
    if not a or len(a) != len(b):
        return None
    for u, v in zip(a, b, strict=True):
        overlap = min(u.box.x + u.box.w, v.box.x + v.box.w) - max(u.box.x, v.box.x)
        if overlap < 0.5 * min(u.box.w, v.box.w):
            return None
    # the re-read's boxes (tighter: no seal ink in them) with the surer reading's text
    return [
        dataclasses.replace(v, text=u.text, confidence=u.confidence) if u.confidence > v.confidence else v
        for u, v in zip(a, b, strict=True)
    ]


def _wider(new: Sequence[Word], old: Sequence[Word]) -> bool:
    """The re-read row is a sure reading of much more of the row than the page OCR's (which lost a
    part of it under the seal)."""

    def width(ws: Sequence[Word]) -> int:
        return max(w.box.x + w.box.w for w in ws) - min(w.box.x for w in ws)

    return _text_row(new) and width(new) > 1.25 * width(old)


def _text_row(ws: Sequence[Word]) -> bool:
    return _mean_confidence(ws) >= MIN_ROW_CONFIDENCE and any(sum(c.isalnum() for c in w.text) >= 2 for w in ws)


def _insert_at(lines: Sequence[Sequence[Word]], new: Sequence[Word]) -> int:
    """Where a re-read row goes in the page's reading order: after the last line above it.

    The last in reading order, not the nearest: a diploma's left panel is read before its right
    panel, and the signer's name in the right panel goes after the right panel's lines above it.
    """
    middle = sum(_extent(new)) / 2
    above = [k for k, ws in enumerate(lines) if ws and sum(_extent(ws)) / 2 <= middle]
    return max(above) + 1 if above else 0


def merge_region(ocr_page: OcrPage, region: Box, fresh: list[list[Word]]) -> OcrPage:
    """``ocr_page`` with the words in ``region`` replaced, row by row, by the surer of the two readings.

    A re-read row takes the place of the page OCR's row it replaces; a row the page OCR lost joins
    a page line on its baseline outside the region (the "Nơi nhận" list beside a letter's signer),
    as the page OCR joins side-by-side blocks, or goes after the last line above it.
    """
    kept: dict[int, list[Word]] = {}
    old: dict[int, list[Word]] = {}
    for w in ocr_page.words:
        (old if _inside(w, region) else kept).setdefault(w.line, []).append(w)
    lines = [kept.get(i, []) for i in sorted(set(kept) | set(old))]
    index = {i: k for k, i in enumerate(sorted(set(kept) | set(old)))}
    extra: list[list[Word]] = []
    used: set[int] = set()
    for new in fresh:
        rivals = [i for i, ws in old.items() if _same_row(ws, new, 0.5)]
        before = [w for i in rivals for w in old[i]]
        if before and (paired := _word_by_word(before, new)) is not None:
            new = paired
        elif before and _mean_confidence(before) > _mean_confidence(new) and not _wider(new, before):
            continue  # the page OCR read this row better (the old words are put back below)
        elif not before and not _text_row(new):
            continue  # a pen stroke or the seal's edge read as letters
        if rivals and not used & set(rivals):
            lines[index[rivals[0]]].extend(new)  # in the place of the row it replaces
        else:
            extra.append(new)
        used.update(rivals)
    for i, ws in old.items():
        if i not in used and _text_row(ws):  # not seal ink: the re-read missed it
            lines[index[i]].extend(ws)
    for new in sorted(extra, key=lambda ws: _extent(ws)[0]):
        new_left, new_right = min(w.box.x for w in new), max(w.box.x + w.box.w for w in new)
        target = next(
            (
                ws
                for ws in lines
                if ws and _same_row(ws, new) and all(w.box.x + w.box.w <= new_left or w.box.x >= new_right for w in ws)
            ),
            None,
        )
        if target is not None:
            target.extend(new)
            continue
        lines.insert(_insert_at(lines, new), list(new))
    rows = [sorted(ws, key=lambda w: w.box.x) for ws in lines if ws]
    words = [dataclasses.replace(w, line=i) for i, ws in enumerate(rows) for w in ws]
    texts = tuple(" ".join(w.text for w in ws) for ws in rows)
    return OcrPage(ocr_page.index, ocr_page.width, ocr_page.height, tuple(words), texts)


def refine_ocr(
    pages: Sequence[Page], ocr: OcrResult, options: OcrOptions, find: Callable[[OcrPage], Block | None]
) -> OcrResult:
    """``ocr`` with the signature block that ``find`` finds re-read (see ``reread``).

    The block is looked for from the last page back (an annex may follow the signature). A failed
    re-read (tesseract crashed or timed out) keeps the page OCR.
    """
    if not pages or len(pages) != len(ocr.pages):
        return ocr
    for k in reversed(range(len(pages))):
        block = find(ocr.pages[k])
        if block is None:
            continue
        try:
            page = reread(pages[k], ocr.pages[k], block, options)
        except OcrError as e:
            log.warning("signature block re-read failed: %s", e.detail)
            return ocr
        return dataclasses.replace(ocr, pages=(*ocr.pages[:k], page, *ocr.pages[k + 1 :]))
    return ocr


def refiner(spec: BlockTitles | None) -> Refine | None:
    """The refine step that re-reads a signature block found by ``spec`` (a type's
    ``signature_block``); None for a type without one. The caller looks the type up, so this module
    (which the letter's type uses) never imports the registry of types."""
    if spec is None:
        return None

    def refine(pages: Sequence[Page], ocr: OcrResult, options: OcrOptions) -> OcrResult:
        return refine_ocr(pages, ocr, options, lambda p: find_block(p, spec))

    return refine
