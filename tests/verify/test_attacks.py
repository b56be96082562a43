"""The attack corpus: every forgery of an issued copy is rejected with its own code, genuine copies pass.

Genuine copies are issued the real way (render_ecopy → sign_pdf with a dev PKI) and registered by
SHA-256, as the registry does. Attacks come from tests/support/attacks.py. Uploads that miss the registry
are diagnosed in child processes; the corpus is verified from two threads at once, as FastAPI's
thread pool would call verify_pdf.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from pipeline.certify.dev_pki import DevPki, make_dev_pki
from pipeline.certify.pades import SigningKey, SignOptions, load_pkcs12_key, sign_pdf
from pipeline.certify.render import RenderOptions, render_ecopy
from pipeline.models import IssuedCopyInfo, Page, Verdict
from pipeline.verify.diagnose import diagnose, examine
from pipeline.verify.verdict import validate_signature, verify_pdf
from tests.support import attacks
from tests.support.copies import sample_certification

PASSWORD = b"attack-corpus"
ECOPY_ID = "9QHN-GRJ0-GDBM-3KX5-K"
OFFICE = "UBND Phường Bến Nghé, Thành phố Hồ Chí Minh"
STRUCTURAL_PREFIXES = ("update.", "file.", "signature.byte_range", "signature.no_byte_range", "signature.subfilter")


class Registry:
    """SHA-256 → record, as storage's find_by_sha256 gives it (each stored version has its own hash)."""

    def __init__(self) -> None:
        self.rows: dict[str, IssuedCopyInfo] = {}

    def issue(self, pdf: bytes, key: SigningKey, **changes: Any) -> IssuedCopyInfo:
        info = IssuedCopyInfo(
            ecopy_id=ECOPY_ID,
            status="issued",
            sha256=hashlib.sha256(pdf).hexdigest(),
            doc_type="birth_certificate",
            office=OFFICE,
            issued_at=dt.datetime.now(dt.UTC),
            signer_cert_sha256=key.cert_sha256,
        )
        info = dataclasses.replace(info, **changes)
        self.rows[info.sha256] = info
        return info

    def lookup(self, sha256: str) -> IssuedCopyInfo | None:
        return self.rows.get(sha256)


# ---- genuine copies ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(OFFICE, password=PASSWORD)


@pytest.fixture(scope="module")
def key(pki: DevPki) -> SigningKey:
    return load_pkcs12_key(pki.signer_p12, PASSWORD)


@pytest.fixture(scope="module")
def roots(pki: DevPki) -> list[bytes]:
    return [pki.root_cert_pem]


@pytest.fixture(scope="module")
def rendered() -> bytes:
    scan = np.full((842, 595, 3), 247, np.uint8)
    scan[120:140, 60:535] = 30  # a "line of text"
    scan[300:600, 150:450] = (90, 120, 160)  # a "photo"
    cert = sample_certification(ECOPY_ID, OFFICE)
    return render_ecopy([Page(0, scan, dpi=72)], None, cert, RenderOptions()).pdf


@pytest.fixture(scope="module")
def genuine(rendered: bytes, key: SigningKey) -> bytes:
    return sign_pdf(rendered, key, SignOptions(location="Phường Bến Nghé"))


@pytest.fixture(scope="module")
def approval_signed(rendered: bytes, key: SigningKey) -> bytes:
    """An office configured without certification (SignOptions.certify=False), with an empty field."""
    return sign_pdf(attacks.add_text_field(rendered), key, SignOptions(certify=False))


@pytest.fixture(scope="module")
def re_time_stamped(genuine: bytes, pki: DevPki) -> bytes:
    """The genuine copy with a DSS revision and a document time-stamp revision (B-LTA style)."""
    return attacks.add_validation_data(genuine, [pki.signer_cert_pem, pki.root_cert_pem], attacks.dummy_timestamper())


@pytest.fixture(scope="module")
def registry(genuine: bytes, approval_signed: bytes, key: SigningKey) -> Registry:
    reg = Registry()
    reg.issue(genuine, key)
    reg.issue(approval_signed, key, ecopy_id="AAAA-BBBB-CCCC-DDDD-E")
    return reg


@pytest.fixture(scope="module")
def forged(genuine: bytes) -> SigningKey:
    return attacks.forged_office_key(genuine)


