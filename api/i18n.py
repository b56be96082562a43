"""The words of the web pages, Vietnamese first, English by switch.

One table per kind of word (field, status, role, verdict, page text) so a translator reads them in one place.
Lookups never fail: a missing English string falls back to Vietnamese, a missing key to the key itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

from pipeline.models import VN_TZ, Verdict
from pipeline.read.doctypes import registry as doctypes

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
LANG_COOKIE = "ecopy_lang"


def lang_of(request: Request) -> str:
    """The page language: ``?lang=`` first (the switch link), then the remembered cookie, else Vietnamese."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return DEFAULT_LANG


def _pick(table: Mapping[str, Mapping[str, str]], lang: str, key: str) -> str | None:
    entry = table.get(key)
    if entry is None:
        return None
    return entry.get(lang) or entry.get(DEFAULT_LANG)


# --- Field labels, as printed on the documents -------------------------------------------------------------

# Each type's fields carry their labels (``DocType.fields`` in ``pipeline.read.doctypes``).
_FIELDS_BY_TYPE: dict[tuple[str, str], dict[str, str]] = {
    (doc.name, f.name): {"vi": f.label_vi, "en": f.label_en} for doc in doctypes.DOCTYPES.values() for f in doc.fields
}
# A field named without its type (or under a type that does not have it): the first type's label.
_FIELDS: dict[str, dict[str, str]] = {}
for (_, _name), _label in _FIELDS_BY_TYPE.items():
    _FIELDS.setdefault(_name, _label)


def field_label(lang: str, name: str, doc_type: str | None = None) -> str:
    """The label of an extracted field as the document prints it; ``doc_type`` picks a type's own wording."""
    if doc_type is not None and (entry := _FIELDS_BY_TYPE.get((doc_type, name))):
        return entry.get(lang) or entry[DEFAULT_LANG]
    return _pick(_FIELDS, lang, name) or name


# --- Statuses, roles, document types, verdicts ---------------------------------------------------------------

_INTAKE_STATUSES: dict[str, dict[str, str]] = {
    "received": {"vi": "Đã tiếp nhận", "en": "Received"},
    "queued": {"vi": "Đang chờ xử lý", "en": "Waiting to be read"},
    "processing": {"vi": "Đang đọc tài liệu", "en": "Reading the document"},
    "retrying": {"vi": "Đang thử lại", "en": "Trying again"},
    "ready": {"vi": "Chờ kiểm tra", "en": "Ready to check"},
    "review": {"vi": "Cần kiểm tra", "en": "Needs checking"},
    "submitted": {"vi": "Chờ người ký duyệt", "en": "Waiting for the signer"},
    "rejected": {"vi": "Bị trả lại", "en": "Sent back"},
    "signing": {"vi": "Đang ký", "en": "Signing"},
    "issued": {"vi": "Đã cấp bản sao", "en": "E-copy issued"},
    "failed": {"vi": "Lỗi", "en": "Failed"},
}

INTAKE_STATUSES: tuple[str, ...] = tuple(_INTAKE_STATUSES)

_ECOPY_STATUSES: dict[str, dict[str, str]] = {
    "issued": {"vi": "Đang có hiệu lực", "en": "In force"},
    "revoked": {"vi": "Đã thu hồi", "en": "Revoked"},
    "superseded": {"vi": "Đã được thay thế", "en": "Superseded"},
}


def status_label(lang: str, status: str) -> str:
    """An intake's status in words."""
    return _pick(_INTAKE_STATUSES, lang, status) or status


def ecopy_status_label(lang: str, status: str) -> str:
    """An issued e-copy's status in words ("issued" means in force here, not "just issued")."""
    return _pick(_ECOPY_STATUSES, lang, status) or status


_ROLES: dict[str, dict[str, str]] = {
    "clerk": {"vi": "Cán bộ tiếp nhận", "en": "Counter clerk"},
    "signer": {"vi": "Người ký duyệt", "en": "Signer"},
    "verifier": {"vi": "Cơ quan kiểm tra", "en": "Receiving agency"},
    "admin": {"vi": "Quản trị viên", "en": "Administrator"},
}


def role_label(lang: str, role: str) -> str:
    return _pick(_ROLES, lang, role) or role


_DOC_TYPES: dict[str, dict[str, str]] = {
    doc.name: {"vi": doc.label_vi, "en": doc.label_en} for doc in doctypes.DOCTYPES.values()
}


def doc_type_label(lang: str, doc_type: str | None) -> str:
    if not doc_type:
        return t(lang, "doc_type.unknown")
    if doc_type == doctypes.UNKNOWN:
        return t(lang, "doc_type.unrecognised")
    return _pick(_DOC_TYPES, lang, doc_type) or doc_type


def doc_title(lang: str, doc_type: str | None, title: str | None) -> str | None:
    """The document's legal title, as its copy is (or will be) certified under: the type's label in
    ``lang`` (in Vietnamese the stored title, which is what the statement printed), or for a type
    whose title the clerk types ("other") that title as typed, in any language. None: none yet."""
    doc = doctypes.DOCTYPES.get(doc_type or "")
    if doc is None:
        return None
    if doc.title_from_clerk:
        return title or None
    if lang == DEFAULT_LANG:
        return title or doc.label_vi
    return _pick(_DOC_TYPES, lang, doc.name)


def doc_heading(lang: str, doc_type: str | None, title: str | None) -> str:
    """What a page shows for a document: its title, else the type's label (or "not recognised")."""
    return doc_title(lang, doc_type, title) or doc_type_label(lang, doc_type)


_VERDICTS: dict[str, dict[str, str]] = {
    "valid": {"vi": "HỢP LỆ", "en": "VALID"},
    "revoked": {"vi": "ĐÃ BỊ THU HỒI", "en": "REVOKED"},
    "altered": {"vi": "ĐÃ BỊ THAY ĐỔI", "en": "ALTERED"},
    "unknown": {"vi": "KHÔNG TÌM THẤY", "en": "UNKNOWN"},
}

_VERDICT_EXPLANATIONS: dict[str, dict[str, str]] = {
    "valid": {
        "vi": "Bản sao điện tử này do cơ quan có thẩm quyền cấp và chưa bị thay đổi.",
        "en": "This e-copy was issued by a competent authority and has not been changed.",
    },
    "revoked": {
        "vi": "Bản sao này đã bị thu hồi hoặc thay thế. Không sử dụng.",
        "en": "This copy has been revoked or replaced. Do not accept it.",
    },
    "altered": {
        "vi": "Tệp này khác với bản đã cấp. Không chấp nhận; yêu cầu bản đúng.",
        "en": "This file differs from the copy that was issued. Do not accept it; ask for the genuine copy.",
    },
    "unknown": {
        "vi": "Không có bản sao nào được cấp khớp với thông tin này.",
        "en": "No issued copy matches this information.",
    },
}


