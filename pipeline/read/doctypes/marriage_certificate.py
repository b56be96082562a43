"""Giấy chứng nhận kết hôn: a table with a label column, then the husband's and the wife's column.

The two values of a row are one OCR line ("Kinh Kinh"), and the lines of a wrapped cell ("Nơi cư
trú") interleave both columns. Words are therefore told apart by position, not by text order:

* the columns' left edges are measured per page from the rows whose two values stand apart (two
  dates, two ID numbers, two names...); a word whose centre lies right of the wife's edge is hers
  (values centred in their cells instead: the columns part at the widest empty gutter);
* a line belongs to the row whose label is the nearest above it (a value printed a little higher
  or lower than its label still lands in its row); a label is recognised even when a faded scan
  glued its words ("Dânộc", "Nơicưuú"), and a row whose label was not read at all is found by
  its place in the table's fixed order;
* any cell may wrap (a long name as well as an address): a row's value goes on over the lines
  right below it; a side's words that reach over the gutter between the columns are two values
  read as one: each side keeps its own part, flagged (the geometry is in ``marriage/table.py``).

Values are then repaired where OCR predictably breaks them (glued syllables "HuỳnhMinhPhúc",
a date without separators "12091963", a stray mark before a name, specks in an address) and
checked against what the certificate itself says elsewhere: the names written under the
signatures, the personal ID's century/sex digit and birth year against the holder's sex and date
of birth, the register book's year against the date of registration, a place read twice (a
residence and the registration place), a place that does not end with its province (cut at a
wrap), a name that is not shaped like a person's (no family name first: a title; a second family
name inside: the other column's). A repaired value or a failed check lowers the confidence
below the review threshold so the clerk looks at it; a value another reading confirms, or that
is exactly an entry of a closed vocabulary (ethnic groups, nationalities), is raised above it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rapidfuzz.distance import Levenshtein

from pipeline.models import FieldValue, Word
from pipeline.read.doctypes.contract import BlockTitles, Cue, DocType, Extractor, Field
from pipeline.read.doctypes.marriage.table import ROWS, column_gap, looks_id, own_part, read_table
from pipeline.read.text.confidence import CONFIRMED, DISAGREE, INVALID_PENALTY, REPAIRED, UNUSUAL, confirm, penalise
from pipeline.read.text.dates import find_date, parse_date, real_date
from pipeline.read.text.ids import check_personal_id, normalize_id
from pipeline.read.text.lines import (
    Label,
    LabelledValue,
    Span,
    TextLine,
    collapse,
    confidence_of,
    continuation,
    field_from_spans,
    first,
    fix_digits,
    fold,
    label_values,
    make_field,
    nfc,
)
from pipeline.read.text.names import check_person_name, clean_name, name_doubts, split_at_capitals, well_shaped_name
from pipeline.read.text.people import ETHNICITIES, NATIONALITIES
from pipeline.read.text.places import (
    ABBREVIATION,
    ADDRESS_NUMBER_WORDS,
    doubt_incomplete_places,
    place_complete,
    space_before_word,
    vote_marks,
)
from pipeline.read.text.tokens import Cleaned, Token, compact, core_of, foreign_letters, has_alnum

log = logging.getLogger(__name__)

LABELS: tuple[Label, ...] = (
    Label("book_number", ("Số:", "Số."), line_start=True),
    Label("book_volume", ("Quyển số:",)),
    Label("header", ("Thông tin",)),
    Label("name", ("Họ, chữ đệm, tên", "Họ và tên")),
    Label("dob", ("Ngày, tháng, năm sinh", "Ngày, tháng, năm", "Ngày sinh")),
    Label("ethnicity", ("Dân tộc",)),
    Label("nationality", ("Quốc tịch",)),
    Label("residence", ("Nơi cư trú", "Nơi thường trú")),
    Label("id", ("Số định danh cá nhân", "Số định danh cá", "Giấy tờ tùy thân")),
    Label("registration_place", ("Nơi đăng ký kết hôn:",)),
    Label("registration_date", ("Ngày, tháng, năm đăng ký:",)),
    Label("signers", ("(Ký, ghi rõ họ tên)", "NGƯỜI KÝ")),
)
SIDES = ("husband", "wife")
SEX = {"husband": "Nam", "wife": "Nữ"}

VOCABULARY_SIMILARITY = 0.7

MIN_MARRIAGE_AGE = 16  # below the legal age (18/20) with a margin: a younger "spouse" is a misread


# ---- values --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Value:
    text: str
    words: list[Word]
    valid: bool = True
    factor: float = 1.0
    floor: float = 0.0  # confirmed otherwise: at least this confident


def _clean_name(text: str) -> tuple[str, bool]:
    """A name as printed, and whether it needed a repair beyond trimming punctuation (see ``clean_name``)."""
    c = clean_name([Token(t, None) for t in text.split()])
    return c.text, c.repaired


def _name(words: list[Word]) -> _Value:
    cleaned = clean_name([Token(w.text, w) for w in words])
    text, repaired = cleaned.text, cleaned.repaired
    kept = [w for w in words if any(c.isalpha() for c in w.text)]
    # printed "Trần Tuấn Minh" (or all capitals): a small initial is a misread or a stray mark
    shaped = (well_shaped_name(text) or text.isupper()) and not name_doubts(text)
    factor = (REPAIRED if repaired else 1.0) * (1.0 if shaped else UNUSUAL)
    return _Value(text, kept, valid=not check_person_name(text), factor=factor)


def _dob(words: list[Word]) -> _Value:
    words = [w for w in words if has_alnum(w.text)]
    text = " ".join(w.text for w in words)
    found = find_date(text)
    if found:
        value, s, e = found
        used = [w for w, start in zip(words, _starts(words), strict=True) if start < e and start + len(w.text) > s]
        return _Value(value, used or words)
    for w in words:  # "12091963": the slashes faded away
        digits = re.sub(r"\D", "", fix_digits(w.text.strip(".,;:|")))
        if len(digits) == 8 and (d := real_date(int(digits[:2]), int(digits[2:4]), int(digits[4:]))):
            return _Value(d, [w], factor=REPAIRED)
    return _Value(collapse(text).strip(" ,.;:|"), words, valid=False)


def _starts(words: list[Word]) -> list[int]:
    out, pos = [], 0
    for w in words:
        out.append(pos)
        pos += len(w.text) + 1
    return out


def _letters(text: str) -> str:
    return "".join(c for c in nfc(text).casefold() if c.isalpha())


def _snap(text: str, vocabulary: Sequence[str]) -> tuple[str, float] | None:
    """The vocabulary entry ``text`` reads, in its printed spelling where the reading is clean."""
    if not compact(text):
        return None
    tokens = re.split(r"[\s\-]+", text.strip())
    for v in vocabulary:
        if _letters(text) == _letters(v):
            same_shape = len(tokens) == len(re.split(r"[\s\-]+", v))
            return (text[:1].upper() + text[1:] if same_shape else v), 1.0
    read = compact(text)
    scored = [(1 - Levenshtein.distance(read, compact(v)) / max(len(read), len(compact(v))), v) for v in vocabulary]
    score, best = max(scored)
    return (best, score) if score >= VOCABULARY_SIMILARITY else None


def _clean_words(words: list[Word]) -> tuple[list[Word], str]:
    kept = [w for w in words if has_alnum(w.text)]
    text = " ".join(split_at_capitals(re.sub(r"^[\W_]+|[\W_]+$", "", w.text)) for w in kept)
    return kept, collapse(text)


def _vocabulary_value(words: list[Word], vocabulary: Sequence[str]) -> _Value:
    kept, text = _clean_words(words)
    match = _snap(text, vocabulary)
    if match is None:
        return _Value(text[:1].upper() + text[1:], kept, factor=UNUSUAL)
    value, score = match
    if score == 1 and len(compact(value)) >= 3:
        return _Value(value, kept, floor=CONFIRMED)
    return _Value(value, kept, factor=score)


# Address cleaning: OCR reads specks as "|", "‹", a period; a faded gap glues "Số.3ngõ".
def _clean_address(text: str) -> tuple[str, bool]:
    repaired = False
    tokens: list[str] = []
    for raw in text.split():
        t = raw.replace("|", "")
        if not has_alnum(t):
            if t.startswith(",") and tokens and not tokens[-1].endswith(","):
                tokens[-1] += ","
            repaired = repaired or t not in (",", "")
            continue
        t = re.sub(r"^[^\w]+", "", t)
        if not ABBREVIATION.match(t):
            # a period inside or at the end of a word ("Ấp.", "Hồ.", "Số.3") is a speck, and so is a
            # colon or a semicolon ("tỉnh: Nam Định", "thị: trấn"): an address has none
            t2 = re.sub(r"[.:;](?=[^\W\d_]|\d)", " ", t)
            t2 = re.sub(r"(?<=\w)[.:;]+(,?)$", r"\1", t2)
            t2 = re.sub(r"(?<=[^\W\d_]{2})(?=\d)", " ", t2)  # "Số3" -> "Số 3" (not "A2")
            t2 = re.sub(r"(?<=\d)(?=[^\W\d_]{2})", space_before_word, t2)  # "3ngõ" (not "12A", "5B")
            t2 = split_at_capitals(t2)
            repaired = repaired or t2 != t
            t = t2
        tokens.extend(t.split())
    for i, t in enumerate(tokens[:-1]):
        fixed = ADDRESS_NUMBER_WORDS.get(fold(t))
        if fixed and t != fixed and tokens[i + 1][:1].isdigit() and t[:1].isupper():
            tokens[i] = fixed  # a closed word's marks, like a vocabulary's: not a guess
    # a lone small letter inside an address is a speck ("quận c Bình Tân"), but for "y" ("Trạm y tế")
    specks = [i for i, t in enumerate(tokens) if i and len(t) == 1 and t.isalpha() and t.islower() and t != "y"]
    tokens = [t for i, t in enumerate(tokens) if i not in specks]
    repaired = repaired or bool(specks) or any(foreign_letters(t) for t in tokens)
    return collapse(" ".join(tokens)).strip(" ,;:"), repaired


def _residence(lines: list[list[Word]], line_h: float) -> _Value:
    words = [w for ws in lines for w in ws]
    # a mark as tall as the letters is not a comma or a period but a stroke of dirt
    junk = [w for w in words if not has_alnum(w.text) and w.box.h > 0.8 * line_h]
    words = [w for w in words if w not in junk]
    text, repaired = _clean_address(" ".join(w.text for w in words))
    kept = [w for w in words if has_alnum(w.text)]
    return _Value(text, kept, valid=bool(text), factor=REPAIRED if repaired or junk else 1.0)


def _id(words: list[Word]) -> _Value | None:
    candidates = [w for w in words if looks_id(w.text)] or [w for w in words if any(c.isdigit() for c in w.text)]
    if not candidates:
        return None if not any(has_alnum(w.text) for w in words) else _Value("", [], valid=False)
    number, ok = normalize_id(" ".join(w.text.strip(".,;:|") for w in candidates))
    return _Value(number, candidates, valid=ok)


def _row_value(key: str, lines: list[list[Word]], line_h: float) -> _Value | None:
    words = [w for ws in lines for w in ws]
    if key == "residence":
        return _residence(lines, line_h)
    if not words:
        return None
    if key == "name":
        return _name(words)
    if key == "dob":
        return _dob(words)
    if key == "ethnicity":
        return _vocabulary_value(words, ETHNICITIES)
    if key == "nationality":
        return _vocabulary_value(words, NATIONALITIES)
    return _id(words)


def _field(name: str, v: _Value, page: int | None) -> FieldValue:
    f = make_field(name, v.text, v.words, valid=v.valid, factor=v.factor)
    conf = max(f.confidence, v.floor) if f.value and v.valid else f.confidence
    return FieldValue(f.name, f.value, conf, page, f.box)


# ---- cross-checks --------------------------------------------------------------------------------
def _check_ids(out: dict[str, FieldValue]) -> None:
    """The ID's century/sex digit and birth year against the holder's sex and date of birth."""
    for side in SIDES:
        pid, dob = out.get(f"{side}_id"), out.get(f"{side}_dob")
        if pid is None or not re.fullmatch(r"\d{12}", pid.value):
            continue  # already flagged as not 12 digits
        problems = check_personal_id(pid.value, sex=SEX[side])
        if problems:  # an unknown province, a woman's digit for the husband: the ID is misread
            log.info("%s_id %s: %s", side, pid.value, "; ".join(problems))
            penalise(out, f"{side}_id", INVALID_PENALTY)
            continue
        if dob is None or parse_date(dob.value) is None:
            continue
        if problems := check_personal_id(pid.value, dob=dob.value, sex=SEX[side]):
            # one of the two is misread; the clerk must look at both
            log.info("%s_id %s vs dob %s: %s", side, pid.value, dob.value, "; ".join(problems))
            penalise(out, f"{side}_id", DISAGREE)
            penalise(out, f"{side}_dob", DISAGREE)
        else:  # the ID's birth year and the date's confirm each other
            confirm(out, f"{side}_id")
            confirm(out, f"{side}_dob")


def _year(date: str) -> int | None:
    m = re.fullmatch(r"\d\d/\d\d/(\d{4})", date)
    return int(m.group(1)) if m else None


def _check_dates(out: dict[str, FieldValue]) -> None:
    registered = _year(out["registration_date"].value) if "registration_date" in out else None
    if registered is None:
        return
    for side in SIDES:
        born = _year(out[f"{side}_dob"].value) if f"{side}_dob" in out else None
        if born is not None and registered - born < MIN_MARRIAGE_AGE:
            log.info("%s born %d cannot marry in %d", side, born, registered)
            penalise(out, f"{side}_dob", DISAGREE)
            penalise(out, "registration_date", DISAGREE)
    volume = out.get("book_volume")
    m = re.fullmatch(r"\d{1,3}/(\d{4})", volume.value) if volume else None
    if m and int(m.group(1)) != registered:  # a register book holds one year's registrations
        penalise(out, "book_volume", DISAGREE)
        penalise(out, "registration_date", DISAGREE)


def _check_names(out: dict[str, FieldValue], lines: list[TextLine], after: int) -> None:
    """The name written under a signature (after the table) is a second reading of the table's."""
    below = [ln for ln in lines if ln.index > after]
    for side in SIDES:
        f = out.get(f"{side}_name")
        if f is None or not f.value:
            continue
        target = compact(f.value)
        for ln in below:
            found = _find_words(ln.words, target)
            if found is None:
                continue
            name, _ = _clean_name(" ".join(w.text for w in found))
            if name == f.value:  # two readings agree
                out[f.name] = replace(f, confidence=max(f.confidence, CONFIRMED))
            elif well_shaped_name(name) and not well_shaped_name(f.value):
                # glued or garbled in the table, clean below the signature
                conf = min(f.confidence, confidence_of(found)) * REPAIRED
                out[f.name] = replace(f, value=name, confidence=round(conf, 3))
            # else: the readings differ in their marks ("Chi"/"Chỉ"): keep the table's
            break


