"""Frozen values passed between pipeline steps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

# Vietnam's civil time (UTC+7, no daylight saving): certification dates and shown times use it.
VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")


def vn_today() -> dt.date:
    return dt.datetime.now(VN_TZ).date()


# Fields whose confidence is below this are highlighted for the clerk to check.
REVIEW_THRESHOLD = 0.80


@dataclass(frozen=True)
class Box:
    """Pixel box on a page image (left, top, width, height)."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class SourceFile:
    """One uploaded file: name only for messages; type is sniffed from the bytes."""

    name: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Page:
    """One page as pixels. ``image`` is RGB uint8 (H, W, 3) or grey (H, W)."""

    index: int
    image: np.ndarray = field(repr=False, compare=False)
    dpi: float | None = None
    source: str = ""
    rotation: int = 0  # clockwise degrees that were undone by preprocessing
    skew: float = 0.0  # degrees that were undone by deskew


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float  # 0..1
    box: Box
    line: int  # line number within the page, in reading order
    block: int = 0
    weight: float | None = None  # stroke width / text height, where measured (a letter's header)


@dataclass(frozen=True)
class OcrPage:
    index: int
    width: int
    height: int
    words: tuple[Word, ...]
    lines: tuple[str, ...]  # text lines in reading order

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def mean_confidence(self) -> float:
        return sum(w.confidence for w in self.words) / len(self.words) if self.words else 0.0


@dataclass(frozen=True)
class OcrResult:
    pages: tuple[OcrPage, ...]
    engine: str = "tesseract"
    language: str = "vie"

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)


@dataclass(frozen=True)
class Classification:
    # A catalogue type, or "unknown" (registry.UNKNOWN: no type recognised; never issued as such).
    doc_type: str
    confidence: float  # the classifier's measured probability that ``doc_type`` is right
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldValue:
    name: str
    value: str
    confidence: float  # 0..1; below the review threshold a clerk must look at it
    page: int | None = None
    box: Box | None = None
    # Read from a second, independent source that agrees (an ID card's QR code, a date also
    # written in words): another OCR reading of the print has nothing to add.
    confirmed: bool = False


@dataclass(frozen=True)
class ExtractedFields:
    doc_type: str
    fields: Mapping[str, FieldValue]

    def values(self) -> dict[str, str]:
        return {k: f.value for k, f in self.fields.items()}

    def to_dict(self) -> dict[str, dict[str, str | float]]:
        """``{name: {"value", "confidence"}}``: what the registry, the API and ``--json`` carry."""
        return {k: {"value": f.value, "confidence": round(f.confidence, 3)} for k, f in self.fields.items()}

    @property
    def min_confidence(self) -> float:
        return min((f.confidence for f in self.fields.values()), default=0.0)


@dataclass(frozen=True)
class Certification:
    """The facts of the certification statement printed on the e-copy."""

    ecopy_id: str
    verify_url: str
    office: str
    certifier_name: str
    certifier_title: str
    certified_on: dt.date
    certificate_number: str  # "Số chứng thực"
    book_number: str  # "quyển số … SCT/BS"
    doc_type: str
    # The legal title printed in the statement and the PDF's title, in Vietnamese ("Giấy khai sinh",
    # or the clerk's own title for "other"): the caller takes it from the document-type registry,
    # so issuing never needs to know the types.
    doc_title: str
    development_only: bool = False
    # What the QR encodes: ``{verify_url}#{signed payload}`` (pipeline.certify.qr_token.qr_text);
    # empty → verify_url alone
    qr_text: str = ""


VerdictStatus = Literal["valid", "revoked", "altered", "unknown"]


@dataclass(frozen=True)
class IssuedCopyInfo:
    """What verification needs to know about a registry record (the caller maps its storage row)."""

    ecopy_id: str
    status: str  # "issued" | "revoked" | "superseded"
    sha256: str
    doc_type: str
    office: str
    issued_at: dt.datetime
    signer_cert_sha256: str = ""
    revoked_reason: str | None = None
    superseded_by: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: VerdictStatus
    ecopy_id: str | None
    reasons: tuple[str, ...]
    record: IssuedCopyInfo | None = None
    signature: SignatureReport | None = None
    # stable English code per reason, same order as ``reasons`` (e.g. "hash.mismatch"), for API users
    codes: tuple[str, ...] = ()

    @property
    def bottom_line(self) -> bool:
        return self.status == "valid"


@dataclass(frozen=True)
class SignatureReport:
    """What signature validation found, in terms a verifier can act on."""

    present: bool
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    covers_whole_file: bool = False
    modified_after_signing: bool = False
    signer_subject: str = ""
    signer_cert_sha256: str = ""
    signing_time: dt.datetime | None = None
    timestamped: bool = False
    problems: tuple[str, ...] = ()

    @property
    def bottom_line(self) -> bool:
        return (
            self.present
            and self.intact
            and self.valid
            and self.trusted
            and self.covers_whole_file
            and not self.modified_after_signing
        )
