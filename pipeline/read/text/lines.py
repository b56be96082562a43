"""The document's text as lines of OCR words: folding, OCR-tolerant label anchoring, spans, fields.

Text is compared *folded*: diacritics stripped, đ→d, lower case. Folding maps every character
to exactly one character, so a position found in the folded text is the same position in the
printed text and the words (with their boxes and confidences) behind a value can be found.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pipeline.models import Box, FieldValue, OcrResult, Word
from pipeline.read.text.confidence import INVALID_PENALTY


# ---- text --------------------------------------------------------------------------------------
def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0]
    return base.lower() if len(base.lower()) == 1 else ch


def fold(text: str) -> str:
    """Diacritics off, đ→d, lower case; same length as ``nfc(text)``."""
    return "".join(_fold_char(c) for c in nfc(text))


def collapse(text: str) -> str:
    return " ".join(text.split())


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def similarity(a: str, b: str) -> float:
    """1 - normalised edit distance of the folded, whitespace-collapsed texts."""
    fa, fb = collapse(fold(a)), collapse(fold(b))
    if not fa and not fb:
        return 1.0
    return 1.0 - levenshtein(fa, fb) / max(len(fa), len(fb))


def prefix_distance(pattern: str, text: str) -> tuple[int, int]:
    """Smallest edit distance between ``pattern`` and a prefix of ``text``, and that prefix's length."""
    prev = list(range(len(text) + 1))  # pattern[:0] vs text[:j]: j insertions
    for i, pc in enumerate(pattern, 1):
        cur = [i]
        for j, tc in enumerate(text, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (pc != tc)))
        prev = cur
    best = min(range(len(prev)), key=lambda j: (prev[j], -j))
    return prev[best], best


def allowed_errors(pattern: str) -> int:
    n = len(pattern.replace(" ", ""))
    return 0 if n <= 8 else 1 if n <= 12 else max(2, round(n * 0.2))


# A letter or digit not preceded by one, or any mark after a space (OCR reads "Có" as "€o").
_WORD_START = re.compile(r"(?<![^\W_])[^\W_]|(?<!\S)[^\s\w]")


def find_fuzzy(folded_text: str, pattern: str, start: int = 0, line_start: bool = False) -> tuple[int, int, int] | None:
    """Best match of a folded ``pattern`` starting at a word start: (start, end, errors).

    ``line_start``: only at the start of the text (allowing a stray mark before it).
    """
    pattern = collapse(pattern)
    if not pattern:
        return None
    budget = allowed_errors(pattern)
    best: tuple[int, int, int] | None = None
    for m in _WORD_START.finditer(folded_text, start):
        s = m.start()
        if line_start and s > 2:
            break
        window = folded_text[s : s + len(pattern) + budget]
        if budget == 0:
            if window.startswith(pattern):
                end = s + len(pattern)
                if end == len(folded_text) or not folded_text[end].isalnum() or not pattern[-1].isalnum():
                    return (s, end, 0)
            continue
        if levenshtein(window[:3], pattern[:3]) > 1:  # cheap filter before the full comparison
            continue
        errors, length = prefix_distance(pattern, window)
        if errors <= budget and (best is None or errors < best[2]):
            best = (s, s + length, errors)
            if errors == 0:
                break
    return best


# ---- lines and spans -------------------------------------------------------------------------
@dataclass(frozen=True)
class TextLine:
    page: int
    index: int  # position in the document's reading order
    words: tuple[Word, ...]
    text: str
    folded: str
    starts: tuple[int, ...]  # offset of each word in ``text``

    def span(self, start: int, end: int) -> Span:
        return Span(self, start, end)

    def words_between(self, start: int, end: int) -> list[Word]:
        return [w for w, s in zip(self.words, self.starts, strict=True) if s < end and s + len(w.text) > start]


def document_lines(ocr: OcrResult) -> list[TextLine]:
    out: list[TextLine] = []
    for page in ocr.pages:
        by_line: dict[int, list[Word]] = {}
        for w in page.words:
            by_line.setdefault(w.line, []).append(w)
        for ln in sorted(by_line):
            words = tuple(by_line[ln])
            starts, pos = [], 0
            for w in words:
                starts.append(pos)
                pos += len(w.text) + 1
            text = " ".join(w.text for w in words)
            out.append(TextLine(page.index, len(out), words, text, fold(text), tuple(starts)))
    return out


_LEAD = " :;.,|/-_=~•*'\""
_TRAIL = " :;.,|/-_=~•*'\"…"


@dataclass(frozen=True)
class Span:
    """A stretch of one line: the value of a field, with the words it came from."""

    line: TextLine
    start: int
    end: int

    def stripped(self) -> Span:
        s, e, t = self.start, self.end, self.line.text
        while s < e and t[s] in _LEAD:
            s += 1
        while e > s and t[e - 1] in _TRAIL:
            e -= 1
        return Span(self.line, s, e)

    @property
    def text(self) -> str:
        return collapse(self.line.text[self.start : self.end])

    @property
    def words(self) -> list[Word]:
        return self.line.words_between(self.start, self.end)


