"""Places and addresses: the administrative units, province names, a place's repair from OCR tokens,
and several readings of one place voting on tone marks and confirming each other.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from pipeline.models import FieldValue
from pipeline.read.text.confidence import UNUSUAL, penalise
from pipeline.read.text.ids import PROVINCE_CODES
from pipeline.read.text.lines import (
    Label,
    Span,
    TextLine,
    collapse,
    continuation,
    find_labels,
    fold,
    join_spans,
    levenshtein,
)
from pipeline.read.text.names import split_at_capitals
from pipeline.read.text.tokens import Cleaned, Token, compact, core_of, foreign_letters, has_alnum, letters_only

log = logging.getLogger(__name__)

_CONSONANTS = set("bcdđghklmnpqrstvx")
# ---- places ----------------------------------------------------------------------------------------
ABBREVIATION = re.compile(r"^[A-ZĐ][A-Za-z]{0,2}\.")  # "TP.", "Tp.", "Q.", "TT." are printed that way
_LEADER = re.compile(r"^[.…·_]{2,}$")  # a form's dotted leader line, not a misread
ADDRESS_NUMBER_WORDS = {"to": "Tổ", "so": "Số"}  # before a number, "Tố 31" can only be "Tổ 31"
# Short lower-case words a place may start with ("xã Giao Xuân", "ấp 5", "số 12").
_PLACE_START_WORDS = {"xa", "ap", "so", "to", "lo", "khu", "thon", "xom"}
# Words before which a lone capital letter is a name ("Lô B", "khu phố A"), not a speck.
_LETTER_NAMED = {"lo", "khu", "pho", "block", "day", "nha", "toa", "to", "ap", "so", "can", "tang"}
# The administrative units, as printed: a comma goes before each, a name after it.
UNITS = ("thành phố", "thị trấn", "thị xã", "phường", "huyện", "quận", "tỉnh", "xã")
_UNITS_FOLDED = {tuple(fold(u).split()): u for u in UNITS}


def space_before_word(m: re.Match[str]) -> str:
    """A space between a number and a word glued to it ("3ngõ"), unless the word is "A1"-like capitals."""
    rest = m.string[m.end() :]
    return " " if rest[:2] and rest[0].islower() else ""


def _clean_place_token(t: str, last: bool) -> tuple[str, bool]:
    t2 = re.sub(r"^[^\w]+", "", t.replace("|", ""))
    if ABBREVIATION.match(t2):
        return t2, t2 != t
    t2 = re.sub(r"\.(?=[^\W_])", " ", t2)  # "Giao.Xuân", "Số.3": a speck read as a period
    # a period, colon or semicolon after a name inside a place is a comma misread ("Xuân. huyện");
    # after a small word ("thành: phố") or at the end, a speck
    comma = not last and (t2[:1].isupper() or t2[:1].isdigit())
    t2 = re.sub(r"(?<=\w)[.:;]+(,?)$", lambda m: "," if comma or m.group(1) else "", t2)
    t2 = re.sub(r"(?<=[^\W\d_]{2})(?=\d)", " ", t2)  # "Số3" -> "Số 3" (not "A2")
    t2 = re.sub(r"(?<=\d)(?=[^\W\d_]{2})", space_before_word, t2)  # "3ngõ" (not "12A")
    t2 = split_at_capitals(t2)
    return t2, t2 != t


def _unit_at(out: list[Token], i: int) -> tuple[int, str] | None:
    """The administrative unit whose word(s) start at ``out[i]`` (read with any marks): its length
    in tokens and its printed spelling."""
    for n in (2, 1):
        words = tuple(fold(core_of(t.text)) for t in out[i : i + n])
        if len(words) == n and words in _UNITS_FOLDED:
            return n, _UNITS_FOLDED[words]
    return None


def _name_start(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit()


def _respell_units(out: list[Token]) -> tuple[list[Token], bool, bool]:
    """Units read with the wrong marks respelled ("tình" -> "tỉnh", "thành pho" -> "thành phố": a
    closed vocabulary, not a guess); a comma the OCR lost before a unit put back (a repair)."""
    repaired = unusual = False
    i = 0
    while i < len(out):
        found = _unit_at(out, i)
        nxt = out[i + found[0]].text if found and i + found[0] < len(out) else ""
        if found is None or not _name_start(nxt):
            if found is not None and i + found[0] < len(out) and _unit_at(out, i + found[0]):
                unusual = True  # "Quận Thành phố": the unit's name is missing
            i += 1
            continue
        n, unit = found
        read = [t.text.rstrip(",") for t in out[i : i + n]]
        capital = read[0][:1].isupper()
        after_comma = i == 0 or out[i - 1].text.endswith(",")
        if all(r.islower() for r in read) or (capital and after_comma):
            spelled = (unit[:1].upper() + unit[1:] if capital else unit).split()
            for k, word in enumerate(spelled):
                tail = "," if out[i + k].text.endswith(",") else ""
                out[i + k] = Token(word + tail, out[i + k].word)
        prev = out[i - 1].text if i else ""
        # "Giao Xuân huyện", "Võ Thị Sáu Quận 3": the comma after a name (not after "UBND") was lost
        if prev and not prev.endswith(",") and _name_start(prev) and not (prev.isupper() and len(prev) > 1):
            if capital or prev[:1].isdigit() or all(r.islower() for r in read):
                out[i - 1] = Token(prev + ",", out[i - 1].word)
                repaired = True
        i += n
    return out, repaired, unusual


def _respell_province(out: list[Token]) -> tuple[list[Token], bool]:
    """The name after the last "tỉnh"/"thành phố" spelled as the province is ("Nam Đỉnh", "Nam, Định"
    -> "Nam Định"), when its letters are that province's."""
    starts = [i for i in range(len(out)) if (u := _unit_at(out, i)) and u[1] in ("tỉnh", "thành phố")]
    if not starts:
        return out, False
    i = starts[-1]
    n = _unit_at(out, i)[0]  # type: ignore[index]
    rest = out[i + n :]
    if not rest:
        return out, False
    read = " ".join(t.text for t in rest)
    for name in PROVINCE_CODES.values():
        bare = name.removeprefix("TP ")
        if compact(bare) == compact(read) and bare != read:
            words = bare.split()
            respelled = [Token(w, rest[min(k, len(rest) - 1)].word) for k, w in enumerate(words)]
            return out[: i + n] + respelled, True
    return out, False


