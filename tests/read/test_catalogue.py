"""The catalogue beyond the first five types: each new type classified from a rendered page (real
Tesseract), documents outside the catalogue answered ``UNKNOWN``, the letter still a letter, a
card's front and back read as one, and the machine-readable zone's check digits.

Pages are drawn by ``tests/support/catalogue_docs.py`` (with their truth); the zone tests build
their OCR lines by hand.
"""

from __future__ import annotations

from functools import cache

import pytest

from pipeline.models import REVIEW_THRESHOLD, Classification
from pipeline.read.classify import classify
from pipeline.read.doctypes.registry import DOCTYPES, OTHER, UNKNOWN, extract_fields, label_vi
from pipeline.read.reader import ReadOptions, ReadResult, read_document
from pipeline.read.text.lines import document_lines
from pipeline.read.text.mrz import FAILED_CHECK, check_digit, find_zone, make_td1, make_td3
from tests.support import ocr_lines
from tests.support.catalogue_docs import CATALOGUE_KINDS, OUTSIDE_KINDS, Rendered, render


@cache
def _read(kind: str, seed: int = 1, profile: str = "clean", wrong_check: bool = False) -> tuple[Rendered, ReadResult]:
    doc = render(kind, seed, profile, wrong_check)
    return doc, read_document(doc.files(), ReadOptions())


# ---- the machine-readable zone ---------------------------------------------------------------------
def test_check_digits_are_icao_9303() -> None:
    # the specimen of ICAO Doc 9303 part 3/4
    assert check_digit("L898902C3") == 6
    assert check_digit("740812") == 2
    assert check_digit("120415") == 9
    assert check_digit("ZE184226B<<<<<") == 1


TD1 = make_td1("090012345", "001090012345", "900115", "M", "300115", "VNM", "NGUYEN<<VAN<AN")
TD3 = make_td3("C1234567", "VNM", "TRAN<<THI<MAI", "850203", "F", "350101", "001185012345")


def test_a_card_zone_is_parsed_and_its_digits_pass() -> None:
    zone = find_zone(document_lines(ocr_lines.page(["Đặc điểm nhân dạng:", *TD1])))
    assert zone is not None and zone.kind == "TD1" and zone.valid
    assert (zone.optional, zone.date_of_birth, zone.sex, zone.expiry_date) == (
        "001090012345", "15/01/1990", "Nam", "15/01/2030",
    )  # fmt: skip
    assert zone.name == "NGUYEN VAN AN" and zone.optional_ok


def test_a_zone_read_with_ocr_slips_is_repaired() -> None:
    slipped = (TD1[0].replace("IDVNM0", "IDVNMO"), TD1[1].replace("<<<<<<<<<<<", "<<<<<ccccc"), TD1[2])
    zone = find_zone(document_lines(ocr_lines.page(list(slipped))))
    assert zone is not None and zone.valid and zone.optional == "001090012345"


def test_a_wrong_check_digit_sends_the_field_to_review() -> None:
    bad_dob = TD3[1][:19] + str((int(TD3[1][19]) + 1) % 10) + TD3[1][20:]
    fields = extract_fields("passport", ocr_lines.page(["HỘ CHIẾU PASSPORT", TD3[0], bad_dob])).fields
    assert fields["date_of_birth"].value == "03/02/1985"
    assert fields["date_of_birth"].confidence <= FAILED_CHECK < REVIEW_THRESHOLD
    assert fields["passport_number"].confidence < REVIEW_THRESHOLD  # the composite digit fails too
    good = extract_fields("passport", ocr_lines.page(["HỘ CHIẾU PASSPORT", *TD3])).fields
    assert good["date_of_birth"].confidence >= REVIEW_THRESHOLD
    assert (good["passport_number"].value, good["personal_id"].value, good["sex"].value) == (
        "C1234567", "001185012345", "Nữ",
    )  # fmt: skip


