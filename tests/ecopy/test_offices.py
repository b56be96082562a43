"""Several offices, each with its own key; key rotation; batch signing in one key session; re-time-stamping.

Real parts only: a certomancer PKI and TSA on loopback (tests/support/pki.py), real pyHanko signatures, a
migrated SQLite registry, a filesystem store (and SeaweedFS for S3 object versions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw

from ecopy.offices import ConfigurationError, OfficeConfig, key_loader, parse_offices_file
from pipeline.certify.pades import SignOptions
from pipeline.certify.qr_token import parse_qr_text
from pipeline.certify.trust_list import trusted_keys_from_certs
from pipeline.models import OcrResult, Page
from pipeline.qr_symbols import decode_qr
from pipeline.read.reader import ReadOptions
from pipeline.verify.qr_check import verify_token
from storage.access import UserRecord
from storage.objectstore import FilesystemStore, ObjectStore, S3Store
from storage.registry import Registry
from tests.support.pki import TestPki
from tests.support.services import S3Service
from workflow import serialize
from workflow.context import IssuerProfile, NoOfficeKeyError, OfficeSigner, Services
from workflow.extending import extend_expiring
from workflow.signing import pages_prefix, pending_intake_ids, sign_approved
from workflow.verification import verify_file, verify_id

OFFICE_A = "UBND phường Bến Nghé"
OFFICE_B = "UBND phường Đa Kao"


def _page() -> Page:
    img = Image.new("RGB", (620, 877), "white")  # A4 at 75 dpi: small and quick to render
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 580, 120), outline="black", width=3)
    draw.text((60, 70), "CAN CUOC CONG DAN 001203004567", fill="black")
    return Page(index=0, image=np.asarray(img), dpi=75.0)


def office_signer(pki: TestPki, name: str, office: str, *, level: str = "B-B") -> OfficeSigner:
    key = pki.signer(name)
    return OfficeSigner(
        issuer=IssuerProfile(
            office=office,
            certifier_name="Tên Trong Cấu Hình",
            certifier_title="Công chức",
            public_url="http://127.0.0.1:9",
        ),
        sign_options=SignOptions(
            level=level,  # type: ignore[arg-type]
            timestamp_url=pki.tsa_url if level != "B-B" else None,
            trust_roots=(pki.root_pem,),
        ),
        signing_key=lambda: key,
    )


def make_services(
    tmp_path: Path, offices: dict[str, OfficeSigner], roots: tuple[bytes, ...], store: ObjectStore | None = None
) -> Services:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    registry.migrate()
    first = next(iter(offices.values()))
    return Services(
        store=store or FilesystemStore(tmp_path / "objects"),
        registry=registry,
        read_options=ReadOptions(),
        issuer=first.issuer,
        sign_options=first.sign_options,
        trust_roots=roots,
        signing_key=first.signing_key,
        offices=offices,
    )


def approved_intake(svc: Services, office: str, *, signer: str = "user:mai", pages: bool = True) -> str:
    """An intake as the OCR worker leaves it, then approved by a signer (status "signing")."""
    intake_id = uuid.uuid4().hex
    svc.registry.create_intake(intake_id, office=office, file_keys=["k"], file_names=["scan.png"], status="queued")
    prefix = pages_prefix(intake_id)
    if pages:
        page = _page()
        svc.store.put(f"{prefix}page-000.png", serialize.page_to_png(page), content_type="image/png")
        svc.store.put(f"{prefix}pages.json", b'[{"index": 0, "dpi": 75.0}]', content_type="application/json")
        svc.store.put(f"{prefix}ocr.json", serialize.ocr_to_json(OcrResult(pages=())), content_type="application/json")
    svc.registry.update_intake(
        intake_id,
        status="signing",
        doc_type="cccd_front",
        page_count=1,
        fields={
            "id_number": {"value": "001203004567", "confidence": 0.99},
            "full_name": {"value": "NGUYỄN VĂN AN", "confidence": 0.95},
        },
        approved_by=signer,
    )
    return intake_id


@pytest.fixture
def two_offices(tmp_path: Path, test_pki: TestPki) -> Iterator[Services]:
    svc = make_services(
        tmp_path,
        {
            OFFICE_A: office_signer(test_pki, "office-a", OFFICE_A),
            OFFICE_B: office_signer(test_pki, "office-b", OFFICE_B),
        },
        (test_pki.root_pem,),
    )
    yield svc
    svc.registry.close()


def _issued(svc: Services, intake_id: str) -> Any:
    rec = svc.registry.find_by_intake(intake_id)
    assert rec is not None, svc.registry.get_intake(intake_id)
    return rec


def test_each_office_signs_with_its_own_certificate_and_both_verify(two_offices: Services, test_pki: TestPki) -> None:
    svc = two_offices
    svc.registry.create_user(
        UserRecord(
            id="u1", username="mai", password_hash="x", role="signer", office=OFFICE_A, display_name="Lê Thị Mai"
        )
    )
    a, b = approved_intake(svc, OFFICE_A), approved_intake(svc, OFFICE_B)
    outcomes = sign_approved(svc, [a, b])
    assert [o.status for o in outcomes] == ["issued", "issued"]
    rec_a, rec_b = _issued(svc, a), _issued(svc, b)
    assert rec_a.office == OFFICE_A and rec_b.office == OFFICE_B
    assert rec_a.signer_cert_sha256 == test_pki.signer("office-a").cert_sha256
    assert rec_b.signer_cert_sha256 == test_pki.signer("office-b").cert_sha256
    # the trust list of our own signers: both certificates, each with its office
    assert {(c.office, c.sha256) for c in svc.registry.signer_certificates()} == {
        (OFFICE_A, rec_a.signer_cert_sha256),
        (OFFICE_B, rec_b.signer_cert_sha256),
    }
    for rec in (rec_a, rec_b):
        verdict = verify_file(svc.store.get(rec.object_key), svc.registry, svc.trust_roots)
        assert verdict.status == "valid", verdict.reasons
    # The certifier on the copy is the signer who approved it, not a configured name.
    pdf = pdfium.PdfDocument(svc.store.get(rec_a.object_key))
    statement = pdf[len(pdf) - 1].get_textpage().get_text_range()
    assert "Lê Thị Mai" in statement and "Tên Trong Cấu Hình" not in statement
    assert svc.registry.get_intake(a).status == "issued"


def test_an_office_without_a_key_here_is_refused_and_the_others_are_signed(two_offices: Services) -> None:
    svc = two_offices
    foreign = approved_intake(svc, "UBND xã Không Có Khóa")
    missing_pages = approved_intake(svc, OFFICE_A, pages=False)
    good = approved_intake(svc, OFFICE_B)
    outcomes = {o.intake_id: o for o in sign_approved(svc, [foreign, missing_pages, good])}
    assert outcomes[foreign].status == "failed" and outcomes[foreign].error_code == NoOfficeKeyError.code
    assert "khóa ký" in (outcomes[foreign].error_message or "")
    assert outcomes[missing_pages].status == "failed"
    assert outcomes[good].status == "issued" and _issued(svc, good).office == OFFICE_B
    assert svc.registry.get_intake(foreign).status == "failed"
    assert svc.registry.get_intake(foreign).error_code == NoOfficeKeyError.code


def test_a_crash_on_one_copy_does_not_stop_the_selection(two_offices: Services) -> None:
    """A damaged hand-over file (not an ecopy error: a JSON decoder crash) fails that intake alone,
    left "retrying" for a single job to try again; the rest of the selection is issued."""
    svc = two_offices
    broken, good = approved_intake(svc, OFFICE_A), approved_intake(svc, OFFICE_A)
    svc.store.put(f"{pages_prefix(broken)}pages.json", b"{not json", content_type="application/json")
    outcomes = {o.intake_id: o for o in sign_approved(svc, [broken, good])}
    assert outcomes[broken].status == "failed" and outcomes[broken].retryable
    assert svc.registry.get_intake(broken).status == "retrying"
    assert svc.registry.get_intake(broken).error_code == "internal"
    assert outcomes[good].status == "issued" and _issued(svc, good).office == OFFICE_A


def test_sign_pending_takes_only_approved_intakes_of_our_offices(two_offices: Services) -> None:
    svc = two_offices
    waiting = [approved_intake(svc, OFFICE_A) for _ in range(3)]
    other = approved_intake(svc, "UBND xã Khác")
    not_approved = approved_intake(svc, OFFICE_A, signer="")
    pending = pending_intake_ids(svc, offices=[OFFICE_A, OFFICE_B])
    assert set(pending) == set(waiting) and other not in pending and not_approved not in pending
    seen: list[tuple[int, int]] = []
    outcomes = sign_approved(svc, pending, on_progress=lambda n, total, _o: seen.append((n, total)))
    assert [o.status for o in outcomes] == ["issued"] * 3
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert pending_intake_ids(svc, offices=[OFFICE_A]) == []
    # run twice (a retried job): nothing is issued twice
    assert [o.ecopy_id for o in sign_approved(svc, pending)] == [o.ecopy_id for o in outcomes]
    assert svc.registry.count_ecopies() == 3


def test_key_rotation_keeps_earlier_copies_verifiable(tmp_path: Path, test_pki: TestPki) -> None:
    short = test_pki.issue_short_lived(dt.timedelta(seconds=6))  # its own clock: other tests use theirs
    svc = make_services(tmp_path, {OFFICE_A: office_signer(test_pki, short, OFFICE_A)}, (test_pki.root_pem,))
    old = approved_intake(svc, OFFICE_A)
    sign_approved(svc, [old])
    old_rec = _issued(svc, old)
    # rotation: the office now signs with a new certificate
    svc.offices = {OFFICE_A: office_signer(test_pki, "office-a-2", OFFICE_A)}
    new = approved_intake(svc, OFFICE_A)
    sign_approved(svc, [new])
    new_rec = _issued(svc, new)
    assert old_rec.signer_cert_sha256 != new_rec.signer_cert_sha256
    assert {c.sha256 for c in svc.registry.signer_certificates() if c.office == OFFICE_A} == {
        old_rec.signer_cert_sha256,
        new_rec.signer_cert_sha256,
    }
    # the old certificate has expired by now; the copy it signed is still valid (issued while it was)
    expiry = test_pki.not_after(short)
    while dt.datetime.now(dt.UTC) <= expiry:
        time.sleep(0.2)
    for rec in (old_rec, new_rec):
        verdict = verify_file(svc.store.get(rec.object_key), svc.registry, svc.trust_roots)
        assert verdict.status == "valid", (rec.ecopy_id, verdict.reasons)
    # and the expired certificate signs nothing more
    svc.offices = {OFFICE_A: office_signer(test_pki, short, OFFICE_A)}
    late = approved_intake(svc, OFFICE_A)
    [outcome] = sign_approved(svc, [late])
    assert outcome.status == "failed" and outcome.error_code == "sign.certificate_expired", outcome
    assert "hết hạn" in (outcome.error_message or "")
    svc.registry.close()


def test_the_qr_carries_a_payload_signed_by_the_office(two_offices: Services) -> None:
    svc = two_offices
    intake_id = approved_intake(svc, OFFICE_B)
    sign_approved(svc, [intake_id])
    rec = _issued(svc, intake_id)
    pdf = pdfium.PdfDocument(svc.store.get(rec.object_key))
    last = np.asarray(pdf[len(pdf) - 1].render(scale=150 / 72).to_pil().convert("L"))
    [code] = decode_qr(last)
    ecopy_id, token = parse_qr_text(code.texts[0])
    assert ecopy_id == rec.ecopy_id and token
    trusted = trusted_keys_from_certs((c.office, c.cert_pem) for c in svc.registry.signer_certificates())
    check = verify_token(token, trusted, expected_id=rec.ecopy_id)
    assert check.code == "qr.valid", check
    assert verify_id(rec.ecopy_id, svc.registry).status == "valid"


# ---- re-time-stamping -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["fs", "s3"])
def test_extend_adds_a_document_timestamp_as_a_new_object_version(
    tmp_path: Path, test_pki: TestPki, backend: str, request: pytest.FixtureRequest
) -> None:
    store: ObjectStore | None = None
    if backend == "s3":
        s3: S3Service = request.getfixturevalue("s3_server")
        bucket = request.getfixturevalue("s3_bucket")
        store = S3Store(s3.endpoint, s3.access_key, s3.secret_key, bucket, secure=False, region="us-east-1")
    svc = make_services(
        tmp_path, {OFFICE_A: office_signer(test_pki, "office-a", OFFICE_A, level="B-T")}, (test_pki.root_pem,), store
    )
    intake_id = approved_intake(svc, OFFICE_A)
    sign_approved(svc, [intake_id])
    first = _issued(svc, intake_id)
    original = svc.store.get(first.object_key)
    assert first.signature_level == "B-T" and first.timestamp_expiry is not None and first.version == 1
    # nothing expires within a day: nothing to do
    assert extend_expiring(svc, within=dt.timedelta(days=1)) == []
    # the TSA certificate expires within 100 years: extend
    [outcome] = extend_expiring(svc, within=dt.timedelta(days=36500))
    assert outcome.status == "extended" and outcome.version == 2, outcome
    rec = svc.registry.get_ecopy(first.ecopy_id)
    assert rec is not None and rec.version == 2 and rec.signature_level == "B-LTA"
    extended = svc.store.get(rec.object_key)
    assert extended.startswith(original) and len(extended) > len(original)
    assert rec.sha256 == hashlib.sha256(extended).hexdigest() != first.sha256
    versions = svc.registry.ecopy_versions(rec.ecopy_id)
    assert [(v.version, v.sha256) for v in versions] == [(1, first.sha256), (2, rec.sha256)]
    if backend == "s3":
        assert versions[1].object_version and versions[1].object_version != versions[0].object_version
    # the citizen's old download and the new version both verify, by their exact bytes
    for data in (original, extended):
        verdict = verify_file(data, svc.registry, svc.trust_roots)
        assert verdict.status == "valid" and verdict.ecopy_id == rec.ecopy_id, verdict.reasons
    # a stale second extender (still thinking version 1 is current) loses, nothing changes
    from storage.errors import ObjectExistsError

    with pytest.raises(ObjectExistsError):
        svc.store.put_version(first.object_key, extended + b"\n", after_sha256=first.sha256)
    svc.registry.close()


# ---- configuration ------------------------------------------------------------------------------
DEFAULTS = OfficeConfig(
    name="UBND mặc định", certifier_name="A", certifier_title="B", signing_location="VN", level="B-B", tsa_url=None
)


def test_offices_file_lists_offices_with_their_own_keys(
    tmp_path: Path, test_pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    p12, password = test_pki.pkcs12("office-b")
    (tmp_path / "b.p12").write_bytes(p12)
    (tmp_path / "offices.toml").write_text(
        f"""
