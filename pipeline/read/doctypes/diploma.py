"""Bằng tốt nghiệp / bằng cử nhân: labelled lines, the issuer after "GIÁM ĐỐC", a written date.

Values are repaired where OCR predictably breaks them (a label glued to its value "Sốhiệu;K4878095",
junk inside a name "Phương!", a family name read with the wrong marks, the written issue date with
a garbled or split number "ngày 0 5 tháng ö năm 2008") and checked against the diploma itself:

* the graduation year is printed twice ("Căn cứ kết quả kỳ thi tốt nghiệp ... năm 2012" and
  "Năm tốt nghiệp: 2012") and is the register book's year ("Số vào sổ: 00212/2012");
* the holder graduates at 15 or older;
* the diploma is not issued before the graduation year.

A repaired value or a failed check gets a confidence below the review threshold; a value another
reading confirms is raised above it.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline.models import FieldValue, Word
from pipeline.read.doctypes.contract import BlockTitles, Cue, DocType, Extractor, Field
from pipeline.read.text.confidence import CONFIRMED, DISAGREE, REPAIRED, penalise
from pipeline.read.text.dates import date_value, real_date, year_of
from pipeline.read.text.ids import PROVINCE_CODES
from pipeline.read.text.lines import (
    Label,
    LabelledValue,
    TextLine,
    collapse,
    field_from_spans,
    first,
    fix_digits,
    fold,
    label_values,
    levenshtein,
    make_field,
    similarity,
)
from pipeline.read.text.names import check_person_name, clean_name
from pipeline.read.text.people import SEXES, check_sex_cue
from pipeline.read.text.places import clean_place
from pipeline.read.text.tokens import Cleaned, cleaned_field, compact, glued_value, span_tokens, vocabulary_value

log = logging.getLogger(__name__)

CLASSIFICATIONS = ("Xuất sắc", "Giỏi", "Khá", "Trung bình khá", "Trung bình", "Yếu")

LABELS: tuple[Label, ...] = (
    Label("serial_number", ("Số hiệu:",)),
    Label("register_number", ("Số vào sổ cấp bằng:", "Số vào sổ:")),
    Label("issuer", ("GIÁM ĐỐC", "HIỆU TRƯỞNG")),
    Label("full_name", ("Họ và tên:", "Họ, chữ đệm, tên:", "Cho:")),
    Label("date_of_birth", ("Ngày sinh:",)),
    Label("sex", ("Giới tính:",)),
    Label("place_of_birth", ("Nơi sinh:",)),
    Label("school", ("Học sinh trường:", "Trường:")),
    Label("graduation_year", ("Năm tốt nghiệp:",)),
    Label("classification", ("Xếp loại tốt nghiệp:", "Xếp loại:")),
)

MIN_GRADUATION_AGE = 15  # a diploma's holder is older: a younger one means a misread year
MAX_GRADUATION_AGE = 80

_SERIAL = re.compile(r"([A-Z]{1,3})\s*[-.]?\s*([0-9A-Z|!]{5,9})")
_YEAR = re.compile(r"(?:19|20)\d\d")


def _serial(text: str) -> tuple[str, bool, bool]:
    """'K 4878095', 'KB0127747' -> 'KB 0127747'; whether it has the printed form, and whether it
    needed a repair (a mark on a series letter "Á", a number split in two "8587 334")."""
    token = collapse(text.upper()).strip(" .,;:-_|")
    letters = "".join(fold(c).upper() if c.isalpha() else c for c in token)
    repaired = letters != token
    joined = re.sub(r"(?<=\d) (?=\d)", "", letters)
    repaired = repaired or joined != letters
    m = _SERIAL.fullmatch(joined)
    if m:
        number = fix_digits(m.group(2))
        if number.isdigit():
            return f"{m.group(1)} {number}", True, repaired
    return token, False, repaired


def _register(text: str) -> tuple[str, bool]:
    """'05219/1992', '9172/TN2008': a number, a slash, the book's year (with a prefix)."""
    token = text.split(" ")[0].strip(".,;:|_-") if text else ""
    if "/" not in token:
        return fix_digits(token), False
    number, _, book = token.partition("/")
    book = book[:-4] + fix_digits(book[-4:]) if len(book) >= 4 else book
    value = f"{fix_digits(number)}/{book}"
    return value, bool(re.fullmatch(r"\d{1,6}/[A-ZĐ]{0,4}(?:19|20)\d\d", value))


