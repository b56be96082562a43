"""The extractor contract and the registry of extractors, one per document type.

Like paperless-ngx's consume plugins: each module declares the document type it claims and the
fields it returns; the registry maps a type to its extractor. An extractor SHALL return only the
fields it declares, each with a value (NFC, "" when not found) and a confidence in 0..1 that
starts from the OCR confidences of the words behind the value and drops when a validator fails.
It SHALL NOT raise on a poor scan: a missing field is left out or empty with confidence 0.

A type whose pages need a second look declares ``refine``, run after classification and before
extraction. A document that carries a QR code (the CCCD) also declares ``qr_payload``, which tells its own
payload from any other decoded text, and ``run_with_qr``, which reads the OCR lines together with
the payloads found on the document's pages (none when the code could not be read: the fields
then come from the printed text alone). The reading pipeline decodes QR codes only for such types.

A type that declares no ``refine`` but whose signature block ``pipeline.read.signer_block`` knows has that
block re-read by ``pipeline.read.reader`` (the signer's name under the seal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.errors import ExtractionError, UnknownDocumentTypeError
from pipeline.models import DOC_TYPES, ExtractedFields, FieldValue, OcrResult, Page
from pipeline.read.extract.common import TextLine, document_lines
from pipeline.read.ocr import OcrOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extractor:
    doc_type: str
    field_names: tuple[str, ...]
    run: Callable[[list[TextLine]], Mapping[str, FieldValue]]
    qr_payload: Callable[[str], bool] | None = None
    run_with_qr: Callable[[list[TextLine], Sequence[str]], Mapping[str, FieldValue]] | None = None
    # Re-read parts of the pages the page OCR reads poorly (a letter's signature block under its
    # seal); the refined OCR is what the fields come from and what the e-copy's text layer carries.
    refine: Callable[[Sequence[Page], OcrResult, OcrOptions], OcrResult] | None = None

    def extract(self, ocr: OcrResult, qr_payloads: Sequence[str] = ()) -> ExtractedFields:
        try:
            lines = document_lines(ocr)
            found = self.run(lines) if self.run_with_qr is None else self.run_with_qr(lines, qr_payloads)
        except (ValueError, IndexError, KeyError) as e:  # a bug must not lose the clerk's scan
            raise ExtractionError(detail=f"{self.doc_type}: {e!r}") from e
        fields = {name: found[name] for name in self.field_names if name in found}
        log.debug("%s: %d/%d fields", self.doc_type, len(fields), len(self.field_names))
        return ExtractedFields(doc_type=self.doc_type, fields=fields)


def extract_fields(doc_type: str, ocr: OcrResult, qr_payloads: Sequence[str] = ()) -> ExtractedFields:
    """The fields of a ``doc_type`` document; ``qr_payloads``: its decoded QR payloads, if any."""
    try:
        extractor = EXTRACTORS[doc_type]
    except KeyError as e:
        raise UnknownDocumentTypeError(detail=f"no extractor for {doc_type!r}") from e
    return extractor.extract(ocr, qr_payloads)


# The registry. Imported last: each extractor module imports ``Extractor`` from here.
from pipeline.read.extract import (  # noqa: E402
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
