"""Căn cước công dân, front: bilingual labels; name and place of origin on the line below.

The card's QR code carries ``id|old id|Full Name|ddmmyyyy (birth)|Nam/Nữ|residence|ddmmyyyy
(issue)``. When it decodes, the fields it carries are taken from it, upper-casing the name as
the card prints it, and the printed text read by OCR is the witness: a printed value that agrees
(after folding) confirms the QR value; one that was plainly read and says something else leaves
the QR value in place but flags it for the clerk, as does a QR code that nothing printed
confirms (it might be another card's). Fields the QR does not carry (nationality, place of
origin, expiry) come from the printed text. Without a readable QR code every field is read from
the printed text. Either way the ID is then checked against the date of birth and sex it
encodes (see :mod:`pipeline.read.text.ids`), and the expiry against the date of birth (``check_cccd_expiry``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.text.confidence import INVALID_PENALTY, REPAIRED, UNUSUAL
from pipeline.read.text.dates import add_years, check_date_of_birth, date_field, find_date, parse_date, real_date
from pipeline.read.text.ids import DOB_PROBLEMS, SEX_PROBLEMS, check_personal_id, normalize_id
from pipeline.read.text.lines import (
    Label,
    Span,
    TextLine,
    canonical,
    collapse,
    confidence_of,
    continuation,
    field_from_spans,
    find_fuzzy,
    first,
    fold,
    label_values,
    line_has_label,
    nfc,
    similarity,
    vocabulary_field,
)
from pipeline.read.text.names import check_person_name, name_doubts
from pipeline.read.text.people import NATIONALITIES, SEXES
from pipeline.read.text.places import doubt_incomplete_places, place_complete

log = logging.getLogger(__name__)

# A one-character word read below this confidence before a place is a speck of the card's pattern.
SPECK_CONFIDENCE = 0.5

LABELS: tuple[Label, ...] = (
    Label("id_number", ("Số / No.:", "Số/No.", "No.:")),
    Label("full_name", ("Họ và tên / Full name:", "Họ và tên:", "Full name:", "Họ, chữ đệm và tên khai sinh")),
    Label("date_of_birth", ("Ngày sinh / Date of birth:", "Ngày sinh:", "Date of birth:")),
    Label("sex", ("Giới tính / Sex:", "Giới tính:", "Sex:")),
    Label("nationality", ("Quốc tịch / Nationality:", "Quốc tịch:", "Nationality:")),
    Label("place_of_origin", ("Quê quán / Place of origin:", "Quê quán:", "Place of origin:")),
    Label(
        "place_of_residence",
        ("Nơi thường trú / Place of residence:", "Nơi thường trú:", "Place of residence:", "Nơi cư trú:"),
    ),
    Label("expiry_date", ("Có giá trị đến:", "Date of expiry")),
    Label("header", ("Citizen Identity Card", "CĂN CƯỚC CÔNG DÂN", "SOCIALIST REPUBLIC OF VIET NAM")),
)

NO_EXPIRY = "Không thời hạn"


def _value_or_next_line(lines: list[TextLine], span: Span) -> Span:
    """The value after the label, or the whole next line when the label ends its line."""
    if span.text:
        return span
    nxt = next((ln for ln in lines if ln.index == span.line.index + 1), None)
    if nxt is None or line_has_label(nxt, LABELS):
        return span
    return nxt.span(0, len(nxt.text)).stripped()


def _strip_expiry(span: Span) -> Span:
    """A residence continuation line can start with the expiry date printed in the left column."""
    text = span.line.text[span.start : span.end]
    found = find_date(text)
    if found and found[1] <= 1:
        return span.line.span(span.start + found[2], span.end).stripped()
    hit = find_fuzzy(fold(text), fold(NO_EXPIRY))
    if hit and hit[0] <= 1:
        return span.line.span(span.start + hit[1], span.end).stripped()
    return span


def extract_cccd_front(lines: list[TextLine], qr_payloads: Sequence[str] = ()) -> dict[str, FieldValue]:
    """The card's fields from its OCR lines and the payloads of the QR codes found on it."""
    out = read_printed(lines)
    qr = next((q for q in map(parse_qr, qr_payloads) if q is not None), None)
    if qr is None:
        log.info("cccd_front: no readable QR code (%d payload(s)); fields from the printed text", len(qr_payloads))
    else:
        out = cross_check(out, qr)
    return validate(out, qr)


