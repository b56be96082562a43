"""Fields printed as "Label: value" (a form, a card): the value after its label, or on the next line
when the label ends its line. A first reading for the catalogue's newer types; each type checks
its values (dates, IDs, the machine-readable zone) on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.models import FieldValue
from pipeline.read.text.dates import date_value
from pipeline.read.text.lines import Label, Span, TextLine, field_from_spans, label_values, line_has_label


@dataclass(frozen=True)
class LabelledField:
    """A field read after a label; ``date``: a dd/mm/yyyy date."""

    name: str
    label: Label
    date: bool = False


def _value_or_next_line(lines: Sequence[TextLine], span: Span, labels: Sequence[Label]) -> Span:
    if span.text:
        return span
    nxt = next((ln for ln in lines if ln.index == span.line.index + 1), None)
    if nxt is None or line_has_label(nxt, labels):
        return span
    return nxt.span(0, len(nxt.text)).stripped()


def read_labelled(lines: Sequence[TextLine], specs: Sequence[LabelledField]) -> dict[str, FieldValue]:
    """The first value of each spec's label found, read as its kind; fields not found are left out."""
    labels = [s.label for s in specs]
    found = label_values(lines, labels)
    out: dict[str, FieldValue] = {}
    for spec in specs:
        hit = next((v for v in found if v.hit.label.key == spec.label.key), None)
        if hit is None:
            continue
        span = _value_or_next_line(lines, hit.span, labels)
        if not span.text:
            continue
        f = date_value(spec.name, span) if spec.date else field_from_spans(spec.name, [span])
        if f is not None:
            out[spec.name] = f
    return out
