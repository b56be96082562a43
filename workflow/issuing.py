"""Issue an e-copy: certification facts → render PDF/A → sign → check → store (write-once) → registry row.

Used in-process by ``ecopy digitize``, ``ecopy sign --pending`` and the ``sign`` queue's jobs. The
copy is issued for the intake's office with that office's key, signature level and time-stamp
authority (:meth:`workflow.context.Services.signer_for`); the certifier printed and stamped is the
signer who approved it. The QR carries the verification URL and a payload signed with the same
key, for offline checks of paper. A signed copy that breaks any rule of
:func:`pipeline.certify.structure_gate.copy_structure_problems` is never stored. The registry row is
written last and is what makes a copy exist: a crash before it leaves at most an orphan object
that no verification accepts, and a retry of the same intake re-uses the reserved ID and the
already-stored bytes instead of issuing a second copy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from asn1crypto import pem

from pipeline.certify.extend import archive_timestamp_expiry
from pipeline.certify.pades import SigningKey, check_valid_now, effective_level, sign_pdf, signature_level
from pipeline.certify.qr_token import QrClaims, fields_digest, key_field_values, qr_text, seal
from pipeline.certify.render import EncodedPage, render_ecopy
from pipeline.certify.structure_gate import copy_structure_problems
from pipeline.ecopy_id import new_ecopy_id
from pipeline.errors import SigningError
from pipeline.models import Certification, OcrResult, Page
from pipeline.verify.verdict import read_certificate_number, validate_signature
from storage.errors import ObjectExistsError
from storage.registry import EcopyRecord
from workflow.context import OfficeSigner, Services
from workflow.doctitle import certified_title

log = logging.getLogger(__name__)


def ecopy_object_key(ecopy_id: str) -> str:
    return f"ecopies/{ecopy_id}.pdf"


@dataclass(frozen=True)
class IssueRequest:
    pages: Sequence[Page | EncodedPage]
    ocr: OcrResult | None
    doc_type: str
    fields: Mapping[str, Mapping[str, object]]  # name -> {"value", "confidence"}
    intake_id: str | None = None
    reserved_ecopy_id: str | None = None  # reserved on the intake: every run of it uses this ID
    office: str | None = None  # the intake's office; None → the worker's default office
    certifier_name: str | None = None  # the signer who approved it; None → the office's configured name
    doc_title: str | None = None  # the clerk's title of an "other" document; a catalogue type's is its label


@dataclass(frozen=True)
class _Stored:
    signed: bytes
    certificate_number: str
    signer_fp: str
    object_version: str | None
    level: str
    timestamp_expiry: dt.datetime | None


def _level_and_expiry(signed: bytes, asked: str | None = None) -> tuple[str, dt.datetime | None]:
    """What the registry records about the copy's time-stamps (a B-B copy has none: not parsed)."""
    if asked == "B-B":
        return "B-B", None
    return signature_level(signed), archive_timestamp_expiry(signed)


def issue_ecopy(req: IssueRequest, svc: Services) -> EcopyRecord:
    """Issue the copy of ``req``; refused before anything is signed when its type gives no title
    (a document nobody named the type of, or "other" without the clerk's title)."""
    title = certified_title(req.doc_type, req.doc_title)
    if req.intake_id:
        existing = svc.registry.find_by_intake(req.intake_id)
        if existing is not None:
            log.info("intake %s already issued as %s", req.intake_id, existing.ecopy_id)
            return existing
    office = svc.signer_for(req.office)
    ecopy_id = req.reserved_ecopy_id or new_ecopy_id()
    key = ecopy_object_key(ecopy_id)
    stored = None if svc.store.stat(key) is None else _read_back(svc, key)
    if stored is None:
        try:
            stored = _render_sign_store(req, svc, office, ecopy_id, key, title)
        except ObjectExistsError:  # another run of the same intake stored its copy first
            done = svc.registry.find_by_intake(req.intake_id) if req.intake_id else None
            if done is not None:
                return done
            if svc.store.stat(key) is None:
                raise
            stored = _read_back(svc, key)
    now = dt.datetime.now(dt.UTC)
    record = EcopyRecord(
        ecopy_id=ecopy_id,
        doc_type=req.doc_type,
        fields={k: dict(v) for k, v in req.fields.items()},
        sha256=hashlib.sha256(stored.signed).hexdigest(),
        object_key=key,
        office=office.issuer.office,
        signer_cert_sha256=stored.signer_fp,
        status="issued",
        issued_at=now,
        updated_at=now,
        certificate_number=stored.certificate_number,
        page_count=len(req.pages),
        intake_id=req.intake_id,
        revoked_reason=None,
        superseded_by=None,
        signature_level=stored.level,
        timestamp_expiry=stored.timestamp_expiry,
        doc_title=title,
    )
    issued = svc.registry.add_ecopy(record, object_version=stored.object_version)
    log.info(
        "issued e-copy %s (%s, %d pages, %s, sha256 %s)",
        issued.ecopy_id,
        req.doc_type,
        len(req.pages),
        stored.level,
        issued.sha256[:12],
    )
    return issued