def read_printed(lines: list[TextLine]) -> dict[str, FieldValue]:
    """The fields as printed, read from the OCR lines alone."""
    values = label_values(lines, LABELS)
    out: dict[str, FieldValue] = {}

    if v := first(values, "id_number"):
        number, ok = normalize_id(v.span.text)
        out["id_number"] = field_from_spans("id_number", [v.span], value=number, valid=ok)
    if "id_number" not in out or not out["id_number"].value:
        for ln in lines:  # label lost: the only 12-digit number on the card
            number, ok = normalize_id(ln.text)
            if ok:
                out["id_number"] = field_from_spans("id_number", [ln.span(0, len(ln.text))], value=number)
                break
    if v := first(values, "full_name"):
        span = _value_or_next_line(lines, v.span)
        out["full_name"] = field_from_spans("full_name", [span], value=span.text.upper())
    if (v := first(values, "date_of_birth")) and (f := date_field("date_of_birth", [v.span])):
        out["date_of_birth"] = f
    if v := first(values, "sex"):
        out["sex"] = vocabulary_field("sex", v.span, SEXES)
    if v := first(values, "nationality"):
        out["nationality"] = vocabulary_field("nationality", v.span, NATIONALITIES, min_similarity=0.75)
    if v := first(values, "place_of_origin"):
        spans = [
            s
            for s in continuation(lines, _value_or_next_line(lines, v.span), LABELS, complete=place_complete)
            if s.text
        ]
        origin = field_from_spans("place_of_origin", spans)
        head, _, rest = origin.value.partition(" ")
        if len(head) == 1 and rest[:1].isupper():  # "l Dư Hàng Kênh": a speck before the ward's name
            words = [w for s in spans for w in s.words]
            # A speck the OCR itself doubted costs nothing to drop; a sure character dropped is a repair.
            factor = 1.0 if words and words[0].confidence < SPECK_CONFIDENCE else REPAIRED
            conf = confidence_of(words[1:]) if len(words) > 1 else origin.confidence
            origin = dataclasses.replace(origin, value=rest, confidence=round(conf * factor, 3))
        out["place_of_origin"] = origin
    if v := first(values, "place_of_residence"):
        first_span = _value_or_next_line(lines, v.span)
        spans = continuation(lines, first_span, LABELS, max_lines=3, clean=_strip_expiry, complete=place_complete)
        out["place_of_residence"] = field_from_spans("place_of_residence", [s for s in spans if s.text])
    doubt_incomplete_places(out, ("place_of_origin", "place_of_residence"))
    if v := first(values, "expiry_date"):
        out.update(_expiry(lines, v.hit.line.index))
    if not out.get("expiry_date") and (dob := out.get("date_of_birth")):
        out.update(_expiry_by_rule(lines, dob.value))
    return out


def _expiry_by_rule(lines: list[TextLine], dob: str) -> dict[str, FieldValue]:
    """The label was not read: the card's other date that is a renewal birthday, or "no expiry"."""
    for ln in lines:
        hit = find_fuzzy(ln.folded, fold(NO_EXPIRY))
        if hit:
            return {"expiry_date": field_from_spans("expiry_date", [ln.span(hit[0], hit[1])], value=NO_EXPIRY)}
        found = find_date(ln.text)
        if found and found[0] != dob and not check_cccd_expiry(found[0], dob):
            return {"expiry_date": field_from_spans("expiry_date", [ln.span(found[1], found[2])], value=found[0])}
    return {}


def _expiry(lines: list[TextLine], from_line: int) -> dict[str, FieldValue]:
    for ln in lines[from_line : from_line + 4]:
        hit = find_fuzzy(ln.folded, fold(NO_EXPIRY))
        if hit:
            span = ln.span(hit[0], hit[1])
            return {"expiry_date": field_from_spans("expiry_date", [span], value=NO_EXPIRY)}
        found = find_date(ln.text)
        if found:
            span = ln.span(found[1], found[2])
            return {"expiry_date": field_from_spans("expiry_date", [span], value=found[0])}
    return {}