def confidence_of(words: Iterable[Word]) -> float:
    ws = list(words)
    return sum(w.confidence for w in ws) / len(ws) if ws else 0.0


def union_box(words: Sequence[Word]) -> Box | None:
    if not words:
        return None
    x0 = min(w.box.x for w in words)
    y0 = min(w.box.y for w in words)
    x1 = max(w.box.x + w.box.w for w in words)
    y1 = max(w.box.y + w.box.h for w in words)
    return Box(x0, y0, x1 - x0, y1 - y0)


def make_field(name: str, value: str, words: Sequence[Word], valid: bool = True, factor: float = 1.0) -> FieldValue:
    conf = confidence_of(words) * factor * (1.0 if valid else INVALID_PENALTY)
    if not value:
        conf = 0.0
    return FieldValue(
        name=name,
        value=nfc(value),
        confidence=round(max(0.0, min(1.0, conf)), 3),
        box=union_box(words),
    )


def join_spans(spans: Sequence[Span]) -> str:
    """The spans' text as one value; a comma printed at the end of a wrapped line is kept."""
    parts: list[str] = []
    for i, s in enumerate(spans):
        t = s.text
        if t and i < len(spans) - 1 and not t.endswith(","):
            if s.line.text[s.end :].lstrip(" .;:").startswith(","):
                t += ","
        if t:
            parts.append(t)
    return collapse(" ".join(parts))


def field_from_spans(
    name: str, spans: Sequence[Span], value: str | None = None, valid: bool = True, factor: float = 1.0
) -> FieldValue:
    words = [w for s in spans for w in s.words]
    text = value if value is not None else join_spans(spans)
    f = make_field(name, text, words, valid, factor)
    page = spans[0].line.page if spans else None
    return FieldValue(f.name, f.value, f.confidence, page, f.box)


# ---- labels ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Label:
    """A printed label; ``variants`` are printed forms (any case/diacritics), colon optional."""

    key: str
    variants: tuple[str, ...]
    line_start: bool = False  # short labels like "Số:" only count at the start of a line

    @functools.cached_property
    def patterns(self) -> tuple[str, ...]:
        # A short line-start label keeps its colon: "Số:" is a label, "SỞ TƯ PHÁP" is not.
        strip = " " if self.line_start else ": "
        return tuple(sorted({collapse(fold(v).rstrip(strip)) for v in self.variants}, key=len, reverse=True))


@dataclass(frozen=True)
class LabelHit:
    label: Label
    line: TextLine
    start: int
    end: int
    errors: int


def find_labels(line: TextLine, labels: Sequence[Label]) -> list[LabelHit]:
    """Non-overlapping label occurrences in a line, left to right; longer labels win."""
    candidates: list[tuple[int, LabelHit]] = []
    for label in labels:
        for pattern in label.patterns:
            found = find_fuzzy(line.folded, pattern, line_start=label.line_start)
            if found:
                # "tên người mẹ" must not lose to "tên người cha" read with 3 errors
                score = len(pattern) - 3 * found[2]
                candidates.append((score, LabelHit(label, line, found[0], found[1], found[2])))
    taken: list[LabelHit] = []
    for _, hit in sorted(candidates, key=lambda c: c[0], reverse=True):
        if all(hit.end <= t.start or hit.start >= t.end for t in taken):
            taken.append(hit)
    return sorted(taken, key=lambda h: h.start)


@dataclass(frozen=True)
class LabelledValue:
    hit: LabelHit
    span: Span  # may be empty: the value is then often on the next line


def label_values(lines: Sequence[TextLine], labels: Sequence[Label]) -> list[LabelledValue]:
    """Every label occurrence in reading order with the text up to the next label on its line."""
    out: list[LabelledValue] = []
    for line in lines:
        hits = find_labels(line, labels)
        merged: list[LabelHit] = []
        for h in hits:  # "Họ và tên / Full name": two variants of one label side by side
            if merged and merged[-1].label.key == h.label.key:
                gap = line.text[merged[-1].end : h.start]
                if not gap.strip(_LEAD):
                    merged[-1] = LabelHit(h.label, line, merged[-1].start, h.end, merged[-1].errors + h.errors)
                    continue
            merged.append(h)
        for i, h in enumerate(merged):
            end = merged[i + 1].start if i + 1 < len(merged) else len(line.text)
            out.append(LabelledValue(h, line.span(h.end, end).stripped()))
    return out


def first(
    values: Sequence[LabelledValue], key: str, after: int = -1, before: int | None = None
) -> LabelledValue | None:
    for v in values:
        if v.hit.label.key == key and v.hit.line.index > after and (before is None or v.hit.line.index < before):
            return v
    return None


def line_has_label(line: TextLine, labels: Sequence[Label]) -> bool:
    return bool(find_labels(line, labels))


_ADMIN_TAIL = re.compile(r"(?:^|\s)(tinh|thanh pho|tp\.?|huyen|quan|xa|phuong|thi tran|thi xa|so|ap|thon|to)$")


