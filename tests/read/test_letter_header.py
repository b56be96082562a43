"""The header of an official document read by its Decree 30/2020 layout (``letter.header``).

The unit tests build the OCR of a letter's first page word by word (boxes as a monospaced font
prints them): the issuer's block and the number on the left, the national motto and the date on
the right, then the subject ("V/v …" under the number, or centred under the kind's title) and the
body. The last test reads a real published letter end to end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.models import REVIEW_THRESHOLD, Box, FieldValue, OcrPage, OcrResult, SourceFile, Word
from pipeline.read.doctypes.letter.header import read_header
from pipeline.read.doctypes.letter.words import same_but_tone_place, snap_phrases
from pipeline.read.doctypes.registry import DOCTYPES
from pipeline.read.reader import ReadOptions, read_document
from pipeline.read.text.lines import document_lines

REAL = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "real"

CHAR_W, HEIGHT, GAP, PITCH = 22, 40, 16, 80
LEFT, MOTTO_X, DATE_X = 420, 1300, 1300
# A line of the page: its segments (text, left x, confidence of its words or {word: confidence});
# segments on one line share a baseline (the two header columns). ``None``: an empty line (a gap).
Segment = tuple[str, int] | tuple[str, int, float | dict[str, float]]
Line = list[Segment] | None


def _width(text: str) -> int:
    tokens = text.split()
    return CHAR_W * sum(len(t) for t in tokens) + GAP * (len(tokens) - 1)


def centred(text: str, centre: int) -> int:
    return centre - _width(text) // 2


def _ocr(lines: list[Line]) -> OcrResult:
    words: list[Word] = []
    texts: list[str] = []
    number = 0
    for i, line in enumerate(lines):
        if line is None:
            continue
        y = 200 + PITCH * i
        row: list[str] = []
        for segment in line:
            text, x = segment[0], segment[1]
            conf = segment[2] if len(segment) == 3 else 0.95
            for token in text.split():
                c = conf.get(token, 0.95) if isinstance(conf, dict) else conf
                w = CHAR_W * len(token)
                words.append(Word(token, c, Box(x, y, w, HEIGHT), line=number))
                row.append(token)
                x += w + GAP
        texts.append(" ".join(row))
        number += 1
    return OcrResult((OcrPage(0, 2480, 3508, tuple(words), tuple(texts)),))


def _header(lines: list[Line]) -> dict[str, FieldValue]:
    return read_header(document_lines(_ocr(lines)))


BODY = "Theo đề nghị của Bộ Tài chính tại nội dung các Công văn về việc xin ý kiến dự thảo Nghị định"


def _letter(
    orgs: list[str],
    number: str = "Số: 575/UBND-KTTH",
    date: str = "Quảng Ngãi, ngày 04 tháng 02 năm 2025",
    subject: list[Line] | None = None,
    body: str = BODY,
) -> list[Line]:
    """A công văn's first page: ``orgs`` on the left beside the motto, the number beside the date."""
    right = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    lines: list[Line] = []
    for i in range(max(len(orgs), 2)):
        line: list[Segment] = []
        if i < len(orgs):
            line.append((orgs[i], centred(orgs[i], 700)))
        if i < 2:
            line.append((right[i], MOTTO_X + (60 if i else 0)))
        lines.append(line)
    lines.append([(number, LEFT), (date, DATE_X)])
    if subject is None:
        subject = [[("V/v tham gia ý kiến", 450)], [("các dự thảo Nghị định của", 420)], [("Chính phủ", 560)]]
    lines += subject
    lines += [[("Kính gửi: Sở Tài chính", 900)], [(body, 400)]]
    return lines


