"""Giấy chứng nhận kết hôn: a table with a label column, then the husband's and the wife's column.

The two values of a row are one OCR line ("Kinh Kinh"), and the lines of a wrapped cell ("Nơi cư
trú") interleave both columns. Words are therefore told apart by position, not by text order:

* the columns' left edges are measured per page from the rows whose two values stand apart (two
  dates, two ID numbers, two names...); a word whose centre lies right of the wife's edge is hers
  (values centred in their cells instead: the columns part at the widest empty gutter);
* a line belongs to the row whose label is the nearest above it (a value printed a little higher
  or lower than its label still lands in its row); a label is recognised even when a faded scan
  glued its words ("Dânộc", "Nơicưuú"), and a row whose label was not read at all is found by
  its place in the table's fixed order.

Values are then repaired where OCR predictably breaks them (glued syllables "HuỳnhMinhPhúc",
a date without separators "12091963", a stray mark before a name, specks in an address) and
checked against what the certificate itself says elsewhere: the names written under the
signatures, the personal ID's century/sex digit and birth year against the holder's sex and date
of birth, the register book's year against the date of registration, a place read twice (a
residence and the registration place). A repaired value or a failed check lowers the confidence
below the review threshold so the clerk looks at it; a value another reading confirms, or that
is exactly an entry of a closed vocabulary (ethnic groups, nationalities), is raised above it.
"""

from __future__ import annotations

import itertools
import logging
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rapidfuzz.distance import Levenshtein

from pipeline.models import FieldValue, Word
from pipeline.read.doctypes.contract import BlockTitles, Cue, DocType, Extractor, Field
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
    find_fuzzy,
    first,
    fix_digits,
    fold,
    label_values,
    make_field,
    nfc,
)
from pipeline.read.text.names import check_person_name, clean_name, split_at_capitals, well_shaped_name
from pipeline.read.text.people import ETHNICITIES, NATIONALITIES
from pipeline.read.text.places import ABBREVIATION, ADDRESS_NUMBER_WORDS, space_before_word, vote_marks
from pipeline.read.text.tokens import Cleaned, Token, compact, core_of, has_alnum

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
ROWS = ("name", "dob", "ethnicity", "nationality", "residence", "id")
TABLE_END = ("registration_place", "registration_date", "signers")
SIDES = ("husband", "wife")
SEX = {"husband": "Nam", "wife": "Nữ"}

# Row labels as printed, for recognising a label whose words a faded scan glued or broke.
ROW_LABELS: dict[str, tuple[str, ...]] = {
    "name": ("Họ, chữ đệm, tên", "Họ và tên"),
    "dob": ("Ngày, tháng, năm sinh", "Ngày sinh"),
    "ethnicity": ("Dân tộc",),
    "nationality": ("Quốc tịch",),
    "residence": ("Nơi cư trú", "Nơi thường trú"),
    "id": ("Số định danh cá nhân", "Giấy tờ tùy thân"),
}
LABEL_SIMILARITY = 0.7

VOCABULARY_SIMILARITY = 0.7

MIN_MARRIAGE_AGE = 16  # below the legal age (18/20) with a margin: a younger "spouse" is a misread


# ---- table geometry ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Geometry:
    husband_left: float | None  # x where the husband's values start (left-aligned column)
    wife_left: float | None  # x where the wife's values start
    line_h: float  # a typical word height on the page

    @property
    def label_limit(self) -> float | None:
        """A word centred left of this is in the label column."""
        return None if self.husband_left is None else self.husband_left - 0.5 * self.line_h

    @property
    def wife_limit(self) -> float | None:
        """A word centred right of this is in the wife's column."""
        return None if self.wife_left is None else self.wife_left - 0.25 * self.line_h


def _cx(w: Word) -> float:
    return w.box.x + w.box.w / 2


def _cy(w: Word) -> float:
    return w.box.y + w.box.h / 2


def _line_y(ln: TextLine) -> float:
    return float(statistics.median(_cy(w) for w in ln.words))


def _is_speck(w: Word, line_h: float) -> bool:
    """A dot of dirt read as a character (3x3 pixels "1", "-")."""
    return w.box.w < 0.3 * line_h and w.box.h < 0.3 * line_h


def _looks_date(text: str) -> bool:
    digits = sum(c.isdigit() for c in fix_digits(text))
    return 6 <= digits <= 8 and digits >= len(text.strip(".,;:|")) * 0.6


