"""Bằng tốt nghiệp / bằng cử nhân: labelled lines, the issuer after "GIÁM ĐỐC", a written date."""

from __future__ import annotations

import logging
import re

from pipeline.extract.base import Extractor
from pipeline.extract.common import (
    CLASSIFICATIONS,
    SEXES,
    Label,
    TextLine,
    collapse,
    date_field,
    field_from_spans,
    find_written_date,
    first,
    fix_digits,
    label_values,
    vocabulary_field,
)
from pipeline.models import FieldValue

log = logging.getLogger(__name__)

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

_SERIAL = re.compile(r"^([A-Z]{1,3})\s*[-.]?\s*(\d{5,9})$")
_YEAR = re.compile(r"(19|20)\d\d")


def _serial(text: str) -> tuple[str, bool]:
    token = collapse(text.upper())
    parts = token.split(" ")
    if len(parts) >= 2:
        token = parts[0] + " " + fix_digits("".join(parts[1:]))
    m = _SERIAL.match(token)
    if m:
        return f"{m.group(1)} {m.group(2)}", True
    return token, False


def extract_diploma(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    out: dict[str, FieldValue] = {}
    if v := first(values, "serial_number"):
        value, ok = _serial(v.span.text)
        out["serial_number"] = field_from_spans("serial_number", [v.span], value=value, valid=ok)
    if v := first(values, "register_number"):
        token = v.span.text.split(" ")[0] if v.span.text else ""
        value = fix_digits(token.split("/")[0]) + ("/" + token.split("/", 1)[1] if "/" in token else "")
        out["register_number"] = field_from_spans("register_number", [v.span], value=value, valid="/" in value)
    issuers = [v for v in values if v.hit.label.key == "issuer" and len(v.span.text) > 3]
    if issuers:
        out["issuer"] = field_from_spans("issuer", [issuers[0].span], value=issuers[0].span.text.upper())
    for key in ("full_name", "place_of_birth"):
        if v := first(values, key):
            out[key] = field_from_spans(key, [v.span])
    if (v := first(values, "date_of_birth")) and (f := date_field("date_of_birth", [v.span])):
        out["date_of_birth"] = f
    if v := first(values, "sex"):
        out["sex"] = vocabulary_field("sex", v.span, SEXES)
    if v := first(values, "graduation_year"):
        m = _YEAR.search(fix_digits(v.span.text.replace(" ", "")))
        year = m.group(0) if m else v.span.text
        out["graduation_year"] = field_from_spans("graduation_year", [v.span], value=year, valid=m is not None)
    if v := first(values, "classification"):
        out["classification"] = vocabulary_field("classification", v.span, CLASSIFICATIONS, min_similarity=0.6)
    for ln in reversed(lines):  # "Nghệ An, ngày 05 tháng 8 năm 2008" near the signature
        found = find_written_date(ln.text)
        if found:
            span = ln.span(found[1], found[2])
            out["issue_date"] = field_from_spans("issue_date", [span], value=found[0])
            break
    return out


EXTRACTOR = Extractor(
    doc_type="diploma",
    field_names=(
        "full_name",
        "date_of_birth",
        "sex",
        "place_of_birth",
        "graduation_year",
        "classification",
        "issuer",
        "serial_number",
        "register_number",
        "issue_date",
    ),
    run=extract_diploma,
)
