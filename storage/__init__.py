"""Where ecopy keeps things: objects (scans, issued e-copies) and the registry of what was issued.

Imports nothing from the rest of the project; the composition root wires it from settings.
"""

from __future__ import annotations

from storage.errors import (
    DuplicateError,
    ImmutableObjectError,
    InvalidKeyError,
    InvalidStateError,
    NotFoundError,
    ObjectCorruptError,
    ObjectExistsError,
    ObjectNotFoundError,
    RegistryError,
    StorageAccessDeniedError,
    StorageError,
    StorageUnavailableError,
)
from storage.objectstore import FilesystemStore, ObjectInfo, ObjectStore, S3Store

__all__ = [
    "DuplicateError",
    "FilesystemStore",
    "ImmutableObjectError",
    "InvalidKeyError",
    "InvalidStateError",
    "NotFoundError",
    "ObjectCorruptError",
    "ObjectExistsError",
    "ObjectInfo",
    "ObjectNotFoundError",
    "ObjectStore",
    "RegistryError",
    "S3Store",
    "StorageAccessDeniedError",
    "StorageError",
    "StorageUnavailableError",
]