# ---- the QR code ---------------------------------------------------------------------------------
QR_FIELDS = ("id_number", "full_name", "date_of_birth", "sex", "place_of_residence")

# Confidence of a value taken from the QR code, by what the printed text says about it.
QR_CONFIRMED = 0.99  # the printed value, as read, agrees
QR_UNREAD = 0.9  # the printed value was not read (or is garbage), other printed fields confirm the QR
QR_UNCONFIRMED = 0.75  # nothing printed was read to confirm that the QR code is this card's
QR_CONTRADICTED = 0.6  # a plainly read printed value says something else: the clerk must look
# Below this OCR confidence a printed value that disagrees is taken as misread, not as a contradiction.
MIN_WITNESS_CONFIDENCE = 0.5
# Confidence cap of fields that a validator finds inconsistent with each other.
INCONSISTENT = 0.6
# Confidence floor of a printed sex that a consistent ID's sex digit confirms.
SEX_CONFIRMED_BY_ID = 0.9

_NAME_CHARS = " '-"
_PLACE_CHARS = " ,.-/()'&;:#+0123456789"


@dataclass(frozen=True)
class CardQr:
    """The fields carried by a CCCD's QR code, in the form the card prints them."""

    id_number: str
    old_id_number: str
    full_name: str  # upper case, as printed ("LÝ THÀNH TRUNG"); the QR has it in title case
    date_of_birth: str  # dd/mm/yyyy
    sex: str  # "Nam" / "Nữ"
    place_of_residence: str
    issue_date: str  # dd/mm/yyyy, "" when the payload has none

    def printed(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in QR_FIELDS}


