"""The CCCD front: its QR code, the cross-check of the QR against the printed text, the ID checks.

Fast tests build the OCR lines by hand; the one that reads a corpus scan end to end is slow.
"""

from __future__ import annotations

import logging
from typing import cast

import cv2
import numpy as np
import pytest
import qrcode
from PIL import Image

from pipeline import qr_symbols as qr_module
from pipeline.models import REVIEW_THRESHOLD, Box, ExtractedFields, OcrPage, OcrResult, Page, SourceFile, Word
from pipeline.qr_symbols import decode_qr, payload_texts, read_qr_codes
from pipeline.read.doctypes.cccd_front import check_cccd_expiry, parse_qr, respell_places
from pipeline.read.doctypes.registry import extract_fields
from pipeline.read.load import LoadLimits, load_document
from pipeline.read.ocr import OcrOptions, ocr_pages
from pipeline.read.reader import ReadOptions, _qr_payloads, read_document
from pipeline.read.text.dates import check_date, check_date_of_birth
from pipeline.read.text.ids import check_personal_id, id_birth
from pipeline.read.text.names import check_person_name
from tests.support.corpus import corpus_doc

PAYLOAD = "001099967859||Lý Thành Trung|01041999|Nam|Số 7 Bạch Mai, Hàng Bồ, Hoàn Kiếm, Hà Nội|20082022"


def _qr_image(text: str, box_size: int = 6, page: tuple[int, int] | None = None) -> np.ndarray:
    q = qrcode.QRCode(box_size=box_size, border=4)
    q.add_data(text.encode("utf-8"))  # bytes mode, no ECI: like the card's
    q.make()
    img = np.array(q.make_image().get_image().convert("L"), dtype=np.uint8)
    if page is None:
        return img
    canvas = np.full(page, 255, np.uint8)
    canvas[40 : 40 + img.shape[0], page[1] - 40 - img.shape[1] : page[1] - 40] = img
    return canvas


def _is_card_payload(text: str) -> bool:
    return parse_qr(text) is not None


# ---- decoding ------------------------------------------------------------------------------------
@pytest.mark.parametrize("doc_id", ["dev_0004", "dev_0038"])  # 0038: scanned a quarter turn, not turned back
def test_qr_of_a_corpus_card_decodes_to_its_payload(doc_id: str) -> None:
    files, truth = corpus_doc(doc_id)
    image = np.asarray(Image.open(files[0]).convert("RGB"))
    codes = decode_qr(image, page=0, accept=_is_card_payload)
    assert [c.text for c in codes] == [truth["qr_payload"]]
    box = codes[0].box
    assert 0 <= box.x and box.x + box.w <= image.shape[1] and 100 < box.w < 300


@pytest.mark.parametrize(
    "text",
    [
        PAYLOAD.replace("Lý Thành Trung", "Nguyễn Thị Ễ Đức"),
        "Thái Bình",  # zbar's own guess reads these short texts as Big5 / Shift-JIS / ISO-8859-1
        "Thượng Đức",
        "Huế",
        "Bà Nữ",
    ],
)
def test_synthetic_vietnamese_qr_decodes_exactly(text: str) -> None:
    codes = decode_qr(_qr_image(text))
    assert [c.text for c in codes] == [text]


def test_small_qr_is_read_on_a_fallback() -> None:
    # GIVEN a page whose QR modules are 2 px: too small for zbar on the page as it is
    page = _qr_image(PAYLOAD, box_size=2, page=(500, 800))
    page = cv2.GaussianBlur(page, (3, 3), 0)
    # THEN a fallback variant reads it, and its box is on the page
    codes = decode_qr(page, accept=_is_card_payload)
    assert [c.text for c in codes] == [PAYLOAD]
    assert codes[0].box.x > 500 and codes[0].box.w < 200


@pytest.mark.parametrize(
    "image",
    [
        np.full((300, 400), 255, np.uint8),
        np.zeros((0, 0), np.uint8),
        np.full((50, 50), 0.5, np.float32),
        np.full((300, 400, 3), 128, np.uint8),
    ],
)
def test_a_page_without_a_readable_qr_yields_nothing(image: np.ndarray) -> None:
    assert decode_qr(image) == ()


