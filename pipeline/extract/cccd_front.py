"""Căn cước công dân, front: bilingual labels; name and place of origin on the line below."""

from __future__ import annotations

import logging

from pipeline.extract.base import Extractor
from pipeline.extract.common import (
    NATIONALITIES,
    SEXES,
    Label,
    Span,
    TextLine,
    continuation,
    date_field,
    field_from_spans,
    find_date,
    find_fuzzy,
    first,
    fold,
    label_values,
    line_has_label,
    normalize_id,
    vocabulary_field,
)
from pipeline.models import FieldValue

log = logging.getLogger(__name__)

LABELS: tuple[Label, ...] = (
    Label("id_number", ("Số / No.:", "Số/No.", "No.:")),
    Label("full_name", ("Họ và tên / Full name:", "Họ và tên:", "Full name:", "Họ, chữ đệm và tên khai sinh")),
    Label("date_of_birth", ("Ngày sinh / Date of birth:", "Ngày sinh:", "Date of birth:")),
    Label("sex", ("Giới tính / Sex:", "Giới tính:", "Sex:")),
    Label("nationality", ("Quốc tịch / Nationality:", "Quốc tịch:", "Nationality:")),
    Label("place_of_origin", ("Quê quán / Place of origin:", "Quê quán:", "Place of origin:")),
    Label(
        "place_of_residence",
        ("Nơi thường trú / Place of residence:", "Nơi thường trú:", "Place of residence:", "Nơi cư trú:"),
    ),
    Label("expiry_date", ("Có giá trị đến:", "Date of expiry")),
    Label("header", ("Citizen Identity Card", "CĂN CƯỚC CÔNG DÂN", "SOCIALIST REPUBLIC OF VIET NAM")),
)

NO_EXPIRY = "Không thời hạn"


def _value_or_next_line(lines: list[TextLine], span: Span) -> Span:
    """The value after the label, or the whole next line when the label ends its line."""
    if span.text:
        return span
    nxt = next((ln for ln in lines if ln.index == span.line.index + 1), None)
    if nxt is None or line_has_label(nxt, LABELS):
        return span
    return nxt.span(0, len(nxt.text)).stripped()


def _strip_expiry(span: Span) -> Span:
    """A residence continuation line can start with the expiry date printed in the left column."""
    text = span.line.text[span.start : span.end]
    found = find_date(text)
    if found and found[1] <= 1:
        return span.line.span(span.start + found[2], span.end).stripped()
    hit = find_fuzzy(fold(text), fold(NO_EXPIRY))
    if hit and hit[0] <= 1:
        return span.line.span(span.start + hit[1], span.end).stripped()
    return span


def extract_cccd_front(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    out: dict[str, FieldValue] = {}

    if v := first(values, "id_number"):
        number, ok = normalize_id(v.span.text)
        out["id_number"] = field_from_spans("id_number", [v.span], value=number, valid=ok)
    if "id_number" not in out or not out["id_number"].value:
        for ln in lines:  # label lost: the only 12-digit number on the card
            number, ok = normalize_id(ln.text)
            if ok:
                out["id_number"] = field_from_spans("id_number", [ln.span(0, len(ln.text))], value=number)
                break
    if v := first(values, "full_name"):
        span = _value_or_next_line(lines, v.span)
        out["full_name"] = field_from_spans("full_name", [span], value=span.text.upper())
    if (v := first(values, "date_of_birth")) and (f := date_field("date_of_birth", [v.span])):
        out["date_of_birth"] = f
    if v := first(values, "sex"):
        out["sex"] = vocabulary_field("sex", v.span, SEXES)
    if v := first(values, "nationality"):
        out["nationality"] = vocabulary_field("nationality", v.span, NATIONALITIES, min_similarity=0.75)
    if v := first(values, "place_of_origin"):
        span = _value_or_next_line(lines, v.span)
        out["place_of_origin"] = field_from_spans("place_of_origin", [span])
    if v := first(values, "place_of_residence"):
        spans = continuation(lines, _value_or_next_line(lines, v.span), LABELS, clean=_strip_expiry)
        out["place_of_residence"] = field_from_spans("place_of_residence", [s for s in spans if s.text])
    if v := first(values, "expiry_date"):
        out.update(_expiry(lines, v.hit.line.index))
    return out


def _expiry(lines: list[TextLine], from_line: int) -> dict[str, FieldValue]:
    for ln in lines[from_line : from_line + 4]:
        hit = find_fuzzy(ln.folded, fold(NO_EXPIRY))
        if hit:
            span = ln.span(hit[0], hit[1])
            return {"expiry_date": field_from_spans("expiry_date", [span], value=NO_EXPIRY)}
        found = find_date(ln.text)
        if found:
            span = ln.span(found[1], found[2])
            return {"expiry_date": field_from_spans("expiry_date", [span], value=found[0])}
    return {}


EXTRACTOR = Extractor(
    doc_type="cccd_front",
    field_names=(
        "id_number",
        "full_name",
        "date_of_birth",
        "sex",
        "nationality",
        "place_of_origin",
        "place_of_residence",
        "expiry_date",
    ),
    run=extract_cccd_front,
)