def verdict_label(lang: str, verdict: str) -> str:
    return _pick(_VERDICTS, lang, verdict) or verdict


def verdict_explanation(lang: str, verdict: str) -> str:
    """One sentence telling the person at the desk what to do with this verdict."""
    return _pick(_VERDICT_EXPLANATIONS, lang, verdict) or ""


# --- Page text ---------------------------------------------------------------------------------------------

_TEXT: dict[str, dict[str, str]] = {
    # layout
    "app.name": {"vi": "Bản sao điện tử", "en": "E-copy"},
    "app.tagline": {
        "vi": "Hệ thống cấp và kiểm tra bản sao chứng thực điện tử",
        "en": "Issuing and checking certified electronic copies",
    },
    "lang.switch": {"vi": "English", "en": "Tiếng Việt"},
    "lang.switch_title": {"vi": "Switch to English", "en": "Chuyển sang tiếng Việt"},
    "nav.counter": {"vi": "Tiếp nhận", "en": "Counter"},
    "nav.sign": {"vi": "Ký duyệt", "en": "Sign"},
    "nav.verify": {"vi": "Kiểm tra bản sao", "en": "Check a copy"},
    "nav.login": {"vi": "Đăng nhập", "en": "Sign in"},
    "logout": {"vi": "Đăng xuất", "en": "Sign out"},
    "signed_in_as": {"vi": "Đang đăng nhập", "en": "Signed in"},
    "error.title": {"vi": "Có lỗi", "en": "Something went wrong"},
    "error.code": {"vi": "Mã lỗi", "en": "Error code"},
    "error.back_home": {"vi": "Về trang chính", "en": "Back to the main page"},
    "error.network": {
        "vi": "Không kết nối được máy chủ. Vui lòng kiểm tra mạng rồi thử lại.",
        "en": "Could not reach the server. Please check the network and try again.",
    },
    "forbidden.title": {"vi": "Không có quyền truy cập", "en": "No access"},
    "forbidden.message": {
        "vi": "Tài khoản của bạn không được dùng trang này. Nếu cần, hãy liên hệ quản trị viên.",
        "en": "Your account cannot use this page. Contact your administrator if you need it.",
    },
    "loading": {"vi": "Đang tải…", "en": "Loading…"},
    "doc_type.unknown": {"vi": "Chưa xác định", "en": "Not yet known"},
    "doc_type.auto": {"vi": "Tự nhận dạng", "en": "Detect automatically"},
    "doc_type.unrecognised": {"vi": "Chưa nhận ra loại giấy tờ", "en": "Document type not recognised"},
    "doc_type.pick": {
        "vi": "Gõ để tìm loại giấy tờ, hoặc để trống để tự nhận dạng",
        "en": "Type to search for a document type, or leave empty to detect it",
    },
    "doc_type.search": {"vi": "Gõ để tìm loại giấy tờ", "en": "Type to search for a document type"},
    "doc_type.not_in_list": {
        "vi": "Loại giấy tờ không có trong danh sách. Hãy chọn trong danh sách, hoặc chọn “Giấy tờ khác”.",
        "en": "This document type is not in the list. Choose one from the list, or choose “Other document”.",
    },
    "doc_title.label": {
        "vi": "Tên giấy tờ (như in trên bản gốc, bắt buộc)",
        "en": "Document title (as printed on the original, required)",
    },
    "doc_title.required": {
        "vi": "Hãy nhập tên giấy tờ như in trên bản gốc.",
        "en": "Please type the document's title as printed on the original.",
    },
    "intake.type_heading": {"vi": "Loại giấy tờ", "en": "Document type"},
    "intake.type_change": {"vi": "Đổi loại giấy tờ và đọc lại", "en": "Change the type and read again"},
    "intake.type_save_title": {"vi": "Lưu tên giấy tờ", "en": "Save the title"},
    "intake.type_changing": {"vi": "Đang đổi loại giấy tờ…", "en": "Changing the document type…"},
    "intake.type_changed": {
        "vi": "Đã đổi loại giấy tờ. Hồ sơ đang được đọc lại.",
        "en": "Type changed. The document is being read again.",
    },
    "intake.type_required": {
        "vi": "Hệ thống không nhận ra loại giấy tờ này. Hãy chọn loại giấy tờ bên dưới (nếu không có trong danh "
        "sách, chọn “Giấy tờ khác” và nhập tên giấy tờ) trước khi gửi người ký.",
        "en": "The system did not recognise this document's type. Choose its type below (if it is not in the "
        "list, choose “Other document” and type its title) before sending it to the signer.",
    },
    "intake.title_required": {
        "vi": "Hãy nhập tên giấy tờ (loại “Giấy tờ khác”) trước khi gửi người ký.",
        "en": "Type the document's title (type “Other document”) before sending it to the signer.",
    },
    "none": {"vi": "—", "en": "—"},
    # login
    "login.title": {"vi": "Đăng nhập", "en": "Sign in"},
    "login.intro": {
        "vi": "Đăng nhập bằng tên đăng nhập và mật khẩu được cấp.",
        "en": "Sign in with the user name and password you were given.",
    },
    "login.username": {"vi": "Tên đăng nhập", "en": "User name"},
    "login.password": {"vi": "Mật khẩu", "en": "Password"},
    "login.api_key": {"vi": "Khóa truy cập (dành cho cơ quan kiểm tra)", "en": "Access key (for receiving agencies)"},
    "login.api_key_toggle": {"vi": "Đăng nhập bằng khóa truy cập", "en": "Sign in with an access key"},
    "login.submit": {"vi": "Đăng nhập", "en": "Sign in"},
    "login.missing": {
        "vi": "Vui lòng nhập tên đăng nhập và mật khẩu, hoặc khóa truy cập.",
        "en": "Please enter your user name and password, or an access key.",
    },
    "login.public_note": {
        "vi": "Chỉ cần kiểm tra một bản sao? Không cần đăng nhập:",
        "en": "Only need to check a copy? No sign-in needed:",
    },
    # counter
    "counter.title": {"vi": "Tiếp nhận hồ sơ", "en": "Counter"},
    "counter.upload_heading": {"vi": "Tải lên giấy tờ cần chứng thực", "en": "Upload documents to certify"},
    "counter.files": {"vi": "Chọn tệp (ảnh chụp hoặc PDF)", "en": "Choose files (photos or PDF)"},
    "counter.drop": {
        "vi": "Kéo và thả tệp vào đây, hoặc bấm để chọn tệp",
        "en": "Drag and drop files here, or click to choose",
    },
    "counter.camera": {"vi": "Chụp ảnh bằng điện thoại", "en": "Take a photo with the phone"},
    "counter.chosen": {"vi": "Tệp đã chọn", "en": "Chosen files"},
    "counter.no_files": {"vi": "Chưa chọn tệp nào.", "en": "No file chosen yet."},
    "counter.clear_files": {"vi": "Bỏ chọn tất cả", "en": "Clear all"},
    "counter.doc_type": {"vi": "Loại giấy tờ", "en": "Document type"},
    "counter.owner_id": {
        "vi": "Số định danh cá nhân của công dân (12 số, không bắt buộc)",
        "en": "Citizen's personal ID number (12 digits, optional)",
    },
    "counter.submit": {"vi": "Tải lên và đọc tài liệu", "en": "Upload and read"},
    "counter.uploading": {"vi": "Đang tải lên…", "en": "Uploading…"},
    "counter.uploaded": {"vi": "Đã tải lên. Đang mở hồ sơ…", "en": "Uploaded. Opening the intake…"},
    "counter.need_file": {"vi": "Vui lòng chọn ít nhất một tệp.", "en": "Please choose at least one file."},
    "counter.recent": {"vi": "Hồ sơ gần đây của đơn vị", "en": "Recent intakes of this office"},
    "counter.empty": {"vi": "Chưa có hồ sơ nào.", "en": "No intakes yet."},
    "col.created": {"vi": "Thời gian", "en": "Time"},
    "col.doc_type": {"vi": "Loại giấy tờ", "en": "Document type"},
    "col.files": {"vi": "Tệp", "en": "Files"},
    "col.status": {"vi": "Trạng thái", "en": "Status"},
    "col.owner_id": {"vi": "Số định danh", "en": "Personal ID"},
    "col.open": {"vi": "Xem", "en": "Open"},
    "col.holder": {"vi": "Người được cấp", "en": "Holder"},
    "col.min_conf": {"vi": "Độ tin cậy thấp nhất", "en": "Lowest confidence"},
    "col.submitted": {"vi": "Gửi lúc", "en": "Submitted"},
    "col.submitted_by": {"vi": "Người gửi", "en": "Submitted by"},
    "col.select": {"vi": "Chọn", "en": "Select"},
    "col.result": {"vi": "Kết quả", "en": "Result"},
    "col.ecopy_id": {"vi": "Mã bản sao", "en": "E-copy ID"},
    "col.issued_on": {"vi": "Ngày cấp", "en": "Issued on"},
    # intake
    "intake.title": {"vi": "Hồ sơ", "en": "Intake"},
    "intake.back": {"vi": "← Danh sách hồ sơ", "en": "← All intakes"},
    "intake.back_sign": {"vi": "← Hồ sơ chờ ký", "en": "← Signing queue"},
    "intake.progress": {"vi": "Tiến độ", "en": "Progress"},
    "intake.pages": {"vi": "Ảnh tài liệu", "en": "Document pages"},
    "intake.page_n": {"vi": "Trang {n}", "en": "Page {n}"},
    "intake.fields": {"vi": "Thông tin đọc được", "en": "Information read"},
    "intake.fields_help": {
        "vi": "Đối chiếu với bản gốc. Các ô nền vàng cần kiểm tra kỹ; nếu sai, sửa trực tiếp vào ô.",
        "en": "Compare with the original. Yellow fields need a careful look; correct them directly if wrong.",
    },
    "intake.fields_help_ro": {
        "vi": "Đối chiếu với ảnh tài liệu. Các ô nền vàng là chỗ máy đọc chưa chắc chắn.",
        "en": "Compare with the page images. Yellow fields are where the reading was uncertain.",
    },
    "intake.no_fields": {"vi": "Chưa có thông tin.", "en": "No information yet."},
    "intake.check": {"vi": "Cần kiểm tra", "en": "Check this"},
    "intake.confidence": {"vi": "Độ tin cậy", "en": "Confidence"},
    "intake.corrected": {"vi": "Đã sửa", "en": "Corrected"},
    "intake.corrected_by": {
        "vi": "Đã sửa bởi {who}; giá trị máy đọc: “{original}”",
        "en": "Corrected by {who}; read as “{original}”",
    },
    "intake.save": {"vi": "Lưu thay đổi", "en": "Save changes"},
    "intake.saved": {"vi": "Đã lưu", "en": "Saved"},
    "intake.nothing_to_save": {"vi": "Không có thay đổi nào.", "en": "No changes."},
    "intake.submit": {"vi": "Gửi người ký duyệt", "en": "Send to the signer"},
    "intake.submitted": {"vi": "Đã gửi người ký", "en": "Sent to the signer"},
    "intake.ocr_text": {"vi": "Toàn bộ văn bản đọc được", "en": "Full text read"},
    "intake.history": {"vi": "Lịch sử xử lý", "en": "History"},
    "intake.review_note": {"vi": "Lý do người ký trả lại", "en": "Why the signer sent it back"},
    "intake.owner_id": {"vi": "Số định danh cá nhân của công dân", "en": "Citizen's personal ID"},
    "intake.files": {"vi": "Tệp đã tải lên", "en": "Uploaded files"},
    "intake.receipt": {"vi": "In giấy biên nhận cho công dân", "en": "Print the citizen's receipt"},
    "intake.ecopy": {"vi": "Xem bản sao đã cấp", "en": "View the issued copy"},
    "intake.failed": {"vi": "Không xử lý được tài liệu", "en": "The document could not be processed"},
    "intake.approve": {"vi": "Ký và cấp bản sao", "en": "Sign and issue"},
    "intake.approved": {"vi": "Đã ký. Mã bản sao:", "en": "Signed. E-copy ID:"},
    "intake.signing_wait": {
        "vi": "Đang hoàn tất chữ ký, vui lòng đợi trong giây lát.",
        "en": "Finishing the signature, please wait a moment.",
    },
    "intake.reject": {"vi": "Trả lại cho cán bộ tiếp nhận", "en": "Send back to the clerk"},
    "intake.reject_reason": {"vi": "Lý do trả lại (bắt buộc)", "en": "Reason for sending back (required)"},
    "intake.reject_need_reason": {"vi": "Vui lòng ghi lý do trả lại.", "en": "Please write the reason."},
    "intake.rejected": {"vi": "Đã trả lại hồ sơ.", "en": "Sent back."},
    "intake.not_submitted": {
        "vi": "Hồ sơ này hiện không chờ ký.",
        "en": "This intake is not waiting for a signature.",
    },
    "event.created": {"vi": "Tiếp nhận hồ sơ", "en": "Intake created"},
    "event.corrected": {"vi": "Sửa thông tin", "en": "Information corrected"},
    "event.submitted": {"vi": "Gửi người ký duyệt", "en": "Sent to the signer"},
    "event.approved": {"vi": "Duyệt ký", "en": "Approved for signing"},
    "event.rejected": {"vi": "Trả lại hồ sơ", "en": "Sent back"},
    "event.revoked": {"vi": "Thu hồi bản sao", "en": "Copy revoked"},
    "event.read": {"vi": "Đọc xong tài liệu", "en": "Document read"},
    "event.type_changed": {"vi": "Đổi loại giấy tờ", "en": "Document type changed"},
    "event.type_from_to": {"vi": "{old} → {new}", "en": "{old} → {new}"},
    "event.issued": {"vi": "Đã ký và cấp bản sao", "en": "Copy signed and issued"},
    "event.files": {"vi": "{n} tệp", "en": "{n} file(s)"},
    "event.reason": {"vi": "Lý do: {reason}", "en": "Reason: {reason}"},
    "event.system": {"vi": "Hệ thống", "en": "System"},
    "event.at": {"vi": "Thời gian", "en": "Time"},
    "event.actor": {"vi": "Người thực hiện", "en": "By"},
    "event.action": {"vi": "Việc", "en": "Action"},
    "event.detail": {"vi": "Chi tiết", "en": "Details"},
    # receipt
    "receipt.title": {"vi": "Giấy biên nhận bản sao điện tử", "en": "E-copy receipt"},
    "receipt.print": {"vi": "In giấy biên nhận", "en": "Print the receipt"},
    "receipt.office": {"vi": "Cơ quan chứng thực", "en": "Certifying office"},
    "receipt.doc_type": {"vi": "Loại giấy tờ", "en": "Document type"},
    "receipt.holder": {"vi": "Họ và tên", "en": "Name"},
    "receipt.owner_id": {"vi": "Số định danh cá nhân", "en": "Personal ID number"},
    "receipt.issued_on": {"vi": "Ngày cấp", "en": "Date of issue"},
    "receipt.ecopy_id": {"vi": "Mã bản sao điện tử", "en": "E-copy ID"},
    "receipt.verify_url": {"vi": "Địa chỉ kiểm tra", "en": "Verification address"},
    "receipt.how": {
        "vi": (
            "Khi nộp hồ sơ, quý vị chỉ cần đưa mã bản sao hoặc mã QR này. Cơ quan tiếp nhận quét mã QR "
            "hoặc nhập mã tại địa chỉ trên để xem bản sao có hợp lệ hay không."
        ),
        "en": (
            "When handing in papers, simply give this e-copy ID or QR code. The receiving agency scans the "
            "QR code or types the ID at the address above to see whether the copy is valid."
        ),
    },
    "receipt.not_issued": {
        "vi": "Hồ sơ này chưa được cấp bản sao, chưa in được giấy biên nhận.",
        "en": "No e-copy has been issued for this intake yet, so there is no receipt to print.",
    },
    "receipt.back": {"vi": "← Quay lại hồ sơ", "en": "← Back to the intake"},
    # sign
    "sign.title": {"vi": "Hồ sơ chờ ký duyệt", "en": "Waiting for signature"},
    "sign.intro": {
        "vi": "Xem từng hồ sơ nếu cần, chọn các hồ sơ đã đạt rồi bấm ký.",
        "en": "Open an intake if needed, select the ones that are correct, then sign.",
    },
    "sign.select_all": {"vi": "Chọn tất cả", "en": "Select all"},
    "sign.selected": {"vi": "Ký các hồ sơ đã chọn ({n})", "en": "Sign the selected intakes ({n})"},
    "sign.signing": {"vi": "Đang ký…", "en": "Signing…"},
    "sign.done": {
        "vi": "Đã ký {approved} hồ sơ, {failed} hồ sơ không ký được.",
        "en": "Signed {approved}, {failed} could not be signed.",
    },
    "sign.none_selected": {"vi": "Chưa chọn hồ sơ nào.", "en": "No intake selected."},
    "sign.empty": {"vi": "Không có hồ sơ nào chờ ký.", "en": "Nothing is waiting for a signature."},
    "sign.issued_heading": {"vi": "Bản sao đã cấp gần đây", "en": "Recently issued copies"},
    "sign.issued_empty": {"vi": "Chưa cấp bản sao nào.", "en": "No copies issued yet."},
    "sign.view": {"vi": "Xem", "en": "View"},
    "sign.result_ok": {"vi": "Đã ký — {id}", "en": "Signed — {id}"},
    # e-copy
    "ecopy.title": {"vi": "Bản sao điện tử", "en": "E-copy"},
    "ecopy.id": {"vi": "Mã bản sao", "en": "E-copy ID"},
    "ecopy.status": {"vi": "Trạng thái", "en": "Status"},
    "ecopy.office": {"vi": "Cơ quan chứng thực", "en": "Certifying office"},
    "ecopy.doc_type": {"vi": "Loại giấy tờ", "en": "Document type"},
    "ecopy.issued_on": {"vi": "Ngày cấp", "en": "Date of issue"},
    "ecopy.certificate_number": {"vi": "Số chứng thực", "en": "Certification number"},
    "ecopy.holder": {"vi": "Người được cấp", "en": "Holder"},
    "ecopy.revoked_reason": {"vi": "Lý do thu hồi", "en": "Reason for revocation"},
    "ecopy.superseded_by": {"vi": "Được thay thế bằng bản", "en": "Replaced by"},
    "ecopy.pdf": {"vi": "Tải bản sao (PDF)", "en": "Download the copy (PDF)"},
    "ecopy.fields": {"vi": "Nội dung bản sao", "en": "Contents of the copy"},
    "ecopy.intake": {"vi": "Xem hồ sơ gốc", "en": "View the intake"},
    "ecopy.revoke_heading": {"vi": "Thu hồi bản sao", "en": "Revoke this copy"},
    "ecopy.revoke_help": {
        "vi": "Sau khi thu hồi, mọi lần kiểm tra bản sao này sẽ báo “ĐÃ BỊ THU HỒI”. Không thể hoàn tác.",
        "en": "After revocation every check of this copy says “REVOKED”. This cannot be undone.",
    },
    "ecopy.revoke_reason": {"vi": "Lý do thu hồi (bắt buộc)", "en": "Reason (required)"},
    "ecopy.superseded_input": {
        "vi": "Mã bản sao thay thế (nếu có)",
        "en": "ID of the replacing copy (if any)",
    },
    "ecopy.revoke_submit": {"vi": "Thu hồi bản sao", "en": "Revoke the copy"},
    "ecopy.revoke_need_reason": {"vi": "Vui lòng ghi lý do thu hồi.", "en": "Please write the reason."},
    "ecopy.revoked_done": {"vi": "Đã thu hồi bản sao.", "en": "The copy has been revoked."},
    "ecopy.lookups": {"vi": "Nhật ký tra cứu", "en": "Lookup log"},
    "ecopy.lookups_empty": {"vi": "Chưa có lượt tra cứu nào.", "en": "No lookups yet."},
    "lookup.at": {"vi": "Thời gian", "en": "Time"},
    "lookup.who": {"vi": "Người tra cứu", "en": "By"},
    "lookup.agency": {"vi": "Cơ quan", "en": "Agency"},
    "lookup.channel": {"vi": "Cách tra cứu", "en": "Channel"},
    "lookup.verdict": {"vi": "Kết quả", "en": "Result"},
    "lookup.purpose": {"vi": "Mục đích", "en": "Purpose"},
    "lookup.anonymous": {"vi": "Công khai", "en": "Public"},
    "channel.qr": {"vi": "Quét mã QR", "en": "QR code"},
    "channel.id": {"vi": "Nhập mã", "en": "Typed ID"},
    "channel.file": {"vi": "Tải tệp", "en": "File upload"},
    "channel.api-id": {"vi": "API (mã)", "en": "API (ID)"},
    "channel.api-file": {"vi": "API (tệp)", "en": "API (file)"},
    "channel.record": {"vi": "Xem hồ sơ bản sao", "en": "Record viewed"},
    "channel.pdf": {"vi": "Tải tệp PDF", "en": "PDF downloaded"},
    # verify
    "verify.title": {"vi": "Kiểm tra bản sao điện tử", "en": "Check an e-copy"},
    "verify.intro": {
        "vi": "Nhập mã bản sao in dưới mã QR, hoặc tải lên tệp PDF bản sao mà công dân gửi.",
        "en": "Type the e-copy ID printed under the QR code, or upload the PDF copy the citizen sent.",
    },
    "verify.id": {"vi": "Mã bản sao (in dưới mã QR)", "en": "E-copy ID (printed under the QR code)"},
    "verify.id_submit": {"vi": "Kiểm tra", "en": "Check"},
    "verify.purpose": {"vi": "Mục đích kiểm tra (không bắt buộc)", "en": "Purpose of the check (optional)"},
    "verify.purpose_placeholder": {"vi": "Ví dụ: hồ sơ tuyển dụng", "en": "e.g. job application"},
    "verify.file": {"vi": "Hoặc tải lên tệp PDF bản sao điện tử", "en": "Or upload the e-copy PDF file"},
    "verify.file_submit": {"vi": "Kiểm tra tệp", "en": "Check the file"},
    "verify.need_file": {"vi": "Vui lòng chọn tệp PDF.", "en": "Please choose a PDF file."},
    "verify.checked_id": {"vi": "Mã đã kiểm tra", "en": "ID checked"},
    "verify.holder_note": {
        "vi": "Tên này chỉ để đối chiếu với người xuất trình giấy tờ.",
        "en": "This name is only for comparing with the person presenting the document.",
    },
    "verify.again": {"vi": "Kiểm tra bản sao khác", "en": "Check another copy"},
    "verify.reasons": {"vi": "Chi tiết", "en": "Details"},
    "verify.limited_title": {"vi": "Tạm thời không kiểm tra được", "en": "Cannot check right now"},
    "verify.full_note": {
        "vi": "Bạn đang đăng nhập với tư cách cơ quan được phép xem đầy đủ nội dung.",
        "en": "You are signed in as an agency allowed to see the full contents.",
    },
}


