"""Server-rendered Vietnamese pages. Small on purpose: a verdict a non-engineer reads in a second."""

from __future__ import annotations

import datetime as dt
from html import escape

from pipeline.models import DOC_TYPE_LABELS_VI, VN_TZ, Verdict

VERDICT_LABELS = {
    "valid": ("HỢP LỆ", "Bản sao điện tử này do cơ quan có thẩm quyền cấp và chưa bị thay đổi.", "#0a7d32"),
    "revoked": ("ĐÃ BỊ THU HỒI", "Bản sao này đã bị thu hồi hoặc thay thế. Không sử dụng.", "#b35c00"),
    "altered": ("ĐÃ BỊ THAY ĐỔI", "Tệp này khác với bản đã cấp. Không chấp nhận; yêu cầu bản đúng.", "#b00020"),
    "unknown": ("KHÔNG TÌM THẤY", "Không có bản sao nào được cấp khớp với thông tin này.", "#555555"),
}
STATUS_LABELS = {"issued": "Đang có hiệu lực", "revoked": "Đã thu hồi", "superseded": "Đã được thay thế"}

_STYLE = """
body{font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif;max-width:720px;margin:2em auto;padding:0 1em;color:#222}
.verdict{border-radius:8px;padding:1em 1.2em;color:#fff;margin:1em 0}
.verdict h2{margin:0 0 .3em 0;font-size:1.6em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.4em 1em}
dt{font-weight:bold} form{margin:1em 0;padding:1em;border:1px solid #ccc;border-radius:8px}
input[type=text]{font-size:1.1em;width:20em;padding:.3em} button{font-size:1.05em;padding:.3em 1em}
ul.reasons{color:#444} footer{margin-top:2em;color:#777;font-size:.9em}
"""


def _date(d: dt.datetime | dt.date) -> str:
    if isinstance(d, dt.datetime) and d.tzinfo is not None:
        d = d.astimezone(VN_TZ)
    return d.strftime("%d/%m/%Y")


def layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Kiểm tra bản sao điện tử</h1>{body}"
        "<footer>ecopy — hệ thống cấp và kiểm tra bản sao chứng thực điện tử.</footer></body></html>"
    )


def lookup_forms(prefill: str = "") -> str:
    return (
        "<form method='get' action='/v'><label>Nhập mã bản sao (in dưới mã QR):<br>"
        f"<input type='text' name='id' value='{escape(prefill)}' placeholder='XXXX-XXXX-XXXX-XXXX-X' "
        "autocomplete='off'></label> <button type='submit'>Kiểm tra</button></form>"
        "<form method='post' action='/v' enctype='multipart/form-data'>"
        "<label>Hoặc tải lên tệp PDF bản sao điện tử:<br><input type='file' name='file' accept='application/pdf'>"
        "</label> <button type='submit'>Kiểm tra tệp</button></form>"
    )


def verdict_page(v: Verdict, *, queried: str = "") -> str:
    label, explanation, colour = VERDICT_LABELS[v.status]
    parts = [f"<div class='verdict' style='background:{colour}'><h2>{label}</h2>{escape(explanation)}</div>"]
    if v.record is not None:
        r = v.record
        parts.append(
            "<dl>"
            f"<dt>Mã bản sao</dt><dd>{escape(r.ecopy_id)}</dd>"
            f"<dt>Loại giấy tờ</dt><dd>{escape(DOC_TYPE_LABELS_VI.get(r.doc_type, r.doc_type))}</dd>"
            f"<dt>Cơ quan chứng thực</dt><dd>{escape(r.office)}</dd>"
            f"<dt>Ngày cấp</dt><dd>{_date(r.issued_at)}</dd>"
            f"<dt>Trạng thái</dt><dd>{escape(STATUS_LABELS.get(r.status, r.status))}</dd>"
            "</dl>"
        )
    elif v.ecopy_id or queried:
        parts.append(f"<p>Mã đã kiểm tra: <b>{escape(v.ecopy_id or queried)}</b></p>")
    if v.reasons:
        parts.append("<ul class='reasons'>" + "".join(f"<li>{escape(r)}</li>" for r in v.reasons) + "</ul>")
    parts.append(lookup_forms())
    return layout(f"{label} — kiểm tra bản sao", "".join(parts))


def error_page(message: str) -> str:
    return layout(
        "Lỗi",
        f"<div class='verdict' style='background:#555'><h2>Không kiểm tra được</h2>"
        f"{escape(message)}</div>{lookup_forms()}",
    )
