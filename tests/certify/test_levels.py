"""PAdES levels B-B / B-T / B-LT / B-LTA and re-time-stamping (extension), against the real parts:
a certomancer PKI on loopback (OCSP, CRL, two TSAs; tests/support/pki.py), real pyHanko signatures,
pyHanko's own offline validation from the DSS, and poppler's pdfsig."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import re
import shutil
import time

import numpy as np
import pytest
from asn1crypto import x509
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    validate_pdf_signature,
)
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from ecopy.devtools.ports import free_port
from pipeline.certify.extend import archive_timestamp_expiry, extend_pdf
from pipeline.certify.pades import LEVELS, Level, SignOptions, load_certificate, sign_pdf, signature_level
from pipeline.certify.render import RenderOptions, render_ecopy
from pipeline.errors import (
    CertificateRevokedError,
    RevocationUnavailableError,
    SigningError,
    TimestampError,
    VerificationError,
)
from pipeline.models import Page
from tests.support.copies import sample_certification
from tests.support.pki import OFFICE_A, OFFICE_B, SHORT_LIFETIME, TestPki, run_pdfsig

log = logging.getLogger(__name__)

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdfsig", "certutil")), reason="needs poppler-utils and libnss3-tools"
)

LONG_TERM: tuple[Level, ...] = ("B-LT", "B-LTA")
TIMINGS_MS: dict[str, float] = {}


def _dead_url(path: str) -> str:
    """A loopback URL nobody listens on (a port that was free a moment ago)."""
    port = free_port()  # a port that was free a moment ago: nothing listens there
    return f"http://127.0.0.1:{port}/{path}"


def _options(pki: TestPki, level: Level, **more: object) -> SignOptions:
    return SignOptions(
        level=level,
        timestamp_url=None if level == "B-B" else pki.tsa_url,
        trust_roots=(pki.root_pem,),
        location="Phường Bến Nghé, TP. Hồ Chí Minh",
        **more,  # type: ignore[arg-type]
    )


# ---- a small rendered copy, signed at each level (once per module) ---------------------------------
@pytest.fixture(scope="module")
def rendered() -> tuple[bytes, object]:
    img = Image.new("RGB", (620, 877), "white")  # A4 at 75 dpi: small and quick
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 580, 120), outline="black", width=3)
    draw.text((60, 70), "GIAY KHAI SINH 001203004567", fill="black")
    cert = sample_certification("9QHN-GRJ0-GDBM-3KX5-K", OFFICE_A)
    out = render_ecopy(
        [Page(index=0, image=np.asarray(img), dpi=75.0)], None, cert, RenderOptions(created_at=dt.datetime.now(dt.UTC))
    )
    return out.pdf, out.signature_box


@pytest.fixture(scope="module")
def signed(rendered: tuple[bytes, object], test_pki: TestPki) -> dict[Level, bytes]:
    pdf, box = rendered
    key = test_pki.signer("office-a")
    copies: dict[Level, bytes] = {}
    for level in LEVELS:
        started = time.perf_counter()
        copies[level] = sign_pdf(pdf, key, _options(test_pki, level), signature_box=box)  # type: ignore[arg-type]
        TIMINGS_MS[level] = (time.perf_counter() - started) * 1000
    log.warning("ms per signature on this machine: %s", {k: round(v) for k, v in TIMINGS_MS.items()})
    return copies


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf), strict=False)


def _revisions(pdf: bytes) -> int:
    return len(re.findall(rb"%%EOF", pdf))


def _validate(pdf: bytes, pki: TestPki, **context: object) -> PdfSignatureStatus:
    sig = _reader(pdf).embedded_regular_signatures[0]
    vc = ValidationContext(trust_roots=[load_certificate(pki.root_pem)], allow_fetching=False, **context)  # type: ignore[arg-type]
    return validate_pdf_signature(sig, vc)


def _validate_from_dss(pdf: bytes, pki: TestPki) -> PdfSignatureStatus:
    """Offline, fetching disabled, revocation data *required*: only the file's DSS can supply it."""
    reader = _reader(pdf)
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [load_certificate(pki.root_pem)], "allow_fetching": False, "revocation_mode": "require"}
    )
    return validate_pdf_signature(reader.embedded_regular_signatures[0], vc)


