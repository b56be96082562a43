"""The signed payload in an e-copy's QR code: checking paper with no network.

The QR of a certification page holds ``{verify_url}#{token}``. Any phone camera opens the URL (the
fragment never reaches the server); a verifier that has the offices' public keys checks ``token``
alone, offline, as the EU Digital COVID Certificate and France's 2D-Doc are checked.

``token`` is a **JWS compact serialization, ES256** (RFC 7515/7518): ECDSA P-256 over SHA-256,
signature as raw ``r || s`` (64 bytes), every part base64url without padding; WebCrypto verifies
exactly that in a browser. It is signed with the office's own PDF signing key, so the trust list
and key rotation are the PDF signatures' ones:

* header ``{"alg":"ES256","kid":K}``; ``K`` = base64url of the first 8 bytes of the SHA-256 of the
  signer certificate's DER (:func:`key_id`);
* payload (short member names: the QR must stay small enough to read from a photo of paper)::

      {"i": e-copy ID, "t": document type, "d": issue date "YYYYMMDD" (Vietnam's civil date),
       "o": office, "h": fields hash}

  as compact UTF-8 JSON (no ``\\u`` escapes). ``h`` is :func:`fields_digest` of the copy's key fields.

A check (:func:`verify_token`) runs in this order, and the JavaScript of the verification page
(``api/static/qrcheck.js``) runs the same one: well-formed (else ``qr.malformed``) → ``kid`` one of
our offices' keys (else ``qr.foreign``) → signature (else ``qr.tampered``) → the claimed office is
the key's office (else ``qr.foreign``) → the issue date lies within the key certificate's validity
(else ``qr.outside_validity``) → the URL's ID is the payload's ID (else ``qr.id_mismatch``).
A signed payload says what was issued; whether the copy was revoked since is only known online.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.errors import SigningError
from pipeline.models import VN_TZ
from pipeline.qr import decode_qr

if TYPE_CHECKING:  # pyHanko is heavy to import; checking a QR never needs it
    from pipeline.sign import SigningKey

log = logging.getLogger(__name__)

ALG = "ES256"
KID_BYTES = 8
FIELDS_HASH_BYTES = 16
TRUST_LIST_FORMAT = "ecopy-keys/1"
TRUST_LIST_PATH = "/.well-known/ecopy-keys.json"
MAX_TOKEN_CHARS = 2000  # far beyond any QR we print; longer input is not ours
_P256_COORD = 32
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_DATE = re.compile(r"^\d{8}$")
_MAX_PHOTO_UPSCALE_PIXELS = 8_000_000  # a 200 dpi photo of A4 (≈5.5 MP) is still upscaled

QrStatus = Literal["valid", "tampered", "foreign", "malformed", "mismatch", "unsigned"]

# The person at the desk reads these; ``code`` is for programs (and the English page text, api/i18n.py).
MESSAGES: Mapping[str, str] = {
    "qr.valid": "Mã QR có chữ ký hợp lệ của {office} (kiểm tra không cần mạng).",
    "qr.tampered": (
        "Mã QR đã bị sửa: chữ ký không khớp với nội dung. Không chấp nhận giấy tờ này; "
        "hãy kiểm tra trực tuyến bằng mã bản sao."
    ),
    "qr.foreign": (
        "Mã QR không do cơ quan chứng thực nào trong danh sách tin cậy ký. Không chấp nhận giấy tờ này; "
        "hãy kiểm tra trực tuyến bằng mã bản sao."
    ),
    "qr.office_mismatch": (
        "Mã QR ghi cơ quan “{claimed}” nhưng được ký bằng khóa của {office}. Không chấp nhận giấy tờ này."
    ),
    "qr.outside_validity": (
        "Ngày cấp ghi trong mã QR ({date}) nằm ngoài thời hạn của chứng thư số đã ký mã. "
        "Không chấp nhận giấy tờ này; hãy kiểm tra trực tuyến."
    ),
    "qr.malformed": (
        "Không đọc được nội dung có chữ ký trong mã QR (mã bị hỏng, thiếu hoặc không phải mã bản sao điện tử). "
        "Hãy chụp lại mã QR rõ hơn hoặc nhập mã bản sao để kiểm tra trực tuyến."
    ),
    "qr.id_mismatch": (
        "Mã bản sao trong đường dẫn ({url_id}) khác với mã bản sao đã ký trong mã QR ({ecopy_id}). "
        "Không chấp nhận giấy tờ này."
    ),
    "qr.unsigned": (
        "Mã QR này chỉ chứa đường dẫn kiểm tra (bản sao cấp trước khi có mã QR ký số). "
        "Chỉ kiểm tra được trực tuyến: mở đường dẫn hoặc nhập mã bản sao."
    ),
}
STATUS_OF_CODE: Mapping[str, QrStatus] = {
    "qr.valid": "valid",
    "qr.tampered": "tampered",
    "qr.foreign": "foreign",
    "qr.office_mismatch": "foreign",
    "qr.outside_validity": "foreign",
    "qr.malformed": "malformed",
    "qr.id_mismatch": "mismatch",
    "qr.unsigned": "unsigned",
}


# ---- claims and their canonical forms -----------------------------------------------------------
@dataclass(frozen=True)
class QrClaims:
    """What the office vouches for in the QR (short JSON names in brackets)."""

    ecopy_id: str  # [i] canonical XXXX-XXXX-XXXX-XXXX-C
    doc_type: str  # [t] e.g. "birth_certificate"
    issued_on: dt.date  # [d] Vietnam's civil date of the certification, YYYYMMDD
    office: str  # [o] the issuing office, as in the trust list
    fields_hash: str  # [h] fields_digest() of the key fields

    def to_payload(self) -> dict[str, str]:
        return {
            "i": self.ecopy_id,
            "t": self.doc_type,
            "d": self.issued_on.strftime("%Y%m%d"),
            "o": unicodedata.normalize("NFC", self.office),
            "h": self.fields_hash,
        }

    @classmethod
    def from_payload(cls, obj: object) -> QrClaims | None:
        """The claims of a decoded payload, or None if it is not ours (unknown members are ignored)."""
        if not isinstance(obj, dict):
            return None
        values = [obj.get(k) for k in ("i", "t", "d", "o", "h")]
        if not all(isinstance(v, str) and v for v in values):
            return None
        i, t, d, o, h = (str(v) for v in values)
        ecopy_id = normalize_ecopy_id(i)
        if ecopy_id is None or not _DATE.match(d) or not _B64URL.match(h):
            return None
        try:
            issued_on = dt.date(int(d[:4]), int(d[4:6]), int(d[6:]))
        except ValueError:
            return None
        return cls(ecopy_id=ecopy_id, doc_type=t, issued_on=issued_on, office=o, fields_hash=h)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict: base64url alphabet, no padding, no whitespace (a JWS part as RFC 7515 writes it)."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError("not base64url") from e


def _compact_json(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def canonical_fields(fields: Mapping[str, str]) -> bytes:
    """The bytes :func:`fields_digest` hashes: ``{name: value}`` as JSON, UTF-8, every name and value
    Unicode NFC, members sorted by name (code point order), no whitespace between tokens, non-ASCII
    characters as themselves (no ``\\u`` escapes), values exactly as registered (not trimmed).
    E.g. ``{"full_name":"Nguyễn Thị Ánh Tuyết","sex":"Nữ"}``. An empty mapping is ``{}``."""
    nfc = {unicodedata.normalize("NFC", str(k)): unicodedata.normalize("NFC", str(v)) for k, v in fields.items()}
    return _compact_json(nfc)


def fields_digest(fields: Mapping[str, str]) -> str:
    """base64url (no padding) of the first 16 bytes of SHA-256(:func:`canonical_fields`): 22 characters.
    Whoever holds the copy's fields (the registry, an agency with full access) can recompute it."""
    return b64url(hashlib.sha256(canonical_fields(fields)).digest()[:FIELDS_HASH_BYTES])


