"""Hộ chiếu, the data page: printed particulars and the machine-readable zone (ICAO TD3, two
lines of 44). The zone's numbers carry check digits: a field whose digit fails is held below the
review threshold; the printed name is checked against the zone's (which has no diacritics).
"""

from __future__ import annotations

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.mrz_zone import refine_zone
from pipeline.read.text.confidence import DISAGREE, penalise
from pipeline.read.text.labelled import LabelledField, read_labelled
from pipeline.read.text.lines import Label, TextLine, fold
from pipeline.read.text.mrz import find_zone, zone_field

SPECS = (
    LabelledField("full_name", Label("full_name", ("Họ và tên / Full name:", "Họ và tên:", "Full name:"))),
    LabelledField("place_of_birth", Label("place_of_birth", ("Nơi sinh / Place of birth:", "Nơi sinh:",
                                                             "Place of birth:"))),
    LabelledField("issue_date", Label("issue_date", ("Ngày cấp / Date of issue:", "Ngày cấp:", "Date of issue:")),
                  date=True),
)  # fmt: skip


def extract_passport(lines: list[TextLine]) -> dict[str, FieldValue]:
    out = read_labelled(lines, SPECS)
    zone = find_zone(lines)
    if zone is None or zone.kind != "TD3":
        return out
    out["passport_number"] = zone_field("passport_number", zone.document_number, zone.document_number_ok, zone, 1)
    out["date_of_birth"] = zone_field("date_of_birth", zone.date_of_birth, zone.date_of_birth_ok, zone, 1)
    out["sex"] = zone_field("sex", zone.sex, bool(zone.sex), zone, 1)
    out["nationality"] = zone_field("nationality", zone.nationality, len(zone.nationality) == 3, zone, 1)
    out["expiry_date"] = zone_field("expiry_date", zone.expiry_date, zone.expiry_date_ok, zone, 1)
    if zone.optional:
        out["personal_id"] = zone_field("personal_id", zone.optional, zone.optional_ok, zone, 1)
    printed = out.get("full_name")
    if printed is None:
        out["full_name"] = zone_field("full_name", zone.name, bool(zone.name), zone, 0)
        penalise(out, "full_name", DISAGREE)  # no diacritics: the clerk writes the name as printed
    elif " ".join(fold(printed.value).upper().split()) != zone.name:  # the same letters: the marks unchecked
        penalise(out, "full_name", DISAGREE)
    return out


DOCTYPE = DocType(
    name="passport",
    label_vi="Hộ chiếu",
    label_en="Passport",
    fields=(
        Field("passport_number", "Số hộ chiếu", "Passport number"),
        Field("full_name", "Họ và tên", "Full name"),
        Field("date_of_birth", "Ngày sinh", "Date of birth"),
        Field("sex", "Giới tính", "Sex"),
        Field("nationality", "Quốc tịch", "Nationality"),
        Field("place_of_birth", "Nơi sinh", "Place of birth"),
        Field("personal_id", "Số định danh", "Personal number"),
        Field("issue_date", "Ngày cấp", "Date of issue"),
        Field("expiry_date", "Có giá trị đến", "Date of expiry"),
    ),
    holder_fields=("full_name",),
    cues=(
        Cue("HỘ CHIẾU", 3.0, whole_line=True),
        Cue("PASSPORT", 1.5),
        Cue("Số hộ chiếu", 1.5),
        Cue("Passport No", 1.0),
        Cue(r"^\W{0,2}p\W{0,2}[<«k(]{0,2}\W{0,2}vnm", 2.0, pattern=True),  # the zone's first line
    ),
    extractor=Extractor(run=extract_passport, refine=refine_zone),
)
