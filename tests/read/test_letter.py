"""Official letters (công văn): signer in the signature block, glued syllables, phrase snapping.

Most tests run the extractor on synthetic OCR words laid out like a letter (Nghị định 30 layout:
header on two columns, "Nơi nhận" list bottom left, signer's title and name bottom right).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.models import REVIEW_THRESHOLD, Box, ExtractedFields, OcrPage, OcrResult, Page, SourceFile, Word
from pipeline.read.classify import classify
from pipeline.read.doctypes.generic_letter import (
    ORG_PHRASES,
    SUBJECT_PHRASES,
    is_syllable,
    refine_ocr,
    signature_region,
    snap_phrases,
    split_glued,
    split_syllables,
)
from pipeline.read.doctypes.registry import DOCTYPES
from pipeline.read.ocr import OcrOptions, ocr_page
from pipeline.read.reader import ReadOptions, read_document
from pipeline.read.signer_block import remove_colored_ink
from tests.support.ocr_lines import page

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "dev"
SERIF_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"

PAGE_W, PAGE_H = 2480, 3508
CHAR_W, LINE_H, GAP = 22, 40, 16

# (text, left x, confidence of every word or {word: confidence}) per line, top to bottom
Row = tuple[str, int, float | dict[str, float]]

HEADER: list[Row] = [
    ("UBND THÀNH PHỐ HẢI PHÒNG CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 200, 0.95),
    ("SỞ TƯ PHÁP Độc lập - Tự do - Hạnh phúc", 300, 0.95),
    ("Số: 1930/STP-HCTP Hải Phòng, ngày 01 tháng 12 năm 2024", 200, 0.95),
    ("V/v thực hiện các nhiệm vụ cải", 200, 0.95),
    ("cách hành chính trong năm 2024", 220, 0.95),
    ("Kính gửi: Công an các phường, xã, thị trấn.", 600, 0.95),
    ("Sở Tư pháp đề nghị các cơ quan, đơn vị quan tâm, phối hợp thực hiện./.", 200, 0.95),
]


def _page(rows: list[Row], same_line: set[int] | None = None, page: int = 0) -> OcrPage:
    """An OCR page, one line per row, word boxes as a monospaced font prints them; rows listed in
    ``same_line`` sit on the previous row's line (the right column of a signature block)."""
    same_line = same_line or set()
    words: list[Word] = []
    y, line = 200, -1
    for i, (text, x, conf) in enumerate(rows):
        if i not in same_line:
            line += 1
            y = 200 + 2 * LINE_H * line
        for token in text.split():
            c = conf.get(token, 0.95) if isinstance(conf, dict) else conf
            w = CHAR_W * len(token)
            words.append(Word(token, c, Box(x, y, w, LINE_H), line=line))
            x += w + GAP
    lines: dict[int, list[str]] = {}
    for wd in words:
        lines.setdefault(wd.line, []).append(wd.text)
    return OcrPage(page, PAGE_W, PAGE_H, tuple(words), tuple(" ".join(v) for _, v in sorted(lines.items())))


def _letter(tail: list[Row], same_line: set[int], header: list[Row] | None = None) -> ExtractedFields:
    rows = [*(header or HEADER), *tail]
    offset = len(header or HEADER)
    ocr = OcrResult((_page(rows, {offset + i for i in same_line}),))
    return DOCTYPES["generic_letter"].extract(ocr)


def _block(name: str, x: int = 1560, conf: float | dict[str, float] = 0.95) -> tuple[list[Row], set[int]]:
    """A signature block: list left, "KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC" right, then the name on its own line."""
    tail: list[Row] = [
        ("Nơi nhận:", 200, 0.95),
        ("KT. GIÁM ĐỐC", 1560, 0.95),
        ("- Như trên;", 200, 0.95),
        ("PHÓ GIÁM ĐỐC", 1540, 0.95),
        ("- Sở Tư Pháp;", 200, 0.95),
        ("- Lưu: VT, HCTP.", 200, 0.95),
        (name, x, conf),
    ]
    return tail, {1, 3}


# ---- the signer -----------------------------------------------------------------------------------
def test_signer_is_the_name_under_the_title_in_the_right_column() -> None:
    tail, same = _block("Lê Ngọc Nam")
    fields = _letter(tail, same).fields
    assert fields["signer_name"].value == "Lê Ngọc Nam"
    assert fields["signer_name"].confidence >= REVIEW_THRESHOLD
    assert fields["signer_name"].box is not None and fields["signer_name"].box.x == 1560