def _read_back(svc: Services, key: str) -> _Stored:
    """Bytes signed and stored by another run, or one that died before the registry row."""
    log.info("%s: registering the bytes stored by an earlier or concurrent run", key)
    info = svc.store.stat(key)
    signed = svc.store.get(key)
    meta = info.metadata if info is not None else {}
    # The metadata may be missing if the earlier run died between data and metadata:
    # then the facts are read back from the signed file itself.
    return _Stored(
        signed,
        meta.get("certificate-number") or read_certificate_number(signed) or "",
        meta.get("signer-cert-sha256") or validate_signature(signed, svc.trust_roots).signer_cert_sha256,
        info.version_id if info is not None else None,
        *_level_and_expiry(signed),
    )


def cert_pem(key: SigningKey) -> bytes:
    cert = key.signer.signing_cert
    if cert is None:
        raise SigningError(detail="signer has no signing certificate")
    return pem.armor("CERTIFICATE", cert.dump())


def _render_sign_store(
    req: IssueRequest, svc: Services, office: OfficeSigner, ecopy_id: str, key: str, title: str | None = None
) -> _Stored:
    title = title if title is not None else certified_title(req.doc_type, req.doc_title)
    signing_key = office.signing_key()
    check_valid_now(signing_key)
    issuer = office.issuer
    svc.registry.record_signer_certificate(signing_key.cert_sha256, issuer.office, cert_pem(signing_key))
    today = svc.today()
    certificate_number = str(svc.registry.next_certificate_number(issuer.office, today.year))
    verify_url = issuer.verify_url(ecopy_id)
    token = seal(
        QrClaims(
            ecopy_id=ecopy_id,
            doc_type=req.doc_type,
            issued_on=today,
            office=issuer.office,
            fields_hash=fields_digest(key_field_values(req.fields)),
        ),
        signing_key,
    )
    cert = Certification(
        ecopy_id=ecopy_id,
        verify_url=verify_url,
        office=issuer.office,
        certifier_name=req.certifier_name or issuer.certifier_name,
        certifier_title=issuer.certifier_title,
        certified_on=today,
        certificate_number=certificate_number,
        book_number=f"01/{today.year:04d}",
        doc_type=req.doc_type,
        doc_title=title,
        development_only=issuer.development_only,
        qr_text=qr_text(verify_url, token),
    )
    rendered = render_ecopy(req.pages, req.ocr, cert)
    options = dataclasses.replace(office.sign_options, signer_name=cert.certifier_name, office=issuer.office)
    signed = sign_pdf(rendered.pdf, signing_key, options, signature_box=rendered.signature_box)
    problems = copy_structure_problems(signed)
    if problems:  # never store a copy that breaks a rule; the issuing code, not the input, is wrong
        raise SigningError(detail=f"signed copy {ecopy_id} fails the structure check: {problems}")
    info = svc.store.put(
        key,
        signed,
        content_type="application/pdf",
        metadata={
            "ecopy-id": ecopy_id,
            "certificate-number": certificate_number,
            "signer-cert-sha256": signing_key.cert_sha256,
            "doc-type": req.doc_type,
        },
        immutable=True,
    )
    return _Stored(
        signed,
        certificate_number,
        signing_key.cert_sha256,
        info.version_id,
        *_level_and_expiry(signed, effective_level(options)),
    )
