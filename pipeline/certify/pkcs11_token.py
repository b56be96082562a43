"""Signing keys on a PKCS#11 token (a USB token, an HSM, SoftHSM2 in tests).

A signer logs in once and signs a whole batch in that one session: opening a session and
logging in costs far more than a signature on most tokens, and every login with a wrong PIN
brings the token closer to locking itself.

Three facts of PKCS#11 shape this module:

* A login belongs to the *process*, not to the session: a second ``C_Login`` on a token the
  process is already logged in to fails (``CKR_USER_ALREADY_LOGGED_IN``) and ``C_Logout`` on any
  session logs all of them out. So keys on the same token share one session here, counted by
  users, and the session closes when the last key using it closes.
* After ``fork()`` a child must initialise the module again and must not use the parent's
  sessions (RQ forks a work-horse per job). A key opened in a child does both.
* Many tokens (SoftHSM2 among them) offer only raw ``CKM_ECDSA`` for EC keys, not
  ``CKM_ECDSA_SHA256``; the mechanism is picked from what the token offers.

A freshly opened key signs one random challenge and checks it against the certificate, so a
key/certificate mix-up on the token is reported when the signer opens the token, not found
later in copies that do not validate.

Never retry an open that failed with a wrong PIN automatically: the token locks after a few.
The PIN is never logged, shown or kept in this process beyond the session it opened.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import exceptions as p11_errors
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from pipeline.certify.pades import SigningKey, signing_key_from_signer
from pipeline.errors import SigningError

log = logging.getLogger(__name__)

SOFTHSM2_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


# ---- errors: each says what the operator should check -------------------------------------------
class TokenError(SigningError):
    code = "sign.token_failed"
    default_message = "Không dùng được token ký số. Kiểm tra token đã cắm vào máy ký và cấu hình token rồi thử lại."


class TokenModuleError(TokenError):
    code = "sign.token_module"


class TokenNotFoundError(TokenError):
    code = "sign.token_not_found"


class TokenPinError(TokenError):
    code = "sign.token_pin_incorrect"


class TokenLockedError(TokenError):
    code = "sign.token_pin_locked"


class TokenObjectError(TokenError):
    """The key or certificate named in the configuration is missing, ambiguous or mismatched."""

    code = "sign.token_key_not_found"


# ---- what to open --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pkcs11KeySpec:
    """Where a signing key lives. Tokens are chosen by label (slot numbers change when tokens
    are plugged in or created). ``other_certs``: PEM or DER chain certificates (intermediates,
    root) to embed in every signature, so a verifier can build the chain from the file alone."""

    token_label: str
    pin: str = field(repr=False)
    key_label: str
    cert_label: str | None = None  # None → same as key_label
    module_path: str = SOFTHSM2_MODULE
    other_certs: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def certificate_label(self) -> str:
        return self.cert_label if self.cert_label is not None else self.key_label


class _CountingPkcs11Signer(PKCS11Signer):
    """pyHanko's token signer, counting the signatures the token really made."""

    signatures_made: int = 0
    closed: bool = False  # another key may keep the shared session open: refuse on our own

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if self.closed and not dry_run:
            raise TokenError(detail="this token key was closed; open it again to sign")
        signature = await super().async_sign_raw(data, digest_algorithm, dry_run=dry_run)
        if not dry_run:
            self.signatures_made += 1
        return signature


# ---- one logged-in session per token and process -------------------------------------------------
@dataclass
class _TokenSession:
    session: Any  # pkcs11.Session
    pin_digest: bytes
    pid: int
    users: int = 0


_lock = threading.Lock()
_open: dict[tuple[str, str], _TokenSession] = {}
_module_pid: dict[str, int] = {}
_pin_salt = secrets.token_bytes(16)
_sessions_opened = 0


def pkcs11_sessions_opened() -> int:
    """PKCS#11 sessions this process has opened so far (for tests and the benchmark)."""
    return _sessions_opened


def _pin_digest(pin: str) -> bytes:
    return hmac.new(_pin_salt, pin.encode(), hashlib.sha256).digest()


class Pkcs11Key:
    """A signing key on a token, logged in. Use ``.key`` with :func:`pipeline.certify.pades.sign_pdf` for
    as many documents as needed, then :meth:`close` (or use it as a context manager)."""

    def __init__(self, spec: Pkcs11KeySpec, signer: _CountingPkcs11Signer, key: SigningKey, opened: int) -> None:
        self.spec = spec
        self.key = key
        self.sessions_opened = opened  # sessions opened for this key: 1, or 0 when it shares one
        self._signer = signer
        self._closed = False

    @property
    def signatures(self) -> int:
        """Signatures the token made through this key (the opening self-test not counted)."""
        return self._signer.signatures_made

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._signer.closed = True
        _release(self.spec)

    def __enter__(self) -> Pkcs11Key:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Pkcs11Key {self.spec.token_label}/{self.spec.key_label} {self.key.cert_sha256[:16]} {state}>"


