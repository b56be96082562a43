"""Giấy khai sinh: one label per line (some lines carry two or three), the child first.

Values are repaired where OCR predictably breaks them (a label's remnant before a name "n: NGUYÊN",
glued words "CầnThơ", a speck read as a letter "phường X Xuân Khánh", a dot between two words
"Giao.Xuân", a fragment after the value "Cần Thơ hố") and checked against what the certificate
says elsewhere:

* the date of birth is written twice, in digits and in words;
* the child's personal ID encodes the century, the sex and the year of birth, and the province
  where the birth was registered;
* the registration date is not before the birth, and its year is the register book's year;
* the parent who declared the birth is named twice (as parent and as declarant);
* the same place is printed several times (the registration place, the parents' residences,
  the place of birth and of origin): the readings vote on tone marks and confirm each other;
* a place ends with its province: one that does not was cut where its line wrapped. A wrapped
  line has no label of its own and stands right below, under the label or under the value;
  it is taken whatever it starts with while the place is not whole (the date in words likewise,
  until it says the date in digits).

A repaired value, a value of a suspicious shape or a failed check gets a confidence below the
review threshold; a value another reading confirms is raised above it.

The cleaning helpers (names, places, glued labels, dates) are the text toolkit's (:mod:`pipeline.read.text`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import BlockTitles, Cue, DocType, Extractor, Field
from pipeline.read.text.confidence import CONFIRMED, DISAGREE, INVALID_PENALTY, REPAIRED, confirm, penalise
from pipeline.read.text.date_words import match_date_words, parse_date_words
from pipeline.read.text.dates import date_value, find_date, parse_date
from pipeline.read.text.ids import DOB_PROBLEMS, PROVINCE_CODES, SEX_PROBLEMS, check_personal_id, normalize_id
from pipeline.read.text.lines import (
    Label,
    LabelledValue,
    Span,
    TextLine,
    continuation,
    field_from_spans,
    first,
    fix_digits,
    label_values,
    make_field,
)
from pipeline.read.text.names import check_person_name, clean_name, well_shaped_name
from pipeline.read.text.people import ETHNICITIES, NATIONALITIES, SEXES, check_sex_cue
from pipeline.read.text.places import (
    clean_place,
    confirmed_place,
    disagreeing_place,
    doubt_incomplete_places,
    place_continuation,
    province_of,
    vote_marks,
)
from pipeline.read.text.tokens import (
    Cleaned,
    cleaned_field,
    compact,
    glued_value,
    has_alnum,
    span_tokens,
    tokens_confidence,
    vocabulary_value,
)

log = logging.getLogger(__name__)
LABELS: tuple[Label, ...] = (
    Label("book_number", ("Số:",), line_start=True),
    Label("book_volume", ("Quyển số:",)),
    Label("full_name", ("Họ, chữ đệm, tên:", "Họ và tên:", "Họ, chữ đệm và tên:")),
    Label("date_of_birth", ("Ngày, tháng, năm sinh:",)),
    Label("date_of_birth_in_words", ("Ghi bằng chữ:",)),
    Label("sex", ("Giới tính:",)),
    Label("ethnicity", ("Dân tộc:",)),
    Label("nationality", ("Quốc tịch:",)),
    Label("place_of_birth", ("Nơi sinh:",)),
    Label("place_of_origin", ("Quê quán:",)),
    Label("personal_id", ("Số định danh cá nhân:",)),
    Label("mother_name", ("Họ, chữ đệm, tên người mẹ:", "Họ và tên mẹ:")),
    Label("father_name", ("Họ, chữ đệm, tên người cha:", "Họ và tên cha:")),
    Label("declarant", ("Họ, chữ đệm, tên người đi khai sinh:", "Họ và tên người đi khai sinh:")),
    Label("relation", ("Quan hệ:",)),
    Label("year_of_birth", ("Năm sinh:",)),
    Label("residence", ("Nơi cư trú:",)),
    Label("registration_place", ("Nơi đăng ký khai sinh:",)),
    Label("registration_date", ("Ngày, tháng, năm đăng ký:",)),
    Label("signer", ("NGƯỜI KÝ GIẤY KHAI SINH",)),
)
# Two readings of the same date that agree: each confirms the other.
AGREED_CONFIDENCE = 0.97
DISAGREE_PENALTY = 0.5
# ---- the birth certificate ---------------------------------------------------------------------------
_FIRST_TOKEN = re.compile(r"\S+")
# Labels printed inside a line ("Giới tính: Nam Dân tộc: Kinh Quốc tịch: Việt Nam").
_MID_LINE = ("ethnicity", "nationality")


def first_token(v: LabelledValue, name: str, pattern: str = r"\d{1,4}(/\d{4})?") -> FieldValue:
    """The value's first word (a book's number), with that word's confidence only."""
    words = [w for w in v.span.words if has_alnum(w.text)]
    m = _FIRST_TOKEN.search(v.span.text)
    raw = m.group(0).strip(".,;:|_-") if m else ""
    value = fix_digits(raw)
    value = re.sub(r"[.,;:|_\-]+$", "", value)
    ok = bool(re.fullmatch(pattern, value))
    f = make_field(name, value if ok else raw, words[:1], valid=ok)
    return replace(f, page=v.span.line.page)


