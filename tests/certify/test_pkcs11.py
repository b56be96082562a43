"""Signing with a key on a PKCS#11 token: a real SoftHSM2 token, real pyHanko signatures, validated
by pyHanko against the test root. No mocks: sessions and signatures are counted by pipeline.certify.pkcs11_token."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline.certify.dev_pki import SIGNER_KEY_USAGE, cert_sha256
from pipeline.certify.pades import SignOptions, sign_pdf
from pipeline.certify.pkcs11_token import (
    Pkcs11Key,
    Pkcs11KeySpec,
    TokenModuleError,
    TokenNotFoundError,
    TokenObjectError,
    TokenPinError,
    open_pkcs11_key,
    pkcs11_sessions_opened,
)
from pipeline.certify.render import RenderedEcopy, RenderOptions, render_ecopy
from pipeline.ecopy_file import SignatureBox
from pipeline.errors import SigningError
from pipeline.models import VN_TZ, Page
from pipeline.verify.verdict import validate_signature
from tests.support.copies import sample_certification

if TYPE_CHECKING:
    from ecopy.devtools.softhsm import SoftHsm

pytest_plugins = ("tests.support.softhsm",)  # the `softhsm` and `softhsm_token` fixtures

NOTO = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
ECOPY_ID = "9QHN-GRJ0-GDBM-3KX5-K"
OPTIONS = SignOptions(location="Phường Bến Nghé, TP. Hồ Chí Minh")

Token = tuple[Pkcs11KeySpec, bytes, bytes]


# ---- inputs ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rendered() -> RenderedEcopy:
    """A one-page e-copy (a 100 dpi A4 scan with Vietnamese text) + its signature box."""
    img = Image.new("L", (827, 1169), 250)
    draw = ImageDraw.Draw(img)
    draw.text((80, 120), "GIẤY KHAI SINH — Nguyễn Thị Ánh Tuyết", font=ImageFont.truetype(NOTO, 28), fill=20)
    cert = sample_certification(ECOPY_ID)
    return render_ecopy([Page(0, np.array(img), dpi=100)], None, cert, RenderOptions())


@pytest.fixture
def token_key(softhsm_token: Token) -> Iterator[Pkcs11Key]:
    with open_pkcs11_key(softhsm_token[0]) as key:
        yield key


def _sign(rendered: RenderedEcopy, key: Pkcs11Key) -> bytes:
    return sign_pdf(rendered.pdf, key.key, OPTIONS, signature_box=rendered.signature_box)


def _cms_certificates(signed: bytes) -> list[str]:
    sig = next(iter(PdfFileReader(io.BytesIO(signed), strict=False).embedded_regular_signatures))
    signed_data: cms.SignedData = sig.signed_data
    return [c.chosen.subject.human_friendly for c in signed_data["certificates"]]


def _rsa_pki() -> tuple[bytes, bytes, bytes]:
    """(root_pem, rsa_key_pem, rsa_cert_pem): an EC root CA and an RSA-2048 signer."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ecopy test RSA root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Người ký RSA thử nghiệm")]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(SIGNER_KEY_USAGE, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return root.public_bytes(pem), key_pem, leaf.public_bytes(pem)


# ---- signing with a token key -----------------------------------------------------------------------
def test_ec_token_signature_validates(rendered: RenderedEcopy, softhsm_token: Token, token_key: Pkcs11Key) -> None:
    _, root_pem, cert_pem = softhsm_token
    signed = _sign(rendered, token_key)
    report = validate_signature(signed, [root_pem])
    assert report.bottom_line, report.problems
    assert report.signer_cert_sha256 == cert_sha256(cert_pem) == token_key.key.cert_sha256
    assert token_key.signatures == 1
    # the chain from the spec's other_certs is embedded: a verifier can build it from the file alone
    assert len(_cms_certificates(signed)) == 2


def test_rsa_token_signature_validates(rendered: RenderedEcopy, softhsm: SoftHsm) -> None:
    root_pem, key_pem, cert_pem = _rsa_pki()
    spec = softhsm.add_key(key_pem, cert_pem, key_label="rsa-signer", cert_label="rsa-cert")
    with open_pkcs11_key(spec) as key:
        signed = _sign(rendered, key)
    report = validate_signature(signed, [root_pem])
    assert report.bottom_line, report.problems
    assert report.signer_cert_sha256 == cert_sha256(cert_pem)


def test_batch_of_20_signatures_uses_one_session(rendered: RenderedEcopy, softhsm_token: Token) -> None:
    spec, root_pem, cert_pem = softhsm_token
    before = pkcs11_sessions_opened()
    with open_pkcs11_key(spec) as key:  # invisible signatures: the stamp's font work is not what is tested here
        signed = [sign_pdf(rendered.pdf, key.key, OPTIONS, signature_box=None) for _ in range(20)]
        assert key.signatures == 20
        assert key.sessions_opened == 1
    assert pkcs11_sessions_opened() - before == 1
    assert len(set(signed)) == 20  # 20 distinct signatures, not one copied
    for pdf in signed:
        report = validate_signature(pdf, [root_pem])
        assert report.bottom_line, report.problems
        assert report.signer_cert_sha256 == cert_sha256(cert_pem)


def test_closed_key_no_longer_signs(rendered: RenderedEcopy, softhsm_token: Token) -> None:
    key = open_pkcs11_key(softhsm_token[0])
    key.close()
    key.close()  # idempotent
    assert key.closed
    with pytest.raises(SigningError):
        _sign(rendered, key)


# ---- one login per token and process ----------------------------------------------------------------
def test_keys_on_one_token_share_its_session(rendered: RenderedEcopy, softhsm_token: Token) -> None:
    spec, root_pem, _ = softhsm_token
    before = pkcs11_sessions_opened()
    first = open_pkcs11_key(spec)
    second = open_pkcs11_key(spec)  # a second C_Login would fail with CKR_USER_ALREADY_LOGGED_IN
    assert (first.sessions_opened, second.sessions_opened) == (1, 0)
    with pytest.raises(TokenPinError):  # a wrong PIN is refused even though the token is logged in
        open_pkcs11_key(Pkcs11KeySpec(spec.token_label, "00000000", spec.key_label))
    first.close()  # must not log the second key out
    assert validate_signature(_sign(rendered, second), [root_pem]).bottom_line
    with pytest.raises(SigningError):  # though the shared session lives on, a closed key does not sign
        _sign(rendered, first)
    second.close()
    with open_pkcs11_key(spec) as third:  # the session closed with its last user: a new one opens
        assert third.sessions_opened == 1
    assert pkcs11_sessions_opened() - before == 2


def _sign_in_child(spec: Pkcs11KeySpec, pdf: bytes, box: SignatureBox, out: multiprocessing.Queue[object]) -> None:
    try:
        with open_pkcs11_key(spec) as key:
            out.put((key.sessions_opened, sign_pdf(pdf, key.key, OPTIONS, signature_box=box)))
    except BaseException as e:
        out.put(f"{type(e).__name__}: {e}")


def test_forked_child_opens_its_own_session(rendered: RenderedEcopy, softhsm_token: Token) -> None:
    """RQ forks a work-horse per job while the parent may hold the token open."""
    spec, root_pem, _ = softhsm_token
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[object] = ctx.Queue()
    with open_pkcs11_key(spec):
        child = ctx.Process(target=_sign_in_child, args=(spec, rendered.pdf, rendered.signature_box, out))
        child.start()
        result = out.get(timeout=60)
        child.join(timeout=30)
    assert isinstance(result, tuple), result
    opened, signed = result
    assert opened == 1  # its own session, not the parent's inherited one
    assert validate_signature(signed, [root_pem]).bottom_line


# ---- errors say what to check, in Vietnamese, and never show the PIN --------------------------------
def _open_error(spec: Pkcs11KeySpec) -> SigningError:
    with pytest.raises(SigningError) as caught:
        open_pkcs11_key(spec).close()
    err = caught.value
    assert spec.pin not in f"{err.message} {err.detail} {err!r} {spec!r}"
    return err


def test_wrong_pin(softhsm_token: Token) -> None:
    spec = softhsm_token[0]
    err = _open_error(Pkcs11KeySpec(spec.token_label, "11111111", spec.key_label))
    assert isinstance(err, TokenPinError) and err.code == "sign.token_pin_incorrect"
    assert err.message.startswith(f"Sai mã PIN của token ký số «{spec.token_label}»")


def test_unknown_token_label(softhsm_token: Token) -> None:
    spec = softhsm_token[0]
    err = _open_error(Pkcs11KeySpec("khong-co-token-nay", spec.pin, spec.key_label))
    assert isinstance(err, TokenNotFoundError) and err.code == "sign.token_not_found"
    assert "Không tìm thấy token ký số có nhãn «khong-co-token-nay»" in err.message
    assert spec.token_label in (err.detail or "")  # the tokens that are there, for the operator


def test_unknown_key_label(softhsm_token: Token) -> None:
    spec = softhsm_token[0]
    err = _open_error(Pkcs11KeySpec(spec.token_label, spec.pin, "khoa-khac", cert_label=spec.certificate_label))
    assert isinstance(err, TokenObjectError)
    assert f"Không tìm thấy khóa ký có nhãn «khoa-khac» trên token «{spec.token_label}»" in err.message


def test_unknown_cert_label(softhsm_token: Token) -> None:
    spec = softhsm_token[0]
    err = _open_error(Pkcs11KeySpec(spec.token_label, spec.pin, spec.key_label, cert_label="chung-thu-khac"))
    assert isinstance(err, TokenObjectError)
    assert "Không tìm thấy chứng thư số có nhãn «chung-thu-khac»" in err.message


def test_key_and_certificate_that_do_not_match(softhsm: SoftHsm, softhsm_token: Token) -> None:
    """A token whose certificate belongs to another key is refused when opened, before any copy is signed."""
    _, _, other_cert_pem = softhsm_token
    stray_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    spec = softhsm.add_key(stray_key, other_cert_pem, key_label="lac")
    err = _open_error(spec)
    assert isinstance(err, TokenObjectError)
    assert "không khớp với chứng thư số" in err.message


def test_missing_module(softhsm_token: Token) -> None:
    spec = softhsm_token[0]
    err = _open_error(Pkcs11KeySpec(spec.token_label, spec.pin, spec.key_label, module_path="/nonexistent/p11.so"))
    assert isinstance(err, TokenModuleError)
    assert "Không tìm thấy thư viện PKCS#11" in err.message


def test_failed_open_leaves_no_session_behind(softhsm_token: Token) -> None:
    """An open that fails after login (no such key) logs out again: the next open logs in afresh."""
    spec = softhsm_token[0]
    before = pkcs11_sessions_opened()
    _open_error(Pkcs11KeySpec(spec.token_label, spec.pin, "khoa-khac"))
    with open_pkcs11_key(spec) as key:
        assert key.sessions_opened == 1
    assert pkcs11_sessions_opened() - before == 2


# ---- the QR seal (raw ES256) with a token key ---------------------------------------------------------
def test_qr_seal_with_token_key(softhsm_token: Token, token_key: Pkcs11Key) -> None:
    from pipeline.certify import qr_token
    from pipeline.certify.trust_list import trusted_keys_from_certs
    from pipeline.verify.qr_check import verify_token

    _, _, cert_pem = softhsm_token
    office = "UBND Phường Bến Nghé (token thử nghiệm)"
    signature = qr_token.sign_raw(token_key.key, b"ecopy qr payload")
    assert len(signature) == 64  # raw r || s, as JWS ES256 wants it
    claims = qr_token.QrClaims(
        ecopy_id=ECOPY_ID,
        doc_type="birth_certificate",
        issued_on=dt.datetime.now(VN_TZ).date(),  # Vietnam's civil date, as the QR carries it
        office=office,
        fields_hash=qr_token.fields_digest({"ho_ten": "Nguyễn Thị Ánh Tuyết"}),
    )
    token = qr_token.seal(claims, token_key.key)
    trusted = trusted_keys_from_certs([(office, cert_pem)])
    assert verify_token(token, trusted, expected_id=ECOPY_ID).code == "qr.valid"
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert verify_token(forged, trusted).code == "qr.tampered"
    assert token_key.signatures == 2
