"""Checks of values that carry their own redundancy: the 12-digit personal ID, dates, names.

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
import unicodedata
from collections.abc import Mapping

from pipeline.read.extract.common import fold

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

MALE, FEMALE = "male", "female"
_SEX_WORDS = {"nam": MALE, "nu": FEMALE, "male": MALE, "female": FEMALE}

# Problems of check_personal_id that implicate the date of birth / the sex, not only the ID.
DOB_PROBLEMS = ("century digit contradicts the year of birth", "birth-year digits contradict the date of birth")
SEX_PROBLEMS = ("sex digit contradicts the sex",)

_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")


# ---- dates -------------------------------------------------------------------------------------
def parse_date(text: str | None) -> dt.date | None:
    """A dd/mm/yyyy date (as extractors write dates), or None."""
    m = _DATE.fullmatch((text or "").strip())
    if not m:
        return None
    try:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def check_date(text: str, not_before: dt.date | None = None, not_after: dt.date | None = None) -> list[str]:
    """A real dd/mm/yyyy date, optionally within [not_before, not_after]."""
    d = parse_date(text)
    if d is None:
        return [f"not a dd/mm/yyyy date: {text!r}"]
    problems = []
    if not_before is not None and d < not_before:
        problems.append(f"date {text} is before {not_before:%d/%m/%Y}")
    if not_after is not None and d > not_after:
        problems.append(f"date {text} is after {not_after:%d/%m/%Y}")
    return problems


def check_date_of_birth(text: str, today: dt.date | None = None, max_age: int = 130) -> list[str]:
    """A real date, not in the future, of someone at most ``max_age`` years old."""
    today = today or dt.date.today()
    return check_date(text, not_before=dt.date(today.year - max_age, 1, 1), not_after=today)


def add_years(d: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


# The CCCD is renewed at these ages (Law on Citizen Identification 2014, art. 21); a card issued
# within two years before one of them is valid until the next. The Law on Identification 2023
# (in force 1 July 2024) adds a renewal at 14.
_RENEWAL_AGES = (25, 40, 60)
_RENEWAL_AGES_2024 = (14, 25, 40, 60)
_LAW_2024 = dt.date(2024, 7, 1)
NO_EXPIRY = "Không thời hạn"


def cccd_expiry(dob: dt.date, issued: dt.date) -> dt.date | None:
    """The expiry printed on a card issued on ``issued`` to someone born on ``dob``; None: no expiry."""
    ages = _RENEWAL_AGES_2024 if issued >= _LAW_2024 else _RENEWAL_AGES
    for age in ages:
        if issued < add_years(dob, age - 2):
            return add_years(dob, age)
    return None


def check_cccd_expiry(expiry: str, dob: str, issue_date: str | None = None) -> list[str]:
    """The card's "valid until" against the holder's date of birth (and the issue date if known).

    A date must be a renewal birthday (14th, 25th, 40th or 60th) after the issue date; "no
    expiry" needs a holder who was within two years of 60 when the card was issued. This catches
    a misread digit in the expiry without assuming more of the renewal rules than that.
    """
    born = parse_date(dob)
    if born is None:
        return []  # nothing to check against; the date of birth has its own check
    issued = parse_date(issue_date)
    if fold(expiry) == fold(NO_EXPIRY):
        if issued is not None and cccd_expiry(born, issued) is not None:
            return [f"no expiry for a card issued {issue_date} to someone born {dob}"]
        return []
    until = parse_date(expiry)
    if until is None:
        return [f"expiry {expiry!r} is neither a date nor {NO_EXPIRY!r}"]
    if until not in {add_years(born, age) for age in _RENEWAL_AGES_2024}:
        return [f"expiry {expiry} is not the holder's 14th, 25th, 40th or 60th birthday (born {dob})"]
    if issued is not None and until <= issued:
        return [f"expiry {expiry} is not after the issue date {issue_date}"]
    return []


# ---- the personal ID ---------------------------------------------------------------------------
def sex_of(text: str | None) -> str | None:
    """``MALE``/``FEMALE`` for "Nam"/"Nữ" (any case or diacritics), else None."""
    return _SEX_WORDS.get(fold(text or "").strip())


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


# ---- names -------------------------------------------------------------------------------------
def check_person_name(name: str) -> list[str]:
    """A person's name as printed: at least two words of Latin letters (Vietnamese diacritics)."""
    words = name.split()
    if len(words) < 2:
        return [f"a name has at least two words: {name!r}"]
    for ch in "".join(words):
        if not (ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")) and ch not in "'-":
            return [f"not a letter in a name: {ch!r}"]
    return []