def _ades_lta(pdf: bytes, pki: TestPki) -> AdESPassed | object:
    """pyHanko 0.38's PAdES long-term validation (ETSI EN 319 102-1 §5.6.3) with no fetching at all:
    the successor of the removed ``validate_pdf_ltv_signature(..., PADES_LTA)``."""
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build([load_certificate(pki.root_pem)]),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
                certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
            ),
        )
    )
    result = asyncio.run(ades_lta_validation(_reader(pdf).embedded_regular_signatures[0], spec))
    return result.ades_subindic


def _pdfsig_blocks(pdf: bytes, pki: TestPki) -> list[str]:
    out = run_pdfsig(pdf, [pki.root_pem])
    return re.split(r"\n(?=Signature #\d+:)", out)[1:]


# ---- each level -------------------------------------------------------------------------------------
@pytest.mark.parametrize("level", LEVELS)
def test_each_level_signs_and_reports_its_level(
    level: Level, signed: dict[Level, bytes], rendered: tuple[bytes, object], test_pki: TestPki
) -> None:
    pdf = signed[level]
    assert pdf.startswith(rendered[0])
    assert signature_level(pdf) == level
    # B-LT: the DSS lives in the signature's own revision; B-LTA: one more, the document time-stamp
    assert _revisions(pdf) - _revisions(rendered[0]) == (2 if level == "B-LTA" else 1)
    status = _validate(pdf, test_pki)
    assert status.bottom_line, status.pretty_print_details()
    assert status.docmdp_ok and status.modification_level <= ModificationLevel.LTA_UPDATES
    assert (status.timestamp_validity is not None) == (level != "B-B")
    if status.timestamp_validity is not None:
        assert status.timestamp_validity.trusted
    assert len(_reader(pdf).embedded_timestamp_signatures) == (1 if level == "B-LTA" else 0)
    assert (archive_timestamp_expiry(pdf) is None) == (level == "B-B")


@pytest.mark.parametrize("level", LONG_TERM)
def test_long_term_copies_validate_offline_from_their_dss(
    level: Level, signed: dict[Level, bytes], test_pki: TestPki
) -> None:
    status = _validate_from_dss(signed[level], test_pki)
    assert status.bottom_line and status.trusted and not status.revoked, status.pretty_print_details()
    # the same demand on a B-T copy fails: it carries no revocation data
    assert not _validate(signed["B-T"], test_pki, revocation_mode="require", ocsps=[], crls=[]).bottom_line


def test_b_lta_passes_pyhankos_long_term_validation_without_fetching(
    signed: dict[Level, bytes], test_pki: TestPki
) -> None:
    assert _ades_lta(signed["B-LTA"], test_pki) == AdESPassed.OK
    assert _ades_lta(signed["B-T"], test_pki) != AdESPassed.OK  # control: no DSS, nothing to go on


@pytest.mark.parametrize("level", LEVELS)
def test_pdfsig_finds_every_signature_valid_and_the_last_covering_the_document(
    level: Level, signed: dict[Level, bytes], test_pki: TestPki
) -> None:
    blocks = _pdfsig_blocks(signed[level], test_pki)
    print(f"pdfsig on {level}:\n" + "\n".join(blocks))
    assert len(blocks) == (2 if level == "B-LTA" else 1), blocks
    signature = blocks[0]
    assert "Signature is Valid" in signature and "ETSI.CAdES.detached" in signature, signature
    assert "Total document signed" in blocks[-1], blocks[-1]
    if level == "B-LTA":
        assert "Not total document signed" in signature
        # poppler 22.12 does not check RFC 3161 document time-stamps ("Signature Type: unknown",
        # "not yet been verified"); it must at least not call it broken
        assert "Invalid" not in blocks[1] and "Mismatch" not in blocks[1], blocks[1]


