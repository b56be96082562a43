"""Căn cước (the identity card issued from 1 July 2024), front: ID, name, date of birth, sex,
nationality in bilingual labels. No place of origin or residence on this side (they moved to the
back), which tells it from the 2021 ``cccd_front``.
"""

from __future__ import annotations

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.text.confidence import INVALID_PENALTY
from pipeline.read.text.ids import normalize_id
from pipeline.read.text.labelled import LabelledField, read_labelled
from pipeline.read.text.lines import Label, TextLine

SPECS = (
    LabelledField("id_number", Label("id_number", ("Số định danh cá nhân / Personal identification number:",
                                                   "Số định danh cá nhân:", "Personal identification number:"))),
    LabelledField("full_name", Label("full_name", ("Họ, chữ đệm và tên khai sinh / Surname, middle name and "
                                                   "given name:", "Họ, chữ đệm và tên khai sinh:",
                                                   "Surname, middle name and given name:"))),
    LabelledField("date_of_birth", Label("date_of_birth", ("Ngày, tháng, năm sinh / Date of birth:",
                                                           "Ngày, tháng, năm sinh:", "Ngày sinh / Date of birth:",
                                                           "Date of birth:")), date=True),
    LabelledField("sex", Label("sex", ("Giới tính / Sex:", "Giới tính:", "Sex:"))),
    LabelledField("nationality", Label("nationality", ("Quốc tịch / Nationality:", "Quốc tịch:", "Nationality:"))),
)  # fmt: skip


def extract_can_cuoc_front(lines: list[TextLine]) -> dict[str, FieldValue]:
    out = read_labelled(lines, SPECS)
    if "id_number" in out:  # "001090012345": twelve digits, letters read for digits repaired
        f = out["id_number"]
        digits, exact = normalize_id(f.value)
        conf = f.confidence if exact else f.confidence * INVALID_PENALTY
        out["id_number"] = FieldValue(f.name, digits, round(conf, 3), f.page, f.box)
    if "sex" in out:  # "Nam Quốc tịch / Nationality: Việt Nam" read as one line: the first word
        f = out["sex"]
        first_word = f.value.split(" ")[0] if f.value else ""
        out["sex"] = FieldValue(f.name, first_word, f.confidence, f.page, f.box)
    return out


DOCTYPE = DocType(
    name="can_cuoc_front",
    label_vi="Căn cước (mặt trước)",
    label_en="Identity card (front)",
    fields=(
        Field("id_number", "Số định danh cá nhân", "Personal identification number"),
        Field("full_name", "Họ, chữ đệm và tên khai sinh", "Full name"),
        Field("date_of_birth", "Ngày, tháng, năm sinh", "Date of birth"),
        Field("sex", "Giới tính", "Sex"),
        Field("nationality", "Quốc tịch", "Nationality"),
    ),
    holder_fields=("full_name",),
    cues=(
        Cue("CĂN CƯỚC", 2.0, whole_line=True),
        Cue("IDENTITY CARD", 2.0, whole_line=True),
        Cue("Personal identification number", 2.0),
        Cue("Số định danh cá nhân", 0.5),  # a birth certificate's field too
        Cue("Surname, middle name and given name", 2.0),
        Cue("Họ, chữ đệm và tên khai sinh", 0.5),
    ),
    extractor=Extractor(run=extract_can_cuoc_front),
)