def clean_place(tokens: Sequence[Token]) -> Cleaned:
    """A place or an address as printed, from its OCR tokens; see the module's docstring."""
    repaired = unusual = False
    out: list[Token] = []
    for i, tok in enumerate(tokens):
        t = tok.text
        if i == 0 and ":" in t:  # a label's remnant before the value
            head, _, t = t.rpartition(":")
            repaired = repaired or has_alnum(head)
        if not has_alnum(t):
            if t.startswith(",") and out and not out[-1].text.endswith(","):
                out[-1] = Token(out[-1].text + ",", out[-1].word)
            elif t and t != "," and not _LEADER.match(t):
                repaired = True
            continue
        last = not any(has_alnum(x.text) for x in tokens[i + 1 :])
        fixed, changed = _clean_place_token(t, last)
        repaired = repaired or changed
        out.extend(Token(p, tok.word) for p in fixed.split())
    # a lone consonant before a capitalised word is a speck ("phường X Xuân Khánh"); a lone
    # vowel is a word ("huyện Ý Yên", "Trạm y tế") and a letter before a comma a name ("Lô B,")
    kept: list[Token] = []
    for i, tok in enumerate(out):
        nxt = out[i + 1].text if i + 1 < len(out) else ""
        prev = fold(out[i - 1].text) if i else ""
        core = core_of(tok.text)
        lone = len(core) == 1 and fold(core) in _CONSONANTS and prev not in _LETTER_NAMED
        if lone and (core.islower() or nxt[:1].isupper()):  # "Kiều, l thành phố", "phường X Xuân"
            repaired = True
            continue
        # a lone vowel without marks is a word in a place only as "y" ("Trạm y tế"), a capital one
        # also as a name's letter or syllable ("Lô A", "U Minh"; and "Ô Chợ Dừa", "Ý Yên" with
        # marks); but "i" never is: a speck ("Trạm y i tế", "quận Hai I Bà Trưng")
        plain = len(core) == 1 and core.casefold() in "aeiou"
        named = prev in _LETTER_NAMED or tok.text.endswith(",") or not nxt
        speck = core.islower() or (core == "I" and nxt[:1].isupper() and not named)
        if plain and i > 0 and speck:
            repaired = True
            continue
        kept.append(tok)
    out = kept
    # a small fragment after the last word of a name ("Cần Thơ hố", "Nam Định Ẫ") or before the first
    while len(out) > 1 and letters_only(out[-1].text) and len(out[-1].text) <= 2:
        prev = out[-2].text
        if prev.endswith(",") or not _name_start(prev) or fold(prev) in _LETTER_NAMED:
            break
        if not (out[-1].text.islower() or len(out[-1].text) == 1):
            break
        out, repaired = out[:-1], True
    while len(out) > 1 and letters_only(out[0].text) and out[0].text.islower() and len(out[0].text) <= 2:
        if fold(out[0].text) in _PLACE_START_WORDS:
            break
        out, repaired = out[1:], True
    if out and out[-1].text.islower() and letters_only(out[-1].text) and len(out) > 1:
        unusual = True  # a place ends with a name or a number, not with a small word
    unusual = unusual or any(foreign_letters(t.text) for t in out)
    for i, tok in enumerate(out[:-1]):
        word = ADDRESS_NUMBER_WORDS.get(fold(tok.text))
        if word and tok.text != word and out[i + 1].text[:1].isdigit() and tok.text[:1].isupper():
            out[i] = Token(word, tok.word)  # a closed word's marks, like a vocabulary's: not a guess
    out, comma, odd = _respell_units(out)
    out, province = _respell_province(out)
    if out and out[-1].text.endswith(","):
        out[-1] = Token(out[-1].text.rstrip(","), out[-1].word)
    text = collapse(" ".join(t.text for t in out)).strip(" ,;:")
    return Cleaned(text, tuple(out), repaired or comma or province, unusual or odd)


