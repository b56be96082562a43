"""Checking our QR token offline: from a photo or a scan of paper, or from the scanned text.

The order of the checks is the one :mod:`pipeline.certify.qr_token` documents, and the JavaScript
of the verification page (``api/static/qrcheck.js``) runs the same one. Reading the QR from a photo
tries :func:`pipeline.qr_symbols.decode_qr` first, then variants made for phone photos of paper.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

import cv2
import numpy as np

from pipeline.certify.qr_token import QrClaims, decode_token, looks_like_ecopy_qr, parse_qr_text, verify_raw
from pipeline.certify.trust_list import TrustedKey
from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.qr_symbols import decode_qr

log = logging.getLogger(__name__)

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


# ---- reading a photo of the paper ----------------------------------------------------------------------
def _unsharp(grey: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    return cv2.addWeighted(grey, 1.0 + amount, cv2.GaussianBlur(grey, (0, 0), sigma), -amount, 0)


def _photo_variants(grey: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Beyond :func:`pipeline.qr_symbols.decode_qr`'s own variants, for a phone photo of printed paper,
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
    empty if none could be read. Tries :func:`pipeline.qr_symbols.decode_qr` (grey, upscaled, Otsu…) and
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


def verify_token(token: str | None, trusted: Mapping[str, TrustedKey], *, expected_id: str | None = None) -> QrCheck:
    """Check a QR token against the trusted office keys, offline (see the module docstring for the
    order). ``token`` None → ``qr.unsigned``; ``expected_id`` is the ID of the URL the token came with."""
    url_id = normalize_ecopy_id(expected_id) if expected_id else None
    if token is None or not token.strip():
        return _check("qr.unsigned")
    decoded = decode_token(token.strip())
    if decoded is None:
        return _check("qr.malformed")
    kid, signing_input, signature, claims = decoded
    key = trusted.get(kid)
    if key is None:
        return _check("qr.foreign", claims)
    if not verify_raw(key.public_key, signature, signing_input):
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
