"""What a diagnosis says: stable codes, the Vietnamese sentence for each, and the result values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.models import SignatureReport

# ---- codes ----------------------------------------------------------------------------------------
# Stable English code → the sentence a receiving agency reads (its English twin: api/i18n.py _REASONS_EN).
# Technical detail goes in Finding.detail.
MESSAGES: dict[str, str] = {
    "file.unreadable": "Tệp không phải là tệp PDF đọc được.",
    "file.trailing_data": "Có dữ liệu lạ được gắn thêm sau điểm kết thúc của tệp.",
    "signature.no_byte_range": "Chữ ký số không khai báo phần dữ liệu được ký (thiếu ByteRange).",
    "signature.byte_range": "Phần dữ liệu được ký (ByteRange) bất thường: có phần của tệp nằm ngoài chữ ký.",
    "signature.subfilter": "Chữ ký số dùng định dạng không được chấp nhận.",
    "signature.zeroed": "Giá trị chữ ký số đã bị xóa trắng.",
    "signature.unparsable": "Không đọc được giá trị chữ ký số.",
    "signature.not_intact": "Nội dung đã ký bị thay đổi: chữ ký số không còn khớp với tệp.",
    "signature.invalid": "Chữ ký số không hợp lệ.",
    "signature.extra": "Tệp có thêm chữ ký số khác được thêm vào sau chữ ký của cơ quan chứng thực.",
    "signature.orphan": "Tệp chứa chữ ký số đã bị tách khỏi tài liệu.",
    "signature.foreign": "Chữ ký số trong tệp không phải của cơ quan chứng thực trong hệ thống.",
    "update.page_content": "Nội dung trang đã bị thay đổi sau khi ký.",
    "update.annotation": "Có chú thích hoặc hình vẽ được thêm hay sửa trên trang sau khi ký.",
    "update.form": "Có trường biểu mẫu được thêm hoặc điền sau khi ký.",
    "update.metadata": "Thông tin mô tả của tệp (metadata) đã bị sửa sau khi ký.",
    "update.structure": "Cấu trúc tài liệu đã bị thay đổi sau khi ký.",
    "update.validation_data": "Tệp được bổ sung dữ liệu kiểm chứng (dấu thời gian, chứng thư) sau khi ký.",
    "diagnosis.limit": "Không phân tích hết được tệp trong giới hạn thời gian và bộ nhớ cho phép.",
    "diagnosis.failed": "Không phân tích được tệp.",
}

# Findings that do not, by themselves, make an issued copy invalid: validation data is what
# B-LTA and later re-time-stamping add on purpose.
INFORMATIONAL = frozenset({"update.validation_data"})


# ---- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One thing found wrong (or, for ``update.validation_data``, worth saying) about a file."""

    code: str
    detail: str = ""  # technical, for logs and API users

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, MESSAGES["diagnosis.failed"])


@dataclass(frozen=True)
class SignerFacts:
    """Who a CMS signature found in the file says signed it, and whether that holds."""

    subject: str
    cert_sha256: str
    crypto_valid: bool  # the signature over its signed attributes verifies with that certificate
    chains: bool  # that certificate chains to one of our trust roots
    known: bool  # its fingerprint is one of our offices' signer certificates

    @property
    def ours(self) -> bool:
        """A signature our key really made: copying our certificate into a CMS is not enough."""
        return self.crypto_valid and (self.chains or self.known)


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`examine` (in-process) or :func:`diagnose` (child process) found."""

    findings: tuple[Finding, ...] = ()
    signers: tuple[SignerFacts, ...] = ()
    report: SignatureReport | None = None  # the first signature, as validate_signature reports it
    embedded_ecopy_id: str | None = None  # what the file claims; a hint for messages only
    completed: bool = True  # False when a time or memory limit stopped it
    elapsed_s: float = 0.0

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def carries_our_signature(self) -> bool:
        return any(s.ours for s in self.signers)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Findings that make even a copy on record fail."""
        return tuple(f for f in self.findings if f.code not in INFORMATIONAL)


Emit = Callable[[dict[str, Any]], None]


class _Collector:
    """Findings in order, one per code (details merged), forwarded to ``emit`` as they come."""

    def __init__(self, emit: Emit | None) -> None:
        self.emit = emit
        self.details: dict[str, list[str]] = {}

    def add(self, code: str, detail: str = "") -> None:
        self.details.setdefault(code, [])
        if detail and detail not in self.details[code]:
            self.details[code].append(detail)
        if self.emit is not None:
            self.emit({"finding": [code, detail[:500]]})

    def findings(self) -> tuple[Finding, ...]:
        return tuple(Finding(code, "; ".join(d)[:1000]) for code, d in self.details.items())


def _reraise_if_fatal(e: BaseException) -> None:
    """Hostile input may exhaust the child's memory: that must end the diagnosis, not one step of it."""
    if isinstance(e, MemoryError):
        raise e