def _find_words(words: Sequence[Word], target: str) -> list[Word] | None:
    """The run of words whose letters (folded) are ``target``'s."""
    for i in range(len(words)):
        acc = ""
        for j in range(i, len(words)):
            acc += compact(words[j].text)
            if acc == target:
                return list(words[i : j + 1])
            if not target.startswith(acc):
                break
    return None


PLACES = ("husband_residence", "wife_residence", "registration_place")


def _vote_marks(out: dict[str, FieldValue], sources: dict[str, list[Word]]) -> None:
    """The same place name read twice (a residence and the registration place, "phường Bình Trị
    Đông"), its tone marks read differently: the readings vote (see ``vote_marks``)."""
    targets: dict[str, Cleaned] = {}
    for key in PLACES:
        if key not in out or key not in sources:
            continue
        tokens = []
        for t in out[key].value.split():
            behind = [w for w in sources[key] if core_of(w.text) == core_of(t)]
            tokens.append(Token(t, max(behind, key=lambda w: w.confidence) if behind else None))
        targets[key] = Cleaned(out[key].value, tuple(tokens))
    for key, voted in vote_marks(targets, ()).items():
        if voted.text != targets[key].text:
            out[key] = replace(out[key], value=voted.text)
        if voted.unusual:  # two readings of the same name with other marks, neither surer
            penalise(out, key, UNUSUAL)


