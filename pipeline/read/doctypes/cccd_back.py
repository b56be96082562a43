"""Căn cước công dân, back (the chip card of 2021): fingerprints, personal marks, the issue date,
the issuing authority, and the machine-readable zone (ICAO TD1, three lines of 30).

The zone repeats the front's ID, name (without diacritics) and date of birth, each with a check
digit: read with the front (the two-sided ``cccd``), it is checked against the front's values
(:func:`pipeline.read.text.mrz.check_against_front`).
"""

from __future__ import annotations

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import CARD_MRZ_FIELDS, Cue, DocType, Extractor, Field
from pipeline.read.mrz_zone import refine_zone
from pipeline.read.text.labelled import LabelledField, read_labelled
from pipeline.read.text.lines import Label, TextLine, find_fuzzy
from pipeline.read.text.mrz import card_zone_fields, find_zone

SPECS = (
    LabelledField("personal_marks", Label("personal_marks", ("Đặc điểm nhân dạng / Personal identification:",
                                                             "Đặc điểm nhân dạng:", "Personal identification:"))),
    LabelledField("issue_date", Label("issue_date", ("Ngày, tháng, năm / Date, month, year:",
                                                     "Ngày, tháng, năm:", "Date, month, year:")), date=True),
)  # fmt: skip

AUTHORITY = "CỤC TRƯỞNG CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI"


def _authority(lines: list[TextLine]) -> dict[str, FieldValue]:
    """The issuing authority's title, as printed above the signature (one or two lines)."""
    for ln in lines:
        # printed on one line or two ("CỤC TRƯỞNG CỤC CẢNH SÁT" / "QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI")
        if find_fuzzy(ln.folded, "cuc canh sat") or find_fuzzy(ln.folded, "quan ly hanh chinh ve trat tu"):
            words = list(ln.words)
            conf = sum(w.confidence for w in words) / len(words) if words else 0.0
            return {"issuing_authority": FieldValue("issuing_authority", AUTHORITY, round(conf, 3), ln.page)}
    return {}


def is_back(lines: list[TextLine]) -> bool:
    """A page of a card's back: its zone, or its fingerprint and personal-marks labels."""
    return find_zone(lines) is not None or any(
        find_fuzzy(ln.folded, p) for ln in lines for p in ("dac diem nhan dang", "ngon tro trai", "left index finger")
    )


def extract_cccd_back(lines: list[TextLine]) -> dict[str, FieldValue]:
    out = read_labelled(lines, SPECS)
    out.update(_authority(lines))
    zone = find_zone(lines)
    if zone is not None:
        out.update(card_zone_fields(zone))
    return out


DOCTYPE = DocType(
    name="cccd_back",
    label_vi="Căn cước công dân (mặt sau)",
    label_en="Citizen ID card (back)",
    fields=(
        Field("issue_date", "Ngày, tháng, năm cấp", "Date of issue"),
        Field("issuing_authority", "Cơ quan cấp", "Issuing authority"),
        Field("personal_marks", "Đặc điểm nhân dạng", "Personal identification marks"),
        *CARD_MRZ_FIELDS,
    ),
    holder_fields=("mrz_name",),
    cues=(
        Cue("Đặc điểm nhân dạng", 2.0),
        Cue("Personal identification", 1.0),
        Cue("Ngón trỏ trái", 1.5),
        Cue("Ngón trỏ phải", 1.5),
        Cue("Left index finger", 1.0),
        Cue("Right index finger", 1.0),
        Cue("CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", 1.5),
        Cue(r"^\W{0,2}id\s?vnm", 2.0, pattern=True),  # the zone's first line
    ),
    extractor=Extractor(run=extract_cccd_back, refine=refine_zone),
)
