"""The extractor contract and the registry of extractors, one per document type.

Like paperless-ngx's consume plugins: each module declares the document type it claims and the
fields it returns; the registry maps a type to its extractor. An extractor SHALL return only the
fields it declares, each with a value (NFC, "" when not found) and a confidence in 0..1 that
starts from the OCR confidences of the words behind the value and drops when a validator fails.
It SHALL NOT raise on a poor scan: a missing field is left out or empty with confidence 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipeline.errors import ExtractionError, UnknownDocumentTypeError
from pipeline.extract.common import TextLine, document_lines
from pipeline.models import DOC_TYPES, ExtractedFields, FieldValue, OcrResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extractor:
    doc_type: str
    field_names: tuple[str, ...]
    run: Callable[[list[TextLine]], Mapping[str, FieldValue]]

    def extract(self, ocr: OcrResult) -> ExtractedFields:
        try:
            found = self.run(document_lines(ocr))
        except (ValueError, IndexError, KeyError) as e:  # a bug must not lose the clerk's scan
            raise ExtractionError(detail=f"{self.doc_type}: {e!r}") from e
        fields = {name: found[name] for name in self.field_names if name in found}
        log.debug("%s: %d/%d fields", self.doc_type, len(fields), len(self.field_names))
        return ExtractedFields(doc_type=self.doc_type, fields=fields)


def extract_fields(doc_type: str, ocr: OcrResult) -> ExtractedFields:
    try:
        extractor = EXTRACTORS[doc_type]
    except KeyError as e:
        raise UnknownDocumentTypeError(detail=f"no extractor for {doc_type!r}") from e
    return extractor.extract(ocr)


# The registry. Imported last: each extractor module imports ``Extractor`` from here.
from pipeline.extract import (  # noqa: E402
    birth_certificate,
    cccd_front,
    diploma,
    generic_letter,
    marriage_certificate,
)

EXTRACTORS: dict[str, Extractor] = {
    m.EXTRACTOR.doc_type: m.EXTRACTOR
    for m in (cccd_front, birth_certificate, diploma, marriage_certificate, generic_letter)
}
if set(EXTRACTORS) != set(DOC_TYPES):  # pragma: no cover - a programming error, caught by any test
    raise RuntimeError(f"extractors {sorted(EXTRACTORS)} do not match DOC_TYPES {DOC_TYPES}")
