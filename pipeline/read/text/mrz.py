"""Machine-readable zones (ICAO Doc 9303): the ID card's three lines of 30 (TD1) and the
passport's two lines of 44 (TD3), found in OCR lines, repaired and checked.

Every number in a zone carries a check digit (weights 7, 3, 1; ``<`` = 0, digits their value,
A-Z = 10-35) and a composite digit covers the zone's numbers together. A field whose check digit
fails was misread (or the document altered): its confidence is held below the review threshold.

OCR reads the zone's filler ``<`` in several ways ("«", "K", "(", " "), and letters for digits in
number fields ("O" for 0); the repairs below are positional: a digit field only holds digits, a
name field only letters and fillers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.models import FieldValue, Word
from pipeline.read.text.confidence import DISAGREE, confirm, penalise
from pipeline.read.text.lines import TextLine, confidence_of, fold, union_box

TD1_LENGTH = 30
TD3_LENGTH = 44
# A field whose check digit fails: below the review threshold (0.80) whatever the OCR said.
FAILED_CHECK = 0.4
# A field whose check digit (and the composite) pass: as sure as the OCR of its line, at least this.
PASSED_CHECK = 0.9

_WEIGHTS = (7, 3, 1)
_TO_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "Z": "2", "S": "5",
                           "G": "6", "B": "8", "T": "7", "A": "4"})  # fmt: skip
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B", "4": "A", "7": "T"})


def check_digit(data: str) -> int:
    """The ICAO 9303 check digit of ``data`` (digits, A-Z and ``<``)."""
    total = 0
    for i, c in enumerate(data):
        if c.isdigit():
            v = int(c)
        elif "A" <= c <= "Z":
            v = ord(c) - ord("A") + 10
        else:
            v = 0
        total += v * _WEIGHTS[i % 3]
    return total % 10


def _valid(data: str, digit: str) -> bool:
    return digit.isdigit() and check_digit(data) == int(digit)


def clean_line(text: str) -> str:
    """An OCR line as zone characters: upper case, fillers repaired, spaces dropped."""
    t = re.sub(r"(?<=<)[cekx]+|[cekx]+(?=<)", lambda m: "<" * len(m.group()), text)  # fillers read as letters
    t = t.upper().replace("«", "<<").replace("‹", "<").replace("≤", "<")
    t = re.sub(r"[\s]", "", t)
    t = re.sub(r"[({\[|£€]", "<", t)
    return re.sub(r"[^A-Z0-9<]", "", t)


def _looks_like_zone(cleaned: str, length: int) -> bool:
    return abs(len(cleaned) - length) <= 3 and cleaned.count("<") >= 2


def _fit(cleaned: str, length: int, check_last: bool = False) -> str:
    """A line cut or padded to ``length``: fillers lost or read twice. ``check_last``: the line
    ends with a check digit, so fillers are put back (or dropped) before it."""
    if check_last and len(cleaned) != length and cleaned[-1:].isdigit() and "<<" in cleaned:
        body, last = cleaned[:-1], cleaned[-1]
        i = body.rfind("<<") + 2  # the end of the filler run before the digit
        missing = length - len(cleaned)
        if missing > 0:
            return body[:i] + "<" * missing + body[i:] + last
        run_start = len(body[:i].rstrip("<"))
        if i - run_start > -missing:
            return body[: i + missing] + body[i:] + last
    return (cleaned + "<" * length)[:length]


def _digits(s: str) -> str:
    return s.translate(_TO_DIGIT)


def _letters(s: str) -> str:
    return s.translate(_TO_LETTER)


def _date(yymmdd: str, future: bool, today: dt.date | None = None) -> str:
    """'900115' -> '15/01/1990'; a birth date is in the past, an expiry date may be ahead."""
    if not yymmdd.isdigit() or len(yymmdd) != 6:
        return ""
    today = today or dt.date.today()
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    century = 2000 if (future or 2000 + yy <= today.year) else 1900
    if future and 2000 + yy > today.year + 50:
        century = 1900
    try:
        return dt.date(century + yy, mm, dd).strftime("%d/%m/%Y")
    except ValueError:
        return ""


def _name(field: str) -> str:
    """'NGUYEN<<VAN<AN<<<' -> 'NGUYEN VAN AN' (surname first, as Vietnamese names are written)."""
    surname, _, given = _letters(field).strip("<").partition("<<")
    parts = [p for p in (surname.replace("<", " "), given.replace("<", " ")) if p.strip()]
    return " ".join(" ".join(parts).split())


@dataclass(frozen=True)
class Zone:
    """A parsed zone: its values and which check digits passed."""

    kind: str  # "TD1" (ID card) or "TD3" (passport)
    document_number: str
    document_number_ok: bool
    date_of_birth: str  # dd/mm/yyyy
    date_of_birth_ok: bool
    sex: str  # "Nam" / "Nữ" / ""
    expiry_date: str
    expiry_date_ok: bool
    nationality: str
    name: str  # without diacritics, as the zone writes it
    optional: str  # TD1: the 12-digit personal ID on Vietnamese cards; TD3: the personal number
    optional_ok: bool
    composite_ok: bool
    lines: tuple[TextLine, ...]

    @property
    def valid(self) -> bool:
        return self.document_number_ok and self.date_of_birth_ok and self.expiry_date_ok and self.composite_ok


_SEX = {"M": "Nam", "F": "Nữ"}


def _td1(rows: Sequence[str], lines: tuple[TextLine, ...]) -> Zone:
    l1, l2, l3 = _fit(rows[0], TD1_LENGTH), _fit(rows[1], TD1_LENGTH, check_last=True), _fit(rows[2], TD1_LENGTH)
    number, number_cd = l1[5:14], _digits(l1[14])
    optional1 = l1[15:30]
    dob, dob_cd = _digits(l2[0:6]), _digits(l2[6])
    exp, exp_cd = _digits(l2[8:14]), _digits(l2[14])
    number_digits = _digits(number) if _digits(number).isdigit() else number
    composite = number_digits + number_cd + _digits(optional1) + dob + dob_cd + exp + exp_cd + l2[18:29]
    personal = _digits(optional1.strip("<"))[:12]
    return Zone(
        kind="TD1",
        document_number=number_digits.strip("<"),
        document_number_ok=_valid(number_digits, number_cd),
        date_of_birth=_date(dob, future=False),
        date_of_birth_ok=_valid(dob, dob_cd),
        sex=_SEX.get(l2[7], ""),
        expiry_date=_date(exp, future=True),
        expiry_date_ok=_valid(exp, exp_cd),
        nationality=_letters(l2[15:18]).strip("<"),
        name=_name(l3),
        optional=personal if personal.isdigit() else "",
        optional_ok=personal.isdigit() and personal.endswith(number_digits),
        composite_ok=_valid(composite, _digits(l2[29])),
        lines=lines,
    )


def _td3(rows: Sequence[str], lines: tuple[TextLine, ...]) -> Zone:
    l1, l2 = _fit(rows[0], TD3_LENGTH), _fit(rows[1], TD3_LENGTH, check_last=True)
    number, number_cd = l2[0:9], _digits(l2[9])
    dob, dob_cd = _digits(l2[13:19]), _digits(l2[19])
    exp, exp_cd = _digits(l2[21:27]), _digits(l2[27])
    personal, personal_cd = l2[28:42], _digits(l2[42])
    personal_digits = _digits(personal.strip("<"))
    composite = number + number_cd + dob + dob_cd + exp + exp_cd + personal + personal_cd
    return Zone(
        kind="TD3",
        document_number=number.strip("<"),
        document_number_ok=_valid(number, number_cd),
        date_of_birth=_date(dob, future=False),
        date_of_birth_ok=_valid(dob, dob_cd),
        sex=_SEX.get(l2[20], ""),
        expiry_date=_date(exp, future=True),
        expiry_date_ok=_valid(exp, exp_cd),
        nationality=_letters(l2[10:13]).strip("<"),
        name=_name(l1[5:]),
        optional=personal_digits if personal_digits.isdigit() else "",
        optional_ok=_valid(personal, personal_cd) if personal_cd != "<" else True,
        composite_ok=_valid(composite, _digits(l2[43])),
        lines=lines,
    )


def find_zone(lines: Sequence[TextLine]) -> Zone | None:
    """The zone in ``lines`` (TD1: a line starting "ID"/"I<" then two more; TD3: "P<" then one), if any."""
    cleaned = [clean_line(ln.text) for ln in lines]
    for i, c in enumerate(cleaned):
        if c[:1] == "I" and i + 2 < len(cleaned) and all(_looks_like_zone(x, TD1_LENGTH) for x in cleaned[i : i + 3]):
            return _td1(cleaned[i : i + 3], tuple(lines[i : i + 3]))
        if c[:1] == "P" and i + 1 < len(cleaned) and all(_looks_like_zone(x, TD3_LENGTH) for x in cleaned[i : i + 2]):
            return _td3(cleaned[i : i + 2], tuple(lines[i : i + 2]))
    return None


def zone_field(name: str, value: str, ok: bool, zone: Zone, row: int) -> FieldValue:
    """A field read from the zone: as sure as its line's OCR (at least ``PASSED_CHECK``) when its
    check digits pass, held at ``FAILED_CHECK`` when one fails."""
    words: Sequence[Word] = zone.lines[row].words if row < len(zone.lines) else ()
    conf = (
        max(confidence_of(words), PASSED_CHECK) if ok and zone.composite_ok else min(confidence_of(words), FAILED_CHECK)
    )
    if not value:
        conf = 0.0
    page = zone.lines[row].page if row < len(zone.lines) else None
    return FieldValue(name=name, value=value, confidence=round(conf, 3), page=page, box=union_box(list(words)))


def make_td1(
    document_number: str, personal_id: str, dob: str, sex: str, expiry: str, nationality: str, name: str
) -> tuple[str, str, str]:
    """A TD1 zone for tests and fixtures: dates as YYMMDD, ``sex`` "M"/"F", ``name`` "SURNAME<<GIVEN"."""
    l1 = f"IDVNM{document_number}{check_digit(document_number)}{personal_id}".ljust(TD1_LENGTH, "<")
    l2 = f"{dob}{check_digit(dob)}{sex}{expiry}{check_digit(expiry)}{nationality}".ljust(29, "<")
    composite = l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]
    return l1, l2 + str(check_digit(composite)), name.ljust(TD1_LENGTH, "<")[:TD1_LENGTH]


def make_td3(
    number: str, nationality: str, name: str, dob: str, sex: str, expiry: str, personal: str
) -> tuple[str, str]:
    """A TD3 zone for tests and fixtures (same conventions as ``make_td1``)."""
    l1 = f"P<{nationality}{name}".ljust(TD3_LENGTH, "<")[:TD3_LENGTH]
    num = number.ljust(9, "<")
    pers = personal.ljust(14, "<")
    l2 = f"{num}{check_digit(num)}{nationality}{dob}{check_digit(dob)}{sex}{expiry}{check_digit(expiry)}"
    l2 += f"{pers}{check_digit(pers)}"
    composite = l2[0:10] + l2[13:20] + l2[21:43]
    return l1, l2 + str(check_digit(composite))


# ---- an ID card's back: the zone's fields, and the zone against the front ------------------------------
CARD_ZONE_FIELDS = ("mrz_id_number", "mrz_name", "mrz_date_of_birth", "mrz_sex", "mrz_expiry_date")


def card_zone_fields(zone: Zone) -> dict[str, FieldValue]:
    """A Vietnamese ID card's zone as fields (the 12-digit ID from its optional data when it has
    one, else the 9-digit document number)."""
    id_number = zone.optional or zone.document_number
    id_ok = zone.document_number_ok and (zone.optional_ok or not zone.optional)
    return {
        "mrz_id_number": zone_field("mrz_id_number", id_number, id_ok, zone, 0),
        "mrz_date_of_birth": zone_field("mrz_date_of_birth", zone.date_of_birth, zone.date_of_birth_ok, zone, 1),
        "mrz_sex": zone_field("mrz_sex", zone.sex, bool(zone.sex), zone, 1),
        "mrz_expiry_date": zone_field("mrz_expiry_date", zone.expiry_date, zone.expiry_date_ok, zone, 1),
        "mrz_name": zone_field("mrz_name", zone.name, bool(zone.name), zone, 2),
    }


def _same_name(printed: str, zone_name: str) -> bool:
    letters = [c for c in fold(printed).upper() if c.isalpha() or c == " "]
    return " ".join("".join(letters).split()) == " ".join(zone_name.split())


# (the front's field, the zone's field, how the two are compared)
_AGAINST_FRONT = (
    ("id_number", "mrz_id_number", lambda a, b: a.replace(" ", "") == b or a.replace(" ", "").endswith(b)),
    ("full_name", "mrz_name", _same_name),
    ("date_of_birth", "mrz_date_of_birth", lambda a, b: a == b),
)


def check_against_front(out: dict[str, FieldValue]) -> None:
    """The back's zone against the front's ID, name and date of birth (a front and back read as
    one card): a zone value whose check digits pass and that agrees confirms the printed one; one
    that disagrees sends both to review (a misread, or another card's back)."""
    for front_name, zone_name, same in _AGAINST_FRONT:
        front, zone = out.get(front_name), out.get(zone_name)
        if front is None or zone is None or not front.value or not zone.value:
            continue
        if same(front.value, zone.value):
            # the zone writes names without diacritics: it cannot confirm the printed marks
            if zone.confidence >= PASSED_CHECK and front_name != "full_name":
                confirm(out, front_name, independent=True)
        else:
            penalise(out, front_name, DISAGREE)
            penalise(out, zone_name, DISAGREE)
