"""The diploma extractor on synthetic OCR lines (and one real faded scan)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pipeline.models import REVIEW_THRESHOLD, Box, ExtractedFields, SourceFile, Word
from pipeline.read.doctypes.diploma import written_date
from pipeline.read.doctypes.registry import DOCTYPES
from pipeline.read.reader import ReadOptions, read_document
from tests.support.corpus import corpus_doc
from tests.support.ocr_lines import Line, page


def diploma(**changes: Line) -> list[Line]:
    lines: dict[str, Line] = {
        "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "Độc lập - Tự do - Hạnh phúc",
        "title": "BẰNG TỐT NGHIỆP",
        "level": "TRUNG HỌC PHỔ THÔNG",
        "serial": "Số hiệu: C 8587334",
        "register": "Số vào sổ cấp bằng: 9172/TN2008",
        "issuer": "GIÁM ĐỐC SỞ GIÁO DỤC VÀ ĐÀO TẠO NGHỆ AN",
        "exam": "Căn cứ kết quả kỳ thi tốt nghiệp trung học phổ thông năm 2008,",
        "grant": "CÔNG NHẬN TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG",
        "name": "Họ và tên: Nguyễn Thị Thu Ngân",
        "dob": "Ngày sinh: 19/06/1990 Giới tính: Nữ",
        "birthplace": "Nơi sinh: Nghệ An",
        "school": "Học sinh trường: THPT Diễn Châu 2",
        "year": "Năm tốt nghiệp: 2008",
        "grade": "Xếp loại tốt nghiệp: Trung bình",
        "date": "Nghệ An, ngày 05 tháng 8 năm 2008",
        "signature": "GIÁM ĐỐC",
        "signer": "Trần Quốc Nam",
    }
    lines |= changes
    return [v for v in lines.values() if v]


def extract(lines: Sequence[Line], conf: float = 0.95) -> ExtractedFields:
    return DOCTYPES["diploma"].extract(page(lines, conf))


def conf(fields: ExtractedFields, name: str) -> float:
    return fields.fields[name].confidence


def words(text: str) -> list[Word]:
    return [Word(t, 0.9, Box(30 * i, 0, 20, 20), 0) for i, t in enumerate(text.split())]


def test_a_clean_diploma_is_read_whole() -> None:
    got = extract(diploma())
    assert got.values() == {
        "full_name": "Nguyễn Thị Thu Ngân",
        "date_of_birth": "19/06/1990",
        "sex": "Nữ",
        "place_of_birth": "Nghệ An",
        "graduation_year": "2008",
        "classification": "Trung bình",
        "issuer": "SỞ GIÁO DỤC VÀ ĐÀO TẠO NGHỆ AN",
        "serial_number": "C 8587334",
        "register_number": "9172/TN2008",
        "issue_date": "05/08/2008",
    }
    assert got.min_confidence >= REVIEW_THRESHOLD


# ---- the issue date --------------------------------------------------------------------------------
def test_the_written_date_is_read_when_ocr_glued_or_split_its_parts() -> None:
    assert written_date(words("Nghệ An, ngày05 tháng8 năm2008")) is not None
    assert written_date(words("Nghệ An, ngày05 tháng8 năm2008"))[::2] == ("05/08/2008", False)  # type: ignore[index]
    assert written_date(words("Nghệ An, ngay 05 thảng 8 nấm 2008"))[::2] == ("05/08/2008", False)  # type: ignore[index]
    split = written_date(words("Nghệ An, ngày 0 5 tháng 8 năm 2008"))
    assert split is not None and split[0] == "05/08/2008" and split[2]  # repaired: the clerk looks
    assert written_date(words("Hà Nội, ngày 02 tháng ö năm 2012"))[::2] == ("02/08/2012", True)  # type: ignore[index]
    assert written_date(words("ngày 31 tháng 2 năm 2012")) is None  # no such day


def test_a_garbled_month_is_read_but_flagged() -> None:
    got = extract(diploma(date="Nghệ An, ngày 05 tháng ổ năm 2008"))
    assert got.values()["issue_date"] == "05/08/2008"
    assert conf(got, "issue_date") < REVIEW_THRESHOLD


def test_an_issue_year_before_the_graduation_is_repaired_from_the_confirmed_year() -> None:
    got = extract(diploma(date="Nghệ An, ngày 05 tháng 8 năm 2006"))
    assert got.values()["issue_date"] == "05/08/2008"
    assert conf(got, "issue_date") < REVIEW_THRESHOLD
    # the graduation year read once only: nothing to repair from, the date is only flagged
    alone = extract(diploma(date="Nghệ An, ngày 05 tháng 8 năm 2006", exam="", register=""))
    assert alone.values()["issue_date"] == "05/08/2006"
    assert conf(alone, "issue_date") < REVIEW_THRESHOLD


# ---- labels and values -------------------------------------------------------------------------------
def test_a_serial_glued_to_its_label() -> None:
    got = extract(diploma(serial="Sốhiệu;K4878095.-"))
    assert got.values()["serial_number"] == "K 4878095"


def test_names_are_cleaned_and_a_repair_is_flagged() -> None:
    junk = extract(diploma(name="Họ và tên: Nguyễn Phương! Như."))
    assert junk.values()["full_name"] == "Nguyễn Phương Như"
    assert conf(junk, "full_name") < REVIEW_THRESHOLD
    surname = extract(diploma(name="Họ và tên: Vố Hữu An", dob="Ngày sinh: 19/06/1990 Giới tính: Nam"))
    assert surname.values()["full_name"] == "Võ Hữu An"
    assert conf(surname, "full_name") < REVIEW_THRESHOLD


def test_a_name_that_says_the_other_sex_flags_both() -> None:
    got = extract(diploma(dob="Ngày sinh: 19/06/1990 Giới tính: Nam"))
    assert conf(got, "sex") < REVIEW_THRESHOLD
    assert conf(got, "full_name") < REVIEW_THRESHOLD


def test_a_province_read_exactly_is_confirmed() -> None:
    got = extract(diploma(birthplace="Nơi sinh: TP. Hồ Chí Minh"), conf=0.7)
    assert got.values()["place_of_birth"] == "TP. Hồ Chí Minh"
    assert conf(got, "place_of_birth") >= REVIEW_THRESHOLD
    marks = extract(diploma(birthplace="Nơi sinh: Nghê An"))
    assert marks.values()["place_of_birth"] == "Nghệ An"


# ---- the years ---------------------------------------------------------------------------------------
def test_the_graduation_year_read_twice_is_confirmed() -> None:
    got = extract(diploma(), conf=0.7)
    assert conf(got, "graduation_year") >= REVIEW_THRESHOLD
    assert conf(got, "full_name") < REVIEW_THRESHOLD  # nothing confirms the name


def test_years_that_contradict_each_other_are_flagged() -> None:
    other = extract(diploma(year="Năm tốt nghiệp: 2006"))
    assert conf(other, "graduation_year") < REVIEW_THRESHOLD
    young = extract(diploma(dob="Ngày sinh: 19/06/1998 Giới tính: Nữ"))  # ten years old at graduation
    assert conf(young, "date_of_birth") < REVIEW_THRESHOLD
    booked = extract(diploma(register="Số vào sổ cấp bằng: 9172/TN2006", exam=""))
    assert conf(booked, "register_number") < REVIEW_THRESHOLD
    assert conf(booked, "graduation_year") < REVIEW_THRESHOLD


def test_an_unreadable_graduation_year_comes_from_the_exam_line_flagged() -> None:
    got = extract(diploma(year="Năm tốt nghiệp: ----"))
    assert got.values()["graduation_year"] == "2008"
    assert conf(got, "graduation_year") < REVIEW_THRESHOLD


# ---- a real faded scan -------------------------------------------------------------------------------
@pytest.mark.slow
def test_faded_archive_diploma() -> None:
    files, truth = corpus_doc("dev_0023")
    result = read_document([SourceFile(p.name, p.read_bytes()) for p in files], ReadOptions(), "diploma")
    got = result.fields.values()
    expected = truth["fields"]
    assert isinstance(expected, dict)
    for name in ("serial_number", "graduation_year", "issue_date", "full_name"):
        assert got[name] == expected[name], name
    wrong = [n for n, v in expected.items() if got.get(n) != v]
    assert all(result.fields.fields[n].confidence < REVIEW_THRESHOLD for n in wrong if n in result.fields.fields)


# ---- more repairs (appended) -------------------------------------------------------------------------
def test_the_issuer_is_respelled_from_its_closed_lists_and_confirmed_by_the_place_of_issue() -> None:
    issuer = "GIÁM ĐỐC SỞ GLSO ĐỤC VÀ ĐÀO TẠO NGHÊ AN"
    got = extract(diploma(issuer=issuer, date="Hà Nội, ngày 05 tháng 8 năm 2008"))
    assert got.values()["issuer"] == "SỞ GIÁO DỤC VÀ ĐÀO TẠO NGHỆ AN"
    assert conf(got, "issuer") < REVIEW_THRESHOLD  # repaired, and dated in another province
    confirmed = extract(diploma(issuer=issuer))
    assert confirmed.values()["issuer"] == "SỞ GIÁO DỤC VÀ ĐÀO TẠO NGHỆ AN"
    assert conf(confirmed, "issuer") >= REVIEW_THRESHOLD  # "Nghệ An, ngày ..." confirms the repair
    faded = extract(diploma(), conf=0.7)
    assert conf(faded, "issuer") >= REVIEW_THRESHOLD  # "Nghệ An, ngày ..." names the same province
    elsewhere = extract(diploma(date="Hà Nội, ngày 05 tháng 8 năm 2008"), conf=0.7)
    assert conf(elsewhere, "issuer") < REVIEW_THRESHOLD


def test_serial_letters_with_marks_or_a_split_number_are_repairs() -> None:
    for read in ("Số hiệu: Ć 8587334", "Số hiệu: C 8587 334"):
        got = extract(diploma(serial=read))
        assert got.values()["serial_number"] == "C 8587334", read
        assert conf(got, "serial_number") < REVIEW_THRESHOLD


def test_a_number_read_twice_or_with_a_speck_in_the_written_date() -> None:
    assert written_date(words("TP Hồ Chí Minh, ngày 17 thẳng 8 8 năm 1992"))[::2] == ("17/08/1992", True)  # type: ignore[index]
    assert written_date(words("Thái Bình, ngày 0Ï tháng 6 năm 2014"))[::2] == ("01/06/2014", True)  # type: ignore[index]


def test_a_misread_prefix_of_a_province_is_flagged() -> None:
    got = extract(diploma(birthplace="Nơi sinh: TP, Hồ Chị Minh"))
    assert got.values()["place_of_birth"] == "TP. Hồ Chí Minh"
    assert conf(got, "place_of_birth") < REVIEW_THRESHOLD