def test_signer_skips_seal_marks_around_the_name() -> None:
    # the seal's text read as a word before the name and its edge as a colon after it
    tail, same = _block("Suy Trần Thị Ngọc Châu :", x=1300, conf={"Suy": 0.4, ":": 0.3})
    fields = _letter(tail, same).fields
    assert fields["signer_name"].value == "Trần Thị Ngọc Châu"


def test_signer_surname_read_with_wrong_tone_is_snapped() -> None:
    tail, same = _block("Bũi Mai Như", conf={"Bũi": 0.67})
    assert _letter(tail, same).fields["signer_name"].value == "Bùi Mai Như"


def test_no_signer_when_the_seal_hid_the_name() -> None:
    # the capitalised recipients in the left list are no signer, nor is a torn half of the name
    tail, same = _block("nh Toàn", conf=0.6)
    assert "signer_name" not in _letter(tail, same).fields


def test_signer_found_without_noi_nhan_label() -> None:
    # "Nơi nhận" misread; the title line anchors the block
    tail, same = _block("Nguyễn Quang Phúc")
    tail[0] = ("Wơinhận", 200, 0.5)
    assert _letter(tail, same).fields["signer_name"].value == "Nguyễn Quang Phúc"


def test_doubtful_signer_is_flagged() -> None:
    tail, same = _block("Lê Ngộ Bảo Châu", conf={"Ngộ": 0.3, "Lê": 0.6})
    assert _letter(tail, same).fields["signer_name"].confidence < REVIEW_THRESHOLD


def test_signer_block_before_an_annex() -> None:
    tail, same = _block("Lê Ngọc Nam")
    page0 = _page([*HEADER, *tail], {len(HEADER) + i for i in same})
    annex = _page([("PHỤ LỤC", 1000, 0.95), ("Danh sách đơn vị", 200, 0.95), ("1. Quận Lê Chân", 1300, 0.95)], page=1)
    fields = DOCTYPES["generic_letter"].extract(OcrResult((page0, annex))).fields
    assert fields["signer_name"].value == "Lê Ngọc Nam"


def test_signer_without_a_block_is_for_review() -> None:
    tail: list[Row] = [("Trân trọng./.", 200, 0.95), ("Lê Ngọc Nam", 1560, 0.95)]
    fields = _letter(tail, set()).fields
    assert fields["signer_name"].value == "Lê Ngọc Nam"
    assert fields["signer_name"].confidence < REVIEW_THRESHOLD


# ---- glued syllables ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("glued", "parts"),
    [
        ("côngtácchứng", ("công", "tác", "chứng")),
        ("SỞTƯPHÁP", ("SỞ", "TƯ", "PHÁP")),
        ("NguyễnQuang", ("Nguyễn", "Quang")),
        ("giảiquyết", ("giải", "quyết")),
        ("nghiêngtrường", ("nghiêng", "trường")),
    ],
)
def test_glued_syllables_are_split(glued: str, parts: tuple[str, ...]) -> None:
    assert split_syllables(glued) == parts


@pytest.mark.parametrize("word", ["nghiêng", "trường", "khuyết", "UBND", "HCTP", "ĐKĐĐ", "online", "Internet", "a"])
def test_syllables_acronyms_and_foreign_words_are_not_split(word: str) -> None:
    assert split_syllables(word) is None


def test_syllable_shape_and_tones() -> None:
    assert all(is_syllable(w) for w in ["nghiêng", "khuya", "quốc", "giữ", "oanh", "yêu", "Ngọc"])
    assert not any(is_syllable(w) for w in ["côngtác", "tàì", "bnd", "xyz"])


def test_split_glued_keeps_punctuation_and_other_words() -> None:
    assert split_glued("V/v chấn chỉnh côngtácchứng, thực") == ("V/v chấn chỉnh công tác chứng, thực", 1)
    assert split_glued("-SỞTƯPHÁP") == ("-SỞ TƯ PHÁP", 1)


# ---- phrase snapping -----------------------------------------------------------------------------------
def test_phrases_are_snapped_when_only_diacritics_differ() -> None:
    assert snap_phrases("UBND QUẦN LÊ CHÂN", ORG_PHRASES) == ("UBND QUẬN LÊ CHÂN", 1)
    assert snap_phrases("UBND THÀNH PHỐ CÂN THƠ", ORG_PHRASES) == ("UBND THÀNH PHỐ CẦN THƠ", 1)
    text = "triến khai một số nhiệm vụ trọng tâm"
    assert snap_phrases(text, SUBJECT_PHRASES) == ("triển khai một số nhiệm vụ trọng tâm", 1)