def open_pkcs11_key(spec: Pkcs11KeySpec) -> Pkcs11Key:
    """Log in to the token (or join this process's session on it) and load key and certificate.

    Raises a :class:`TokenError` (a :class:`SigningError`) saying what to check: the module path,
    the token label, the PIN, the key or certificate label.
    """
    session, opened = _acquire(spec)
    try:
        cert = _find_certificate(session, spec)
        _require_private_key(session, spec)
        signer = _CountingPkcs11Signer(
            session,
            cert_label=spec.certificate_label,  # not signing_cert=: pyHanko would then embed it twice
            key_label=spec.key_label,
            ca_chain=_load_chain(spec.other_certs),
            use_raw_mechanism=_needs_raw_ecdsa(session, cert),
        )
        _self_test(signer, cert, spec)
        signer.signatures_made = 0
        key = signing_key_from_signer(signer)
    except BaseException:
        _release(spec)
        raise
    log.info(
        "opened signing key %r on token %r (certificate %s, %s session)",
        spec.key_label,
        spec.token_label,
        key.cert_sha256[:16],
        "new" if opened else "shared",
    )
    return Pkcs11Key(spec, signer, key, opened)


def _acquire(spec: Pkcs11KeySpec) -> tuple[Any, int]:
    global _sessions_opened
    ident = (spec.module_path, spec.token_label)
    with _lock:
        pid = os.getpid()
        shared = _open.get(ident)
        if shared is not None and shared.pid != pid:
            del _open[ident]  # the parent's session: not ours to use or to log out
            shared = None
        if shared is not None:
            if not hmac.compare_digest(shared.pin_digest, _pin_digest(spec.pin)):
                raise _pin_error(spec, "PIN differs from the one this process logged in with")
            shared.users += 1
            return shared.session, 0
        session = _open_session(spec, pid)
        _open[ident] = _TokenSession(session=session, pin_digest=_pin_digest(spec.pin), pid=pid, users=1)
        _sessions_opened += 1
        return session, 1


def _release(spec: Pkcs11KeySpec) -> None:
    ident = (spec.module_path, spec.token_label)
    with _lock:
        shared = _open.get(ident)
        if shared is None or shared.pid != os.getpid():
            return
        shared.users -= 1
        if shared.users > 0:
            return
        del _open[ident]
        try:
            shared.session.close()  # C_Logout + C_CloseSession
        except Exception as e:  # the token may be gone already; nothing left to release
            log.warning("closing the session on token %r failed: %s", spec.token_label, e)


def _open_session(spec: Pkcs11KeySpec, pid: int) -> Any:
    if not os.path.isfile(spec.module_path):
        raise TokenModuleError(
            f"Không tìm thấy thư viện PKCS#11 của thiết bị ký số tại «{spec.module_path}». "
            "Kiểm tra đã cài trình điều khiển (driver) của token và đường dẫn thư viện trong cấu hình.",
            detail=f"no such file: {spec.module_path}",
        )
    try:
        lib = pkcs11.lib(spec.module_path)
        if _module_pid.setdefault(spec.module_path, pid) != pid:
            lib.reinitialize()  # a forked child: PKCS#11 wants C_Initialize again
            _module_pid[spec.module_path] = pid
    except p11_errors.PKCS11Error as e:
        raise TokenModuleError(
            f"Không tải được thư viện PKCS#11 «{spec.module_path}». "
            "Kiểm tra trình điều khiển của token đã được cài đúng cho máy này.",
            detail=f"{type(e).__name__}: {e}",
        ) from e
    try:
        return open_pkcs11_session(
            spec.module_path, token_criteria=TokenCriteria(label=spec.token_label), user_pin=spec.pin
        )
    except (p11_errors.PinIncorrect, p11_errors.PinInvalid, p11_errors.PinLenRange) as e:
        raise _pin_error(spec, type(e).__name__) from e
    except (p11_errors.PinLocked, p11_errors.PinExpired) as e:
        raise TokenLockedError(
            f"Mã PIN của token ký số «{spec.token_label}» đã bị khóa hoặc hết hạn (do nhập sai nhiều lần). "
            "Không thử lại: hãy liên hệ đơn vị cấp chứng thư số để mở khóa hoặc đổi PIN.",
            detail=f"{type(e).__name__} on token {spec.token_label!r}",
        ) from e
    except p11_errors.UserAlreadyLoggedIn as e:  # someone else in this process logged in without us
        raise TokenError(
            f"Token ký số «{spec.token_label}» đang được một phần mềm khác trong cùng tiến trình sử dụng. "
            "Hãy khởi động lại dịch vụ ký.",
            detail="CKR_USER_ALREADY_LOGGED_IN outside pipeline.certify.pkcs11_token",
        ) from e
    except p11_errors.PKCS11Error as e:
        if "No token matching" in str(e):
            raise TokenNotFoundError(
                f"Không tìm thấy token ký số có nhãn «{spec.token_label}». "
                "Kiểm tra token đã được cắm vào máy ký và nhãn token trong cấu hình.",
                detail=f"{e}; tokens present: {_token_labels(spec.module_path)}",
            ) from e
        raise TokenError(detail=f"opening a session on token {spec.token_label!r}: {type(e).__name__}: {e}") from e