def continuation(
    lines: Sequence[TextLine],
    value: Span,
    labels: Sequence[Label],
    max_lines: int = 2,
    clean: Callable[[Span], Span] | None = None,
    until_label: bool = False,
    complete: Callable[[str], bool] | None = None,
) -> list[Span]:
    """The value plus following lines that carry on a wrapped value (an address, a place).

    ``clean`` trims a following line first (e.g. drop what another column printed at its start).
    ``until_label``: take every line up to the next label (a table cell), not only unfinished ones.
    ``complete``: tells a whole value (a place that ends with its province); an incomplete value
    also takes a next line that has no label of its own and stands where a wrapped line does
    (under the label or the value, right below), whatever it starts with.
    """
    spans = [value]
    idx = value.line.index
    by_index = {ln.index: ln for ln in lines}
    text, prev = value.text, value
    for _ in range(max_lines):
        nxt = by_index.get(idx + 1)
        if nxt is None or nxt.page != value.line.page or line_has_label(nxt, labels):
            break
        span = nxt.span(0, len(nxt.text)).stripped()
        if clean is not None:
            span = clean(span)
        words = span.text.split()
        raw = prev.line.text[prev.start :].rstrip()  # stripped spans lost their trailing comma
        unfinished = raw.endswith(",") or bool(_ADMIN_TAIL.search(fold(text).rstrip(",. ")))
        short = len(words) <= 3 and not any(c.isdigit() for c in span.text)
        joined = join_spans(spans)
        wrapped = (
            complete is not None
            and not complete(joined)
            and wraps_below(value, prev.line, span)
            and not starts_like_label(nxt, labels)
        )
        if not words or not (until_label or unfinished or short or wrapped):
            break
        if complete is not None and complete(joined) and not unfinished:
            break  # whole already: the next line is something else (a label OCR did not read)
        spans.append(span)
        text, prev = span.text, span
        idx += 1
    return spans


def line_height(line: TextLine) -> float:
    """The median height of the line's letter-bearing words (0 without any)."""
    hs = sorted(w.box.h for w in line.words if any(c.isalnum() for c in w.text))
    return float(hs[len(hs) // 2]) if hs else 0.0


def wraps_below(value: Span, above: TextLine, span: Span) -> bool:
    """Whether ``span`` stands where the wrapped part of ``value`` would: right below the line
    ``above`` (no blank line between) and starting at the left edge of the label's line or of the
    value (a form indents a wrapped value under its first line's value or under its label)."""
    ws, first_ws, vs = span.words, value.line.words, value.words
    if not ws or not first_ws or not above.words:
        return False
    h = max(line_height(value.line), line_height(above), 1.0)
    top = min(w.box.y for w in ws)
    bottom = max(w.box.y + w.box.h for w in above.words)
    if top - bottom > 1.6 * h or top < bottom - 0.5 * h:
        return False
    left = ws[0].box.x
    edges = [first_ws[0].box.x] + ([vs[0].box.x] if vs else [])
    return any(abs(left - e) <= 1.5 * h for e in edges)


def starts_like_label(line: TextLine, labels: Sequence[Label]) -> bool:
    """Whether the line starts with the letters of a label, read glued or with slips ("Ngàytháng,
    nămđăngký:"): a line that may be the next field, not the rest of a value."""
    letters = re.sub(r"[^a-z]", "", line.folded[:80])
    for label in labels:
        for pattern in label.patterns:
            target = re.sub(r"[^a-z]", "", pattern)
            if len(target) < 5:
                continue
            budget = max(1, len(target) // 4)
            errors, length = prefix_distance(target, letters[: len(target) + budget])
            if errors <= budget and length >= len(target) - budget:
                return True
    return False


# ---- values --------------------------------------------------------------------------------------
_DIGIT_FIXES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "I": "1",
        "l": "1",
        "|": "1",
        "i": "1",
        "!": "1",
        "S": "5",
        "s": "5",
        "B": "8",
        "Z": "2",
        "z": "2",
        "g": "9",
        "G": "6",
    }
)


def fix_digits(token: str) -> str:
    """Read letters that OCR confuses with digits as digits (only inside a mostly-digit token)."""
    digits = sum(c.isdigit() for c in token)
    if digits >= max(1, len(token) // 2):
        return token.translate(_DIGIT_FIXES)
    return token


def canonical(text: str, vocabulary: Sequence[str], min_similarity: float = 0.7) -> tuple[str, float] | None:
    """The vocabulary entry closest to ``text`` and its similarity, if close enough."""
    if not text.strip():
        return None
    scored = [(similarity(text, v), v) for v in vocabulary]
    score, best = max(scored)
    return (best, score) if score >= min_similarity else None


def vocabulary_field(name: str, span: Span, vocabulary: Sequence[str], min_similarity: float = 0.7) -> FieldValue:
    """A field with a closed set of values (sex, nationality, grade): snap to the nearest entry."""
    text = span.text
    match = canonical(text, vocabulary, min_similarity)
    if match is None:
        # keep only the first word(s) that could be a value; flag for review
        return field_from_spans(name, [span], value=text, valid=False)
    value, score = match
    return field_from_spans(name, [span], value=value, factor=score)
