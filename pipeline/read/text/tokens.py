"""A value as tokens that keep their OCR word, and what cleaning it had to do; closed vocabularies
and labels whose words OCR glued.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from pipeline.models import FieldValue, Word
from pipeline.read.text.confidence import CONFIRMED, REPAIRED, UNUSUAL
from pipeline.read.text.lines import (
    Label,
    LabelHit,
    LabelledValue,
    Span,
    TextLine,
    canonical,
    confidence_of,
    field_from_spans,
    find_labels,
    fold,
    join_spans,
    make_field,
    nfc,
    prefix_distance,
)


# ---- tokens ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    text: str
    word: Word | None  # the OCR word it came from (None when words and tokens do not line up)


@dataclass(frozen=True)
class Cleaned:
    """A cleaned value, the words behind it, and what the cleaning had to do."""

    text: str
    tokens: tuple[Token, ...]
    repaired: bool = False
    unusual: bool = False

    @property
    def factor(self) -> float:
        return (REPAIRED if self.repaired else 1.0) * (UNUSUAL if self.unusual else 1.0)


def span_tokens(spans: Sequence[Span]) -> list[Token]:
    """The value's tokens (a comma that ended a wrapped line kept), each with its OCR word."""
    out: list[Token] = []
    texts = join_spans(spans).split()
    words = [w for s in spans for w in s.words]
    if len(texts) == len(words):
        return [Token(t, w) for t, w in zip(texts, words, strict=True)]
    for t in texts:
        out.append(Token(t, None))
    return out


def tokens_confidence(tokens: Iterable[Token], fallback: Sequence[Word]) -> float:
    ts = list(tokens)
    if ts and all(t.word is not None for t in ts):
        return confidence_of(t.word for t in ts if t.word is not None)
    return confidence_of(fallback)


def cleaned_field(name: str, c: Cleaned, spans: Sequence[Span], valid: bool = True) -> FieldValue:
    """A field from a cleaned value: the kept words' confidence times the cleaning's factor."""
    words = [w for s in spans for w in s.words]
    kept = [t.word for t in c.tokens if t.word is not None]
    f = make_field(name, c.text, kept if len(kept) == len(c.tokens) and kept else words, valid, c.factor)
    return replace(f, page=spans[0].line.page if spans else None)


def has_alnum(text: str) -> bool:
    return any(c.isalnum() for c in text)


def punctuation_only(text: str) -> bool:
    """Only punctuation, symbols and spaces: no letter, digit or stray diacritic."""
    return all(unicodedata.category(c)[0] in "PSZ" for c in text)


_VIETNAMESE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0306", "\u0302", "\u031b"}


def foreign_letters(text: str) -> bool:
    """Whether ``text`` has a letter Vietnamese does not write ("søa", "Hàñg", "ß"): a misread."""
    for ch in nfc(text):
        if not ch.isalpha() or ch in "đĐ":
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        if not ("a" <= base.lower() <= "z") or any(m not in _VIETNAMESE_MARKS for m in marks):
            return True
        if marks and base.lower() not in "aeiouy":  # marks stand on vowels only ("ñ", "ş")
            return True
    return False


def letters_only(text: str) -> bool:
    return bool(text) and all(c.isalpha() for c in text)


def compact(text: str) -> str:
    return re.sub(r"[^a-z]", "", fold(text))


def core_of(token: str) -> str:
    return re.sub(r"^[\W_]+|[\W_]+$", "", token)


def vocabulary_value(name: str, span: Span, vocabulary: Sequence[str], floor: bool = True) -> FieldValue:
    """A closed vocabulary's entry (sex, ethnic group, nationality, grade): the first word(s) of the
    value that spell one, whatever follows (the next label garbled: "Kinh Quấc tịch: Việt Nam").
    Exactly an entry, marks and all, is confirmed (``floor``); the same letters with other marks
    take the entry's; anything else snaps to the nearest entry, flagged."""
    toks = span_tokens([span])
    while toks and ":" in toks[0].text:  # a label's remnant ("h: Việt Nam")
        rest = toks[0].text.rpartition(":")[2]
        toks = ([Token(rest, toks[0].word)] if has_alnum(rest) else []) + toks[1:]
    cores = [core_of(t.text) for t in toks]
    for n in (3, 2, 1):
        if len(cores) < n or not all(cores[:n]):
            continue
        read = " ".join(cores[:n])
        for entry in vocabulary:
            if compact(entry) != compact(read) or not compact(entry):
                continue
            words = [t.word for t in toks[:n] if t.word is not None] or span.words
            more = [c for c in cores[n:] if c]
            # "Trung bình" and more: maybe "Trung bình khá" with its last word misread
            cut = bool(more) and any(e.startswith(entry + " ") for e in vocabulary)
            f = replace(make_field(name, entry, words, factor=UNUSUAL if cut else 1.0), page=span.line.page)
            exact = nfc(read).casefold() == entry.casefold()
            if exact and floor and not more and len(compact(entry)) >= 3:
                f = replace(f, confidence=max(f.confidence, CONFIRMED))
            return f
    text = " ".join(c for c in cores if c)
    match = canonical(text, vocabulary, min_similarity=0.7)
    if match is None:
        return field_from_spans(name, [span], value=text[:1].upper() + text[1:], valid=False)
    value, score = match
    return field_from_spans(name, [span], value=value, factor=score * REPAIRED)


# ---- labels glued or garbled -------------------------------------------------------------------------
def glued_label(line: TextLine, variant: str, line_start: bool = True, labels: Sequence[Label] = ()) -> Span | None:
    """The value after a label whose words OCR glued or garbled ("Sốhiệu;K4878095", "Quyển sð:04"):
    the label's letters, one slip allowed (two in a long label), wherever spaces fall."""
    pattern = compact(variant)
    if len(pattern) < 5:
        return None
    budget = 1 if len(pattern) <= 10 else 2
    chars = [(i, c) for i, c in enumerate(line.folded) if c.isalpha()]
    letters = "".join(c for _, c in chars)
    for k, (pos, _) in enumerate(chars):
        if line_start and pos > 3:
            break
        if pos and line.folded[pos - 1].isalpha():
            continue
        errors, length = prefix_distance(pattern, letters[k : k + len(pattern) + budget])
        if errors <= budget and length >= len(pattern) - budget:
            end = chars[k + length - 1][0] + 1
            stop = next((h.start for h in find_labels(line, labels) if h.start >= end), len(line.text))
            span = line.span(end, stop).stripped()
            return span if span.text else None
    return None


def glued_value(
    lines: Sequence[TextLine],
    label: Label,
    labels: Sequence[Label],
    before: int | None = None,
    anywhere: bool = False,
) -> LabelledValue | None:
    """The first line's value after ``label`` read glued or garbled; ``anywhere``: the label may
    stand inside a line (a line that carries two or three labels), not only at its start."""
    for ln in lines:
        if before is not None and ln.index >= before:
            break
        for variant in label.variants:
            span = glued_label(ln, variant, line_start=not anywhere, labels=labels)
            if span is not None:
                return LabelledValue(LabelHit(label, ln, 0, span.start, 1), span)
    return None
