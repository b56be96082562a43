"""Keep issued copies verifiable for decades: re-time-stamp them before their time-stamps expire.

A time-stamp proves when a copy was signed only while its authority's certificate can still be
checked. ``ecopy extend`` (run it from cron, e.g. weekly) takes every issued copy whose newest
time-stamp expires within the horizon, adds the validation data and a new document time-stamp
(PAdES B-LTA, :func:`pipeline.certify.extend.extend_pdf`), stores the result as a new version of the same
object and moves the registry to it. The earlier bytes stay stored and stay on record, so a copy
a citizen downloaded years ago still verifies by its hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.certify.extend import archive_timestamp_expiry, extend_pdf
from pipeline.certify.pades import signature_level
from pipeline.certify.structure_gate import copy_structure_problems
from pipeline.errors import EcopyError, SigningError
from storage.errors import StorageError
from storage.registry import EcopyRecord
from storage.signing import EcopyVersion
from workflow.context import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtendOutcome:
    ecopy_id: str
    status: str  # extended | failed
    version: int | None = None
    timestamp_expiry: dt.datetime | None = None
    error_code: str | None = None
    error_message: str | None = None


def extend_copy(svc: Services, rec: EcopyRecord) -> ExtendOutcome:
    """Add one document time-stamp to ``rec``'s current version and make the result current."""
    office = svc.signer_for(rec.office)
    current = svc.store.get(rec.object_key)
    if hashlib.sha256(current).hexdigest() != rec.sha256:
        raise StorageError(detail=f"{rec.object_key} does not hold the registered version of {rec.ecopy_id}")
    extended = extend_pdf(current, office.sign_options)
    problems = copy_structure_problems(extended)
    if problems:  # the same gate as at issue: a version that breaks a rule is never stored
        raise SigningError(detail=f"re-time-stamped {rec.ecopy_id} fails the structure check: {problems}")
    info = svc.store.put_version(
        rec.object_key,
        extended,
        after_sha256=rec.sha256,
        content_type="application/pdf",
        metadata={
            "ecopy-id": rec.ecopy_id,
            "version": str(rec.version + 1),
            "signer-cert-sha256": rec.signer_cert_sha256,
        },
    )
    expiry = archive_timestamp_expiry(extended)
    svc.registry.add_ecopy_version(
        rec.ecopy_id,
        after_version=rec.version,
        version=EcopyVersion(
            ecopy_id=rec.ecopy_id,
            version=rec.version + 1,
            sha256=hashlib.sha256(extended).hexdigest(),
            object_version=info.version_id,
            signature_level=signature_level(extended),
            timestamp_expiry=expiry,
            created_at=dt.datetime.now(dt.UTC),
        ),
    )
    log.info("e-copy %s re-time-stamped: version %d, valid until %s", rec.ecopy_id, rec.version + 1, expiry)
    return ExtendOutcome(rec.ecopy_id, "extended", rec.version + 1, expiry)


def extend_expiring(
    svc: Services,
    *,
    within: dt.timedelta,
    limit: int = 1000,
    on_progress: Callable[[int, int, ExtendOutcome], None] | None = None,
) -> list[ExtendOutcome]:
    """Extend every issued copy whose time-stamp expires within ``within``; one failure does not
    stop the others (it is reported and tried again on the next run)."""
    due = svc.registry.copies_to_extend(expiring_before=dt.datetime.now(dt.UTC) + within, limit=limit)
    outcomes: list[ExtendOutcome] = []
    for n, rec in enumerate(due, start=1):
        try:
            outcome = extend_copy(svc, rec)
        except (EcopyError, StorageError) as e:
            log.warning("e-copy %s: not extended: %s (%s)", rec.ecopy_id, e.code, e.detail or e)
            outcome = ExtendOutcome(rec.ecopy_id, "failed", error_code=e.code, error_message=e.message)
        outcomes.append(outcome)
        if on_progress is not None:
            on_progress(n, len(due), outcome)
    return outcomes