def _cross_check_date_words(out: dict[str, FieldValue]) -> None:
    """The date in words must say the date in digits: correct its tone marks, or flag both."""
    words, digits = out.get("date_of_birth_in_words"), out.get("date_of_birth")
    if words is None or digits is None or not words.value:
        return
    spelled = match_date_words(words.value, digits.value) if find_date(digits.value) else None
    if spelled is not None:
        confidence = max(words.confidence, AGREED_CONFIDENCE)
        out["date_of_birth_in_words"] = replace(words, value=spelled, confidence=confidence, confirmed=True)
        out["date_of_birth"] = replace(digits, confidence=max(digits.confidence, AGREED_CONFIDENCE), confirmed=True)
        return
    log.info("date of birth in words %r does not say %s", words.value, digits.value)
    out["date_of_birth_in_words"] = replace(words, confidence=round(words.confidence * DISAGREE_PENALTY, 3))
    out["date_of_birth"] = replace(digits, confidence=round(digits.confidence * DISAGREE_PENALTY, 3))


def _check_id(out: dict[str, FieldValue], dob_confirmed: bool, places: Sequence[str]) -> None:
    """The child's ID against the date of birth, the sex and the registration place's province."""
    pid = out.get("personal_id")
    if pid is None or not re.fullmatch(r"\d{12}", pid.value):
        return  # not 12 digits: already flagged
    if check_personal_id(pid.value):  # an unknown province, a century in the future
        penalise(out, "personal_id", INVALID_PENALTY)
        return
    dob = out["date_of_birth"].value if "date_of_birth" in out else None
    sex = out["sex"].value if "sex" in out and out["sex"].value in SEXES else None
    problems = check_personal_id(pid.value, dob=dob, sex=sex)
    if any(p in DOB_PROBLEMS for p in problems):
        log.info("personal_id %s vs date of birth %s: %s", pid.value, dob, problems)
        penalise(out, "personal_id", DISAGREE)
        if not dob_confirmed:
            penalise(out, "date_of_birth", DISAGREE)
    if any(p in SEX_PROBLEMS for p in problems):
        log.info("personal_id %s vs sex %s", pid.value, sex)
        penalise(out, "personal_id", DISAGREE)
        penalise(out, "sex", DISAGREE)
    registered = province_of(out["registration_place"].value) if "registration_place" in out else None
    own = PROVINCE_CODES[pid.value[:3]]
    if registered is not None and registered != own:
        log.info("personal_id %s: province %s, registered in %s", pid.value, own, registered)
        penalise(out, "personal_id", DISAGREE)
        penalise(out, "registration_place", DISAGREE)
        return
    # the province digits are checked only if a place on the certificate is in that province
    province_seen = registered == own or own in {province_of(p) for p in places}
    if not problems and parse_date(dob) is not None and sex is not None:
        confirm(out, "date_of_birth", independent=True)
        confirm(out, "sex", independent=True)
        if province_seen:
            confirm(out, "personal_id", independent=True)


