"""What every route needs: the app's services and limits (``AppState``) and the API's own errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from redis import Redis

from pipeline.errors import EcopyError
from storage.objectstore import ObjectStore
from storage.registry import Registry


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per window, per caller (address for the public, key or user for the rest)."""

    public_lookups: int = 30  # per minute and address: a person checks a few copies, not thousands
    public_misses: int = 10  # unknown IDs per 10 minutes and address: guessing IDs stops here
    agency_lookups: int = 600  # per minute and agency credential
    logins: int = 10  # failed sign-ins per 10 minutes and address + name


@dataclass
class AppState:
    registry: Registry
    store: ObjectStore
    redis: Redis
    trust_roots: Sequence[bytes]
    max_upload_bytes: int = 50 * 1024 * 1024
    office: str = ""  # the deployment's default office (the embedded default's only one)
    signing_offices: frozenset[str] = frozenset()  # offices the signer workers hold keys for; empty: {office}
    reconcile_seconds: float | None = None  # re-queue counter intakes whose job was lost; None: off
    public_url: str = "http://127.0.0.1:8000"  # base of /v/{id} links printed on receipts
    rate_limits: RateLimits = field(default_factory=RateLimits)
    session_hours: float = 10.0  # a counter shift
    secure_cookies: bool = False  # True behind HTTPS
    approve_wait_seconds: float = 8.0  # how long an approval waits for the signer worker before answering

    def signs_for(self) -> frozenset[str]:
        return self.signing_offices or (frozenset({self.office}) if self.office else frozenset())


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ecopy
    return state


StateDep = Annotated[AppState, Depends(get_state)]


# ---- the API's errors (input, storage and workflow errors come from pipeline/, storage/, workflow/) --
class IntakeNotFoundError(EcopyError):
    code = "intake.not_found"
    http_status = 404
    default_message = "Không tìm thấy hồ sơ này (hoặc hồ sơ thuộc cơ quan khác). Kiểm tra lại mã hồ sơ."


class EcopyNotFoundError(EcopyError):
    code = "ecopy.not_found"
    http_status = 404
    default_message = "Không tìm thấy bản sao điện tử có mã này. Kiểm tra lại từng ký tự của mã."


class AuthRequiredError(EcopyError):
    code = "auth.required"
    http_status = 401
    default_message = "Cần đăng nhập (hoặc gửi khóa API) để dùng chức năng này."


class AuthInvalidError(EcopyError):
    code = "auth.invalid"
    http_status = 401
    default_message = "Tên đăng nhập, mật khẩu hoặc khóa API không đúng, hoặc đã bị thu hồi."


class ForbiddenError(EcopyError):
    code = "auth.forbidden"
    http_status = 403
    default_message = "Tài khoản của bạn không có quyền thực hiện thao tác này."


class CsrfError(EcopyError):
    code = "auth.csrf"
    http_status = 403
    default_message = "Phiên làm việc không hợp lệ cho thao tác này. Hãy tải lại trang rồi thử lại."


class RateLimitedError(EcopyError):
    code = "rate.limited"
    http_status = 429
    retryable = True
    default_message = "Bạn đã tra cứu quá nhiều lần trong thời gian ngắn. Vui lòng đợi vài phút rồi thử lại."

    def __init__(self, message: str | None = None, *, detail: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after
