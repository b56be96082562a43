"""Bảng điểm (a university or college transcript: "BẢNG ĐIỂM TOÀN KHÓA", "BẢNG ĐIỂM HỌC TẬP"):
the student, the programme, and a table of course units with credits and marks.

Only the student's particulars are read; the marks table is carried by the copy's text layer.
A school record book (học bạ) is its own type, ``school_record``: a different legal title.
"""

from __future__ import annotations

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.text.labelled import LabelledField, read_labelled
from pipeline.read.text.lines import Label, TextLine

SPECS = (
    LabelledField("full_name", Label("full_name", ("Họ và tên sinh viên:", "Họ và tên:", "Họ tên:"))),
    LabelledField("student_id", Label("student_id", ("Mã sinh viên:", "Mã số sinh viên:", "MSSV:"))),
    LabelledField("date_of_birth", Label("date_of_birth", ("Ngày sinh:",)), date=True),
    LabelledField("programme", Label("programme", ("Ngành đào tạo:", "Ngành:", "Chuyên ngành:"))),
)


def extract_transcript(lines: list[TextLine]) -> dict[str, FieldValue]:
    return read_labelled(lines, SPECS)


DOCTYPE = DocType(
    name="transcript",
    label_vi="Bảng điểm",
    label_en="Academic transcript",
    fields=(
        Field("full_name", "Họ và tên", "Full name"),
        Field("student_id", "Mã sinh viên", "Student ID"),
        Field("date_of_birth", "Ngày sinh", "Date of birth"),
        Field("programme", "Ngành đào tạo", "Programme"),
    ),
    holder_fields=("full_name",),
    cues=(
        Cue("BẢNG ĐIỂM", 3.0, whole_line=True),
        Cue("BẢNG ĐIỂM TOÀN KHÓA", 3.0, whole_line=True),
        Cue("BẢNG ĐIỂM HỌC TẬP", 3.0, whole_line=True),
        Cue("Mã sinh viên", 1.0),
        Cue("Học phần", 1.0),
        Cue("Số tín chỉ", 1.0),
        Cue("Điểm trung bình tích lũy", 1.0),
    ),
    extractor=Extractor(run=extract_transcript),
)