# ---- extension (re-time-stamping) ----------------------------------------------------------------------
@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_extend_adds_one_document_timestamp_and_keeps_everything_valid(
    level: Level, signed: dict[Level, bytes], test_pki: TestPki
) -> None:
    original = signed[level]
    assert archive_timestamp_expiry(original) == test_pki.tsa_not_after
    before = len(_reader(original).embedded_timestamp_signatures)
    # the renewed TSA (a longer-lived certificate) stamps this time
    extended = extend_pdf(original, SignOptions(timestamp_url=test_pki.tsa2_url, trust_roots=(test_pki.root_pem,)))
    assert extended.startswith(original) and len(extended) > len(original)
    reader = _reader(extended)
    assert len(reader.embedded_timestamp_signatures) == before + 1
    assert signature_level(extended) == "B-LTA"
    assert archive_timestamp_expiry(extended) == test_pki.tsa2_not_after > test_pki.tsa_not_after
    status = _validate(extended, test_pki)
    assert status.bottom_line and status.docmdp_ok, status.pretty_print_details()
    assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert status.modification_level is not None and status.modification_level <= ModificationLevel.LTA_UPDATES
    assert _validate_from_dss(extended, test_pki).bottom_line
    assert _ades_lta(extended, test_pki) == AdESPassed.OK
    blocks = _pdfsig_blocks(extended, test_pki)
    assert "Signature is Valid" in blocks[0] and "Total document signed" in blocks[-1], blocks
    assert len(blocks) == before + 2


def test_extend_refuses_what_it_cannot_honestly_extend(signed: dict[Level, bytes], test_pki: TestPki) -> None:
    options = SignOptions(timestamp_url=test_pki.tsa_url, trust_roots=(test_pki.root_pem,))
    with pytest.raises(SigningError, match="B-B"):
        extend_pdf(signed["B-B"], options)
    tampered = bytearray(signed["B-T"])
    at = tampered.index(b"/Creator (ecopy)") + len(b"/Creator (")
    tampered[at : at + 5] = b"xcopy"  # a signed byte changed, same length: the file still parses
    with pytest.raises(SigningError) as caught:
        extend_pdf(bytes(tampered), options)
    assert "nguyên vẹn" in caught.value.message, caught.value.detail
    with pytest.raises(SigningError, match="TSA"):
        extend_pdf(signed["B-T"], SignOptions(trust_roots=(test_pki.root_pem,)))
    with pytest.raises(VerificationError):
        extend_pdf(b"%PDF-1.7\nnot really\n", options)


def test_tsa_outage_while_extending_is_a_timestamp_error(signed: dict[Level, bytes], test_pki: TestPki) -> None:
    dead = SignOptions(timestamp_url=_dead_url("tsa"), timestamp_timeout=3, trust_roots=(test_pki.root_pem,))
    with pytest.raises(TimestampError) as caught:
        extend_pdf(signed["B-LTA"], dead)
    assert caught.value.retryable


# ---- failures: nothing half-signed ----------------------------------------------------------------------
@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_tsa_outage_is_a_retryable_timestamp_error(
    level: Level, rendered: tuple[bytes, object], test_pki: TestPki
) -> None:
    options = SignOptions(
        level=level, timestamp_url=_dead_url("tsa"), timestamp_timeout=3, trust_roots=(test_pki.root_pem,)
    )
    with pytest.raises(TimestampError) as caught:
        sign_pdf(rendered[0], test_pki.signer("office-a"), options)
    assert caught.value.retryable and caught.value.code == "sign.timestamp_unavailable"


@pytest.mark.parametrize("level", LONG_TERM)
def test_revocation_outage_is_retryable_and_signs_nothing(
    level: Level, rendered: tuple[bytes, object], test_pki: TestPki
) -> None:
    # a signer whose CRL distribution point is a closed port (and which names no OCSP responder)
    name = test_pki.issue_short_lived(dt.timedelta(days=1), crl_url=_dead_url("root.crl"))
    options = _options(test_pki, level, revocation_timeout=3)
    with pytest.raises(RevocationUnavailableError) as caught:
        sign_pdf(rendered[0], test_pki.signer(name), options)
    assert caught.value.retryable and caught.value.code == "sign.revocation_unavailable"
    # the same signer with its CRL reachable is fine: the outage, not the certificate, was the problem
    ok = test_pki.issue_short_lived(dt.timedelta(days=1))
    assert signature_level(sign_pdf(rendered[0], test_pki.signer(ok), options)) == level