# ---- the corpus ------------------------------------------------------------------------------------
Builder = Callable[[bytes, SigningKey], bytes]
# name → (builder, expected status, codes that must be there, structural codes exactly, if given)
ATTACKS: dict[str, tuple[Builder, str, set[str], set[str] | None]] = {
    "zeroed_signature_value": (
        lambda g, f: attacks.zero_signature_value(g),
        "unknown",
        {"hash.unknown", "signature.zeroed"},
        None,
    ),
    "zeroed_cms_signature": (
        lambda g, f: attacks.zero_cms_signature_value(g),
        "unknown",
        {"hash.unknown", "signature.invalid"},
        set(),
    ),
    "removed_byte_range": (
        lambda g, f: attacks.remove_byte_range(g),
        "altered",
        {"hash.mismatch", "signature.no_byte_range"},
        {"signature.no_byte_range"},
    ),
    "unknown_subfilter": (
        lambda g, f: attacks.unknown_subfilter(g),
        "altered",
        {"hash.mismatch", "signature.subfilter"},
        {"signature.subfilter"},
    ),
    "page_content_update": (
        lambda g, f: attacks.update_page_content(g),
        "altered",
        {"hash.mismatch", "update.page_content", "signature.modified_after"},
        {"update.page_content"},
    ),
    "data_after_eof": (
        lambda g, f: attacks.append_trailing_data(g),
        "altered",
        {"hash.mismatch", "file.trailing_data", "signature.modified_after"},
        {"file.trailing_data"},
    ),
    "whole_copy_appended": (
        lambda g, f: attacks.append_whole_copy(g),
        "altered",
        {"hash.mismatch", "file.trailing_data"},
        {"file.trailing_data"},
    ),
    "metadata_only_update": (
        lambda g, f: attacks.metadata_only_update(g),
        "altered",
        {"hash.mismatch", "update.metadata", "signature.modified_after"},
        {"update.metadata"},
    ),
    "byte_range_gap_too_big": (
        lambda g, f: attacks.byte_range_gap_too_big(g),
        "altered",
        {"hash.mismatch", "signature.byte_range", "signature.not_intact"},
        {"signature.byte_range"},
    ),
    "byte_range_one_range": (
        lambda g, f: attacks.byte_range_single_range(g),
        "altered",
        {"hash.mismatch", "signature.byte_range"},
        {"signature.byte_range"},
    ),
    "byte_range_tail_uncovered": (
        lambda g, f: attacks.byte_range_tail_uncovered(g),
        "altered",
        {"hash.mismatch", "signature.byte_range", "signature.not_intact"},
        {"signature.byte_range"},
    ),
    "shadow_hide": (
        lambda g, f: attacks.shadow_hide(g),
        "altered",
        {"hash.mismatch", "update.page_content"},
        {"update.page_content"},
    ),
    "shadow_replace": (
        lambda g, f: attacks.shadow_replace(g),
        "altered",
        {"hash.mismatch", "update.page_content"},
        {"update.page_content"},
    ),
    "shadow_hide_and_replace": (
        lambda g, f: attacks.shadow_hide_and_replace(g),
        "altered",
        {"hash.mismatch", "update.page_content"},
        {"update.page_content"},
    ),
    "evil_annotation": (
        lambda g, f: attacks.evil_annotation(g),
        "altered",
        {"hash.mismatch", "update.annotation"},
        {"update.annotation"},
    ),
    "form_filled_after_signing": (
        lambda g, f: attacks.fill_form(g),
        "altered",
        {"hash.mismatch", "update.form"},
        {"update.form"},
    ),
    "sneaky_extra_signature": (
        lambda g, f: attacks.sneaky_extra_signature(g, f),
        "altered",
        {"hash.mismatch", "signature.extra"},
        None,
    ),
    "resigned_by_foreign_ca": (
        lambda g, f: attacks.resign_with_foreign_ca(g, f),
        "unknown",
        {"hash.unknown", "signature.foreign"},
        set(),
    ),
    "decompression_bomb": (
        lambda g, f: attacks.decompression_bomb(g, decoded_mib=64),
        "altered",
        {"hash.mismatch", "update.page_content"},
        None,
    ),
    "deeply_nested_arrays": (lambda g, f: attacks.deeply_nested_arrays(g), "altered", {"hash.mismatch"}, None),
    "huge_xref_size": (lambda g, f: attacks.huge_xref_size(g), "altered", {"hash.mismatch"}, None),
}


@pytest.fixture(scope="module")
def corpus(genuine: bytes, forged: SigningKey) -> dict[str, bytes]:
    return {name: build(genuine, forged) for name, (build, *_rest) in ATTACKS.items()}


@pytest.fixture(scope="module")
def verdicts(
    corpus: dict[str, bytes], approval_signed: bytes, re_time_stamped: bytes, registry: Registry, roots: list[bytes]
) -> dict[str, Verdict]:
    """Every upload verified from two threads at once (each miss diagnosed in its own child process)."""
    uploads = dict(corpus)
    uploads["approval_form_filled"] = attacks.fill_form(approval_signed)
    uploads["re_time_stamped_not_on_record"] = re_time_stamped
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(verify_pdf, pdf, registry.lookup, roots) for name, pdf in uploads.items()}
        return {name: f.result() for name, f in futures.items()}