def channel_label(lang: str, channel: str) -> str:
    """How a copy was looked up (QR, typed ID, uploaded file, API…)."""
    return _pick(_TEXT, lang, f"channel.{channel}") or channel


def t(lang: str, key: str, **kw: object) -> str:
    """The page text for ``key``; ``{name}`` placeholders are filled from ``kw``."""
    text = _pick(_TEXT, lang, key)
    if text is None:
        return key
    if not kw:
        return text
    try:
        return text.format(**kw)
    except (KeyError, IndexError, ValueError):
        return text


# --- The offline check of a QR's signed payload (pipeline.certify.qr_token) ----------------------------------------

_QR_STATUSES: dict[str, dict[str, str]] = {
    "valid": {"vi": "MÃ QR HỢP LỆ", "en": "QR CODE VALID"},
    "tampered": {"vi": "MÃ QR ĐÃ BỊ SỬA", "en": "QR CODE ALTERED"},
    "foreign": {"vi": "MÃ QR KHÔNG RÕ NGUỒN GỐC", "en": "QR CODE NOT FROM A TRUSTED OFFICE"},
    "malformed": {"vi": "MÃ QR HỎNG", "en": "QR CODE UNREADABLE"},
    "mismatch": {"vi": "MÃ QR KHÔNG KHỚP", "en": "QR CODE DOES NOT MATCH"},
    "unsigned": {"vi": "MÃ QR KHÔNG CÓ CHỮ KÝ", "en": "QR CODE WITHOUT SIGNATURE"},
}

