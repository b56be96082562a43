"""Scans the development corpus does not have: big skew, damaged black-and-white copies.

The skew tests run the projection-profile search on drawn text (no OCR); the others run the real
tesseract on a drawn page: a tilted sheet is straightened and read, a copy whose thin strokes the
toner lost is read again from other cleaned images, and a clean page is read once.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.models import Page
from pipeline.read._exec.tesseract import image_to_words
from pipeline.read.ocr import OcrOptions, ocr_page, prepare_for_ocr, reading_strength
from pipeline.read.preprocess import PreprocessOptions, find_skew, preprocess_page, rotate_image

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
LINES = [
    "Họ và tên người khai: Nguyễn Thị Hương",
    "Ngày sinh: 12/03/1987, nơi sinh: xã Tân Phú",
    "Địa chỉ thường trú: thôn Đông, huyện Cẩm Giàng",
    "Quốc tịch: Việt Nam   Dân tộc: Kinh",
    "Nơi đăng ký: Ủy ban nhân dân xã An Hòa",
    "Ngày đăng ký: 05 tháng 7 năm 2021",
]


def _printed(size: int = 40, margin: int = 60) -> np.ndarray:
    """The lines printed in black on white, grey, at ~300 dpi (40 px is a 10 pt font)."""
    pitch = round(size * 1.5)
    image = Image.new("L", (1500 + 2 * margin, 2 * margin + pitch * len(LINES)), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(SERIF, size)
    for i, text in enumerate(LINES):
        draw.text((margin, margin + pitch * i), text, font=font, fill=20)
    return np.asarray(image)


def _photocopied(grey: np.ndarray, sigma: float, threshold: float, seed: int = 0) -> np.ndarray:
    """A black-and-white copy: toner blur and grain, then one hard threshold that loses thin strokes."""
    rng = np.random.default_rng(seed)
    toner = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), sigma) + rng.normal(0, 18, grey.shape)
    return np.where(toner >= threshold, 255, 0).astype(np.uint8)


def _page(grey: np.ndarray) -> Page:
    return Page(index=0, image=np.dstack([grey] * 3), dpi=300.0)


# ---- skew --------------------------------------------------------------------------------------
@pytest.mark.parametrize("tilt", [-12.5, -7.0, 8.0, 13.0])
def test_find_skew_finds_tilts_beyond_five_degrees(tilt: float) -> None:
    # GIVEN text turned by `tilt` degrees counter-clockwise (a sheet laid askew on the glass)
    tilted = rotate_image(_printed(), tilt)
    # THEN the search undoes it to a tenth of a degree
    assert find_skew(tilted) == pytest.approx(-tilt, abs=0.1)


@pytest.mark.parametrize("tilt", [-3.3, 0.0, 1.2])
def test_find_skew_keeps_small_tilts_exact(tilt: float) -> None:
    assert find_skew(rotate_image(_printed(), tilt)) == pytest.approx(-tilt, abs=0.1)


def test_find_skew_searches_only_the_range_asked() -> None:
    assert abs(find_skew(rotate_image(_printed(), 9.0), max_skew=5.0)) <= 5.0


def test_a_page_nine_degrees_askew_is_straightened_and_read() -> None:
    page = _page(rotate_image(_printed(), -9.0))
    straight = preprocess_page(page, PreprocessOptions())
    assert straight.skew == pytest.approx(9.0, abs=0.15)
    text = " ".join(ocr_page(straight, OcrOptions()).lines)
    for expected in ("Nguyễn Thị Hương", "12/03/1987", "Ủy ban nhân dân xã An Hòa"):
        assert expected in text


# ---- a second reading of a weak page -------------------------------------------------------------
def _first_reading_strength(page: Page) -> tuple[float, float]:
    image, _ = prepare_for_ocr(page, OcrOptions())
    return reading_strength(image_to_words(image, OcrOptions().tesseract(), page.dpi))


def test_a_clean_page_is_read_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pipeline.read.ocr"):
        read = ocr_page(_page(_printed()), OcrOptions())
    assert "weak reading" not in caplog.text
    assert "Nguyễn Thị Hương" in " ".join(read.lines)


def test_a_weak_photocopy_is_read_again_and_the_surest_reading_kept(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a light copy: thin strokes lost, the first (binarised) reading weak
    page = _page(_photocopied(_printed(), sigma=0.8, threshold=60))
    mean, first = _first_reading_strength(page)
    assert mean < OcrOptions().reread_below  # type: ignore[operator]
    # WHEN it is read with and without the second look
    with caplog.at_level(logging.INFO, logger="pipeline.read.ocr"):
        kept = ocr_page(page, OcrOptions())
    once = ocr_page(page, OcrOptions(reread_below=None))
    # THEN the page was read again, and what is kept is at least as sure as the first reading
    assert "weak reading" in caplog.text
    kept_score = sum(w.confidence * len(w.text) for w in kept.words if any(c.isalnum() for c in w.text))
    once_score = sum(w.confidence * len(w.text) for w in once.words if any(c.isalnum() for c in w.text))
    assert kept_score >= once_score - 1.0  # word cleaning may drop a junk edge character or two
    assert first > 0


def test_a_copy_the_threshold_wipes_out_is_still_read() -> None:
    # GIVEN a copy so light that the binarised image reads as (almost) nothing: the reader
    # would refuse it as blank (fewer than 3 confident words)
    page = _page(_photocopied(_printed(), sigma=1.2, threshold=55))
    once = ocr_page(page, OcrOptions(reread_below=None))
    assert len([w for w in once.words if w.confidence >= 0.5]) < 3
    # THEN another cleaned image gives words to read (and to flag), not a blank page
    assert len([w for w in ocr_page(page, OcrOptions()).words if w.confidence >= 0.5]) >= 5