def test_a_revoked_signer_cannot_sign_long_term(rendered: tuple[bytes, object], test_pki: TestPki) -> None:
    key = test_pki.signer("office-a-revoked")
    for level in LONG_TERM:
        with pytest.raises(CertificateRevokedError) as caught:
            sign_pdf(rendered[0], key, _options(test_pki, level))
        assert not caught.value.retryable and "thu hồi" in caught.value.message
    # B-B/B-T consult no revocation source when signing: they sign; catching this is the verifier's job
    assert signature_level(sign_pdf(rendered[0], key, _options(test_pki, "B-T"))) == "B-T"


def test_levels_above_b_b_need_a_tsa_and_unknown_levels_are_refused(
    rendered: tuple[bytes, object], test_pki: TestPki
) -> None:
    key = test_pki.signer("office-a")
    above_b_b: tuple[Level, ...] = ("B-T", "B-LT", "B-LTA")
    for level in above_b_b:
        with pytest.raises(SigningError, match="TSA"):
            sign_pdf(rendered[0], key, SignOptions(level=level, trust_roots=(test_pki.root_pem,)))
    with pytest.raises(SigningError, match="không hợp lệ"):
        sign_pdf(rendered[0], key, SignOptions(level="B-X", timestamp_url=test_pki.tsa_url))  # type: ignore[arg-type]
    # as before levels existed: a TSA URL alone (level B-B) gives B-T
    assert signature_level(sign_pdf(rendered[0], key, SignOptions(timestamp_url=test_pki.tsa_url))) == "B-T"


def test_a_chain_outside_the_trust_roots_cannot_sign_long_term(
    rendered: tuple[bytes, object], test_pki: TestPki
) -> None:
    with pytest.raises(SigningError, match="trust_roots"):
        sign_pdf(rendered[0], test_pki.signer("foreign"), _options(test_pki, "B-LT"))


# ---- the test PKI itself -----------------------------------------------------------------------------------
def test_the_test_pki_issues_what_other_tests_rely_on(test_pki: TestPki) -> None:
    def cert(name: str) -> x509.Certificate:
        return load_certificate(test_pki.cert_pem(name))

    for name in test_pki.names:
        assert cert(name).public_key.algorithm == "ec" and cert(name).public_key.curve[1] == "secp256r1"
        assert test_pki.key_pem(name).startswith(b"-----BEGIN PRIVATE KEY-----")
        data, password = test_pki.pkcs12(name)
        assert data and password
    assert {
        test_pki.office(n) for n in ("office-a", "office-a-2", "office-a-revoked", "office-a-short", "foreign")
    } == {OFFICE_A}
    assert test_pki.office("office-b") == OFFICE_B
    assert cert("foreign").subject == cert("office-a").subject
    assert cert("foreign").issuer != cert("office-a").issuer == load_certificate(test_pki.root_pem).subject
    assert load_certificate(test_pki.foreign_root_pem).subject == cert("foreign").issuer
    assert cert("office-a-2").public_key.dump() != cert("office-a").public_key.dump()
    short = test_pki.issue_short_lived()  # "office-a-short" itself may have been used (and expired) already
    lifetime = test_pki.not_after(short) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(0) < lifetime <= SHORT_LIFETIME
    assert test_pki.not_after("office-a") > dt.datetime.now(dt.UTC) + dt.timedelta(days=365)


def test_an_unsigned_file_has_no_level_and_no_timestamp(rendered: tuple[bytes, object]) -> None:
    with pytest.raises(VerificationError):
        signature_level(rendered[0])
    assert archive_timestamp_expiry(rendered[0]) is None
