"""Who is asking, and what they may do.

Two kinds of credential, both bound to a role and an office (or, for a verifier, an agency):
* a **user** (name + password, Argon2-hashed) signs in on the web pages and gets a session cookie;
* an **API key** ``ek_<id>_<secret>`` (stored as the SHA-256 of the secret; 160 random bits) is sent
  as ``Authorization: Bearer …`` or ``X-API-Key``, or typed once on the sign-in page.

Cookie-authenticated requests that change something must echo the session's CSRF token in
``X-CSRF-Token``: a page of another site cannot read it, so it cannot act as the clerk.

The rules of who may do what live here (``require_role``, ``load_intake_for``, ``ecopy_access``), so
the routes read as a list of checks and the tests can walk every role × endpoint.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request, Response

from api import ratelimit
from api.i18n import role_label
from api.state import (
    AppState,
    AuthInvalidError,
    AuthRequiredError,
    CsrfError,
    ForbiddenError,
    IntakeNotFoundError,
    get_state,
)
from storage.access import ROLES, ApiKeyRecord, SessionRecord, UserRecord
from storage.registry import EcopyRecord, IntakeRecord, Registry

log = logging.getLogger(__name__)

SESSION_COOKIE = "ecopy_session"
CSRF_COOKIE = "ecopy_csrf"
CSRF_HEADER = "X-CSRF-Token"
KEY_PREFIX = "ek_"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_hasher = PasswordHasher()
# Compared against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

RoleName = Literal["clerk", "signer", "verifier", "admin"]


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "key"]
    id: str
    name: str  # username, or the key's label
    role: RoleName
    office: str  # the office of a clerk, signer or admin; the agency of a verifier
    display_name: str

    @property
    def actor(self) -> str:
        return f"user:{self.name}" if self.kind == "user" else f"key:{self.id}"

    def to_dict(self) -> dict[str, str]:
        return {
            "actor": self.actor,
            "kind": self.kind,
            "name": self.name,
            "display_name": self.display_name,
            "role": self.role,
            "office": self.office,
        }


def _b32(n: int) -> str:
    return base64.b32encode(secrets.token_bytes(n)).decode().rstrip("=").lower()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- creating credentials (ecopy admin …) ------------------------------------------------------
def _check_role_office(role: str, office: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not office.strip():
        raise ValueError("an office (or, for a verifier, an agency) is required")


def new_user(
    registry: Registry, *, username: str, role: str, office: str, display_name: str = "", password: str = ""
) -> tuple[UserRecord, str]:
    """Create a user; returns it and its password (generated when none is given: shown once)."""
    _check_role_office(role, office)
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValueError("a username is 1-64 characters without spaces")
    password = password or "-".join(_b32(3)[:5] for _ in range(4))
    if len(password) < 10:
        raise ValueError("a password has at least 10 characters")
    rec = UserRecord(
        id=uuid.uuid4().hex,
        username=username,
        password_hash=_hasher.hash(password),
        role=role,
        office=office.strip(),
        display_name=display_name.strip() or username,
    )
    return registry.create_user(rec), password


def new_api_key(registry: Registry, *, role: str, office: str, label: str = "") -> tuple[ApiKeyRecord, str]:
    """Create an API key; returns it and the key itself (shown once, stored only as a hash)."""
    _check_role_office(role, office)
    key_id, secret = _b32(7)[:10], _b32(20)
    rec = ApiKeyRecord(
        id=key_id,
        secret_sha256=_sha256(secret),
        role=role,
        office=office.strip(),
        label=label.strip() or f"Khóa API · {role_label('vi', role)}",
    )
    return registry.create_api_key(rec), f"{KEY_PREFIX}{key_id}_{secret}"


# ---- resolving credentials ---------------------------------------------------------------------
def _user_principal(user: UserRecord) -> Principal:
    return Principal("user", user.id, user.username, user.role, user.office, user.display_name)  # type: ignore[arg-type]


def _key_principal(key: ApiKeyRecord) -> Principal:
    return Principal("key", key.id, key.label, key.role, key.office, key.label)  # type: ignore[arg-type]


def principal_for_key(state: AppState, presented: str) -> Principal:
    presented = presented.strip()
    parts = presented[len(KEY_PREFIX) :].split("_", 1) if presented.startswith(KEY_PREFIX) else []
    if len(parts) != 2:
        raise AuthInvalidError(detail="malformed API key")
    key = state.registry.get_api_key(parts[0])
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.secret_sha256, _sha256(parts[1])):
        raise AuthInvalidError(detail="unknown or revoked API key")
    return _key_principal(key)


def _principal_for_session(state: AppState, session: SessionRecord) -> Principal | None:
    if session.principal_kind == "user":
        user = state.registry.get_user(session.principal_id)
        return _user_principal(user) if user is not None and user.disabled_at is None else None
    key = state.registry.get_api_key(session.principal_id)
    return _key_principal(key) if key is not None and key.revoked_at is None else None


def _session(state: AppState, request: Request) -> SessionRecord | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    session = state.registry.get_session(_sha256(token))
    if session is None or session.expires_at <= dt.datetime.now(dt.UTC):
        return None
    return session


def page_principal(request: Request) -> Principal | None:
    """The signed-in person of a web page (session cookie), or None."""
    state = get_state(request)
    session = _session(state, request)
    return _principal_for_session(state, session) if session is not None else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def api_principal(request: Request) -> Principal | None:
    """The caller of an API route: an API key header, else the session cookie (with the CSRF
    header on anything that changes state), else None (the public)."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    state = get_state(request)
    presented = request.headers.get("x-api-key") or ""
    authorization = request.headers.get("authorization") or ""
    if authorization.lower().startswith("bearer "):
        presented = authorization[7:]
    principal: Principal | None
    if presented:
        principal = principal_for_key(state, presented)
    else:
        session = _session(state, request)
        principal = _principal_for_session(state, session) if session is not None else None
        if principal is not None and session is not None and request.method not in _SAFE_METHODS:
            if not hmac.compare_digest(request.headers.get(CSRF_HEADER.lower(), ""), session.csrf):
                raise CsrfError(detail="cookie-authenticated request without the session's X-CSRF-Token")
    request.state.principal = principal
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(api_principal)]