# ---- the extractor -------------------------------------------------------------------------------
def extract_marriage_certificate(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    table = read_table(lines, values)
    rows = table.rows
    out: dict[str, FieldValue] = {}
    sources: dict[str, list[Word]] = {}  # the words behind each place, for _vote_marks
    for key in ROWS:
        row = rows.get(key)
        if row is None:
            continue
        glued = key != "residence" and any(
            column_gap(ws, table.geo.line_h) is not None for side in SIDES for ws in row.words(side, table.pitch)
        )
        for side in SIDES:
            words = row.words(side, table.pitch)
            if glued:  # one side's value reaches over the gutter: keep the side's own part, flagged
                words = [own_part(ws, side, table.geo.line_h) for ws in words]
            value = _row_value(key, words, table.geo.line_h)
            if value is not None and (row.inferred or glued):
                value = replace(value, factor=value.factor * REPAIRED, floor=0.0)
            if value is not None:
                out[f"{side}_{key}"] = _field(f"{side}_{key}", value, lines[row.lines[0].index].page)
                sources[f"{side}_{key}"] = value.words
    table_start = min((r.lines[0].index for r in rows.values()), default=None)
    if v := first(values, "book_number", before=table_start):
        out["book_number"] = _first_token("book_number", v, r"\d+(/\d{4})?")
    if v := first(values, "book_volume", before=table_start):
        out["book_volume"] = _first_token("book_volume", v, r"\d{1,3}(/\d{4})?")
    if v := first(values, "registration_place", after=(table_start or 0) - 1):
        spans = continuation(lines, v.span, LABELS, max_lines=3, complete=place_complete)
        f = field_from_spans("registration_place", spans)
        text, repaired = _clean_address(f.value)
        out["registration_place"] = replace(
            f, value=text, confidence=round(f.confidence * (REPAIRED if repaired else 1.0), 3)
        )
        sources["registration_place"] = [w for sp in spans for w in sp.words]
    if v := first(values, "registration_date", after=(table_start or 0) - 1):
        out["registration_date"] = _date_field("registration_date", v.span)
    _vote_marks(out, sources)
    doubt_incomplete_places(out, PLACES)
    _check_ids(out)
    _check_dates(out)
    if table.end >= 0:
        _check_names(out, lines, table.end)
    return out


def _date_field(name: str, span: Span) -> FieldValue:
    v = _dob([w for w in span.words if has_alnum(w.text)])
    return _field(name, v, span.line.page)


def _first_token(name: str, v: LabelledValue, pattern: str) -> FieldValue:
    words = [w for w in v.span.words if has_alnum(w.text)]
    token = words[0].text.strip(".,;:|") if words else ""
    fixed = fix_digits(token)
    return _field(name, _Value(fixed, words[:1], valid=bool(re.fullmatch(pattern, fixed))), v.span.line.page)


DOCTYPE = DocType(
    name="marriage_certificate",
    label_vi="Giấy chứng nhận kết hôn",
    label_en="Marriage certificate",
    fields=(
        Field("husband_name", "Họ, chữ đệm, tên người chồng", "Husband's full name"),
        Field("husband_dob", "Ngày, tháng, năm sinh của chồng", "Husband's date of birth"),
        Field("husband_ethnicity", "Dân tộc của chồng", "Husband's ethnicity"),
        Field("husband_nationality", "Quốc tịch của chồng", "Husband's nationality"),
        Field("husband_residence", "Nơi cư trú của chồng", "Husband's residence"),
        Field("husband_id", "Số định danh cá nhân của chồng", "Husband's personal ID"),
        Field("wife_name", "Họ, chữ đệm, tên người vợ", "Wife's full name"),
        Field("wife_dob", "Ngày, tháng, năm sinh của vợ", "Wife's date of birth"),
        Field("wife_ethnicity", "Dân tộc của vợ", "Wife's ethnicity"),
        Field("wife_nationality", "Quốc tịch của vợ", "Wife's nationality"),
        Field("wife_residence", "Nơi cư trú của vợ", "Wife's residence"),
        Field("wife_id", "Số định danh cá nhân của vợ", "Wife's personal ID"),
        Field("registration_place", "Nơi đăng ký kết hôn", "Place of marriage registration"),
        Field("registration_date", "Ngày, tháng, năm đăng ký", "Date of registration"),
        Field("book_number", "Số", "Number"),
        Field("book_volume", "Quyển số", "Book (volume) number"),
    ),
    holder_fields=("husband_name", "wife_name"),
    cues=(
        Cue("GIẤY CHỨNG NHẬN KẾT HÔN", 3.0, whole_line=True),
        Cue("Nơi đăng ký kết hôn", 1.0),
        Cue("Thông tin Chồng Vợ", 1.0),
        Cue("Chồng Vợ", 0.5),
    ),
    signature_block=BlockTitles(
        titles=("NGƯỜI KÝ", "GIẤY CHỨNG NHẬN KẾT HÔN", "(Ký, ghi rõ họ tên)", "Chồng", "Vợ"),
        after=("Ngày, tháng, năm đăng ký",),
        across=True,
    ),
    extractor=Extractor(run=extract_marriage_certificate),
)