def test_a_qr_that_is_not_the_expected_payload_is_left_out() -> None:
    page = Page(0, _qr_image("https://example.org/not-a-card"))
    assert read_qr_codes([page], accept=_is_card_payload) == ()
    assert [c.text for c in read_qr_codes([page])] == ["https://example.org/not-a-card"]


@pytest.mark.parametrize("charset", ["latin-1", "cp1252", "big5", "shift_jis"])
def test_payload_misread_in_another_charset_is_repaired(charset: str) -> None:
    # zbar took the UTF-8 bytes for ``charset`` and handed back that text in UTF-8
    text = "Thái Bình" if charset in ("big5",) else "Huế" if charset == "shift_jis" else "Lý Thành Trung"
    mojibake = text.encode("utf-8").decode(charset).encode("utf-8")
    assert payload_texts(mojibake)[0] == text


def test_zbar_without_binary_mode_still_gives_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # an older zbar hands back its own guess at the charset, which payload_texts undoes
    monkeypatch.setattr(qr_module, "_zbar_binary", lambda grey: None)
    assert [c.text for c in decode_qr(_qr_image("Thái Bình"))] == ["Thái Bình"]
    assert [c.text for c in decode_qr(_qr_image(PAYLOAD), accept=_is_card_payload)] == [PAYLOAD]


def test_payload_texts_keeps_plain_text() -> None:
    assert payload_texts(PAYLOAD.encode("utf-8")) == (PAYLOAD,)
    assert payload_texts(b"ABC|123") == ("ABC|123",)
    assert payload_texts(b"\xff\xfe") == ("\xff\xfe",)  # not UTF-8: every byte kept, shape checks reject it


def test_read_decodes_qr_codes_only_for_a_type_that_carries_one() -> None:
    pages = [Page(0, _qr_image(PAYLOAD, page=(600, 900)))]
    quick = read_qr_codes(pages, fallbacks=False)
    assert _qr_payloads("cccd_front", pages, quick) == (PAYLOAD,)
    assert _qr_payloads("cccd_front", pages, ()) == (PAYLOAD,)  # the quick pass found none: fallbacks
    assert _qr_payloads("diploma", pages, quick) == ()


@pytest.mark.slow
def test_qr_code_is_hidden_from_ocr_so_the_header_beside_it_is_read() -> None:
    # Beside the QR code tesseract made one "image" block of code and header and dropped both.
    files, _ = corpus_doc("dev_0004")
    pages = load_document([SourceFile(p.name, p.read_bytes()) for p in files], LoadLimits())
    (code,) = read_qr_codes(pages, fallbacks=False)
    before = pages[0].image.copy()
    ocr = ocr_pages(pages, OcrOptions(), hide={0: [code.box]})
    assert (pages[0].image == before).all()  # the e-copy keeps its QR code
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in ocr.pages[0].lines[0]
    right = code.box.x + code.box.w
    assert not [
        w
        for w in ocr.pages[0].words
        if w.box.x < right
        and w.box.x + w.box.w > code.box.x
        and w.box.y < code.box.y + code.box.h
        and w.box.y + w.box.h > code.box.y
    ]


# ---- the payload ---------------------------------------------------------------------------------
def test_payload_is_parsed_in_the_printed_form() -> None:
    qr = parse_qr("079151451451|025453868|Nguyễn Thúy Vy|18031951|Nữ|Số 53 ngõ 113, Thủ Đức, TP. Hồ Chí Minh|02052024")
    assert qr is not None
    assert qr.printed() == {
        "id_number": "079151451451",
        "full_name": "NGUYỄN THÚY VY",
        "date_of_birth": "18/03/1951",
        "sex": "Nữ",
        "place_of_residence": "Số 53 ngõ 113, Thủ Đức, TP. Hồ Chí Minh",
    }
    assert (qr.old_id_number, qr.issue_date) == ("025453868", "02/05/2024")


