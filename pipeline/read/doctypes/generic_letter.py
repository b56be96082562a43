"""Công văn (official letter): the standard header block (Nghị định 30/2020 layout).

Left header: parent body, issuing body, "Số: …", "V/v …" (subject); right header: national
motto, "<place>, ngày … tháng … năm …"; then "Kính gửi: …"; the signature block closes the
letter: "Nơi nhận:" list on the left, the signer's title ("KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC"), a red
seal, a signature and the printed name in the right column.

The seal and the signature hide the name from the page OCR; ``refine_ocr`` re-reads the signature
column with the coloured ink removed (the name is printed black; see ``pipeline.read.signer_block``) and is
meant to run between OCR and extraction for letters.

Repairs of the OCR text of a value:
* glued words ("côngtácchứng") are split at syllable boundaries (``split_syllables``); a split that
  no vocabulary phrase confirms sends the value to review;
* fixed phrases of letters (administrative units, offices, province names, subject words) are
  snapped when the diacritics-free forms match word for word and only the diacritics differ
  (``snap_phrases``); a phrase matched that way counts as read right.
A value's confidence is the mean of its words', held down by its least sure word, and lowered for
words that cannot be Vietnamese syllables as read.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.models import Box, FieldValue, OcrPage, OcrResult, Page, Word
from pipeline.read import signer_block as signature
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.ocr import OcrOptions
from pipeline.read.text.confidence import INVALID_PENALTY
from pipeline.read.text.dates import find_written_date
from pipeline.read.text.lines import (
    Label,
    Span,
    TextLine,
    collapse,
    document_lines,
    field_from_spans,
    find_fuzzy,
    first,
    fix_digits,
    fold,
    label_values,
    nfc,
    union_box,
)
from pipeline.read.text.names import SURNAMES, SURNAMES_BY_FOLD, TONES

log = logging.getLogger(__name__)

LABELS: tuple[Label, ...] = (
    Label("motto_1", ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",)),
    Label("motto_2", ("Độc lập - Tự do - Hạnh phúc",)),
    Label("doc_number", ("Số:",), line_start=True),
    Label("subject", ("V/v",)),
    Label("recipient", ("Kính gửi:",)),
    Label("cc", ("Nơi nhận:",)),
)

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


_EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def split_glued(text: str) -> tuple[str, int]:
    """``text`` with glued syllables split ("SỞTƯPHÁP" -> "SỞ TƯ PHÁP"); and how many tokens were split."""
    out: list[str] = []
    splits = 0
    for token in text.split():
        lead, core, trail = _EDGE.match(token).groups()  # type: ignore[union-attr]
        parts = split_syllables(core) if core else None
        if parts:
            out.append(lead + " ".join(parts) + trail)
            splits += 1
        else:
            out.append(token)
    return " ".join(out), splits


# ---- fixed phrases ---------------------------------------------------------------------------------
_UNITS = ("TỈNH", "THÀNH PHỐ", "QUẬN", "HUYỆN", "THỊ XÃ", "PHƯỜNG", "XÃ", "THỊ TRẤN")
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
    *(f"{c} {u}" for c in _COUNCILS for u in _UNITS),
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
)  # fmt: skip
PLACE_PHRASES: tuple[str, ...] = (*PROVINCES, "TP. Hồ Chí Minh", "Thành phố Hồ Chí Minh")


def _case_like(model: str, word: str) -> str:
    """``word`` in the letter case of ``model`` (upper, capitalised or lower)."""
    letters = [c for c in model if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return word.upper()
    if letters and letters[0].isupper():
        return word[:1].upper() + word[1:].lower()
    if letters and all(c.islower() for c in letters):
        return word.lower()
    return word


@dataclass
class _Tok:
    """One word of a value on its way from the OCR words to the field."""

    text: str
    conf: float
    repaired: bool = False  # split or snapped
    settled: bool = False  # confirmed or snapped by a vocabulary phrase


def _core(text: str) -> str:
    return fold(_EDGE.match(text).group(2))  # type: ignore[union-attr]


@functools.lru_cache(maxsize=64)
def _folded_phrases(phrases: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    out = []
    for p in phrases:
        words = tuple(p.split())
        out.append((tuple(_core(w) for w in words), words))
    return tuple(sorted(out, key=lambda e: len(e[0]), reverse=True))


def _snap(toks: list[_Tok], phrases: tuple[str, ...]) -> None:
    """Snap runs of tokens to ``phrases`` in place (longest phrase first, left to right)."""
    table = _folded_phrases(phrases)
    i = 0
    while i < len(toks):
        for folded, words in table:
            n = len(folded)
            if n < 2 and len(toks) > 1:  # a lone word is only snapped when it is the whole value
                continue
            window = toks[i : i + n]
            if len(window) < n or tuple(_core(t.text) for t in window) != folded:
                continue
            for t, w in zip(window, words, strict=True):
                lead, core, trail = _EDGE.match(t.text).groups()  # type: ignore[union-attr]
                new = _case_like(core, _EDGE.match(w).group(2))  # type: ignore[union-attr]
                if nfc(new) != nfc(core):
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
    toks = [_Tok(t, 1.0) for t in text.split()]
    _snap(toks, tuple(phrases))
    return " ".join(t.text for t in toks), sum(t.repaired for t in toks)


def _tokens(words: Sequence[Word], text: str | None = None) -> list[_Tok]:
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
    out: list[_Tok] = []
    for t, c in zip(tokens, confs, strict=True):
        lead, core, trail = _EDGE.match(t).groups()  # type: ignore[union-attr]
        parts = split_syllables(core) if core else None
        if not parts:
            out.append(_Tok(t, c))
            continue
        for k, p in enumerate(parts):
            s = (lead if k == 0 else "") + p + (trail if k == len(parts) - 1 else "")
            out.append(_Tok(s, c * SPLIT_FACTOR, repaired=True))
    return out


def _word_doubt(t: _Tok) -> float:
    """A token's confidence, lowered when it cannot be Vietnamese as read."""
    core = _EDGE.match(t.text).group(2)  # type: ignore[union-attr]
    acronym = core.isupper() and len(core) <= 6  # "UBND", "HCTP": not syllables, and right
    if t.settled or not core or not core.isalpha() or acronym:
        return t.conf
    return t.conf if is_syllable(core) else t.conf * INVALID_PENALTY


