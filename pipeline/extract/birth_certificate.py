"""Giấy khai sinh: one label per line (some lines carry two or three), the child first."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from pipeline.extract.base import Extractor
from pipeline.extract.common import (
    NATIONALITIES,
    SEXES,
    Label,
    LabelledValue,
    TextLine,
    continuation,
    date_field,
    field_from_spans,
    find_date,
    first,
    label_values,
    normalize_id,
    vocabulary_field,
)
from pipeline.extract.vnwords import match_date_words
from pipeline.models import FieldValue

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

_FIRST_TOKEN = re.compile(r"\S+")


def first_token(v: LabelledValue, name: str) -> FieldValue:
    m = _FIRST_TOKEN.search(v.span.text)
    value = m.group(0).strip(".,;:") if m else ""
    return field_from_spans(name, [v.span], value=value, valid=bool(value))


# Two readings of the same date that agree: each confirms the other.
AGREED_CONFIDENCE = 0.97
DISAGREE_PENALTY = 0.5


def _cross_check_date_words(out: dict[str, FieldValue]) -> None:
    """The date in words must say the date in digits: correct its tone marks, or flag both."""
    words, digits = out.get("date_of_birth_in_words"), out.get("date_of_birth")
    if words is None or digits is None or not words.value:
        return
    spelled = match_date_words(words.value, digits.value) if find_date(digits.value) else None
    if spelled is not None:
        confidence = max(words.confidence, AGREED_CONFIDENCE)
        out["date_of_birth_in_words"] = replace(words, value=spelled, confidence=confidence)
        out["date_of_birth"] = replace(digits, confidence=max(digits.confidence, AGREED_CONFIDENCE))
        return
    log.info("date of birth in words %r does not say %s", words.value, digits.value)
    out["date_of_birth_in_words"] = replace(words, confidence=round(words.confidence * DISAGREE_PENALTY, 3))
    out["date_of_birth"] = replace(digits, confidence=round(digits.confidence * DISAGREE_PENALTY, 3))


def extract_birth_certificate(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    out: dict[str, FieldValue] = {}
    mother = first(values, "mother_name")
    child_end = mother.hit.line.index if mother else None

    def child(key: str) -> LabelledValue | None:
        return first(values, key, before=child_end)

    if v := child("book_number"):
        out["book_number"] = first_token(v, "book_number")
    if v := child("book_volume"):
        out["book_volume"] = first_token(v, "book_volume")
    for key in ("full_name", "place_of_birth", "place_of_origin"):
        if v := child(key):
            spans = continuation(lines, v.span, LABELS) if key != "full_name" else [v.span]
            out[key] = field_from_spans(key, spans)
    if v := child("date_of_birth"):
        if f := date_field("date_of_birth", [v.span]):
            out["date_of_birth"] = f
    if v := child("date_of_birth_in_words"):
        spans = continuation(lines, v.span, LABELS, max_lines=1)
        out["date_of_birth_in_words"] = field_from_spans("date_of_birth_in_words", spans)
        _cross_check_date_words(out)
    if v := child("sex"):
        out["sex"] = vocabulary_field("sex", v.span, SEXES)
    if v := child("ethnicity"):
        eth = v.span.text
        out["ethnicity"] = field_from_spans("ethnicity", [v.span], value=eth[:1].upper() + eth[1:])
    if v := child("nationality"):
        out["nationality"] = vocabulary_field("nationality", v.span, NATIONALITIES, min_similarity=0.75)
    if v := child("personal_id"):
        number, ok = normalize_id(v.span.text)
        out["personal_id"] = field_from_spans("personal_id", [v.span], value=number, valid=ok)
    for key in ("mother_name", "father_name"):
        if v := first(values, key):
            out[key] = field_from_spans(key, [v.span])
    if v := first(values, "registration_place"):
        out["registration_place"] = field_from_spans("registration_place", continuation(lines, v.span, LABELS))
    if (v := first(values, "registration_date")) and (f := date_field("registration_date", [v.span])):
        out["registration_date"] = f
    return out


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