def _looks_id(text: str) -> bool:
    return sum(c.isdigit() for c in fix_digits(text)) >= 8


def _line_height(lines: Sequence[TextLine]) -> float:
    hs = [w.box.h for ln in lines for w in ln.words if has_alnum(w.text) and w.box.h > 4]
    return float(statistics.median(hs)) if hs else 40.0


def _two_values(key: str, words: list[Word], line_h: float) -> tuple[float, float] | None:
    """Left edges of the husband's and the wife's value on a one-line row, when they stand apart."""
    words = [w for w in words if not _is_speck(w, line_h) and has_alnum(w.text)]
    if key in ("dob", "id"):
        looks = _looks_date if key == "dob" else _looks_id
        found = [w for w in words if looks(w.text)]
        if len(found) == 2:
            return found[0].box.x, found[1].box.x
    if len(words) < 2:
        return None
    gaps = [(b.box.x - (a.box.x + a.box.w), i) for i, (a, b) in enumerate(itertools.pairwise(words))]
    gap, i = max(gaps)
    if gap < 1.5 * line_h:  # word spacing, not the gap between two columns
        return None
    return words[0].box.x, words[i + 1].box.x


def _geometry(lines: Sequence[TextLine], rows: list[LabelledValue]) -> Geometry:
    line_h = _line_height(lines)
    one_line = [v for v in rows if v.hit.label.key != "residence"]  # a wrapped cell may fill its column
    pairs = [p for v in one_line if (p := _two_values(v.hit.label.key, v.span.words, line_h))]
    if pairs:
        husbands, wives = [a for a, _ in pairs], [b for _, b in pairs]
        husband_left, wife_left = statistics.median(husbands), statistics.median(wives)
        # values centred in their cells, not left-aligned: the columns part at the gutters
        if max(husbands) - min(husbands) > 2 * line_h:
            ends = [w.box.x + w.box.w for v in rows for w in v.hit.line.words_between(v.hit.start, v.hit.end)]
            gap = _widest_gap(lines, 0, max(ends, default=0), min(husbands) + 0.5 * line_h, line_h)
            husband_left = gap + 0.5 * line_h if gap is not None else min(husbands)
        if max(wives) - min(wives) > 2 * line_h:
            low, high = husband_left + 3 * line_h, min(wives) + 0.5 * line_h
            gap = _widest_gap(lines, husband_left - 0.5 * line_h, low, high, line_h)
            wife_left = gap + 0.25 * line_h if gap is not None else min(wives)
        return Geometry(husband_left, wife_left, line_h)
    for ln in lines:  # no row with two separate values: the "Thông tin | Chồng | Vợ" header
        husband = find_fuzzy(ln.folded, "chong")
        if husband and find_fuzzy(ln.folded, "thong tin"):
            hw = ln.words_between(husband[0], husband[1])
            after = ln.words[ln.words.index(hw[0]) + 1 :] if hw else []
            if hw and after:  # the word after "Chồng" is "Vợ" (however it was read); both centred
                hc, wc = _cx(hw[0]), _cx(after[0])
                return Geometry(hc - (wc - hc) / 2, (hc + wc) / 2, line_h)
    return Geometry(None, None, line_h)


def _widest_gap(lines: Sequence[TextLine], left: float, low: float, high: float, line_h: float) -> float | None:
    """The middle of the widest stretch of x in [low, high] that the fewest value words cover:
    the gutter between the husband's and the wife's column."""
    spans = [
        (w.box.x, w.box.x + w.box.w)
        for ln in lines
        for w in ln.words
        if _cx(w) >= left and not _is_speck(w, line_h) and has_alnum(w.text)
    ]
    if high - low < 2:
        return None
    xs = range(int(low), int(high))
    cover = [sum(1 for a, b in spans if a <= x < b) for x in xs]
    least = min(cover)
    best: tuple[int, int] | None = None
    run_start: int | None = None
    for i, c in enumerate([*cover, least + 1]):
        if c == least and run_start is None:
            run_start = i
        elif c != least and run_start is not None:
            if best is None or i - run_start > best[1] - best[0]:
                best = (run_start, i)
            run_start = None
    return xs[0] + (best[0] + best[1]) / 2 if best else None


# ---- rows ----------------------------------------------------------------------------------------
_ROW_COMPACT = {key: tuple(compact(v) for v in variants) for key, variants in ROW_LABELS.items()}