def _check_registration(out: dict[str, FieldValue]) -> None:
    """Registered on or after the birth, in the register book of that year."""
    registered = parse_date(out["registration_date"].value) if "registration_date" in out else None
    if registered is None:
        return
    born = parse_date(out["date_of_birth"].value) if "date_of_birth" in out else None
    if born is not None and registered < born:
        log.info("registered %s before the birth %s", registered, born)
        penalise(out, "registration_date", DISAGREE)
        if out["date_of_birth"].confidence < AGREED_CONFIDENCE:
            penalise(out, "date_of_birth", DISAGREE)
    for key in ("book_number", "book_volume"):
        m = re.fullmatch(r"\d{1,4}/(\d{4})", out[key].value) if key in out else None
        if m and int(m.group(1)) != registered.year:
            log.info("%s %s is not the book of %d", key, out[key].value, registered.year)
            penalise(out, key, DISAGREE)
            penalise(out, "registration_date", DISAGREE)


def _check_declarant(out: dict[str, FieldValue], declarant: Cleaned | None, parents: dict[str, Cleaned]) -> None:
    """The parent who declared the birth is named twice: as parent and as declarant."""
    if declarant is None or not declarant.text:
        return
    for key, parent in parents.items():
        f = out.get(key)
        if f is None or not f.value:
            continue
        if compact(parent.text) != compact(declarant.text):
            continue
        if parent.text == declarant.text:
            if not (declarant.repaired or declarant.unusual):  # a reading of its own, not the same repair
                confirm(out, key)
        elif well_shaped_name(declarant.text) and not well_shaped_name(parent.text):
            # glued or garbled as the parent, clean as the declarant
            conf = min(f.confidence, tokens_confidence(declarant.tokens, [])) * REPAIRED
            out[key] = replace(f, value=declarant.text, confidence=round(conf, 3))
        else:  # the readings differ in their marks: one of them is wrong
            log.info("%s %r vs declarant %r", key, parent.text, declarant.text)
            penalise(out, key, DISAGREE)
        return


def _place_field(name: str, spans: list[Span]) -> tuple[FieldValue, Cleaned]:
    c = clean_place(span_tokens(spans))
    return cleaned_field(name, c, spans), c


def _residences(lines: list[TextLine], values: list[LabelledValue]) -> list[Cleaned]:
    out = []
    for v in values:
        if v.hit.label.key == "residence" and v.span.text:
            out.append(clean_place(span_tokens(place_continuation(lines, v.span, LABELS))))
    return out