VOTE_MARGIN = 0.1  # a tone-mark vote needs this much more confidence behind the winning spelling


def vote_marks(targets: dict[str, Cleaned], others: Sequence[Cleaned]) -> dict[str, Cleaned]:
    """Each target's words whose tone marks other readings of the same place spell differently
    ("Cần Thợ" once, "Cần Thơ" three times): the spelling with the most confidence behind it wins.
    A word counts as the same place's when a neighbour folds equal too. Spellings that no margin
    of confidence tells apart leave the target ``unusual``: one of them is misread."""
    readings = [*targets.values(), *others]
    out: dict[str, Cleaned] = {}
    for key, target in targets.items():
        toks = list(target.tokens)
        changed = undecided = False
        for i, tok in enumerate(toks):
            a = core_of(tok.text)
            if len(a) < 2 or not a.isalpha():
                continue
            support: dict[str, float] = {}
            for r in readings:
                rt = r.tokens
                for j, other in enumerate(rt):
                    b = core_of(other.text)
                    if fold(b) != fold(a) or (r is target and j == i):
                        continue
                    before = i > 0 and j > 0 and fold(core_of(toks[i - 1].text)) == fold(core_of(rt[j - 1].text))
                    after = (
                        i + 1 < len(toks)
                        and j + 1 < len(rt)
                        and fold(core_of(toks[i + 1].text)) == fold(core_of(rt[j + 1].text))
                    )
                    if before or after:
                        spelled = b.casefold()
                        support[spelled] = support.get(spelled, 0.0) + (other.word.confidence if other.word else 0.5)
            if not support:
                continue
            own = a.casefold()
            support[own] = support.get(own, 0.0) + (tok.word.confidence if tok.word else 0.5)
            best = max(support, key=lambda s: support[s])
            runner_up = max((v for s, v in support.items() if s != best), default=0.0)
            if support[best] < runner_up + VOTE_MARGIN:  # "Củ Chi" and "Củ Chị", equally sure
                undecided = True
            if best != own and support[best] >= support[own] + VOTE_MARGIN:
                respelled = "".join(b.upper() if c.isupper() else b for c, b in zip(a, best, strict=True))
                toks[i] = Token(tok.text.replace(a, respelled), tok.word)
                changed = True
        if undecided:
            log.info("%s: readings of the same place differ in their marks, none surer", key)
        if changed:
            log.info("%s: tone marks taken from other readings of the same place", key)
            text = collapse(" ".join(t.text for t in toks)).strip(" ,;:")
            out[key] = replace(
                target, text=text, tokens=tuple(toks), repaired=True, unusual=target.unusual or undecided
            )
        else:
            out[key] = replace(target, unusual=target.unusual or undecided)
    return out


# What may stand before the chain of units of a place printed elsewhere on the certificate.
_PLACE_PREFIXES = ("", "ubnd", "uy ban nhan dan", "tram y te")


def _words_of(text: str) -> list[str]:
    """The place's words, each with the comma printed after it."""
    return [w for w in (re.sub(r"^[^\w]+|[^\w,]+$", "", t) for t in text.split()) if has_alnum(w)]


