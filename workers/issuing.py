"""Issue an e-copy: certification facts → render PDF/A → sign → store (write-once) → registry row.

Used in-process by ``ecopy digitize`` and by the ``sign`` queue's job. The registry row is
written last and is what makes a copy exist: a crash before it leaves at most an orphan object
that no verification accepts, and a retry of the same intake re-uses the reserved ID and the
already-stored bytes instead of issuing a second copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline.ecopy_id import new_ecopy_id
from pipeline.models import Certification, OcrResult, Page
from pipeline.render import render_ecopy
from pipeline.sign import sign_pdf
from pipeline.verify import read_certificate_number, validate_signature
from storage.errors import ObjectExistsError
from storage.registry import EcopyRecord
from workers.context import Services

log = logging.getLogger(__name__)


def ecopy_object_key(ecopy_id: str) -> str:
    return f"ecopies/{ecopy_id}.pdf"


@dataclass(frozen=True)
class IssueRequest:
    pages: Sequence[Page]
    ocr: OcrResult | None
    doc_type: str
    fields: Mapping[str, Mapping[str, object]]  # name -> {"value", "confidence"}
    intake_id: str | None = None
    reserved_ecopy_id: str | None = None  # reserved on the intake: every run of it uses this ID


def issue_ecopy(req: IssueRequest, svc: Services) -> EcopyRecord:
    if req.intake_id:
        existing = svc.registry.find_by_intake(req.intake_id)
        if existing is not None:
            log.info("intake %s already issued as %s", req.intake_id, existing.ecopy_id)
            return existing
    ecopy_id = req.reserved_ecopy_id or new_ecopy_id()
    key = ecopy_object_key(ecopy_id)
    stored = svc.store.stat(key)
    if stored is None:
        try:
            signed, certificate_number, signer_fp = _render_sign_store(req, svc, ecopy_id, key)
        except ObjectExistsError:  # another run of the same intake stored its copy first
            done = svc.registry.find_by_intake(req.intake_id) if req.intake_id else None
            if done is not None:
                return done
            stored = svc.store.stat(key)
            if stored is None:
                raise
    if stored is not None:  # signed and stored by another run, or one that died before the registry row
        log.info("e-copy %s: registering the bytes stored by an earlier or concurrent run", ecopy_id)
        signed = svc.store.get(key)
        # The metadata may be missing if the earlier run died between data and metadata:
        # then the facts are read back from the signed file itself.
        certificate_number = stored.metadata.get("certificate-number") or read_certificate_number(signed) or ""
        signer_fp = (
            stored.metadata.get("signer-cert-sha256") or validate_signature(signed, svc.trust_roots).signer_cert_sha256
        )
    now = dt.datetime.now(dt.UTC)
    record = EcopyRecord(
        ecopy_id=ecopy_id,
        doc_type=req.doc_type,
        fields={k: dict(v) for k, v in req.fields.items()},
        sha256=hashlib.sha256(signed).hexdigest(),
        object_key=key,
        office=svc.issuer.office,
        signer_cert_sha256=signer_fp,
        status="issued",
        issued_at=now,
        updated_at=now,
        certificate_number=certificate_number,
        page_count=len(req.pages),
        intake_id=req.intake_id,
        revoked_reason=None,
        superseded_by=None,
    )
    issued = svc.registry.add_ecopy(record)
    log.info(
        "issued e-copy %s (%s, %d pages, sha256 %s)", issued.ecopy_id, req.doc_type, len(req.pages), issued.sha256[:12]
    )
    return issued


def _render_sign_store(req: IssueRequest, svc: Services, ecopy_id: str, key: str) -> tuple[bytes, str, str]:
    if svc.signing_key is None:
        raise RuntimeError("this process holds no signing key: issue e-copies on a signer worker")
    signing_key = svc.signing_key()
    today = svc.today()
    certificate_number = str(svc.registry.next_certificate_number(svc.issuer.office, today.year))
    cert = Certification(
        ecopy_id=ecopy_id,
        verify_url=svc.issuer.verify_url(ecopy_id),
        office=svc.issuer.office,
        certifier_name=svc.issuer.certifier_name,
        certifier_title=svc.issuer.certifier_title,
        certified_on=today,
        certificate_number=certificate_number,
        book_number=f"01/{today.year:04d}",
        doc_type=req.doc_type,
        development_only=svc.issuer.development_only,
    )
    rendered = render_ecopy(req.pages, req.ocr, cert)
    signed = sign_pdf(rendered.pdf, signing_key, svc.sign_options, signature_box=rendered.signature_box)
    svc.store.put(
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
    return signed, certificate_number, signing_key.cert_sha256