def extract_birth_certificate(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    out: dict[str, FieldValue] = {}
    mother = first(values, "mother_name")
    child_end = mother.hit.line.index if mother else None

    def child(key: str) -> LabelledValue | None:
        found = first(values, key, before=child_end)
        if found is None:  # the label's words glued or garbled
            label = next(lb for lb in LABELS if lb.key == key)
            found = glued_value(lines, label, LABELS, before=child_end, anywhere=key in _MID_LINE)
        return found

    if v := child("book_number"):
        out["book_number"] = first_token(v, "book_number")
    if v := child("book_volume"):
        out["book_volume"] = first_token(v, "book_volume")
    places: dict[str, Cleaned] = {}
    place_spans: dict[str, list[Span]] = {}
    if v := child("full_name"):
        c = clean_name(span_tokens([v.span]))
        out["full_name"] = cleaned_field("full_name", c, [v.span], valid=not check_person_name(c.text))
    for key in ("place_of_birth", "place_of_origin"):
        if v := child(key):
            spans = place_continuation(lines, v.span, LABELS)
            out[key], places[key] = _place_field(key, spans)
            place_spans[key] = spans
    if (v := child("date_of_birth")) and (f := date_value("date_of_birth", v.span)):
        out["date_of_birth"] = f
    if v := child("date_of_birth_in_words"):
        dob = out["date_of_birth"].value if "date_of_birth" in out else None
        # whole when it says the date in digits ("... một nghìn chín trăm" may go on "tám mươi sáu")
        spans = continuation(lines, v.span, LABELS, max_lines=2, complete=lambda t: parse_date_words(t) == dob)
        out["date_of_birth_in_words"] = field_from_spans("date_of_birth_in_words", spans)
        _cross_check_date_words(out)
    dob_confirmed = "date_of_birth" in out and out["date_of_birth"].confidence >= AGREED_CONFIDENCE
    if v := child("sex"):
        out["sex"] = vocabulary_value("sex", v.span, SEXES, floor=False)
    if v := child("ethnicity"):
        out["ethnicity"] = vocabulary_value("ethnicity", v.span, ETHNICITIES)
    if v := child("nationality"):
        out["nationality"] = vocabulary_value("nationality", v.span, NATIONALITIES)
    if v := child("personal_id"):
        number, ok = normalize_id(v.span.text)
        digits = [w for w in v.span.words if any(c.isdigit() for c in w.text)]
        out["personal_id"] = replace(
            make_field("personal_id", number, digits or v.span.words, valid=ok), page=v.span.line.page
        )
    parents: dict[str, Cleaned] = {}
    for key in ("mother_name", "father_name"):
        if v := first(values, key):
            c = clean_name(span_tokens([v.span]))
            out[key] = cleaned_field(key, c, [v.span], valid=not check_person_name(c.text))
            parents[key] = c
    declarant = None
    if v := first(values, "declarant"):
        declarant = clean_name(span_tokens([v.span]))
    if v := first(values, "registration_place"):
        spans = place_continuation(lines, v.span, LABELS)
        out["registration_place"], places["registration_place"] = _place_field("registration_place", spans)
        place_spans["registration_place"] = spans
    if (v := first(values, "registration_date")) and (f := date_value("registration_date", v.span)):
        out["registration_date"] = f

    residences = _residences(lines, values)
    _check_places(out, places, place_spans, residences)
    check_sex_cue(out, "full_name")
    _check_id(out, dob_confirmed, [c.text for c in (*places.values(), *residences)])
    _check_registration(out)
    _check_declarant(out, declarant, parents)
    return out


def _check_places(
    out: dict[str, FieldValue],
    places: dict[str, Cleaned],
    spans: dict[str, list[Span]],
    residences: list[Cleaned],
) -> None:
    """The same places printed several times vote on tone marks and confirm each other."""
    voted = vote_marks(places, residences)
    for key, c in voted.items():
        f = cleaned_field(key, c, spans[key])
        others = [o.text for k, o in voted.items() if k != key] + [r.text for r in residences]
        if confirmed_place(c.text, others):
            f = replace(f, confidence=max(f.confidence, CONFIRMED))
        elif disagreeing_place(c.text, others):
            log.info("%s %r: another reading of the place differs", key, c.text)
            f = replace(f, confidence=round(f.confidence * DISAGREE, 3))
        out[key] = f
    doubt_incomplete_places(out, voted)


DOCTYPE = DocType(
    name="birth_certificate",
    label_vi="Giấy khai sinh",
    label_en="Birth certificate",
    fields=(
        Field("full_name", "Họ, chữ đệm, tên", "Full name"),
        Field("date_of_birth", "Ngày, tháng, năm sinh", "Date of birth"),
        Field("date_of_birth_in_words", "Ngày sinh ghi bằng chữ", "Date of birth in words"),
        Field("sex", "Giới tính", "Sex"),
        Field("ethnicity", "Dân tộc", "Ethnicity"),
        Field("nationality", "Quốc tịch", "Nationality"),
        Field("place_of_birth", "Nơi sinh", "Place of birth"),
        Field("place_of_origin", "Quê quán", "Place of origin"),
        Field("personal_id", "Số định danh cá nhân", "Personal ID number"),
        Field("mother_name", "Họ, chữ đệm, tên người mẹ", "Mother's full name"),
        Field("father_name", "Họ, chữ đệm, tên người cha", "Father's full name"),
        Field("registration_place", "Nơi đăng ký khai sinh", "Place of birth registration"),
        Field("registration_date", "Ngày, tháng, năm đăng ký", "Date of registration"),
        Field("book_number", "Số", "Number"),
        Field("book_volume", "Quyển số", "Book (volume) number"),
    ),
    holder_fields=("full_name",),
    cues=(
        Cue("GIẤY KHAI SINH", 3.0, whole_line=True),
        Cue("Họ, chữ đệm, tên người đi khai sinh", 1.0),
        Cue("Nơi đăng ký khai sinh", 1.0),
        Cue("NGƯỜI KÝ GIẤY KHAI SINH", 1.0),
        Cue("Ghi bằng chữ", 1.0),
    ),
    signature_block=BlockTitles(
        titles=("NGƯỜI KÝ GIẤY KHAI SINH", "(Ký, ghi rõ họ, chữ đệm, tên, chức vụ, đóng dấu)"),
        after=("Ngày, tháng, năm đăng ký",),
    ),
    extractor=Extractor(run=extract_birth_certificate),
)
