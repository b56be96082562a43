"""Reading an intake: its scans → pages, OCR, type and fields, stored for the signer; the intake
left ready for the clerk, for review, or (an archive document every field of which is confident)
ready to be issued without a person. Run by the OCR job; RQ and retries are the job's business.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from pipeline.certify.render import encode_page
from pipeline.models import REVIEW_THRESHOLD, SourceFile
from pipeline.read.reader import read_document
from storage.access import IntakeEvent
from workflow import serialize
from workflow.context import Services
from workflow.doctitle import title_vi
from workflow.intakes import require_intake
from workflow.lifecycle import IntakeStatus, Step, move
from workflow.signing import pages_prefix

log = logging.getLogger(__name__)

# Read already (a job that runs twice): left as it is.
ALREADY_READ = (IntakeStatus.READY, IntakeStatus.REVIEW, IntakeStatus.SIGNING, IntakeStatus.ISSUED)


@dataclass(frozen=True)
class ReadOutcome:
    status: str  # the intake's status after the reading
    auto_issue: bool = False  # an archive document the policy issues without a person: queue its signing


def read_intake(svc: Services, intake_id: str) -> ReadOutcome:
    """Read the scans of an intake: pages, OCR, type and fields; leave it ready for review."""
    intake = require_intake(svc.registry, intake_id)
    if intake.status in ALREADY_READ:
        return ReadOutcome(intake.status)
    move(
        svc.registry,
        intake_id,
        Step.READ,
        IntakeStatus.PROCESSING,
        current=intake.status,
        error_code=None,
        error_message=None,
    )
    files = [
        SourceFile(name=name, data=svc.store.get(key))
        for key, name in zip(intake.file_keys, intake.file_names, strict=True)
    ]
    result = read_document(files, svc.read_options, doc_type=intake.doc_type_hint)
    prefix = pages_prefix(intake_id)
    metas = []
    for page in result.pages:
        svc.store.put(f"{prefix}page-{page.index:03d}.png", serialize.page_to_png(page), content_type="image/png")
        meta = serialize.page_meta(page)
        encoded = encode_page(page)  # the JPEG the e-copy will embed, made here once, not per signature
        if encoded is not None:
            svc.store.put(f"{prefix}page-{page.index:03d}.jpg", encoded.jpeg, content_type="image/jpeg")
            meta["jpeg"] = True
        metas.append(meta)
    svc.store.put(f"{prefix}ocr.json", serialize.ocr_to_json(result.ocr), content_type="application/json")
    svc.store.put(f"{prefix}pages.json", json.dumps(metas).encode(), content_type="application/json")
    fields = result.fields.to_dict()
    doc_type = result.classification.doc_type
    confidences = [result.classification.confidence] + [float(f["confidence"]) for f in fields.values()]
    min_confidence = min(confidences)
    # A document no catalogue type claims (UNKNOWN) has no title: it waits for a person to name its
    # type, and so does "other" without a title. A type a person changed at review is read again,
    # and the intake goes back to that person rather than on by itself.
    unnamed = title_vi(doc_type, intake.doc_title) is None
    retyped = intake.doc_type is not None and intake.batch_id is not None
    # Archive policy: a batch document whose type and fields all pass the threshold is issued
    # without a person; any doubt, and it waits for review. Counter intakes always wait for the clerk.
    needs_review = unnamed or retyped or not fields or min_confidence < REVIEW_THRESHOLD
    auto_issue = intake.batch_id is not None and not needs_review
    status = IntakeStatus.READY if intake.batch_id is None or auto_issue else IntakeStatus.REVIEW
    move(
        svc.registry,
        intake_id,
        Step.READ_DONE,
        status,
        current=IntakeStatus.PROCESSING,
        doc_type=doc_type,
        fields=fields,
        text=[p.text for p in result.ocr.pages],
        page_count=len(result.pages),
        min_confidence=min_confidence,
        needs_review=needs_review,
    )
    svc.registry.add_intake_event(
        IntakeEvent(
            intake_id=intake_id,
            actor="system",
            action="read",
            detail={"doc_type": doc_type, "pages": len(result.pages), "low": needs_review, "type_required": unnamed},
        )
    )
    log.info(
        "intake %s read: %s, %d pages, lowest confidence %.2f → %s",
        intake_id,
        result.classification.doc_type,
        len(result.pages),
        min_confidence,
        "issue" if auto_issue else status,
    )
    return ReadOutcome(status, auto_issue)
