"""How sure a field is: the factors a repair, an oddity or a disagreement takes off, and the raise a
confirmation gives. One scale for every document type, so that a clerk's review threshold means
the same on each.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.models import FieldValue

# Confidence multiplier when a value fails its validator (not a 12-digit ID, not a real date...).
INVALID_PENALTY = 0.4
REPAIRED = 0.8  # the value needed a repair (junk dropped, glued words split, marks snapped)
UNUSUAL = 0.8  # the value is not of the expected shape but may be right (an unlisted ethnicity, no Vietnamese syllable)
DISAGREE = 0.6  # two readings of the same fact disagree (ID vs date of birth, book vs date)
# A value another reading confirms (the name under the signature, the ID's birth year) or that is
# exactly an entry of a closed vocabulary: Tesseract's own word confidence on a faded scan is low
# even for words it reads right.
CONFIRMED = 0.9


def penalise(out: dict[str, FieldValue], name: str, factor: float) -> None:
    """Lower a field a check doubts (a value that is empty stays at its confidence, 0)."""
    if (f := out.get(name)) and f.value:
        out[name] = replace(f, confidence=round(f.confidence * factor, 3))


def confirm(out: dict[str, FieldValue], name: str, independent: bool = False) -> None:
    """Raise a field another reading agrees with; ``independent``: that reading is not the OCR's
    reading of the same words printed again (the ID's digits, the date in words), so a second
    OCR opinion has nothing to add."""
    if (f := out.get(name)) and f.value:
        out[name] = replace(f, confidence=max(f.confidence, CONFIRMED), confirmed=f.confirmed or independent)