def test_vietnamese_letters_upper_case_as_printed() -> None:
    qr = parse_qr(PAYLOAD.replace("Lý Thành Trung", "Đỗ Ngọc Quỳnh Ễ ưởng ỵ"))
    assert qr is not None and qr.full_name == "ĐỖ NGỌC QUỲNH Ễ ƯỞNG Ỵ"


@pytest.mark.parametrize(
    "payload",
    [
        "https://example.org/",
        PAYLOAD.replace("001099967859", "00109996785"),  # 11 digits
        PAYLOAD.replace("01041999", "31021999"),  # no such date
        PAYLOAD.replace("|Nam|", "|X|"),
        PAYLOAD.replace("Lý Thành Trung", "LÃ½ ThÃ\xa0nh Trung"),  # mojibake
        PAYLOAD.replace("Lý Thành Trung", "Th獺i B穫nh"),
        "|".join(PAYLOAD.split("|")[:5]),  # cut short
    ],
)
def test_payload_of_another_shape_is_refused(payload: str) -> None:
    assert parse_qr(payload) is None


# ---- cross-check -----------------------------------------------------------------------------------
CARD_LINES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "CĂN CƯỚC CÔNG DÂN",
    "Citizen Identity Card",
    "Số / No.: 001099967859",
    "Họ và tên / Full name:",
    "LÝ THÀNH TRUNG",
    "Ngày sinh / Date of birth: 01/04/1999",
    "Giới tính / Sex: Nam Quốc tịch / Nationality: Việt Nam",
    "Quê quán / Place of origin:",
    "Đa Kao, Quận 1, TP. Hồ Chỉ Minh",
    "Có giá trị đến:",
    "Date of expiry Nơi thường trú / Place of residence: Số 7 Bạch Mai, Hàng Bồ,",
    "01/04/2039 Hoàn Kiếm, Hà Nội",
]


def _ocr(lines: list[str], conf: float = 0.95, low: dict[str, float] | None = None) -> OcrResult:
    """OCR of the given lines; ``low``: words read with another confidence."""
    words = []
    for i, line in enumerate(lines):
        x = 10
        for text in line.split():
            words.append(Word(text, (low or {}).get(text, conf), Box(x, 20 + 30 * i, 12 * len(text), 24), line=i))
            x += 12 * len(text) + 10
    return OcrResult((OcrPage(0, 1000, 700, tuple(words), tuple(lines)),))


def _read(lines: list[str], *payloads: str, **kw: object) -> ExtractedFields:
    return extract_fields("cccd_front", _ocr(lines, **kw), payloads)  # type: ignore[arg-type]


def _replace(old: str, new: str) -> list[str]:
    return [ln.replace(old, new) for ln in CARD_LINES]


def test_card_without_qr_is_read_from_the_printed_text() -> None:
    fields = _read(_replace("LÝ THÀNH TRUNG", "LÝ THẢNH TRUNG")).fields
    assert fields["full_name"].value == "LÝ THẢNH TRUNG"  # the OCR value is kept
    assert fields["id_number"].value == "001099967859" and fields["id_number"].confidence >= REVIEW_THRESHOLD
    assert fields["place_of_residence"].value == "Số 7 Bạch Mai, Hàng Bồ, Hoàn Kiếm, Hà Nội"
    assert fields["place_of_origin"].value == "Đa Kao, Quận 1, TP. Hồ Chỉ Minh"


def test_qr_overrides_a_misread_name_with_the_printed_upper_case() -> None:
    fields = _read(_replace("LÝ THÀNH TRUNG", "LÝ THẢNH TRUNG"), PAYLOAD).fields
    assert fields["full_name"].value == "LÝ THÀNH TRUNG"
    assert fields["full_name"].confidence >= 0.95
    assert fields["full_name"].box is not None  # still points at the printed name
    for name in ("id_number", "date_of_birth", "sex", "place_of_residence"):
        assert fields[name].confidence >= 0.95, name


def test_qr_fills_a_name_the_ocr_could_not_read() -> None:
    fields = _read(_replace("LÝ THÀNH TRUNG", "%"), PAYLOAD).fields
    assert fields["full_name"].value == "LÝ THÀNH TRUNG"
    assert fields["full_name"].confidence >= REVIEW_THRESHOLD