def _chain(text: str) -> tuple[str, list[str]] | None:
    """(what precedes, the chain of administrative units) of a place, if it has two units or more."""
    words = _words_of(text)
    toks = [Token(w, None) for w in words]
    units = [i for i in range(len(toks)) if _unit_at(toks, i)]
    if len(units) < 2:
        return None
    s = units[0]
    return " ".join(fold(core_of(w)) for w in words[:s]), words[s:]


def confirmed_place(value: str, others: Iterable[str]) -> bool:
    """Whether another reading ends with the same chain of units (marks and commas and all) as
    ``value``, and ``value`` has nothing before its chain but "UBND" or "Trạm y tế"."""
    own = _chain(value)
    if own is None or own[0] not in _PLACE_PREFIXES:
        return False
    chain = own[1]
    for other in others:
        words = _words_of(other)
        if len(words) >= len(chain) and words[len(words) - len(chain) :] == chain:
            return True
    return False


def disagreeing_place(value: str, others: Iterable[str]) -> bool:
    """Whether another reading of the same chain of units differs in a word or two that look alike
    ("huyện Cao Thủy" / "huyện Giao Thủy"): one of the two readings is wrong."""
    own = _chain(value)
    if own is None:
        return False
    chain = [fold(core_of(w)) for w in own[1]]
    exact = own[1]
    for other in others:
        words = _words_of(other)
        if len(words) < len(chain):
            continue
        tail = words[len(words) - len(chain) :]
        folded = [fold(core_of(w)) for w in tail]
        diff = [(a, b) for a, b in zip(chain, folded, strict=True) if a != b]
        units_same = all((a in _UNIT_WORDS) == (b in _UNIT_WORDS) for a, b in zip(chain, folded, strict=True)) and all(
            a == b for a, b in zip(chain, folded, strict=True) if a in _UNIT_WORDS
        )
        if not units_same or len(diff) > 2:
            continue
        if diff and all(levenshtein(a, b) <= 2 for a, b in diff):
            return True
        if not diff and [core_of(w) for w in tail] != [core_of(w) for w in exact]:
            return True  # the same letters, other marks
    return False


_UNIT_WORDS = {w for u in UNITS for w in fold(u).split()}


def province_of(place: str) -> str | None:
    """The province (its name as in the ID's province codes) a place ends with, if any."""
    folded = re.sub(r"[\W_]+$", "", fold(place).replace(",", " "))
    for name in PROVINCE_CODES.values():
        bare = fold(name).removeprefix("tp ")
        if re.search(rf"(?:^|\s){re.escape(bare)}\s*$", folded):
            return name
    return None


_UNFINISHED = {"thanh", "thi", "tinh", "huyen", "quan", "xa", "phuong", "pho", "tran"}


def place_complete(place: str) -> bool:
    """Whether a place reads whole: a Vietnamese address ends with its province ("..., tỉnh Nam
    Định", "..., Hà Nội"). One that ends elsewhere ("..., huyện Thủy") was most likely cut where
    its line wrapped."""
    return province_of(place) is not None


def doubt_incomplete_places(out: dict[str, FieldValue], keys: Iterable[str]) -> None:
    """A place that does not end with its province is likely cut at a line wrap: the clerk looks."""
    for key in keys:
        f = out.get(key)
        if f is not None and f.value and not place_complete(f.value):
            log.info("%s %r does not end with a province: cut?", key, f.value)
            penalise(out, key, UNUSUAL)


def place_continuation(lines: Sequence[TextLine], value: Span, labels: Sequence[Label]) -> list[Span]:
    """The place and the lines it wrapped onto: a place that ends with a unit's word ("..., thành")
    or whose next line starts with one ("thành phố Cần Thơ") goes on, however much junk that
    line carries; a place that does not end with its province yet takes the next unlabelled line
    printed where a wrapped line stands (see ``continuation``)."""
    spans = continuation(lines, value, labels, max_lines=3, complete=place_complete)
    by_index = {ln.index: ln for ln in lines}
    while len(spans) < 4:
        words = fold(join_spans(spans)).replace(",", " ").split()
        last = re.sub(r"[^a-z]", "", words[-1]) if words else ""
        nxt = by_index.get(spans[-1].line.index + 1)
        if nxt is None or nxt.page != value.line.page or find_labels(nxt, labels):
            break
        span = nxt.span(0, len(nxt.text)).stripped()
        first = [Token(w, None) for w in span.text.split() if len(core_of(w)) > 1]
        if not span.text or not (last in _UNFINISHED or (first and _unit_at(first, 0))):
            break
        spans.append(span)
    return spans