def structural(codes: tuple[str, ...]) -> set[str]:
    return {c for c in codes if c.startswith(STRUCTURAL_PREFIXES)}


# ---- tests ---------------------------------------------------------------------------------------
def test_genuine_copy_is_valid_and_clean(genuine: bytes, registry: Registry, roots: list[bytes]) -> None:
    verdict = verify_pdf(genuine, registry.lookup, roots)
    assert verdict.status == "valid", verdict.reasons
    assert verdict.codes == ("hash.match", "signature.valid")
    diag = examine(genuine, roots)
    assert diag.findings == () and diag.carries_our_signature


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_rejected_with_its_code(name: str, corpus: dict[str, bytes], verdicts: dict[str, Verdict]) -> None:
    _build, status, must_have, exactly = ATTACKS[name]
    verdict = verdicts[name]
    assert corpus[name] != b"" and verdict.status == status, (verdict.codes, verdict.reasons)
    assert must_have <= set(verdict.codes), verdict.codes
    if exactly is not None:
        assert structural(verdict.codes) == exactly, verdict.codes
    assert "hash.match" not in verdict.codes and "signature.valid" not in verdict.codes
    assert len(verdict.codes) == len(verdict.reasons) and all(verdict.reasons)
    assert "diagnosis.limit" not in verdict.codes and "diagnosis.failed" not in verdict.codes


def _pyhanko_alone(pdf: bytes, roots: list[bytes]) -> PdfSignatureStatus:
    sig = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_regular_signatures[0]
    trust = [c for r in roots for c in load_certs_from_pemder_data(r)]
    return validate_pdf_signature(sig, ValidationContext(trust_roots=trust, allow_fetching=False))


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("data_after_eof", ModificationLevel.NONE),
        ("metadata_only_update", ModificationLevel.LTA_UPDATES),
        ("approval_form_filled", ModificationLevel.FORM_FILLING),
    ],
)
def test_pyhanko_alone_says_valid_ecopy_does_not(
    name: str,
    level: ModificationLevel,
    corpus: dict[str, bytes],
    approval_signed: bytes,
    verdicts: dict[str, Verdict],
    roots: list[bytes],
) -> None:
    pdf = corpus[name] if name in corpus else attacks.fill_form(approval_signed)
    status = _pyhanko_alone(pdf, roots)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION and status.modification_level == level
    assert verdicts[name].status == "altered"
    assert (
        structural(verdicts[name].codes)
        == {
            "data_after_eof": {"file.trailing_data"},
            "metadata_only_update": {"update.metadata"},
            "approval_form_filled": {"update.form"},
        }[name]
    )
    # the in-process check (used on a hash hit) rejects them too, should such bytes ever be on record
    report = validate_signature(pdf, roots)
    assert report.intact and report.trusted and not report.covers_whole_file and not report.bottom_line


def test_approval_signed_copy_is_valid(approval_signed: bytes, registry: Registry, roots: list[bytes]) -> None:
    assert verify_pdf(approval_signed, registry.lookup, roots).status == "valid"


def test_re_time_stamped_copy_on_record_is_valid(
    re_time_stamped: bytes, genuine: bytes, registry: Registry, key: SigningKey, roots: list[bytes]
) -> None:
    """GIVEN the stored copy re-time-stamped (DSS + document time-stamp revisions) and that version's
    hash on record WHEN it is uploaded THEN it is valid; pyHanko sees ENTIRE_REVISION / LTA_UPDATES."""
    assert re_time_stamped.startswith(genuine)
    status = _pyhanko_alone(re_time_stamped, roots)
    assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert status.modification_level == ModificationLevel.LTA_UPDATES
    versions = Registry()
    versions.issue(genuine, key)
    versions.issue(re_time_stamped, key)
    verdict = verify_pdf(re_time_stamped, versions.lookup, roots)
    assert verdict.status == "valid", verdict.codes
    assert examine(re_time_stamped, roots).codes == ("update.validation_data",)