# ---- issuer and parent --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("orgs", "parent", "issuer", "sure"),
    [
        # one body on two lines: the second names only the territory of the first (for review: only
        # the weight of the type tells it from a regular-type parent, and these words carry none;
        # with weights see test_letter_weight)
        (["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"], None, "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI", False),
        (["HỘI ĐỒNG NHÂN DÂN", "HUYỆN BÌNH SƠN"], None, "HỘI ĐỒNG NHÂN DÂN HUYỆN BÌNH SƠN", False),
        (["ỦY BAN NHÂN DÂN", "THÀNH PHỐ HÀ NỘI"], None, "ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI", False),
        # a distinct body printed above the issuer is its parent
        (["BỘ Y TẾ", "BỆNH VIỆN BẠCH MAI"], "BỘ Y TẾ", "BỆNH VIỆN BẠCH MAI", True),
        (["UBND TỈNH BÌNH DƯƠNG", "SỞ GIÁO DỤC VÀ ĐÀO TẠO"], "UBND TỈNH BÌNH DƯƠNG", "SỞ GIÁO DỤC VÀ ĐÀO TẠO", True),
        (["BỘ CÔNG AN", "CÔNG AN TỈNH QUẢNG NGÃI"], "BỘ CÔNG AN", "CÔNG AN TỈNH QUẢNG NGÃI", True),
        (["ĐẢNG BỘ TỈNH QUẢNG NGÃI", "HUYỆN ỦY BÌNH SƠN"], "ĐẢNG BỘ TỈNH QUẢNG NGÃI", "HUYỆN ỦY BÌNH SƠN", True),
        # a long name cut at a conjunction is one body, under its parent
        (
            ["UBND TỈNH QUẢNG NGÃI", "SỞ LAO ĐỘNG - THƯƠNG BINH", "VÀ XÃ HỘI"],
            "UBND TỈNH QUẢNG NGÃI",
            "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI",
            True,
        ),
        (["CHÍNH PHỦ"], None, "CHÍNH PHỦ", True),  # a decree
    ],
)
def test_issuer_and_parent_by_the_decree_header_rules(
    orgs: list[str], parent: str | None, issuer: str, sure: bool
) -> None:
    fields = _header(_letter(orgs))
    assert fields["issuing_org"].value == issuer
    assert (fields["parent_org"].value if "parent_org" in fields else None) == parent
    assert (fields["issuing_org"].confidence >= REVIEW_THRESHOLD) == sure


def test_a_stamp_above_the_header_is_not_a_parent() -> None:
    lines = _letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"])
    fields = _header([[("HỎA TỐC", 500)], None, None, *lines])
    assert "parent_org" not in fields
    assert fields["issuing_org"].value == "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI"


def test_the_older_tone_placement_is_kept_as_printed() -> None:
    fields = _header(_letter(["UỶ BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"]))
    assert fields["issuing_org"].value == "UỶ BAN NHÂN DÂN TỈNH QUẢNG NGÃI"
    assert same_but_tone_place("UỶ", "ỦY") and same_but_tone_place("hoà", "hòa")
    assert not same_but_tone_place("BẢN", "BAN") and not same_but_tone_place("tính", "tỉnh")
    assert snap_phrases("UỶ BAN NHÂN DẪN TĨNH QUẢNG NGÃI", ("ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI",))[0] == (
        "UỶ BAN NHÂN DÂN TỈNH QUẢNG NGÃI"
    )


# ---- number ----------------------------------------------------------------------------------------------
def test_a_printed_number_is_read_with_its_code() -> None:
    fields = _header(_letter(["UBND TỈNH BÌNH DƯƠNG", "SỞ GIÁO DỤC VÀ ĐÀO TẠO"], number="Số: 1930/SGDĐT-VP"))
    assert fields["doc_number"].value == "1930/SGDĐT-VP"
    assert fields["doc_number"].confidence >= REVIEW_THRESHOLD
    decree = _header(_letter(["CHÍNH PHỦ"], number="Số: 30/2020/NĐ-CP"))
    assert decree["doc_number"].value == "30/2020/NĐ-CP"


@pytest.mark.parametrize(
    "number",
    [
        "Số:            /TB-UBND",  # left for the pen, not filled in (or not scanned)
        ("Số: Ø7 /CT-UBND", {"Ø7": 0.39}),  # written by hand, read as junk
        ("Sôx1† /CI-UBND", {"Sôx1†": 0.07}),  # the pen's digits over the label
    ],
)
def test_a_handwritten_number_the_ocr_cannot_read_is_empty_and_flagged(number: str | tuple[str, dict]) -> None:
    text, conf = (number, 0.95) if isinstance(number, str) else number
    lines = _letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"])
    lines[2] = [(text, LEFT, conf), ("Quảng Ngãi, ngày 04 tháng 02 năm 2025", DATE_X)]
    field = _header(lines)["doc_number"]
    assert (field.value, field.confidence) == ("", 0.0)
    assert field.box is not None  # where the clerk looks


def test_a_number_filled_in_after_printing_goes_to_review() -> None:
    lines = _letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"], number="Số: 542 /TB-UBND")
    field = _header(lines)["doc_number"]
    assert field.value == "542/TB-UBND"
    assert field.confidence < REVIEW_THRESHOLD


