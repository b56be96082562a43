"""Căn cước (2024), back: place of residence, place of birth registration, issue and expiry dates,
the issuing authority (Bộ Công an) and the machine-readable zone (ICAO TD1), checked against the
front when the two come together (the two-sided ``can_cuoc``).
"""

from __future__ import annotations

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import CARD_MRZ_FIELDS, Cue, DocType, Extractor, Field
from pipeline.read.mrz_zone import refine_zone
from pipeline.read.text.labelled import LabelledField, read_labelled
from pipeline.read.text.lines import Label, TextLine, find_fuzzy
from pipeline.read.text.mrz import card_zone_fields, find_zone

SPECS = (
    LabelledField("place_of_residence", Label("place_of_residence", ("Nơi cư trú / Place of residence:",
                                                                     "Nơi cư trú:", "Place of residence:"))),
    LabelledField("place_of_birth", Label("place_of_birth", ("Nơi đăng ký khai sinh / Place of birth:",
                                                             "Nơi đăng ký khai sinh:", "Place of birth:"))),
    LabelledField("issue_date", Label("issue_date", ("Ngày, tháng, năm cấp / Date of issue:",
                                                     "Ngày, tháng, năm cấp:", "Date of issue:")), date=True),
    LabelledField("expiry_date", Label("expiry_date", ("Ngày, tháng, năm hết hạn / Date of expiry:",
                                                       "Ngày, tháng, năm hết hạn:", "Date of expiry:")), date=True),
)  # fmt: skip

AUTHORITY = "BỘ CÔNG AN"


def is_back(lines: list[TextLine]) -> bool:
    """A page of the card's back: its zone, or its residence and birth-registration labels."""
    return find_zone(lines) is not None or any(
        find_fuzzy(ln.folded, p) for ln in lines for p in ("noi dang ky khai sinh", "ministry of public security")
    )


def extract_can_cuoc_back(lines: list[TextLine]) -> dict[str, FieldValue]:
    out = read_labelled(lines, SPECS)
    for ln in lines:
        if find_fuzzy(ln.folded, "bo cong an") or find_fuzzy(ln.folded, "ministry of public security"):
            conf = sum(w.confidence for w in ln.words) / len(ln.words) if ln.words else 0.0
            out["issuing_authority"] = FieldValue("issuing_authority", AUTHORITY, round(conf, 3), ln.page)
            break
    zone = find_zone(lines)
    if zone is not None:
        out.update(card_zone_fields(zone))
    return out


DOCTYPE = DocType(
    name="can_cuoc_back",
    label_vi="Căn cước (mặt sau)",
    label_en="Identity card (back)",
    fields=(
        Field("place_of_residence", "Nơi cư trú", "Place of residence"),
        Field("place_of_birth", "Nơi đăng ký khai sinh", "Place of birth registration"),
        Field("issue_date", "Ngày, tháng, năm cấp", "Date of issue"),
        Field("expiry_date", "Ngày, tháng, năm hết hạn", "Date of expiry"),
        Field("issuing_authority", "Cơ quan cấp", "Issuing authority"),
        *CARD_MRZ_FIELDS,
    ),
    holder_fields=("mrz_name",),
    cues=(
        # "Nơi cư trú", "Ngày, tháng, năm cấp" are on birth and marriage certificates too: no cue
        Cue("Nơi đăng ký khai sinh", 0.5),
        Cue("Place of birth", 0.5),
        Cue("Ngày, tháng, năm hết hạn", 1.5),
        Cue("BỘ CÔNG AN", 1.0),
        Cue("MINISTRY OF PUBLIC SECURITY", 1.5),
        Cue(r"^\W{0,2}id\s?vnm", 2.0, pattern=True),
    ),
    extractor=Extractor(run=extract_can_cuoc_back, refine=refine_zone),
)