def _pin_error(spec: Pkcs11KeySpec, why: str) -> TokenPinError:
    return TokenPinError(
        f"Sai mã PIN của token ký số «{spec.token_label}». Kiểm tra mã PIN trong cấu hình; "
        "không thử lại nhiều lần vì token sẽ tự khóa khi nhập sai quá số lần cho phép.",
        detail=f"login refused on token {spec.token_label!r}: {why}",
    )


def _token_labels(module_path: str) -> list[str]:
    try:
        return [slot.get_token().label for slot in pkcs11.lib(module_path).get_slots(token_present=True)]
    except Exception:
        return []


def _find_one(session: Any, query: dict[Attribute, Any]) -> list[Any]:
    return list(session.get_objects(query))


def _find_certificate(session: Any, spec: Pkcs11KeySpec) -> asn1_x509.Certificate:
    label = spec.certificate_label
    found = _find_one(session, {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label})
    if len(found) != 1:
        raise TokenObjectError(
            f"{'Không tìm thấy' if not found else 'Có nhiều hơn một'} chứng thư số có nhãn «{label}» "
            f"trên token «{spec.token_label}». Kiểm tra nhãn chứng thư số trong cấu hình.",
            detail=f"{len(found)} certificate object(s) labelled {label!r}",
        )
    try:
        return asn1_x509.Certificate.load(found[0][Attribute.VALUE])
    except Exception as e:
        raise TokenObjectError(
            f"Chứng thư số «{label}» trên token «{spec.token_label}» bị hỏng, không đọc được.",
            detail=f"{type(e).__name__}: {e}",
        ) from e


def _require_private_key(session: Any, spec: Pkcs11KeySpec) -> None:
    found = _find_one(
        session, {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.SIGN: True, Attribute.LABEL: spec.key_label}
    )
    if len(found) != 1:
        raise TokenObjectError(
            f"{'Không tìm thấy' if not found else 'Có nhiều hơn một'} khóa ký có nhãn «{spec.key_label}» "
            f"trên token «{spec.token_label}». Kiểm tra nhãn khóa trong cấu hình.",
            detail=f"{len(found)} signing private key object(s) labelled {spec.key_label!r}",
        )


def _load_chain(other_certs: tuple[bytes, ...]) -> list[asn1_x509.Certificate]:
    chain: list[asn1_x509.Certificate] = []
    for data in other_certs:
        try:
            chain.extend(load_certs_from_pemder_data(data))
        except Exception as e:
            raise SigningError(
                "Không đọc được chứng thư số của chuỗi chứng thực (CA) trong cấu hình.",
                detail=f"other_certs: {type(e).__name__}: {e}",
            ) from e
    return chain


def _needs_raw_ecdsa(session: Any, cert: asn1_x509.Certificate) -> bool:
    """EC keys: hash here and sign with raw CKM_ECDSA when the token lacks CKM_ECDSA_SHA256."""
    if cert.public_key.algorithm != "ec":
        return False
    mechanisms = session.token.slot.get_mechanisms()
    return Mechanism.ECDSA_SHA256 not in mechanisms and Mechanism.ECDSA in mechanisms


def _self_test(signer: _CountingPkcs11Signer, cert: asn1_x509.Certificate, spec: Pkcs11KeySpec) -> None:
    """Sign a random challenge on the token and verify it with the certificate's public key."""
    challenge = b"ecopy token self-test " + secrets.token_bytes(16)
    try:
        signature = asyncio.run(signer.async_sign_raw(challenge, "sha256"))
    except Exception as e:
        raise TokenError(
            f"Token ký số «{spec.token_label}» không ký được bằng khóa «{spec.key_label}». "
            "Kiểm tra khóa có quyền ký và token hỗ trợ thuật toán của khóa.",
            detail=f"self-test signature failed: {type(e).__name__}: {e}",
        ) from e
    public_key = serialization.load_der_public_key(cert.public_key.dump())
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
        else:
            return  # other key types: pyHanko's own checks only
    except InvalidSignature as e:
        raise TokenObjectError(
            f"Khóa ký «{spec.key_label}» không khớp với chứng thư số «{spec.certificate_label}» trên token "
            f"«{spec.token_label}». Kiểm tra nhãn khóa và nhãn chứng thư số trong cấu hình.",
            detail="self-test signature does not verify with the certificate's public key",
        ) from e
