"""The birth certificate extractor on synthetic OCR lines (and one real faded scan).

The synthetic page follows the printed form: one OCR line per printed line, words laid out left
to right, every word read with the same confidence unless a test says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pipeline.models import REVIEW_THRESHOLD, ExtractedFields, SourceFile
from pipeline.read.doctypes.registry import DOCTYPES
from pipeline.read.reader import ReadOptions, read_document
from pipeline.read.text.names import clean_name, vietnamese_syllable
from pipeline.read.text.places import clean_place
from pipeline.read.text.tokens import Token
from tests.support.corpus import corpus_doc
from tests.support.ocr_lines import Line, page

RESIDENCE = "Số 243 Nguyễn Trãi, phường Xuân Khánh, quận Ninh Kiều, thành phố Cần Thơ"


def certificate(**changes: Line) -> list[Line]:
    """The printed lines of a certificate; ``changes`` replaces a line by its key."""
    lines: dict[str, Line] = {
        "book": "Số: 158/1984",
        "volume": "Quyển số: 04",
        "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "Độc lập - Tự do - Hạnh phúc",
        "title": "GIẤY KHAI SINH",
        "name": "Họ, chữ đệm, tên: TRẦN THÀNH HOÀNG",
        "dob": "Ngày, tháng, năm sinh: 17/10/1984",
        "words": "Ghi bằng chữ: Mười bảy tháng mười năm một nghìn chín trăm tám mươi tư",
        "sex": "Giới tính: Nam Dân tộc: Kinh Quốc tịch: Việt Nam",
        "birthplace": "Nơi sinh: Bệnh viện Đa khoa Trung ương Cần Thơ",
        "origin": "Quê quán: xã Giai Xuân, huyện Phong Điền, thành phố Cần Thơ",
        "id": "Số định danh cá nhân: 092084184424",
        "mother": "Họ, chữ đệm, tên người mẹ: Vũ Ngọc Bảo Uyên",
        "mother_more": "Năm sinh: 1957 Dân tộc: Kinh Quốc tịch: Việt Nam",
        "mother_residence": f"Nơi cư trú: {RESIDENCE}",
        "father": "Họ, chữ đệm, tên người cha: Trần Tuấn Dũng",
        "father_more": "Năm sinh: 1955 Dân tộc: Kinh Quốc tịch: Việt Nam",
        "father_residence": f"Nơi cư trú: {RESIDENCE}",
        "declarant": "Họ, chữ đệm, tên người đi khai sinh: Trần Tuấn Dũng Quan hệ: Cha",
        "place": "Nơi đăng ký khai sinh: UBND phường Xuân Khánh, quận Ninh Kiều, thành",
        "place_more": "phố Cần Thơ",
        "date": "Ngày, tháng, năm đăng ký: 03/12/1984",
        "signer": "NGƯỜI KÝ GIẤY KHAI SINH",
    }
    lines |= changes
    return [v for v in lines.values() if v]


def extract(lines: Sequence[Line], conf: float = 0.95) -> ExtractedFields:
    return DOCTYPES["birth_certificate"].extract(page(lines, conf))


def conf(fields: ExtractedFields, name: str) -> float:
    return fields.fields[name].confidence


def tokens(text: str) -> list[Token]:
    return [Token(t, None) for t in text.split()]


# ---- a clean certificate ---------------------------------------------------------------------------
def test_a_clean_certificate_is_read_whole() -> None:
    got = extract(certificate())
    assert got.values() == {
        "full_name": "TRẦN THÀNH HOÀNG",
        "date_of_birth": "17/10/1984",
        "date_of_birth_in_words": "Mười bảy tháng mười năm một nghìn chín trăm tám mươi tư",
        "sex": "Nam",
        "ethnicity": "Kinh",
        "nationality": "Việt Nam",
        "place_of_birth": "Bệnh viện Đa khoa Trung ương Cần Thơ",
        "place_of_origin": "xã Giai Xuân, huyện Phong Điền, thành phố Cần Thơ",
        "personal_id": "092084184424",
        "mother_name": "Vũ Ngọc Bảo Uyên",
        "father_name": "Trần Tuấn Dũng",
        "registration_place": "UBND phường Xuân Khánh, quận Ninh Kiều, thành phố Cần Thơ",
        "registration_date": "03/12/1984",
        "book_number": "158/1984",
        "book_volume": "04",
    }
    assert got.min_confidence >= REVIEW_THRESHOLD


# ---- names -----------------------------------------------------------------------------------------
def test_a_label_remnant_before_the_name_is_dropped_and_the_family_name_respelled() -> None:
    got = extract(certificate(name="Họ, chữ đệm, tên: n: NGUYÊN TRỌNG SƠN"))
    assert got.values()["full_name"] == "NGUYỄN TRỌNG SƠN"
    assert conf(got, "full_name") < REVIEW_THRESHOLD  # repaired: the clerk looks


def test_junk_inside_a_name_is_a_repair_but_trailing_punctuation_is_not() -> None:
    assert clean_name(tokens("Nguyễn Phương! Như.")).text == "Nguyễn Phương Như"
    assert clean_name(tokens("Nguyễn Phương! Như.")).repaired
    assert not clean_name(tokens("Nguyễn Phương Như.")).repaired
    assert clean_name(tokens("HuỳnhMinh Phúc")).text == "Huỳnh Minh Phúc"
    assert clean_name(tokens("Vố Hữu An")).text == "Võ Hữu An"  # a family name of the list, marks misread
    assert clean_name(tokens("H'Hen Niê")).text == "H'Hen Niê"  # an Ê Đê name keeps its prefix
    assert clean_name(tokens("Trần Tuấn Dũng k")).text == "Trần Tuấn Dũng"


def test_a_name_of_an_unusual_shape_is_flagged() -> None:
    for name in ("Nguyễn Văn A", "Nguyễn Ngấmuan", "nguyễn Văn Nam", "Nguyễn Hoàng Vìệt"):
        assert clean_name(tokens(name)).unusual, name
    assert clean_name(tokens("Nguyễn Hoàng Viêt\u0303")).repaired  # a stray mark dropped
    assert not clean_name(tokens("Nguyễn Thị Thu Ngân")).unusual
    assert vietnamese_syllable("Nghiêng") and vietnamese_syllable("khuyên") and not vietnamese_syllable("Ksor")


def test_the_declarant_confirms_the_parent_or_flags_a_disagreement() -> None:
    # a faded scan: Tesseract is unsure of every word
    same = extract(certificate(), conf=0.7)
    assert conf(same, "father_name") >= REVIEW_THRESHOLD  # named twice, read the same twice
    assert conf(same, "mother_name") < REVIEW_THRESHOLD  # nothing confirms her name
    marks = extract(certificate(father="Họ, chữ đệm, tên người cha: Trần Tuấn Dùng"))
    assert marks.values()["father_name"] == "Trần Tuấn Dùng"
    assert conf(marks, "father_name") < REVIEW_THRESHOLD


# ---- places ------------------------------------------------------------------------------------------
def test_junk_in_a_place_is_dropped_and_the_place_read_elsewhere_confirms_it() -> None:
    lines = certificate(
        place="Nơi đăng ký khai sinh: UBND phường X Xuân Khánh, quận Ninh Kiều, thành.",
        place_more="phố CầnThơ hố",
    )
    got = extract(lines)
    assert got.values()["registration_place"] == "UBND phường Xuân Khánh, quận Ninh Kiều, thành phố Cần Thơ"
    assert conf(got, "registration_place") >= REVIEW_THRESHOLD  # the residences print the same
    elsewhere = "Nơi cư trú: Thôn Tây, xã Đại Hà, huyện Kiến Thụy, thành phố Hải Phòng"
    alone = extract([*lines[:-9], elsewhere, *lines[-8:-6], elsewhere, *lines[-5:]])
    assert alone.values()["registration_place"] == "UBND phường Xuân Khánh, quận Ninh Kiều, thành phố Cần Thơ"
    assert conf(alone, "registration_place") < REVIEW_THRESHOLD  # nothing confirms the repair


def test_place_cleaning_keeps_what_is_printed_that_way() -> None:
    assert clean_place(tokens("xã Giao.Xuân, huyện Giao Thủy, tỉnh NamĐịnh")).text == (
        "xã Giao Xuân, huyện Giao Thủy, tỉnh Nam Định"
    )
    for printed in (
        "phường Võ Thị Sáu, Quận 3, Thành phố Hồ Chí Minh",
        "xã Yên Nhân, huyện Ý Yên, tỉnh Nam Định",
        "Trạm y tế phường Vĩnh Ninh, thành phố Huế",
        "Lô B, khu phố A, Tổ 5, TP. Hồ Chí Minh",
        "271/2 Nguyễn Huệ, phường An Phú",
    ):
        cleaned = clean_place(tokens(printed))
        assert (cleaned.text, cleaned.repaired) == (printed, False)
    dotted = clean_place(tokens("Số 169 Tên Lửa, phường Võ Thị Sáu ......"))  # a form's dotted leader
    assert (dotted.text, dotted.repaired) == ("Số 169 Tên Lửa, phường Võ Thị Sáu", False)


def test_tone_marks_of_a_place_go_with_its_other_readings() -> None:
    lines = certificate(place_more=("phố Cần Thợ", {"Thợ": 0.6}))
    got = extract(lines)
    assert got.values()["registration_place"] == "UBND phường Xuân Khánh, quận Ninh Kiều, thành phố Cần Thơ"


def test_a_glued_place_with_no_other_reading_is_flagged() -> None:
    got = extract(certificate(origin="Quê quán: xã Giai.Xuân, huyện Phong Điền, thành phố CầnThơ"))
    assert got.values()["place_of_origin"] == "xã Giai Xuân, huyện Phong Điền, thành phố Cần Thơ"
    assert conf(got, "place_of_origin") < REVIEW_THRESHOLD


# ---- the personal ID, the dates, the register --------------------------------------------------------
def test_an_id_that_agrees_with_the_birth_confirms_it() -> None:
    got = extract(certificate(words=""), conf=0.7)  # no date in words: only the ID confirms the date
    for name in ("personal_id", "date_of_birth", "sex"):
        assert conf(got, name) >= REVIEW_THRESHOLD, name
    assert conf(got, "full_name") < REVIEW_THRESHOLD


def test_an_id_that_contradicts_the_birth_the_sex_or_the_province_is_flagged() -> None:
    year = extract(certificate(id="Số định danh cá nhân: 092085184424", words=""))
    assert year.values()["personal_id"] == "092085184424"  # kept as printed: the clerk decides
    assert conf(year, "personal_id") < REVIEW_THRESHOLD
    assert conf(year, "date_of_birth") < REVIEW_THRESHOLD
    sex = extract(certificate(id="Số định danh cá nhân: 092184184424"))
    assert conf(sex, "personal_id") < REVIEW_THRESHOLD and conf(sex, "sex") < REVIEW_THRESHOLD
    assert conf(sex, "date_of_birth") >= REVIEW_THRESHOLD  # the words confirm the date
    province = extract(certificate(id="Số định danh cá nhân: 036084184424"))  # Nam Định, registered in Cần Thơ
    assert conf(province, "personal_id") < REVIEW_THRESHOLD


def test_registration_before_the_birth_or_in_another_years_book_is_flagged() -> None:
    early = extract(certificate(date="Ngày, tháng, năm đăng ký: 03/12/1983"))
    assert conf(early, "registration_date") < REVIEW_THRESHOLD
    assert conf(early, "book_number") < REVIEW_THRESHOLD  # the book of 1984


def test_a_date_without_separators_is_repaired_and_confirmed_by_the_words() -> None:
    got = extract(certificate(dob="Ngày, tháng, năm sinh: 17101984"))
    assert got.values()["date_of_birth"] == "17/10/1984"
    assert conf(got, "date_of_birth") >= REVIEW_THRESHOLD
    alone = extract(certificate(dob="Ngày, tháng, năm sinh: 17101984", words="", id=""))
    assert conf(alone, "date_of_birth") < REVIEW_THRESHOLD


def test_a_garbled_book_label_and_junk_beside_the_number() -> None:
    got = extract(certificate(volume=("Quyển sð:04..-", {"sð:04..-": 0.9})))
    assert got.values()["book_volume"] == "04"
    junk = extract(certificate(volume=("Quyển số: 01 SkG", {"SkG": 0.09})))
    assert junk.values()["book_volume"] == "01"
    assert conf(junk, "book_volume") >= REVIEW_THRESHOLD  # the junk beside it is not its confidence


# ---- a real faded scan -------------------------------------------------------------------------------
@pytest.mark.slow
def test_faded_archive_certificate() -> None:
    files, truth = corpus_doc("dev_0039")
    result = read_document([SourceFile(p.name, p.read_bytes()) for p in files], ReadOptions(), "birth_certificate")
    got = result.fields.values()
    expected = truth["fields"]
    assert isinstance(expected, dict)
    for name in ("registration_place", "book_volume", "personal_id", "date_of_birth", "father_name"):
        assert got[name] == expected[name], name
    wrong = [n for n, v in expected.items() if got.get(n) != v]
    assert all(result.fields.fields[n].confidence < REVIEW_THRESHOLD for n in wrong if n in result.fields.fields)


# ---- more repairs (appended) -------------------------------------------------------------------------
def test_commas_read_as_periods_or_lost_before_a_unit_are_put_back() -> None:
    cleaned = clean_place(tokens("xã Giao Xuân. huyện Giao Thủy tỉnh Nam, Định"))
    assert (cleaned.text, cleaned.repaired) == ("xã Giao Xuân, huyện Giao Thủy, tỉnh Nam Định", True)
    # a unit read with other marks is respelled: a closed list, not a guess
    units = clean_place(tokens("thị trần Lâm, huyện Ý Yên, tình Nam Định"))
    assert (units.text, units.repaired) == ("thị trấn Lâm, huyện Ý Yên, tỉnh Nam Định", False)
    assert clean_place(tokens("phường Vĩnh Ninh, thành: phố Huế")).text == "phường Vĩnh Ninh, thành phố Huế"
    assert clean_place(tokens("UBND phường Xuân Khánh, quận Ninh Kiều, l thành phố Cần Thơ")).text == (
        "UBND phường Xuân Khánh, quận Ninh Kiều, thành phố Cần Thơ"
    )


def test_a_place_wrapped_after_a_units_first_word_goes_on_despite_junk() -> None:
    got = extract(certificate(place_more=("phố Cần Thơ - l", {"l": 0.0})))
    assert got.values()["registration_place"] == "UBND phường Xuân Khánh, quận Ninh Kiều, thành phố Cần Thơ"


def test_a_place_read_otherwise_elsewhere_is_flagged() -> None:
    # GIVEN the place of origin's district read "Cao Thủy" while the registration place says "Giao Thủy"
    lines = certificate(
        origin="Quê quán: xã Giao Xuân, huyện Cao Thủy, tỉnh Nam Định",
        place="Nơi đăng ký khai sinh: UBND xã Giao Xuân, huyện Giao Thủy, tỉnh Nam Định",
        place_more="",
        id="Số định danh cá nhân: 036084184424",
    )
    got = extract(lines)
    assert conf(got, "place_of_origin") < REVIEW_THRESHOLD
    assert conf(got, "registration_place") < REVIEW_THRESHOLD


def test_closed_vocabularies_take_the_entry_the_value_starts_with() -> None:
    got = extract(certificate(sex="Giới tính: Nam Dân tộc: Kinh Quấc tịch: Việt Nam"))
    assert got.values()["ethnicity"] == "Kinh"
    glued = extract(certificate(sex="Giới tính: Nam Dântộc: Kinh Quốc tịch: Việt Nam"))
    assert (glued.values()["sex"], glued.values()["ethnicity"]) == ("Nam", "Kinh")


def test_a_date_whose_slashes_were_misread() -> None:
    for read in ("17/10!1984", "1771071984"):
        got = extract(certificate(dob=f"Ngày, tháng, năm sinh: {read}", words="", id=""))
        assert got.values()["date_of_birth"] == "17/10/1984", read
        assert conf(got, "date_of_birth") < REVIEW_THRESHOLD


def test_given_names_are_respelled_from_the_list_of_names() -> None:
    assert clean_name(tokens("Đặng Điệu Vy")).text == "Đặng Diệu Vy"
    assert clean_name(tokens("PHAN DIÊU HÀ")).text == "PHAN DIỆU HÀ"
    assert clean_name(tokens("Nguyễn Thi Thu Châu")).text == "Nguyễn Thị Thu Châu"
    assert clean_name(tokens("Võ Hữu Án")).unusual  # An or Ân: the clerk decides
    assert not clean_name(tokens("Lò Văn Pọm")).repaired  # a name not in the list is left as read