# English twins of pipeline.verify.qr_check.MESSAGES (Vietnamese there, the one source for the CLI and the pages).
_QR_MESSAGES_EN: dict[str, str] = {
    "qr.valid": "The QR code carries a valid signature of {office} (checked without network).",
    "qr.tampered": (
        "The QR code has been altered: its signature does not match its contents. Do not accept this paper; "
        "check it online with the e-copy ID."
    ),
    "qr.foreign": (
        "The QR code was not signed by any certifying office on the trusted list. Do not accept this paper; "
        "check it online with the e-copy ID."
    ),
    "qr.office_mismatch": (
        "The QR code names the office “{claimed}” but was signed with the key of {office}. Do not accept this paper."
    ),
    "qr.outside_validity": (
        "The issue date in the QR code ({date}) lies outside the validity of the certificate that signed it. "
        "Do not accept this paper; check it online."
    ),
    "qr.malformed": (
        "The signed contents of the QR code cannot be read (damaged, cut short, or not an e-copy code). "
        "Take a clearer photo of the QR code, or type the e-copy ID to check online."
    ),
    "qr.id_mismatch": (
        "The e-copy ID in the link ({url_id}) differs from the ID signed in the QR code ({ecopy_id}). "
        "Do not accept this paper."
    ),
    "qr.unsigned": (
        "This QR code only holds the verification link (a copy issued before signed QR codes). It can only be "
        "checked online: open the link or type the e-copy ID."
    ),
}

