"""Rendered test documents for the catalogue's newer types and for documents outside it, with truth.

Drawn like ``../shared/corpus/make_corpus.py`` does (PIL text on a white card or A4 page, then a
scan degradation: clean, office scan, low resolution, faded), with different people, fonts and
layouts per seed. Each document comes with what it is (``kind``), the type classification should
answer (``expected``: a catalogue type, or ``"unknown"`` for a document outside the catalogue)
and the field values printed on it.

    docs = render("passport", seed=3, profile="office_scan")   # -> Rendered

``python -m tests.support.catalogue_docs OUT`` writes a set (used to measure classification).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pipeline.models import SourceFile
from pipeline.read.text.lines import fold
from pipeline.read.text.mrz import make_td1, make_td3

FONTS = "/usr/share/fonts/truetype"
FAMILIES = {
    "DejaVu Sans": (f"{FONTS}/dejavu/DejaVuSans.ttf", f"{FONTS}/dejavu/DejaVuSans-Bold.ttf"),
    "DejaVu Serif": (f"{FONTS}/dejavu/DejaVuSerif.ttf", f"{FONTS}/dejavu/DejaVuSerif-Bold.ttf"),
    "Noto Sans": (f"{FONTS}/noto/NotoSans-Regular.ttf", f"{FONTS}/noto/NotoSans-Bold.ttf"),
    "Noto Serif": (f"{FONTS}/noto/NotoSerif-Regular.ttf", f"{FONTS}/noto/NotoSerif-Bold.ttf"),
}
MONO = f"{FONTS}/dejavu/DejaVuSansMono.ttf"
PROFILES = ("clean", "office_scan", "low_res", "faded")

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Hữu", "Thanh", "Đức", "Thu")
GIVEN = ("An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Lan", "Linh", "Nam", "Phương", "Quân", "Tâm", "Trang")
PLACES = (
    "Phường Láng Hạ, Quận Đống Đa, Hà Nội",
    "Xã Tân Phú, Huyện Đức Hòa, Long An",
    "Phường 5, Quận 3, TP. Hồ Chí Minh",
    "Phường Hải Châu 1, Quận Hải Châu, Đà Nẵng",
    "Xã Nghi Phú, TP. Vinh, Nghệ An",
)
PROVINCE_CODES = ("001", "079", "048", "040", "080")

# What each kind renders as, and what classification should answer.
CATALOGUE_KINDS = {
    "cccd_back": "cccd_back",
    "cccd_both": "cccd",
    "can_cuoc_front": "can_cuoc_front",
    "can_cuoc_back": "can_cuoc_back",
    "can_cuoc_both": "can_cuoc",
    "school_record": "school_record",
    "transcript": "transcript",
    "land_use_certificate": "land_use_certificate",
    "driving_licence": "driving_licence",
    "passport": "passport",
    "letter": "generic_letter",
}
OUTSIDE_KINDS = (
    "prose", "english", "french", "table", "receipt", "application",
    "guide",  # running text that names catalogue documents ("giấy khai sinh", "hộ chiếu")
    "marital_status",  # an official certificate outside the catalogue, laid out like a letter
    "vehicle_registration",  # a card outside the catalogue ("GIẤY CHỨNG NHẬN ĐĂNG KÝ XE")
)  # fmt: skip
KINDS = (*CATALOGUE_KINDS, *OUTSIDE_KINDS)


def expected_type(kind: str) -> str:
    return CATALOGUE_KINDS.get(kind, "unknown")


@dataclass
class Rendered:
    kind: str
    expected: str
    pages: list[Image.Image]
    fields: dict[str, str] = field(default_factory=dict)
    profile: str = "clean"

    def files(self) -> list[SourceFile]:
        out = []
        for i, img in enumerate(self.pages):
            buf = io.BytesIO()
            img.save(buf, "PNG", dpi=(300, 300))
            out.append(SourceFile(f"page{i + 1}.png", buf.getvalue()))
        return out


# ---- people ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    surname: str
    middle: str
    given: str
    male: bool
    dob: dt.date
    place: str
    id_number: str

    @property
    def name(self) -> str:
        return f"{self.surname} {self.middle} {self.given}"

    @property
    def ascii_name(self) -> str:
        return fold(self.name).upper()


def person(rng: random.Random) -> Person:
    male = rng.random() < 0.5
    middle = rng.choice([m for m in MIDDLE if (m != "Thị") or not male])
    dob = dt.date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28))
    k = rng.randrange(len(PLACES))
    sex_digit = (0 if male else 1) + (2 if dob.year >= 2000 else 0)
    id_number = f"{PROVINCE_CODES[k]}{sex_digit}{dob.year % 100:02d}{rng.randint(0, 999999):06d}"
    return Person(rng.choice(SURNAMES), middle, rng.choice(GIVEN), male, dob, PLACES[k], id_number)


def dmy(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


def yymmdd(d: dt.date) -> str:
    return d.strftime("%y%m%d")


# ---- drawing ----------------------------------------------------------------------------------------
class Sheet:
    """A card or page in millimetres, drawn at ``dpi``."""

    def __init__(self, w_mm: float, h_mm: float, dpi: int, family: str, bg: tuple[int, int, int] = (255, 255, 255)):
        self.dpi = dpi
        self.img = Image.new("RGB", (self.px(w_mm), self.px(h_mm)), bg)
        self.d = ImageDraw.Draw(self.img)
        self.regular, self.bold = FAMILIES[family]
        self._fonts: dict[tuple[str, float], ImageFont.FreeTypeFont] = {}

    def px(self, mm: float) -> int:
        return round(mm / 25.4 * self.dpi)

    def font(self, path: str, pt: float) -> ImageFont.FreeTypeFont:
        key = (path, pt)
        if key not in self._fonts:
            self._fonts[key] = ImageFont.truetype(path, max(6, round(pt * self.dpi / 72)))
        return self._fonts[key]

    def text(
        self, x: float, y: float, s: str, pt: float = 11, bold: bool = False, align: str = "left",
        fill: tuple[int, int, int] = (20, 20, 28), mono: bool = False,
    ) -> None:  # fmt: skip
        f = self.font(MONO if mono else (self.bold if bold else self.regular), pt)
        w = f.getlength(s)
        x0 = self.px(x) - (w / 2 if align == "center" else w if align == "right" else 0)
        self.d.text((x0, self.px(y)), s, font=f, fill=fill, anchor="ls")

    def rows(self, x: float, y: float, lines: list[str], pt: float, step: float, bold: bool = False) -> float:
        for ln in lines:
            self.text(x, y, ln, pt, bold)
            y += step
        return y


def _card(rng: random.Random, family: str) -> Sheet:
    s = Sheet(85.6, 54, 600, family, bg=(236, 242, 240))
    s.d.rectangle([0, 0, s.img.width - 1, s.img.height - 1], outline=(150, 160, 160), width=6)
    return s


def _header_card(s: Sheet) -> None:
    s.text(50, 5.5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 5.6, True, "center")
    s.text(50, 8.4, "Độc lập - Tự do - Hạnh phúc", 5.6, True, "center")
    s.text(50, 11.0, "SOCIALIST REPUBLIC OF VIET NAM", 4.8, False, "center")
    s.text(50, 13.5, "Independence - Freedom - Happiness", 4.8, False, "center")


def _mrz(s: Sheet, lines: tuple[str, ...], y: float, pt: float) -> None:
    for i, ln in enumerate(lines):
        s.text(4, y + i * pt * 0.5, ln, pt, mono=True)


def _td1(p: Person, issued: dt.date) -> tuple[str, str, str]:
    expiry = dt.date(p.dob.year + 25 if p.dob.year + 25 > issued.year else p.dob.year + 40, p.dob.month, p.dob.day)
    surname, _, given = p.ascii_name.partition(" ")
    return make_td1(
        p.id_number[3:], p.id_number, yymmdd(p.dob), "M" if p.male else "F", yymmdd(expiry), "VNM",
        f"{surname}<<{given.replace(' ', '<')}",
    )  # fmt: skip


def cccd_front(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _card(rng, family)
    _header_card(s)
    s.text(50, 18.5, "CĂN CƯỚC CÔNG DÂN", 8.5, True, "center", fill=(190, 30, 40))
    s.text(50, 21.5, "Citizen Identity Card", 5.2, False, "center")
    x = 22
    s.text(x, 26, f"Số / No.: {p.id_number}", 6.5, True)
    s.text(x, 29.5, "Họ và tên / Full name:", 4.8)
    s.text(x + 1, 33, p.name.upper(), 6.6, True)
    s.text(x, 36.5, f"Ngày sinh / Date of birth: {dmy(p.dob)}", 5.0)
    s.text(x, 40, f"Giới tính / Sex: {'Nam' if p.male else 'Nữ'}   Quốc tịch / Nationality: Việt Nam", 5.0)
    s.text(x, 43.5, "Quê quán / Place of origin:", 4.8)
    s.text(x, 46.5, p.place, 5.0)
    s.text(x, 50, f"Nơi thường trú / Place of residence: {p.place.split(', ')[-1]}", 4.8)
    s.text(3.5, 47.5, "Có giá trị đến:", 4.4)
    s.text(3.5, 50, "Date of expiry", 4.0)
    return s.img


def cccd_back(p: Person, rng: random.Random, family: str, issued: dt.date) -> Image.Image:
    s = _card(rng, family)
    s.text(4, 6, "Đặc điểm nhân dạng / Personal identification:", 4.8)
    s.text(4, 9.5, rng.choice(["Nốt ruồi C:2cm trên sau đầu mày phải", "Sẹo chấm C:1cm dưới trước cằm"]), 4.8)
    s.text(4, 14, f"Ngày, tháng, năm / Date, month, year: {dmy(issued)}", 4.8)
    s.text(4, 18, "CỤC TRƯỞNG CỤC CẢNH SÁT", 4.6, True)
    s.text(4, 21, "QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", 4.6, True)
    s.text(60, 6, "Ngón trỏ trái", 4.4, align="center")
    s.text(60, 9, "Left index finger", 4.0, align="center")
    s.text(76, 6, "Ngón trỏ phải", 4.4, align="center")
    s.text(76, 9, "Right index finger", 4.0, align="center")
    s.d.rectangle([s.px(54), s.px(11), s.px(66), s.px(27)], outline=(120, 120, 120), width=4)
    s.d.rectangle([s.px(70), s.px(11), s.px(82), s.px(27)], outline=(120, 120, 120), width=4)
    _mrz(s, _td1(p, issued), 38, 7.6)
    return s.img


def can_cuoc_front(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _card(rng, family)
    _header_card(s)
    s.text(50, 18.5, "CĂN CƯỚC", 9.0, True, "center", fill=(190, 30, 40))
    s.text(50, 21.8, "IDENTITY CARD", 5.4, True, "center")
    x = 24
    s.text(x, 26, "Số định danh cá nhân / Personal identification number:", 4.3)
    s.text(x, 29.5, p.id_number, 7.0, True)
    s.text(x, 33, "Họ, chữ đệm và tên khai sinh / Surname, middle name and given name:", 3.9)
    s.text(x, 36.5, p.name.upper(), 6.4, True)
    s.text(x, 40.5, f"Ngày, tháng, năm sinh / Date of birth: {dmy(p.dob)}", 4.6)
    s.text(x, 44, f"Giới tính / Sex: {'Nam' if p.male else 'Nữ'}", 4.6)
    s.text(x, 47.5, "Quốc tịch / Nationality: Việt Nam", 4.6)
    return s.img


def can_cuoc_back(p: Person, rng: random.Random, family: str, issued: dt.date) -> Image.Image:
    s = _card(rng, family)
    s.text(4, 5.5, "Nơi cư trú / Place of residence:", 4.6)
    s.text(4, 8.6, p.place, 4.8)
    s.text(4, 12.2, "Nơi đăng ký khai sinh / Place of birth:", 4.6)
    s.text(4, 15.3, p.place.split(", ")[-1], 4.8)
    s.text(4, 19, f"Ngày, tháng, năm cấp / Date of issue: {dmy(issued)}", 4.6)
    s.text(4, 22.5, f"Ngày, tháng, năm hết hạn / Date of expiry: {dmy(issued.replace(year=issued.year + 15))}", 4.6)
    s.text(62, 27, "BỘ CÔNG AN", 5.0, True, "center")
    s.text(62, 30, "MINISTRY OF PUBLIC SECURITY", 4.2, False, "center")
    _mrz(s, _td1(p, issued), 38, 7.6)
    return s.img


def _page(family: str) -> Sheet:
    return Sheet(210, 297, 300, family)


def _motto(s: Sheet, x: float = 105) -> None:
    s.text(x, 20, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, True, "center")
    s.text(x, 27, "Độc lập - Tự do - Hạnh phúc", 12, True, "center")


SUBJECTS = ("Toán", "Vật lí", "Hóa học", "Sinh học", "Ngữ văn", "Lịch sử", "Địa lí", "Tiếng Anh", "Tin học")


def school_record(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _page(family)
    _motto(s)
    s.text(105, 50, rng.choice(["HỌC BẠ", "HỌC BẠ TRUNG HỌC PHỔ THÔNG"]), 22, True, "center")
    y = s.rows(25, 70, [f"Họ và tên: {p.name}", f"Ngày sinh: {dmy(p.dob)}", f"Nơi sinh: {p.place}",
                        f"Trường: Trung học phổ thông {rng.choice(['Chu Văn An', 'Lê Quý Đôn', 'Phan Đình Phùng'])}",
                        f"Năm học: {p.dob.year + 16} - {p.dob.year + 17}      Lớp: 11A{rng.randint(1, 9)}"],
               12, 9)  # fmt: skip
    s.text(25, y + 6, "Môn học          Học kỳ I     Học kỳ II     Cả năm", 12, True)
    y += 15
    for subj in rng.sample(SUBJECTS, 7):
        a, b = rng.uniform(5, 10), rng.uniform(5, 10)
        s.text(25, y, f"{subj:<16} {a:8.1f} {b:12.1f} {(a + 2 * b) / 3:12.1f}", 12)
        y += 8
    s.text(25, y + 6, f"Điểm trung bình các môn: {rng.uniform(6, 9.5):.1f}", 12)
    s.text(25, y + 14, f"Hạnh kiểm: {rng.choice(['Tốt', 'Khá'])}      Học lực: {rng.choice(['Giỏi', 'Khá'])}", 12)
    s.text(150, y + 34, "HIỆU TRƯỞNG", 12, True, "center")
    return s.img


def transcript(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _page(family)
    s.text(50, 18, "BỘ GIÁO DỤC VÀ ĐÀO TẠO", 11, False, "center")
    s.text(50, 24, rng.choice(["TRƯỜNG ĐẠI HỌC BÁCH KHOA", "TRƯỜNG ĐẠI HỌC KINH TẾ", "TRƯỜNG ĐẠI HỌC SƯ PHẠM"]),
           11, True, "center")  # fmt: skip
    s.text(150, 18, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 10, True, "center")
    s.text(150, 24, "Độc lập - Tự do - Hạnh phúc", 10, True, "center")
    s.text(105, 45, rng.choice(["BẢNG ĐIỂM", "BẢNG ĐIỂM TOÀN KHÓA", "BẢNG ĐIỂM HỌC TẬP"]), 18, True, "center")
    sid = f"{p.dob.year + 18}{rng.randint(1000, 9999)}"
    programme = rng.choice(["Công nghệ thông tin", "Kế toán", "Quản trị kinh doanh"])
    y = s.rows(25, 62, [f"Họ và tên: {p.name}", f"Mã sinh viên: {sid}", f"Ngày sinh: {dmy(p.dob)}",
                        f"Ngành: {programme}"], 12, 8)  # fmt: skip
    s.text(25, y + 4, "STT   Học phần                               Số tín chỉ    Điểm", 11, True)
    y += 12
    for i, c in enumerate(rng.sample(["Giải tích 1", "Đại số tuyến tính", "Vật lý đại cương", "Triết học Mác - Lênin",
                                      "Kinh tế vi mô", "Lập trình cơ bản", "Cơ sở dữ liệu", "Tiếng Anh 1",
                                      "Xác suất thống kê", "Pháp luật đại cương"], 8)):  # fmt: skip
        s.text(25, y, f"{i + 1:<5} {c:<38} {rng.randint(2, 4):>6}      {rng.uniform(5, 10):.1f}", 11)
        y += 7
    s.text(25, y + 6, f"Điểm trung bình tích lũy: {rng.uniform(2.5, 3.8):.2f}", 12)
    return s.img


def land_use(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _page(family)
    _motto(s)
    s.text(105, 48, "GIẤY CHỨNG NHẬN", 20, True, "center", fill=(190, 30, 40))
    s.text(105, 58, "QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở", 13, True, "center")
    s.text(105, 65, "VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT", 13, True, "center")
    s.text(25, 82, "I. Người sử dụng đất, chủ sở hữu nhà ở và tài sản khác gắn liền với đất", 12, True)
    s.text(25, 91, f"{'Ông' if p.male else 'Bà'}: {p.name}, năm sinh: {p.dob.year}", 12)
    s.text(25, 99, f"CCCD số: {p.id_number}", 12)
    s.text(25, 107, f"Địa chỉ thường trú: {p.place}", 12)
    s.text(25, 120, "II. Thửa đất, nhà ở và tài sản khác gắn liền với đất", 12, True)
    parcel, sheet_no = str(rng.randint(10, 900)), str(rng.randint(1, 60))
    area = f"{rng.randint(40, 400)},{rng.randint(0, 9)} m²"
    s.rows(25, 130, [f"a) Thửa đất số: {parcel}", f"b) Tờ bản đồ số: {sheet_no}", f"c) Địa chỉ: {p.place}",
                     f"d) Diện tích: {area}", "đ) Hình thức sử dụng: Sử dụng riêng",
                     "e) Mục đích sử dụng: Đất ở tại đô thị", "g) Thời hạn sử dụng: Lâu dài",
                     "h) Nguồn gốc sử dụng: Nhà nước giao đất có thu tiền sử dụng đất"], 12, 8)  # fmt: skip
    return s.img


def driving_licence(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _card(rng, family)
    s.text(50, 5.5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 5.4, True, "center")
    s.text(50, 8.4, "SOCIALIST REPUBLIC OF VIET NAM", 4.6, False, "center")
    s.text(52, 13, "GIẤY PHÉP LÁI XE", 8.0, True, "center", fill=(190, 30, 40))
    s.text(52, 16.5, "DRIVER'S LICENSE", 5.4, True, "center")
    x = 25
    number = f"{p.id_number}"
    s.text(x, 21, f"Số / No: {number}", 5.2, True)
    s.text(x, 25, f"Họ tên / Full name: {p.name.upper()}", 4.8)
    s.text(x, 29, f"Ngày sinh / Date of birth: {dmy(p.dob)}", 4.8)
    s.text(x, 33, "Quốc tịch / Nationality: VIỆT NAM", 4.8)
    s.text(x, 37, f"Nơi cư trú / Address: {p.place}", 4.2)
    s.text(x, 42, f"Hạng / Class: {rng.choice(['A1', 'B2', 'C'])}", 5.2, True)
    s.text(x, 46, f"Có giá trị đến / Expires: {dmy(dt.date(2030 + rng.randint(0, 9), 6, 15))}", 4.8)
    s.text(x, 50, f"Ngày trúng tuyển / Beginning date: {dmy(dt.date(2015 + rng.randint(0, 8), 3, 10))}", 4.2)
    return s.img


def passport(p: Person, rng: random.Random, family: str, wrong_check: bool = False) -> tuple[Image.Image, str]:
    s = Sheet(125, 88, 600, family, bg=(240, 236, 228))
    s.text(62, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM / SOCIALIST REPUBLIC OF VIET NAM", 4.6, True, "center")
    s.text(45, 12, "HỘ CHIẾU", 8.0, True, "center")
    s.text(80, 12, "PASSPORT", 8.0, True, "center")
    number = f"C{rng.randint(1000000, 9999999)}"
    issued = dt.date(2018 + rng.randint(0, 6), rng.randint(1, 12), rng.randint(1, 28))
    expiry = issued.replace(year=issued.year + 10) - dt.timedelta(days=1)
    x = 38
    s.text(x, 19, f"Loại / Type: P    Mã số / Code: VNM    Số hộ chiếu / Passport No: {number}", 4.2)
    s.text(x, 24, "Họ và tên / Full name:", 4.2)
    s.text(x, 27.5, p.name.upper(), 6.0, True)
    s.text(x, 32, "Quốc tịch / Nationality: VIỆT NAM", 4.4)
    s.text(x, 36.5, f"Ngày sinh / Date of birth: {dmy(p.dob)}    Giới tính / Sex: {'Nam/M' if p.male else 'Nữ/F'}", 4.4)
    s.text(x, 41, f"Nơi sinh / Place of birth: {p.place.split(', ')[-1].upper()}", 4.4)
    s.text(x, 45.5, f"Ngày cấp / Date of issue: {dmy(issued)}", 4.4)
    s.text(x, 50, f"Có giá trị đến / Date of expiry: {dmy(expiry)}", 4.4)
    s.text(x, 54.5, f"Số ĐDCN / Personal No: {p.id_number}", 4.4)
    s.d.rectangle([s.px(6), s.px(19), s.px(33), s.px(55)], outline=(120, 120, 120), width=4)
    surname, _, given = p.ascii_name.partition(" ")
    l1, l2 = make_td3(number, "VNM", f"{surname}<<{given.replace(' ', '<')}", yymmdd(p.dob),
                      "M" if p.male else "F", yymmdd(expiry), p.id_number)  # fmt: skip
    if wrong_check:  # the date of birth's check digit off by one
        l2 = l2[:19] + str((int(l2[19]) + 1) % 10) + l2[20:]
    for i, ln in enumerate((l1, l2)):
        s.text(4, 70 + i * 5.5, ln, 8.2, mono=True)
    return s.img, number


def letter(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _page(family)
    org = rng.choice([("UBND QUẬN ĐỐNG ĐA", "PHÒNG TƯ PHÁP", "PTP"), ("UBND TỈNH NGHỆ AN", "SỞ TƯ PHÁP", "STP")])
    s.text(50, 20, org[0], 11, False, "center")
    s.text(50, 26, org[1], 11, True, "center")
    s.text(140, 20, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 11, True, "center")
    s.text(140, 26, "Độc lập - Tự do - Hạnh phúc", 11, True, "center")
    s.text(50, 36, f"Số: {rng.randint(10, 2999)}/{org[2]}-HCTP", 11, False, "center")
    s.text(140, 36, f"Hà Nội, ngày {rng.randint(1, 28)} tháng {rng.randint(1, 12)} năm 2025", 11, False, "center")
    s.text(50, 43, "V/v tăng cường công tác chứng thực", 10, False, "center")
    s.text(105, 60, "Kính gửi: Ủy ban nhân dân các phường, xã trên địa bàn", 12, False, "center")
    body = ("Thực hiện chỉ đạo của cấp trên về công tác chứng thực bản sao từ bản chính, đề nghị các đơn vị "
            "rà soát quy trình tiếp nhận hồ sơ, bảo đảm đúng quy định và báo cáo kết quả trước ngày 30.")  # fmt: skip
    _paragraph(s, body, 25, 75, 12, 160)
    s.text(25, 140, "Nơi nhận:", 11, True)
    s.text(25, 146, "- Như trên;", 10)
    s.text(25, 151, "- Lưu: VT.", 10)
    s.text(150, 140, "TRƯỞNG PHÒNG", 12, True, "center")
    s.text(150, 170, p.name, 12, True, "center")
    return s.img


def _paragraph(s: Sheet, text: str, x: float, y: float, pt: float, width_mm: float, step: float = 8) -> float:
    f = s.font(s.regular, pt)
    line = ""
    for w in text.split():
        cand = f"{line} {w}".strip()
        if f.getlength(cand) > s.px(width_mm) and line:
            s.text(x, y, line, pt)
            y, line = y + step, w
        else:
            line = cand
    if line:
        s.text(x, y, line, pt)
        y += step
    return y


PROSE = (
    "Mùa thu năm ấy, gia đình tôi chuyển về sống ở một thị trấn nhỏ ven sông. Buổi sáng, sương phủ kín mặt "
    "nước, những chiếc thuyền nan lặng lẽ trôi qua bến. Mẹ tôi thường dậy sớm nấu cơm, còn cha ra vườn tưới "
    "rau. Chúng tôi đi học bằng chiếc xe đạp cũ, qua cánh đồng lúa đang vào mùa gặt, mùi rơm mới thơm ngai "
    "ngái. Những ngày ấy tuy vất vả nhưng là quãng thời gian đẹp nhất trong ký ức của tôi."
)
ENGLISH = (
    "The committee met on Tuesday to review the annual budget and the progress of the new library project. "
    "Members agreed that the reading rooms should open in the spring, and that the children's section needs "
    "more shelves. The treasurer reported that donations exceeded expectations this year. The next meeting "
    "will take place in the town hall at seven o'clock in the evening."
)
FRENCH = (
    "Le conseil municipal s'est réuni mardi soir pour examiner le budget annuel et l'avancement des travaux "
    "de la nouvelle bibliothèque. Les membres ont convenu que les salles de lecture ouvriraient au printemps. "
    "Le trésorier a indiqué que les dons avaient dépassé les prévisions. La prochaine réunion aura lieu à la "
    "mairie à dix-neuf heures."
)


def prose_page(text: str, title: str, rng: random.Random, family: str) -> Image.Image:
    s = _page(family)
    s.text(105, 30, title, 15, True, "center")
    y = 50.0
    for _ in range(rng.randint(2, 3)):
        y = _paragraph(s, text, 25, y, 12, 160) + 6
    return s.img


GUIDE = (
    "Khi làm thủ tục chứng thực bản sao, công dân mang theo bản chính giấy khai sinh, căn cước công dân "
    "hoặc hộ chiếu còn giá trị sử dụng. Đối với bằng tốt nghiệp, học bạ và bảng điểm, cán bộ tiếp nhận đối "
    "chiếu với bản chính trước khi chứng thực. Giấy phép lái xe và giấy chứng nhận quyền sử dụng đất cũng "
    "được chứng thực theo cùng thủ tục. Lệ phí chứng thực được niêm yết công khai tại nơi tiếp nhận hồ sơ."
)


def marital_status(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _page(family)
    s.text(50, 20, "UBND PHƯỜNG LÁNG HẠ", 11, True, "center")
    s.text(140, 20, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 11, True, "center")
    s.text(140, 26, "Độc lập - Tự do - Hạnh phúc", 11, True, "center")
    s.text(50, 34, f"Số: {rng.randint(10, 999)}/2025/XNTTHN", 11, False, "center")
    s.text(105, 52, "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", 15, True, "center")
    y = s.rows(25, 70, [f"Xét đề nghị của ông/bà: {p.name}", f"Ngày, tháng, năm sinh: {dmy(p.dob)}",
                        "Giới tính: " + ("Nam" if p.male else "Nữ") + "    Dân tộc: Kinh    Quốc tịch: Việt Nam",
                        f"Giấy tờ tùy thân: Căn cước công dân số {p.id_number}", f"Nơi cư trú: {p.place}",
                        "Tình trạng hôn nhân: Hiện tại chưa đăng ký kết hôn với ai.",
                        "Giấy này có giá trị sử dụng trong thời hạn 6 tháng, kể từ ngày cấp."], 12, 9)  # fmt: skip
    s.text(150, y + 12, "CHỦ TỊCH", 12, True, "center")
    return s.img


def vehicle_registration(p: Person, rng: random.Random, family: str) -> Image.Image:
    s = _card(rng, family)
    s.text(50, 5.5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 5.4, True, "center")
    s.text(50, 8.4, "Độc lập - Tự do - Hạnh phúc", 5.0, True, "center")
    s.text(50, 13, "GIẤY CHỨNG NHẬN ĐĂNG KÝ XE", 7.0, True, "center", fill=(190, 30, 40))
    s.text(50, 16.5, "MÔ TÔ, XE GẮN MÁY", 5.4, True, "center")
    s.rows(6, 22, [f"Tên chủ xe: {p.name.upper()}", f"Địa chỉ: {p.place}",
                   f"Nhãn hiệu: {rng.choice(['HONDA', 'YAMAHA', 'SUZUKI'])}    Màu sơn: Đen",
                   f"Số máy: JF{rng.randint(10000, 99999)}    Số khung: RLH{rng.randint(100000, 999999)}",
                   f"Biển số đăng ký: 29{rng.choice('ABCDEF')}1-{rng.randint(100, 999)}.{rng.randint(10, 99)}"],
           4.8, 4.2)  # fmt: skip
    return s.img


def table_page(rng: random.Random, family: str) -> Image.Image:
    s = _page(family)
    s.text(105, 30, rng.choice(["BẢNG GIÁ VẬT LIỆU XÂY DỰNG", "DANH SÁCH HÀNG HÓA NHẬP KHO"]), 14, True, "center")
    s.text(20, 45, "STT   Tên hàng                       Đơn vị      Số lượng     Đơn giá", 11, True)
    y = 53
    for i, item in enumerate(rng.sample(["Xi măng", "Cát vàng", "Đá 1x2", "Thép phi 10", "Gạch đặc", "Sơn nước",
                                         "Ống nhựa", "Dây điện", "Tôn lạnh", "Gỗ thông"], 9)):  # fmt: skip
        s.text(20, y, f"{i + 1:<5} {item:<30} {rng.choice(['bao', 'm3', 'kg', 'viên']):<11} "
                      f"{rng.randint(1, 500):>8}     {rng.randint(10, 900) * 1000:>10,}", 11)  # fmt: skip
        y += 8
    return s.img


def receipt(rng: random.Random, family: str) -> Image.Image:
    s = Sheet(80, 160, 300, family)
    s.text(40, 10, "CỬA HÀNG TẠP HÓA MINH AN", 9, True, "center")
    s.text(40, 15, "12 Nguyễn Trãi, Thanh Xuân, Hà Nội", 7, False, "center")
    s.text(40, 24, "HÓA ĐƠN BÁN LẺ", 11, True, "center")
    y = 34.0
    total = 0
    for item in rng.sample(["Sữa tươi", "Bánh mì", "Trứng gà", "Nước mắm", "Gạo ST25", "Mì tôm", "Dầu ăn"], 5):
        price = rng.randint(5, 120) * 1000
        total += price
        s.text(5, y, item, 8)
        s.text(75, y, f"{price:,}đ", 8, False, "right")
        y += 6
    s.text(5, y + 4, "TỔNG CỘNG", 9, True)
    s.text(75, y + 4, f"{total:,}đ", 9, True, "right")
    s.text(40, y + 16, "Cảm ơn quý khách!", 8, False, "center")
    return s.img


def application(p: Person, rng: random.Random, family: str) -> Image.Image:
    """A citizen's application ("đơn"): has "Kính gửi" like a letter, and is none of the catalogue."""
    s = _page(family)
    _motto(s)
    s.text(105, 45, rng.choice(["ĐƠN XIN VIỆC", "ĐƠN XIN NGHỈ PHÉP", "ĐƠN ĐỀ NGHỊ"]), 16, True, "center")
    s.text(40, 60, "Kính gửi: Ban Giám đốc Công ty", 12)
    y = s.rows(25, 75, [f"Tôi tên là: {p.name}", f"Sinh ngày: {dmy(p.dob)}", f"Địa chỉ: {p.place}"], 12, 8)
    y = _paragraph(s, "Tôi viết đơn này kính mong được xem xét. Tôi xin hứa chấp hành nghiêm túc mọi nội quy "
                      "và hoàn thành tốt công việc được giao. Xin trân trọng cảm ơn.", 25, y + 4, 12, 160)  # fmt: skip
    s.text(150, y + 10, "Người làm đơn", 12, True, "center")
    s.text(150, y + 35, p.name, 12, False, "center")
    return s.img


