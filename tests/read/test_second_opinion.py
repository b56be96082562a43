"""The second OCR model re-reads confident fields; a tone-mark disagreement sends them to review."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ecopy.settings import Settings
from ecopy.wiring import DEFAULT_CHECK_TESSDATA, read_options
from pipeline.errors import OcrModelError
from pipeline.models import Box, ExtractedFields, FieldValue, Page
from pipeline.read._exec.tesseract import check_tessdata
from pipeline.read.ocr import OcrOptions
from pipeline.read.second_opinion import SecondOpinion, check_fields, disagreement

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def test_disagreement_is_about_marks_on_the_same_letters() -> None:
    assert disagreement("Thị trấn Trâu Quy, Gia Lâm", "Thi tran Trâu Quỳ Gia Lâm") is not None
    assert disagreement("Thị trấn Trâu Quỳ, Gia Lâm", "Thị trấn Trâu Quỳ, Gia Lâm") is None
    assert disagreement("04/11/1968", "04/1 1/1968") is None  # other letters: no evidence either way
    assert disagreement("Hải Dương, tỉnh Hải Dương", "hai Hải Dương") is None  # one of the readings matches
    assert disagreement("NGUYỄN VĂN AN", "Nguyễn Văn An") is None  # letter case is not a disagreement


def _page_with(text: str) -> tuple[Page, Box]:
    font = ImageFont.truetype(FONT, 42)
    img = Image.new("L", (900, 160), 255)
    draw = ImageDraw.Draw(img)
    draw.text((40, 50), text, font=font, fill=0)
    x0, y0, x1, y1 = draw.textbbox((40, 50), text, font=font)
    return Page(0, np.array(img), dpi=300.0), Box(x0, y0, x1 - x0, y1 - y0)


def _fields(value: str, box: Box, confirmed: bool = False) -> ExtractedFields:
    return ExtractedFields("cccd_front", {"place": FieldValue("place", value, 0.95, 0, box, confirmed=confirmed)})


def test_a_tone_mark_the_second_model_reads_otherwise_is_sent_to_review() -> None:
    page, box = _page_with("Trâu Quỳ, Gia Lâm")
    opinion = SecondOpinion(tessdata_dir=str(DEFAULT_CHECK_TESSDATA))
    misread = check_fields([page], _fields("Trâu Quy, Gia Lâm", box), OcrOptions(), opinion)
    assert misread.fields["place"].confidence == opinion.disagreed
    right = check_fields([page], _fields("Trâu Quỳ, Gia Lâm", box), OcrOptions(), opinion)
    assert right.fields["place"].confidence == 0.95
    # a value an ID card's QR code confirmed is not second-guessed by OCR
    confirmed = check_fields([page], _fields("Trâu Quy, Gia Lâm", box, confirmed=True), OcrOptions(), opinion)
    assert confirmed.fields["place"].confidence == 0.95


def test_an_unusable_second_model_keeps_the_first_reading() -> None:
    page, box = _page_with("Trâu Quỳ")
    opinion = SecondOpinion(tessdata_dir="/nonexistent-tessdata")
    assert check_fields([page], _fields("Trâu Quy", box), OcrOptions(), opinion).fields["place"].confidence == 0.95


def test_an_incomplete_model_folder_is_refused_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "vie.traineddata").write_bytes((DEFAULT_CHECK_TESSDATA / "vie.traineddata").read_bytes())
    with pytest.raises(OcrModelError) as e:
        check_tessdata(tmp_path, "vie")
    assert "configs/tsv" in (e.value.detail or "") and "osd.traineddata" in (e.value.detail or "")
    check_tessdata(DEFAULT_CHECK_TESSDATA, "vie")  # what `make ocr-models` installs is complete
    with pytest.raises(OcrModelError):
        read_options(Settings(tessdata_dir=tmp_path))
    with pytest.raises(OcrModelError):
        read_options(Settings(ocr_check_tessdata_dir=tmp_path))
    assert read_options(Settings(ocr_check=False)).second_opinion is None
    assert read_options(Settings()).second_opinion is not None
