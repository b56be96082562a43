"""Học bạ (a pupil's school record book, "HỌC BẠ TRUNG HỌC PHỔ THÔNG"): the pupil's particulars
and, per school year, marks by subject, conduct (hạnh kiểm) and standing (học lực).

Only the pupil's particulars are read; the yearly tables are carried by the copy's text layer.
"""

from __future__ import annotations

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.text.labelled import LabelledField, read_labelled
from pipeline.read.text.lines import Label, TextLine

SPECS = (
    LabelledField("full_name", Label("full_name", ("Họ và tên học sinh:", "Họ và tên:", "Họ, chữ đệm, tên:"))),
    LabelledField("date_of_birth", Label("date_of_birth", ("Ngày sinh:",)), date=True),
    LabelledField("place_of_birth", Label("place_of_birth", ("Nơi sinh:",))),
    LabelledField("school", Label("school", ("Trường:", "Học sinh trường:"))),
)


def extract_school_record(lines: list[TextLine]) -> dict[str, FieldValue]:
    return read_labelled(lines, SPECS)


DOCTYPE = DocType(
    name="school_record",
    label_vi="Học bạ",
    label_en="School record (học bạ)",
    fields=(
        Field("full_name", "Họ và tên", "Full name"),
        Field("date_of_birth", "Ngày sinh", "Date of birth"),
        Field("place_of_birth", "Nơi sinh", "Place of birth"),
        Field("school", "Trường", "School"),
    ),
    holder_fields=("full_name",),
    cues=(
        Cue("HỌC BẠ", 3.0, whole_line=True),
        Cue("HỌC BẠ TRUNG HỌC PHỔ THÔNG", 3.0, whole_line=True),
        Cue("HỌC BẠ TRUNG HỌC CƠ SỞ", 3.0, whole_line=True),
        Cue("Hạnh kiểm", 1.0),
        Cue("Học lực", 1.0),
        Cue("Môn học", 1.0),
        Cue("Điểm trung bình các môn", 1.0),
    ),
    extractor=Extractor(run=extract_school_record),
)
