"""The signed QR payload (pipeline.certify.qr_token) and ``ecopy verify --qr``: real keys, real zbar, real photos.

Keys are a real development PKI (PKCS#12, ECDSA P-256) and the same kind of key on a SoftHSM2 token.
Every rejection is checked on a token the office really signed and then altered (or signed by another
key), never on a hand-made string alone. The paper test renders a real certification page, signs it,
rasterises it and makes a phone photo of it (perspective, a turn, blur, a shadow, noise, JPEG q60),
then runs the ``ecopy`` command on the photo with no network namespace at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from pipeline.certify.dev_pki import make_dev_pki
from pipeline.certify.pades import SigningKey, load_pkcs12_key, sign_pdf
from pipeline.certify.pkcs11_token import Pkcs11KeySpec, open_pkcs11_key
from pipeline.certify.qr_token import (
    QrClaims,
    b64url,
    b64url_decode,
    canonical_fields,
    fields_digest,
    key_field_values,
    key_id,
    parse_qr_text,
    qr_text,
    seal,
    sign_raw,
)
from pipeline.certify.render import render_ecopy
from pipeline.certify.trust_list import TrustedKey, trust_list, trusted_keys_from_certs, trusted_keys_from_trust_list
from pipeline.errors import SigningError
from pipeline.models import Certification, Page
from pipeline.verify.qr_check import check_qr_text, read_qr_photo, verify_token

pytest_plugins = ("tests.support.softhsm",)  # the `softhsm_token` fixture

OFFICE = "UBND Phường Bến Nghé, Thành phố Hồ Chí Minh"
PASSWORD = b"ecopy-test"
ECOPY_ID = "9QHN-GRJ0-GDBM-3KX5-K"
OTHER_ID = "0000-0000-0000-0000-0"
VERIFY_URL = f"https://xacthuc.example.gov.vn/v/{ECOPY_ID}"
FIELDS = {"full_name": "Nguyễn Thị Ánh Tuyết", "date_of_birth": "01/02/2003", "sex": "Nữ"}
ECOPY_CLI = str(Path(sys.executable).with_name("ecopy"))


@dataclasses.dataclass(frozen=True)
class Office:
    key: SigningKey
    cert_pem: bytes
    trusted: dict[str, TrustedKey]


def _office(name: str = OFFICE) -> Office:
    pki = make_dev_pki(name, password=PASSWORD)
    return Office(
        load_pkcs12_key(pki.signer_p12, PASSWORD),
        pki.signer_cert_pem,
        trusted_keys_from_certs([(name, pki.signer_cert_pem)]),
    )


@pytest.fixture(scope="module")
def office() -> Office:
    return _office()


@pytest.fixture(scope="module")
def impostor() -> Office:
    """Another key under the very same office name (a look-alike office, a stolen template)."""
    return _office()


def _today_in(key: TrustedKey) -> dt.date:
    return key.not_before.date() + dt.timedelta(days=2)  # inside the certificate's validity, whatever the clock


def _claims(signer: Office, **changes: object) -> QrClaims:
    key = next(iter(signer.trusted.values()))
    claims = QrClaims(
        ecopy_id=ECOPY_ID,
        doc_type="birth_certificate",
        issued_on=_today_in(key),
        office=OFFICE,
        fields_hash=fields_digest(FIELDS),
    )
    return dataclasses.replace(claims, **changes)  # type: ignore[arg-type]


def _parts(token: str) -> tuple[dict[str, object], dict[str, object], bytes]:
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


def _header(**members: str) -> str:
    return b64url(json.dumps(members, separators=(",", ":")).encode())


def _with_payload(token: str, payload: dict[str, object]) -> str:
    """The same header and signature around another payload: what a forger can do without the key."""
    h, _, s = token.split(".")
    return f"{h}.{b64url(json.dumps(payload, ensure_ascii=False, separators=(',', ':')).encode())}.{s}"


# ---- the format --------------------------------------------------------------------------------------
def test_round_trip_with_a_pkcs12_key_is_standard_es256(office: Office) -> None:
    claims = _claims(office)
    token = seal(claims, office.key)
    check = verify_token(token, office.trusted, expected_id=ECOPY_ID)
    assert (check.status, check.code, check.bottom_line) == ("valid", "qr.valid", True)
    assert check.claims == claims and check.key is not None and check.key.office == OFFICE
    assert check.message == f"Mã QR có chữ ký hợp lệ của {OFFICE} (kiểm tra không cần mạng)."

    # an independent reading (RFC 7515 compact, ES256) with nothing of qrseal but base64url
    header, payload, signature = _parts(token)
    cert = x509.load_pem_x509_certificate(office.cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    assert header == {"alg": "ES256", "kid": b64url(hashlib.sha256(der).digest()[:8])}
    assert payload == {
        "i": ECOPY_ID,
        "t": "birth_certificate",
        "d": claims.issued_on.strftime("%Y%m%d"),
        "o": OFFICE,
        "h": fields_digest(FIELDS),
    }
    assert len(signature) == 64 and "=" not in token
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(encode_dss_signature(r, s), token.rsplit(".", 1)[0].encode(), ec.ECDSA(hashes.SHA256()))
    print(f"\n[qrseal] token {len(token)} chars; QR text {len(qr_text(VERIFY_URL, token))} chars")


def test_fields_digest_is_canonical() -> None:
    nfd = {k: unicodedata.normalize("NFD", v) for k, v in reversed(list(FIELDS.items()))}
    assert fields_digest(nfd) == fields_digest(FIELDS)  # NFC, and the order of the fields does not count
    assert canonical_fields({"b": "Nữ", "a": "x"}) == '{"a":"x","b":"Nữ"}'.encode()
    expected = b64url(hashlib.sha256('{"a":"x","b":"Nữ"}'.encode()).digest()[:16])
    assert fields_digest({"b": "Nữ", "a": "x"}) == expected and len(expected) == 22
    assert fields_digest({**FIELDS, "sex": "Nam"}) != fields_digest(FIELDS)
    assert key_field_values({"a": {"value": "x", "confidence": 0.4}, "b": {"value": None}}) == {"a": "x", "b": ""}


def test_qr_text_and_its_parts() -> None:
    assert qr_text(VERIFY_URL, "h.p.s") == f"{VERIFY_URL}#h.p.s"
    assert parse_qr_text(f"{VERIFY_URL}#h.p.s") == (ECOPY_ID, "h.p.s")
    assert parse_qr_text(VERIFY_URL) == (ECOPY_ID, None)  # a copy issued before sealed QR codes
    assert parse_qr_text("https://x.example/v/9qhn-grj0-gdbm-3kx5-k/#t.o.k") == (ECOPY_ID, "t.o.k")
    assert parse_qr_text("h.p.s") == (None, "h.p.s")
    assert parse_qr_text("https://x.example/v/not-an-id") == (None, None)


def test_token_signed_on_a_pkcs11_token(softhsm_token: tuple[Pkcs11KeySpec, bytes, bytes]) -> None:
    spec, _, cert_pem = softhsm_token
    office = (
        x509.load_pem_x509_certificate(cert_pem)
        .subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0]
        .value
    )
    trusted = trusted_keys_from_certs([(str(office), cert_pem)])
    with open_pkcs11_key(spec) as token_key:
        (key,) = trusted.values()
        claims = QrClaims(ECOPY_ID, "diploma", _today_in(key), str(office), fields_digest(FIELDS))
        token = seal(claims, token_key.key)
        assert token_key.signatures == 1  # made by the token, not by a copy of the key
    check = verify_token(token, trusted, expected_id=ECOPY_ID)
    assert check.code == "qr.valid" and check.claims == claims


def test_an_rsa_key_cannot_seal(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RSA office")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    p12 = pkcs12.serialize_key_and_certificates(b"rsa", key, cert, None, serialization.NoEncryption())
    signing_key = load_pkcs12_key(p12, None)
    with pytest.raises(SigningError) as e:
        sign_raw(signing_key, b"data")
    assert "ECDSA P-256" in e.value.message
    # and an RSA certificate never enters the QR trust list
    assert trusted_keys_from_certs([("RSA office", cert.public_bytes(serialization.Encoding.PEM))]) == {}


# ---- rejections ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("member", "value"),
    [("o", "UBND Phường Đa Kao, Thành phố Hồ Chí Minh"), ("t", "diploma"), ("i", OTHER_ID), ("h", "A" * 22)],
)
def test_one_claim_changed_is_tampered(office: Office, member: str, value: str) -> None:
    token = seal(_claims(office), office.key)
    _, payload, _ = _parts(token)
    forged = _with_payload(token, payload | {member: value})
    check = verify_token(forged, office.trusted)
    assert (check.status, check.code, check.bottom_line) == ("tampered", "qr.tampered", False)
    assert check.claims is not None and check.key is None  # what it claims, shown as unconfirmed


def test_issue_date_moved_is_tampered(office: Office) -> None:
    token = seal(_claims(office), office.key)
    _, payload, _ = _parts(token)
    later = (_claims(office).issued_on + dt.timedelta(days=1)).strftime("%Y%m%d")
    assert verify_token(_with_payload(token, payload | {"d": later}), office.trusted).code == "qr.tampered"


def test_a_flipped_signature_bit_is_tampered(office: Office) -> None:
    token = seal(_claims(office), office.key)
    head, sig = token.rsplit(".", 1)
    raw = bytearray(b64url_decode(sig))
    raw[10] ^= 0x01
    assert verify_token(f"{head}.{b64url(bytes(raw))}", office.trusted).code == "qr.tampered"


def test_foreign_key_with_the_same_office_name(office: Office, impostor: Office) -> None:
    token = seal(_claims(impostor), impostor.key)
    assert verify_token(token, impostor.trusted).code == "qr.valid"  # a real signature, of the other key
    check = verify_token(token, office.trusted, expected_id=ECOPY_ID)
    assert (check.status, check.code) == ("foreign", "qr.foreign")
    assert "danh sách tin cậy" in check.message
    # ... and claiming our kid does not help: the signature is then checked with our key
    ours = next(iter(office.trusted))
    stolen_kid = f"{_header(alg='ES256', kid=ours)}.{token.split('.', 1)[1]}"
    assert verify_token(stolen_kid, office.trusted).code == "qr.tampered"


def test_office_key_signing_for_another_office(office: Office) -> None:
    token = seal(_claims(office, office="UBND Xã Khác"), office.key)
    check = verify_token(token, office.trusted)
    assert (check.status, check.code) == ("foreign", "qr.office_mismatch")
    assert "UBND Xã Khác" in check.message and OFFICE in check.message


def test_issue_date_outside_the_certificate(office: Office) -> None:
    key = next(iter(office.trusted.values()))
    before = key.not_before.date() - dt.timedelta(days=30)
    check = verify_token(seal(_claims(office, issued_on=before), office.key), office.trusted)
    assert (check.status, check.code) == ("foreign", "qr.outside_validity")
    assert before.strftime("%d/%m/%Y") in check.message


@pytest.mark.parametrize(
    "damage",
    ["truncated", "two parts", "garbage", "not base64url", "alg none", "alg HS256", "missing member", "bad date"],
)
def test_malformed_tokens(office: Office, damage: str) -> None:
    token = seal(_claims(office), office.key)
    h, p, s = token.split(".")
    _, payload, _ = _parts(token)
    broken = {
        "truncated": token[: len(token) * 2 // 3],
        "two parts": f"{h}.{p}",
        "garbage": "xin chào",
        "not base64url": f"{h}.{p}.{s[:-2]}+/",
        "alg none": f"{_header(alg='none', kid='x')}.{p}.{s}",
        "alg HS256": f"{_header(alg='HS256', kid='x')}.{p}.{s}",
        "missing member": _with_payload(token, {k: v for k, v in payload.items() if k != "h"}),
        "bad date": _with_payload(token, payload | {"d": "20261345"}),
    }[damage]
    check = verify_token(broken, office.trusted)
    assert (check.status, check.code, check.bottom_line) == ("malformed", "qr.malformed", False)


def test_url_id_differs_from_the_signed_id(office: Office) -> None:
    token = seal(_claims(office), office.key)
    check = check_qr_text(f"https://xacthuc.example.gov.vn/v/{OTHER_ID}#{token}", office.trusted)
    assert (check.status, check.code) == ("mismatch", "qr.id_mismatch")
    assert OTHER_ID in check.message and ECOPY_ID in check.message
    assert verify_token(token, office.trusted, expected_id=OTHER_ID).code == "qr.id_mismatch"
    assert check_qr_text(f"https://x.example/v/NOT-AN-ID#{token}", office.trusted).code == "qr.id_mismatch"
    assert check_qr_text(qr_text(VERIFY_URL, token), office.trusted).code == "qr.valid"


def test_an_old_plain_url_qr_is_unsigned(office: Office) -> None:
    check = check_qr_text(VERIFY_URL, office.trusted)
    assert (check.status, check.code, check.url_ecopy_id, check.bottom_line) == (
        "unsigned",
        "qr.unsigned",
        ECOPY_ID,
        False,
    )
    assert "trực tuyến" in check.message


def test_trust_list_round_trip(office: Office, impostor: Office) -> None:
    both = trusted_keys_from_certs([(OFFICE, office.cert_pem), ("UBND Xã Khác", impostor.cert_pem)])
    published = json.loads(json.dumps(trust_list(both, generated_at=dt.datetime.now(dt.UTC))))
    assert published["format"] == "ecopy-keys/1" and len(published["keys"]) == 2
    entry = next(k for k in published["keys"] if k["office"] == OFFICE)
    public = x509.load_pem_x509_certificate(office.cert_pem).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    nums = public.public_numbers()
    assert (entry["kty"], entry["crv"], entry["alg"]) == ("EC", "P-256", "ES256")
    assert b64url_decode(entry["x"]) == nums.x.to_bytes(32, "big") and b64url_decode(entry["y"]) == nums.y.to_bytes(
        32, "big"
    )
    assert entry["kid"] == key_id(
        x509.load_pem_x509_certificate(office.cert_pem).public_bytes(serialization.Encoding.DER)
    )
    read_back = trusted_keys_from_trust_list(published)
    assert set(read_back) == set(both)
    assert verify_token(seal(_claims(office), office.key), read_back).code == "qr.valid"
    with pytest.raises(ValueError):
        trusted_keys_from_trust_list({"nothing": []})


# ---- paper: a printed, photographed certification page -------------------------------------------------
def phone_photo(page_rgb: np.ndarray, seed: int, *, blur: float) -> bytes:
    """A phone photo of the printed page lying on a table: perspective, a turn, blur, a lamp's uneven
    light, sensor noise, JPEG q60."""
    rng = np.random.default_rng(seed)
    img = cv2.cvtColor(page_rgb, cv2.COLOR_RGB2BGR)
    h, w = img.shape[:2]
    pad, table = int(0.08 * max(h, w)), (70, 80, 90)
    img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=table)
    big_h, big_w = img.shape[:2]
    corners = np.array([[pad, pad], [big_w - pad, pad], [big_w - pad, big_h - pad], [pad, big_h - pad]], np.float32)
    moved = (corners + rng.uniform(-0.06, 0.06, (4, 2)) * np.array([w, h])).astype(np.float32)
    img = cv2.warpPerspective(img, cv2.getPerspectiveTransform(corners, moved), (big_w, big_h), borderValue=table)
    turn = cv2.getRotationMatrix2D((big_w / 2, big_h / 2), float(rng.uniform(3, 6)), 1.0)
    img = cv2.warpAffine(img, turn, (big_w, big_h), borderValue=table)
    img = cv2.GaussianBlur(img, (0, 0), blur)
    yy, xx = np.mgrid[0:big_h, 0:big_w].astype(np.float32)
    light = 1.0 - 0.5 * (xx / big_w * 0.6 + yy / big_h * 0.4)
    noisy = img.astype(np.float32) * light[..., None] + rng.normal(0, 8, img.shape)
    ok, jpeg = cv2.imencode(".jpg", np.clip(noisy, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return jpeg.tobytes()


@pytest.fixture(scope="module")
def printed_page(office: Office) -> tuple[str, np.ndarray]:
    """(QR text, the signed copy's certification page at 200 dpi)."""
    claims = _claims(office)
    text = qr_text(VERIFY_URL, seal(claims, office.key))
    scan = np.full((1169, 827, 3), 248, np.uint8)
    scan[150:190, 80:700] = 30  # something on the page
    cert = Certification(
        ecopy_id=ECOPY_ID,
        verify_url=VERIFY_URL,
        office=OFFICE,
        certifier_name="Trần Thị Ngọc Hương",
        certifier_title="Phó Chủ tịch Ủy ban nhân dân phường",
        certified_on=claims.issued_on,
        certificate_number="1.234",
        book_number="01/2026",
        doc_type="birth_certificate",
        doc_title="Giấy khai sinh",
        development_only=True,
        qr_text=text,
    )
    rendered = render_ecopy([Page(0, scan, dpi=100)], None, cert)
    signed = sign_pdf(rendered.pdf, office.key, signature_box=rendered.signature_box)
    pdf = pdfium.PdfDocument(signed)
    try:
        page = np.asarray(pdf[len(pdf) - 1].render(scale=200 / 72).to_pil().convert("RGB"))
    finally:
        pdf.close()
    return text, page


def test_photographed_qr_verifies_offline(
    printed_page: tuple[str, np.ndarray], office: Office, impostor: Office, tmp_path: Path
) -> None:
    text, page = printed_page
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(phone_photo(page, seed=7, blur=2.0))
    keys = tmp_path / "ecopy-keys.json"
    keys.write_text(json.dumps(trust_list(office.trusted), ensure_ascii=False), encoding="utf-8")
    not_ours = tmp_path / "other-keys.json"
    not_ours.write_text(json.dumps(trust_list(impostor.trusted), ensure_ascii=False), encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOPY_")}
    env["ECOPY_DATA_DIR"] = str(tmp_path / "no-registry-here")
    # No network at all: a fresh network namespace with nothing in it, where the machine allows one.
    offline = ["unshare", "-rn"] if shutil.which("unshare") and _can_unshare() else []
    cli = [*offline, ECOPY_CLI, "--log-level", "WARNING", "verify", "--qr", str(photo)]
    done = subprocess.run([*cli, "--trust-list", str(keys)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MÃ QR HỢP LỆ (qr.valid)" in done.stdout and ECOPY_ID in done.stdout and OFFICE in done.stdout
    assert "Giấy khai sinh" in done.stdout
    assert not (tmp_path / "no-registry-here").exists()  # the trust list alone: no registry opened

    rejected = subprocess.run(
        [*cli, "--trust-list", str(not_ours), "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert rejected.returncode == 6, rejected.stdout + rejected.stderr
    answer = json.loads(rejected.stdout)
    assert (answer["status"], answer["code"], answer["qr_text"]) == ("foreign", "qr.foreign", text)
    print(f"\n[qrseal] photo decoded and checked offline{' in an empty network namespace' if offline else ''}")


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.parametrize(("dpi", "blur"), [(150, 1.2), (200, 2.6)])
def test_qr_read_from_harder_photos(printed_page: tuple[str, np.ndarray], dpi: int, blur: float) -> None:
    """Lower resolution, more blur: the photo variants (unsharp mask, local threshold) still read it."""
    text, page200 = printed_page
    page = (
        page200 if dpi == 200 else cv2.resize(page200, None, fx=dpi / 200, fy=dpi / 200, interpolation=cv2.INTER_AREA)
    )
    jpeg = phone_photo(page, seed=11, blur=blur)
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR_RGB)
    assert image is not None and text in read_qr_photo(np.asarray(image))