def key_field_values(fields: Mapping[str, Any]) -> dict[str, str]:
    """``{name: value}`` from the registry's ``{name: {"value", "confidence"}}`` (plain strings pass)."""
    out: dict[str, str] = {}
    for name, f in fields.items():
        value = f.get("value") if isinstance(f, Mapping) else f
        out[str(name)] = str(value or "")
    return out


# ---- keys ------------------------------------------------------------------------------------------
def key_id(cert_der: bytes) -> str:
    """``kid``: base64url of the first 8 bytes of SHA-256 over the certificate's DER."""
    return b64url(hashlib.sha256(cert_der).digest()[:KID_BYTES])


def _load_cert(cert: bytes) -> x509.Certificate:
    if cert.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(cert)
    return x509.load_der_x509_certificate(cert)


@dataclass(frozen=True)
class TrustedKey:
    """One office certificate whose key may sign QR payloads."""

    kid: str
    office: str
    cert_sha256: str
    public_key: ec.EllipticCurvePublicKey = field(repr=False, compare=False)
    not_before: dt.datetime
    not_after: dt.datetime
    cert_pem: bytes = field(repr=False, default=b"")

    @property
    def jwk(self) -> dict[str, str]:
        """The public key as a JWK (RFC 7518 §6.2.1): what WebCrypto's ``importKey("jwk", …)`` takes."""
        nums = self.public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(nums.x.to_bytes(_P256_COORD, "big")),
            "y": b64url(nums.y.to_bytes(_P256_COORD, "big")),
        }

    def valid_on(self, day: dt.date) -> bool:
        """``day`` (a Vietnamese civil date) lies within the certificate's validity, ends included."""
        return self.not_before.astimezone(VN_TZ).date() <= day <= self.not_after.astimezone(VN_TZ).date()

    def to_entry(self) -> dict[str, str]:
        """One member of the published trust list (:func:`trust_list`)."""
        return {
            "kid": self.kid,
            "office": self.office,
            **self.jwk,
            "alg": ALG,
            "use": "sig",
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "cert_sha256": self.cert_sha256,
            "cert_pem": self.cert_pem.decode("ascii"),
        }


