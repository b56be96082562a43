"""Reading real corpus scans end to end with the real Tesseract (no mocks).

Each test reads one document of a type and checks the type and the fields this first version
reads right; the scores over the whole set are measured separately (``ecopy eval``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.errors import OcrError, OcrTimeoutError, UnknownDocumentTypeError
from pipeline.models import SourceFile
from pipeline.read._exec.tesseract import TesseractOptions, detect_orientation, image_to_words
from pipeline.read.doctypes.registry import DOCTYPES, doc_type_names
from pipeline.read.reader import ReadOptions, ReadResult, read_document
from pipeline.read.text.dates import find_date, find_written_date
from pipeline.read.text.lines import fold, similarity

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "dev"


def _read(doc_id: str, doc_type: str | None = None) -> tuple[ReadResult, dict[str, Any]]:
    folder = CORPUS / doc_id
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    files = [SourceFile(name, (folder / name).read_bytes()) for name in truth["files"]]
    return read_document(files, ReadOptions(), doc_type=doc_type), truth


def _assert_fields(result: ReadResult, truth: dict[str, Any], names: list[str]) -> None:
    got = result.fields.values()
    wrong = {n: (got.get(n), truth["fields"][n]) for n in names if got.get(n) != truth["fields"][n]}
    assert not wrong, f"fields read wrong (got, truth): {wrong}"
    for n in names:
        assert 0.0 < result.fields.fields[n].confidence <= 1.0


def _assert_boxes_on_page(result: ReadResult) -> None:
    for page, ocr_page in zip(result.pages, result.ocr.pages, strict=True):
        h, w = page.image.shape[:2]
        assert (ocr_page.width, ocr_page.height) == (w, h)
        assert ocr_page.words
        for word in ocr_page.words:
            assert 0 <= word.box.x and word.box.x + word.box.w <= w + 1
            assert 0 <= word.box.y and word.box.y + word.box.h <= h + 1
            assert 0.0 <= word.confidence <= 1.0


@pytest.mark.slow
def test_rotated_id_card_is_turned_upright_and_read() -> None:
    # GIVEN a CCCD scanned a quarter turn clockwise
    result, truth = _read("dev_0038")
    # THEN the turn is undone and recorded, and the card is read
    assert [p.rotation for p in result.pages] == truth["page_rotation"]
    assert result.pages[0].image.shape[0] < result.pages[0].image.shape[1]  # landscape card again
    assert result.classification.doc_type == "cccd_front"
    _assert_fields(result, truth, ["id_number", "date_of_birth", "sex", "nationality", "expiry_date"])
    _assert_boxes_on_page(result)
    # the ID's word box sits on the printed number
    id_words = [w for w in result.ocr.pages[0].words if truth["fields"]["id_number"] in w.text]
    assert id_words and result.fields.fields["id_number"].box is not None


@pytest.mark.slow
def test_birth_certificate() -> None:
    result, truth = _read("dev_0033")
    assert result.classification.doc_type == "birth_certificate"
    _assert_fields(
        result,
        truth,
        ["full_name", "date_of_birth", "sex", "personal_id", "mother_name", "father_name", "book_number"],
    )


@pytest.mark.slow
def test_diploma() -> None:
    result, truth = _read("dev_0009")
    assert result.classification.doc_type == "diploma"
    _assert_fields(result, truth, ["full_name", "date_of_birth", "serial_number", "issuer", "issue_date"])


@pytest.mark.slow
def test_marriage_certificate_columns_are_told_apart() -> None:
    result, truth = _read("dev_0001")
    assert result.classification.doc_type == "marriage_certificate"
    _assert_fields(result, truth, ["husband_name", "wife_name", "husband_dob", "wife_dob", "husband_id", "wife_id"])


@pytest.mark.slow
def test_two_page_letter_pdf() -> None:
    result, truth = _read("dev_0012")
    assert len(result.pages) == 2
    # a letter that mentions "giấy khai sinh" and "giấy chứng nhận kết hôn" in its body is a letter
    assert result.classification.doc_type == "generic_letter"
    _assert_fields(result, truth, ["doc_number", "issue_date", "issue_place", "recipient"])
    assert "Kính gửi" in result.ocr.pages[0].text


@pytest.mark.slow
def test_given_doc_type_skips_classification() -> None:
    result, _ = _read("dev_0004", doc_type="cccd_front")
    assert result.classification.doc_type == "cccd_front"
    assert result.classification.confidence == 1.0


def test_unknown_doc_type_is_refused() -> None:
    with pytest.raises(UnknownDocumentTypeError):
        read_document([SourceFile("x.png", b"")], ReadOptions(), doc_type="visa")
    with pytest.raises(UnknownDocumentTypeError):  # "unknown" is an answer, never a type to read as
        read_document([SourceFile("x.png", b"")], ReadOptions(), doc_type="unknown")


def test_every_doc_type_has_an_extractor() -> None:
    assert all(DOCTYPES[name].extractor.run is not None for name in doc_type_names())


# ---- the one wrapper around the tesseract binary -------------------------------------------
def _text_image() -> np.ndarray:
    import cv2

    img = np.full((120, 700), 255, np.uint8)
    cv2.putText(img, "CONG HOA XA HOI", (10, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 0, 3)
    return img


def test_tesseract_reads_words_with_boxes() -> None:
    words = image_to_words(_text_image(), TesseractOptions(lang="vie", psm=6))
    assert [w.text for w in words][:2] == ["CONG", "HOA"]
    assert all(w.width > 0 and 0 <= w.conf <= 100 for w in words)


def test_blank_page_has_no_orientation() -> None:
    assert detect_orientation(np.full((400, 400), 255, np.uint8), TesseractOptions()) is None


def test_missing_tesseract_binary_is_an_ocr_error() -> None:
    with pytest.raises(OcrError) as e:
        image_to_words(_text_image(), TesseractOptions(binary="tesseract-not-installed"))
    assert e.value.__cause__ is not None


def test_tesseract_timeout_is_retryable() -> None:
    with pytest.raises(OcrTimeoutError) as e:
        image_to_words(_text_image(), TesseractOptions(timeout=0.001))
    assert e.value.retryable


def test_bad_language_is_an_ocr_error() -> None:
    with pytest.raises(OcrError):
        image_to_words(_text_image(), TesseractOptions(lang="xxx"))


# ---- OCR-tolerant helpers ------------------------------------------------------------------
def test_fold_keeps_positions() -> None:
    text = "Giấy chứng nhận kết hôn Đà Nẵng"
    assert fold(text) == "giay chung nhan ket hon da nang"
    assert len(fold(text)) == len(text)


def test_dates_are_normalised_and_must_be_real() -> None:
    assert find_date("Ngày sinh: 1/4/1999")[0] == "01/04/1999"  # type: ignore[index]
    assert find_date("Ngày sinh: O1/O4/1999")[0] == "01/04/1999"  # type: ignore[index]
    assert find_date("31/02/1999") is None
    assert find_written_date("Hải Phòng, ngày 05 tháng 3 năm 2024")[0] == "05/03/2024"  # type: ignore[index]
    assert similarity("GIAY KHAI SINH", "GIẤY KHAI SINH") == 1.0
