"""Make a page upright and straight before OCR.

Only steps that measurably helped on the corpus are here (see the numbers in the docstrings).
The returned page keeps a colour/grey image that is fit to embed into the e-copy; OCR makes its
own binarised copy. Word boxes found later are in the coordinates of the image returned here.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.models import Page
from pipeline.read._exec.tesseract import TesseractOptions, detect_orientation
from pipeline.read.ocr import flatten_background

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreprocessOptions:
    orient: bool = True  # undo 90/180/270° turns (tesseract OSD)
    min_orientation_confidence: float = 1.5  # OSD "Orientation confidence" below this: leave as is
    straighten_photo: bool = True  # phone photo: find the sheet on the table and warp it to a rectangle
    deskew: bool = True
    max_skew: float = 15.0  # degrees searched either way
    tessdata_dir: str | None = None
    timeout: float = 60.0


def preprocess_page(page: Page, options: PreprocessOptions) -> Page:
    image, rotation, skew = page.image, 0, 0.0
    if options.orient:
        image, rotation = orient_upright(image, page.dpi, options)
    if options.straighten_photo:
        image = straighten_photo(image)
    if options.deskew:
        image, skew = deskew(image, options.max_skew)
    log.debug("page %d: rotation %d°, skew %.2f°", page.index, rotation, skew)
    return dataclasses.replace(page, image=image, rotation=rotation, skew=skew)


# ---- orientation ---------------------------------------------------------------------------
def scaled(grey: np.ndarray, scale: float) -> np.ndarray:
    """``grey`` resized by ``scale``, never to less than one pixel either way (odd aspect ratios)."""
    h, w = grey.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def to_grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def orient_upright(image: np.ndarray, dpi: float | None, options: PreprocessOptions) -> tuple[np.ndarray, int]:
    """Return the upright image and the clockwise rotation (0/90/180/270) that was undone."""
    tess = TesseractOptions(tessdata_dir=options.tessdata_dir, timeout=options.timeout)
    grey = to_grey(image)
    found = detect_orientation(grey, tess, dpi)
    if found is None or found.confidence < options.min_orientation_confidence:
        # A shadow across a phone photo hides the text from the check's own thresholding ("too
        # few characters"): look again at the page with its background flattened.
        again = detect_orientation(flatten_background(grey, dpi), tess, dpi)
        if again is not None and (found is None or again.confidence > found.confidence):
            log.info("orientation found on the flattened page (%d°, confidence %.1f)", again.rotate, again.confidence)
            found = again
    if found is None or found.rotate == 0 or found.confidence < options.min_orientation_confidence:
        return image, 0
    # OSD says how far to turn clockwise to make the text upright.
    ccw_quarter_turns = (4 - found.rotate // 90) % 4  # np.rot90 turns counter-clockwise
    upright = np.ascontiguousarray(np.rot90(image, k=ccw_quarter_turns))
    return upright, (360 - found.rotate) % 360


# ---- phone photos ----------------------------------------------------------------------------
def find_sheet(image: np.ndarray) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of a bright sheet lying on a darker background, or None.

    None for flatbed scans, where the sheet is the whole image.
    """
    grey = to_grey(image)
    scale = 800.0 / max(grey.shape)
    small = scaled(grey, scale)
    small = cv2.GaussianBlur(small, (7, 7), 0)
    _, mask = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = cv2.convexHull(max(contours, key=cv2.contourArea))
    total = float(small.shape[0] * small.shape[1])
    hull_area = cv2.contourArea(sheet)
    if not 0.1 <= hull_area / total <= 0.95:
        return None
    # Paper on a table is much brighter than the table; a faded scan's vignette is not.
    inside = cv2.fillConvexPoly(np.zeros_like(mask), sheet, 255)
    if float(small[inside > 0].mean()) - float(small[inside == 0].mean()) < 40.0:
        return None
    # Corners: extremes of x+y and y-x. Robust to rounded card corners and a sheet cut by the frame.
    pts = sheet.reshape(-1, 2).astype(np.float32)
    s, d = pts.sum(axis=1), pts[:, 1] - pts[:, 0]
    quad = np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float32)
    if cv2.contourArea(quad) < 0.9 * hull_area:  # not a quadrilateral (torn, folded, odd shape)
        return None
    if not _is_plausible_sheet(quad):
        return None
    return quad / scale


def _is_plausible_sheet(quad: np.ndarray, max_corner_error: float = 8.0) -> bool:
    """A photographed rectangle: corners near 90° (mild perspective only)."""
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        u, v = a - b, c - b
        cos = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        if abs(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) - 90.0) > max_corner_error:
            return False
    return True


def straighten_photo(image: np.ndarray) -> np.ndarray:
    """Cut the sheet out of a phone photo and undo the perspective."""
    corners = find_sheet(image)
    if corners is None:
        return image
    tl, tr, br, bl = corners
    w = round(float(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    h = round(float(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


# ---- deskew --------------------------------------------------------------------------------
def _profile_score(binary: np.ndarray, angle: float) -> float:
    h, w = binary.shape
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    rotated = cv2.warpAffine(binary, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    rows = rotated.sum(axis=1, dtype=np.float64)
    # Text lines aligned with the rows give a spiky profile: large differences between rows.
    return float(np.square(np.diff(rows)).sum())


def find_skew(image: np.ndarray, max_skew: float = 15.0) -> float:
    """Counter-clockwise degrees that straighten the text (projection-profile search).

    A coarse 1° search over the whole range on a small copy (~600 px), then 0.2° and 0.04° steps
    around the best angle on a ~1200 px copy: ±15° costs no more than the ±5° search at 0.5° steps
    on the larger copy did (a sheet laid 7° askew on the glass was refused as blank before).
    """
    grey = to_grey(image)
    coarse = _ink(grey, 600.0)
    candidates = np.arange(-round(max_skew), round(max_skew) + 1e-9, 1.0)
    best = _best_angle(coarse, candidates)
    binary, step = _ink(grey, 1200.0), 0.2
    candidates = np.arange(best - 3 * step, best + 3 * step + 1e-9, step)
    while True:
        best = _best_angle(binary, candidates)
        if step <= 0.05:
            return float(np.clip(best, -max_skew, max_skew))
        step /= 5.0
        candidates = np.arange(best - 2.5 * step, best + 2.5 * step + 1e-9, step)


def _ink(grey: np.ndarray, max_side: float) -> np.ndarray:
    """A 0/1 ink mask of ``grey`` at most ``max_side`` pixels long."""
    scale = min(1.0, max_side / max(grey.shape))
    small = scaled(grey, scale) if scale < 1 else grey
    _, binary = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return binary


def _best_angle(binary: np.ndarray, candidates: np.ndarray) -> float:
    scores = [_profile_score(binary, float(a)) for a in candidates]
    return float(candidates[int(np.argmax(scores))])


def rotate_image(image: np.ndarray, angle: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def deskew(image: np.ndarray, max_skew: float = 15.0) -> tuple[np.ndarray, float]:
    angle = find_skew(image, max_skew)
    if abs(angle) < 0.1:  # resampling blurs more than such a tilt hurts
        return image, 0.0
    return rotate_image(image, angle), round(angle, 2)