def test_qr_wins_over_a_plainly_read_different_name_but_is_flagged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.read.doctypes.cccd_front"):
        fields = _read(_replace("LÝ THÀNH TRUNG", "TRẦN VĂN BẢO"), PAYLOAD).fields
    assert fields["full_name"].value == "LÝ THÀNH TRUNG"
    assert fields["full_name"].confidence < REVIEW_THRESHOLD
    assert fields["id_number"].confidence >= REVIEW_THRESHOLD  # the rest of the card agrees with the QR
    assert "full_name" in caplog.text and "TRẦN" not in caplog.text  # no personal data in the log


def test_qr_of_another_card_flags_every_field_it_carries() -> None:
    other = "036088001234||Trần Văn Bảo|12122008|Nam|Thôn Đông, Nam Định|01012024"
    fields = _read(CARD_LINES, other).fields
    assert fields["full_name"].value == "TRẦN VĂN BẢO"
    for name in ("id_number", "full_name", "date_of_birth", "sex", "place_of_residence"):
        assert fields[name].confidence < REVIEW_THRESHOLD, name


def test_qr_that_nothing_printed_confirms_is_flagged() -> None:
    fields = _read(["CĂN CƯỚC CÔNG DÂN", "Citizen Identity Card", "Quốc tịch / Nationality: Việt Nam"], PAYLOAD)
    assert fields.fields["full_name"].value == "LÝ THÀNH TRUNG"
    assert fields.fields["full_name"].confidence < REVIEW_THRESHOLD


def test_a_payload_that_is_not_a_card_is_ignored() -> None:
    fields = _read(_replace("LÝ THÀNH TRUNG", "LÝ THẢNH TRUNG"), "https://example.org/x").fields
    assert fields["full_name"].value == "LÝ THẢNH TRUNG"


def test_fields_the_qr_does_not_carry_stay_from_the_printed_text() -> None:
    fields = _read(CARD_LINES, PAYLOAD).fields
    assert fields["nationality"].value == "Việt Nam"
    assert fields["expiry_date"].value == "01/04/2039"
    assert fields["expiry_date"].confidence >= REVIEW_THRESHOLD
    # a place of origin part also in the residence takes the QR's diacritics; others stay as read
    assert fields["place_of_origin"].value == "Đa Kao, Quận 1, TP. Hồ Chỉ Minh"


def test_respell_places_only_where_the_parts_fold_equal() -> None:
    assert respell_places("Đa Kao, Quận 1, TP. Hồ Chỉ Minh", "Số 5, Thủ Đức, TP. Hồ Chí Minh") == (
        "Đa Kao, Quận 1, TP. Hồ Chí Minh"
    )
    assert respell_places("Thường Tin, Hà Nội", "Số 5, Hoàn Kiếm, Hà Nội") == "Thường Tin, Hà Nội"


def test_id_contradicting_the_printed_sex_lowers_both() -> None:
    fields = _read(_replace("Sex: Nam", "Sex: Nữ")).fields  # 001 0 99...: a man born in 1999
    assert fields["id_number"].confidence < REVIEW_THRESHOLD
    assert fields["sex"].confidence < REVIEW_THRESHOLD
    assert fields["id_number"].value == "001099967859"  # not "corrected"
    assert fields["date_of_birth"].confidence >= REVIEW_THRESHOLD


def test_id_contradicting_the_date_of_birth_lowers_both() -> None:
    fields = _read(_replace("01/04/1999", "01/04/1998")).fields
    assert fields["id_number"].confidence < REVIEW_THRESHOLD
    assert fields["date_of_birth"].confidence < REVIEW_THRESHOLD
    assert fields["sex"].confidence >= REVIEW_THRESHOLD


def test_id_consistent_with_date_and_sex_confirms_an_unsure_sex() -> None:
    fields = _read(CARD_LINES, low={"Nam": 0.5}).fields
    assert fields["sex"].value == "Nam" and fields["sex"].confidence >= REVIEW_THRESHOLD