def _value_confidence(toks: Sequence[_Tok]) -> float:
    """Mean of the words' confidences, held down by the least sure word and by unconfirmed repairs."""
    if not toks:
        return 0.0
    confs = [_word_doubt(t) for t in toks]
    mean = sum(confs) / len(confs)
    conf = min(1.0, mean, min(confs) + MIN_WORD_SLACK)
    if any(t.repaired and not t.settled for t in toks):  # a split no vocabulary confirmed: a guess
        conf = min(conf, REPAIRED_CAP)
    return max(0.0, conf)


def _text_field(
    name: str,
    spans: Sequence[Span],
    text: str,
    phrases: tuple[str, ...] = (),
    valid: bool = True,
    factor: float = 1.0,
) -> FieldValue:
    """A free-text field: glued words split, ``phrases`` snapped, confidence from its words."""
    words = [w for s in spans for w in s.words]
    toks = _tokens(words, collapse(text))
    if phrases:
        _snap(toks, phrases)
    value = nfc(" ".join(t.text for t in toks))
    conf = _value_confidence(toks) * factor * (1.0 if valid else INVALID_PENALTY) if value else 0.0
    return FieldValue(
        name=name,
        value=value,
        confidence=round(max(0.0, min(1.0, conf)), 3),
        page=spans[0].line.page if spans else None,
        box=union_box(words),
    )


# ---- fields ---------------------------------------------------------------------------------------
def _before(ln: TextLine, end: int) -> Span:
    return ln.span(0, end).stripped()


_DOC_NUMBER = re.compile(r"^\d{1,6}(?:/\d{4})?/[A-ZĐ][A-Za-zĐđ0-9]*(?:[-–][A-ZĐ0-9][A-Za-zĐđ0-9]*)*$")


def _doc_number(span: Span) -> FieldValue:
    raw = span.text.split(" ")[0] if span.text else ""
    head, slash, tail = raw.partition("/")
    token = (fix_digits(head) + slash + tail).rstrip(".,;:-–_'\"")
    valid = bool(_DOC_NUMBER.match(token))
    words = span.words[:1]
    conf = sum(w.confidence for w in words) / len(words) if words else 0.0
    line_conf = sum(w.confidence for w in span.words) / len(span.words) if span.words else 0.0
    # tesseract is shy of long codes; a code of the right shape is trusted as far as its line
    conf = max(conf, line_conf) if valid else conf * INVALID_PENALTY
    return FieldValue(
        "doc_number", nfc(token), round(min(1.0, conf), 3) if token else 0.0, span.line.page, union_box(words)
    )


