"""Dates written in Vietnamese words, as on a birth certificate's "Ghi bằng chữ" line.

A birth certificate writes the date of birth twice: in digits and in words. The words are
rendered here from the digits, in every customary spelling ("mồng"/"mùng", "tư"/"bốn",
"lăm"/"năm", "linh"/"lẻ"), and the rendering closest to what was read is taken. When they agree
the OCR's tone-mark slips ("trắm", "lãm") are corrected and both values confirm each other; when
they do not, the clerk must look at both.
"""

from __future__ import annotations

import functools
import itertools
import re

from rapidfuzz.distance import Levenshtein

from pipeline.read.text.dates import real_date
from pipeline.read.text.lines import collapse, fold, nfc

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
MONTHS_SPOKEN = {1: ("một", "giêng"), 4: ("tư", "bốn"), 12: ("mười hai", "chạp")}


def _units_after_tens(u: int, tens: int) -> tuple[str, ...]:
    """The last digit after "mươi"/"mười": 1 → mốt (after mươi), 4 → tư/bốn, 5 → lăm."""
    if u == 0:
        return ("",)
    if u == 1:
        return ("mốt",) if tens >= 2 else ("một",)
    if u == 4:
        return ("tư", "bốn") if tens >= 2 else ("bốn",)
    if u == 5:
        return ("lăm",)
    return (DIGITS[u],)


def below_hundred(n: int, standalone: bool = True) -> tuple[str, ...]:
    """Spellings of 0..99; ``standalone`` False: after a hundreds word (5 → "linh năm")."""
    tens, u = divmod(n, 10)
    if tens == 0:
        if standalone:
            return (DIGITS[u],)
        return ("",) if u == 0 else (f"linh {DIGITS[u]}", f"lẻ {DIGITS[u]}")
    head = "mười" if tens == 1 else f"{DIGITS[tens]} mươi"
    return tuple(collapse(f"{head} {tail}") for tail in _units_after_tens(u, tens))


def year_words(year: int) -> tuple[str, ...]:
    thousands, rest = divmod(year, 1000)
    hundreds, low = divmod(rest, 100)
    out = []
    for thousand in ("nghìn", "ngàn"):
        head = f"{DIGITS[thousands]} {thousand}"
        if hundreds == 0 and low == 0:
            out.append(head)
            continue
        for tail in below_hundred(low, standalone=False):
            out.append(collapse(f"{head} {DIGITS[hundreds]} trăm {tail}"))
    return tuple(out)


def day_words(day: int) -> tuple[str, ...]:
    if day <= 10:
        return tuple(f"{prefix} {DIGITS[day] if day < 10 else 'mười'}" for prefix in ("mồng", "mùng"))
    return below_hundred(day)


def month_words(month: int) -> tuple[str, ...]:
    return MONTHS_SPOKEN.get(month, below_hundred(month))


@functools.lru_cache(maxsize=256)
def date_in_words(date: str) -> tuple[str, ...]:
    """Every customary spelling of a dd/mm/yyyy date, first letter capitalised."""
    d, m, y = (int(p) for p in date.split("/"))
    out = []
    for day, month, year in itertools.product(day_words(d), month_words(m), year_words(y)):
        text = f"{day} tháng {month} năm {year}"
        out.append(nfc(text[:1].upper() + text[1:]))
    return tuple(out)


_NUMBER_WORDS = {fold(w): i for i, w in enumerate(DIGITS)} | {"tu": 4, "lam": 5, "mot": 1}
_SKIP = {"linh", "le", "mong", "mung"}
_MONTH_NAMES = {"gieng": 1, "chap": 12}


def _snap(token: str) -> str:
    """A folded token as the nearest number word (one slip allowed in words of 3+ letters)."""
    vocabulary = (*_NUMBER_WORDS, *_SKIP, *_MONTH_NAMES, "muoi", "tram", "nghin", "ngan", "thang", "nam")
    if token in vocabulary:
        return token
    near = [w for w in vocabulary if len(token) >= 3 and Levenshtein.distance(w, token) <= 1]
    return near[0] if len(near) == 1 else token


def _number(tokens: list[str]) -> int | None:
    total = current = 0
    seen = False
    for t in tokens:
        if t in _SKIP:
            continue
        if t in ("nghin", "ngan"):
            total, current = total + current * 1000, 0
        elif t == "tram":
            total, current = total + current * 100, 0
        elif t == "muoi":
            current = 10 if current == 0 else current * 10
        elif t in _NUMBER_WORDS:
            current += _NUMBER_WORDS[t]
        elif t in _MONTH_NAMES:
            current += _MONTH_NAMES[t]
        else:
            return None
        seen = True
    return total + current if seen else None


def parse_date_words(read: str) -> str | None:
    """'Hai mươi lăm tháng một năm hai nghìn không trăm mười ba' → '25/01/2013'; None if unreadable."""
    # every number word has two letters or more: a lone letter is a speck ("sáu u tháng")
    tokens = [_snap(t) for t in fold(read).replace(",", " ").split() if len(re.sub(r"\W", "", t)) > 1]
    if "thang" not in tokens:
        return None
    i = tokens.index("thang")
    if "nam" not in tokens[i + 2 :]:  # the month is at least one word ("tháng năm năm ..." is May)
        return None
    j = tokens.index("nam", i + 2)
    day, month, year = _number(tokens[:i]), _number(tokens[i + 1 : j]), _number(tokens[j + 1 :])
    if day is None or month is None or year is None:
        return None
    return real_date(day, month, year)


def match_date_words(read: str, date: str) -> str | None:
    """The spelling of ``date`` closest to ``read`` if ``read`` says that date, else None."""
    if parse_date_words(read) != date:
        return None
    folded = collapse(fold(read))
    return max(date_in_words(date), key=lambda w: Levenshtein.normalized_similarity(collapse(fold(w)), folded))