# ---- degradations ------------------------------------------------------------------------------------
def _to_300(img: Image.Image, dpi: int) -> Image.Image:
    if dpi == 300:
        return img
    s = 300 / dpi
    return img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.LANCZOS)


def degrade(img: Image.Image, dpi: int, profile: str, rng: random.Random) -> Image.Image:
    """The page as scanned (300 dpi; ``low_res`` 200): a card gets a white margin around it."""
    img = _to_300(img, dpi)
    if dpi != 300:  # a card on the scanner's glass
        m = rng.randint(40, 120)
        out = Image.new("RGB", (img.width + 2 * m, img.height + 2 * m), (250, 250, 248))
        out.paste(img, (m, m))
        img = out
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    if profile == "clean":
        return img
    if profile == "office_scan":
        img = img.rotate(rng.choice([-1, 1]) * rng.uniform(0.8, 2.5), Image.Resampling.BICUBIC, expand=True,
                         fillcolor=(235, 235, 235))  # fmt: skip
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 0.8)))
        a = np.asarray(img).astype(np.float32) + nrng.normal(0, 4.0, (img.height, img.width, 1))
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=75)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if profile == "low_res":
        img = img.resize((img.width * 2 // 3, img.height * 2 // 3), Image.Resampling.LANCZOS)
        return img.filter(ImageFilter.GaussianBlur(0.4))
    if profile == "faded":
        a = np.asarray(img).astype(np.float32)
        a = 255 - (255 - a) * rng.uniform(0.5, 0.65)
        a = a / 255.0 * np.array([238, 226, 190], np.float32)
        a = a + nrng.normal(0, 3.0, a.shape[:2])[..., None]
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))
    raise ValueError(profile)


