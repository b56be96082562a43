"""The offices' QR keys and the published trust list (``/.well-known/ecopy-keys.json``).

Every certificate an office has signed with (the registry's ``signer_certificates``) whose key is
ECDSA P-256 may sign QR tokens (:mod:`pipeline.certify.qr_token`); the trust list publishes them as
a JWK Set with the office, the certificate's validity and the certificate itself, so a verifier
can check paper offline (:mod:`pipeline.verify.qr_check`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.certify.qr_token import ALG, P256_COORD, b64url, key_id
from pipeline.models import VN_TZ

log = logging.getLogger(__name__)

TRUST_LIST_FORMAT = "ecopy-keys/1"
TRUST_LIST_PATH = "/.well-known/ecopy-keys.json"


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
            "x": b64url(nums.x.to_bytes(P256_COORD, "big")),
            "y": b64url(nums.y.to_bytes(P256_COORD, "big")),
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