def trusted_key_from_cert(office: str, cert: bytes) -> TrustedKey | None:
    """The QR key of an office certificate (PEM or DER); None if its key is not EC P-256."""
    c = _load_cert(cert)
    pub = c.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or not isinstance(pub.curve, ec.SECP256R1):
        return None
    der = c.public_bytes(serialization.Encoding.DER)
    return TrustedKey(
        kid=key_id(der),
        office=unicodedata.normalize("NFC", office),
        cert_sha256=hashlib.sha256(der).hexdigest(),
        public_key=pub,
        not_before=c.not_valid_before_utc,
        not_after=c.not_valid_after_utc,
        cert_pem=c.public_bytes(serialization.Encoding.PEM),
    )


def trusted_keys_from_certs(items: Iterable[tuple[str, bytes]]) -> dict[str, TrustedKey]:
    """``{kid: TrustedKey}`` from ``(office, certificate PEM)`` pairs, e.g. the registry's
    ``signer_certificates()``. Certificates that cannot sign ES256 (RSA, another curve) or do not
    parse are left out, with a log line."""
    out: dict[str, TrustedKey] = {}
    for office, pem in items:
        try:
            key = trusted_key_from_cert(office, pem)
        except ValueError as e:
            log.warning("office %r: certificate not readable, left out of the QR trust list: %s", office, e)
            continue
        if key is None:
            log.info("office %r: certificate key is not EC P-256, it cannot sign QR payloads", office)
            continue
        out[key.kid] = key
    return out


