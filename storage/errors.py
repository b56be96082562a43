"""Errors of the storage layer: the object store and the registry.

Same shape as the rest of ecopy's error tree (``code``, ``retryable``, ``http_status``, a Vietnamese
``message`` that tells a clerk what to do, a technical ``detail``), but defined here because
``storage/`` imports nothing from the project. The API handler and the job wrapper translate
these by their attributes, exactly as they do ``pipeline.errors.EcopyError``.
"""

from __future__ import annotations


class StorageError(Exception):
    code: str = "storage.error"
    retryable: bool = False
    http_status: int = 500
    default_message: str = "Lỗi lưu trữ dữ liệu. Vui lòng thử lại hoặc báo cho quản trị viên."

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        self.message = message or self.default_message
        self.detail = detail  # technical detail for logs / API users, never shown alone to a clerk
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message, "retryable": self.retryable}
        if self.detail:
            out["detail"] = self.detail
        return out


# ---- object store ----------------------------------------------------------------------------
class StorageUnavailableError(StorageError):
    code = "storage.unavailable"
    retryable = True
    http_status = 503
    default_message = (
        "Kho lưu trữ tạm thời không truy cập được. Hệ thống sẽ tự thử lại; nếu lỗi kéo dài, hãy báo cho quản trị viên."
    )


class StorageAccessDeniedError(StorageError):
    """Wrong credentials or missing permissions: retrying will not help, an admin must fix it."""

    code = "storage.access_denied"
    default_message = "Kho lưu trữ từ chối truy cập (sai khóa hoặc thiếu quyền). Hãy báo cho quản trị viên."


class ObjectExistsError(StorageError):
    """A write-once object already holds different bytes."""

    code = "storage.object_exists"
    http_status = 409
    default_message = (
        "Tệp này đã được lưu trước đó với nội dung khác và không được phép ghi đè. Hãy báo cho quản trị viên."
    )


class ImmutableObjectError(StorageError):
    """Someone tried to delete an issued (write-once) object."""

    code = "storage.immutable"
    http_status = 409
    default_message = (
        "Bản sao điện tử đã cấp không được xóa hay sửa. Muốn hủy hoặc đính chính, hãy thu hồi bản sao và cấp bản mới."
    )


class ObjectNotFoundError(StorageError):
    code = "storage.not_found"
    http_status = 404
    default_message = "Không tìm thấy tệp trong kho lưu trữ. Kiểm tra lại mã hồ sơ hoặc tải tệp lên lại."


class InvalidKeyError(StorageError):
    """An object key that could escape its folder or that S3 and file systems disagree about."""

    code = "storage.invalid_key"
    http_status = 400
    default_message = "Tên tệp lưu trữ không hợp lệ. Hãy báo cho quản trị viên."


class ObjectCorruptError(StorageError):
    """Stored bytes no longer match the SHA-256 recorded when they were written."""

    code = "storage.corrupt"
    default_message = (
        "Tệp trong kho lưu trữ đã bị thay đổi hoặc hỏng so với lúc lưu. Không dùng tệp này; "
        "hãy báo ngay cho quản trị viên."
    )


# ---- registry --------------------------------------------------------------------------------
class RegistryError(StorageError):
    code = "registry.failed"
    default_message = "Lỗi sổ đăng ký bản sao điện tử. Vui lòng thử lại hoặc báo cho quản trị viên."


class NotFoundError(RegistryError):
    code = "registry.not_found"
    http_status = 404
    default_message = "Không tìm thấy hồ sơ hoặc bản sao với mã này. Kiểm tra lại mã đã nhập."


class DuplicateError(RegistryError):
    """A unique fact (e-copy ID, SHA-256 of the issued bytes, intake ID) is already registered."""

    code = "registry.duplicate"
    http_status = 409
    default_message = "Bản ghi này đã tồn tại trong sổ đăng ký. Hãy tra cứu bản đã cấp thay vì cấp lại."


class InvalidStateError(RegistryError):
    """A state change the registry does not allow (e.g. revoking an already superseded copy)."""

    code = "registry.invalid_state"
    http_status = 409
    default_message = "Không thể thực hiện thao tác này với trạng thái hiện tại của bản sao."
