"""One error tree for ecopy. Each error has a stable ``code`` an API user can act on, a
``message`` a clerk can read (Vietnamese, says what to do next) and ``retryable``.

Layers translate these in exactly one place each: the job wrapper, the FastAPI handler, the CLI.
"""

from __future__ import annotations


class EcopyError(Exception):
    code: str = "ecopy.error"
    retryable: bool = False
    http_status: int = 500
    default_message: str = "Đã có lỗi xảy ra. Vui lòng thử lại hoặc báo cho quản trị viên."

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        self.message = message or self.default_message
        self.detail = detail  # technical detail for logs / API users, never shown alone to a clerk
        super().__init__(self.message)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message, "retryable": self.retryable}
        if self.detail:
            out["detail"] = self.detail
        return out


# ---- input: the file the citizen/clerk gave us is not usable --------------------------------
class InputError(EcopyError):
    code = "input.invalid"
    http_status = 422
    default_message = "Tệp không dùng được. Vui lòng quét lại bản chính."


class EmptyFileError(InputError):
    code = "input.empty"
    default_message = "Tệp rỗng (0 byte). Vui lòng quét lại hoặc chọn đúng tệp."


class CorruptFileError(InputError):
    code = "input.corrupt"
    default_message = "Tệp bị hỏng hoặc không đọc được (có thể bị cắt ngang khi tải lên). Vui lòng quét lại."


class UnsupportedTypeError(InputError):
    code = "input.unsupported_type"
    http_status = 415
    default_message = "Loại tệp không được hỗ trợ. Hãy dùng ảnh JPEG, PNG, TIFF hoặc tệp PDF."


class EncryptedFileError(InputError):
    code = "input.encrypted"
    default_message = "Tệp PDF được đặt mật khẩu hoặc mã hóa. Hãy gỡ mật khẩu hoặc quét lại bản giấy."


class TooLargeError(InputError):
    code = "input.too_large"
    http_status = 413
    default_message = "Tệp quá lớn. Hãy quét ở độ phân giải 300 dpi hoặc chia thành nhiều tệp nhỏ hơn."


class TooManyPagesError(InputError):
    code = "input.too_many_pages"
    http_status = 413
    default_message = "Tài liệu có quá nhiều trang. Hãy chia thành các tài liệu nhỏ hơn."


class UnknownDocumentTypeError(InputError):
    code = "input.unknown_doc_type"
    default_message = "Loại giấy tờ không hợp lệ. Hãy chọn một loại trong danh sách."


class NoTextError(InputError):
    """Nothing readable: a blank page, the wrong side, a far too blurred photo."""

    code = "input.no_text"
    default_message = (
        "Không thấy chữ nào trên bản quét (trang trắng, ảnh quá nhỏ hoặc quá mờ). "
        "Hãy kiểm tra đã quét đúng mặt giấy tờ rồi quét lại ở 300 dpi."
    )


class TooComplexError(InputError):
    """Reading the file went past its memory or time budget: a bomb, a loop, or a parser crash."""

    code = "input.too_complex"
    default_message = (
        "Tệp quá phức tạp để đọc trong giới hạn bộ nhớ và thời gian cho phép (có thể là tệp lỗi hoặc "
        "tệp được tạo có chủ đích). Hãy quét lại bản giấy thành ảnh JPEG hoặc tệp PDF thông thường."
    )


class PageTooSmallError(InputError):
    """A legitimate page, too small in pixels to be a scan of a paper document."""

    code = "input.page_too_small"
    default_message = (
        "Trang quá nhỏ để là một bản quét của giấy tờ. Hãy quét lại bản chính ở 300 dpi, đủ cả trang."
    )


# ---- processing ----------------------------------------------------------------------------
class OcrError(EcopyError):
    code = "ocr.failed"
    default_message = "Không nhận dạng được chữ trên bản quét. Vui lòng quét lại rõ hơn."


class OcrTimeoutError(OcrError):
    code = "ocr.timeout"
    retryable = True
    default_message = "Nhận dạng chữ quá lâu. Hệ thống sẽ thử lại; nếu vẫn lỗi, hãy quét lại rõ hơn."


class OcrModelError(OcrError):
    """The OCR model folder is incomplete: a deployment fault, not the scan's."""

    code = "ocr.model_missing"
    http_status = 503
    default_message = "Máy chủ thiếu dữ liệu nhận dạng chữ. Vui lòng báo cho quản trị viên."


class ExtractionError(EcopyError):
    code = "extract.failed"
    default_message = "Không trích xuất được thông tin giấy tờ. Vui lòng nhập tay các trường cần thiết."


class RenderError(EcopyError):
    code = "render.failed"
    default_message = "Không tạo được bản sao điện tử. Vui lòng báo cho quản trị viên."


class SigningError(EcopyError):
    code = "sign.failed"
    default_message = "Không ký số được bản sao. Kiểm tra chứng thư số hoặc thiết bị ký rồi thử lại."


class TimestampError(SigningError):
    code = "sign.timestamp_unavailable"
    retryable = True
    default_message = "Không lấy được dấu thời gian. Hệ thống sẽ thử lại sau ít phút."


class RevocationUnavailableError(SigningError):
    """OCSP/CRL for the signer's (or the TSA's) chain could not be fetched: a long-term (B-LT/B-LTA)
    signature or extension needs them, so nothing was signed."""

    code = "sign.revocation_unavailable"
    retryable = True
    default_message = (
        "Không lấy được thông tin thu hồi (OCSP/CRL) của chứng thư số để ký ở mức dài hạn (B-LT/B-LTA). "
        "Hệ thống sẽ thử lại sau ít phút; nếu vẫn lỗi, hãy báo cho quản trị viên kiểm tra kết nối tới CA."
    )


class CertificateExpiredError(SigningError):
    code = "sign.certificate_expired"
    default_message = (
        "Chứng thư số của cơ quan đã hết hạn (hoặc chưa đến ngày hiệu lực) nên không thể ký. "
        "Hãy báo quản trị viên cài chứng thư số mới rồi ký lại."
    )


class CertificateRevokedError(SigningError):
    code = "sign.certificate_revoked"
    default_message = (
        "Chứng thư số của người ký đã bị thu hồi nên không thể ký. Hãy dùng chứng thư số còn hiệu lực rồi ký lại."
    )


class VerificationError(EcopyError):
    code = "verify.failed"
    http_status = 422
    default_message = "Không kiểm tra được tệp này. Hãy tải lên đúng tệp PDF bản sao điện tử."