QR_CODES: tuple[str, ...] = tuple(_QR_MESSAGES_EN)


def qr_status_label(lang: str, status: str) -> str:
    """The headline of an offline QR check (valid, tampered, foreign, malformed, mismatch, unsigned)."""
    return _pick(_QR_STATUSES, lang, status) or status


def qr_message(lang: str, code: str) -> str:
    """The sentence for a QR check's code, ``{placeholders}`` left for the caller (the page script fills them)."""
    from pipeline.verify.qr_check import MESSAGES

    if lang == "en" and code in _QR_MESSAGES_EN:
        return _QR_MESSAGES_EN[code]
    return MESSAGES.get(code, code)


_TEXT.update(
    {
        "qr.heading": {"vi": "Kiểm tra mã QR không cần mạng", "en": "Offline check of the QR code"},
        "qr.claims": {"vi": "Nội dung có chữ ký trong mã QR", "en": "Signed contents of the QR code"},
        "qr.claims_unconfirmed": {
            "vi": "Nội dung mã QR ghi (KHÔNG được xác nhận)",
            "en": "What the QR code says (NOT confirmed)",
        },
        "qr.ecopy_id": {"vi": "Mã bản sao", "en": "E-copy ID"},
        "qr.doc_type": {"vi": "Loại giấy tờ", "en": "Document type"},
        "qr.issued_on": {"vi": "Ngày cấp", "en": "Date of issue"},
        "qr.office": {"vi": "Cơ quan chứng thực", "en": "Certifying office"},
        "qr.fields_hash": {"vi": "Mã băm nội dung", "en": "Contents hash"},
        "qr.key": {"vi": "Khóa ký", "en": "Signing key"},
        "qr.checking": {"vi": "Đang kiểm tra chữ ký của mã QR…", "en": "Checking the QR code's signature…"},
        "qr.revocation_note": {
            "vi": (
                "Kiểm tra không cần mạng chỉ xác nhận nội dung do cơ quan ký; nó không biết bản sao có bị thu hồi "
                "sau khi cấp hay không. Khi có mạng, hãy xem kết quả tra cứu trực tuyến."
            ),
            "en": (
                "An offline check only confirms what the office signed; it cannot know whether the copy was "
                "revoked after issue. When online, look at the online lookup result as well."
            ),
        },
        "qr.record_match": {
            "vi": "Nội dung mã QR khớp với sổ đăng ký.",
            "en": "The QR code's contents match the registry.",
        },
        "qr.record_differs": {
            "vi": "Nội dung mã QR KHÁC với sổ đăng ký ({what}). Không chấp nhận giấy tờ này.",
            "en": "The QR code's contents DIFFER from the registry ({what}). Do not accept this paper.",
        },
        "qr.insecure": {
            "vi": (
                "Trình duyệt này không cho phép kiểm tra chữ ký trên kết nối không an toàn (http). "
                "Hãy mở trang bằng địa chỉ https, hoặc dùng lệnh “ecopy verify --qr”; kết quả tra cứu "
                "trực tuyến ở trên vẫn có giá trị."
            ),
            "en": (
                "This browser does not allow signature checks over an insecure (http) connection. "
                "Open the page over https, or use “ecopy verify --qr”; the online lookup result above still holds."
            ),
        },
        "qr.insecure_paste": {
            "vi": (
                "Trên kết nối không an toàn (http) trình duyệt không tự kiểm tra được chữ ký: nội dung mã QR "
                "sẽ được gửi lên máy chủ để kiểm tra (cần có mạng). Mở trang bằng https để kiểm tra ngay trên máy."
            ),
            "en": (
                "Over an insecure (http) connection the browser cannot check the signature itself: the QR code's "
                "contents will be sent to the server to be checked (network needed). Open the page over https to "
                "check on this device."
            ),
        },
        "qr.unsupported": {
            "vi": "Trình duyệt này quá cũ để kiểm tra chữ ký ECDSA. Hãy dùng trình duyệt mới hơn.",
            "en": "This browser is too old to check ECDSA signatures. Please use a newer browser.",
        },
        "qr.page_title": {"vi": "Kiểm tra mã QR không cần mạng", "en": "Check a QR code offline"},
        "qr.page_intro": {
            "vi": (
                "Dán nội dung mã QR trên bản giấy (đọc bằng ứng dụng quét mã) vào ô dưới đây. Chữ ký của cơ quan "
                "được kiểm tra ngay trên máy này, không gửi gì lên mạng: trang vẫn dùng được khi mất mạng."
            ),
            "en": (
                "Paste the contents of the paper's QR code (read with a scanner app) below. The office's signature "
                "is checked on this device and nothing is sent: the page keeps working without network."
            ),
        },
        "qr.input": {"vi": "Nội dung mã QR", "en": "QR code contents"},
        "qr.submit": {"vi": "Kiểm tra mã QR", "en": "Check the QR code"},
        "qr.need_text": {"vi": "Vui lòng dán nội dung mã QR.", "en": "Please paste the QR code's contents."},
        "qr.keys_count": {
            "vi": "Trang này mang sẵn {n} khóa của các cơ quan chứng thực.",
            "en": "This page carries the keys of {n} certifying office certificate(s).",
        },
        "qr.offline_link": {
            "vi": "Kiểm tra nội dung mã QR không cần mạng",
            "en": "Check a QR code's contents offline",
        },
        "qr.server_checked": {
            "vi": "(kiểm tra trên máy chủ, vì trình duyệt không tự kiểm tra được)",
            "en": "(checked on the server, as this browser could not check it itself)",
        },
    }
)


