"""The 12-digit personal ID: read OCR-tolerantly, checked against what it encodes.

Each check returns the problems it found (short English phrases for the log and the tests);
an empty list means the value passed. A check never corrects a value: an extractor lowers the
confidence of the fields involved so that a clerk looks, and keeps what was printed.

The personal ID ("số định danh cá nhân", the CCCD number, also on birth and marriage
certificates) is laid out by Circular 07/2016/TT-BCA:

* digits 1-3: code of the province where the birth was registered (:data:`PROVINCE_CODES`);
* digit 4: century of birth and sex: 0/1 = 1900s male/female, 2/3 = 2000s, 4/5 = 2100s, ...;
* digits 5-6: the last two digits of the year of birth;
* digits 7-12: a serial number.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from pipeline.read.text.dates import parse_date
from pipeline.read.text.lines import fix_digits
from pipeline.read.text.people import FEMALE, MALE, sex_of


def normalize_id(text: str, length: int = 12) -> tuple[str, bool]:
    """The first run of digits (OCR-fixed) and whether it has the expected length."""
    joined = "".join(fix_digits(t) for t in text.split())
    runs = re.findall(r"\d+", joined)
    if not runs:
        return "", False
    best = max(runs, key=len)
    exact = [r for r in runs if len(r) == length]
    value = exact[0] if exact else best
    return value, len(value) == length


PROVINCE_CODES: Mapping[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "TP Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}
# Problems of check_personal_id that implicate the date of birth / the sex, not only the ID.
DOB_PROBLEMS = ("century digit contradicts the year of birth", "birth-year digits contradict the date of birth")
SEX_PROBLEMS = ("sex digit contradicts the sex",)


def id_birth(number: str) -> tuple[int, str] | None:
    """The year of birth and the sex that a 12-digit personal ID encodes, or None."""
    if not re.fullmatch(r"\d{12}", number):
        return None
    code = int(number[3])
    century = 1900 + 100 * (code // 2)
    return century + int(number[4:6]), (MALE if code % 2 == 0 else FEMALE)


def check_personal_id(
    number: str, dob: str | None = None, sex: str | None = None, today: dt.date | None = None
) -> list[str]:
    """Problems of a 12-digit personal ID, alone and against the holder's date of birth and sex.

    ``dob`` is dd/mm/yyyy and ``sex`` "Nam"/"Nữ"; either may be None or unreadable, and is then
    not compared. Problems that implicate the date of birth are in :data:`DOB_PROBLEMS`, those
    that implicate the sex in :data:`SEX_PROBLEMS`.
    """
    if not re.fullmatch(r"\d{12}", number or ""):
        return [f"not 12 digits: {number!r}"]
    problems = []
    if number[:3] not in PROVINCE_CODES:
        problems.append(f"unknown province code {number[:3]}")
    birth = id_birth(number)
    assert birth is not None
    year, id_sex = birth
    today = today or dt.date.today()
    born = parse_date(dob)
    if born is not None:
        if born.year // 100 != year // 100:
            problems.append(DOB_PROBLEMS[0])
        elif born.year % 100 != year % 100:
            problems.append(DOB_PROBLEMS[1])
    elif year > today.year:
        problems.append(f"century digit {number[3]} gives a birth year in the future ({year})")
    holder_sex = sex_of(sex)
    if holder_sex is not None and holder_sex != id_sex:
        problems.append(SEX_PROBLEMS[0])
    return problems