def test_snapping_needs_the_whole_phrase_and_equal_letters() -> None:
    assert snap_phrases("CƠ QUAN LÊ CHÂN", ORG_PHRASES) == ("CƠ QUAN LÊ CHÂN", 0)  # not "UBND QUẬN"
    assert snap_phrases("UBND QUẦY LÊ CHÂN", ORG_PHRASES) == ("UBND QUẦY LÊ CHÂN", 0)  # a letter differs
    assert snap_phrases("Phòng Tư pháp", SUBJECT_PHRASES) == ("Phòng Tư pháp", 0)  # case kept, nothing to fix


# ---- header fields -------------------------------------------------------------------------------------
def test_header_repairs_and_their_confidence() -> None:
    header: list[Row] = [
        ("UBND QUẦN LÊ CHÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 200, {"QUẦN": 0.19}),
        ("-SỞTƯPHÁP - Độc lập - Tự do - Hạnh phúc", 300, {"-SỞTƯPHÁP": 0.54}),
        ("Số: 302/STP-HCTP-. Hải Phòng, ngày 23 tháng 3 năm 2004", 200, {"302/STP-HCTP-.": 0.26}),
        ("V/v chấn chỉnh côngtácchứng .", 200, {"côngtácchứng": 0.14}),
        ("thực bản sao từ bản chính", 220, 0.95),
        ("Kính gửi: Công an các phường, xã, thị trấn.", 600, 0.95),
        ("Sở Tư pháp đề nghị các cơ quan, đơn vị quan tâm, phối hợp thực hiện./.", 200, 0.95),
    ]
    tail, same = _block("Nguyễn Quang Phúc")
    fields = _letter(tail, same, header).fields
    assert fields["parent_org"].value == "UBND QUẬN LÊ CHÂN"
    assert fields["issuing_org"].value == "SỞ TƯ PHÁP"
    assert fields["doc_number"].value == "302/STP-HCTP"
    assert fields["subject"].value == "V/v chấn chỉnh công tác chứng thực bản sao từ bản chính"
    assert fields["issue_place"].value == "Hải Phòng"
    # phrases the vocabulary confirmed letter by letter are trusted; the doubtful code is not
    assert fields["parent_org"].confidence >= REVIEW_THRESHOLD
    assert fields["issuing_org"].confidence >= REVIEW_THRESHOLD
    assert fields["subject"].confidence >= REVIEW_THRESHOLD


def test_unconfirmed_repairs_and_invalid_values_are_flagged() -> None:
    header = list(HEADER)
    header[2] = ("Số: STP-HCTP Hải Phòng, ngày 01 tháng 12 năm 2024", 200, 0.95)  # no number
    header[3] = ("V/v lậpkếhoạchxuânđinh các nhiệm vụ", 200, {"lậpkếhoạchxuânđinh": 0.5})
    tail, same = _block("Lê Ngọc Nam")
    fields = _letter(tail, same, header).fields
    assert fields["subject"].value.startswith("V/v lập kế hoạch xuân đinh")
    assert fields["subject"].confidence < REVIEW_THRESHOLD
    assert fields["doc_number"].confidence < REVIEW_THRESHOLD


# ---- re-reading the signature block --------------------------------------------------------------------
def test_remove_colored_ink_keeps_black_print() -> None:
    img = np.full((60, 90, 3), 235, np.uint8)
    img[10:20, 10:80] = (30, 30, 32)  # black print
    img[30:40, 10:80] = (210, 60, 70)  # red seal
    img[45:55, 10:80] = (40, 50, 140)  # blue pen
    grey = remove_colored_ink(img)
    assert grey[15, 40] < 60
    assert grey[35, 40] > 200 and grey[50, 40] > 200
    # a dim photo of the same page: the seal goes as well
    dim = remove_colored_ink((img * 0.6).astype(np.uint8))
    assert dim[35, 40] > 120 and dim[15, 40] < 40


def _drawn_signature_page() -> Page:
    """A letter's last page at 150 dpi: list, title, a red seal and a blue signature over the black name."""
    img = Image.new("RGB", (1240, 760), (250, 250, 248))  # the bottom half of an A4 page
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(SERIF_BOLD, 30)
    small = ImageFont.truetype(SERIF_BOLD, 22)
    draw.text((110, 200), "Đề nghị các đơn vị nghiêm túc triển khai thực hiện./.", font=font, fill=(20, 20, 20))
    for i, item in enumerate(["Nơi nhận:", "- Như trên;", "- Văn phòng;", "- Lưu: VT, HCTP."]):
        draw.text((110, 300 + 40 * i), item, font=small, fill=(20, 20, 20))
    draw.text((760, 296), "KT. GIÁM ĐỐC", font=font, fill=(20, 20, 20))
    draw.text((750, 336), "PHÓ GIÁM ĐỐC", font=font, fill=(20, 20, 20))
    draw.ellipse((650, 380, 900, 630), outline=(215, 70, 80), width=10)  # the seal's rings
    draw.ellipse((690, 420, 860, 590), outline=(215, 70, 80), width=4)
    draw.line([(760, 560), (820, 450), (880, 590), (960, 470)], fill=(40, 50, 150), width=5)  # signature
    draw.text((740, 560), "Trần Thị Ngọc Châu", font=font, fill=(20, 20, 20))  # black shows through the seal
    return Page(0, np.array(img), dpi=150)


def test_signature_block_is_reread_without_the_seal() -> None:
    page = _drawn_signature_page()
    options = OcrOptions(min_dpi=300)
    ocr = OcrResult((ocr_page(page, options),))
    region = signature_region(ocr.pages[0])
    assert region is not None and region.x > 400  # right of the "Nơi nhận" list
    refined = refine_ocr([page], ocr, options)
    fields = DOCTYPES["generic_letter"].extract(refined).fields
    assert fields["signer_name"].value == "Trần Thị Ngọc Châu"
    # the list on the left is untouched
    assert any(ln.startswith("- Văn phòng") for ln in refined.pages[0].lines)


def test_refine_without_a_signature_block_changes_nothing() -> None:
    ocr = OcrResult((_page(HEADER),))
    page = Page(0, np.full((PAGE_H // 4, PAGE_W // 4, 3), 255, np.uint8), dpi=75)
    assert refine_ocr([page], ocr, OcrOptions()) == ocr


@pytest.mark.slow
def test_corpus_letter_read_with_signature_reread() -> None:
    # GIVEN a low-resolution letter whose signer's name sits under a red seal
    folder = CORPUS / "dev_0026"
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    files = [SourceFile(name, (folder / name).read_bytes()) for name in truth["files"]]
    options = ReadOptions()
    result = read_document(files, options, doc_type="generic_letter")
    # WHEN the signature block is re-read before extraction
    ocr = refine_ocr(result.pages, result.ocr, options.ocr)
    fields = DOCTYPES["generic_letter"].extract(ocr).values()
    # THEN every field is read right, the signer too
    assert fields == truth["fields"]


# ---- recognised as a letter by its layout (Decree 30/2020), not by falling back -------------------
@pytest.mark.parametrize(
    ("number_line", "kind"),
    [
        ("Số:      /TB-UBND                    Quảng Ngãi, ngày    tháng 11 năm 2024", "THÔNG BÁO"),  # number by pen
        ("Số: 07/CT-UBND                       Quảng Ngãi, ngày 25 tháng 01 năm 2021", "CHỈ THỊ"),
    ],
)
def test_a_letter_is_recognised_by_number_kind_and_subject(number_line: str, kind: str) -> None:
    # GIVEN the layout of an administrative document: issuer beside the motto, the number line (its
    # number maybe left for the pen), the document's kind alone on a line, its subject
    ocr = page(
        [
            "ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "TỈNH QUẢNG NGÃI Độc lập - Tự do - Hạnh phúc",
            number_line,
            kind,
            "Về việc triển khai sử dụng hóa đơn điện tử",
            "Thực hiện Nghị định số 123/2020/NĐ-CP ngày 19/10/2020 của Chính phủ quy định về hóa đơn",
        ]
    )
    # THEN it is a letter, with a confidence that clears review
    result = classify(ocr)
    assert result.doc_type == "generic_letter"
    assert result.confidence >= REVIEW_THRESHOLD


def test_a_kind_word_inside_a_longer_title_is_not_a_letter_cue() -> None:
    # "HƯỚNG DẪN THỦ TỤC CHỨNG THỰC" is a guide's heading, not the kind line of a letter
    ocr = page(["HƯỚNG DẪN THỦ TỤC CHỨNG THỰC", "Người dân mang bản chính giấy khai sinh đến bộ phận một cửa."])
    assert classify(ocr).doc_type == "unknown"