# --- Errors, verdict reasons and diagnosis codes in English ----------------------------------------------------
# The Vietnamese text stays where it is made (an error's class or raise site, pipeline.verify.verdict, the
# diagnosis' MESSAGES); English is looked up here by the stable code. An error's English text is the same for every
# raise site of its code (a raise site's own Vietnamese sentence may carry values; the English one is general).
# A verdict reason's English text carries the same values as the Vietnamese, taken from the verdict itself.

_ERROR_GENERIC_EN = "Something went wrong. Please try again, or tell the administrator."

_ERROR_MESSAGES_EN: dict[str, str] = {
    # pipeline.errors
    "ecopy.error": _ERROR_GENERIC_EN,
    "input.invalid": (
        "What was sent cannot be used. Check the file or the values you sent (for a file, scan the original "
        "again) and try again."
    ),
    "input.empty": "The file is empty (0 bytes). Scan again or choose the right file.",
    "input.corrupt": "The file is damaged or unreadable (perhaps cut off during upload). Please scan again.",
    "input.unsupported_type": "This type of file is not supported. Use a JPEG, PNG or TIFF image, or a PDF file.",
    "input.encrypted": "The PDF file is password-protected or encrypted. Remove the password or scan the paper again.",
    "input.too_large": "The file is too large. Scan at 300 dpi or split it into several smaller files.",
    "input.too_many_pages": "The document has too many pages. Split it into smaller documents.",
    "input.unknown_doc_type": "Invalid document type. Choose a type from the list.",
    # workflow.errors: the document's type and title
    "intake.type_required": (
        "The system did not recognise this document's type, so no copy is issued. Choose its type from the list; "
        "if it is not there, choose “Other document” (other) and type the document's title as printed on it."
    ),
    "input.doc_title_required": (
        "For “Other document”, type the document's title exactly as printed on the original (for example "
        "“Academic transcript”, in the document's own language); the certification statement prints it."
    ),
    "input.no_text": (
        "No text was found on the scan (a blank page, or an image too small or too blurred). Check that the right "
        "side of the document was scanned, then scan it again at 300 dpi."
    ),
    "input.too_complex": (
        "The file is too complex to read within the allowed memory and time (it may be damaged or made on "
        "purpose). Scan the paper again to a JPEG image or an ordinary PDF file."
    ),
    "input.page_too_small": (
        "The page is too small to be a scan of a paper document. Scan the original again at 300 dpi, the whole page."
    ),
    "ocr.failed": "The text on the scan could not be recognised. Please scan it again more clearly.",
    "ocr.timeout": "Text recognition took too long. The system will try again; if it still fails, scan more clearly.",
    "ocr.model_missing": "The server is missing its text recognition data. Please tell the administrator.",
    "extract.failed": "The document's details could not be extracted. Please type the needed fields by hand.",
    "render.failed": "The e-copy could not be created. Please tell the administrator.",
    "sign.failed": "The copy could not be signed. Check the certificate or the signing device, then try again.",
    "sign.timestamp_unavailable": "No time-stamp could be obtained. The system will try again in a few minutes.",
    "sign.revocation_unavailable": (
        "The revocation information (OCSP/CRL) of the certificate, needed for a long-term (B-LT/B-LTA) signature, "
        "could not be obtained. The system will try again in a few minutes; if it still fails, ask the "
        "administrator to check the connection to the CA."
    ),
    "sign.certificate_expired": (
        "The office's certificate has expired (or is not valid yet), so nothing can be signed. Ask the "
        "administrator to install a new certificate, then sign again."
    ),
    "sign.certificate_revoked": (
        "The signer's certificate has been revoked, so nothing can be signed. Use a valid certificate, then sign again."
    ),
    "verify.failed": "This file cannot be checked. Upload the e-copy's own PDF file.",
    # pipeline.certify.pkcs11_token
    "sign.token_failed": (
        "The signing token cannot be used. Check that the token is plugged into the signing machine and that it is "
        "configured, then try again."
    ),
    "sign.token_module": "The signing token's driver (PKCS#11 module) cannot be loaded. Tell the administrator.",
    "sign.token_not_found": (
        "The signing token was not found. Check that it is plugged in and that its label matches the configuration."
    ),
    "sign.token_pin_incorrect": (
        "The signing token's PIN is wrong. Check the configured PIN; repeated wrong PINs lock the token."
    ),
    "sign.token_pin_locked": (
        "The signing token's PIN is locked after too many wrong attempts. Ask the token's administrator to unlock it."
    ),
    "sign.token_key_not_found": (
        "The signing key or certificate named in the configuration is missing, ambiguous or mismatched on the "
        "token. Ask the administrator to check the token configuration."
    ),
    # storage.errors
    "storage.error": "A data storage error occurred. Please try again, or tell the administrator.",
    "storage.unavailable": (
        "The storage cannot be reached for the moment. The system will try again by itself; if the problem lasts, "
        "tell the administrator."
    ),
    "storage.access_denied": "The storage refused access (wrong key or missing permission). Tell the administrator.",
    "storage.object_exists": (
        "This file was stored before with other contents and may not be overwritten. Tell the administrator."
    ),
    "storage.immutable": (
        "An issued e-copy can be neither deleted nor changed. To cancel or correct it, revoke the copy and issue a "
        "new one."
    ),
    "storage.not_found": "The file was not found in the storage. Check the intake ID or upload the file again.",
    "storage.invalid_key": "Invalid storage file name. Tell the administrator.",
    "storage.corrupt": (
        "The stored file has been changed or damaged since it was stored. Do not use it; "
        "tell the administrator at once."
    ),
    "registry.failed": "E-copy registry error. Please try again, or tell the administrator.",
    "registry.not_found": "No intake or copy with this ID was found. Check the ID you entered.",
    "registry.duplicate": (
        "This record already exists in the registry. Look up the issued copy instead of issuing it again."
    ),
    "registry.invalid_state": "This action is not possible in the copy's current state.",
    # api
    "internal": _ERROR_GENERIC_EN,
    "request.invalid": "The request is missing information or has wrong values. Check the fields you sent.",
    "http.error": "This request cannot be served. Check the address and try again.",
    "http.404": "There is no such page or address. Check the link.",
    "http.405": "This action cannot be used at this address.",
    "auth.required": "Sign in (or send an API key) to use this function.",
    "auth.invalid": "The username, password or API key is wrong, or has been revoked.",
    "auth.forbidden": "Your account is not allowed to do this.",
    "auth.csrf": "The session is not valid for this action. Reload the page, then try again.",
    "rate.limited": "Too many attempts in a short time. Please wait a few minutes, then try again.",
    "ecopy.not_found": "No e-copy with this ID was found. Check each character of the ID.",
    "input.revoke": "Give the reason for the revocation; a replacement e-copy ID (if any) must be an issued copy.",
    # workflow (the counter's steps, batch sources)
    "intake.not_found": "This intake was not found (or it belongs to another office). Check the intake ID.",
    "intake.wrong_state": (
        "The intake is not at a step that allows this action. Reload the page to see its current status."
    ),
    "queue.unavailable": (
        "The processing queue is not working for the moment. The intake was not received; please send it again "
        "in a few minutes."
    ),
    "input.owner_id": (
        "The requester's personal identification number must have 12 digits (or 9 digits for an old ID card)."
    ),
    "office.no_signer": (
        "This system only signs copies for offices with a configured signing key. The intake belongs to another "
        "office; tell the administrator."
    ),
    "office.no_key": (
        "This signing machine does not hold this office's signing key. Ask the administrator to configure a signing "
        "key for the office."
    ),
    "input.fields": (
        "The corrections are not valid: correct only this document's fields, each with at most 500 characters."
    ),
    "input.reason_required": "Please give a reason.",
    "input.source_not_found": (
        "The batch's folder, ZIP file or S3 path was not found, or it holds no file. Check the path, then run again."
    ),
    "input.unsafe_path": (
        "The intake has an unsafe file name or path (outside its folder, an absolute path, a shortcut/symlink or a "
        "duplicate name), so it was refused. Copy the real scans into the intake's folder with ordinary names, then "
        "create the batch again."
    ),
    "input.nested_archive": (
        "The intake holds a compressed file (ZIP, RAR, 7z, tar, gz…). Unpack it, put the scans into the batch, "
        "then run again."
    ),
    "input.zip_bomb": (
        "A file in the ZIP has an abnormal size (compressed too much, or a wrong declared size), so it was refused. "
        "Compress the original scans again with an ordinary tool, then run again."
    ),
    "input.too_many_entries": "The batch has too many files. Split it into smaller batches and run each one.",
    "input.archive_too_large": "The batch is too large in total. Split it into smaller batches and run each one.",
    "input.nested_folder": (
        "The intake's folder has a sub-folder. An intake's pages must lie directly in its folder: move the files "
        "out of the sub-folder (or make it an intake of its own), then run again."
    ),
    # ecopy (the composition root)
    "config.signing": "The signing key configuration is not right. Tell the administrator.",
    "batch.not_found": "This batch was not found. Check the batch ID (in the form LO-XXXX-XXXX-XXXX).",
}