[[office]]
name = "{OFFICE_A}"
signature_level = "B-LTA"
tsa_url = "{test_pki.tsa_url}"
pkcs11_token_label = "ben-nghe"
pkcs11_pin_env = "BN_PIN"

[[office]]
name = "{OFFICE_B}"
pkcs12_path = "{tmp_path / "b.p12"}"
pkcs12_password_env = "DK_P12"
""",
        encoding="utf-8",
    )
    a, b = parse_offices_file(tmp_path / "offices.toml", DEFAULTS)
    assert (a.name, a.level, a.pkcs11_token_label, a.secret_env) == (OFFICE_A, "B-LTA", "ben-nghe", "BN_PIN")
    assert (b.name, b.level, b.pkcs12_path) == (OFFICE_B, "B-B", tmp_path / "b.p12")
    # the secret is read when the key is opened, and a missing one says which variable
    monkeypatch.delenv("DK_P12", raising=False)
    with pytest.raises(ConfigurationError, match="DK_P12"):
        key_loader(b)()
    monkeypatch.setenv("DK_P12", password.decode())
    assert key_loader(b)().cert_sha256 == test_pki.signer("office-b").cert_sha256


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[office]]\nname = ""\npkcs12_path = "x"\n', "chưa có tên"),
        ('[[office]]\nname = "X"\n', "chưa có khóa ký"),
        ('[[office]]\nname = "X"\npkcs12_path = "x"\nsignature_level = "B-Z"\n', "không hợp lệ"),
        ('[[office]]\nname = "X"\npkcs12_path = "x"\n[[office]]\nname = "X"\npkcs12_path = "y"\n', "trùng"),
        ("office = 3\n", "không có mục"),
        ("[[office]\n", "Không đọc được"),
    ],
)
def test_a_wrong_offices_file_is_refused_with_a_message(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "offices.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        parse_offices_file(path, DEFAULTS)


# ---- the commands a signer machine runs -----------------------------------------------------------
def test_ecopy_sign_pending_then_extend_from_the_command_line(
    tmp_path: Path, test_pki: TestPki, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ecopy sign --pending` signs what signers approved (B-T with the configured TSA), then
    `ecopy extend` re-time-stamps what expires within the horizon, each with a line of progress."""
    from ecopy import wiring
    from ecopy.cli import main
    from ecopy.settings import Settings

    (tmp_path / "roots.pem").write_bytes(test_pki.root_pem)
    p12, password = test_pki.pkcs12("office-b")  # a CA with OCSP/CRL: B-LTA needs revocation data
    (tmp_path / "office.p12").write_bytes(p12)
    env = {
        "ECOPY_DATA_DIR": str(tmp_path / "data"),
        "ECOPY_STORE": "fs",
        "ECOPY_OFFICE": OFFICE_B,
        "ECOPY_PKCS12_PATH": str(tmp_path / "office.p12"),
        "ECOPY_PKCS12_PASSWORD": password.decode(),
        "ECOPY_TSA_URL": test_pki.tsa_url,
        "ECOPY_TRUST_ROOTS": str(tmp_path / "roots.pem"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ECOPY_DATABASE_URL", raising=False)
    svc = wiring.build_services(Settings(), with_key=True)
    waiting = [approved_intake(svc, svc.issuer.office) for _ in range(2)]
    svc.registry.close()

    capsys.readouterr()
    assert main(["sign", "--pending"]) == 0
    out = capsys.readouterr().out
    assert "[1/2]" in out and "[2/2]" in out and "Đã ký 2/2 bản sao" in out, out
    assert main(["sign", "--pending"]) == 0
    assert "Không có hồ sơ nào" in capsys.readouterr().out

    svc = wiring.build_services(Settings(), with_key=True)
    records = [_issued(svc, i) for i in waiting]
    assert {r.signature_level for r in records} == {"B-T"} and all(r.version == 1 for r in records)
    assert main(["extend", "--days", "1"]) == 0  # the test TSA's certificate outlives a day
    assert "0/0" in capsys.readouterr().out
    assert main(["extend", "--days", "36500"]) == 0
    out = capsys.readouterr().out
    assert "Đã gia hạn dấu thời gian cho 2/2 bản sao" in out and "phiên bản 2" in out, out
    for rec in records:
        now = svc.registry.get_ecopy(rec.ecopy_id)
        assert now is not None and now.version == 2 and now.signature_level == "B-LTA"
        assert verify_file(svc.store.get(now.object_key), svc.registry, svc.trust_roots).status == "valid"
    svc.registry.close()