def _match_row_label(text: str) -> str | None:
    """The row whose label ``text`` reads (or begins to read, if the label wrapped), glued or not."""
    read = compact(text)
    if len(read) < 4:
        return None
    best: tuple[float, str] | None = None
    for key, variants in _ROW_COMPACT.items():
        for label in variants:
            for p in range(max(4, len(label) // 2), len(label) + 1):
                score = 1 - Levenshtein.distance(read, label[:p]) / max(len(read), p)
                if best is None or score > best[0]:
                    best = (score, key)
    return best[1] if best and best[0] >= LABEL_SIMILARITY else None


@dataclass
class _Line:
    y: float
    index: int
    husband: list[Word]
    wife: list[Word]


@dataclass
class _Row:
    key: str
    y: float
    lines: list[_Line] = field(default_factory=list)
    inferred: bool = False  # no label: found by its place between two other rows

    def words(self, side: str, pitch: float) -> list[list[Word]]:
        """The side's words per line. A one-line row takes the label's line, else the nearest line
        that has a value on that side (a cell printed a little off its label's baseline)."""
        own = [(ln, ln.husband if side == "husband" else ln.wife) for ln in sorted(self.lines, key=lambda x: x.y)]
        own = [(ln, ws) for ln, ws in own if ws]
        if not own:
            return []
        if self.key != "residence":
            ln, ws = min(own, key=lambda o: (abs(o[0].y - self.y), o[0].index))
            return [ws] if abs(ln.y - self.y) <= 0.6 * pitch else []
        out: list[list[Word]] = []
        last = self.y
        for ln, ws in own:  # a wrapped cell: lines one below the other, no wide gap
            if ln.y - last > 0.75 * pitch:  # a wrapped line is closer than the next row
                break
            out.append(ws)
            last = ln.y
        return out


@dataclass(frozen=True)
class _Table:
    rows: dict[str, _Row]
    geo: Geometry
    end: int  # index of the first line after the table
    pitch: float  # distance between two one-line rows


def _table(lines: list[TextLine], values: list[LabelledValue]) -> _Table:
    """The table's rows, each with its lines' husband and wife words."""
    row_values = [v for v in values if v.hit.label.key in ROWS]
    anchor = first(values, "header") or first(values, "name") or (row_values[0] if row_values else None)
    if anchor is None:
        return _Table({}, Geometry(None, None, 40.0), -1, 120.0)
    page = anchor.hit.line.page
    start = anchor.hit.line.index
    if anchor.hit.label.key not in ("header", "name"):  # the first rows' labels were not read
        start = min(ln.index for ln in lines if ln.page == page and ln.index >= start - 3)
    end_v = next(
        (v for v in values if v.hit.label.key in TABLE_END and v.hit.line.index > start and v.hit.line.page == page),
        None,
    )
    end = end_v.hit.line.index if end_v else max(ln.index for ln in lines if ln.page == page) + 1
    # the lines between the first row and the end by position: OCR may order a line out of place
    on_page = [ln for ln in lines if ln.page == page and ln.words]
    by_index = {ln.index: ln for ln in on_page}
    top = min((_line_y(by_index[i]) for i in range(start, end) if i in by_index), default=0.0)
    bottom = _line_y(by_index[end]) if end in by_index else float("inf")
    table = [ln for ln in on_page if start <= ln.index < end or top <= _line_y(ln) < bottom]
    row_values = [v for v in row_values if v.hit.line in table]
    geo = _geometry(table, row_values)
    hits = {v.hit.line.index: v for v in row_values}

    rows: dict[str, _Row] = {}
    loose: list[_Line] = []
    for ln in table:
        words = [w for w in ln.words if not _is_speck(w, geo.line_h)]
        if not words:
            continue
        y = statistics.median(_cy(w) for w in words)
        hit = hits.get(ln.index)
        label_words: list[Word] = []
        if hit is not None:
            value_words = [w for w in hit.span.words if not _is_speck(w, geo.line_h)]
            if geo.label_limit is not None:  # the span may miss a value glued to the label
                inside = set(map(id, ln.words_between(hit.hit.start, hit.hit.end)))
                value_words = [w for w in words if id(w) not in inside and _cx(w) >= geo.label_limit]
        elif geo.label_limit is not None:
            label_words = [w for w in words if _cx(w) < geo.label_limit]
            value_words = [w for w in words if _cx(w) >= geo.label_limit]
        else:
            value_words = words
        key = hit.hit.label.key if hit else _match_row_label(" ".join(w.text for w in label_words))
        if key is None and (ln.index == start or find_fuzzy(ln.folded, "thong tin")):
            continue  # the header line "Thông tin | Chồng | Vợ"
        line = _Line(y, ln.index, *_split(value_words, geo))
        if key is not None and key not in rows:
            rows[key] = _Row(key, y, [line])
        else:
            loose.append(line)
    ys = sorted(r.y for r in rows.values())
    gaps = [b - a for a, b in itertools.pairwise(ys)]
    pitch = statistics.median(gaps) if len(gaps) >= 2 else 3 * geo.line_h
    _unlabelled_rows(rows, loose, pitch, geo.line_h)
    for line in loose:  # a line without a label belongs to the row whose label is nearest above it
        above = [r for r in rows.values() if r.y <= line.y + 0.5 * geo.line_h]
        if above:
            max(above, key=lambda r: r.y).lines.append(line)
    return _Table(rows, geo, end, pitch)


def _unlabelled_rows(rows: dict[str, _Row], loose: list[_Line], pitch: float, line_h: float) -> None:
    """A row whose label was not read at all, after a row that was: the rows' fixed order says
    which it is; its first line with values stands a row below the previous row's last line."""
    for i, key in enumerate(ROWS):
        prev = rows.get(ROWS[i - 1]) if i else None
        nxt = rows.get(ROWS[i + 1]) if i + 1 < len(ROWS) else None
        if key in rows or (prev is None and nxt is None):
            continue
        if prev is None:  # the first row: a row above the second
            if i == 0 and nxt is not None:
                above = [ln for ln in loose if nxt.y - 1.5 * pitch < ln.y < nxt.y - 0.5 * line_h and ln.husband]
                if above:
                    first_line = max(above, key=lambda x: x.y)
                    rows[key] = _Row(key, first_line.y, [first_line], inferred=True)
                    loose.remove(first_line)
            continue
        if nxt is None and key != ROWS[-1]:
            continue
        last = prev.y
        for ln in sorted(loose, key=lambda x: x.y):  # the previous row's wrapped lines
            if prev.key == "residence" and last < ln.y <= last + 0.75 * pitch:
                last = ln.y
        top = nxt.y - 0.5 * line_h if nxt is not None else last + 1.5 * pitch
        between = [ln for ln in loose if last + 0.6 * pitch < ln.y < top and (ln.husband or ln.wife)]
        if between:
            first_line = min(between, key=lambda x: x.y)
            rows[key] = _Row(key, first_line.y, [first_line], inferred=True)
            loose.remove(first_line)


def _split(words: list[Word], geo: Geometry) -> tuple[list[Word], list[Word]]:
    limit = geo.wife_limit
    if limit is None:  # no table geometry: split a two-value row in the middle
        half = (len(words) + 1) // 2
        return words[:half], words[half:]
    return [w for w in words if _cx(w) < limit], [w for w in words if _cx(w) >= limit]


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
    shaped = well_shaped_name(text) or text.isupper()
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
            # a period inside or at the end of a word ("Ấp.", "Hồ.", "Số.3") is a speck
            t2 = re.sub(r"\.(?=[^\W\d_]|\d)", " ", t)
            t2 = re.sub(r"(?<=\w)\.+(,?)$", r"\1", t2)
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
    candidates = [w for w in words if _looks_id(w.text)] or [w for w in words if any(c.isdigit() for c in w.text)]
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


# ---- the extractor -------------------------------------------------------------------------------
def extract_marriage_certificate(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    table = _table(lines, values)
    rows = table.rows
    out: dict[str, FieldValue] = {}
    sources: dict[str, list[Word]] = {}  # the words behind each place, for _vote_marks
    for key in ROWS:
        row = rows.get(key)
        if row is None:
            continue
        for side in SIDES:
            value = _row_value(key, row.words(side, table.pitch), table.geo.line_h)
            if value is not None and row.inferred:
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
        spans = continuation(lines, v.span, LABELS)
        f = field_from_spans("registration_place", spans)
        text, repaired = _clean_address(f.value)
        out["registration_place"] = replace(
            f, value=text, confidence=round(f.confidence * (REPAIRED if repaired else 1.0), 3)
        )
        sources["registration_place"] = [w for sp in spans for w in sp.words]
    if v := first(values, "registration_date", after=(table_start or 0) - 1):
        out["registration_date"] = _date_field("registration_date", v.span)
    _vote_marks(out, sources)
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
