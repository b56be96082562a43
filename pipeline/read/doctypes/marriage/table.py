"""The marriage certificate's table, by position: its columns' edges, its rows, each row's
husband's and wife's words (see :mod:`pipeline.read.doctypes.marriage_certificate`).

The two values of a row are one OCR line ("Kinh Kinh") and the lines of a wrapped cell interleave
both columns, so words are told apart by where they stand, not by text order. A side's words
that reach over the gutter between the columns (a gap far wider than word spacing) are two
values read as one: ``column_gap`` finds it, ``own_part`` keeps the side's own part.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from pipeline.models import Word
from pipeline.read.text.lines import LabelledValue, TextLine, find_fuzzy, first, fix_digits
from pipeline.read.text.tokens import compact, has_alnum

ROWS = ("name", "dob", "ethnicity", "nationality", "residence", "id")
TABLE_END = ("registration_place", "registration_date", "signers")

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


def looks_id(text: str) -> bool:
    return sum(c.isdigit() for c in fix_digits(text)) >= 8


def _line_height(lines: Sequence[TextLine]) -> float:
    hs = [w.box.h for ln in lines for w in ln.words if has_alnum(w.text) and w.box.h > 4]
    return float(statistics.median(hs)) if hs else 40.0


def _two_values(key: str, words: list[Word], line_h: float) -> tuple[float, float] | None:
    """Left edges of the husband's and the wife's value on a one-line row, when they stand apart."""
    words = [w for w in words if not _is_speck(w, line_h) and has_alnum(w.text)]
    if key in ("dob", "id"):
        looks = _looks_date if key == "dob" else looks_id
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
        """The side's words per line: from the line nearest the label's that has a value on that
        side (a cell printed a little off its label's baseline; a residence: from the label's line
        down), then the lines the cell wrapped onto (a long name, an address)."""
        own = [(ln, ln.husband if side == "husband" else ln.wife) for ln in sorted(self.lines, key=lambda x: x.y)]
        own = [(ln, ws) for ln, ws in own if ws]
        if not own:
            return []
        out: list[list[Word]] = []
        last = self.y
        if self.key != "residence":
            ln, ws = min(own, key=lambda o: (abs(o[0].y - self.y), o[0].index))
            if abs(ln.y - self.y) > 0.6 * pitch:
                return []
            own = [o for o in own if o[0].y > ln.y]
            out, last = [ws], ln.y
        for ln, ws in own:  # a wrapped cell: lines one below the other, no wide gap
            if ln.y - last > 0.75 * pitch:  # a wrapped line is closer than the next row
                break
            out.append(ws)
            last = ln.y
        return out


@dataclass(frozen=True)
class Table:
    rows: dict[str, _Row]
    geo: Geometry
    end: int  # index of the first line after the table
    pitch: float  # distance between two one-line rows


def read_table(lines: list[TextLine], values: list[LabelledValue]) -> Table:
    """The table's rows, each with its lines' husband and wife words."""
    row_values = [v for v in values if v.hit.label.key in ROWS]
    anchor = first(values, "header") or first(values, "name") or (row_values[0] if row_values else None)
    if anchor is None:
        return Table({}, Geometry(None, None, 40.0), -1, 120.0)
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
    return Table(rows, geo, end, pitch)


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


def column_gap(words: list[Word], line_h: float) -> int | None:
    """Where a side's words of one line part by a gutter between two columns (a gap far wider than
    word spacing): the husband's value glued in front of the wife's, or the other way round."""
    ws = [w for w in words if not _is_speck(w, line_h) and has_alnum(w.text)]
    gaps = [(b.box.x - (a.box.x + a.box.w), i) for i, (a, b) in enumerate(itertools.pairwise(ws))]
    if not gaps:
        return None
    gap, i = max(gaps)
    return words.index(ws[i + 1]) if gap > 1.5 * line_h else None


def own_part(words: list[Word], side: str, line_h: float) -> list[Word]:
    """The side's part of a line that reaches over the gutter: the wife's is right of it."""
    cut = column_gap(words, line_h)
    if cut is None:
        return words
    return words[:cut] if side == "husband" else words[cut:]


def _split(words: list[Word], geo: Geometry) -> tuple[list[Word], list[Word]]:
    limit = geo.wife_limit
    if limit is None:  # no table geometry: split a two-value row at its gutter, else in the middle
        half = column_gap(words, geo.line_h) or (len(words) + 1) // 2
        return words[:half], words[half:]
    return [w for w in words if _cx(w) < limit], [w for w in words if _cx(w) >= limit]
