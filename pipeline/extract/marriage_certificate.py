"""Giấy chứng nhận kết hôn: a table with a label column, then the husband's and the wife's column.

The two values of a row are one OCR line ("Kinh Kinh"); they are told apart by the x position
of their words against the boundary between the "Chồng" and "Vợ" columns.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from pipeline.extract.base import Extractor
from pipeline.extract.common import (
    NATIONALITIES,
    Label,
    LabelledValue,
    Span,
    TextLine,
    canonical,
    collapse,
    continuation,
    date_field,
    field_from_spans,
    find_date,
    find_fuzzy,
    first,
    fold,
    label_values,
    make_field,
    normalize_id,
)
from pipeline.models import FieldValue, Word

log = logging.getLogger(__name__)

LABELS: tuple[Label, ...] = (
    Label("book_number", ("Số:",), line_start=True),
    Label("book_volume", ("Quyển số:",)),
    Label("header", ("Thông tin",)),
    Label("name", ("Họ, chữ đệm, tên", "Họ và tên")),
    Label("dob", ("Ngày, tháng, năm sinh", "Ngày, tháng, năm", "Ngày sinh")),
    Label("ethnicity", ("Dân tộc",)),
    Label("nationality", ("Quốc tịch",)),
    Label("residence", ("Nơi cư trú", "Nơi thường trú")),
    Label("id", ("Số định danh cá nhân", "Số định danh cá", "Giấy tờ tùy thân")),
    Label("registration_place", ("Nơi đăng ký kết hôn:",)),
    Label("registration_date", ("Ngày, tháng, năm đăng ký:",)),
    Label("signers", ("(Ký, ghi rõ họ tên)", "NGƯỜI KÝ")),
)
ROWS = ("name", "dob", "ethnicity", "nationality", "residence", "id")


@dataclass(frozen=True)
class Columns:
    husband_from: float | None  # x where the husband's column starts (label column to the left)
    wife_from: float | None  # x where the wife's column starts


def _columns(lines: list[TextLine], values: list[LabelledValue]) -> Columns:
    """Column edges from the dates row (two dates), else from the "Thông tin | Chồng | Vợ" header."""
    if v := first(values, "dob"):
        dates = [w for w in v.span.words if find_date(w.text)]
        if len(dates) >= 2:
            a, b = dates[0].box, dates[1].box
            return Columns(a.x - a.h, (a.x + a.w + b.x) / 2)
    for ln in lines:
        husband = find_fuzzy(ln.folded, "chong")
        if husband and find_fuzzy(ln.folded, "thong tin"):
            hw = ln.words_between(husband[0], husband[1])
            after = ln.words[ln.words.index(hw[0]) + 1 :] if hw else []
            if hw and after:  # the word after "Chồng" is "Vợ" (however it was read)
                hc = hw[0].box.x + hw[0].box.w / 2
                wc = after[0].box.x + after[0].box.w / 2
                return Columns(hc - (wc - hc) / 2, (hc + wc) / 2)
    return Columns(None, None)


def _split(spans: list[Span], cols: Columns) -> tuple[list[Word], list[Word]]:
    words = [w for s in spans for w in s.words]
    if cols.wife_from is None:  # no table geometry: split a two-value row in the middle
        half = (len(words) + 1) // 2
        return words[:half], words[half:]
    husband_from = cols.husband_from if cols.husband_from is not None else -1.0
    return (
        [w for w in words if husband_from <= w.box.x < cols.wife_from],
        [w for w in words if w.box.x >= cols.wife_from],
    )


def _text(words: list[Word]) -> str:
    return collapse(" ".join(w.text for w in words)).strip(" ,.;:|")


def extract_marriage_certificate(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    cols = _columns(lines, values)
    out: dict[str, FieldValue] = {}
    for row in ROWS:
        v = first(values, row)
        if v is None:
            continue
        # A cell may wrap ("Nơi cư trú"), or one column may sit a little lower than the other
        spans = continuation(lines, v.span, LABELS, max_lines=3 if row == "residence" else 1, until_label=True)
        husband, wife = _split([s for s in spans if s.text], cols)
        for who, words in (("husband", husband), ("wife", wife)):
            out.update(_row_field(row, who, words))
    if v := first(values, "book_number"):
        out["book_number"] = _first_token("book_number", v)
    if v := first(values, "book_volume"):
        out["book_volume"] = _first_token("book_volume", v)
    if v := first(values, "registration_place"):
        spans = continuation(lines, v.span, LABELS)
        out["registration_place"] = field_from_spans("registration_place", spans)
    if (v := first(values, "registration_date")) and (f := date_field("registration_date", [v.span])):
        out["registration_date"] = f
    return out


def _first_token(name: str, v: LabelledValue) -> FieldValue:
    token = v.span.text.split(" ")[0].strip(".,;:") if v.span.text else ""
    return field_from_spans(name, [v.span], value=token, valid=bool(token))


def _row_field(row: str, who: str, words: list[Word]) -> dict[str, FieldValue]:
    text = _text(words)
    if row == "name":
        return {f"{who}_name": make_field(f"{who}_name", text, words)}
    if row == "dob":
        found = find_date(text)
        value = found[0] if found else text
        return {f"{who}_dob": make_field(f"{who}_dob", value, words, valid=found is not None)}
    if row == "ethnicity":
        value = text[:1].upper() + text[1:]
        return {f"{who}_ethnicity": make_field(f"{who}_ethnicity", value, words)}
    if row == "nationality":
        match = canonical(text, NATIONALITIES, 0.75)
        value = match[0] if match else text
        return {f"{who}_nationality": make_field(f"{who}_nationality", value, words, valid=match is not None)}
    if row == "residence":
        return {f"{who}_residence": make_field(f"{who}_residence", text, words)}
    number, ok = normalize_id(text)
    if not re.fullmatch(r"\d+", number or "x") and not fold(text).strip():
        return {}
    return {f"{who}_id": make_field(f"{who}_id", number, words, valid=ok)}


EXTRACTOR = Extractor(
    doc_type="marriage_certificate",
    field_names=(
        *(
            f"{who}_{f}"
            for who in ("husband", "wife")
            for f in ("name", "dob", "ethnicity", "nationality", "residence", "id")
        ),
        "registration_place",
        "registration_date",
        "book_number",
        "book_volume",
    ),
    run=extract_marriage_certificate,
)
