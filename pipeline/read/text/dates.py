"""Dates as printed: dd/mm/yyyy read OCR-tolerantly, written with words around the numbers
("ngày 05 tháng 3 năm 2024"), or with their separators lost; and checks of a date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace

from pipeline.models import FieldValue
from pipeline.read.text.confidence import REPAIRED
from pipeline.read.text.lines import Span, field_from_spans, fix_digits, fold, make_field
from pipeline.read.text.tokens import has_alnum

_DATE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_DATE_WORDS = re.compile(r"ngay\s*(\S{1,3})\s*thang\s*(\S{1,3})\s*nam\s*(\S{4})")


def real_date(d: int, m: int, y: int) -> str | None:
    try:
        dt.date(y, m, d)
    except ValueError:
        return None
    if not 1900 <= y <= 2100:
        return None
    return f"{d:02d}/{m:02d}/{y:04d}"


def find_date(text: str) -> tuple[str, int, int] | None:
    """First dd/mm/yyyy-like date (OCR-tolerant); (normalised, start, end)."""
    fixed = " ".join(fix_digits(t) for t in text.split(" "))
    for m in _DATE.finditer(fixed):
        d = real_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            return d, m.start(), m.end()
    # "04/1 1/1968": OCR split a number; positions are then approximate (the whole text)
    joined = re.sub(r"(?<=[\d/])\s+(?=[\d/])", "", fixed)
    if joined != fixed:
        for m in _DATE.finditer(joined):
            d = real_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            if d:
                return d, 0, len(text)
    return None


def find_written_date(text: str) -> tuple[str, int, int] | None:
    """'ngày 05 tháng 3 năm 2024' -> ('05/03/2024', start, end)."""
    folded = fold(text)
    for m in _DATE_WORDS.finditer(folded):
        parts = [fix_digits(g).strip(".,") for g in m.groups()]
        if all(p.isdigit() for p in parts):
            d = real_date(int(parts[0]), int(parts[1]), int(parts[2]))
            if d:
                return d, m.start(), m.end()
    return None


def date_field(name: str, spans: Sequence[Span]) -> FieldValue | None:
    for span in spans:
        found = find_date(span.text)
        if found:
            value, s, e = found
            sub = span.line.span(span.start + s, span.start + e) if len(span.text) == span.end - span.start else span
            return field_from_spans(name, [sub], value=value)
    if spans and spans[0].text:
        return field_from_spans(name, list(spans[:1]), valid=False)
    return None


_DMY = re.compile(r"(\d{2})/(\d{2})/(\d{4})")


# ---- dates -------------------------------------------------------------------------------------
def parse_date(text: str | None) -> dt.date | None:
    """A dd/mm/yyyy date (as extractors write dates), or None."""
    m = _DMY.fullmatch((text or "").strip())
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


# ---- dates ---------------------------------------------------------------------------------------
def date_value(name: str, span: Span) -> FieldValue | None:
    """A dd/mm/yyyy date; "12091963" (the slashes faded away) is one too, repaired."""
    words = [w for w in span.words if has_alnum(w.text)]
    found = find_date(span.text)
    if found:
        value, s, e = found
        sub = span.line.span(span.start + s, span.start + e) if len(span.text) == span.end - span.start else span
        return field_from_spans(name, [sub], value=value)
    for w in words:
        if d := loose_date(w.text):
            return replace(make_field(name, d, [w], factor=REPAIRED), page=span.line.page)
    if span.text:
        return field_from_spans(name, [span], valid=False)
    return None


def loose_date(token: str) -> str | None:
    """A date whose separators OCR lost or misread: "12091963", "13/07!1991", "1310711991"."""
    raw = token.strip(".,;:|-_")
    m = re.fullmatch(r"(\d{2})[^\d\s](\d{2})[^\d\s](\d{4})", raw)
    if m:
        return real_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    digits = fix_digits(raw)
    if re.fullmatch(r"\d{8}", digits):
        return real_date(int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    m = re.fullmatch(r"(\d{2})[/17](\d{2})[/17](\d{4})", digits)  # a slash read as "1" or "7"
    return real_date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def year_of(date: str) -> int | None:
    d = parse_date(date)
    return d.year if d else None