def test_re_time_stamped_copy_not_on_record_is_only_a_hash_mismatch(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["re_time_stamped_not_on_record"]
    assert verdict.status == "altered"
    assert structural(verdict.codes) == {"update.validation_data"}


def test_genuine_copy_of_a_revoked_record_is_revoked(genuine: bytes, key: SigningKey, roots: list[bytes]) -> None:
    revoked = Registry()
    revoked.issue(genuine, key, status="revoked", revoked_reason="cấp nhầm người")
    verdict = verify_pdf(genuine, revoked.lookup, roots)
    assert verdict.status == "revoked" and verdict.codes == ("record.revoked",)
    assert "cấp nhầm người" in verdict.reasons[0]


def test_genuine_bytes_with_another_signer_on_record_are_altered(
    genuine: bytes, key: SigningKey, roots: list[bytes]
) -> None:
    other = Registry()
    other.issue(genuine, key, signer_cert_sha256="0" * 64)
    verdict = verify_pdf(genuine, other.lookup, roots)
    assert verdict.status == "altered" and "signature.other" in verdict.codes


def test_copy_on_record_signed_by_a_foreign_ca_is_not_valid(
    corpus: dict[str, bytes], forged: SigningKey, roots: list[bytes]
) -> None:
    """Even registered under the forger's own fingerprint, a chain outside our roots is refused."""
    pdf = corpus["resigned_by_foreign_ca"]
    mistaken = Registry()
    mistaken.issue(pdf, forged)
    verdict = verify_pdf(pdf, mistaken.lookup, roots)
    assert verdict.status == "altered" and "signature.untrusted" in verdict.codes


def test_foreign_signature_of_a_known_signer_is_altered(
    corpus: dict[str, bytes], forged: SigningKey, registry: Registry, roots: list[bytes]
) -> None:
    pdf = corpus["resigned_by_foreign_ca"]
    verdict = verify_pdf(pdf, registry.lookup, roots, known_signer_fingerprints={forged.cert_sha256.upper()})
    assert verdict.status == "altered" and "hash.mismatch" in verdict.codes


def test_the_signer_facts_need_a_working_signature(corpus: dict[str, bytes], roots: list[bytes]) -> None:
    """Our certificate copied into a CMS whose signature does not verify does not make a file ours."""
    diag = diagnose(corpus["zeroed_cms_signature"], roots)
    assert diag.completed and len(diag.signers) == 1
    facts = diag.signers[0]
    assert not facts.crypto_valid and not facts.ours


@pytest.mark.parametrize("name", ["decompression_bomb", "deeply_nested_arrays", "huge_xref_size"])
def test_hostile_files_are_diagnosed_within_limits(name: str, corpus: dict[str, bytes], roots: list[bytes]) -> None:
    diag = diagnose(corpus[name], roots, timeout_s=20, memory_bytes=512 * 1024 * 1024)
    assert diag.carries_our_signature  # attribution comes first and survives whatever follows
    assert diag.completed or "diagnosis.limit" in diag.codes, diag.codes
    assert diag.findings and "diagnosis.failed" not in diag.codes


def test_a_diagnosis_out_of_memory_still_answers(
    corpus: dict[str, bytes], registry: Registry, roots: list[bytes]
) -> None:
    small = 64 * 1024 * 1024  # below what the child needs: it must stop, and say so
    diag = diagnose(corpus["page_content_update"], roots, memory_bytes=small)
    assert not diag.completed and "diagnosis.limit" in diag.codes
    verdict = verify_pdf(corpus["page_content_update"], registry.lookup, roots, diagnosis_memory_bytes=small)
    assert verdict.status == "unknown" and "diagnosis.limit" in verdict.codes and "hash.unknown" in verdict.codes


def test_a_diagnosis_out_of_time_still_answers(
    corpus: dict[str, bytes], registry: Registry, roots: list[bytes]
) -> None:
    verdict = verify_pdf(corpus["data_after_eof"], registry.lookup, roots, diagnosis_timeout_s=0.0)
    assert verdict.status == "unknown" and "diagnosis.limit" in verdict.codes
    assert len(verdict.codes) == len(verdict.reasons)


def test_signer_certificate_pem_round_trip(genuine: bytes, pki: DevPki) -> None:
    """The builders read our signer certificate from the file the way an attacker would."""
    cert = attacks.our_signer_certificate(genuine)
    assert cert.public_bytes(serialization.Encoding.PEM) == pki.signer_cert_pem


def test_pades_b_lta_signed_by_pyhanko_is_valid_on_record(rendered: bytes, key: SigningKey, pki: DevPki) -> None:
    """GIVEN a copy signed in one go as PAdES B-LTA (signature time-stamp, DSS, document time-stamp)
    WHEN its hash is on record THEN it is valid, and every revision after the signature is validation data."""
    tsa = attacks.dummy_timestamper()
    tsa_root = tsa.tsa_cert.dump()
    trust = [c for r in (pki.root_cert_pem, tsa_root) for c in load_certs_from_pemder_data(r)]
    meta = signers.PdfSignatureMetadata(
        field_name="ChungThuc",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        embed_validation_info=True,
        use_pades_lta=True,
        validation_context=ValidationContext(trust_roots=trust, allow_fetching=False, revocation_mode="soft-fail"),
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=key.signer, timestamper=tsa).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(rendered)), output=out
    )
    b_lta = out.getvalue()
    on_record = Registry()
    on_record.issue(b_lta, key)
    roots = [pki.root_cert_pem, tsa_root]
    verdict = verify_pdf(b_lta, on_record.lookup, roots)
    assert verdict.status == "valid", verdict.codes
    assert verdict.signature is not None and verdict.signature.timestamped
    assert examine(b_lta, roots).codes == ("update.validation_data",)
