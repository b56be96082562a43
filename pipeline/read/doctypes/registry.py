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
from pipeline.read.doctypes import (
    birth_certificate,
    can_cuoc_back,
    can_cuoc_front,
    cccd_back,
    cccd_front,
    diploma,
    driving_licence,
    generic_letter,
    land_use_certificate,
    marriage_certificate,
    other,
    passport,
    school_record,
    transcript,
)
from pipeline.read.doctypes.contract import BlockTitles, Cue, DocType, Extractor, Field, two_sided
from pipeline.read.text.mrz import check_against_front

__all__ = [
    "DOCTYPES",
    "OTHER",
    "UNKNOWN",
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

_MODULES = (
    cccd_front,
    birth_certificate,
    diploma,
    marriage_certificate,
    generic_letter,
    cccd_back,
    can_cuoc_front,
    can_cuoc_back,
    school_record,
    transcript,
    land_use_certificate,
    driving_licence,
    passport,
    other,  # last: named by the clerk, never by classification
)

# Front and back of a card uploaded together: one document, one title, the back read too. The
# one-sided types stay for a side brought alone (its title says which side it is).
_TWO_SIDED = (
    two_sided(
        "cccd", "Căn cước công dân", "Citizen ID card",
        cccd_front.DOCTYPE, cccd_back.DOCTYPE, cccd_back.is_back, check_against_front,
    ),
    two_sided(
        "can_cuoc", "Căn cước", "Identity card",
        can_cuoc_front.DOCTYPE, can_cuoc_back.DOCTYPE, can_cuoc_back.is_back, check_against_front,
    ),
)  # fmt: skip

_ALL = (*(m.DOCTYPE for m in _MODULES[:-1]), *_TWO_SIDED, _MODULES[-1].DOCTYPE)
DOCTYPES: Mapping[str, DocType] = MappingProxyType({d.name: d for d in _ALL})
if len(DOCTYPES) != len(_ALL):  # pragma: no cover - a programming error, caught by any test
    raise RuntimeError(f"two document types claim the same name: {[d.name for d in _ALL]}")

# A document outside the catalogue, whose title the clerk types.
OTHER = other.DOCTYPE.name
# What classification answers when no catalogue type is recognised: not a type (never issued);
# a person must name the document's type (or choose ``OTHER`` and type its title).
UNKNOWN = "unknown"
if UNKNOWN in DOCTYPES:  # pragma: no cover - a programming error
    raise RuntimeError(f"{UNKNOWN!r} is reserved for documents no type claims")


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