def trust_list(trusted: Mapping[str, TrustedKey], generated_at: dt.datetime | None = None) -> dict[str, Any]:
    """The public trust list (``/.well-known/ecopy-keys.json``): a JWK Set whose members also carry
    the office, the certificate's validity and the certificate itself."""
    out: dict[str, Any] = {"format": TRUST_LIST_FORMAT, "alg": ALG}
    if generated_at is not None:
        out["generated_at"] = generated_at.isoformat()
    out["keys"] = [k.to_entry() for k in sorted(trusted.values(), key=lambda k: (k.office, k.not_before, k.kid))]
    return out


def trusted_keys_from_trust_list(data: Mapping[str, Any]) -> dict[str, TrustedKey]:
    """Read a trust list written by :func:`trust_list`. The key comes from each member's certificate
    (``cert_pem``), never from its ``x``/``y`` alone; ValueError if the document is not a trust list."""
    keys = data.get("keys") if isinstance(data, Mapping) else None
    if not isinstance(keys, list):
        raise ValueError("not an ecopy trust list: no 'keys' array")
    items: list[tuple[str, bytes]] = []
    for k in keys:
        if isinstance(k, Mapping) and isinstance(k.get("cert_pem"), str) and isinstance(k.get("office"), str):
            items.append((str(k["office"]), str(k["cert_pem"]).encode("ascii")))
    return trusted_keys_from_certs(items)


