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

A check (:func:`pipeline.verify.qr_check.verify_token`) runs in this order, and the JavaScript of the verification page
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.errors import SigningError

if TYPE_CHECKING:  # pyHanko is heavy to import; checking a QR never needs it
    from pipeline.certify.pades import SigningKey

log = logging.getLogger(__name__)

ALG = "ES256"
KID_BYTES = 8
FIELDS_HASH_BYTES = 16
MAX_TOKEN_CHARS = 2000  # far beyond any QR we print; longer input is not ours
P256_COORD = 32
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_DATE = re.compile(r"^\d{8}$")


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
    return r.to_bytes(P256_COORD, "big") + s.to_bytes(P256_COORD, "big")


def verify_raw(pub: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    if len(signature) != 2 * P256_COORD:
        return False
    r = int.from_bytes(signature[:P256_COORD], "big")
    s = int.from_bytes(signature[P256_COORD:], "big")
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
    if not verify_raw(pub, signature, signing_input):
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


# ---- reading a token -----------------------------------------------------------------------------------
def decode_token(token: str) -> tuple[str, bytes, bytes, QrClaims] | None:
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
    if set(header) - {"alg", "kid", "typ"} or len(signature) != 2 * P256_COORD:
        return None  # a "crit" or any other header we do not understand: not ours
    claims = QrClaims.from_payload(payload)
    if claims is None:
        return None
    return str(header["kid"]), f"{parts[0]}.{parts[1]}".encode("ascii"), signature, claims
