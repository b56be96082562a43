"""The form rules that keep a field from being confidently wrong, on OCR lines built in the test:
a value cut where its line wrapped, two columns read as one, values a validator rejects.

Lines are laid out as a form prints them at 300 dpi: labels at x=330, a wrapped line either under
the label (x=330) or under the value (indented), 80 px apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.models import REVIEW_THRESHOLD, Box, ExtractedFields, OcrPage, OcrResult, Word
from pipeline.read.doctypes.marriage_certificate import _clean_address
from pipeline.read.doctypes.registry import DOCTYPES
from pipeline.read.text.date_words import parse_date_words
from pipeline.read.text.names import clean_name, name_doubts
from pipeline.read.text.places import clean_place, place_complete
from pipeline.read.text.tokens import Token, foreign_letters

CHAR_W, GAP, HEIGHT, PITCH, LEFT = 22, 16, 40, 80, 330

# A printed line: its text, or (x, text) for a line that starts elsewhere than the label column.
Printed = str | tuple[int, str]


def _page(lines: Sequence[Printed], conf: float = 0.95) -> OcrResult:
    words: list[Word] = []
    texts = []
    for i, line in enumerate(lines):
        x, text = (LEFT, line) if isinstance(line, str) else line
        for token in text.split():
            w = max(8, CHAR_W * len(token))
            words.append(Word(token, conf, Box(x, 200 + PITCH * i, w, HEIGHT), i))
            x += w + GAP
        texts.append(text)
    return OcrResult(pages=(OcrPage(0, 2480, 3508, tuple(words), tuple(texts)),))


def _value_x(label: str) -> int:
    """Where the value starts after ``label`` on a line that starts at the label column."""
    return LEFT + sum(max(8, CHAR_W * len(t)) + GAP for t in label.split())


BIRTH: dict[str, Printed] = {
    "book": "Số: 158/1984",
    "volume": "Quyển số: 04",
    "title": (900, "GIẤY KHAI SINH"),
    "name": "Họ, chữ đệm, tên: TRẦN THÀNH HOÀNG",
    "dob": "Ngày, tháng, năm sinh: 17/10/1984",
    "words": "Ghi bằng chữ: Mười bảy tháng mười năm một nghìn chín trăm tám mươi tư",
    "sex": "Giới tính: Nam Dân tộc: Kinh Quốc tịch: Việt Nam",
    "birthplace": "Nơi sinh: Trạm y tế thị trấn Núi Đèo, huyện Thủy Nguyên, thành phố Hải Phòng",
    "origin": "Quê quán: xã Lập Lễ, huyện Thủy Nguyên, thành phố Hải Phòng",
    "id": "Số định danh cá nhân: 031084184424",
    "mother": "Họ, chữ đệm, tên người mẹ: Vũ Ngọc Bảo Uyên",
    "mother_residence": "Nơi cư trú: thị trấn Núi Đèo, huyện Thủy Nguyên, thành phố Hải Phòng",
    "father": "Họ, chữ đệm, tên người cha: Trần Tuấn Dũng",
    "father_residence": "Nơi cư trú: thị trấn Núi Đèo, huyện Thủy Nguyên, thành phố Hải Phòng",
    "declarant": "Họ, chữ đệm, tên người đi khai sinh: Trần Tuấn Dũng Quan hệ: Cha",
    "place": "Nơi đăng ký khai sinh: UBND thị trấn Núi Đèo, huyện Thủy Nguyên, thành phố Hải Phòng",
    "date": "Ngày, tháng, năm đăng ký: 03/12/1984",
    "signer": (1260, "NGƯỜI KÝ GIẤY KHAI SINH"),
}
PLACE = "UBND thị trấn Núi Đèo, huyện Thủy Nguyên, thành phố Hải Phòng"


def _birth(**changes: Printed | Sequence[Printed]) -> ExtractedFields:
    lines: list[Printed] = []
    for line in (BIRTH | changes).values():
        if isinstance(line, list):
            lines.extend(line)
        elif line:
            lines.append(line)  # type: ignore[arg-type]
    return DOCTYPES["birth_certificate"].extract(_page(lines))


# ---- a value cut at the line wrap -------------------------------------------------------------------
def test_a_place_wrapped_under_its_label_goes_on_to_its_province() -> None:
    # GIVEN the registration place wrapped after "huyện Thủy": the next line has no label of its
    # own, starts with a name and is four words long (not "short", not after a comma)
    got = _birth(place=["Nơi đăng ký khai sinh: UBND thị trấn Núi Đèo, huyện Thủy", "Nguyên, thành phố Hải Phòng"])
    # THEN the place is read whole, and the readings of the same place elsewhere confirm it
    assert got.values()["registration_place"] == PLACE
    assert got.fields["registration_place"].confidence >= REVIEW_THRESHOLD


def test_a_place_wrapped_under_its_value_goes_on_too() -> None:
    label = "Nơi đăng ký khai sinh:"
    got = _birth(place=[f"{label} UBND thị trấn Núi Đèo, huyện Thủy", (_value_x(label), "Nguyên, thành phố Hải Phòng")])
    assert got.values()["registration_place"] == PLACE


def test_a_place_cut_with_nothing_below_is_flagged() -> None:
    # GIVEN the wrapped part printed far off (not where a wrapped line stands): it is not taken
    got = _birth(place=["Nơi đăng ký khai sinh: UBND thị trấn Núi Đèo, huyện Thủy", (1500, "Nguyên, thành phố Hải")])
    # THEN the place read does not end with a province: cut, the clerk looks
    assert got.values()["registration_place"] == "UBND thị trấn Núi Đèo, huyện Thủy"
    assert got.fields["registration_place"].confidence < REVIEW_THRESHOLD


def test_a_whole_place_does_not_take_the_next_unlabelled_line() -> None:
    # GIVEN the next field's label read as junk ("Ngàv thảng, nãm đẳng kỵ" is not recognised as a label)
    got = _birth(date="Xyzw qrst 03/12/1984 abc def")
    assert got.values()["registration_place"] == PLACE


def test_a_next_line_that_starts_like_a_label_is_not_the_rest_of_a_value() -> None:
    cut = "Nơi đăng ký khai sinh: UBND thị trấn Núi Đèo, huyện Thủy"
    got = _birth(place=cut, date="Ngàythángnămđăngký 03/12/1984")  # glued: not found as a label
    assert got.values()["registration_place"] == "UBND thị trấn Núi Đèo, huyện Thủy"
    assert got.fields["registration_place"].confidence < REVIEW_THRESHOLD


def test_the_date_in_words_goes_on_until_it_says_the_date() -> None:
    words = ["Ghi bằng chữ: Mười bảy tháng mười năm một nghìn chín trăm", "tám mươi tư"]
    got = _birth(words=words)
    assert got.values()["date_of_birth_in_words"] == "Mười bảy tháng mười năm một nghìn chín trăm tám mươi tư"
    assert got.fields["date_of_birth_in_words"].confidence >= REVIEW_THRESHOLD


def test_a_speck_between_number_words_is_no_number() -> None:
    assert parse_date_words("Hai mươi sáu u tháng năm năm một t nghìn chín trăm chín mươi tám") == "26/05/1998"


def test_place_complete() -> None:
    assert place_complete("xã Lập Lễ, huyện Thủy Nguyên, thành phố Hải Phòng")
    assert place_complete("Số 186 Hàng Bạc, Hàng Bạc, Hoàn Kiếm, Hà Nội")
    assert place_complete("Quận 3, TP. Hồ Chí Minh")
    assert place_complete("phường Năng Tĩnh, thành phố Nam Định, tỉnh Nam Định -")
    assert not place_complete("UBND xã Vĩnh Lộc A, huyện Bình Chánh, Thành")
    assert not place_complete("UBND thị trấn Núi Đèo, huyện Thủy")


def test_a_cccd_residence_wrapped_under_the_label_goes_on() -> None:
    lines: list[Printed] = [
        (900, "CĂN CƯỚC CÔNG DÂN"),
        "Số / No.: 031084184424",
        "Họ và tên / Full name:",
        "TRẦN THÀNH HOÀNG",
        "Ngày sinh / Date of birth: 17/10/1984",
        "Giới tính / Sex: Nam Quốc tịch / Nationality: Việt Nam",
        "Quê quán / Place of origin:",
        "Lập Lễ, Thủy Nguyên, Hải Phòng",
        "Nơi thường trú / Place of residence: Số 12 Lê Lợi, Núi Đèo,",
        "Thủy Nguyên, Hải Phòng",
        (100, "Có giá trị đến: 17/10/2024"),
    ]
    got = DOCTYPES["cccd_front"].extract(_page(lines))
    assert got.values()["place_of_residence"] == "Số 12 Lê Lợi, Núi Đèo, Thủy Nguyên, Hải Phòng"
    cut = [*lines[:8], "Nơi thường trú / Place of residence: Số 12 Lê Lợi, Núi Đèo, Thủy", (100, "Date of expiry")]
    got = DOCTYPES["cccd_front"].extract(_page(cut))
    assert got.fields["place_of_residence"].confidence < REVIEW_THRESHOLD


# ---- values a validator rejects ------------------------------------------------------------------------
def _tokens(text: str) -> list[Token]:
    return [Token(t, None) for t in text.split()]


def test_a_lone_letter_inside_a_place_is_a_speck() -> None:
    c = clean_place(_tokens("Trạm y i tế phường An Khê, quận Hai I Bà Trưng, thành phố Hà Nội"))
    assert c.text == "Trạm y tế phường An Khê, quận Hai Bà Trưng, thành phố Hà Nội"
    assert c.repaired
    kept = clean_place(_tokens("Lô A, khu phố B, xã Vĩnh Lộc A, huyện Ý Yên, tỉnh Nam Định"))
    assert kept.text == "Lô A, khu phố B, xã Vĩnh Lộc A, huyện Ý Yên, tỉnh Nam Định"
    assert not kept.repaired


def test_an_address_has_no_colon_and_no_lone_small_letter() -> None:
    assert _clean_address("UBND thị: trấn Núi Đèo, quận c Bình Tân, tỉnh: Nam Định") == (
        "UBND thị trấn Núi Đèo, quận Bình Tân, tỉnh Nam Định",
        True,
    )


def test_letters_vietnamese_does_not_write_are_a_misread() -> None:
    assert foreign_letters("søa") and foreign_letters("Hàñg") and foreign_letters("straße")
    assert not foreign_letters("Nguyễn Thị Ngọc Hạnh, Đắk Lắk, H'Hen Niê, Ksor")
    assert clean_place(_tokens("søa ngõ 89 Trần Hưng Đạo, tỉnh Quảng Ninh")).unusual


def test_a_name_unlike_a_persons_is_doubted() -> None:
    assert name_doubts("Nguyễn Thị Ngọc Bảo Uyên") == []
    assert name_doubts("H'Hen Niê") != []  # no listed family name: flagged, not wrong
    assert name_doubts("GIẤY CHỨNG NHẬN KẾT HÔN")  # the title read as a name
    assert name_doubts("Nguyễn Ngọc Lâm Nguyễn Thị Hạnh")  # the husband's column glued in front
    assert name_doubts("Lê Văn Tám Trần Văn")
    assert clean_name(_tokens("Nguyễn Ngọc Lâm Nguyễn Thị Hạnh")).unusual


def test_a_speck_before_a_cards_place_of_origin_is_dropped_and_flagged() -> None:
    lines: list[Printed] = [
        (900, "CĂN CƯỚC CÔNG DÂN"),
        "Số / No.: 031084184424",
        "Họ và tên / Full name:",
        "TRẦN THÀNH HOÀNG",
        "Quê quán / Place of origin:",
        "l Dư Hàng Kênh, Lê Chân, Hải Phòng",
        "Nơi thường trú / Place of residence: Số 12 Lê Lợi, Núi Đèo, Thủy Nguyên, Hải Phòng",
    ]
    got = DOCTYPES["cccd_front"].extract(_page(lines))
    assert got.values()["place_of_origin"] == "Dư Hàng Kênh, Lê Chân, Hải Phòng"
    assert got.fields["place_of_origin"].confidence < REVIEW_THRESHOLD


def test_a_lone_capital_vowel_may_be_a_word_of_a_place() -> None:
    c = clean_place(_tokens("UBND phường Ô Chợ Dừa, quận Đống Đa, thành phố Hà Nội"))
    assert c.text == "UBND phường Ô Chợ Dừa, quận Đống Đa, thành phố Hà Nội" and not c.repaired
    assert (
        clean_place(_tokens("xã Khánh An, huyện U Minh, tỉnh Cà Mau")).text == "xã Khánh An, huyện U Minh, tỉnh Cà Mau"
    )