def require_role(*roles: RoleName) -> Callable[[Request], Principal]:
    """A dependency: the caller, who must have one of ``roles`` (401 without credentials, 403 with others)."""

    def dependency(request: Request) -> Principal:
        principal = api_principal(request)
        if principal is None:
            raise AuthRequiredError()
        if principal.role not in roles:
            raise ForbiddenError(detail=f"role {principal.role} may not do this; needs {' or '.join(roles)}")
        return principal

    return dependency


# ---- signing in on the web ---------------------------------------------------------------------
def authenticate_login(
    state: AppState, *, username: str = "", password: str = "", api_key: str = "", client: str
) -> Principal:
    if api_key.strip():
        ratelimit.peek(state.redis, "login", client, limit=state.rate_limits.logins, window=600)
        try:
            return principal_for_key(state, api_key)
        except AuthInvalidError:
            ratelimit.hit(state.redis, "login", client, limit=state.rate_limits.logins, window=600)
            raise
    who = f"{client}|{username.strip().lower()}"
    ratelimit.peek(state.redis, "login", who, limit=state.rate_limits.logins, window=600)
    user = state.registry.get_user_by_username(username.strip()) if username.strip() else None
    try:
        _hasher.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
        ok = user is not None and user.disabled_at is None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        ratelimit.hit(state.redis, "login", who, limit=state.rate_limits.logins, window=600)
        raise AuthInvalidError(detail="wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        state.registry.set_user_password(user.id, _hasher.hash(password))
    return _user_principal(user)


def open_session(state: AppState, response: Response, principal: Principal) -> None:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = dt.datetime.now(dt.UTC)
    ttl = dt.timedelta(hours=state.session_hours)
    state.registry.create_session(
        SessionRecord(
            token_sha256=_sha256(token),
            principal_kind=principal.kind,
            principal_id=principal.id,
            csrf=csrf,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    max_age = int(ttl.total_seconds())
    common = {"max_age": max_age, "secure": state.secure_cookies, "samesite": "lax", "path": "/"}
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]
    log.info("%s signed in (%s, %s)", principal.actor, principal.role, principal.office)


def close_session(state: AppState, request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        state.registry.delete_session(_sha256(token))
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def actor_names(registry: Registry, actors: Iterable[str | None]) -> dict[str, str]:
    """How people are shown: ``user:lan`` → "Trần Thị Lan", ``key:ab12…`` → the key's label."""
    return registry.actor_display_names(actors)


# ---- object-level rules ------------------------------------------------------------------------
STAFF: tuple[RoleName, ...] = ("clerk", "signer", "admin")


def same_office(principal: Principal, office: str) -> bool:
    return principal.role == "admin" or principal.office == office


def load_intake_for(
    state: AppState, principal: Principal | None, intake_id: str, *, roles: Iterable[RoleName] = STAFF
) -> IntakeRecord:
    """The intake, if ``principal`` has one of ``roles`` and belongs to its office (admins: any).
    Another office's intake answers 404, as if it did not exist."""
    if principal is None:
        raise AuthRequiredError()
    allowed = tuple(roles)
    if principal.role not in allowed:
        raise ForbiddenError(detail=f"role {principal.role} may not do this; needs {' or '.join(allowed)}")
    intake = state.registry.get_intake(intake_id)
    if intake is None or not same_office(principal, intake.office):
        raise IntakeNotFoundError(detail=intake_id)
    return intake


@dataclass(frozen=True)
class EcopyAccess:
    full: bool  # the record's fields and the PDF
    lookups: bool  # who looked it up
    revoke: bool


def ecopy_access(principal: Principal | None, rec: EcopyRecord | None) -> EcopyAccess:
    """Agencies see every copy in full (that is their job); the issuing office sees its own copies
    and who looked them up; admins everything; the public only the verdict and the minimum."""
    if principal is None or rec is None:
        return EcopyAccess(False, False, False)
    own = principal.role in STAFF and same_office(principal, rec.office)
    return EcopyAccess(
        full=principal.role == "verifier" or own,
        lookups=own,
        revoke=own and principal.role in ("signer", "admin"),
    )
