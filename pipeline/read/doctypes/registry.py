"""The registry of document types: one module each, listed here in display order.

Adding a type = one module exporting ``DOCTYPE`` (see :mod:`.contract`) and one line in ``_MODULES``.
Classification, the signature-block re-read, extraction, the API's labels and holder names all
read this registry; nothing else keeps a table of document types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from pipeline.errors import UnknownDocumentTypeError
from pipeline.models import ExtractedFields, OcrResult
from pipeline.read.doctypes import birth_certificate, cccd_front, diploma, generic_letter, marriage_certificate
from pipeline.read.doctypes.contract import BlockTitles, Cue, DocType, Extractor, Field

__all__ = [
    "DOCTYPES",
    "FALLBACK",
    "BlockTitles",
    "Cue",
    "DocType",
    "Extractor",
    "Field",
    "doc_type_names",
    "extract_fields",
    "get",
    "label_vi",
]

_MODULES = (cccd_front, birth_certificate, diploma, marriage_certificate, generic_letter)

DOCTYPES: Mapping[str, DocType] = MappingProxyType({m.DOCTYPE.name: m.DOCTYPE for m in _MODULES})
if len(DOCTYPES) != len(_MODULES):  # pragma: no cover - a programming error, caught by any test
    raise RuntimeError(f"two document type modules claim the same name: {[m.DOCTYPE.name for m in _MODULES]}")

# What a document no specific type claims is read as.
FALLBACK = generic_letter.DOCTYPE.name


def doc_type_names() -> tuple[str, ...]:
    """The type names in display order (the choices a clerk and the CLI are offered)."""
    return tuple(DOCTYPES)


def get(name: str) -> DocType:
    """The type called ``name``; an unknown name is the caller's error, with the names expected."""
    try:
        return DOCTYPES[name]
    except KeyError as e:
        raise UnknownDocumentTypeError(detail=f"unknown doc_type {name!r}; expected one of {doc_type_names()}") from e


def extract_fields(doc_type: str, ocr: OcrResult, qr_payloads: Sequence[str] = ()) -> ExtractedFields:
    """The fields of a ``doc_type`` document; ``qr_payloads``: its decoded QR payloads, if any."""
    return get(doc_type).extract(ocr, qr_payloads)


def label_vi(name: str) -> str:
    """The type's Vietnamese name, as a copy's title says it; the name itself for a type this
    version does not know (a record issued by an older one)."""
    doc = DOCTYPES.get(name)
    return doc.label_vi if doc is not None else name
