"""A document outside the catalogue, named by the clerk ("Giấy tờ khác").

Never chosen by classification (no cues): a clerk picks it and types the document's legal title,
which the certification statement then carries (``title_from_clerk``). No fields are read; the
copy still gets its page count and text layer.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import DocType, Extractor
from pipeline.read.text.lines import TextLine


def extract_nothing(lines: list[TextLine]) -> Mapping[str, FieldValue]:
    """No fields: what such a document says is for the clerk to read, not for ecopy to guess."""
    return {}


DOCTYPE = DocType(
    name="other",
    label_vi="Giấy tờ khác",
    label_en="Other document",
    fields=(),
    cues=(),
    extractor=Extractor(run=extract_nothing),
    title_from_clerk=True,
)
