"""The header of an official document, read by its layout (Decree 30/2020/NĐ-CP, Appendix I).

    left column                               right column
    PARENT BODY (if any, regular)             CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
    ISSUING BODY (bold, one or two lines)     Độc lập - Tự do - Hạnh phúc
         ─────                                      ──────────
    Số: 542/TB-UBND                           <Place>, ngày 06 tháng 11 năm 2024
    V/v <subject> (a công văn)
                       KIND (THÔNG BÁO, CHỈ THỊ, QUYẾT ĐỊNH…), centred
                       <subject>: "Về việc …", "Kết luận của …", centred
                                  ─────
    Kính gửi: …

* Issuer and parent: the left block's lines above the number. The issuer is the last body, the
  parent the body printed above it. A body may take two lines: a line that names only a territory
  ("TỈNH QUẢNG NGÃI" under "ỦY BAN NHÂN DÂN") or that carries on a name cut at a conjunction ("VÀ XÃ
  HỘI") completes the line above instead of naming a body of its own.
* Number and date: the number and the day and month are often written in by hand after printing;
  what the OCR cannot read as the decree prints it (digits; a day of two digits, a month 1-2 with
  its 0) is left empty with confidence 0, for the clerk, and never guessed. A filled-in number (the
  printed form leaves a gap before "/CODE") is sent to review even when read.
* The date is the header's own "<Place>, ngày …" line in the right column, never a date cited in
  the body ("Quyết định số 2269/QĐ-TTg ngày …"). The place is the words before ", ngày"; it is
  confirmed by the territory named in the issuer's header, where it is named there.
* Subject: the "V/v" line(s) under the number, or the centred line(s) under the kind's title, up to
  the first line that is not centred under it (the body), a capitals line (a decision's authority),
  "Kính gửi" or a wide gap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.models import FieldValue, Word
from pipeline.read.doctypes.letter.weight import weights_decide
from pipeline.read.doctypes.letter.words import (
    ORG_PHRASES,
    PLACE_PHRASES,
    SUBJECT_PHRASES,
    UNITS,
    VOCABULARY_CONFIDENCE,
    has_vietnamese_marks,
    is_syllable,
    text_field,
)
from pipeline.read.text.confidence import DISAGREE
from pipeline.read.text.lines import Span, TextLine, collapse, find_fuzzy, fix_digits, fold, nfc, union_box

# The kinds of administrative documents of Decree 30/2020/NĐ-CP (Appendix III), folded: the title a
# document prints alone on a line under its number.
DOCUMENT_KINDS = (
    r"^\W{0,3}(?:"
    r"nghi\s?quyet|quyet\s?dinh|chi\s?thi|quy\s?che|quy\s?dinh|thong\s?cao|thong\s?bao|"
    r"huong\s?dan|chuong\s?trinh|ke\s?hoach|phuong\s?an|de\s?an|du\s?an|bao\s?cao|bien\s?ban|"
    r"to\s?trinh|hop\s?dong|cong\s?dien|ban\s?ghi\s?nho|ban\s?thoa\s?thuan|giay\s?uy\s?quyen|"
    r"giay\s?moi|giay\s?gioi\s?thieu|giay\s?nghi\s?phep|phieu\s?gui|phieu\s?chuyen|phieu\s?bao|"
    r"thu\s?cong|cong\s?van|nghi\s?dinh|thong\s?tu"
    r")\W{0,3}$"
)
_KIND = re.compile(DOCUMENT_KINDS)

# The header lies in the first lines of the first page; the subject is at most this many lines long.
HEADER_LINES = 16
SUBJECT_LINES = 5
# The lines of one subject follow each other at most this many text heights apart (baseline to
# baseline); the body starts further down, after the short rule.
PITCH = 2.2
# Words of one column's line are closer than this many text heights; a wider gap is the other column.
GAP = 2.5
# Two numbers side by side in running text ("2021 2030") had a mark between them that the OCR lost.
LOST_MARK_CAP = 0.7
_NUMBERS_SIDE_BY_SIDE = re.compile(r"(?<![\w/.,])\d+ \d+(?![\w/.,])")
# A body's name joined with the territory printed under it ("ỦY BAN NHÂN DÂN" / "TỈNH QUẢNG NGÃI") is one
# body when both lines are bold; were the upper line regular type, the decree would make it the parent.
# The stroke weight measured on the scan decides (``letter.weight``); unmeasured or unclear, for review.
WEIGHT_UNSEEN_CAP = 0.75
# A number filled in after printing (the form's gap before "/CODE"): handwriting or a stamp, for review.
FILLED_IN_CAP = 0.7
# A date not printed as the decree prints it ("ngày 5 tháng 1") is taken only if its digits read as
# print this surely, and then for review.
PRINTED_DIGITS = 0.9
NONSTANDARD_CAP = 0.6
# A mark print does not put there ("Hải: Phòng", "về ,công tác") or a common word in capitals inside
# running text ("nhiệm VỤ"; acronyms such as "TTHC" are no syllables): the OCR slipped near there.
STRAY_MARK_CAP = 0.7
_STRAY_IN_PLACE = re.compile(r"[:;,!?()\[\]\"']")
_STRAY_IN_TEXT = re.compile(r"\w[:;]\s|\s[,.;:]\S")
# A place that agrees with the territory printed in the issuer's header is that place.
PLACE_CONFIRMED = VOCABULARY_CONFIDENCE

_MOTTO = "cong hoa xa hoi chu nghia viet nam"
_MOTTO_2 = "doc lap - tu do - hanh phuc"
# "Số:" and what follows, up to the slash before the issuer's code ("Số: 542/TB-UBND", "Số:  /TB-UBND").
_NUMBER_LABEL = re.compile(r"^\W{0,2}s[o0ôố6ớơó]?\s?[:;.,]", re.I)
_NUMBER_LINE = re.compile(r"^\W{0,2}[sS]\S{0,5}.*/\s?\S{0,3}[A-ZĐ]")
_CODE = re.compile(r"^(?:\d{4}/)?[A-ZĐ][A-Za-zĐđ0-9]*(?:[-–][A-ZĐ0-9][A-Za-zĐđ0-9]*)*$")
# "… tháng … năm …", a letter of "tháng" or "năm" misread ("thúng")
_DATE_PARTS = re.compile(r"(?P<d>.{0,6}?)th\S{1,3}ng(?P<m>.{0,6}?)n\S{1,2}m\W{0,3}(?P<y>\S{4})")
# "V/v", read "V/V", "Vlv", "V/ v", "VW", or "V/" with its small v lost
_SUBJECT_OPENER = re.compile(r"^\W{0,2}v\s?(?:[/|l1i!]\s?[vw]\b|/|w\b)\W{0,2}")
_RECIPIENT = "kinh gui"
# "ngày", or the word before "tháng" when a pen's stroke over it garbled it ("ngàW/F{ tháng")
_NGAY = re.compile(r"(?<![a-z])ngay")
_NGAY_GARBLED = re.compile(r"(?<![a-z])ng\S{1,5}(?=\s?\S{0,4}\s?th\S{1,3}ng)")
# A line that carries on the line above: it begins or the line above ends with a conjunction.
_JOINERS = ("va", "&", "cua", "ve", "thuoc", "tai")
# After a territory's unit word, these name a body of that territory ("TỈNH ỦY", "HUYỆN ĐOÀN").
_PARTY_BODIES = ("uy", "doan")


@dataclass(frozen=True)
class Row:
    """The words of one header line in one column."""

    line: TextLine
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def folded(self) -> str:
        return fold(self.text)

    @property
    def span(self) -> Span:
        first = self.line.words.index(self.words[0])
        last = self.line.words.index(self.words[-1])
        return self.line.span(self.line.starts[first], self.line.starts[last] + len(self.words[-1].text))

    @property
    def baseline(self) -> float:
        return statistics.median(w.box.y + w.box.h for w in self.words)

    @property
    def top(self) -> int:
        return min(w.box.y for w in self.words)

    @property
    def bottom(self) -> int:
        return max(w.box.y + w.box.h for w in self.words)

    @property
    def left(self) -> int:
        return min(w.box.x for w in self.words)

    @property
    def right(self) -> int:
        return max(w.box.x + w.box.w for w in self.words)


@dataclass(frozen=True)
class Layout:
    """Where the header's parts are on the first page."""

    lines: tuple[TextLine, ...]  # the first page's lines
    split: float  # x between the left block and the right (the motto's) column
    height: float  # the page's text height (px)
    left: float  # the body text's extent
    right: float
    motto: TextLine | None
    number: TextLine | None


