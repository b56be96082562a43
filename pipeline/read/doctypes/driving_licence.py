"""Giấy phép lái xe (driving licence card, bilingual): number, holder, date of birth, nationality,
residence, class and expiry.
"""

from __future__ import annotations

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.text.labelled import LabelledField, read_labelled
from pipeline.read.text.lines import Label, TextLine

SPECS = (
    LabelledField("licence_number", Label("licence_number", ("Số / No:", "Số/No:", "No:"), line_start=True)),
    LabelledField("full_name", Label("full_name", ("Họ tên / Full name:", "Họ tên:", "Full name:"))),
    LabelledField("date_of_birth", Label("date_of_birth", ("Ngày sinh / Date of birth:", "Ngày sinh:",
                                                           "Date of birth:")), date=True),
    LabelledField("nationality", Label("nationality", ("Quốc tịch / Nationality:", "Quốc tịch:", "Nationality:"))),
    LabelledField("address", Label("address", ("Nơi cư trú / Address:", "Nơi cư trú:", "Address:"))),
    LabelledField("licence_class", Label("licence_class", ("Hạng / Class:", "Hạng:", "Class:"))),
    LabelledField("expiry_date", Label("expiry_date", ("Có giá trị đến / Expires:", "Có giá trị đến:", "Expires:")),
                  date=True),
)  # fmt: skip


def extract_driving_licence(lines: list[TextLine]) -> dict[str, FieldValue]:
    return read_labelled(lines, SPECS)


DOCTYPE = DocType(
    name="driving_licence",
    label_vi="Giấy phép lái xe",
    label_en="Driving licence",
    fields=(
        Field("licence_number", "Số", "Licence number"),
        Field("full_name", "Họ tên", "Full name"),
        Field("date_of_birth", "Ngày sinh", "Date of birth"),
        Field("nationality", "Quốc tịch", "Nationality"),
        Field("address", "Nơi cư trú", "Address"),
        Field("licence_class", "Hạng", "Class"),
        Field("expiry_date", "Có giá trị đến", "Expiry date"),
    ),
    holder_fields=("full_name",),
    cues=(
        Cue("GIẤY PHÉP LÁI XE", 3.0, whole_line=True),
        Cue("DRIVER'S LICENSE", 2.0, whole_line=True),
        Cue("DRIVING LICENCE", 2.0, whole_line=True),
        Cue("Hạng / Class", 1.5),
        Cue("Ngày trúng tuyển", 1.0),
        Cue("Beginning date", 1.0),
    ),
    extractor=Extractor(run=extract_driving_licence),
)
