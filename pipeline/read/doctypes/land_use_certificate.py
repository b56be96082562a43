"""Giấy chứng nhận quyền sử dụng đất (the "red book"; since 2009 "..., quyền sở hữu nhà ở và tài sản
khác gắn liền với đất"): the holder, then the parcel (thửa đất số, tờ bản đồ số, address, area,
use, term, origin).

The parcel's particulars are read; the holder's line ("Ông: ... Bà: ...") and the plan are carried
by the copy's text layer.
"""

from __future__ import annotations

from pipeline.models import FieldValue
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.text.labelled import LabelledField, read_labelled
from pipeline.read.text.lines import Label, TextLine

SPECS = (
    LabelledField("parcel_number", Label("parcel_number", ("Thửa đất số:",))),
    LabelledField("map_sheet", Label("map_sheet", ("Tờ bản đồ số:",))),
    LabelledField("address", Label("address", ("Địa chỉ:",))),
    LabelledField("area", Label("area", ("Diện tích:",))),
    LabelledField("land_use_purpose", Label("land_use_purpose", ("Mục đích sử dụng:",))),
    LabelledField("land_use_term", Label("land_use_term", ("Thời hạn sử dụng:",))),
)


def extract_land_use(lines: list[TextLine]) -> dict[str, FieldValue]:
    return read_labelled(lines, SPECS)


DOCTYPE = DocType(
    name="land_use_certificate",
    label_vi="Giấy chứng nhận quyền sử dụng đất",
    label_en="Land use right certificate",
    fields=(
        Field("parcel_number", "Thửa đất số", "Parcel number"),
        Field("map_sheet", "Tờ bản đồ số", "Map sheet number"),
        Field("address", "Địa chỉ", "Address"),
        Field("area", "Diện tích", "Area"),
        Field("land_use_purpose", "Mục đích sử dụng", "Purpose of use"),
        Field("land_use_term", "Thời hạn sử dụng", "Term of use"),
    ),
    cues=(
        Cue("QUYỀN SỬ DỤNG ĐẤT", 2.5, capitals=True),  # the title; the words in running text are not
        Cue("TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT", 1.0, capitals=True),
        Cue("Thửa đất số", 1.5),
        Cue("Tờ bản đồ số", 1.5),
        Cue("Mục đích sử dụng", 1.0),
        Cue("Thời hạn sử dụng", 1.0),
        Cue("Nguồn gốc sử dụng", 1.0),
    ),
    extractor=Extractor(run=extract_land_use),
)
