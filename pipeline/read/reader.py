"""The reading half of the pipeline: files in, page images + text + document type + fields out.

Reads top-down in the order the steps run, like OCRmyPDF's pipeline:
load → preprocess (QR codes found) → ocr → classify → refine → extract → second opinion → calibrate.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.errors import NoTextError, UnknownDocumentTypeError
from pipeline.models import Box, Classification, ExtractedFields, OcrPage, OcrResult, Page, SourceFile
from pipeline.qr_symbols import QrCode, accepts, read_qr_codes
from pipeline.read import signer_block as signature
from pipeline.read.calibration import CalibrationTable, calibrate_fields, default_table
from pipeline.read.classify import classify, scores
from pipeline.read.doctypes.registry import DOCTYPES, UNKNOWN, doc_type_names, extract_fields
from pipeline.read.load import LoadLimits, load_document
from pipeline.read.ocr import OcrOptions, ocr_page, ocr_pages
from pipeline.read.preprocess import PreprocessOptions, preprocess_page
from pipeline.read.second_opinion import SecondOpinion, check_fields
from pipeline.read.text.lines import document_lines

log = logging.getLogger(__name__)


# A document with fewer confidently read words than this is not a document we can certify.
MIN_CONFIDENT_WORDS = 3


@dataclass(frozen=True)
class ReadOptions:
    limits: LoadLimits = field(default_factory=LoadLimits)
    preprocess: PreprocessOptions = field(default_factory=PreprocessOptions)
    ocr: OcrOptions = field(default_factory=OcrOptions)
    second_opinion: SecondOpinion | None = None  # another model re-reads the confident fields
    # Scores → measured probabilities (pipeline/read/calibration.json); None: scores as they are.
    calibration: CalibrationTable | None = field(default_factory=default_table)


@dataclass(frozen=True)
class ReadResult:
    pages: tuple[Page, ...]  # preprocessed: what the e-copy embeds; word boxes refer to these
    ocr: OcrResult
    classification: Classification
    fields: ExtractedFields  # confidences are calibrated probabilities
    scores: ExtractedFields | None = None  # the same fields with the extractors' own scores (for fitting)


def read_document(files: Sequence[SourceFile], options: ReadOptions, doc_type: str | None = None) -> ReadResult:
    """Read a scanned document. ``doc_type`` (chosen by the clerk) skips classification.

    Without one, a document no catalogue type claims comes back as ``UNKNOWN`` with its text and
    no fields: it is not issued until a person names its type.
    """
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
    pages, ocr = _second_look(pages, ocr, options)
    _require_text(ocr)
    if doc_type is None:
        classification = classify(ocr)
        if classification.doc_type == UNKNOWN and (turned := _turn_unknown(pages, ocr, options)) is not None:
            pages, ocr, classification = turned
    else:
        classification = Classification(doc_type=doc_type, confidence=1.0, scores={doc_type: 1.0})
    scores: ExtractedFields | None = None
    if classification.doc_type == UNKNOWN:
        fields = ExtractedFields(doc_type=UNKNOWN, fields={})  # nothing to read until a person names it
    else:
        doctype = DOCTYPES[classification.doc_type]
        extractor = doctype.extractor
        refine = extractor.refine or signature.refiner(doctype.signature_block)  # the signer's name under the seal
        if refine is not None:
            ocr = refine(pages, ocr, options.ocr)
        fields = extract_fields(classification.doc_type, ocr, _qr_payloads(classification.doc_type, pages, codes))
        if options.second_opinion is not None:
            fields = check_fields(pages, fields, options.ocr, options.second_opinion)
        scores, fields = fields, calibrate_fields(fields, options.calibration)
    log.info(
        "read %d page(s) as %s (%.2f), %d field(s) in %.1fs",
        len(pages),
        classification.doc_type,
        classification.confidence,
        len(fields.fields),
        time.monotonic() - started,
    )
    return ReadResult(pages=tuple(pages), ocr=ocr, classification=classification, fields=fields, scores=scores)


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


def _confident_words(page: OcrPage) -> int:
    return sum(1 for w in page.words if w.confidence >= 0.5)


def _turned(page: Page, quarter_turns: int) -> Page:
    """``page`` turned counter-clockwise by ``quarter_turns`` × 90°, its recorded rotation kept true."""
    image = np.ascontiguousarray(np.rot90(page.image, quarter_turns))
    return dataclasses.replace(page, image=image, rotation=(page.rotation + 90 * quarter_turns) % 360)


def _has_cue(read: OcrPage) -> bool:
    return any(scores(document_lines(OcrResult((read,)))).values())


def _second_look(pages: list[Page], ocr: OcrResult, options: ReadOptions) -> tuple[list[Page], OcrResult]:
    """Pages the orientation check turned and on which no type's cue was then read, read upside
    down too: a card's back (its machine-readable zone's "<<<" rows) can fool the check into a
    half turn. The reading with more confident words is kept."""
    out_pages, out_ocr = list(pages), list(ocr.pages)
    for k, (page, read) in enumerate(zip(pages, ocr.pages, strict=True)):
        if page.rotation == 0 or _has_cue(read):
            continue
        turned = _turned(page, 2)
        again = ocr_page(turned, options.ocr)
        if _confident_words(again) > _confident_words(read):
            log.info("page %d read upside down after the orientation check: turned back", page.index)
            out_pages[k], out_ocr[k] = turned, again
    return out_pages, dataclasses.replace(ocr, pages=tuple(out_ocr))


def _turn_unknown(
    pages: list[Page], ocr: OcrResult, options: ReadOptions
) -> tuple[list[Page], OcrResult, Classification] | None:
    """A document of no known type read again turned by a half and by a quarter turn either way.

    A typeface the orientation model has not seen, or a low-resolution page, can leave a page
    upside down or on its side with a confidence too low to act on; Tesseract then still reads
    some words, and no type is recognised. The first page carries the title: its turn is the one
    with the most confident words, and the other pages are tried with that turn only. Costs OCR
    only for documents that would otherwise wait for a person to name their type. None: no turn
    made a type recognisable.
    """
    out_pages, out_ocr, best = list(pages), list(ocr.pages), 0
    for quarter_turns in (2, 1, 3):
        turned = _turned(pages[0], quarter_turns)
        again = ocr_page(turned, options.ocr)
        if _confident_words(again) > _confident_words(out_ocr[0]):
            out_pages[0], out_ocr[0], best = turned, again, quarter_turns
    if not best:
        return None
    for k in range(1, len(pages)):
        turned = _turned(pages[k], best)
        again = ocr_page(turned, options.ocr)
        if _confident_words(again) > _confident_words(out_ocr[k]):
            out_pages[k], out_ocr[k] = turned, again
    turned_ocr = dataclasses.replace(ocr, pages=tuple(out_ocr))
    classification = classify(turned_ocr)
    if classification.doc_type == UNKNOWN:
        return None
    log.info("a document of no known type read turned by %d°: %s", 90 * best, classification.doc_type)
    return out_pages, turned_ocr, classification


def _require_text(ocr: OcrResult) -> None:
    """Refuse a blank, tiny or unreadable scan rather than certify a copy of nothing."""
    confident = sum(1 for p in ocr.pages for w in p.words if w.confidence >= 0.5)
    if confident < MIN_CONFIDENT_WORDS:
        raise NoTextError(detail=f"{confident} confident word(s) on {len(ocr.pages)} page(s)")