_REASON_GENERIC_EN = "The check found a problem with this copy (code {code})."
_REASON_UNCODED_EN = "The check found a problem with this copy."

# Every code a verdict's ``codes`` may hold: pipeline.verify.verdict's own and the diagnosis' (pipeline.verify.diagnose
# MESSAGES). Placeholders are filled from the verdict (see _reason_values); office names and a revocation's reason
# are the registry's data and stay as written.
_REASONS_EN: dict[str, str] = {
    # the registry
    "record.issued": "E-copy {ecopy_id} was issued by {office} at {issued_at} and is in force.",
    "record.revoked": "E-copy {ecopy_id} has been revoked{revoked_reason}.",
    "record.superseded": "E-copy {ecopy_id} has been replaced{superseded_by}; use the new copy.",
    "record.not_in_force": "E-copy {ecopy_id} is no longer in force ({status}).",
    "record.unknown": "The e-copy ID {ecopy_id} is not in the registry.",
    "id.malformed": "The e-copy ID is not in the right form (check each character, including the last one).",
    "id.embedded": "The file names e-copy {ecopy_id}; look this ID up to see the copy that was issued.",
    # the file's bytes
    "hash.match": "The file matches e-copy {ecopy_id} exactly, issued by {office} at {issued_at}.",
    "hash.match_bad_signature": "The file matches e-copy {ecopy_id}, but its digital signature fails the check.",
    "hash.mismatch": "The file matches no issued copy: its contents have been changed from the copy that was issued.",
    "hash.unknown": "No copy in the registry matches this file.",
    # the signature
    "signature.valid": "The digital signature is valid and trusted ({signer}).",
    "signature.missing": "The file carries no valid digital signature of a certifying office.",
    "signature.not_intact": "The signed contents have been changed: the digital signature no longer matches the file.",
    "signature.invalid": "The digital signature is not valid.",
    "signature.untrusted": "The signing certificate does not belong to a trusted certifying office.",
    "signature.modified_after": "Content was added to the file or changed in it after signing.",
    "signature.other": "The digital signature differs from the one recorded in the registry.",
    # the diagnosis of a file that is not on record
    "file.unreadable": "The file is not a readable PDF file.",
    "file.trailing_data": "Foreign data has been appended after the end of the file.",
    "signature.no_byte_range": "The digital signature does not declare which data it signs (no ByteRange).",
    "signature.byte_range": (
        "The signed part of the file (ByteRange) is abnormal: part of the file lies outside the signature."
    ),
    "signature.subfilter": "The digital signature uses a format that is not accepted.",
    "signature.zeroed": "The value of the digital signature has been blanked out.",
    "signature.unparsable": "The value of the digital signature cannot be read.",
    "signature.extra": "Another digital signature was added to the file after the certifying office's signature.",
    "signature.orphan": "The file holds a digital signature that has been detached from the document.",
    "signature.foreign": "The digital signature in the file is not that of a certifying office in the system.",
    "update.page_content": "The page content was changed after signing.",
    "update.annotation": "Comments or drawings were added to or changed on a page after signing.",
    "update.form": "Form fields were added or filled in after signing.",
    "update.metadata": "The file's descriptive information (metadata) was edited after signing.",
    "update.structure": "The document's structure was changed after signing.",
    "update.validation_data": "Validation data (time-stamps, certificates) was added to the file after signing.",
    "diagnosis.limit": "The file could not be fully analysed within the allowed time and memory.",
    "diagnosis.failed": "The file could not be analysed.",
}

