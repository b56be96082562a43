"""The reading half of the pipeline: files in, page images + text + document type + fields out.

Reads top-down in the order the steps run, like OCRmyPDF's pipeline:
load → preprocess (QR codes found) → ocr → classify → refine → extract → second opinion.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.errors import NoTextError, UnknownDocumentTypeError
from pipeline.models import Box, Classification, ExtractedFields, OcrResult, Page, SourceFile
from pipeline.qr_symbols import QrCode, accepts, read_qr_codes
from pipeline.read import signer_block as signature
from pipeline.read.classify import classify
from pipeline.read.doctypes.registry import DOCTYPES, doc_type_names, extract_fields
from pipeline.read.load import LoadLimits, load_document
from pipeline.read.ocr import OcrOptions, ocr_pages
from pipeline.read.preprocess import PreprocessOptions, preprocess_page
from pipeline.read.second_opinion import SecondOpinion, check_fields

log = logging.getLogger(__name__)


# A document with fewer confidently read words than this is not a document we can certify.
MIN_CONFIDENT_WORDS = 3


@dataclass(frozen=True)
class ReadOptions:
    limits: LoadLimits = field(default_factory=LoadLimits)
    preprocess: PreprocessOptions = field(default_factory=PreprocessOptions)
    ocr: OcrOptions = field(default_factory=OcrOptions)
    second_opinion: SecondOpinion | None = None  # another model re-reads the confident fields


@dataclass(frozen=True)
class ReadResult:
    pages: tuple[Page, ...]  # preprocessed: what the e-copy embeds; word boxes refer to these
    ocr: OcrResult
    classification: Classification
    fields: ExtractedFields


def read_document(files: Sequence[SourceFile], options: ReadOptions, doc_type: str | None = None) -> ReadResult:
    """Read a scanned document. ``doc_type`` (chosen by the clerk) skips classification."""
    if doc_type is not None and doc_type not in DOCTYPES:
        raise UnknownDocumentTypeError(detail=f"unknown doc_type {doc_type!r}; expected one of {doc_type_names()}")
    started = time.monotonic()
    pages = load_document(files, options.limits)
    pages = [preprocess_page(p, options.preprocess) for p in pages]
    codes = read_qr_codes(pages, fallbacks=False)  # one quick pass: hidden from OCR, read below
    hide: dict[int, list[Box]] = {}
    for code in codes:
        hide.setdefault(code.page, []).append(code.box)
    ocr = ocr_pages(pages, options.ocr, hide=hide)
    _require_text(ocr)
    if doc_type is None:
        classification = classify(ocr)
    else:
        classification = Classification(doc_type=doc_type, confidence=1.0, scores={doc_type: 1.0})
    doctype = DOCTYPES[classification.doc_type]
    extractor = doctype.extractor
    refine = extractor.refine or signature.refiner(doctype.signature_block)  # the signer's name under the seal
    if refine is not None:
        ocr = refine(pages, ocr, options.ocr)
    fields = extract_fields(classification.doc_type, ocr, _qr_payloads(classification.doc_type, pages, codes))
    if options.second_opinion is not None:
        fields = check_fields(pages, fields, options.ocr, options.second_opinion)
    log.info(
        "read %d page(s) as %s (%.2f), %d field(s) in %.1fs",
        len(pages),
        classification.doc_type,
        classification.confidence,
        len(fields.fields),
        time.monotonic() - started,
    )
    return ReadResult(pages=tuple(pages), ocr=ocr, classification=classification, fields=fields)


def _qr_payloads(doc_type: str, pages: Sequence[Page], found: Sequence[QrCode]) -> tuple[str, ...]:
    """The payloads of the document's own QR codes, for a type that carries one (the CCCD).

    ``found``: what the quick pass read; the slower fallbacks (upscaled, binarised...) run only
    when it found none of the expected shape.
    """
    doc = DOCTYPES.get(doc_type)
    if doc is None or doc.qr_payload is None:
        return ()
    accept = doc.qr_payload
    readings = (next((t for t in code.texts if accepts(accept, t)), None) for code in found)
    texts = tuple(t for t in readings if t is not None)
    if texts:
        return texts
    return tuple(code.text for code in read_qr_codes(pages, accept=accept))


def _require_text(ocr: OcrResult) -> None:
    """Refuse a blank, tiny or unreadable scan rather than certify a copy of nothing."""
    confident = sum(1 for p in ocr.pages for w in p.words if w.confidence >= 0.5)
    if confident < MIN_CONFIDENT_WORDS:
        raise NoTextError(detail=f"{confident} confident word(s) on {len(ocr.pages)} page(s)")