def extract_generic_letter(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    out: dict[str, FieldValue] = {}
    first_page = [ln for ln in lines if ln.page == (lines[0].page if lines else 0)]

    if (m1 := first(values, "motto_1")) and m1.hit.start > 0:
        span = _before(m1.hit.line, m1.hit.start)
        out["parent_org"] = _text_field("parent_org", [span], span.text.upper(), ORG_PHRASES)
    if (m2 := first(values, "motto_2")) and m2.hit.start > 0:
        span = _before(m2.hit.line, m2.hit.start)
        out["issuing_org"] = _text_field("issuing_org", [span], span.text.upper(), ORG_PHRASES)

    if v := first(values, "doc_number"):
        out["doc_number"] = _doc_number(v.span)
    for ln in first_page[:8]:  # "Đà Nẵng, ngày 06 tháng 7 năm 2025"
        found = find_written_date(ln.text)
        if not found:
            continue
        value, start, end = found
        out["issue_date"] = field_from_spans("issue_date", [ln.span(start, end)], value=value)
        place_end = ln.text.rfind(",", 0, start + 1)
        place_start = 0
        if (v := first(values, "doc_number")) and v.hit.line.index == ln.index:
            number = v.span.text.split(" ")[0] if v.span.text else ""
            place_start = v.span.start + len(number)
        if place_end > place_start:
            span = ln.span(place_start, place_end).stripped()
            out["issue_place"] = _text_field("issue_place", [span], span.text, PLACE_PHRASES)
        break

    recipient = first(values, "recipient")
    if v := first(values, "subject"):
        spans = [v.span]
        block = v.hit.line.words
        left, right = block[0].box.x, block[-1].box.x + block[-1].box.w
        margin = 0.1 * (right - left)
        for ln in lines[v.hit.line.index + 1 : v.hit.line.index + 5]:
            if recipient and ln.index >= recipient.hit.line.index:
                break
            lo, hi = ln.words[0].box.x, ln.words[-1].box.x + ln.words[-1].box.w
            if lo < left - margin or hi > right + margin:
                break  # body text or another block, not the subject's wrapped lines
            spans.append(ln.span(0, len(ln.text)))
        text = collapse(" ".join(s.text for s in spans)).strip(" .")
        field = _text_field("subject", spans, text, SUBJECT_PHRASES)
        out["subject"] = dataclasses.replace(field, value=nfc(("V/v " + field.value).strip()))
    if recipient:
        out["recipient"] = _text_field("recipient", [recipient.span], recipient.span.text, SUBJECT_PHRASES)

    out.update(_signer(lines))
    return out


# ---- the signature block -------------------------------------------------------------------------
# Signer titles, printed upper case in the right column ("KT. GIÁM ĐỐC", "TM. ỦY BAN NHÂN DÂN").
_TITLES = re.compile(
    r"\b(?:giam doc|chu tich|truong phong|chanh van phong|truong ban|thu truong|cuc truong|vien truong|"
    r"chanh an|chanh thanh tra|bi thu|hieu truong|bo truong|truong khoa|chu nhiem|tong bien tap)\b|"
    r"(?:^|\s)(?:kt|tm|tl|tuq|q)\s?\.",
)


def _surname(tok: _Tok) -> bool:
    """Whether ``tok`` is a surname; a surname read with wrong diacritics ("Bũi") is snapped to it."""
    if tok.text in SURNAMES:
        return True
    found = SURNAMES_BY_FOLD.get(fold(tok.text), ())
    if len(found) != 1:
        return False
    tok.text, tok.repaired, tok.settled = found[0], True, True
    tok.conf = max(tok.conf, VOCABULARY_CONFIDENCE)
    return True


def _is_title_line(ln: TextLine) -> bool:
    upper = [w.text for w in ln.words if any(c.isalpha() for c in w.text) and w.text.upper() == w.text]
    return len(upper) >= 1 and bool(_TITLES.search(fold(" ".join(upper))))


def _anchor(page_lines: Sequence[TextLine]) -> TextLine | None:
    """The first line of the signature block: "Nơi nhận:" or the signer's title, near the page end."""
    tail = page_lines[-20:]
    for ln in tail:
        if find_fuzzy(ln.folded, "noi nhan", line_start=True) is not None:
            return ln
    for ln in tail:
        if _is_title_line(ln) and ln.words[-1].box.x > _text_extent(page_lines)[0] + 0.4 * _width(page_lines):
            return ln
    return None


def _text_extent(page_lines: Sequence[TextLine]) -> tuple[int, int]:
    xs0 = [w.box.x for ln in page_lines for w in ln.words]
    xs1 = [w.box.x + w.box.w for ln in page_lines for w in ln.words]
    return (min(xs0), max(xs1)) if xs0 else (0, 1)


def _width(page_lines: Sequence[TextLine]) -> int:
    lo, hi = _text_extent(page_lines)
    return max(1, hi - lo)


def _column_left(page_lines: Sequence[TextLine], anchor: TextLine) -> float:
    """Where the signature column starts: right of the "Nơi nhận" list, left of the signer's title."""
    lo, _ = _text_extent(page_lines)
    left = lo + 0.45 * _width(page_lines)
    titled = [w for w in anchor.words if w.box.x > left and w.text.upper() == w.text and w.text.isalpha()]
    return min(left, titled[0].box.x) if titled else left


def _signer(lines: list[TextLine]) -> dict[str, FieldValue]:
    """The signer: the last name-like run of words (2-5 capitalised syllables) in the signature column."""
    if not lines:
        return {}
    pages = sorted({ln.page for ln in lines}, reverse=True)
    found = ((pg, a) for pg in pages if (a := _anchor([ln for ln in lines if ln.page == pg])) is not None)
    page_index, anchor = next(found, (pages[0], None))  # the last page with a block (an annex may follow)
    page = [ln for ln in lines if ln.page == page_index]
    if anchor is not None:
        block = [ln for ln in page if ln.index >= anchor.index][:16]
        left = _column_left(page, anchor)
    else:  # no block found: the last lines, right half; a guess, for review
        block = page[-8:]
        lo, _ = _text_extent(page)
        left = lo + 0.4 * _width(page)
    best: tuple[TextLine, list[Word], list[_Tok]] | None = None
    for ln in block:
        run = _name_run(ln, left)
        if run:
            best = (ln, *run)
    if best is None:
        return {}
    ln, words, toks = best
    surname = _surname(toks[0])
    value = nfc(" ".join(t.text for t in toks))
    conf = _value_confidence(toks) * (1.0 if surname else 0.85) * (1.0 if anchor is not None else 0.8)
    field = FieldValue("signer_name", value, round(min(1.0, conf), 3), ln.page, union_box(words))
    return {"signer_name": field}


def _is_name_token(t: str) -> bool:
    """A capitalised syllable of 2+ letters ("Ngọc"): one word of a person's name."""
    return len(t) >= 2 and t[0].isupper() and t[1:].islower() and is_syllable(t)


def _is_name_word(w: Word) -> bool:
    return all(_is_name_token(t.text) for t in _tokens([w]))


def _name_run(ln: TextLine, left: float) -> tuple[list[Word], list[_Tok]] | None:
    """The line's trailing run of name words right of ``left``, if it reads as a person's name."""
    words = [w for w in ln.words if w.box.x + w.box.w / 2 >= left]
    i = len(words) - 1
    while i >= 0 and not _is_name_word(words[i]) and not any(c.isalpha() for c in words[i].text):
        i -= 1  # a mark after the name (the seal's edge read as ":" or "*")
    run: list[Word] = []
    while i >= 0 and _is_name_word(words[i]):
        run.insert(0, words[i])
        i -= 1
    # seal text left of the name ("Suy Trần Thị Ngọc Châu"): a doubtful or detached word before a surname
    while len(run) > 2 and not _surname(_Tok(run[0].text, 1.0)) and _surname(_Tok(run[1].text, 1.0)):
        gaps = [b.box.x - (a.box.x + a.box.w) for a, b in itertools.pairwise(run[1:])]
        detached = run[1].box.x - (run[0].box.x + run[0].box.w) > 2 * max(gaps, default=0)
        if run[0].confidence >= 0.85 and not detached:
            break
        run = run[1:]
    toks = _tokens(run)
    if not 2 <= len(toks) <= 5 or find_fuzzy(fold(" ".join(t.text for t in toks)), "luu"):
        return None
    return run, toks


# ---- re-reading the signature block ----------------------------------------------------------------
def signature_region(ocr_page: OcrPage) -> Box | None:
    """The signature column of a page in page pixels: right of the "Nơi nhận" list, from the title down."""
    lines = document_lines(OcrResult((ocr_page,)))
    anchor = _anchor(lines)
    if anchor is None:
        return None
    left = int(_column_left(lines, anchor))
    top = min(w.box.y for w in anchor.words)
    height = max(w.box.h for w in anchor.words)
    top = max(0, top - height // 2)
    bottom = min(ocr_page.height, top + max(int(0.3 * ocr_page.height), 16 * height))  # room to sign
    for ln in lines:  # stop at the first line running across the column's edge (body text)
        if ln.index <= anchor.index:
            continue
        y = min(w.box.y for w in ln.words)
        if y > top and any(w.box.x < left < w.box.x + w.box.w for w in ln.words):
            bottom = min(bottom, y - 2)
            break
    if bottom - top < 2 * height or ocr_page.width - left < 4 * height:
        return None
    return Box(left, top, ocr_page.width - left, bottom - top)


def _signature_block(ocr_page: OcrPage) -> signature.Block | None:
    region = signature_region(ocr_page)
    return None if region is None else signature.Block(region)  # letters are printed black


def reread_signature(page: Page, ocr_page: OcrPage, options: OcrOptions) -> OcrPage:
    """The page's OCR with the signature column re-read without the seal's and the signature's ink.

    Words inside the column are replaced by the re-read ones (boxes in page pixels); lines that
    share a baseline with the "Nơi nhận" list are joined to it as the page OCR does.
    """
    block = _signature_block(ocr_page)
    return ocr_page if block is None else signature.reread(page, ocr_page, block, options)


def refine_ocr(pages: Sequence[Page], ocr: OcrResult, options: OcrOptions) -> OcrResult:
    """A letter's OCR with the signature column re-read (see ``pipeline.read.signer_block``).

    The block is looked for from the last page back (an annex may follow the signature). To run
    after classification for ``generic_letter`` and before extraction; ~0.3 s a letter.
    """
    return signature.refine_ocr(pages, ocr, options, _signature_block)


# The kinds of administrative documents of Decree 30/2020/NĐ-CP (Appendix III), folded: the title a
# letter prints alone on a line under its number.
_DOCUMENT_KINDS = (
    r"^\W{0,3}(?:"
    r"nghi\s?quyet|quyet\s?dinh|chi\s?thi|quy\s?che|quy\s?dinh|thong\s?cao|thong\s?bao|"
    r"huong\s?dan|chuong\s?trinh|ke\s?hoach|phuong\s?an|de\s?an|du\s?an|bao\s?cao|bien\s?ban|"
    r"to\s?trinh|hop\s?dong|cong\s?dien|ban\s?ghi\s?nho|ban\s?thoa\s?thuan|giay\s?uy\s?quyen|"
    r"giay\s?moi|giay\s?gioi\s?thieu|giay\s?nghi\s?phep|phieu\s?gui|phieu\s?chuyen|phieu\s?bao|"
    r"thu\s?cong|cong\s?van"
    r")\W{0,3}$"
)

DOCTYPE = DocType(
    name="generic_letter",
    label_vi="Công văn / văn bản",
    label_en="Official letter / document",
    fields=(
        Field("parent_org", "Cơ quan chủ quản", "Parent authority"),
        Field("issuing_org", "Cơ quan ban hành", "Issuing authority"),
        Field("doc_number", "Số văn bản", "Document number"),
        Field("issue_place", "Địa danh", "Place of issue"),
        Field("issue_date", "Ngày ban hành", "Date of issue"),
        Field("subject", "Trích yếu (V/v)", "Subject"),
        Field("recipient", "Kính gửi", "Addressed to"),
        Field("signer_name", "Người ký", "Signed by"),
    ),
    cues=(
        Cue("Kính gửi", 1.5),
        Cue("Nơi nhận", 1.5),
        Cue("V/v", 1.0),
        # "Số: 935/STP-HCTP": a number then the issuer's code (a register's "Số: 101/1995" is a year);
        # or, with the number filled in by hand after printing, the code alone: "Số:   /TB-UBND"
        Cue(
            r"^\W{0,2}so\s?[:;.]?\s?(?:\d+\s?/\s?(?:\d{4}\s?/\s?)?[a-z]|[^\s/]{0,6}\s?/\s?[a-z]{1,8}\s?-\s?[a-z])",
            1.0,
            pattern=True,
        ),
        # The kind of administrative document alone on its line, as Decree 30/2020/NĐ-CP lays it out
        # under the number ("CHỈ THỊ", "THÔNG BÁO", "QUYẾT ĐỊNH"…), and its subject line ("Về việc …").
        Cue(_DOCUMENT_KINDS, 1.5, pattern=True),
        Cue(r"^\W{0,2}v[ea]\s?viec\b", 1.0, pattern=True),
        # the issuer's header beside the national motto ("UBND QUẬN LÊ CHÂN  CỘNG HÒA XÃ HỘI ...")
        Cue(
            r"^\W{0,2}(?:ubnd|uy ban|so |bo |phong |cuc |chi cuc|tong cuc|van phong|truong ).*cong hoa xa hoi",
            1.0,
            pattern=True,
        ),
    ),
    extractor=Extractor(run=extract_generic_letter, refine=refine_ocr),
)
