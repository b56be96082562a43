"""A development PKI: a root CA and one office signer, clearly marked as not legally valid.

The embedded default deployment creates one on first run so that signing and verification
work end to end without a real certificate; every name in it says "development only", so a
copy signed with it can never be mistaken for a legally valid one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

SIGNER_CN = "ecopy DEV signer — NOT LEGALLY VALID (development only)"
ROOT_CN = "ecopy DEV root CA — NOT LEGALLY VALID (development only)"
DEV_ORG = "ecopy DEVELOPMENT ONLY — KHÔNG CÓ GIÁ TRỊ PHÁP LÝ"
ROOT_VALIDITY = dt.timedelta(days=10 * 365)
SIGNER_VALIDITY = dt.timedelta(days=3 * 365)
_BACKDATE = dt.timedelta(hours=1)  # tolerate small clock skew between machines


# What a document signer's certificate allows: signatures with non-repudiation (pyHanko's validator
# requires nonRepudiation on a signer), nothing else.
SIGNER_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class DevPki:
    root_cert_pem: bytes
    signer_p12: bytes = field(repr=False)
    signer_cert_pem: bytes


def cert_sha256(cert_der_or_pem: bytes) -> str:
    """Lower-case hex SHA-256 of the certificate's DER encoding (the usual "fingerprint")."""
    data = cert_der_or_pem
    if data.lstrip().startswith(b"-----BEGIN"):
        data = x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(data).hexdigest()


def _name(common_name: str, office: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORG),
    ]
    if office:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, office[:64]))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
    return x509.Name(attrs)


def make_dev_pki(office: str, *, password: bytes, now: dt.datetime | None = None) -> DevPki:
    """A fresh root CA and an ECDSA P-256 signer for ``office``; the PKCS#12 holds key + chain."""
    now = (now or dt.datetime.now(dt.UTC)) - _BACKDATE
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(ROOT_CN, "CHỈ DÙNG THỬ NGHIỆM")
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )

    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNER_CN, office))
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + SIGNER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(SIGNER_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    p12 = pkcs12.serialize_key_and_certificates(
        name=b"ecopy-dev-signer",
        key=signer_key,
        cert=signer,
        cas=[root],
        encryption_algorithm=serialization.BestAvailableEncryption(password),
    )
    pem = serialization.Encoding.PEM
    log.warning("created a development PKI for office %r: signatures are NOT legally valid", office)
    return DevPki(
        root_cert_pem=root.public_bytes(pem),
        signer_p12=p12,
        signer_cert_pem=signer.public_bytes(pem),
    )