def test_expiry_that_is_no_renewal_birthday_is_flagged() -> None:
    fields = _read(_replace("01/04/2039", "01/04/2038")).fields
    assert fields["expiry_date"].value == "01/04/2038"
    assert fields["expiry_date"].confidence < REVIEW_THRESHOLD


# ---- validators ------------------------------------------------------------------------------------
def test_valid_personal_id() -> None:
    assert check_personal_id("001099967859", "01/04/1999", "Nam") == []
    assert check_personal_id("027168900386", "04/11/1968", "Nữ") == []
    assert check_personal_id("079305001234", "05/06/2005", "NỮ") == []  # 3: a woman born in the 2000s
    assert check_personal_id("001099967859") == []
    assert id_birth("046176358126") == (1976, "female")


@pytest.mark.parametrize("number", ["003099967859", "097099967859", "000099967859", "099099967859"])
def test_personal_id_with_an_unknown_province_code(number: str) -> None:
    assert any("province" in p for p in check_personal_id(number, "01/04/1999", "Nam"))


def test_personal_id_sex_digit_contradicting_the_sex() -> None:
    assert check_personal_id("001099967859", "01/04/1999", "Nữ") == ["sex digit contradicts the sex"]
    assert check_personal_id("001199967859", "01/04/1999", "Nam") == ["sex digit contradicts the sex"]


def test_personal_id_century_digit_contradicting_the_date_of_birth() -> None:
    assert check_personal_id("001299967859", "01/04/1999", "Nam") == ["century digit contradicts the year of birth"]
    assert any("future" in p for p in check_personal_id("001499967859"))  # born in 2199


def test_personal_id_birth_year_digits_contradicting_the_date_of_birth() -> None:
    assert check_personal_id("001098967859", "01/04/1999", "Nam") == ["birth-year digits contradict the date of birth"]


@pytest.mark.parametrize("number", ["", "00109996785", "0010999678590", "00109996785O"])
def test_personal_id_that_is_not_12_digits(number: str) -> None:
    assert check_personal_id(number) != []


def test_date_validators() -> None:
    assert check_date("29/02/2024") == []
    assert check_date("29/02/2023") != [] and check_date("1/2/2023") != []
    assert check_date_of_birth("01/01/2999") != []
    assert check_date_of_birth("01/01/1800") != []
    assert check_date_of_birth("01/04/1999") == []


@pytest.mark.parametrize(
    ("expiry", "dob", "issued", "ok"),
    [
        ("01/04/2039", "01/04/1999", "20/08/2022", True),  # issued at 23: valid until 40
        ("01/04/2024", "01/04/1999", "20/08/2025", False),  # the 25th birthday came before the issue date
        ("01/04/2038", "01/04/1999", None, False),  # not a renewal birthday: a misread digit
        ("02/04/2039", "01/04/1999", None, False),
        ("Không thời hạn", "18/03/1951", "02/05/2024", True),
        ("Không thời hạn", "01/04/1999", "20/08/2022", False),
        ("04/11/2028", "04/11/1968", "28/02/2023", True),
    ],
)
def test_cccd_expiry(expiry: str, dob: str, issued: str | None, ok: bool) -> None:
    assert (check_cccd_expiry(expiry, dob, issued) == []) is ok


def test_person_name() -> None:
    assert check_person_name("NGUYỄN THỊ ỄNH") == []
    assert check_person_name("%") != [] and check_person_name("LÊ 4N") != [] and check_person_name("HUY") != []


# ---- end to end ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_rotated_card_whose_name_the_ocr_misses_is_read_from_its_qr() -> None:
    # GIVEN a card scanned upside down, whose printed name the OCR does not make out
    files, truth = corpus_doc("dev_0013")
    result = read_document([SourceFile(p.name, p.read_bytes()) for p in files], ReadOptions())
    # THEN every field the QR carries is right and not flagged
    fields, expected = result.fields.fields, cast(dict[str, str], truth["fields"])
    for name in ("id_number", "full_name", "date_of_birth", "sex", "place_of_residence"):
        assert fields[name].value == expected[name], name
        assert fields[name].confidence >= REVIEW_THRESHOLD, name
