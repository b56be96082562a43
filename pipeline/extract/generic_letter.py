"""Công văn (official letter): the standard header block (Nghị định 30/2020 layout).

Left header: parent body, issuing body, "Số: …", "V/v …" (subject); right header: national
motto, "<place>, ngày … tháng … năm …"; then "Kính gửi: …"; the signer's name closes the letter.
"""

from __future__ import annotations

import logging
import re

from pipeline.extract.base import Extractor
from pipeline.extract.common import (
    Label,
    Span,
    TextLine,
    collapse,
    field_from_spans,
    find_fuzzy,
    find_written_date,
    first,
    fold,
    label_values,
)
from pipeline.models import FieldValue, Word

log = logging.getLogger(__name__)

LABELS: tuple[Label, ...] = (
    Label("motto_1", ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",)),
    Label("motto_2", ("Độc lập - Tự do - Hạnh phúc",)),
    Label("doc_number", ("Số:",), line_start=True),
    Label("subject", ("V/v",)),
    Label("recipient", ("Kính gửi:",)),
    Label("cc", ("Nơi nhận:",)),
)
_NAME_WORD = re.compile(r"^[A-ZĐÀ-Ỹ][a-zà-ỹđ]+$")


def _before(ln: TextLine, end: int) -> Span:
    return ln.span(0, end).stripped()


def extract_generic_letter(lines: list[TextLine]) -> dict[str, FieldValue]:
    values = label_values(lines, LABELS)
    out: dict[str, FieldValue] = {}
    first_page = [ln for ln in lines if ln.page == (lines[0].page if lines else 0)]

    if (m1 := first(values, "motto_1")) and m1.hit.start > 0:
        span = _before(m1.hit.line, m1.hit.start)
        out["parent_org"] = field_from_spans("parent_org", [span], value=span.text.upper())
    if (m2 := first(values, "motto_2")) and m2.hit.start > 0:
        span = _before(m2.hit.line, m2.hit.start)
        out["issuing_org"] = field_from_spans("issuing_org", [span], value=span.text.upper())

    if v := first(values, "doc_number"):
        token = v.span.text.split(" ")[0].rstrip(".,;") if v.span.text else ""
        out["doc_number"] = field_from_spans("doc_number", [v.span], value=token, valid="/" in token)
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
            out["issue_place"] = field_from_spans("issue_place", [span])
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
        text = "V/v " + collapse(" ".join(s.text for s in spans))
        out["subject"] = field_from_spans("subject", spans, value=text.strip())
    if recipient:
        out["recipient"] = field_from_spans("recipient", [recipient.span])

    out.update(_signer(lines))
    return out


def _signer(lines: list[TextLine]) -> dict[str, FieldValue]:
    """The last line of the letter that reads as a person's name (2-5 capitalised words)."""
    last_page = [ln for ln in lines if ln.page == lines[-1].page] if lines else []
    for ln in reversed(last_page[-8:]):
        words = [w for w in ln.words if w.text not in ("-",)]
        # a signature block shares its line with the "Nơi nhận" list on the left: take the right end
        tail: list[Word] = []
        for w in reversed(words):
            if _NAME_WORD.match(w.text):
                tail.insert(0, w)
            else:
                break
        if 2 <= len(tail) <= 5 and not find_fuzzy(fold(" ".join(w.text for w in tail)), "luu"):
            start = ln.starts[ln.words.index(tail[0])]
            span = ln.span(start, len(ln.text))
            return {"signer_name": field_from_spans("signer_name", [span])}
    return {}


EXTRACTOR = Extractor(
    doc_type="generic_letter",
    field_names=(
        "parent_org",
        "issuing_org",
        "doc_number",
        "issue_place",
        "issue_date",
        "subject",
        "recipient",
        "signer_name",
    ),
    run=extract_generic_letter,
)