ERROR_CODES: tuple[str, ...] = tuple(_ERROR_MESSAGES_EN)
REASON_CODES: tuple[str, ...] = tuple(_REASONS_EN)


def _accept_language(header: str) -> str:
    """The language of ours an ``Accept-Language`` header prefers (highest q, the first on a tie), else Vietnamese."""
    best, best_q = DEFAULT_LANG, 0.0
    for part in header.split(","):
        tag, _, params = part.partition(";")
        lang = tag.strip().lower().split("-")[0]
        if lang not in LANGS:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = lang, q
    return best


def answer_lang(request: Request) -> str:
    """The language of an API answer: ``?lang=`` and the cookie as for pages, then ``Accept-Language``; Vietnamese
    by default. Pages do not follow the header (many Vietnamese browsers ask for English first): :func:`lang_of`."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return _accept_language(request.headers.get("accept-language", ""))


def error_message(lang: str, code: str, vi_message: str) -> str:
    """The message of an error with ``code``: the Vietnamese one as raised, or its English text by code."""
    if lang != "en":
        return vi_message
    return _ERROR_MESSAGES_EN.get(code) or _ERROR_GENERIC_EN


def reason_text(lang: str, code: str, vi_message: str, **values: str) -> str:
    """A verdict reason: the Vietnamese sentence as made, or the English one for ``code`` with ``values``."""
    if lang != "en":
        return vi_message
    if not code:
        return _REASON_UNCODED_EN
    template = _REASONS_EN.get(code)
    if template is None:
        return _REASON_GENERIC_EN.format(code=code)
    try:
        return template.format(**values).replace("  ", " ")
    except (KeyError, IndexError, ValueError):
        return _REASON_GENERIC_EN.format(code=code)


def _reason_values(verdict: Verdict) -> dict[str, str]:
    """What the English reasons say about this verdict: the same facts the Vietnamese ones carry."""
    rec, sig = verdict.record, verdict.signature
    issued_at = ""
    if rec is not None:
        moment = rec.issued_at.astimezone(VN_TZ) if rec.issued_at.tzinfo is not None else rec.issued_at
        issued_at = moment.strftime("%H:%M on %d/%m/%Y")
    return {
        "ecopy_id": (rec.ecopy_id if rec is not None else verdict.ecopy_id) or "",
        "office": rec.office if rec is not None else "",
        "issued_at": issued_at,
        "status": rec.status if rec is not None else "",
        "revoked_reason": f": {rec.revoked_reason}" if rec is not None and rec.revoked_reason else "",
        "superseded_by": f" by e-copy {rec.superseded_by}" if rec is not None and rec.superseded_by else "",
        "signer": (sig.signer_subject if sig is not None else "") or "the certifying office",
    }


def verdict_reasons(lang: str, verdict: Verdict) -> list[str]:
    """The verdict's reasons in ``lang`` (a reason made without a code gets the generic English sentence)."""
    if lang != "en":
        return list(verdict.reasons)
    values = _reason_values(verdict)
    codes = list(verdict.codes) + [""] * (len(verdict.reasons) - len(verdict.codes))
    return [reason_text(lang, code, vi, **values) for code, vi in zip(codes, verdict.reasons, strict=False)]