# ---- the written date ---------------------------------------------------------------------------------
# Letters OCR reads for a digit in a number's place ("tháng ö năm": an 8 whose top loop became a mark).
_DIGIT_LETTERS = {"o": "0", "O": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1", "!": "1"}
_DIGIT_LETTERS |= {"S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "g": "9", "G": "6"}
_PIECES = re.compile(r"\d+|[^\W\d_]+|[^\w\s]")


def _digit_letter(piece: str) -> str | None:
    """The digit a one- or two-letter piece in a number's place stands for, if any."""
    if len(piece) > 2:
        return None
    out = ""
    for c in piece:
        if c in _DIGIT_LETTERS:
            out += _DIGIT_LETTERS[c]
        elif fold(c) == "o":  # an o with a mark above: the upper loop of an 8
            out += "8"
        elif fold(c) in _DIGIT_LETTERS:  # "Ï": a 1 with a speck above
            out += _DIGIT_LETTERS[fold(c)]
        else:
            return None
    return out


@dataclass(frozen=True)
class _Piece:
    text: str
    word: Word


def _pieces(words: Sequence[Word]) -> list[_Piece]:
    return [_Piece(m.group(0), w) for w in words for m in _PIECES.finditer(w.text)]


def _keyword(piece: str) -> str | None:
    f = fold(piece).replace("rn", "m")
    if f in ("ngay", "thang", "nam"):
        return f
    for kw in ("ngay", "thang"):
        if len(f) >= len(kw) - 1 and levenshtein(f, kw) <= 1:
            return kw
    return None


def _number(pieces: list[_Piece]) -> tuple[str, bool] | None:
    """The digits of a run of pieces ("0 5", "2O12", "ö"), and whether any needed a repair."""
    digits, repaired = "", len(pieces) > 1
    for p in pieces:
        if p.text.isdigit():
            digits += p.text
        elif (d := _digit_letter(p.text)) is not None:
            digits, repaired = digits + d, True
        else:
            return None
    return (digits, repaired) if digits else None


def _readings(pieces: list[_Piece]) -> list[tuple[str, bool]]:
    """The number a run of pieces says: all of them ("0 5" -> 05), else one alone ("8 8": a
    character read twice), the latter a repair."""
    whole = _number(pieces)
    out = [whole] if whole else []
    if len(pieces) > 1:
        out += [(n[0], True) for p in pieces if (n := _number([p]))]
    return out


def _run_before(pieces: list[_Piece], end: int) -> list[_Piece]:
    i = end
    while i > 0 and (pieces[i - 1].text.isdigit() or _digit_letter(pieces[i - 1].text) is not None):
        i -= 1
    return pieces[i:end]


def written_date(words: Sequence[Word]) -> tuple[str, list[Word], bool] | None:
    """'ngày 05 tháng 8 năm 2008' in ``words`` -> ('05/08/2008', its words, repaired)."""
    pieces = _pieces(words)
    keys = [_keyword(p.text) for p in pieces]
    for i, k in enumerate(keys):
        if k != "thang":
            continue
        j = next((x for x in range(i + 1, min(i + 6, len(pieces))) if keys[x] == "nam"), None)
        if j is None:
            continue
        year_run = [p for p in pieces[j + 1 : j + 5] if p.text not in ".,:;"]
        year_run = year_run[: next((n for n, p in enumerate(year_run) if _number([p]) is None), len(year_run))]
        year = _number(year_run)
        day_pieces = _run_before(pieces, i)
        if year is None or len(year[0]) < 4 or len(year[0]) > 5:
            continue
        for day, month in itertools.product(
            _readings(day_pieces), _readings([p for p in pieces[i + 1 : j] if p.text not in ".,:;"])
        ):
            if len(day[0]) > 2 or len(month[0]) > 2:
                continue
            d = real_date(int(day[0]), int(month[0]), int(year[0][:4]))
            if d is None:
                continue
            used = [*day_pieces, *pieces[i : j + 1], *year_run]
            ws = list(dict.fromkeys(p.word for p in used))
            return d, ws, day[1] or month[1] or year[1] or len(year[0]) > 4
    return None


def issue_place(words: Sequence[Word], date_words: Sequence[Word]) -> str:
    """The place written before the date ("Nghệ An" in "Nghệ An, ngày 05 tháng 8 năm 2008")."""
    if not date_words or date_words[0] not in words:
        return ""
    before = list(words[: list(words).index(date_words[0])])
    while before and _keyword(re.sub(r"\W", "", before[-1].text)) == "ngay":
        before.pop()
    return collapse(" ".join(w.text for w in before)).strip(" ,.;:-")


def _issue_date(lines: list[TextLine]) -> tuple[FieldValue, str] | None:
    """The date near the signature ("Nghệ An, ngày 05 tháng 8 năm 2008"), a line wrapped or not,
    and the place written before it."""
    for k in range(len(lines) - 1, -1, -1):
        for words in (list(lines[k].words), [*lines[k].words, *(lines[k + 1].words if k + 1 < len(lines) else ())]):
            found = written_date(words)
            if found:
                value, used, repaired = found
                f = make_field("issue_date", value, used, factor=REPAIRED if repaired else 1.0)
                return replace(f, page=lines[k].page), issue_place(words, used)
    return None


def _exam_year(lines: list[TextLine], skip: set[int]) -> tuple[int, list[Word]] | None:
    """The year in "Căn cứ kết quả kỳ thi tốt nghiệp ... năm 2012": a second reading."""
    for ln in lines:
        if ln.index in skip or "totnghiep" not in compact(ln.text):
            continue
        pieces = _pieces(ln.words)
        for i, p in enumerate(pieces):
            if _keyword(p.text) != "nam":
                continue
            rest = [q for q in pieces[i + 1 : i + 4] if q.text not in ".,:;"]
            if rest and (m := _YEAR.fullmatch(fix_digits(rest[0].text))):
                return int(m.group(0)), [rest[0].word]
    return None


# ---- places and the issuer -----------------------------------------------------------------------------
_PROVINCE_PREFIX = re.compile(r"^(?:tp\W*|thanh pho\s+|tinh\s+)")
_PREFIX_PRINTED = ("TP. ", "Thành phố ", "Tỉnh ", "tỉnh ", "thành phố ")


def _province_spelling(value: str) -> tuple[str, bool] | None:
    """(the province's name as the list spells it, whether ``value`` read it so exactly), when
    ``value``'s letters name a province, with or without "TP."/"Thành phố"/"Tỉnh" before it."""
    head = ""
    m = _PROVINCE_PREFIX.match(fold(value))
    if m:
        head, value = value[: m.end()], value[m.end() :]
    for name in PROVINCE_CODES.values():
        bare = name.removeprefix("TP ")
        if compact(bare) == compact(value):
            printed = next((p for p in _PREFIX_PRINTED if head and fold(p) == fold(head)), None)
            if head and printed is None:  # "TP," "P,": the prefix misread
                printed = "TP. " if compact(head) in ("tp", "p", "t") else None
                return (printed + bare, False) if printed else None
            return (printed or "") + bare, head == (printed or "") and value == bare
    return None


def _province_name(text: str) -> str | None:
    """The province ``text`` names, however it was printed before the name ("TP.", "THÀNH PHỐ")."""
    m = _PROVINCE_PREFIX.match(fold(text))
    rest = compact(text[m.end() :] if m else text)
    return next((n for n in PROVINCE_CODES.values() if compact(n.removeprefix("TP ")) == rest), None)


def _place_of_birth(v: LabelledValue) -> FieldValue:
    c = clean_place(span_tokens([v.span]))
    f = cleaned_field("place_of_birth", c, [v.span])
    spelled = _province_spelling(c.text)
    if spelled is None:
        return f
    text, exact = spelled
    if exact and not c.repaired:  # exactly a province's name: a misread rarely makes another one
        return replace(f, confidence=max(f.confidence, CONFIRMED))
    if text != c.text:  # the marks of a closed list's entry; what was read needed a repair
        return replace(f, value=text, confidence=round(f.confidence * (1.0 if c.repaired else REPAIRED), 3))
    return f


_ISSUER_HEADS = ("SỞ GIÁO DỤC VÀ ĐÀO TẠO",)


def _issuer(v: LabelledValue) -> FieldValue:
    """The issuing authority in capitals ("SỞ GIÁO DỤC VÀ ĐÀO TẠO HÀ NỘI"). Junk between its words (a
    lone consonant, a mark) is dropped; the department's name and the province are closed lists:
    a word of them misread is respelled. Either is a repair."""
    tokens = span_tokens([v.span])
    kept, repaired = [], False
    for i, t in enumerate(tokens):
        core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", t.text)
        outer = i in (0, len(tokens) - 1)
        lone = len(core) == 1 and fold(core) not in "aeiouy"
        if not core or lone or not core.isalpha():
            repaired = repaired or not outer or any(c.isalnum() for c in t.text)
            continue
        if core != t.text and not outer:
            repaired = True
        kept.append(replace(t, text=core.upper()))
    text = " ".join(t.text for t in kept)
    unusual = False
    for head in _ISSUER_HEADS:
        n = len(head.split())
        read = " ".join(t.text for t in kept[:n])
        if read == head or similarity(read, head) < 0.75:
            continue
        log.info("issuer %r read for %r", read, head)
        text, repaired = " ".join([head, *(t.text for t in kept[n:])]), True
    for head in _ISSUER_HEADS:
        if text.startswith(head + " "):
            province = text[len(head) + 1 :]
            spelled = _province_spelling(province)
            if spelled is None:
                unusual = True  # a department of education is a province's
            elif spelled[0].upper() != province:
                text, repaired = f"{head} {spelled[0].upper()}", True
    c = Cleaned(text, tuple(kept), repaired, unusual)
    return cleaned_field("issuer", c, [v.span])


# ---- cross-checks ----------------------------------------------------------------------------------------
def _check_years(out: dict[str, FieldValue], exam: tuple[int, list[Word]] | None) -> None:
    """The graduation year against its second reading, the register book's year, the holder's
    age and the issue date."""
    grad_f = out.get("graduation_year")
    grad = int(grad_f.value) if grad_f and _YEAR.fullmatch(grad_f.value) else None
    if grad is None and exam:  # the label's value unreadable: the exam's year, for the clerk to check
        grad = exam[0]
        page = grad_f.page if grad_f else None
        out["graduation_year"] = replace(make_field("graduation_year", str(grad), exam[1], factor=REPAIRED), page=page)
    if grad is None:
        return
    confirmed = False
    if exam and grad_f is not None and grad_f.value == str(grad):
        if exam[0] == grad:
            confirmed = True
        else:
            log.info("graduation year %d, in the exam's line %d", grad, exam[0])
            penalise(out, "graduation_year", DISAGREE)
    reg = out.get("register_number")
    if reg and (m := re.search(r"((?:19|20)\d\d)$", reg.value)):
        booked = int(m.group(1))
        if booked < grad:  # registered as issued before the graduation
            log.info("register book %d before the graduation %d", booked, grad)
            penalise(out, "register_number", DISAGREE)
            if not confirmed:
                penalise(out, "graduation_year", DISAGREE)
        elif booked == grad and grad_f is not None and grad_f.value == str(grad):
            confirmed = True
    if confirmed:
        out["graduation_year"] = replace(
            out["graduation_year"], confidence=max(out["graduation_year"].confidence, CONFIRMED)
        )
    born = year_of(out["date_of_birth"].value) if "date_of_birth" in out else None
    if born is not None and not MIN_GRADUATION_AGE <= grad - born <= MAX_GRADUATION_AGE:
        log.info("born %d, graduated %d", born, grad)
        penalise(out, "date_of_birth", DISAGREE)
        if not confirmed:
            penalise(out, "graduation_year", DISAGREE)
    issue = out.get("issue_date")
    issued = year_of(issue.value) if issue else None
    if issue is not None and issued is not None and issued < grad:
        # issued before the graduation: the year is misread; one wrong digit away from the
        # confirmed graduation year, it is that year
        if confirmed and sum(a != b for a, b in zip(str(issued), str(grad), strict=True)) == 1:
            log.info("issue year %d read for %d", issued, grad)
            out["issue_date"] = replace(
                issue, value=issue.value[:-4] + str(grad), confidence=round(issue.confidence * REPAIRED, 3)
            )
        else:
            penalise(out, "issue_date", DISAGREE)


def _check_issuer(out: dict[str, FieldValue], place: str) -> None:
    """The department's province is where the diploma is dated ("SỞ ... NGHỆ AN", "Nghệ An, ngày"):
    the same province read twice confirms the issuer."""
    issuer = out.get("issuer")
    if issuer is None or not place:
        return
    for head in _ISSUER_HEADS:
        if issuer.value.startswith(head + " "):
            own = _province_name(issuer.value[len(head) + 1 :])
            if own is not None and own == _province_name(place):
                out["issuer"] = replace(issuer, confidence=max(issuer.confidence, CONFIRMED))


# ---- the extractor -----------------------------------------------------------------------------------
def extract_diploma(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    out: dict[str, FieldValue] = {}

    def found(key: str) -> LabelledValue | None:
        v = first(values, key)
        if v is None:  # the label's words glued or garbled ("Sốhiệu;K4878095")
            label = next(lb for lb in LABELS if lb.key == key)
            v = glued_value(lines, label, LABELS)
        return v

    if v := found("serial_number"):
        value, ok, repaired = _serial(v.span.text)
        out["serial_number"] = field_from_spans(
            "serial_number", [v.span], value=value, valid=ok, factor=REPAIRED if repaired else 1.0
        )
    if v := found("register_number"):
        value, ok = _register(v.span.text)
        words = [w for w in v.span.words if any(c.isdigit() for c in w.text)][:1] or v.span.words
        out["register_number"] = replace(make_field("register_number", value, words, valid=ok), page=v.span.line.page)
    issuers = [v for v in values if v.hit.label.key == "issuer" and len(v.span.text) > 3]
    if issuers:
        out["issuer"] = _issuer(issuers[0])
    if v := found("full_name"):
        c: Cleaned = clean_name(span_tokens([v.span]))
        out["full_name"] = cleaned_field("full_name", c, [v.span], valid=not check_person_name(c.text))
    if v := found("place_of_birth"):
        out["place_of_birth"] = _place_of_birth(v)
    if (v := found("date_of_birth")) and (f := date_value("date_of_birth", v.span)):
        out["date_of_birth"] = f
    if v := found("sex"):
        out["sex"] = vocabulary_value("sex", v.span, SEXES, floor=False)
    grad_line = None
    if v := found("graduation_year"):
        grad_line = v.hit.line.index
        m = _YEAR.search(fix_digits(v.span.text.replace(" ", "")))
        year = m.group(0) if m else v.span.text
        out["graduation_year"] = field_from_spans("graduation_year", [v.span], value=year, valid=m is not None)
    if v := found("classification"):
        out["classification"] = vocabulary_value("classification", v.span, CLASSIFICATIONS)
    if found_date := _issue_date(lines):
        out["issue_date"] = found_date[0]
        _check_issuer(out, found_date[1])
    skip = {grad_line} if grad_line is not None else set()
    _check_years(out, _exam_year(lines, skip))
    check_sex_cue(out, "full_name")
    return out


DOCTYPE = DocType(
    name="diploma",
    label_vi="Bằng tốt nghiệp",
    label_en="Diploma",
    fields=(
        Field("full_name", "Họ và tên", "Full name"),
        Field("date_of_birth", "Ngày sinh", "Date of birth"),
        Field("sex", "Giới tính", "Sex"),
        Field("place_of_birth", "Nơi sinh", "Place of birth"),
        Field("graduation_year", "Năm tốt nghiệp", "Year of graduation"),
        Field("classification", "Xếp loại tốt nghiệp", "Classification"),
        Field("issuer", "Người cấp bằng", "Issued by"),
        Field("serial_number", "Số hiệu", "Serial number"),
        Field("register_number", "Số vào sổ cấp bằng", "Register number"),
        Field("issue_date", "Ngày cấp", "Date of issue"),
    ),
    holder_fields=("full_name",),
    cues=(
        Cue("BẰNG TỐT NGHIỆP", 3.0, whole_line=True),
        Cue("BẰNG CỬ NHÂN", 3.0, whole_line=True),
        Cue("BẰNG KỸ SƯ", 2.0, whole_line=True),
        Cue("BẰNG THẠC SĨ", 2.0, whole_line=True),
        Cue("CÔNG NHẬN TỐT NGHIỆP", 1.0),
        Cue("Số vào sổ cấp bằng", 1.0),
        Cue("Xếp loại tốt nghiệp", 1.0),
        Cue("Năm tốt nghiệp", 1.0),
    ),
    signature_block=BlockTitles(
        titles=("GIÁM ĐỐC", "HIỆU TRƯỞNG", "VIỆN TRƯỞNG"),  # also in "KT. GIÁM ĐỐC", "PHÓ HIỆU TRƯỞNG"
        after_date=True,
    ),
    extractor=Extractor(run=extract_diploma),
)
