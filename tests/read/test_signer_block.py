"""The signature block re-read without the seal's and the pen's ink (``pipeline.read.signer_block``).

Fast tests draw the block (black or crimson print, a red or gold seal, a blue pen) and run the
real tesseract on it; the block finding and the merge run on OCR words laid out by hand. The one
slow test reads a corpus diploma end to end.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.models import Box, OcrPage, OcrResult, Page, SourceFile, Word
from pipeline.read import signer_block as signature
from pipeline.read._exec.tesseract import image_to_words
from pipeline.read.doctypes.registry import DOCTYPES
from pipeline.read.ocr import OcrOptions, flatten_background, ocr_page
from pipeline.read.reader import ReadOptions, read_document
from tests.support.corpus import corpus_doc

SANS_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SERIF_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"
SERIF_ITALIC = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf"

WHITE, CREAM = (250, 250, 248), (247, 239, 218)
BLACK, CRIMSON = (20, 20, 20), (111, 32, 39)
RED, GOLD, BLUE = (215, 60, 70), (150, 100, 30), (40, 50, 150)


# ---- drawing -------------------------------------------------------------------------------------
def _seal(draw: ImageDraw.ImageDraw, cx: int, cy: int, r: int, color: tuple[int, int, int]) -> None:
    """A seal: two rings, the office's name around, a star in the middle."""
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=color, width=max(4, r // 11))
    inner = round(r * 0.7)
    draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), outline=color, width=max(2, r // 22))
    font = ImageFont.truetype(SANS_BOLD, max(8, round(r * 0.22)))
    for i, ch in enumerate("ỦY BAN NHÂN DÂN XÃ AN HÒA"):
        a = math.pi * 0.8 + i * 0.23
        draw.text((cx + r * 0.85 * math.cos(a) - 8, cy + r * 0.85 * math.sin(a) - 10), ch, font=font, fill=color)
    draw.regular_polygon((cx, cy, round(r * 0.3)), 5, fill=color)


def _stamped(
    size: tuple[int, int],
    paper: tuple[int, int, int],
    text: list[tuple[tuple[int, int], str, ImageFont.FreeTypeFont, tuple[int, int, int]]],
    seal: tuple[int, int, int, tuple[int, int, int]],
    pen: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """Print ``text`` on ``paper``, then stamp the seal (x, y, radius, colour) and sign over it.

    The seal's and the pen's ink multiply with the print, as ink on paper does: black print shows
    through a red seal.
    """
    printed = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(printed)
    for xy, s, font, color in text:
        draw.text(xy, s, font=font, fill=color)
    stamp = Image.new("RGB", size, (255, 255, 255))
    ink = ImageDraw.Draw(stamp)
    cx, cy, r, color = seal
    _seal(ink, cx, cy, r, color)
    if pen is not None:
        ink.line([(cx + 40, cy + 30), (cx + 120, cy - 30), (cx + 180, cy + 50), (cx + 260, cy - 20)], fill=pen, width=6)
    return (np.asarray(printed, np.uint16) * np.asarray(stamp, np.uint16) // 255).astype(np.uint8)


def _name_under_seal(
    paper: tuple[int, int, int], print_ink: tuple[int, int, int], seal_ink: tuple[int, int, int]
) -> np.ndarray:
    font = ImageFont.truetype(SANS_BOLD, 40)
    pen = BLUE if print_ink == BLACK else None
    return _stamped((700, 260), paper, [((150, 150), "Trần Quốc Nam", font, print_ink)], (260, 140, 115, seal_ink), pen)


def _read(grey: np.ndarray) -> str:
    """What tesseract reads on ``grey`` as the re-read sees it (flattened, binarised, one block)."""
    flat = flatten_background(grey, 300)
    _, binary = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    words = image_to_words(binary, dataclasses.replace(OcrOptions().tesseract(), psm=6), 300)
    return " ".join(w.text for w in words)


# ---- the ink ---------------------------------------------------------------------------------------
def test_black_print_stays_and_seal_and_pen_go() -> None:
    img = np.full((60, 90, 3), 235, np.uint8)
    img[10:20, 10:80] = (30, 30, 32)  # black print
    img[30:40, 10:80] = RED  # the seal
    img[45:55, 10:80] = BLUE  # the pen
    grey = signature.remove_colored_ink(img)
    assert grey[15, 40] < 60
    assert grey[35, 40] > 200 and grey[50, 40] > 200
    # on yellowed paper photographed dim, the same
    dim = (img * np.array([0.6, 0.57, 0.45])).astype(np.uint8)
    out = signature.remove_colored_ink(dim)
    assert out[15, 40] < 40 and out[35, 40] > 100 and out[50, 40] > 100


def test_crimson_print_keeps_its_ink_when_told_its_colour() -> None:
    img = np.full((80, 90, 3), CREAM, np.uint8)
    img[5:15, 10:80] = CRIMSON  # the text
    img[20:30, 10:80] = (179, 135, 128)  # its anti-aliased edge: half crimson, half paper
    img[35:45, 10:80] = GOLD  # the seal's ring
    img[50:60, 10:80] = (218, 193, 152)  # the seal's lighter print
    img[65:75, 10:80] = RED  # a red seal, the same hue as the text but brighter
    # told nothing, the text is coloured ink and goes with the seal
    assert signature.remove_colored_ink(img)[10, 40] > 200
    ink = signature.text_ink(img, [Box(10, 5, 70, 10)])
    assert ink is not None and np.allclose(ink, CRIMSON)
    grey = signature.remove_colored_ink(img, ink)
    paper = int(np.percentile(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 90))
    assert grey[10, 40] < 80 and grey[25, 40] < paper
    assert grey[40, 40] == paper and grey[70, 40] == paper
    assert grey[55, 40] > (int(grey[10, 40]) + paper) / 2  # the seal's light print binarises as paper


def test_name_under_a_red_seal_is_read_once_the_seal_is_gone() -> None:
    img = _name_under_seal(WHITE, BLACK, RED)
    assert "Quốc" not in _read(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
    assert "Trần Quốc Nam" in _read(signature.remove_colored_ink(img))


def test_crimson_name_under_a_gold_seal_keeps_its_ink() -> None:
    img = _name_under_seal(CREAM, CRIMSON, GOLD)
    assert "Quốc" not in _read(signature.remove_colored_ink(img))  # taken for black print: the name goes too
    ink = signature.text_ink(img, [Box(300, 160, 180, 40)])  # "Quốc Nam", beside the seal
    assert "Quốc Nam" in _read(signature.remove_colored_ink(img, ink))


def test_specks_alone_go_and_marks_beside_letters_stay() -> None:
    binary = np.full((100, 200), 255, np.uint8)
    binary[40:70, 50:56] = 0  # a letter's stem
    binary[33:36, 50:53] = 0  # its tone mark, 4 px above
    binary[10:12, 150:152] = 0  # dust
    binary[80:83, 120:123] = 0
    out = signature.remove_specks(binary)
    assert out[34, 51] == 0 and out[50, 52] == 0
    assert out[11, 151] == 255 and out[81, 121] == 255


# ---- finding the block -----------------------------------------------------------------------------
def _ocr(rows: list[tuple[str, int, int]], width: int = 2480, height: int = 3508, conf: float = 0.95) -> OcrPage:
    """An OCR page from rows (text, left x, top y), each its own line, 20 px a character, 40 px high."""
    words: list[Word] = []
    for line, (text, x, y) in enumerate(rows):
        for token in text.split():
            words.append(Word(token, conf, Box(x, y, 20 * len(token), 40), line=line))
            x += 20 * len(token) + 15
    return OcrPage(0, width, height, tuple(words), tuple(r[0] for r in rows))


DIPLOMA_RIGHT_PANEL = [
    ("GIÁM ĐỐC SỞ GIÁO DỤC VÀ ĐÀO TẠO NGHỆ AN", 1700, 300),
    ("Họ và tên: Nguyễn Thị Thu Ngân", 1650, 500),
    ("Xếp loại tốt nghiệp: Trung bình", 1650, 1000),
    ("Nghệ An, ngày 05 tháng 8 năm 2008", 2100, 1300),
]


def test_diploma_block_is_under_its_last_title_not_the_header() -> None:
    page = _ocr([*DIPLOMA_RIGHT_PANEL, ("GIÁM ĐỐC", 2400, 1380)], width=3508, height=2480)
    block = signature.find_block(page, DOCTYPES["diploma"].signature_block)
    assert block is not None
    assert 1300 < block.region.y <= 1380 < block.region.y + block.region.h
    assert block.region.x < 2400 and block.region.x + block.region.w > 2400 + 160
    assert len(block.ink_from) == 2  # sampled under "GIÁM ĐỐC"


def test_diploma_block_under_the_date_when_no_title_was_read() -> None:
    page = _ocr(DIPLOMA_RIGHT_PANEL, width=3508, height=2480)
    block = signature.find_block(page, DOCTYPES["diploma"].signature_block)
    assert block is not None and block.region.y >= 1340  # below the date line, which it leaves alone


def test_no_block_without_its_title() -> None:
    page = _ocr([("Họ, chữ đệm, tên: TRỊNH THỊ MAI DIỆP", 200, 600)])
    assert signature.find_block(page, DOCTYPES["birth_certificate"].signature_block) is None
    assert signature.refiner(DOCTYPES["cccd_front"].signature_block) is None  # the ID card has none
    # pipeline.read.reader runs the shared one
    assert all(d.extractor.refine is None for d in DOCTYPES.values() if d.signature_block)


def test_marriage_block_runs_across_the_page() -> None:
    page = _ocr(
        [
            ("Thông tin Chồng Vợ", 200, 600),  # the table's header: not the block
            ("Ngày, tháng, năm đăng ký: 03/07/2017", 200, 2500),
            ("Chồng Vợ NGƯỜI KÝ", 300, 2600),
            ("(Ký, ghi rõ họ tên) (Ký, ghi rõ họ tên) GIẤY CHỨNG NHẬN KẾT HÔN", 200, 2660),
            ("Phạm Đình Thịnh Lê Thu Chi", 300, 3000),
        ]
    )
    block = signature.find_block(page, DOCTYPES["marriage_certificate"].signature_block)
    assert block is not None
    right = max(w.box.x + w.box.w for w in page.words)
    assert 2540 < block.region.y <= 2600 and block.region.x <= 200 and block.region.x + block.region.w >= right


# ---- merging the re-read rows --------------------------------------------------------------------
def _row(texts: list[tuple[str, float]], x: int, y: int) -> list[Word]:
    out = []
    for text, conf in texts:
        out.append(Word(text, conf, Box(x, y, 20 * len(text), 40), line=-1))
        x += 20 * len(text) + 15
    return out


def test_merge_keeps_the_surer_reading_of_each_word_and_drops_pen_strokes() -> None:
    page = _ocr([("Nơi sinh: Nghệ An", 200, 1000), ("Trần Tuấn Minh An", 2000, 1400), ("> v^", 2050, 1300)])
    page = dataclasses.replace(
        page,
        words=tuple(
            dataclasses.replace(w, confidence=0.56) if w.text == "An" and w.line == 1 else w for w in page.words
        ),
    )
    region = Box(1900, 1250, 600, 400)
    fresh = [_row([("Trân", 0.8), ("Tuân", 0.92), ("Minh", 0.94), ("An", 0.97)], 2000, 1402)]
    merged = signature.merge_region(page, region, fresh)
    assert merged.lines == ("Nơi sinh: Nghệ An", "Trần Tuấn Minh An")
    assert [w.confidence for w in merged.words[-4:]] == [0.95, 0.95, 0.95, 0.97]


def test_merge_puts_the_name_after_the_lines_of_its_panel() -> None:
    # a diploma: the left panel is read first; its last line is lower on the page than the signer's title
    page = _ocr([("BẰNG TỐT NGHIỆP", 200, 600), ("Số hiệu: C 8587334", 200, 1800), ("GIÁM ĐỐC", 2400, 1380)])
    fresh = [
        _row([("GIÁM", 0.93), ("ĐỐC", 0.96)], 2400, 1380),
        _row([("Trần", 0.95), ("Quốc", 0.96), ("Nam", 0.96)], 2350, 1750),
    ]
    merged = signature.merge_region(page, Box(2000, 1340, 900, 800), fresh)
    assert merged.lines == ("BẰNG TỐT NGHIỆP", "Số hiệu: C 8587334", "GIÁM ĐỐC", "Trần Quốc Nam")


# ---- the whole step --------------------------------------------------------------------------------
def _birth_certificate_bottom() -> Page:
    """The bottom of a birth certificate at 150 dpi: the signer's block with a red seal over the name."""
    body = ImageFont.truetype(SERIF_BOLD, 24)
    title = ImageFont.truetype(SERIF_BOLD, 26)
    small = ImageFont.truetype(SERIF_ITALIC, 20)
    text = [
        ((80, 60), "Nơi đăng ký khai sinh: UBND xã Đại Hà, huyện Kiến Thụy", body, BLACK),
        ((80, 110), "Ngày, tháng, năm đăng ký: 01/03/2023", body, BLACK),
        ((560, 180), "NGƯỜI KÝ GIẤY KHAI SINH", title, BLACK),
        ((500, 220), "(Ký, ghi rõ họ, chữ đệm, tên, chức vụ, đóng dấu)", small, BLACK),
        ((620, 400), "Nguyễn Thu Dung", title, BLACK),
    ]
    img = _stamped((1240, 560), WHITE, text, (640, 340, 100, RED), pen=BLUE)
    return Page(0, img, dpi=150)


def test_birth_certificate_signer_is_read_under_the_seal() -> None:
    page = _birth_certificate_bottom()
    options = OcrOptions(min_dpi=300)
    ocr = OcrResult((ocr_page(page, options),))
    refine = signature.refiner(DOCTYPES["birth_certificate"].signature_block)
    assert refine is not None
    refined = refine([page], ocr, options)
    assert refined.pages[0].lines[-1] == "Nguyễn Thu Dung"
    # the lines above the block are the page OCR's
    assert refined.pages[0].lines[:2] == ocr.pages[0].lines[:2]


def test_read_document_re_reads_the_block_of_a_type_without_its_own_refine(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[signature.BlockTitles | None] = []

    def spy(spec: signature.BlockTitles | None) -> signature.Refine:
        calls.append(spec)
        return lambda pages, ocr, options: ocr

    monkeypatch.setattr(signature, "refiner", spy)
    ok, png = cv2.imencode(".png", cv2.cvtColor(_birth_certificate_bottom().image, cv2.COLOR_RGB2BGR))
    assert ok
    read_document([SourceFile("scan.png", png.tobytes())], ReadOptions(), doc_type="birth_certificate")
    assert calls == [DOCTYPES["birth_certificate"].signature_block]


@pytest.mark.slow
def test_corpus_diploma_signer_is_read_under_the_gold_seal() -> None:
    # GIVEN a diploma printed in crimson on cream paper, its signer's name under a gold seal
    files, truth = corpus_doc("dev_0009")
    result = read_document([SourceFile(p.name, p.read_bytes()) for p in files], ReadOptions())
    # THEN the name is read after the title, and the fields are as before
    lines = result.ocr.pages[-1].lines
    assert lines[-2:] == ("GIÁM ĐỐC", "Trần Quốc Nam")
    fields = result.fields.values()
    assert {k: fields.get(k) for k in ("full_name", "issuer", "issue_date")} == {
        k: truth["fields"][k] for k in ("full_name", "issuer", "issue_date")
    }