def test_the_back_zone_is_checked_against_the_front() -> None:
    front = [
        "CĂN CƯỚC CÔNG DÂN",
        "Số / No.: 001090012345",
        "Họ và tên / Full name:",
        "NGUYỄN VĂN AN",
        "Ngày sinh / Date of birth: 15/01/1990",
    ]
    same = extract_fields("cccd", ocr_lines.page([*front, "Đặc điểm nhân dạng:", *TD1])).fields
    assert same["mrz_id_number"].value == same["id_number"].value == "001090012345"
    assert same["date_of_birth"].confidence >= REVIEW_THRESHOLD
    other = make_td1("090099999", "001090099999", "900115", "M", "300115", "VNM", "NGUYEN<<VAN<AN")
    mixed = extract_fields("cccd", ocr_lines.page([*front, "Đặc điểm nhân dạng:", *other])).fields
    assert mixed["id_number"].confidence < REVIEW_THRESHOLD  # another card's back: for the clerk
    assert mixed["mrz_id_number"].confidence < REVIEW_THRESHOLD


# ---- classification, on rendered pages -----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CATALOGUE_KINDS))
def test_each_catalogue_type_is_classified_from_a_rendered_page(kind: str) -> None:
    doc, result = _read(kind)
    c: Classification = result.classification
    assert c.doc_type == doc.expected, c.scores
    assert c.confidence >= REVIEW_THRESHOLD
    fields = result.fields.fields
    for name, value in doc.fields.items():  # what the type reads, it reads right on a clean page
        if kind == "cccd_both" and name == "full_name":
            continue  # the 2021 front's own reading, tested on the corpus (test_cccd.py)
        assert fields[name].value == value, name


@pytest.mark.slow
@pytest.mark.parametrize("kind", OUTSIDE_KINDS)
def test_a_document_outside_the_catalogue_is_unknown(kind: str) -> None:
    _, result = _read(kind)
    assert result.classification.doc_type == UNKNOWN, result.classification.scores
    assert result.fields.fields == {} and result.fields.doc_type == UNKNOWN
    assert result.ocr.pages[0].words, "the text is kept"


@pytest.mark.slow
def test_the_letter_is_still_a_letter_and_an_application_is_not() -> None:
    assert _read("letter")[1].classification.doc_type == "generic_letter"
    # an application ("đơn") says "Kính gửi" too, and is none of the catalogue
    assert _read("application")[1].classification.doc_type == UNKNOWN


@pytest.mark.slow
def test_front_and_back_are_one_two_sided_copy() -> None:
    doc, result = _read("cccd_both")
    assert len(result.pages) == 2 and result.classification.doc_type == "cccd"
    assert label_vi("cccd") == "Căn cước công dân"  # the title: the card, not "(mặt trước); 2 trang"
    fields = result.fields.fields
    assert fields["id_number"].value == fields["mrz_id_number"].value == doc.fields["id_number"]
    assert fields["issue_date"].value == doc.fields["issue_date"]  # the back is read
    assert fields["issuing_authority"].value.startswith("CỤC TRƯỞNG")


@pytest.mark.slow
def test_a_wrong_check_digit_on_a_rendered_passport() -> None:
    doc, result = _read("passport", wrong_check=True)
    assert result.classification.doc_type == "passport"
    dob = result.fields.fields["date_of_birth"]
    assert dob.value == doc.fields["date_of_birth"] and dob.confidence < REVIEW_THRESHOLD


@pytest.mark.slow
def test_a_named_type_skips_classification() -> None:
    doc = render("table")
    result = read_document(doc.files(), ReadOptions(), OTHER)
    assert result.classification.doc_type == OTHER and result.fields.fields == {}
    assert result.ocr.pages[0].words
    assert DOCTYPES[OTHER].title_from_clerk


def test_nothing_recognised_has_no_type() -> None:
    c = classify(ocr_lines.page(["Một trang văn xuôi không có tiêu đề nào", "Hai dòng chữ bình thường"]))
    assert c.doc_type == UNKNOWN and c.doc_type not in DOCTYPES