def _latin(text: str, also: str = " ") -> bool:
    """Only Latin letters (Vietnamese diacritics included) and the characters in ``also``.

    Rejects the mojibake of a misread character set ("Nguyá»…n", "Th獺i B穫nh").
    """
    return all(ch in also or (ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")) for ch in text)


def _qr_date(text: str) -> str | None:
    if not re.fullmatch(r"\d{8}", text):
        return None
    return real_date(int(text[:2]), int(text[2:4]), int(text[4:]))


def parse_qr(text: str) -> CardQr | None:
    """The fields of a CCCD QR payload, or None when ``text`` does not have its shape."""
    parts = [collapse(p) for p in nfc(text).strip().split("|")]
    if len(parts) < 6:
        return None
    number, old, name, dob, sex, residence = parts[:6]
    issued = parts[6] if len(parts) > 6 else ""
    born = _qr_date(dob)
    sex_match = canonical(sex, SEXES, min_similarity=1.0)
    if not re.fullmatch(r"\d{12}", number) or not re.fullmatch(r"\d*", old):  # old: the 9-digit CMND, if any
        return None
    if born is None or sex_match is None:
        return None
    if not re.search(r"[^\W\d_]", name) or not _latin(name, _NAME_CHARS):
        return None
    if not re.search(r"[^\W\d_]", residence) or not _latin(residence, _PLACE_CHARS):
        return None
    return CardQr(
        id_number=number,
        old_id_number=old,
        full_name=nfc(name.upper()),
        date_of_birth=born,
        sex=sex_match[0],
        place_of_residence=residence,
        issue_date=_qr_date(issued) or "",  # only checks the expiry: an odd one is left out
    )


def is_cccd_payload(text: str) -> bool:
    return parse_qr(text) is not None


def _agrees(name: str, printed: str, qr_value: str) -> bool:
    """The printed value as read is the QR value up to a few OCR slips (diacritics don't count)."""
    if name in ("id_number", "date_of_birth"):
        a, b = re.sub(r"\D", "", printed), re.sub(r"\D", "", qr_value)
        return bool(a) and similarity(a, b) >= 0.75  # 12 digits: 3 misread; 8 digits: 2
    if name == "sex":
        return fold(printed).strip() == fold(qr_value)
    if similarity(printed, qr_value) >= 0.7:
        return True
    if name == "place_of_residence":  # a wrapped line lost or one too many caught: one holds the other
        a, b = collapse(fold(printed)), collapse(fold(qr_value))
        return min(len(a), len(b)) >= 8 and fuzz.partial_ratio(a, b) >= 85
    return False


def _plausible(name: str, printed: str) -> bool:
    """Could the value as read be a real value of the field (and so witness against the QR)?"""
    if name == "id_number":
        return bool(re.fullmatch(r"\d{12}", printed))
    if name == "date_of_birth":
        return bool(re.fullmatch(r"\d{2}/\d{2}/\d{4}", printed))
    if name == "sex":
        return printed in SEXES
    if name == "full_name":
        return not check_person_name(printed)
    return len(re.findall(r"[^\W\d_]{2,}", printed)) >= 2  # a place: at least two words


def cross_check(printed: Mapping[str, FieldValue], qr: CardQr) -> dict[str, FieldValue]:
    """The fields with the QR's values, their confidence set by what the printed text says."""
    out = dict(printed)
    verdicts: dict[str, str] = {}
    for name, qr_value in qr.printed().items():
        ocr = printed.get(name)
        if ocr is None or not ocr.value.strip():
            verdicts[name] = "unread"
        elif _agrees(name, ocr.value, qr_value):
            verdicts[name] = "agrees"
        elif ocr.confidence < MIN_WITNESS_CONFIDENCE or not _plausible(name, ocr.value):
            verdicts[name] = "unread"
        else:
            verdicts[name] = "contradicts"
    agree = sum(v == "agrees" for v in verdicts.values())
    contradict = sum(v == "contradicts" for v in verdicts.values())
    this_card = agree > contradict
    # Is the QR code this card's? A sex that agrees proves little: one chance in two.
    confirmed = this_card and any(v == "agrees" for n, v in verdicts.items() if n != "sex")
    if not this_card and contradict:
        log.warning(
            "cccd_front: the QR code contradicts the printed card (%d field(s) agree, %d not)", agree, contradict
        )
    elif contradict:
        log.warning(
            "cccd_front: printed %s contradict(s) the QR code",
            ", ".join(n for n, v in verdicts.items() if v == "contradicts"),
        )
    for name, qr_value in qr.printed().items():
        verdict = verdicts[name]
        if verdict == "agrees":
            conf = QR_CONFIRMED
        elif verdict == "unread":
            conf = QR_UNREAD if confirmed else QR_UNCONFIRMED
        else:
            conf = QR_CONTRADICTED
        if contradict and not this_card:
            conf = min(conf, QR_CONTRADICTED)
        ocr = printed.get(name)
        out[name] = FieldValue(
            name, qr_value, conf, page=ocr.page if ocr else None, box=ocr.box if ocr else None, confirmed=True
        )
    if "place_of_origin" in out:  # a place also in the residence: the QR spells it with its diacritics
        origin = out["place_of_origin"]
        out["place_of_origin"] = dataclasses.replace(origin, value=respell_places(origin.value, qr.place_of_residence))
    log.debug("cccd_front: QR cross-check %s", verdicts)
    return out


def respell_places(value: str, reference: str) -> str:
    """``value`` with each comma-separated part that folds equal to a part of ``reference``
    spelled as there ("Hồ Chỉ Minh" → "Hồ Chí Minh" when the reference has "Hồ Chí Minh")."""
    known = {fold(p).strip(): p.strip() for p in reference.split(",") if sum(c.isalpha() for c in p) >= 4}
    parts = value.split(",")
    out = []
    for p in parts:
        ref = known.get(fold(p).strip())
        out.append(p.replace(p.strip(), ref) if ref and p.strip() else p)
    return ",".join(out)


# ---- validation ----------------------------------------------------------------------------------
def _lowered(f: FieldValue, cap: float) -> FieldValue:
    return dataclasses.replace(f, confidence=round(min(f.confidence, cap), 3))


def validate(fields: Mapping[str, FieldValue], qr: CardQr | None) -> dict[str, FieldValue]:
    """Lower the confidence of fields that contradict each other or are impossible."""
    out = dict(fields)
    value = {k: f.value for k, f in out.items()}
    if value.get("id_number"):
        problems = check_personal_id(value["id_number"], value.get("date_of_birth"), value.get("sex"))
        if problems:
            log.info("cccd_front: ID: %s", "; ".join(problems))
            out["id_number"] = _lowered(out["id_number"], INCONSISTENT)
            if "date_of_birth" in out and any(p in DOB_PROBLEMS for p in problems):
                out["date_of_birth"] = _lowered(out["date_of_birth"], INCONSISTENT)
            if "sex" in out and any(p in SEX_PROBLEMS for p in problems):
                out["sex"] = _lowered(out["sex"], INCONSISTENT)
        elif value.get("sex") in SEXES and parse_date(value.get("date_of_birth")) is not None:
            # The ID's sex digit, read apart from the printed word, says the same: two readings agree.
            sex = out["sex"]
            out["sex"] = dataclasses.replace(sex, confidence=max(sex.confidence, SEX_CONFIRMED_BY_ID))
    if value.get("date_of_birth") and check_date_of_birth(value["date_of_birth"]):
        out["date_of_birth"] = _lowered(out["date_of_birth"], INCONSISTENT)
    if value.get("expiry_date") and value.get("date_of_birth"):
        problems = check_cccd_expiry(value["expiry_date"], value["date_of_birth"], qr.issue_date if qr else None)
        if problems:
            log.info("cccd_front: expiry: %s", "; ".join(problems))
            out["expiry_date"] = _lowered(out["expiry_date"], INCONSISTENT)
    name = out.get("full_name")
    if name is not None and name.value and check_person_name(name.value):
        out["full_name"] = dataclasses.replace(name, confidence=round(name.confidence * INVALID_PENALTY, 3))
    elif name is not None and name.value and qr is None and name_doubts(name.value):
        # read from the print alone, unlike a person's name (no family name first, too many words)
        out["full_name"] = dataclasses.replace(name, confidence=round(name.confidence * UNUSUAL, 3))
    return out


# ---- the card's expiry (Law on Citizen Identification) ----------------------------------------
# The CCCD is renewed at these ages (Law on Citizen Identification 2014, art. 21); a card issued
# within two years before one of them is valid until the next. The Law on Identification 2023
# (in force 1 July 2024) adds a renewal at 14.
_RENEWAL_AGES = (25, 40, 60)
_RENEWAL_AGES_2024 = (14, 25, 40, 60)
_LAW_2024 = dt.date(2024, 7, 1)


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


DOCTYPE = DocType(
    name="cccd_front",
    label_vi="Căn cước công dân (mặt trước)",
    label_en="Citizen ID card (front)",
    fields=(
        Field("id_number", "Số định danh cá nhân", "Personal ID number"),
        Field("full_name", "Họ và tên", "Full name"),
        Field("date_of_birth", "Ngày sinh", "Date of birth"),
        Field("sex", "Giới tính", "Sex"),
        Field("nationality", "Quốc tịch", "Nationality"),
        Field("place_of_origin", "Quê quán", "Place of origin"),
        Field("place_of_residence", "Nơi thường trú", "Place of residence"),
        Field("expiry_date", "Có giá trị đến", "Date of expiry"),
    ),
    holder_fields=("full_name",),
    cues=(
        Cue("CĂN CƯỚC CÔNG DÂN", 3.0, whole_line=True),
        Cue("CĂN CƯỚC", 2.0, whole_line=True),
        Cue("Citizen Identity Card", 2.0, whole_line=True),
        Cue("Identity Card", 1.0),
        Cue("Place of origin", 1.0),
        Cue("Place of residence", 1.0),
        Cue("Date of expiry", 1.0),
        Cue("Có giá trị đến", 1.0),
    ),
    extractor=Extractor(run=extract_cccd_front, run_with_qr=extract_cccd_front),
    qr_payload=is_cccd_payload,
)
