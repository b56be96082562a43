"""The words of a letter's values: Vietnamese syllables, glued words split, fixed phrases snapped,
and a value's confidence from its words'.

Not a document type: the parts of an official letter's reading that ``generic_letter`` and
``letter.header`` share.

Repairs of the OCR text of a value:
* glued words ("côngtácchứng") are split at syllable boundaries (``split_syllables``); a split that
  no vocabulary phrase confirms sends the value to review;
* fixed phrases of letters (administrative units, offices, province names, subject words) are
  snapped when the diacritics-free forms match word for word and only the diacritics differ
  (``snap_phrases``); a phrase matched that way counts as read right. A word printed with the
  older placement of its tone mark ("UỶ", "HOÀ") is the same word and keeps the print's spelling.
A value's confidence is the mean of its words', held down by its least sure word, and lowered for
words that cannot be Vietnamese syllables as read.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.models import FieldValue, Word
from pipeline.read.text.confidence import INVALID_PENALTY
from pipeline.read.text.lines import Span, collapse, fold, nfc, union_box
from pipeline.read.text.names import TONES

# Confidence of a word that a vocabulary phrase of 2+ words confirmed: its letters were read as
# the phrase's (diacritics are then the phrase's).
VOCABULARY_CONFIDENCE = 0.9
# Multiplier for the words of a glued token that had to be split (the split itself may be wrong).
SPLIT_FACTOR = 0.85
# A value is no surer than its least sure word allows: confidence <= min(word) + this.
MIN_WORD_SLACK = 0.45
# A value with a repair no vocabulary confirmed (a split guessed from syllable shapes) goes to review.
REPAIRED_CAP = 0.75


# ---- Vietnamese syllables ----------------------------------------------------------------------
# A syllable, diacritics off: optional initial, then a rhyme (vowel nucleus with its glides, and a
# final consonant for the nuclei that take one). Accepts every syllable of tesseract's vie word list.
_INITIALS = "ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|b|c|d|g|h|k|l|m|n|p|r|s|t|v|x"
_OPEN_RHYMES = (
    "a e i o u y ai ao au ay eo eu ia iu oa oe oi ua ue ui uu uy ieu yeu oai oay oeo uay uoi uou uya uyu "
    "uo ya oo ueu uao"
).split()
_CLOSED_NUCLEI = "a e i o u y ie ye uo oa oe ua ue uy uye oo".split()
_FINALS = "ch|ng|nh|c|m|n|p|t"


def _alternation(items: Sequence[str]) -> str:
    return "|".join(sorted(items, key=len, reverse=True))


_SYLLABLE = re.compile(
    rf"(?:{_INITIALS})?(?:(?:{_alternation(_CLOSED_NUCLEI)})(?:{_FINALS})|(?:{_alternation(_OPEN_RHYMES)}))"
)
_VN_MARKS = TONES | {"\u0302", "\u0306", "\u031b"}  # and â/ê/ô, ă, ơ/ư


def _tone_count(text: str) -> int:
    return sum(1 for c in unicodedata.normalize("NFD", text) if c in TONES)


def has_vietnamese_marks(text: str) -> bool:
    return "đ" in text.lower() or any(c in _VN_MARKS for c in unicodedata.normalize("NFD", text))


def is_syllable(word: str) -> bool:
    """``word`` (letters only) can be one Vietnamese syllable: shape and at most one tone mark."""
    w = nfc(word)
    return bool(w) and w.isalpha() and _SYLLABLE.fullmatch(fold(w)) is not None and _tone_count(w) <= 1


@functools.lru_cache(maxsize=4096)
def split_syllables(word: str) -> tuple[str, ...] | None:
    """A run of letters that is not one syllable as the fewest syllables it splits into, else None.

    "côngtácchứng" -> ("công", "tác", "chứng"). Ties go to syllables that start with a consonant
    ("than hoa" rather than "thanh oa"). None when the word is a syllable, cannot be split, or has
    no Vietnamese diacritic (English words and acronyms such as "online" stay as printed).
    """
    w = nfc(word)
    if len(w) < 4 or not w.isalpha() or is_syllable(w) or not has_vietnamese_marks(w):
        return None
    n = len(w)
    # best[i]: (syllables, vowel-initial syllables, cut positions) for the first i characters
    best: list[tuple[int, int, tuple[int, ...]] | None] = [None] * (n + 1)
    best[0] = (0, 0, ())
    for i in range(n):
        if best[i] is None:
            continue
        count, vowels, cuts = best[i]  # type: ignore[misc]
        for j in range(i + 1, min(n, i + 8) + 1):
            piece = w[i:j]
            if not is_syllable(piece):
                continue
            cand = (count + 1, vowels + (fold(piece[0]) in "aeiouy"), (*cuts, j))
            if best[j] is None or cand[:2] < best[j][:2]:  # type: ignore[index]
                best[j] = cand
    if best[n] is None or best[n][0] < 2:  # type: ignore[index]
        return None
    cuts = (0, *best[n][2])  # type: ignore[index]
    return tuple(w[a:b] for a, b in itertools.pairwise(cuts))


EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def split_glued(text: str) -> tuple[str, int]:
    """``text`` with glued syllables split ("SỞTƯPHÁP" -> "SỞ TƯ PHÁP"); and how many tokens were split."""
    out: list[str] = []
    splits = 0
    for token in text.split():
        lead, core, trail = EDGE.match(token).groups()  # type: ignore[union-attr]
        parts = split_syllables(core) if core else None
        if parts:
            out.append(lead + " ".join(parts) + trail)
            splits += 1
        else:
            out.append(token)
    return " ".join(out), splits


# ---- fixed phrases ---------------------------------------------------------------------------------
UNITS = ("TỈNH", "THÀNH PHỐ", "QUẬN", "HUYỆN", "THỊ XÃ", "PHƯỜNG", "XÃ", "THỊ TRẤN")
_COUNCILS = ("UBND", "ỦY BAN NHÂN DÂN", "HĐND", "HỘI ĐỒNG NHÂN DÂN")
PROVINCES: tuple[str, ...] = (
    "An Giang", "Bà Rịa - Vũng Tàu", "Vũng Tàu", "Bạc Liêu", "Bắc Giang", "Bắc Kạn", "Bắc Ninh", "Bến Tre",
    "Bình Dương", "Bình Định", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Cần Thơ", "Đà Nẵng",
    "Đắk Lắk", "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Nội",
    "Hà Tĩnh", "Hải Dương", "Hải Phòng", "Hậu Giang", "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang",
    "Kon Tum", "Lai Châu", "Lạng Sơn", "Lào Cai", "Lâm Đồng", "Long An", "Nam Định", "Nghệ An", "Ninh Bình",
    "Ninh Thuận", "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị",
    "Sóc Trăng", "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế",
    "Tiền Giang", "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái", "Hồ Chí Minh", "Thủ Đức",
)  # fmt: skip
ORG_PHRASES: tuple[str, ...] = (
    *(f"{c} {u}" for c in _COUNCILS for u in UNITS),
    *_COUNCILS,
    *(f"{u} {p.upper()}" for u in ("TỈNH", "THÀNH PHỐ") for p in PROVINCES),
    *(p.upper() for p in PROVINCES),
    "THÀNH PHỐ", "THỊ XÃ", "THỊ TRẤN",
    "SỞ TƯ PHÁP", "PHÒNG TƯ PHÁP", "BỘ TƯ PHÁP", "VĂN PHÒNG", "CÔNG AN", "CHÍNH PHỦ",
    "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", "PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG", "SỞ NỘI VỤ", "PHÒNG NỘI VỤ", "SỞ Y TẾ",
    "PHÒNG Y TẾ", "SỞ TÀI CHÍNH", "PHÒNG TÀI CHÍNH - KẾ HOẠCH", "SỞ XÂY DỰNG", "SỞ GIÁO DỤC VÀ ĐÀO TẠO",
    "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO", "SỞ KẾ HOẠCH VÀ ĐẦU TƯ", "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI",
    "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI", "SỞ VĂN HÓA VÀ THỂ THAO", "SỞ CÔNG THƯƠNG", "SỞ GIAO THÔNG VẬN TẢI",
    "SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
    "THANH TRA", "BẢO HIỂM XÃ HỘI", "CỤC THUẾ", "CHI CỤC THUẾ", "TÒA ÁN NHÂN DÂN", "VIỆN KIỂM SÁT NHÂN DÂN",
    "CỤC HỘ TỊCH, QUỐC TỊCH, CHỨNG THỰC", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "BỘ CÔNG AN", "BỘ NỘI VỤ",
)  # fmt: skip
SUBJECT_PHRASES: tuple[str, ...] = (
    "triển khai", "thực hiện", "tăng cường", "chấn chỉnh", "hướng dẫn", "công tác", "chứng thực", "hộ tịch",
    "quốc tịch", "tư pháp", "cải cách hành chính", "hành chính", "thủ tục hành chính", "thủ tục", "nhiệm vụ",
    "trọng tâm", "đăng ký", "khai sinh", "khai tử", "kết hôn", "hôn nhân", "bản sao", "bản chính", "sổ gốc",
    "giải quyết", "người dân", "chất lượng", "liên thông", "thường trú", "tạm trú", "bảo hiểm y tế", "trẻ em",
    "căn cước", "công dân", "định danh", "cá nhân", "dịch vụ công", "trực tuyến", "báo cáo", "kết quả",
    "kiểm tra", "rà soát", "quản lý", "số hóa", "dữ liệu", "cơ sở dữ liệu", "xác nhận", "tình trạng",
    "nuôi con nuôi", "giám hộ", "trích lục", "đôn đốc", "phối hợp", "tổ chức", "đề nghị", "góp ý", "dự thảo",
    "kế hoạch", "sơ kết", "tổng kết", "tiếp nhận", "phản ánh", "kiến nghị", "hồ sơ", "điện tử", "một cửa",
    "thông tin", "tuyên truyền", "phổ biến", "pháp luật", "văn bản", "quy định", "hiệu quả",
    # the common words of administrative subjects at large (Decree 30 titles, legal acts)
    "sửa đổi", "bổ sung", "công bố", "ban hành", "điều chỉnh", "dự toán", "ngân sách", "phổ thông",
    "trung học", "tốt nghiệp", "địa bàn", "ý kiến", "tham gia", "kinh tế - xã hội", "hội nghị", "buổi làm việc",
    "làm việc", "chỉ đạo", "nghị định", "quyết định", "thông tư", "chỉ thị", "nghị quyết", "chương trình",
    "mục tiêu", "quốc gia", "dân tộc thiểu số", "đồng bào", "miền núi", "xây dựng", "quy trình", "nội bộ",
    "danh mục", "đầu tư", "phát triển", "nông thôn", "thi hành án", "hóa đơn", "nộp thuế", "kinh doanh",
    "doanh nghiệp", "giáo dục", "đào tạo", "phòng, chống", "an toàn", "giao thông", "môi trường",
    "tài nguyên", "đất đai", "thi đua", "khen thưởng", "cán bộ", "công chức", "viên chức", "tuyển dụng",
    "bổ nhiệm", "bộ máy", "sắp xếp", "đơn vị", "kỳ họp", "Hội đồng nhân dân", "Ủy ban nhân dân", "Chính phủ",
    "Thủ tướng", "Chủ tịch", "tình hình", "kết luận", "thông báo", "năm học", "ngân hàng", "bảo hiểm xã hội",
    "phòng cháy, chữa cháy", "thiên tai", "dịch bệnh", "y tế", "văn hóa", "thể thao", "du lịch", "lao động",
    "việc làm", "an sinh xã hội", "quy hoạch", "dự án", "công trình", "giải phóng mặt bằng", "bồi thường",
    "hỗ trợ", "tái định cư", "khoa học", "công nghệ", "chuyển đổi số", "thanh tra", "khiếu nại", "tố cáo",
)  # fmt: skip
PLACE_PHRASES: tuple[str, ...] = (*PROVINCES, "TP. Hồ Chí Minh", "Thành phố Hồ Chí Minh")


def case_like(model: str, word: str) -> str:
    """``word`` in the letter case of ``model`` (upper, capitalised or lower)."""
    letters = [c for c in model if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return word.upper()
    if letters and letters[0].isupper():
        return word[:1].upper() + word[1:].lower()
    if letters and all(c.islower() for c in letters):
        return word.lower()
    return word


def _tone_off(word: str) -> tuple[str, frozenset[str]]:
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if c not in TONES), frozenset(c for c in decomposed if c in TONES)


def same_but_tone_place(a: str, b: str) -> bool:
    """``a`` and ``b`` are one syllable with its tone mark placed on another vowel ("ỦY"/"UỶ", "hòa"/"hoà").

    Both placements are correct Vietnamese (the older one is still printed); neither is a misreading.
    """
    (letters_a, tone_a), (letters_b, tone_b) = _tone_off(a), _tone_off(b)
    return letters_a == letters_b and tone_a == tone_b and len(tone_a) == 1 and nfc(a.lower()) != nfc(b.lower())


@dataclass
class Tok:
    """One word of a value on its way from the OCR words to the field."""

    text: str
    conf: float
    repaired: bool = False  # split or snapped
    settled: bool = False  # confirmed or snapped by a vocabulary phrase


def folded_core(text: str) -> str:
    return fold(EDGE.match(text).group(2))  # type: ignore[union-attr]


@functools.lru_cache(maxsize=64)
def _folded_phrases(phrases: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    out = []
    for p in phrases:
        words = tuple(p.split())
        out.append((tuple(folded_core(w) for w in words), words))
    return tuple(sorted(out, key=lambda e: len(e[0]), reverse=True))


def snap(toks: list[Tok], phrases: tuple[str, ...]) -> None:
    """Snap runs of tokens to ``phrases`` in place (longest phrase first, left to right)."""
    table = _folded_phrases(phrases)
    i = 0
    while i < len(toks):
        for folded, words in table:
            n = len(folded)
            if n < 2 and len(toks) > 1:  # a lone word is only snapped when it is the whole value
                continue
            window = toks[i : i + n]
            if len(window) < n or tuple(folded_core(t.text) for t in window) != folded:
                continue
            for t, w in zip(window, words, strict=True):
                lead, core, trail = EDGE.match(t.text).groups()  # type: ignore[union-attr]
                new = case_like(core, EDGE.match(w).group(2))  # type: ignore[union-attr]
                if nfc(new) != nfc(core) and not same_but_tone_place(new, core):
                    t.text, t.repaired = lead + new + trail, True
                t.conf = max(t.conf, VOCABULARY_CONFIDENCE)
                t.settled = True
            i += n - 1
            break
        i += 1


def snap_phrases(text: str, phrases: Sequence[str]) -> tuple[str, int]:
    """``text`` with runs of words snapped to ``phrases`` where only diacritics differ; and how many words changed.

    "UBND QUẦN LÊ CHÂN" -> "UBND QUẬN LÊ CHÂN"; words are compared diacritics-free and whole, and the
    printed letter case is kept.
    """
    toks = [Tok(t, 1.0) for t in text.split()]
    snap(toks, tuple(phrases))
    return " ".join(t.text for t in toks), sum(t.repaired for t in toks)


def tokens(words: Sequence[Word], text: str | None = None) -> list[Tok]:
    """The value's tokens, each with the confidence of the OCR word it comes from, glued words split.

    ``text``: the value as trimmed from the words (edges stripped, upper-cased); its tokens are the
    words' in order, else each token takes the confidence of the word it was cut from.
    """
    tokens = [w.text for w in words] if text is None else text.split()
    if len(tokens) == len(words):
        confs = [w.confidence for w in words]
    else:
        folded = [fold(w.text) for w in words]
        mean = sum(w.confidence for w in words) / len(words) if words else 0.0
        confs = []
        for t in tokens:
            ft = fold(t)
            hit = [w.confidence for w, f in zip(words, folded, strict=True) if ft and (ft in f or f in ft)]
            confs.append(min(hit) if hit else mean)
    out: list[Tok] = []
    for t, c in zip(tokens, confs, strict=True):
        lead, core, trail = EDGE.match(t).groups()  # type: ignore[union-attr]
        parts = split_syllables(core) if core else None
        if not parts:
            out.append(Tok(t, c))
            continue
        for k, p in enumerate(parts):
            s = (lead if k == 0 else "") + p + (trail if k == len(parts) - 1 else "")
            out.append(Tok(s, c * SPLIT_FACTOR, repaired=True))
    return out


def word_doubt(t: Tok) -> float:
    """A token's confidence, lowered when it cannot be Vietnamese as read."""
    core = EDGE.match(t.text).group(2)  # type: ignore[union-attr]
    acronym = core.isupper() and len(core) <= 6  # "UBND", "HCTP": not syllables, and right
    if t.settled or not core or not core.isalpha() or acronym:
        return t.conf
    return t.conf if is_syllable(core) else t.conf * INVALID_PENALTY


