"""Where an intake's original scans are kept (the counter and archive batches share it), and finding an intake."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.models import SourceFile
from pipeline.read.load import sniff_type
from storage.objectstore import ObjectStore
from storage.registry import IntakeRecord, Registry

_CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "tiff": "image/tiff", "pdf": "application/pdf"}


def originals_key(intake_id: str, index: int) -> str:
    return f"intakes/{intake_id}/original/{index:03d}"


def store_originals(store: ObjectStore, intake_id: str, files: Sequence[SourceFile]) -> list[str]:
    """Store the scans as given (overwriting a half-finished earlier attempt); returns their keys."""
    keys = []
    for i, f in enumerate(files):
        key = originals_key(intake_id, i)
        kind = sniff_type(f.data)
        store.put(key, f.data, content_type=_CONTENT_TYPES.get(kind or "", "application/octet-stream"))
        keys.append(key)
    return keys


def require_intake(registry: Registry, intake_id: str) -> IntakeRecord:
    """The intake, or LookupError: a job for an intake that does not exist has nothing to do."""
    intake = registry.get_intake(intake_id)
    if intake is None:
        raise LookupError(f"no intake {intake_id}")
    return intake