# ---- place and date -------------------------------------------------------------------------------------
def test_place_and_date_from_the_header_line() -> None:
    fields = _header(_letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"]))
    assert fields["issue_place"].value == "Quảng Ngãi"
    assert fields["issue_date"].value == "04/02/2025"
    assert min(fields["issue_place"].confidence, fields["issue_date"].confidence) >= REVIEW_THRESHOLD


def test_a_date_cited_in_the_body_is_not_the_issue_date() -> None:
    # GIVEN a header whose day was left for the pen, and a body that cites a dated decision
    cited = "Thực hiện Quyết định số 2269/QĐ-TTg ngày 31 tháng 12 năm 2021 của Thủ tướng Chính phủ"
    lines = _letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"], date="Quảng Ngãi, ngày      tháng 11 năm 2024")
    lines.insert(3, [(cited, 400)])  # even high up, right under the number
    fields = _header(lines)
    # THEN the date is empty and flagged, and the place is still read
    assert (fields["issue_date"].value, fields["issue_date"].confidence) == ("", 0.0)
    assert fields["issue_place"].value == "Quảng Ngãi"


@pytest.mark.parametrize(
    ("date", "conf"),
    [
        ("Quảng Ngãi, ngày 3 tháng 12 năm 2024", {"3": 0.65}),  # one digit of the pen's "31" read
        ("Quảng Ngãi, ngày 2# tháng01 năm 2021", {"2#": 0.79}),
        ("Quảng Ngãi, ngày4 tháng 4 năm 2020", {"ngày4": 0.61}),
        ("Quảng Ngãi, ngàW/F{ tháng 5 năm 2021", {"ngàW/F{": 0.04}),
    ],
)
def test_a_day_the_pen_wrote_and_the_ocr_cannot_read_is_empty_and_flagged(date: str, conf: dict[str, float]) -> None:
    lines = _letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"])
    lines[2] = [("Số: 575/UBND-KTTH", LEFT), (date, DATE_X, conf)]
    fields = _header(lines)
    assert (fields["issue_date"].value, fields["issue_date"].confidence) == ("", 0.0)
    assert fields["issue_place"].value == "Quảng Ngãi"


def test_a_printed_date_not_in_the_decree_s_form_is_read_for_review() -> None:
    # "ngày 5 tháng 1" printed (the decree prints "ngày 05 tháng 01"): read, and flagged
    fields = _header(_letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"], date="Quảng Ngãi, ngày 5 tháng 1 năm 2021"))
    assert fields["issue_date"].value == "05/01/2021"
    assert fields["issue_date"].confidence < REVIEW_THRESHOLD


def test_the_place_is_checked_against_the_territory_of_the_issuer() -> None:
    lines = _letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"], date="Quảng Ngõi, ngày 04 tháng 02 năm 2025")
    lines[2] = [("Số: 575/UBND-KTTH", LEFT), ("Quảng Ngõi, ngày 04 tháng 02 năm 2025", DATE_X, {"Ngõi,": 0.6})]
    assert _header(lines)["issue_place"].value == "Quảng Ngãi"


# ---- subject --------------------------------------------------------------------------------------------
def test_a_vv_subject_wrapped_on_three_lines_is_joined() -> None:
    fields = _header(_letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"]))
    assert fields["subject"].value == "V/v tham gia ý kiến các dự thảo Nghị định của Chính phủ"
    assert fields["subject"].confidence >= REVIEW_THRESHOLD


def _titled(kind: str, subject: list[str]) -> list[Line]:
    centre = 1196
    lines: list[Line] = [[(kind, centred(kind, centre))]]
    lines += [[(s, centred(s, centre))] for s in subject]
    return _letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"], number="Số: 660/TB-UBND", subject=lines)


def test_a_titled_document_s_subject_is_the_centred_block_under_the_title() -> None:
    lines = _titled(
        "THÔNG BÁO",
        ["Kết luận của Chủ tịch UBND tỉnh tại buổi làm việc", "với Ban Chỉ đạo xoá nhà tạm huyện Bình Sơn"],
    )
    lines.insert(-2, None)  # the short rule under the subject, then the body
    field = _header(lines)["subject"]
    assert field.value == "Kết luận của Chủ tịch UBND tỉnh tại buổi làm việc với Ban Chỉ đạo xoá nhà tạm huyện Bình Sơn"


def test_the_subject_stops_at_the_body_and_at_a_decision_s_authority() -> None:
    lines = _titled("QUYẾT ĐỊNH", ["Về việc ban hành Quy chế làm việc", "CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH"])
    assert _header(lines)["subject"].value == "Về việc ban hành Quy chế làm việc"
    # a body line right under the title block, indented and running to the margin, is not the subject
    body = "Thực hiện Quyết định số 2545/QĐ-TTg ngày 30/12/2016 của Thủ tướng Chính phủ phê duyệt Đề án"
    lines = _titled("CHỈ THỊ", ["Về việc triển khai thực hiện mở rộng nộp thuế điện tử"])
    lines.insert(-2, [(body, 520)])
    assert _header(lines)["subject"].value == "Về việc triển khai thực hiện mở rộng nộp thuế điện tử"


def test_a_stamp_beside_the_subject_and_the_pen_between_are_left_out() -> None:
    centre = 1196
    stamp = {"CV": 0.4, "ĐẾN": 0.3, "1174": 0.05, "7A": 0.36, "k4": 0.5}
    subject = "vê việc tăng cường công tác thi hành án hành chính"  # "Về" misread
    lines = _letter(
        ["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"],
        number="Số: 07/CT-UBND",
        subject=[
            [("CHỈ THỊ", centred("CHỈ THỊ", centre))],
            [("7A k4", 500, stamp)],  # pen strokes between the title and the subject
            [("CV ĐẾN 1174", 80, stamp), (subject, centred(subject, centre))],
            [("trên địa bàn tính Quảng Ngãi", centred("trên địa bàn tính Quảng Ngãi", centre))],
        ],
    )
    field = _header(lines)["subject"]
    assert field.value == "Về việc tăng cường công tác thi hành án hành chính trên địa bàn tỉnh Quảng Ngãi"


# ---- end to end: a real published letter ---------------------------------------------------------------------
@pytest.mark.slow
def test_a_real_letter_is_read_by_its_header() -> None:
    # GIVEN a real công văn of a provincial People's Committee, scanned, number filled in by hand
    folder = REAL / "qn_575_ubnd_ktth_2025"
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    files = [SourceFile(name, (folder / name).read_bytes()) for name in truth["files"]]
    # WHEN it is read
    result = read_document(files, ReadOptions())
    fields = result.fields.fields
    expected = truth["fields"]
    # THEN it is a letter, and the header is read as printed
    assert result.classification.doc_type == DOCTYPES["generic_letter"].name
    for name in ("issuing_org", "issue_place", "issue_date", "subject", "signer_name"):
        assert fields[name].value == expected[name], name
    assert "parent_org" not in fields  # one body on two lines
    # the number the pen wrote is read right, or left empty and flagged: never confidently wrong
    number = fields["doc_number"]
    assert number.value == expected["doc_number"] or number.confidence < REVIEW_THRESHOLD


def test_a_recipient_printed_as_a_list_goes_to_review() -> None:
    lines = _letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NGÃI"])
    one = DOCTYPES["generic_letter"].extract(_ocr(lines)).fields["recipient"]
    assert (one.value, one.confidence >= REVIEW_THRESHOLD) == ("Sở Tài chính", True)
    listed: list[Line] = [[("Kính gửi: - Sở Giao thông vận tải;", 900)], [("- Sở Tài chính.", 1080)]]
    field = DOCTYPES["generic_letter"].extract(_ocr([*lines[:-2], *listed, lines[-1]])).fields["recipient"]
    assert field.confidence < REVIEW_THRESHOLD


def test_a_stray_mark_or_a_shouted_word_keeps_the_place_or_subject_for_review() -> None:
    from pipeline.read.doctypes.letter.header import STRAY_MARK_CAP, _doubt_stray_marks

    out = {
        "issue_place": FieldValue("issue_place", "Hải: Phòng", 0.93),
        "subject": FieldValue("subject", "V/v triển khai một số nhiệm VỤ trọng tâm về công tác tư pháp, hộ tịch", 0.95),
    }
    _doubt_stray_marks(out)
    assert out["issue_place"].confidence == STRAY_MARK_CAP < REVIEW_THRESHOLD
    assert out["subject"].confidence == STRAY_MARK_CAP
    # acronyms in capitals and a plain place are what print has
    fine = {
        "issue_place": FieldValue("issue_place", "TP. Hồ Chí Minh", 0.93),
        "subject": FieldValue("subject", "V/v công bố Danh mục TTHC và quy trình giải quyết TTHC của HĐND", 0.95),
    }
    _doubt_stray_marks(fine)
    assert fine["issue_place"].confidence == 0.93 and fine["subject"].confidence == 0.95