# ---- one document ------------------------------------------------------------------------------------
def render(kind: str, seed: int = 1, profile: str = "clean", wrong_check: bool = False) -> Rendered:
    """One document of ``kind`` (see ``KINDS``), its people and layout drawn from ``seed``."""
    rng = random.Random(f"{kind}-{seed}")
    family = rng.choice(sorted(FAMILIES))
    p = person(rng)
    issued = dt.date(2021 + rng.randint(0, 3), rng.randint(1, 12), rng.randint(1, 28))
    fields: dict[str, str] = {}
    card = 600
    pages: list[tuple[Image.Image, int]]
    if kind == "cccd_back":
        pages = [(cccd_back(p, rng, family, issued), card)]
        fields = {"issue_date": dmy(issued), "mrz_id_number": p.id_number, "mrz_date_of_birth": dmy(p.dob)}
    elif kind == "cccd_both":
        pages = [(cccd_front(p, rng, family), card), (cccd_back(p, rng, family, issued), card)]
        fields = {"id_number": p.id_number, "full_name": p.name.upper(), "date_of_birth": dmy(p.dob),
                  "issue_date": dmy(issued), "mrz_id_number": p.id_number}  # fmt: skip
    elif kind == "can_cuoc_front":
        pages = [(can_cuoc_front(p, rng, family), card)]
        fields = {"id_number": p.id_number, "full_name": p.name.upper(), "date_of_birth": dmy(p.dob)}
    elif kind == "can_cuoc_back":
        pages = [(can_cuoc_back(p, rng, family, issued), card)]
        fields = {"issue_date": dmy(issued), "mrz_id_number": p.id_number, "mrz_date_of_birth": dmy(p.dob)}
    elif kind == "can_cuoc_both":
        pages = [(can_cuoc_front(p, rng, family), card), (can_cuoc_back(p, rng, family, issued), card)]
        fields = {"id_number": p.id_number, "full_name": p.name.upper(), "date_of_birth": dmy(p.dob),
                  "issue_date": dmy(issued), "mrz_id_number": p.id_number}  # fmt: skip
    elif kind == "school_record":
        pages = [(school_record(p, rng, family), 300)]
        fields = {"full_name": p.name, "date_of_birth": dmy(p.dob)}
    elif kind == "transcript":
        pages = [(transcript(p, rng, family), 300)]
        fields = {"full_name": p.name, "date_of_birth": dmy(p.dob)}
    elif kind == "land_use_certificate":
        pages = [(land_use(p, rng, family), 300)]
    elif kind == "driving_licence":
        pages = [(driving_licence(p, rng, family), card)]
        fields = {"date_of_birth": dmy(p.dob)}
    elif kind == "passport":
        img, number = passport(p, rng, family, wrong_check)
        pages = [(img, card)]
        fields = {"passport_number": number, "date_of_birth": dmy(p.dob), "personal_id": p.id_number}
    elif kind == "letter":
        pages = [(letter(p, rng, family), 300)]
    elif kind == "prose":
        pages = [(prose_page(PROSE, "KỶ NIỆM TUỔI THƠ", rng, family), 300)]
    elif kind == "english":
        pages = [(prose_page(ENGLISH, "Minutes of the Library Committee", rng, family), 300)]
    elif kind == "french":
        pages = [(prose_page(FRENCH, "Compte rendu du conseil municipal", rng, family), 300)]
    elif kind == "table":
        pages = [(table_page(rng, family), 300)]
    elif kind == "receipt":
        pages = [(receipt(rng, family), 300)]
    elif kind == "application":
        pages = [(application(p, rng, family), 300)]
    elif kind == "guide":
        pages = [(prose_page(GUIDE, "HƯỚNG DẪN THỦ TỤC CHỨNG THỰC", rng, family), 300)]
    elif kind == "marital_status":
        pages = [(marital_status(p, rng, family), 300)]
    elif kind == "vehicle_registration":
        pages = [(vehicle_registration(p, rng, family), 600)]
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    scans = [degrade(img, dpi, profile, rng) for img, dpi in pages]
    return Rendered(kind, expected_type(kind), scans, fields, profile)


def main(argv: list[str]) -> None:
    """Write ``per_kind`` documents of every kind to OUT/<kind>-<seed>/ (scan pages + truth.json)."""
    out = Path(argv[0])
    per_kind = int(argv[1]) if len(argv) > 1 else 4
    for kind in KINDS:
        for seed in range(1, per_kind + 1):
            profile = PROFILES[(seed - 1) % len(PROFILES)]
            doc = render(kind, seed, profile)
            folder = out / f"{kind}-{seed}"
            folder.mkdir(parents=True, exist_ok=True)
            names = []
            for f in doc.files():
                (folder / f.name).write_bytes(f.data)
                names.append(f.name)
            truth = {"kind": kind, "expected": doc.expected, "profile": profile, "files": names, "fields": doc.fields}
            (folder / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