# ---- layout ---------------------------------------------------------------------------------------
def _mid(w: Word) -> float:
    return w.box.x + w.box.w / 2


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _sure_words(lines: Sequence[TextLine]) -> list[Word]:
    words = [w for ln in lines for w in ln.words if w.confidence >= 0.6 and _letters(w.text) >= 2]
    return words or [w for ln in lines for w in ln.words]


def layout(lines: Sequence[TextLine]) -> Layout | None:
    """The header's frame on the first page: its columns and its number line."""
    if not lines:
        return None
    page = tuple(ln for ln in lines if ln.page == lines[0].page)
    sure = _sure_words(page)
    height = statistics.median(w.box.h for w in sure)
    xs = sorted(w.box.x for w in sure)
    ends = sorted(w.box.x + w.box.w for w in sure)
    left, right = xs[len(xs) // 50], ends[-1 - len(ends) // 50]  # the text's edges, outliers aside
    top = page[:HEADER_LINES]
    motto, split = None, (left + right) / 2
    for pattern in (_MOTTO, _MOTTO_2):  # the motto's first line, else its second ("Độc lập - …")
        hit = next(((ln, h) for ln in top if (h := find_fuzzy(ln.folded, pattern)) is not None), None)
        if hit is not None:
            motto, (start, _, _) = hit
            split = min(w.box.x for w in motto.words_between(start, start + 3)) - 0.5 * height
            break
    number = None
    for ln in top:
        row = _left_row(ln, split)
        if row is not None and (_NUMBER_LABEL.match(row.text) or (_NUMBER_LINE.match(row.text) and "/" in row.text)):
            number = ln
            break
    return Layout(page, split, height, left, right, motto, number)


def _left_row(ln: TextLine, split: float) -> Row | None:
    words = tuple(w for w in ln.words if _mid(w) < split)
    return Row(ln, words) if words else None


def _right_row(ln: TextLine, split: float) -> Row | None:
    words = tuple(w for w in ln.words if _mid(w) >= split)
    return Row(ln, words) if words else None


def _sure(w: Word, height: float) -> bool:
    """A word of print read with some confidence: two letters or digits, text-sized."""
    return w.confidence >= 0.6 and sum(c.isalnum() for c in w.text) >= 2 and w.box.h >= 0.6 * height


def _is_junk(row: Row, height: float) -> bool:
    """A stamp's or a pen's marks read as text: fewer than a third of the words are sure print."""
    sure = sum(_sure(w, height) for w in row.words)
    return sure == 0 or 3 * sure < len(row.words)


def _capitals(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 2 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


# ---- issuer and parent ------------------------------------------------------------------------------
def _org_rows(lay: Layout) -> list[Row]:
    """The left block's lines above the number, bottom up while they follow each other closely
    (without a number read: from the motto's line down while they are printed in capitals)."""
    end: TextLine | None = lay.number
    if end is None and lay.motto is not None:
        end = next((ln for ln in lay.lines if ln.index > lay.motto.index and not _org_like(ln, lay)), None)
    if end is None:
        return []
    above = [ln for ln in lay.lines if ln.index < end.index]
    if lay.motto is not None:  # the first body is printed on the motto's line; a stamp above it is not
        motto_top = min(w.box.y for w in lay.motto.words) - lay.height
        above = [ln for ln in above if ln.index >= lay.motto.index or min(w.box.y for w in ln.words) >= motto_top]
    rows: list[Row] = []
    bottom = min(w.box.y for w in end.words)
    for ln in reversed(above):
        row = _org_row(ln, lay)
        if row is None:
            continue
        if bottom - row.bottom > 3.5 * lay.height:  # far above the block: not the header
            break
        rows.insert(0, row)
        bottom = row.top
    return rows


def _org_row(ln: TextLine, lay: Layout) -> Row | None:
    """The line's left-column words if they print a body's name: capitals, not a stamp's marks."""
    row = _left_row(ln, lay.split)
    if row is None:
        return None
    words = [w for w in row.words if _letters(w.text) or w.text.strip() in "-–&,"]
    while words and not _letters(words[0].text):  # a rule's or a speck's mark before the name
        words.pop(0)
    if not any(_letters(w.text) >= 2 and w.box.h >= 0.6 * lay.height for w in words):
        return None
    row = Row(ln, tuple(words))
    return row if _capitals(row.text) else None


def _org_like(ln: TextLine, lay: Layout) -> bool:
    return _org_row(ln, lay) is not None


def _names_territory_only(row: Row) -> bool:
    """The row is a territory ("TỈNH QUẢNG NGÃI", "HUYỆN BÌNH SƠN"), not a body ("TỈNH ỦY …")."""
    words = row.folded.split()
    for unit in UNITS:
        u = fold(unit).split()
        if words[: len(u)] == u and len(words) > len(u):
            return words[len(u)] not in _PARTY_BODIES
    return False


def _has_territory(row: Row) -> bool:
    words = row.folded.split()
    units = [fold(u).split() for u in UNITS]
    return any(words[i : i + len(u)] == u for i in range(len(words)) for u in units)


def _continues(prev: Row, row: Row) -> bool:
    """``row`` is the second line of the body printed on ``prev``."""
    if row.folded.split()[0] in _JOINERS or prev.folded.split()[-1] in _JOINERS or prev.text.endswith((",", "-", "–")):
        return True
    return _names_territory_only(row) and not _has_territory(prev)


def bodies(rows: Sequence[Row]) -> list[list[Row]]:
    """The bodies printed in the left block, top down, each as its lines."""
    out: list[list[Row]] = []
    for row in rows:
        if out and _continues(out[-1][-1], row):
            out[-1].append(row)
        else:
            out.append([row])
    return out


def _org_field(name: str, rows: Sequence[Row]) -> FieldValue:
    words = " ".join(r.text for r in rows).upper().split()
    text = " ".join(w.rstrip(".:;") if _letters(w) >= 3 else w for w in words).strip(" -–.,;:|_")
    return text_field(name, [r.span for r in rows], text, ORG_PHRASES)


def _joined_by_territory(body: Sequence[Row]) -> bool:
    return any(_names_territory_only(b) and not _has_territory(a) for a, b in itertools.pairwise(body))


def header_rows(lay: Layout) -> list[Row]:
    """The left block's lines that name the bodies (the parent's and the issuer's), top down."""
    return _org_rows(lay)


def _split_by_weight(found: list[list[Row]]) -> tuple[list[list[Row]], bool]:
    """The bodies with the last one split where its name's line is regular type over a bold territory
    ("ỦY BAN NHÂN DÂN" / **"PHƯỜNG AN HẢI"**); and whether the weight decided the issuer."""
    body = found[-1]
    if not _joined_by_territory(body):
        return found, True
    cut = next(
        i for i, (a, b) in enumerate(itertools.pairwise(body), 1) if _names_territory_only(b) and not _has_territory(a)
    )
    lighter = weights_decide([r.words for r in body[:cut]], [r.words for r in body[cut:]])
    if lighter is None:
        return found, False
    if lighter:
        return [*found[:-1], body[:cut], body[cut:]], True
    return found, True


def read_issuer(lay: Layout) -> dict[str, FieldValue]:
    rows = _org_rows(lay)
    found, decided = _split_by_weight(bodies(rows)) if rows else ([], True)
    out: dict[str, FieldValue] = {}
    if found:
        issuer = _org_field("issuing_org", found[-1])
        if not decided:  # "ỦY BAN NHÂN DÂN" over "TỈNH …": one body, unless it is regular type
            issuer = dataclasses.replace(issuer, confidence=min(issuer.confidence, WEIGHT_UNSEEN_CAP))
        out["issuing_org"] = issuer
    if len(found) >= 2:
        out["parent_org"] = _org_field("parent_org", found[-2])
    return out


# ---- number -------------------------------------------------------------------------------------------
def _empty(name: str, words: Sequence[Word], page: int) -> FieldValue:
    """Printed but not read (a number or a day written in by hand): empty, for the clerk."""
    return FieldValue(name, "", 0.0, page, union_box(list(words)))


def _mean(words: Sequence[Word]) -> float:
    return sum(w.confidence for w in words) / len(words) if words else 0.0


def read_number(lay: Layout) -> FieldValue | None:
    """ "Số: 542/TB-UBND": the number, the slash and the issuer's code; empty when the number is unread."""
    if lay.number is None:
        return None
    row = _left_row(lay.number, lay.split)
    if row is None:
        return None
    page = lay.number.page
    label = _NUMBER_LABEL.match(row.text)
    slash = row.text.find("/", label.end() if label else 0)
    if label is None or slash < 0:
        return _empty("doc_number", row.words, page)  # the label glued to the number ("Sôx1†")
    number_raw, code_raw = row.text[label.end() : slash], row.text[slash + 1 :]
    number = fix_digits(number_raw.replace(" ", "")).strip(".,")
    code = re.sub(r"[-–]{2,}", "-", re.sub(r"\s+", "", code_raw)).rstrip(".,;:'\"_-–")
    number_words = [w for w in _words_in(row, label.end(), slash) if any(c.isalnum() for c in w.text)]
    code_words = _words_in(row, slash, len(row.text))
    if not number.isdigit() or len(number) > 6 or not _CODE.match(code):
        return _empty("doc_number", row.words, page)  # "Số:  /TB-UBND": the number is written by hand
    conf = min(_mean(number_words), _mean(code_words))
    if number_raw != number_raw.rstrip():  # "542 /TB-UBND": filled in after printing (pen or stamp)
        conf = min(conf, FILLED_IN_CAP)
    box = union_box([*number_words, *code_words])
    return FieldValue("doc_number", nfc(f"{number}/{code}"), round(conf, 3), page, box)


def _words_in(row: Row, start: int, end: int) -> list[Word]:
    """The row's words that overlap characters ``start``..``end`` of its text."""
    return [w for w, s, e in _word_offsets(row) if s < end and e > start]


# ---- place and date -------------------------------------------------------------------------------
def _date_rows(lay: Layout) -> list[Row]:
    """The right column's lines of the header, from the motto down to just under the number."""
    start = lay.motto.index if lay.motto is not None else (lay.lines[0].index if lay.lines else 0)
    end = (lay.number.index + 3) if lay.number is not None else start + HEADER_LINES
    rows = []
    for ln in lay.lines:
        if start <= ln.index < end and (row := _right_row(ln, lay.split)) is not None:
            rows.append(row)
    return rows


def _is_place(text: str) -> bool:
    """A place name as the header prints it: 1-6 words, no digits, capitalised ("TP. Hồ Chí Minh",
    "Thành phố Hồ Chí Minh"), not a clause of the body."""
    words = [w for w in text.split() if w[:1].isalpha()]
    capitals = sum(w[:1].isupper() for w in words)
    return (
        0 < len(words) <= 6
        and not any(c.isdigit() or c == "/" for c in text)
        and words[0][:1].isupper()
        and 2 * capitals >= len(words)
    )


def _date_value(d: str, m: str, y: str) -> tuple[str, bool] | None:
    """The date, and whether it is printed as Decree 30 prints it: a day of two digits, a month 1-2 with its 0."""
    d, m, y = (fix_digits(x.strip(" .,:;'\"`-_")) for x in (d, m, y))
    if not (d.isdigit() and m.isdigit() and y.isdigit()) or len(d) > 2 or len(m) > 2 or len(y) != 4:
        return None
    day, month, year = int(d), int(m), int(y)
    if not 1945 <= year <= 2100:
        return None
    try:
        dt.date(year, month, day)
    except ValueError:
        return None
    standard = len(d) == 2 and (month >= 3 or len(m) == 2)
    return f"{day:02d}/{month:02d}/{year:04d}", standard


def read_place_and_date(lay: Layout) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {}
    for row in _date_rows(lay):
        folded = row.folded
        hit = _NGAY.search(folded) or _NGAY_GARBLED.search(folded)
        if hit is None:
            continue
        comma = folded.rfind(",", 0, hit.start() + 1)
        comma = comma if comma > 0 else hit.start()
        place_text = row.text[:comma].strip(" .,;:")
        if not _is_place(place_text):
            continue  # "Quyết định số 2269/QĐ-TTg ngày …": a date cited, not the header's
        place_words = _words_in(row, 0, comma)
        line_span = Span(row.line, *_offsets(row, place_words)) if place_words else row.span
        out["issue_place"] = text_field("issue_place", [line_span], place_text, PLACE_PHRASES)
        date_words = _words_in(row, comma + 1, len(row.text))
        m = _DATE_PARTS.match(folded, hit.end())
        found = _date_value(*_raw_parts(row, m)) if m else None
        digits = [w for w in date_words if any(c.isdigit() for c in w.text)]
        least = min((w.confidence for w in digits), default=0.0)
        if found is None or (not found[1] and least < PRINTED_DIGITS):
            # unread, or a day of one digit in a pen's hand ("ngày 3" of "31"): for the clerk
            out["issue_date"] = _empty("issue_date", date_words, row.line.page)
        else:
            value, standard = found
            conf = min(_mean(date_words), least + 0.45, 1.0 if standard else NONSTANDARD_CAP)
            out["issue_date"] = FieldValue("issue_date", value, round(conf, 3), row.line.page, union_box(date_words))
        break
    return out


def _raw_parts(row: Row, m: re.Match[str]) -> tuple[str, str, str]:
    text = nfc(row.text)
    return text[m.start("d") : m.end("d")], text[m.start("m") : m.end("m")], text[m.start("y") : m.end("y")]


def _word_offsets(row: Row) -> list[tuple[Word, int, int]]:
    out, pos = [], 0
    for w in row.words:
        out.append((w, pos, pos + len(w.text)))
        pos += len(w.text) + 1
    return out


def _offsets(row: Row, words: Sequence[Word]) -> tuple[int, int]:
    first = row.line.words.index(words[0])
    last = row.line.words.index(words[-1])
    return row.line.starts[first], row.line.starts[last] + len(words[-1].text)


def confirm_place(out: dict[str, FieldValue]) -> None:
    """The place against the territory the issuer's header names ("… TỈNH QUẢNG NGÃI" above
    "Quảng Ngãi, ngày …"). The same name, or a known province's name that the place misses by a
    letter, confirms it; two readings that differ otherwise leave the place to review."""
    place = out.get("issue_place")
    if place is None or not place.value:
        return
    for key in ("issuing_org", "parent_org"):
        org = out.get(key)
        name = _territory_name(org.value, place.value) if org is not None and org.value else None
        if name is None:
            continue
        head, tail = place.value[: len(place.value) - len(name)], place.value[len(place.value) - len(name) :]
        known = next((p for p in PLACE_PHRASES if nfc(p).casefold() == nfc(name).casefold()), None)
        confirmed = place.confidence if head.strip() else max(place.confidence, PLACE_CONFIRMED)  # "TP." unconfirmed
        if known is not None:
            value, conf = head + known, confirmed
        elif nfc(tail).casefold() == nfc(name).casefold():
            value, conf = place.value, confirmed
        else:  # "Ngô Quyền" under "QUẬN NGÔ QUYỂN": one of the two is misread
            value, conf = place.value, place.confidence * DISAGREE
        out["issue_place"] = dataclasses.replace(place, value=nfc(value), confidence=round(min(1.0, conf), 3))
        return


def _territory_name(org: str, place: str) -> str | None:
    """The name after the last unit word of ``org`` when ``place`` ends with it (one folded letter may differ)."""
    words = org.split()
    folded = [fold(w) for w in words]
    for unit in sorted(UNITS, key=len, reverse=True):
        u = fold(unit).split()
        for i in range(len(folded) - len(u), -1, -1):
            if folded[i : i + len(u)] == u and i + len(u) < len(words):
                name = " ".join(words[i + len(u) :])
                tail = fold(place)[-len(name) :] if len(place) >= len(name) else fold(place)
                if _close(tail, fold(name)):
                    return name
    return None


def _close(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    return sum(x != y for x, y in zip(a, b, strict=True)) <= (1 if len(b) >= 6 else 0)


# ---- subject ----------------------------------------------------------------------------------------
def _stop_line(ln: TextLine) -> bool:
    return find_fuzzy(ln.folded, _RECIPIENT, line_start=True) is not None


def _without_specks(words: Sequence[Word], height: float) -> list[Word]:
    """The words less the specks read as marks: a mark much narrower than a dash ("-" of 3 px)."""
    return [w for w in words if any(c.isalnum() for c in w.text) or w.box.w >= 0.15 * height]


def _left_block(ln: TextLine, lay: Layout) -> Row | None:
    """The line's words from its start in the left column up to a wide gap (the other column)."""
    words = _without_specks(ln.words, lay.height)
    if not words or _mid(words[0]) >= lay.split:
        return None
    end = 1
    while end < len(words) and words[end].box.x - (words[end - 1].box.x + words[end - 1].box.w) <= GAP * lay.height:
        end += 1
    return Row(ln, tuple(words[:end]))


def _vv_subject(lay: Layout) -> tuple[list[Row], str] | None:
    """The "V/v …" lines under the number in the left column."""
    start = lay.number or lay.motto
    if start is None:
        return None
    after = [ln for ln in lay.lines if ln.index > start.index][: SUBJECT_LINES + 3]
    rows: list[Row] = []
    text = ""
    for ln in after:
        row = _left_block(ln, lay)
        if not rows:
            opener = _SUBJECT_OPENER.match(row.folded) if row is not None else None
            if row is not None and opener is not None:
                rows.append(row)
                text = row.text[opener.end() :]
            continue
        if (
            row is None
            or _stop_line(ln)
            or _KIND.match(row.folded)
            or row.right - row.left > 0.6 * (lay.right - lay.left)  # runs across the page: the body
            or row.baseline - rows[-1].baseline > PITCH * lay.height
            or len(rows) >= SUBJECT_LINES
        ):
            break
        if _is_junk(row, lay.height):
            continue
        rows.append(row)
        text += " " + row.text
    return (rows, _without_stray_marks(text)) if rows else None


def _without_stray_marks(text: str) -> str:
    """The text without specks read as marks: alone ("chứng ." at a line's end), glued before a word
    ("-thủ tục") or as a full stop inside the sentence ("giải quyết. thủ tục"); a dash at the end."""
    tokens = [t for t in text.split() if t.strip(".:;|_'\"`~") or t in ("-", "–")]
    tokens = [t[1:] if len(t) > 1 and t[0] in "-.:;" and t[1].isalpha() and t[1].islower() else t for t in tokens]
    out = []
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if t.endswith(".") and _letters(t) >= 2 and nxt[:1].isalpha() and nxt[:1].islower():
            t = t[:-1]
        out.append(t)
    while out and out[-1] in ("-", "–"):
        out.pop()
    return " ".join(out)


def _centred_run(row: Row, centre: float, tolerance: float, height: float) -> Row | None:
    """The longest run of the row's words centred on ``centre``: a stamp's or a pen's marks beside
    the line are left out, but not sure words of print (a body line is not cut to look centred)."""
    words = row.words
    best: tuple[int, int] | None = None
    for i in range(len(words)):
        for j in range(len(words) - 1, i - 1, -1):
            if best is not None and j - i <= best[1] - best[0]:
                break
            mid = (words[i].box.x + words[j].box.x + words[j].box.w) / 2
            dropped = [*words[:i], *words[j + 1 :]]
            if abs(mid - centre) <= tolerance and sum(_sure_syllable(w, height) for w in dropped) < 2:
                best = (i, j)
                break
    if best is None:
        return None
    i, j = best
    while i < j and words[i].confidence < 0.5:  # the stamp's edge next to the line
        i += 1
    while j > i and words[j].confidence < 0.5:
        j -= 1
    return Row(row.line, words[i : j + 1])


def _sure_syllable(w: Word, height: float) -> bool:
    core = w.text.strip(".,;:()\"'")
    return w.confidence >= 0.85 and w.box.h >= 0.6 * height and (is_syllable(core) or core.isdigit())


def _title_subject(lay: Layout) -> tuple[list[Row], str] | None:
    """The centred lines under the kind's title ("THÔNG BÁO" / "Kết luận của …")."""
    start = lay.number.index if lay.number is not None else lay.lines[0].index
    after = [ln for ln in lay.lines if ln.index > start][:8]
    title = next((ln for ln in after if _KIND.match(ln.folded) and _capitals(ln.text)), None)
    if title is None:
        return None
    centre = (min(w.box.x for w in title.words) + max(w.box.x + w.box.w for w in title.words)) / 2
    tolerance = max(lay.height, 0.02 * (lay.right - lay.left))
    rows: list[Row] = []
    baseline = statistics.median(w.box.y + w.box.h for w in title.words)
    for ln in [ln for ln in lay.lines if ln.index > title.index][: SUBJECT_LINES + 3]:
        if _stop_line(ln) or len(rows) >= SUBJECT_LINES:
            break
        words = tuple(_without_specks(ln.words, lay.height))
        run = _centred_run(Row(ln, words), centre, tolerance, lay.height) if words else None
        if run is None or _is_junk(run, lay.height) or _letters(run.text) < 3:
            if rows:
                break
            continue  # a pen's or a stamp's marks between the title and the subject
        pitch = run.baseline - baseline
        if pitch > (PITCH if rows else 2 * PITCH) * lay.height or (rows and _capitals(run.text)):
            break  # the body, or a decision's authority ("CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH")
        rows.append(run)
        baseline = run.baseline
    return (rows, _without_stray_marks(" ".join(r.text for r in rows))) if rows else None


# A subject names places by their units ("trên địa bàn tỉnh Quảng Ngãi"): the issuers' phrases count too.
_SUBJECT_WORDS = (*SUBJECT_PHRASES, *ORG_PHRASES)
_OPENER = re.compile(r"^\W{0,2}(v\w{0,2})\s?(viec)\b")


def _fix_opener(text: str) -> str:
    """ "vê việc", "và việc", "Vêviệc" at the start of a subject: the layout's "Về việc"."""
    m = _OPENER.match(fold(text))
    if m is None:
        return text
    return "Về việc" + text[m.end() :]


def read_subject(lay: Layout) -> FieldValue | None:
    vv = _vv_subject(lay)
    if vv is not None:
        rows, text = vv
        field = text_field("subject", [r.span for r in rows], collapse(text).strip(" ."), _SUBJECT_WORDS)
        field = dataclasses.replace(field, value=nfc(("V/v " + field.value).strip()))
    elif (titled := _title_subject(lay)) is not None:
        rows, text = titled
        fixed = _fix_opener(collapse(text).strip(" ."))
        field = text_field("subject", [r.span for r in rows], fixed, _SUBJECT_WORDS)
        factor = 1.0 if fixed == collapse(text).strip(" .") else VOCABULARY_CONFIDENCE
        field = dataclasses.replace(field, confidence=round(field.confidence * factor, 3))
    else:
        return None
    if _NUMBERS_SIDE_BY_SIDE.search(field.value):  # "giai đoạn 2021 2030": the dash between was lost
        field = dataclasses.replace(field, confidence=min(field.confidence, LOST_MARK_CAP))
    return field


# ---- the whole header ------------------------------------------------------------------------------------
def read_header(lines: Sequence[TextLine]) -> dict[str, FieldValue]:
    """Issuer, parent, number, place, date and subject from the first page's header."""
    lay = layout(lines)
    if lay is None:
        return {}
    out = read_issuer(lay)
    if (number := read_number(lay)) is not None:
        out["doc_number"] = number
    out.update(read_place_and_date(lay))
    confirm_place(out)
    if (subject := read_subject(lay)) is not None:
        out["subject"] = subject
    _doubt_stray_marks(out)
    return out


def _doubt_stray_marks(out: dict[str, FieldValue]) -> None:
    """Hold below the review threshold a place or subject with a mark or a capital the print would not have."""
    place, subject = out.get("issue_place"), out.get("subject")
    if place is not None and _STRAY_IN_PLACE.search(place.value):
        out["issue_place"] = dataclasses.replace(place, confidence=min(place.confidence, STRAY_MARK_CAP))
    if subject is not None and _stray_in_text(subject.value):
        out["subject"] = dataclasses.replace(subject, confidence=min(subject.confidence, STRAY_MARK_CAP))


def _stray_in_text(text: str) -> bool:
    if _STRAY_IN_TEXT.search(text):
        return True
    words = text.split()[1:]  # the first word is capitalised anyway
    lower = sum(1 for w in words if w[:1].islower())
    shouted = [w for w in words if len(w) >= 2 and w.isupper() and has_vietnamese_marks(w) and is_syllable(w.lower())]
    return bool(shouted) and lower >= 3 * len(shouted)
