"""The stroke weight of a letter's header lines (``letter.weight``) and the rule it decides in
``letter.header``: Decree 30/2020 prints the parent body in regular capitals, the issuer in bold.

The measure is tested on text rendered with a regular and a bold font (at a 300-dpi and a 100-dpi
size); the rule on a header built word by word with the weights set on its words.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.models import REVIEW_THRESHOLD, Box, FieldValue, OcrResult, Word
from pipeline.read.doctypes.letter.header import read_header
from pipeline.read.doctypes.letter.weight import measure, weights_decide
from pipeline.read.text.lines import document_lines
from tests.read.test_letter_header import _letter, _ocr

FONTS = Path("/usr/share/fonts/truetype/dejavu")


def _rendered(lines: list[tuple[str, str]], size: int) -> tuple[np.ndarray, list[list[Word]]]:
    """A grey page with each (text, style) line drawn, and its words with their ink boxes."""
    image = Image.new("L", (40 * size, (len(lines) + 1) * 2 * size), 255)
    draw = ImageDraw.Draw(image)
    rows: list[list[Word]] = []
    for i, (text, style) in enumerate(lines):
        font = ImageFont.truetype(str(FONTS / ("DejaVuSerif-Bold.ttf" if style == "bold" else "DejaVuSerif.ttf")), size)
        x, y = size, size + 2 * size * i
        row: list[Word] = []
        for token in text.split():
            left, top, right, bottom = draw.textbbox((x, y), token, font=font)
            draw.text((x, y), token, font=font, fill=0)
            box = Box(int(left), int(top), int(right - left), int(bottom - top))
            row.append(Word(token, 0.95, box, line=i))
            x = int(right) + size // 2
        rows.append(row)
    return np.asarray(image), rows


def _row_weight(weights: dict[int, float], row: list[Word]) -> float:
    return float(np.median([weights[id(w)] for w in row]))


@pytest.mark.parametrize("size", [50, 17])  # a 12-pt line at 300 dpi, and at 100 dpi
def test_bold_type_weighs_clearly_more_than_regular(size: int) -> None:
    grey, rows = _rendered(
        [("ỦY BAN NHÂN DÂN", "regular"), ("PHƯỜNG AN HẢI", "bold"), ("ỦY BAN NHÂN DÂN", "bold")], size
    )
    weights = measure(grey, rows)
    regular, bold, bold_again = (_row_weight(weights, r) for r in rows)
    assert regular / bold < 0.8  # header.LIGHTER: a regular line over a bold one is told apart
    assert abs(bold_again / bold - 1) < 0.1  # header.SAME: two bold lines are the same type


def _header_with_weights(orgs: list[str], weights: list[float | None]) -> dict[str, FieldValue]:
    ocr = _ocr(_letter(orgs))
    page = ocr.pages[0]
    by_line = dict(enumerate(weights))
    words = tuple(
        dataclasses.replace(w, weight=by_line.get(w.line)) if w.box.x < 1200 and w.line < len(orgs) else w
        for w in page.words
    )
    return read_header(document_lines(OcrResult((dataclasses.replace(page, words=words),))))


def test_a_regular_line_over_a_bold_territory_is_the_parent() -> None:
    fields = _header_with_weights(["ỦY BAN NHÂN DÂN", "PHƯỜNG AN HẢI"], [0.07, 0.11])
    assert fields["parent_org"].value == "ỦY BAN NHÂN DÂN"
    assert fields["issuing_org"].value == "PHƯỜNG AN HẢI"
    assert fields["issuing_org"].confidence >= REVIEW_THRESHOLD


def test_two_bold_lines_are_one_body_without_review() -> None:
    fields = _header_with_weights(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"], [0.092, 0.094])
    assert "parent_org" not in fields
    assert fields["issuing_org"].value == "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI"
    assert fields["issuing_org"].confidence >= REVIEW_THRESHOLD


@pytest.mark.parametrize("weights", [[0.085, 0.1], [None, 0.1], [None, None]])
def test_an_unclear_or_unmeasured_weight_keeps_one_body_for_review(weights: list[float | None]) -> None:
    fields = _header_with_weights(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"], weights)
    assert "parent_org" not in fields
    assert fields["issuing_org"].value == "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI"
    assert fields["issuing_org"].confidence < REVIEW_THRESHOLD


def _words(*weights: float) -> list[Word]:
    return [Word("ABC", 0.95, Box(0, 0, 10, 10), line=0, weight=x) for x in weights]


def test_a_lighter_line_must_be_lighter_word_by_word() -> None:
    bold = [_words(0.1, 0.11, 0.1)]
    assert weights_decide([_words(0.07, 0.07, 0.075)], bold) is True
    assert weights_decide([_words(0.07, 0.07, 0.105)], bold) is None  # one word as heavy as bold: unclear
    assert weights_decide([_words(0.1, 0.1)], bold) is False
    assert weights_decide([_words(0.087, 0.087)], bold) is None  # neither clearly lighter nor the same
