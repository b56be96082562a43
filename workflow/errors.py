"""The workflow's own rules, as errors: a step refused in the intake's current status, an office
without a signer, a missing reason, the job queue away, and what an archive batch source refuses.

The codes are stable (the API and the CLI answer with them); the messages say what to do.
"""

from __future__ import annotations

from pipeline.errors import EcopyError, InputError


# ---- the counter's steps ------------------------------------------------------------------------
class IntakeWrongStateError(EcopyError):
    code = "intake.wrong_state"
    http_status = 409
    default_message = "Hồ sơ không ở bước cho phép thao tác này. Tải lại trang để xem trạng thái hiện tại."

    def __init__(
        self, message: str | None = None, *, detail: str | None = None, status: str = "", action: str = ""
    ) -> None:
        super().__init__(message, detail=detail)
        self.status = status  # the intake's status when the step was refused
        self.action = action  # the step, in Vietnamese words ("gửi người ký")

    @classmethod
    def about(cls, intake_id: str, status: str, action: str) -> IntakeWrongStateError:
        """The step ``action`` is not allowed while the intake is in ``status``. The status words
        are the delivery room's (its labels, its language): it says them with :meth:`in_words`."""
        return cls(
            _wrong_state_message(action, status), detail=f"intake {intake_id} is {status}", status=status, action=action
        )

    def in_words(self, label: str) -> IntakeWrongStateError:
        """The same refusal, the status shown as ``label``."""
        return IntakeWrongStateError(
            _wrong_state_message(self.action, label), detail=self.detail, status=self.status, action=self.action
        )


def _wrong_state_message(action: str, status_words: str) -> str:
    return f"Không thể {action}: hồ sơ đang ở trạng thái “{status_words}”. Tải lại trang để xem trạng thái hiện tại."


class QueueUnavailableError(EcopyError):
    code = "queue.unavailable"
    retryable = True
    http_status = 503
    default_message = "Hàng đợi xử lý tạm thời không hoạt động. Hồ sơ chưa được nhận; vui lòng gửi lại sau ít phút."


class OwnerIdError(InputError):
    code = "input.owner_id"
    default_message = "Số định danh cá nhân của người yêu cầu phải gồm 12 chữ số (hoặc 9 chữ số với CMND cũ)."


class OfficeHasNoSignerError(EcopyError):
    code = "office.no_signer"
    http_status = 409
    default_message = (
        "Hệ thống này chỉ ký bản sao cho cơ quan đã cấu hình khóa ký. Hồ sơ thuộc cơ quan khác; hãy báo quản trị viên."
    )


class FieldsInvalidError(InputError):
    code = "input.fields"
    default_message = "Thông tin sửa không hợp lệ: chỉ sửa các trường của giấy tờ này, mỗi trường tối đa 500 ký tự."


class ReasonRequiredError(InputError):
    code = "input.reason_required"
    default_message = "Hãy ghi lý do."


# ---- batch sources: a folder, a ZIP file or an S3 prefix holding many documents --------------
class SourceNotFoundError(InputError):
    code = "input.source_not_found"
    http_status = 404
    default_message = (
        "Không tìm thấy thư mục, tệp ZIP hoặc đường dẫn S3 của lô, hoặc ở đó không có tệp nào. "
        "Hãy kiểm tra lại đường dẫn rồi chạy lại."
    )


class UnsafePathError(InputError):
    """A name that could lead outside the batch: '..', an absolute path, a drive letter, a backslash,
    a symbolic link, a duplicate name, a special file."""

    code = "input.unsafe_path"
    default_message = (
        "Hồ sơ có tên tệp hoặc đường dẫn không an toàn (ra ngoài thư mục, đường dẫn tuyệt đối, "
        "lối tắt/symlink hoặc tên trùng) nên bị từ chối. Hãy chép bản quét thật vào đúng thư mục hồ sơ "
        "với tên bình thường rồi tạo lại lô."
    )


class NestedArchiveError(InputError):
    code = "input.nested_archive"
    default_message = (
        "Hồ sơ chứa một tệp nén (ZIP, RAR, 7z, tar, gz…) bên trong. Hãy giải nén tệp đó, "
        "đưa các bản quét vào lô rồi chạy lại."
    )


class ZipBombError(InputError):
    """An entry that decompresses far beyond its compressed size, or beyond the size it declares."""

    code = "input.zip_bomb"
    default_message = (
        "Tệp trong ZIP có kích thước bất thường (nén quá mức hoặc khai sai kích thước) nên bị từ chối. "
        "Hãy nén lại các bản quét gốc bằng công cụ nén thông thường rồi chạy lại."
    )


class TooManyEntriesError(InputError):
    code = "input.too_many_entries"
    http_status = 413
    default_message = "Lô có quá nhiều tệp. Hãy chia thành nhiều lô nhỏ hơn rồi chạy từng lô."


class ArchiveTooLargeError(InputError):
    code = "input.archive_too_large"
    http_status = 413
    default_message = "Tổng dung lượng của lô quá lớn. Hãy chia thành nhiều lô nhỏ hơn rồi chạy từng lô."


class NestedFolderError(InputError):
    """A document folder of a batch holds a sub-folder: its pages must lie directly in it."""

    code = "input.nested_folder"
    default_message = (
        "Thư mục hồ sơ có thư mục con. Các trang của một hồ sơ phải nằm ngay trong thư mục hồ sơ: "
        "hãy chuyển các tệp ra khỏi thư mục con (hoặc tách thành hồ sơ riêng) rồi chạy lại."
    )


# ---- the document's type and title --------------------------------------------------------------
class TypeRequiredError(InputError):
    """The document was not recognised (or no type was named): no copy until a person names it."""

    code = "intake.type_required"
    http_status = 409
    default_message = (
        "Hệ thống không nhận ra loại giấy tờ này. Hãy chọn loại giấy tờ trong danh sách; nếu không có, "
        "chọn “Giấy tờ khác” và nhập đúng tên giấy tờ như in trên bản gốc."
    )


class DocTitleRequiredError(InputError):
    """A document of type "other" needs the title the clerk reads on it: the statement prints it."""

    code = "input.doc_title_required"
    default_message = (
        "Với loại “Giấy tờ khác”, hãy nhập tên giấy tờ đúng như in trên bản gốc "
        "(ví dụ: Bảng điểm toàn khóa); tên này được ghi trong lời chứng thực."
    )
