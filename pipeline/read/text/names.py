"""Vietnamese person names: syllables, common family and given names, and a name's repair from OCR tokens."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from pipeline.read.text.lines import collapse, fold
from pipeline.read.text.tokens import Cleaned, Token, foreign_letters, has_alnum, punctuation_only


def split_at_capitals(token: str) -> str:
    """'CầnThơ' -> 'Cần Thơ', 'HuỳnhMinhPhúc' -> 'Huỳnh Minh Phúc': a capital after a small letter starts a word."""
    out = []
    for i, c in enumerate(token):
        if i and c.isupper() and token[i - 1].islower():
            out.append(" ")
        out.append(c)
    return "".join(out)


def title_case_name(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


# ---- names -------------------------------------------------------------------------------------
def check_person_name(name: str) -> list[str]:
    """A person's name as printed: at least two words of Latin letters (Vietnamese diacritics)."""
    words = name.split()
    if len(words) < 2:
        return [f"a name has at least two words: {name!r}"]
    for ch in "".join(words):
        if not (ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")) and ch not in "'-":
            return [f"not a letter in a name: {ch!r}"]
    return []


# ---- Vietnamese syllables ------------------------------------------------------------------------------
_SYLLABLE = re.compile(r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(ch|ng|nh|[cmnpt])?")
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền, sắc, ngã, hỏi, nặng (combining)


def vietnamese_syllable(token: str) -> bool:
    """Whether ``token`` (letters only) can be one Vietnamese syllable: onset, vowels, final, one tone."""
    if not _SYLLABLE.fullmatch(fold(token)):
        return False
    return sum(c in TONES for c in unicodedata.normalize("NFD", token)) <= 1


# ---- person names ----------------------------------------------------------------------------------
SURNAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
    "Ngô", "Dương", "Lý", "Đào", "Đoàn", "Đinh", "Lâm", "Lương", "Mai", "Trịnh", "Trương", "Tô", "Tạ",
    "Hà", "Cao", "Chu", "Châu", "Phùng", "Quách", "Lưu", "Thái", "Triệu", "Kiều", "Tăng", "Lại", "Đàm",
    "Hứa", "Khúc", "Nghiêm", "Từ", "Mạc", "Ông", "Diệp", "Lục", "Giang", "Thân", "Tôn", "Thạch",
    "Vương", "Doãn", "Bạch", "Âu", "Cù", "Tống", "Kim", "Hầu", "Lò", "La", "Lã", "Nông", "Khổng",
    "Mẫn", "Viên", "Nghê", "Hàn", "Bế", "Lạc",
    # and less common ones
    "Đồng", "Vi", "Quan", "Phí", "Ninh", "Biện", "Tiêu", "Trình", "Đậu", "Phó", "Ung", "Ứng", "Trà",
    "Sơn", "Cấn", "Mạnh", "Giáp", "Hoa", "Khương", "Lữ", "Mã", "Ân", "Bành", "Chế", "Chử",
)  # fmt: skip
SURNAMES_BY_FOLD: dict[str, list[str]] = {}
for _s in SURNAMES:
    SURNAMES_BY_FOLD.setdefault(fold(_s), []).append(_s)
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
    found = SURNAMES_BY_FOLD.get(fold(token))
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
        repaired = repaired or has_alnum(head)
        toks = ([Token(rest, toks[0].word)] if has_alnum(rest) else []) + toks[1:]
    out: list[Token] = []
    for i, tok in enumerate(toks):
        raw = tok.text
        t = re.sub(r"^[\W\d_]+", "", raw)
        if t != raw and (i > 0 or not punctuation_only(raw[: len(raw) - len(t)])):
            repaired = True  # junk before a word inside the name, or a digit or a mark before the name
        t2 = re.sub(r"[\W\d_]+$", "", t)
        if t2 != t and (i < len(toks) - 1 or not punctuation_only(t[len(t2) :])):
            repaired = True
        t = t2
        m = _JUNK_PREFIX.match(t)
        if m and m.group(1) not in _NAME_PREFIXES:
            t, repaired = t[m.end() :], True
        if not t:
            repaired = repaired or has_alnum(raw)
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
    unusual = unusual or not well_shaped_name(text) or bool(name_doubts(text))
    return Cleaned(text, tuple(out), repaired, unusual=unusual)


MAX_NAME_WORDS = 5  # "Nguyễn Thị Ngọc Bảo Uyên"; a longer one is two values read as one
_MIDDLE_OF_SEX = {"thi", "van"}


def name_doubts(name: str) -> list[str]:
    """What makes a read name unlike a Vietnamese person's name: a first word that is no family
    name (a title's words "GIẤY CHỨNG NHẬN", a label's remnant), too many words, or a second
    family name followed by "Thị"/"Văn" inside it (two names glued: the next column's)."""
    words = [fold(w).strip("'-") for w in name.split()]
    if not words:
        return []
    problems = []
    if foreign_letters(name):
        problems.append("a letter Vietnamese does not write")
    if words[0] not in SURNAMES_BY_FOLD:
        problems.append(f"{name.split()[0]!r} is no family name")
    if len(words) > MAX_NAME_WORDS:
        problems.append(f"{len(words)} words")
    for i in range(2, len(words) - 1):
        if words[i] in SURNAMES_BY_FOLD and words[i + 1] in _MIDDLE_OF_SEX:
            problems.append(f"a second name starts at {name.split()[i]!r}")
            break
    return problems


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
