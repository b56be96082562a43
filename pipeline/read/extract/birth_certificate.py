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
  the place of birth and of origin): the readings vote on tone marks and confirm each other.

A repaired value, a value of a suspicious shape or a failed check gets a confidence below the
review threshold; a value another reading confirms is raised above it.

The cleaning helpers (names, places, glued labels, dates) are shared with the diploma.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from pipeline.models import FieldValue, Word
from pipeline.read.extract.base import Extractor
from pipeline.read.extract.common import (
    INVALID_PENALTY,
    NATIONALITIES,
    SEXES,
    Label,
    LabelHit,
    LabelledValue,
    Span,
    TextLine,
    canonical,
    collapse,
    confidence_of,
    continuation,
    field_from_spans,
    find_date,
    find_labels,
    first,
    fix_digits,
    fold,
    join_spans,
    label_values,
    levenshtein,
    make_field,
    nfc,
    normalize_id,
    prefix_distance,
    real_date,
    split_at_capitals,
)
from pipeline.read.extract.marriage_certificate import ETHNICITIES
from pipeline.read.extract.validators import (
    DOB_PROBLEMS,
    PROVINCE_CODES,
    SEX_PROBLEMS,
    check_person_name,
    check_personal_id,
    parse_date,
)
from pipeline.read.extract.vnwords import match_date_words

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

# Confidence multipliers and levels (as the marriage certificate's).
REPAIRED = 0.8  # the value needed a repair (junk dropped, glued words split, marks snapped)
UNUSUAL = 0.8  # the value is not of the expected shape but may be right (a lone letter, no Vietnamese syllable)
DISAGREE = 0.6  # two readings of the same fact disagree
# A value another reading confirms: Tesseract's own word confidence on a faded scan is low even
# for words it reads right.
CONFIRMED = 0.9
# Two readings of the same date that agree: each confirms the other.
AGREED_CONFIDENCE = 0.97
DISAGREE_PENALTY = 0.5
VOTE_MARGIN = 0.1  # a tone-mark vote needs this much more confidence behind the winning spelling


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