def value_confidence(toks: Sequence[Tok]) -> float:
    """Mean of the words' confidences, held down by the least sure word and by unconfirmed repairs."""
    if not toks:
        return 0.0
    confs = [word_doubt(t) for t in toks]
    mean = sum(confs) / len(confs)
    conf = min(1.0, mean, min(confs) + MIN_WORD_SLACK)
    if any(t.repaired and not t.settled for t in toks):  # a split no vocabulary confirmed: a guess
        conf = min(conf, REPAIRED_CAP)
    return max(0.0, conf)


def text_field(
    name: str,
    spans: Sequence[Span],
    text: str,
    phrases: tuple[str, ...] = (),
    valid: bool = True,
    factor: float = 1.0,
) -> FieldValue:
    """A free-text field: glued words split, ``phrases`` snapped, confidence from its words."""
    words = [w for s in spans for w in s.words]
    toks = tokens(words, collapse(text))
    if phrases:
        snap(toks, phrases)
    value = nfc(" ".join(t.text for t in toks))
    conf = value_confidence(toks) * factor * (1.0 if valid else INVALID_PENALTY) if value else 0.0
    return FieldValue(
        name=name,
        value=value,
        confidence=round(max(0.0, min(1.0, conf)), 3),
        page=spans[0].line.page if spans else None,
        box=union_box(words),
    )
