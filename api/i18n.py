"""The words of the web pages, Vietnamese first, English by switch.

One table per kind of word (field, status, role, verdict, page text) so a translator reads them in one place.
Lookups never fail: a missing English string falls back to Vietnamese, a missing key to the key itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

from pipeline.models import DOC_TYPE_LABELS_VI

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

_FIELDS: dict[str, dict[str, str]] = {
    # Căn cước công dân (mặt trước)
    "id_number": {"vi": "Số định danh cá nhân", "en": "Personal ID number"},
    "full_name": {"vi": "Họ và tên", "en": "Full name"},
    "date_of_birth": {"vi": "Ngày, tháng, năm sinh", "en": "Date of birth"},
    "sex": {"vi": "Giới tính", "en": "Sex"},
    "nationality": {"vi": "Quốc tịch", "en": "Nationality"},
    "place_of_origin": {"vi": "Quê quán", "en": "Place of origin"},
    "place_of_residence": {"vi": "Nơi thường trú", "en": "Place of residence"},
    "expiry_date": {"vi": "Có giá trị đến", "en": "Date of expiry"},
    # Giấy khai sinh
    "date_of_birth_in_words": {"vi": "Ngày sinh ghi bằng chữ", "en": "Date of birth in words"},
    "ethnicity": {"vi": "Dân tộc", "en": "Ethnicity"},
    "place_of_birth": {"vi": "Nơi sinh", "en": "Place of birth"},
    "personal_id": {"vi": "Số định danh cá nhân", "en": "Personal ID number"},
    "mother_name": {"vi": "Họ, chữ đệm, tên người mẹ", "en": "Mother's full name"},
    "father_name": {"vi": "Họ, chữ đệm, tên người cha", "en": "Father's full name"},
    "registration_place": {"vi": "Nơi đăng ký", "en": "Place of registration"},
    "registration_date": {"vi": "Ngày, tháng, năm đăng ký", "en": "Date of registration"},
    "book_number": {"vi": "Số", "en": "Number"},
    "book_volume": {"vi": "Quyển số", "en": "Book (volume) number"},
    # Bằng tốt nghiệp
    "graduation_year": {"vi": "Năm tốt nghiệp", "en": "Year of graduation"},
    "classification": {"vi": "Xếp loại tốt nghiệp", "en": "Classification"},
    "issuer": {"vi": "Người cấp bằng", "en": "Issued by"},
    "serial_number": {"vi": "Số hiệu", "en": "Serial number"},
    "register_number": {"vi": "Số vào sổ cấp bằng", "en": "Register number"},
    "issue_date": {"vi": "Ngày cấp", "en": "Date of issue"},
    # Giấy chứng nhận kết hôn
    "husband_name": {"vi": "Họ, chữ đệm, tên người chồng", "en": "Husband's full name"},
    "husband_dob": {"vi": "Ngày, tháng, năm sinh của chồng", "en": "Husband's date of birth"},
    "husband_ethnicity": {"vi": "Dân tộc của chồng", "en": "Husband's ethnicity"},
    "husband_nationality": {"vi": "Quốc tịch của chồng", "en": "Husband's nationality"},
    "husband_residence": {"vi": "Nơi cư trú của chồng", "en": "Husband's residence"},
    "husband_id": {"vi": "Số định danh cá nhân của chồng", "en": "Husband's personal ID"},
    "wife_name": {"vi": "Họ, chữ đệm, tên người vợ", "en": "Wife's full name"},
    "wife_dob": {"vi": "Ngày, tháng, năm sinh của vợ", "en": "Wife's date of birth"},
    "wife_ethnicity": {"vi": "Dân tộc của vợ", "en": "Wife's ethnicity"},
    "wife_nationality": {"vi": "Quốc tịch của vợ", "en": "Wife's nationality"},
    "wife_residence": {"vi": "Nơi cư trú của vợ", "en": "Wife's residence"},
    "wife_id": {"vi": "Số định danh cá nhân của vợ", "en": "Wife's personal ID"},
    # Công văn / văn bản
    "parent_org": {"vi": "Cơ quan chủ quản", "en": "Parent authority"},
    "issuing_org": {"vi": "Cơ quan ban hành", "en": "Issuing authority"},
    "doc_number": {"vi": "Số văn bản", "en": "Document number"},
    "issue_place": {"vi": "Địa danh", "en": "Place of issue"},
    "subject": {"vi": "Trích yếu (V/v)", "en": "Subject"},
    "recipient": {"vi": "Kính gửi", "en": "Addressed to"},
    "signer_name": {"vi": "Người ký", "en": "Signed by"},
}

# The same field name printed differently on one type of document.
_FIELDS_BY_TYPE: dict[tuple[str, str], dict[str, str]] = {
    ("cccd_front", "date_of_birth"): {"vi": "Ngày sinh", "en": "Date of birth"},
    ("birth_certificate", "full_name"): {"vi": "Họ, chữ đệm, tên", "en": "Full name"},
    ("birth_certificate", "registration_place"): {
        "vi": "Nơi đăng ký khai sinh",
        "en": "Place of birth registration",
    },
    ("marriage_certificate", "registration_place"): {
        "vi": "Nơi đăng ký kết hôn",
        "en": "Place of marriage registration",
    },
    ("diploma", "date_of_birth"): {"vi": "Ngày sinh", "en": "Date of birth"},
    ("generic_letter", "issue_date"): {"vi": "Ngày ban hành", "en": "Date of issue"},
}


def field_label(lang: str, name: str, doc_type: str | None = None) -> str:
    """The label of an extracted field as the document prints it; ``doc_type`` picks a type's own wording."""
    if doc_type is not None and (entry := _FIELDS_BY_TYPE.get((doc_type, name))):
        return entry.get(lang) or entry[DEFAULT_LANG]
    return _pick(_FIELDS, lang, name) or name


# --- Statuses, roles, document types, verdicts ---------------------------------------------------------------

_INTAKE_STATUSES: dict[str, dict[str, str]] = {
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


_DOC_TYPES_EN: dict[str, str] = {
    "cccd_front": "Citizen ID card (front)",
    "birth_certificate": "Birth certificate",
    "diploma": "Diploma",
    "marriage_certificate": "Marriage certificate",
    "generic_letter": "Official letter / document",
}


def doc_type_label(lang: str, doc_type: str | None) -> str:
    if not doc_type:
        return t(lang, "doc_type.unknown")
    if lang == "en" and doc_type in _DOC_TYPES_EN:
        return _DOC_TYPES_EN[doc_type]
    return DOC_TYPE_LABELS_VI.get(doc_type, doc_type)


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