def _has_alnum(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _punctuation(text: str) -> bool:
    """Only punctuation, symbols and spaces: no letter, digit or stray diacritic."""
    return all(unicodedata.category(c)[0] in "PSZ" for c in text)


def _letters_only(text: str) -> bool:
    return bool(text) and all(c.isalpha() for c in text)


# ---- Vietnamese syllables ------------------------------------------------------------------------------
_SYLLABLE = re.compile(r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(ch|ng|nh|[cmnpt])?")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def vietnamese_syllable(token: str) -> bool:
    """Whether ``token`` (letters only) can be one Vietnamese syllable: onset, vowels, final, one tone."""
    if not _SYLLABLE.fullmatch(fold(token)):
        return False
    return sum(c in _TONES for c in unicodedata.normalize("NFD", token)) <= 1


_CONSONANTS = set("bcdđghklmnpqrstvx")


# ---- person names ----------------------------------------------------------------------------------
SURNAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
    "Ngô", "Dương", "Lý", "Đào", "Đoàn", "Đinh", "Lâm", "Lương", "Mai", "Trịnh", "Trương", "Tô", "Tạ",
    "Hà", "Cao", "Chu", "Châu", "Phùng", "Quách", "Lưu", "Thái", "Triệu", "Kiều", "Tăng", "Lại", "Đàm",
    "Hứa", "Khúc", "Nghiêm", "Từ", "Mạc", "Ông", "Diệp", "Lục", "Giang", "Thân", "Tôn", "Thạch",
    "Vương", "Doãn", "Bạch", "Âu", "Cù", "Tống", "Kim", "Hầu", "Lò", "La", "Lã", "Nông", "Khổng",
    "Mẫn", "Viên", "Nghê", "Hàn", "Bế", "Lạc",
)  # fmt: skip
_SURNAMES_BY_FOLD: dict[str, list[str]] = {}
for _s in SURNAMES:
    _SURNAMES_BY_FOLD.setdefault(fold(_s), []).append(_s)

# Middle and given names (syllables) as they are spelled; a name word whose letters are one of these
# but whose marks are none of them was misread ("Nhỉ" for "Nhi", "DIÊU" for "DIỆU").
GIVEN_NAMES = (
    "An", "Ân", "Anh", "Ánh", "Bách", "Bảo", "Bắc", "Bằng", "Bích", "Biên", "Bình", "Bửu", "Cát", "Cầm",
    "Cẩm", "Cần", "Cảnh", "Cao", "Chánh", "Châu", "Chi", "Chí", "Chiến", "Chinh", "Chính", "Chung",
    "Chương", "Công", "Cúc", "Cung", "Cương", "Cường", "Danh", "Dân", "Diễm", "Diệp", "Diệu", "Doanh",
    "Dung", "Dũng", "Duy", "Duyên", "Dương", "Đại", "Đan", "Đào", "Đăng", "Đắc", "Đạt", "Điền", "Điệp",
    "Định", "Đình", "Đoan", "Đông", "Đồng", "Đức", "Gấm", "Gia", "Giang", "Giao", "Hà", "Hạ", "Hải",
    "Hân", "Hằng", "Hạnh", "Hào", "Hảo", "Hậu", "Hiên", "Hiền", "Hiển", "Hiếu", "Hiệp", "Hoa", "Hòa",
    "Hoà", "Hoài", "Hoan", "Hoàn", "Hoàng", "Hồng", "Hợp", "Huân", "Huấn", "Huệ", "Hùng", "Hưng",
    "Hương", "Hường", "Hữu", "Huy", "Huyền", "Huỳnh", "Hy", "Kha", "Khải", "Khang", "Khanh", "Khánh",
    "Khiêm", "Khoa", "Khôi", "Khuê", "Khương", "Kiên", "Kiệt", "Kiều", "Kim", "Kính", "Kỳ", "Lam",
    "Lâm", "Lan", "Lập", "Lê", "Lệ", "Liêm", "Liên", "Liễu", "Linh", "Loan", "Lộc", "Lợi", "Long",
    "Luân", "Lực", "Lương", "Ly", "Lý", "Mai", "Mạnh", "Mẫn", "Miên", "Minh", "My", "Mỹ", "Na", "Nam",
    "Nga", "Ngà", "Ngân", "Nghi", "Nghĩa", "Ngọc", "Nguyên", "Nguyệt", "Nhã", "Nhàn", "Nhân", "Nhất",
    "Nhật", "Nhi", "Nhiên", "Nhung", "Như", "Ninh", "Oanh", "Phát", "Phi", "Phong", "Phú", "Phúc",
    "Phụng", "Phước", "Phương", "Phượng", "Quân", "Quang", "Quế", "Quốc", "Quý", "Quyên", "Quyền",
    "Quyết", "Quỳnh", "Sang", "Sáng", "Sinh", "Sơn", "Sương", "Sỹ", "Sĩ", "Tài", "Tâm", "Tân", "Tấn",
    "Thạch", "Thái", "Thắm", "Thắng", "Thanh", "Thành", "Thảo", "Thi", "Thị", "Thiên", "Thiện",
    "Thịnh", "Thoa", "Thông", "Thơ", "Thu", "Thư", "Thuận", "Thục", "Thương", "Thường", "Thùy", "Thủy",
    "Thúy", "Thuỳ", "Thuỷ", "Thuý", "Thy", "Tiến", "Tiên", "Tín", "Tình", "Toàn", "Trà", "Trâm", "Trân",
    "Trang", "Trí", "Triết", "Triều", "Trinh", "Trọng", "Trung", "Trúc", "Trường", "Tú", "Tuấn", "Tuệ",
    "Tùng", "Tuyền", "Tuyết", "Tường", "Uyên", "Uy", "Vân", "Văn", "Vi", "Việt", "Viết", "Vinh",
    "Vĩnh", "Vũ", "Vương", "Vượng", "Vy", "Xuân", "Yến", "Ý",
    # names of the birth order and other traditional ones, so that they are not taken for a misread
    "Hai", "Ba", "Tư", "Năm", "Sáu", "Bảy", "Tám", "Chín", "Mười", "Út", "Thạnh", "Tịnh", "Lành",
)  # fmt: skip
_GIVEN_BY_FOLD: dict[str, list[str]] = {}
for _g in GIVEN_NAMES:
    _GIVEN_BY_FOLD.setdefault(fold(_g), []).append(_g)

# A stray mark read as a letter and an apostrophe before a name ("Ì'Trần"); H'/K'/Y' are real
# prefixes of Ê Đê, Cơ Ho... names ("H'Hen Niê").
_JUNK_PREFIX = re.compile(r"^([^\W\d_])['’`´](?=[^\W\d_])")
_NAME_PREFIXES = set("HKY")


def snap_surname(token: str) -> str:
    """The family name as spelled in the list of common ones, when only its marks differ."""
    if any(token.casefold() == s.casefold() for s in SURNAMES):
        return token
    found = _SURNAMES_BY_FOLD.get(fold(token))
    if found is None or len(found) != 1:
        return token
    return found[0].upper() if token.isupper() and len(token) > 1 else found[0]


def clean_name(tokens: Sequence[Token]) -> Cleaned:
    """A person's name as printed, from its OCR tokens.

    Punctuation at the two ends of the value is trimmed; a label's remnant before the name
    ("n:"), junk inside it ("Phương!", "Giao.Xuân"), a glued pair of words, a small fragment at
    either end or a family name read with the wrong marks are repaired (the clerk must look).
    A lone letter, a word that is no Vietnamese syllable or a mixed case is unusual.
    """
    repaired = False
    toks = list(tokens)
    # a label's remnant: nothing in a name has a colon
    while toks and ":" in toks[0].text:
        head, _, rest = toks[0].text.rpartition(":")
        repaired = repaired or _has_alnum(head)
        toks = ([Token(rest, toks[0].word)] if _has_alnum(rest) else []) + toks[1:]
    out: list[Token] = []
    for i, tok in enumerate(toks):
        raw = tok.text
        t = re.sub(r"^[\W\d_]+", "", raw)
        if t != raw and (i > 0 or not _punctuation(raw[: len(raw) - len(t)])):
            repaired = True  # junk before a word inside the name, or a digit or a mark before the name
        t2 = re.sub(r"[\W\d_]+$", "", t)
        if t2 != t and (i < len(toks) - 1 or not _punctuation(t[len(t2) :])):
            repaired = True
        t = t2
        m = _JUNK_PREFIX.match(t)
        if m and m.group(1) not in _NAME_PREFIXES:
            t, repaired = t[m.end() :], True
        if not t:
            repaired = repaired or _has_alnum(raw)
            continue
        parts = re.split(r"[^\w'\-]+", t)  # "Phương!Như", "Giao.Xuân": a speck between two words
        if len(parts) > 1:
            repaired = True
        for p in parts:
            split = split_at_capitals(p)
            repaired = repaired or split != p
            out.extend(Token(s, tok.word) for s in split.split() if s)
    # a small lower-case fragment at either end of a name of capitalised words
    while len(out) > 2 and out[-1].text.islower() and len(out[-1].text) <= 2:
        out, repaired = out[:-1], True
    while len(out) > 2 and out[0].text.islower() and len(out[0].text) <= 2:
        out, repaired = out[1:], True
    if out:
        surname = snap_surname(out[0].text)
        if surname != out[0].text:
            out[0], repaired = Token(surname, out[0].word), True
    unusual = False
    for i in range(1, len(out)):
        t = out[i].text
        if i < len(out) - 1 and fold(t) == "thi" and t.casefold() != "thị":
            # "Thị", the commonest middle name, read "Thi"/"Thì"
            out[i], repaired = Token("THỊ" if t.isupper() else "Thị", out[i].word), True
            continue
        spelled = _GIVEN_BY_FOLD.get(fold(t))
        if spelled is None or any(t.casefold() == g.casefold() for g in spelled):
            continue
        if len(spelled) == 1:  # the only name these letters spell
            out[i], repaired = Token(spelled[0].upper() if t.isupper() else spelled[0], out[i].word), True
        else:
            unusual = True
    text = collapse(" ".join(t.text for t in out))
    return Cleaned(text, tuple(out), repaired, unusual=unusual or not well_shaped_name(text))


def well_shaped_name(name: str) -> bool:
    """Capitalised (or all capital) words, each a Vietnamese syllable of two letters or more."""
    words = name.split()
    if len(words) < 2:
        return False
    upper = name.isupper()
    for w in words:
        core = w.replace("'", "").replace("-", "")
        if len(core) < 2 or not core.isalpha():
            return False
        if not (w.isupper() if upper else w[0].isupper() and (w[1:].islower() or "'" in w)):
            return False
        if "'" not in w and "-" not in w and not vietnamese_syllable(core):
            return False
    return True


def compact(text: str) -> str:
    return re.sub(r"[^a-z]", "", fold(text))


# ---- places ----------------------------------------------------------------------------------------
_ABBREVIATION = re.compile(r"^[A-ZĐ][A-Za-z]{0,2}\.")  # "TP.", "Tp.", "Q.", "TT." are printed that way
_LEADER = re.compile(r"^[.…·_]{2,}$")  # a form's dotted leader line, not a misread
_ADDRESS_NUMBER_WORDS = {"to": "Tổ", "so": "Số"}  # before a number, "Tố 31" can only be "Tổ 31"
# Short lower-case words a place may start with ("xã Giao Xuân", "ấp 5", "số 12").
_PLACE_START_WORDS = {"xa", "ap", "so", "to", "lo", "khu", "thon", "xom"}
# Words before which a lone capital letter is a name ("Lô B", "khu phố A"), not a speck.
_LETTER_NAMED = {"lo", "khu", "pho", "block", "day", "nha", "toa", "to", "ap", "so", "can", "tang"}
# The administrative units, as printed: a comma goes before each, a name after it.
UNITS = ("thành phố", "thị trấn", "thị xã", "phường", "huyện", "quận", "tỉnh", "xã")
_UNITS_FOLDED = {tuple(fold(u).split()): u for u in UNITS}


def _space_before_word(m: re.Match[str]) -> str:
    rest = m.string[m.end() :]
    return " " if rest[:2] and rest[0].islower() else ""


def _clean_place_token(t: str, last: bool) -> tuple[str, bool]:
    t2 = re.sub(r"^[^\w]+", "", t.replace("|", ""))
    if _ABBREVIATION.match(t2):
        return t2, t2 != t
    t2 = re.sub(r"\.(?=[^\W_])", " ", t2)  # "Giao.Xuân", "Số.3": a speck read as a period
    # a period, colon or semicolon after a name inside a place is a comma misread ("Xuân. huyện");
    # after a small word ("thành: phố") or at the end, a speck
    comma = not last and (t2[:1].isupper() or t2[:1].isdigit())
    t2 = re.sub(r"(?<=\w)[.:;]+(,?)$", lambda m: "," if comma or m.group(1) else "", t2)
    t2 = re.sub(r"(?<=[^\W\d_]{2})(?=\d)", " ", t2)  # "Số3" -> "Số 3" (not "A2")
    t2 = re.sub(r"(?<=\d)(?=[^\W\d_]{2})", _space_before_word, t2)  # "3ngõ" (not "12A")
    t2 = split_at_capitals(t2)
    return t2, t2 != t


def _unit_at(out: list[Token], i: int) -> tuple[int, str] | None:
    """The administrative unit whose word(s) start at ``out[i]`` (read with any marks): its length
    in tokens and its printed spelling."""
    for n in (2, 1):
        words = tuple(fold(_core(t.text)) for t in out[i : i + n])
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
            repaired = repaired or _has_alnum(head)
        if not _has_alnum(t):
            if t.startswith(",") and out and not out[-1].text.endswith(","):
                out[-1] = Token(out[-1].text + ",", out[-1].word)
            elif t and t != "," and not _LEADER.match(t):
                repaired = True
            continue
        last = not any(_has_alnum(x.text) for x in tokens[i + 1 :])
        fixed, changed = _clean_place_token(t, last)
        repaired = repaired or changed
        out.extend(Token(p, tok.word) for p in fixed.split())
    # a lone consonant before a capitalised word is a speck ("phường X Xuân Khánh"); a lone
    # vowel is a word ("huyện Ý Yên", "Trạm y tế") and a letter before a comma a name ("Lô B,")
    kept: list[Token] = []
    for i, tok in enumerate(out):
        nxt = out[i + 1].text if i + 1 < len(out) else ""
        prev = fold(out[i - 1].text) if i else ""
        core = _core(tok.text)
        lone = len(core) == 1 and fold(core) in _CONSONANTS and prev not in _LETTER_NAMED
        if lone and (core.islower() or nxt[:1].isupper()):  # "Kiều, l thành phố", "phường X Xuân"
            repaired = True
            continue
        kept.append(tok)
    out = kept
    # a small fragment after the last word of a name ("Cần Thơ hố", "Nam Định Ẫ") or before the first
    while len(out) > 1 and _letters_only(out[-1].text) and len(out[-1].text) <= 2:
        prev = out[-2].text
        if prev.endswith(",") or not _name_start(prev) or fold(prev) in _LETTER_NAMED:
            break
        if not (out[-1].text.islower() or len(out[-1].text) == 1):
            break
        out, repaired = out[:-1], True
    while len(out) > 1 and _letters_only(out[0].text) and out[0].text.islower() and len(out[0].text) <= 2:
        if fold(out[0].text) in _PLACE_START_WORDS:
            break
        out, repaired = out[1:], True
    if out and out[-1].text.islower() and _letters_only(out[-1].text) and len(out) > 1:
        unusual = True  # a place ends with a name or a number, not with a small word
    for i, tok in enumerate(out[:-1]):
        word = _ADDRESS_NUMBER_WORDS.get(fold(tok.text))
        if word and tok.text != word and out[i + 1].text[:1].isdigit() and tok.text[:1].isupper():
            out[i] = Token(word, tok.word)  # a closed word's marks, like a vocabulary's: not a guess
    out, comma, odd = _respell_units(out)
    out, province = _respell_province(out)
    if out and out[-1].text.endswith(","):
        out[-1] = Token(out[-1].text.rstrip(","), out[-1].word)
    text = collapse(" ".join(t.text for t in out)).strip(" ,;:")
    return Cleaned(text, tuple(out), repaired or comma or province, unusual or odd)


def _core(token: str) -> str:
    return re.sub(r"^[\W_]+|[\W_]+$", "", token)


def vote_marks(targets: dict[str, Cleaned], others: Sequence[Cleaned]) -> dict[str, Cleaned]:
    """Each target's words whose tone marks other readings of the same place spell differently
    ("Cần Thợ" once, "Cần Thơ" three times): the spelling with the most confidence behind it wins.
    A word counts as the same place's when a neighbour folds equal too."""
    readings = [*targets.values(), *others]
    out: dict[str, Cleaned] = {}
    for key, target in targets.items():
        toks = list(target.tokens)
        changed = False
        for i, tok in enumerate(toks):
            a = _core(tok.text)
            if len(a) < 2 or not a.isalpha():
                continue
            support: dict[str, float] = {}
            for r in readings:
                rt = r.tokens
                for j, other in enumerate(rt):
                    b = _core(other.text)
                    if fold(b) != fold(a) or (r is target and j == i):
                        continue
                    before = i > 0 and j > 0 and fold(_core(toks[i - 1].text)) == fold(_core(rt[j - 1].text))
                    after = (
                        i + 1 < len(toks)
                        and j + 1 < len(rt)
                        and fold(_core(toks[i + 1].text)) == fold(_core(rt[j + 1].text))
                    )
                    if before or after:
                        spelled = b.casefold()
                        support[spelled] = support.get(spelled, 0.0) + (other.word.confidence if other.word else 0.5)
            if not support:
                continue
            own = a.casefold()
            support[own] = support.get(own, 0.0) + (tok.word.confidence if tok.word else 0.5)
            best = max(support, key=lambda s: support[s])
            if best != own and support[best] >= support[own] + VOTE_MARGIN:
                respelled = "".join(b.upper() if c.isupper() else b for c, b in zip(a, best, strict=True))
                toks[i] = Token(tok.text.replace(a, respelled), tok.word)
                changed = True
        if changed:
            log.info("%s: tone marks taken from other readings of the same place", key)
            text = collapse(" ".join(t.text for t in toks)).strip(" ,;:")
            out[key] = replace(target, text=text, tokens=tuple(toks), repaired=True)
        else:
            out[key] = target
    return out


# What may stand before the chain of units of a place printed elsewhere on the certificate.
_PLACE_PREFIXES = ("", "ubnd", "uy ban nhan dan", "tram y te")


def _words_of(text: str) -> list[str]:
    """The place's words, each with the comma printed after it."""
    return [w for w in (re.sub(r"^[^\w]+|[^\w,]+$", "", t) for t in text.split()) if _has_alnum(w)]


def _chain(text: str) -> tuple[str, list[str]] | None:
    """(what precedes, the chain of administrative units) of a place, if it has two units or more."""
    words = _words_of(text)
    toks = [Token(w, None) for w in words]
    units = [i for i in range(len(toks)) if _unit_at(toks, i)]
    if len(units) < 2:
        return None
    s = units[0]
    return " ".join(fold(_core(w)) for w in words[:s]), words[s:]


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
    chain = [fold(_core(w)) for w in own[1]]
    exact = own[1]
    for other in others:
        words = _words_of(other)
        if len(words) < len(chain):
            continue
        tail = words[len(words) - len(chain) :]
        folded = [fold(_core(w)) for w in tail]
        diff = [(a, b) for a, b in zip(chain, folded, strict=True) if a != b]
        units_same = all((a in _UNIT_WORDS) == (b in _UNIT_WORDS) for a, b in zip(chain, folded, strict=True)) and all(
            a == b for a, b in zip(chain, folded, strict=True) if a in _UNIT_WORDS
        )
        if not units_same or len(diff) > 2:
            continue
        if diff and all(levenshtein(a, b) <= 2 for a, b in diff):
            return True
        if not diff and [_core(w) for w in tail] != [_core(w) for w in exact]:
            return True  # the same letters, other marks
    return False


_UNIT_WORDS = {w for u in UNITS for w in fold(u).split()}


def province_of(place: str) -> str | None:
    """The province (its name as in the ID's province codes) a place ends with, if any."""
    folded = fold(place).replace(",", " ")
    for name in PROVINCE_CODES.values():
        bare = fold(name).removeprefix("tp ")
        if re.search(rf"(?:^|\s){re.escape(bare)}\s*$", folded):
            return name
    return None


_UNFINISHED = {"thanh", "thi", "tinh", "huyen", "quan", "xa", "phuong", "pho", "tran"}


def place_continuation(lines: Sequence[TextLine], value: Span, labels: Sequence[Label]) -> list[Span]:
    """The place and the lines it wrapped onto: a place that ends with a unit's word ("..., thành")
    or whose next line starts with one ("thành phố Cần Thơ") goes on, however much junk that
    line carries."""
    spans = continuation(lines, value, labels)
    by_index = {ln.index: ln for ln in lines}
    while len(spans) < 4:
        words = fold(join_spans(spans)).replace(",", " ").split()
        last = re.sub(r"[^a-z]", "", words[-1]) if words else ""
        nxt = by_index.get(spans[-1].line.index + 1)
        if nxt is None or nxt.page != value.line.page or find_labels(nxt, labels):
            break
        span = nxt.span(0, len(nxt.text)).stripped()
        first = [Token(w, None) for w in span.text.split() if len(_core(w)) > 1]
        if not span.text or not (last in _UNFINISHED or (first and _unit_at(first, 0))):
            break
        spans.append(span)
    return spans


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


# ---- dates ---------------------------------------------------------------------------------------
def date_value(name: str, span: Span) -> FieldValue | None:
    """A dd/mm/yyyy date; "12091963" (the slashes faded away) is one too, repaired."""
    words = [w for w in span.words if _has_alnum(w.text)]
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


# ---- cross-check helpers -----------------------------------------------------------------------------
def penalise(out: dict[str, FieldValue], name: str, factor: float) -> None:
    if (f := out.get(name)) and f.value:
        out[name] = replace(f, confidence=round(f.confidence * factor, 3))


def confirm(out: dict[str, FieldValue], name: str, independent: bool = False) -> None:
    """Raise a field another reading agrees with; ``independent``: that reading is not the OCR's
    reading of the same words printed again (the ID's digits, the date in words), so a second
    OCR opinion has nothing to add."""
    if (f := out.get(name)) and f.value:
        out[name] = replace(f, confidence=max(f.confidence, CONFIRMED), confirmed=f.confirmed or independent)


def check_sex_cue(out: dict[str, FieldValue], name_key: str) -> None:
    """A middle name "Thị" is a woman's, "Văn" a man's: a name that says the other sex than the
    field means one of the two was misread; one that says the same confirms the sex."""
    name, sex = out.get(name_key), out.get("sex")
    if name is None or sex is None or sex.value not in SEXES:
        return
    middle = {fold(w) for w in name.value.split()[1:-1]}
    cue = "Nữ" if "thi" in middle else "Nam" if "van" in middle else None
    if cue is not None and cue != sex.value:
        log.info("%s %r does not fit the sex %s", name_key, name.value, sex.value)
        penalise(out, "sex", DISAGREE)
        penalise(out, name_key, DISAGREE)
    elif cue is not None:  # the name says the sex that was read: two readings agree
        confirm(out, "sex", independent=True)


# ---- the birth certificate ---------------------------------------------------------------------------
_FIRST_TOKEN = re.compile(r"\S+")
# Labels printed inside a line ("Giới tính: Nam Dân tộc: Kinh Quốc tịch: Việt Nam").
_MID_LINE = ("ethnicity", "nationality")


def first_token(v: LabelledValue, name: str, pattern: str = r"\d{1,4}(/\d{4})?") -> FieldValue:
    """The value's first word (a book's number), with that word's confidence only."""
    words = [w for w in v.span.words if _has_alnum(w.text)]
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
        spans = continuation(lines, v.span, LABELS, max_lines=1)
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


def vocabulary_value(name: str, span: Span, vocabulary: Sequence[str], floor: bool = True) -> FieldValue:
    """A closed vocabulary's entry (sex, ethnic group, nationality, grade): the first word(s) of the
    value that spell one, whatever follows (the next label garbled: "Kinh Quấc tịch: Việt Nam").
    Exactly an entry, marks and all, is confirmed (``floor``); the same letters with other marks
    take the entry's; anything else snaps to the nearest entry, flagged."""
    toks = span_tokens([span])
    while toks and ":" in toks[0].text:  # a label's remnant ("h: Việt Nam")
        rest = toks[0].text.rpartition(":")[2]
        toks = ([Token(rest, toks[0].word)] if _has_alnum(rest) else []) + toks[1:]
    cores = [_core(t.text) for t in toks]
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


EXTRACTOR = Extractor(
    doc_type="birth_certificate",
    field_names=(
        "full_name",
        "date_of_birth",
        "date_of_birth_in_words",
        "sex",
        "ethnicity",
        "nationality",
        "place_of_birth",
        "place_of_origin",
        "personal_id",
        "mother_name",
        "father_name",
        "registration_place",
        "registration_date",
        "book_number",
        "book_volume",
    ),
    run=extract_birth_certificate,
)