# ---- signing -------------------------------------------------------------------------------------------
def _run(coro: Any) -> Any:
    """Run a pyHanko coroutine from sync code, also when called inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _signer_public_key(key: SigningKey) -> tuple[ec.EllipticCurvePublicKey, bytes]:
    cert = key.signer.signing_cert
    if cert is None:
        raise SigningError(detail="signer has no signing certificate")
    der = cert.dump()
    pub = x509.load_der_x509_certificate(der).public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or not isinstance(pub.curve, ec.SECP256R1):
        raise SigningError(
            "Khóa ký của cơ quan không phải ECDSA P-256 nên không ký được mã QR. Hãy dùng chứng thư số ECDSA P-256.",
            detail=f"QR seal needs an EC P-256 key, the signer certificate has {type(pub).__name__}",
        )
    return pub, der


def sign_raw(key: SigningKey, data: bytes) -> bytes:
    """ES256 over ``data`` with the office's key (PKCS#12 or token): raw ``r || s``, 64 bytes.

    pyHanko's signers hand back ECDSA signatures DER-encoded (as CMS wants them); JWS wants the two
    integers side by side. SigningError if the key is not EC P-256 or the signer fails.
    """
    _signer_public_key(key)
    try:
        der = _run(key.signer.async_sign_raw(data, "sha256"))
        r, s = decode_dss_signature(der)
    except Exception as e:
        raise SigningError(detail=f"QR seal signature failed: {type(e).__name__}: {e}") from e
    return r.to_bytes(_P256_COORD, "big") + s.to_bytes(_P256_COORD, "big")


def _verify_raw(pub: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    if len(signature) != 2 * _P256_COORD:
        return False
    r = int.from_bytes(signature[:_P256_COORD], "big")
    s = int.from_bytes(signature[_P256_COORD:], "big")
    try:
        pub.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def seal(claims: QrClaims, key: SigningKey) -> str:
    """The JWS compact token for ``claims``, signed with the office's key (checked before it is
    returned: a token or signer that signs with another key than its certificate's is an error)."""
    pub, der = _signer_public_key(key)
    header = b64url(_compact_json({"alg": ALG, "kid": key_id(der)}))
    payload = b64url(json.dumps(claims.to_payload(), ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = sign_raw(key, signing_input)
    if not _verify_raw(pub, signature, signing_input):
        raise SigningError(detail="QR seal: the signature does not verify with the signer certificate's key")
    return f"{header}.{payload}.{b64url(signature)}"


# ---- the QR text ---------------------------------------------------------------------------------------
def qr_text(verify_url: str, token: str) -> str:
    """What the QR encodes: the verification URL, the token as its fragment."""
    return f"{verify_url.split('#', 1)[0]}#{token}" if token else verify_url


def parse_qr_text(text: str) -> tuple[str | None, str | None]:
    """``(e-copy ID from the URL, token)`` of a QR's text; each None when absent.

    Reads ``…/v/{ID}#{token}`` (a sealed copy), ``…/v/{ID}`` (an older copy: no token) and a bare
    token. The ID is returned canonical, or None when the URL's last segment is not a well-formed ID.
    """
    text = unicodedata.normalize("NFC", text.strip())
    base, _, fragment = text.partition("#")
    token = fragment.strip() or None
    if token is None and "/" not in base and base.count(".") == 2:
        return None, base  # a bare token
    ecopy_id = None
    if base:
        try:
            path = urlsplit(base).path
        except ValueError:
            path = ""
        segment = unquote(path.rstrip("/").rsplit("/", 1)[-1]) if path else ""
        ecopy_id = normalize_ecopy_id(segment) if segment else None
    return ecopy_id, token


def looks_like_ecopy_qr(text: str) -> bool:
    """A QR text worth checking: a verification URL (``…/v/…``, sealed or not) or a bare token."""
    ecopy_id, token = parse_qr_text(text)
    return token is not None or ecopy_id is not None or "/v/" in text


# ---- reading a photo of the paper ----------------------------------------------------------------------
def _unsharp(grey: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    return cv2.addWeighted(grey, 1.0 + amount, cv2.GaussianBlur(grey, (0, 0), sigma), -amount, 0)


def _photo_variants(grey: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Beyond :func:`pipeline.qr.decode_qr`'s own variants, for a phone photo of printed paper,
    cheapest first. Measured on simulated photos (perspective, 4-6° turn, blur, a shadow, noise,
    JPEG q60): a strong unsharp mask reads codes blurred up to ~0.4 module that plain zbar misses;
    a local (adaptive) threshold rescues uneven light."""
    yield "unsharp", _unsharp(grey, 3.0, 1.5)
    yield (
        "adaptive",
        cv2.adaptiveThreshold(
            cv2.GaussianBlur(grey, (3, 3), 0), 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5
        ),
    )
    h, w = grey.shape
    if h * w <= _MAX_PHOTO_UPSCALE_PIXELS:
        up = cv2.resize(grey, (w * 2, h * 2), interpolation=cv2.INTER_CUBIC)
        yield "x2 unsharp", _unsharp(up, 10.0, 2.5)
        sharpened = _unsharp(up, 6.0, 1.5)
        yield "x2 unsharp otsu", cv2.threshold(sharpened, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]


def read_qr_photo(image: np.ndarray) -> tuple[str, ...]:
    """The e-copy QR texts in a photo or scan of paper (RGB or grey uint8), best reading first;
    empty if none could be read. Tries :func:`pipeline.qr.decode_qr` (grey, upscaled, Otsu…) and
    then the photo variants above; stops at the first that finds one."""
    found = decode_qr(image, accept=looks_like_ecopy_qr)
    if not found:
        grey = np.asarray(image)
        if grey.ndim == 3:
            grey = cv2.cvtColor(grey, cv2.COLOR_RGBA2GRAY if grey.shape[2] == 4 else cv2.COLOR_RGB2GRAY)
        for name, variant in _photo_variants(grey):
            found = decode_qr(variant, accept=looks_like_ecopy_qr, fallbacks=False)
            if found:
                log.info("QR read on the photo variant %s", name)
                break
    texts: list[str] = []
    for code in found:
        for text in code.texts:
            if text not in texts:
                texts.append(text)
    return tuple(texts)


# ---- checking ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QrCheck:
    """The verdict on a QR payload, checked offline. ``bottom_line`` True only for ``valid``."""

    status: QrStatus
    code: str  # stable, e.g. "qr.tampered"
    message: str  # Vietnamese, says what to do
    claims: QrClaims | None = None  # as read (also when rejected: shown as "what the QR claims")
    key: TrustedKey | None = None  # the office key that signed it (valid, office/validity problems)
    url_ecopy_id: str | None = None

    @property
    def bottom_line(self) -> bool:
        return self.status == "valid"

    def to_dict(self) -> dict[str, Any]:
        """For ``--json`` and the API: stable names, ISO date."""
        out: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.claims is not None:
            out["claims"] = {
                "ecopy_id": self.claims.ecopy_id,
                "doc_type": self.claims.doc_type,
                "issued_on": self.claims.issued_on.isoformat(),
                "office": self.claims.office,
                "fields_hash": self.claims.fields_hash,
            }
        if self.key is not None:
            out["key"] = {"kid": self.key.kid, "office": self.key.office, "cert_sha256": self.key.cert_sha256}
        if self.url_ecopy_id is not None:
            out["url_ecopy_id"] = self.url_ecopy_id
        return out


def _check(code: str, claims: QrClaims | None = None, key: TrustedKey | None = None, **kw: str) -> QrCheck:
    return QrCheck(
        status=STATUS_OF_CODE[code],
        code=code,
        message=MESSAGES[code].format(**kw) if kw else MESSAGES[code],
        claims=claims,
        key=key,
        url_ecopy_id=kw.get("url_id"),
    )


def _decode(token: str) -> tuple[str, bytes, bytes, QrClaims] | None:
    """(kid, signing input, signature, claims) of a well-formed token, else None."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]).decode("utf-8"))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or header.get("alg") != ALG or not isinstance(header.get("kid"), str):
        return None
    if set(header) - {"alg", "kid", "typ"} or len(signature) != 2 * _P256_COORD:
        return None  # a "crit" or any other header we do not understand: not ours
    claims = QrClaims.from_payload(payload)
    if claims is None:
        return None
    return str(header["kid"]), f"{parts[0]}.{parts[1]}".encode("ascii"), signature, claims


def verify_token(token: str | None, trusted: Mapping[str, TrustedKey], *, expected_id: str | None = None) -> QrCheck:
    """Check a QR token against the trusted office keys, offline (see the module docstring for the
    order). ``token`` None → ``qr.unsigned``; ``expected_id`` is the ID of the URL the token came with."""
    url_id = normalize_ecopy_id(expected_id) if expected_id else None
    if token is None or not token.strip():
        return _check("qr.unsigned")
    decoded = _decode(token.strip())
    if decoded is None:
        return _check("qr.malformed")
    kid, signing_input, signature, claims = decoded
    key = trusted.get(kid)
    if key is None:
        return _check("qr.foreign", claims)
    if not _verify_raw(key.public_key, signature, signing_input):
        return _check("qr.tampered", claims)
    if _same_office(claims.office) != _same_office(key.office):
        return _check("qr.office_mismatch", claims, key, claimed=claims.office, office=key.office)
    if not key.valid_on(claims.issued_on):
        return _check("qr.outside_validity", claims, key, date=claims.issued_on.strftime("%d/%m/%Y"))
    if expected_id is not None and url_id != claims.ecopy_id:
        return _check("qr.id_mismatch", claims, key, url_id=expected_id, ecopy_id=claims.ecopy_id)
    return _check("qr.valid", claims, key, office=key.office)


def _same_office(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def check_qr_text(text: str, trusted: Mapping[str, TrustedKey]) -> QrCheck:
    """The whole QR text as scanned: its URL's ID must be the payload's."""
    ecopy_id, token = parse_qr_text(text)
    if token is None:
        check = _check("qr.unsigned")
        return QrCheck(check.status, check.code, check.message, url_ecopy_id=ecopy_id)
    url_id = ecopy_id
    if url_id is None and "/" in text.partition("#")[0]:
        url_id = unquote(text.partition("#")[0].rstrip("/").rsplit("/", 1)[-1]) or None  # a URL, no valid ID
    result = verify_token(token, trusted, expected_id=url_id)
    return QrCheck(result.status, result.code, result.message, result.claims, result.key, url_id or None)
