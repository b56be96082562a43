"""What a document type is: one frozen value that says everything ecopy knows about the type.

Like paperless-ngx's consume plugins: each module of :mod:`pipeline.read.doctypes` exports one
``DOCTYPE`` that declares the documents it claims (its classification cues), the fields it
returns (in display order, with the labels the document prints), whose name the document
carries, where its signature block is, the QR payload it carries and its extractor.

The extractor SHALL return only the fields the type declares, each with a value (NFC, "" when
not found) and a confidence in 0..1 that starts from the OCR confidences of the words behind
the value and drops when a validator fails. It SHALL NOT raise on a poor scan: a missing field
is left out or empty with confidence 0.

A type whose pages need a second look declares ``refine``, run after classification and before
extraction. A document that carries a QR code (the CCCD) also declares ``qr_payload``, which
tells its own payload from any other decoded text, and ``run_with_qr``, which reads the OCR lines
together with the payloads found on the document's pages (none when the code could not be read:
the fields then come from the printed text alone). The reading pipeline decodes QR codes only for
such types.

A type that declares no ``refine`` but a ``signature_block`` has that block re-read by
:mod:`pipeline.read.reader` (the signer's name under the seal, see :mod:`pipeline.read.signer_block`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.errors import ExtractionError
from pipeline.models import ExtractedFields, FieldValue, OcrResult, Page
from pipeline.read.ocr import OcrOptions
from pipeline.read.text.lines import TextLine, document_lines

log = logging.getLogger(__name__)

Refine = Callable[[Sequence[Page], OcrResult, OcrOptions], OcrResult]


@dataclass(frozen=True)
class Cue:
    """Printed text that tells a document's type; classification adds up the weights found."""

    text: str
    weight: float
    whole_line: bool = False  # a title: the line must read as this and little else
    pattern: bool = False  # ``text`` is a regular expression searched in each folded line ("so: 12/ubnd")
    capitals: bool = False  # found only in a line printed in capitals (a title's words, not running text)


@dataclass(frozen=True)
class BlockTitles:
    """How a document type's signature block is found on its page."""

    titles: tuple[str, ...]  # lines that head the block, as printed
    after: tuple[str, ...] = ()  # labels of the line just above the block, if no title was read
    after_date: bool = False  # ... or the written date ("Hà Nội, ngày 02 tháng 8 năm 2012")
    across: bool = False  # signers side by side across the page (the spouses and the registrar)


@dataclass(frozen=True)
class Field:
    """A field a type returns, with its label as the document prints it (and in English)."""

    name: str
    label_vi: str
    label_en: str


# The machine-readable zone of an ID card's back (ICAO TD1), the same on the CCCD and the 2024 Căn cước.
CARD_MRZ_FIELDS: tuple[Field, ...] = (
    Field("mrz_id_number", "Số định danh (vùng MRZ)", "ID number (MRZ)"),
    Field("mrz_name", "Họ và tên (vùng MRZ)", "Name (MRZ)"),
    Field("mrz_date_of_birth", "Ngày sinh (vùng MRZ)", "Date of birth (MRZ)"),
    Field("mrz_sex", "Giới tính (vùng MRZ)", "Sex (MRZ)"),
    Field("mrz_expiry_date", "Có giá trị đến (vùng MRZ)", "Date of expiry (MRZ)"),
)


@dataclass(frozen=True)
class Extractor:
    """How a type's fields are read from its OCR lines (and QR payloads, for a type with a QR code)."""

    run: Callable[[list[TextLine]], Mapping[str, FieldValue]]
    run_with_qr: Callable[[list[TextLine], Sequence[str]], Mapping[str, FieldValue]] | None = None
    # Re-read parts of the pages the page OCR reads poorly (a letter's signature block under its
    # seal); the refined OCR is what the fields come from and what the e-copy's text layer carries.
    refine: Refine | None = None


@dataclass(frozen=True)
class DocType:
    """Everything ecopy knows about one type of document."""

    name: str
    label_vi: str
    label_en: str
    fields: tuple[Field, ...]  # in display order
    cues: tuple[Cue, ...]
    extractor: Extractor
    holder_fields: tuple[str, ...] = ()  # whose name the document carries; none for a letter to an office
    signature_block: BlockTitles | None = None  # re-read by the shared step; None: none, or its own refine
    qr_payload: Callable[[str], bool] | None = None  # tells the type's own QR payload from other codes
    # The copy's title is typed by the clerk (``other``: a document outside the catalogue); the
    # label is then only the catalogue's name for the choice, never the title certified.
    title_from_clerk: bool = False
    # A two-sided document (an ID card's front and back uploaded together): the one-sided types
    # whose pages together make it. Classification answers it when exactly these sides are found.
    sides: tuple[str, ...] = ()

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def extract(self, ocr: OcrResult, qr_payloads: Sequence[str] = ()) -> ExtractedFields:
        run, run_with_qr = self.extractor.run, self.extractor.run_with_qr
        try:
            lines = document_lines(ocr)
            found = run(lines) if run_with_qr is None else run_with_qr(lines, qr_payloads)
        except (ValueError, IndexError, KeyError) as e:  # a bug must not lose the clerk's scan
            raise ExtractionError(detail=f"{self.name}: {e!r}") from e
        names = self.field_names
        fields = {name: found[name] for name in names if name in found}
        log.debug("%s: %d/%d fields", self.name, len(fields), len(names))
        return ExtractedFields(doc_type=self.name, fields=fields)


def two_sided(
    name: str,
    label_vi: str,
    label_en: str,
    front: DocType,
    back: DocType,
    is_back: Callable[[list[TextLine]], bool],
    check: Callable[[dict[str, FieldValue]], None] | None = None,
) -> DocType:
    """A card's front and back read as one document: the front's fields from the front's pages, the
    back's from the back's (``is_back`` tells a page's lines), then ``check`` across the two (the
    back's machine-readable zone against the front's ID, name and date of birth). Both sides on
    one page: both read from it. Built by the registry, since a type never imports another."""

    def split(lines: list[TextLine]) -> tuple[list[TextLine], list[TextLine]]:
        pages = sorted({ln.page for ln in lines})
        backs = {pg for pg in pages if is_back([ln for ln in lines if ln.page == pg])}
        fronts = [ln for ln in lines if ln.page not in backs]
        return (fronts or lines), ([ln for ln in lines if ln.page in backs] or lines)

    def merged(front_found: Mapping[str, FieldValue], back_found: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
        out = {**{k: v for k, v in back_found.items() if k not in front_found}, **front_found}
        if check is not None:
            check(out)
        return out

    def run(lines: list[TextLine]) -> Mapping[str, FieldValue]:
        f, b = split(lines)
        return merged(front.extractor.run(f), back.extractor.run(b))

    def run_with_qr(lines: list[TextLine], qr: Sequence[str]) -> Mapping[str, FieldValue]:
        f, b = split(lines)
        front_run = front.extractor.run_with_qr
        return merged(front_run(f, qr) if front_run else front.extractor.run(f), back.extractor.run(b))

    names = set(front.field_names)
    return DocType(
        name=name,
        label_vi=label_vi,
        label_en=label_en,
        fields=(*front.fields, *(f for f in back.fields if f.name not in names)),
        cues=(),  # classification answers it when both sides are found (``sides``)
        extractor=Extractor(
            run=run,
            run_with_qr=run_with_qr if front.qr_payload else None,
            refine=back.extractor.refine or front.extractor.refine,  # the back's zone re-read
        ),
        holder_fields=front.holder_fields or back.holder_fields,
        qr_payload=front.qr_payload,
        sides=(front.name, back.name),
    )
