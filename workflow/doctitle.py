"""The legal title a copy is certified under, and the rule that no copy is issued without one.

A catalogue type's title is its label; a document of type "other" (``title_from_clerk``) carries the
title the clerk typed, which is required. A document classification did not recognise
(``UNKNOWN``) has no title at all: it waits until a person names its type. Every step that leads
to a signature (submit, approve, the archive's auto-issue, the CLI's digitize, the issuing itself)
asks :func:`require_named_type`, so a wrong or missing title is refused before the copy exists.
"""

from __future__ import annotations

import unicodedata

from pipeline.errors import UnknownDocumentTypeError
from pipeline.read.doctypes import registry as doctypes
from storage.registry import IntakeRecord
from workflow.errors import DocTitleRequiredError, TypeRequiredError

TITLE_MAX = 300


def clean_title(title: str | None) -> str | None:
    """The clerk's title as it will be printed: NFC, single spaces; None when blank."""
    if title is None:
        return None
    cleaned = unicodedata.normalize("NFC", " ".join(title.split()))
    return cleaned or None


def check_type(doc_type: str | None, doc_title: str | None) -> tuple[str | None, str | None]:
    """A type and title a person names (at upload, at review, in the CLI), checked and cleaned.

    ``doc_type`` None: not named (classification decides). A catalogue type's own label is its
    title, so a title given with it is dropped; "other" requires one."""
    title = clean_title(doc_title)
    if doc_type is None or not doc_type.strip():
        if title is not None:
            raise TypeRequiredError(
                "Đã nhập tên giấy tờ nhưng chưa chọn loại. Hãy chọn loại “Giấy tờ khác” rồi nhập tên giấy tờ.",
                detail="doc_title without doc_type",
            )
        return None, None
    doc = doctypes.DOCTYPES.get(doc_type)
    if doc is None:
        raise UnknownDocumentTypeError(
            "Loại giấy tờ không có trong danh mục. Hãy chọn một loại trong danh sách, "
            "hoặc chọn “Giấy tờ khác” và nhập tên giấy tờ.",
            detail=f"unknown doc_type {doc_type!r}; expected one of {doctypes.doc_type_names()}",
        )
    if not doc.title_from_clerk:
        return doc_type, None
    if title is None:
        raise DocTitleRequiredError(detail=f"doc_type {doc_type!r} needs doc_title")
    if len(title) > TITLE_MAX:
        raise DocTitleRequiredError(
            f"Tên giấy tờ dài quá {TITLE_MAX} ký tự. Hãy ghi đúng tên giấy tờ như in trên bản gốc, ngắn gọn hơn.",
            detail=f"doc_title of {len(title)} characters",
        )
    return doc_type, title


def title_vi(doc_type: str | None, doc_title: str | None) -> str | None:
    """The copy's title in Vietnamese; None when there is none yet (not read, unknown, "other" untitled)."""
    doc = doctypes.DOCTYPES.get(doc_type or "")
    if doc is None:
        return None
    if doc.title_from_clerk:
        return clean_title(doc_title)
    return doc.label_vi


def title_en(doc_type: str | None, doc_title: str | None) -> str | None:
    """In English: the type's English label, or the clerk's title as typed (it is the document's own name)."""
    doc = doctypes.DOCTYPES.get(doc_type or "")
    if doc is None:
        return None
    if doc.title_from_clerk:
        return clean_title(doc_title)
    return doc.label_en


def certified_title(doc_type: str, doc_title: str | None) -> str:
    """The title the statement prints; refused (never guessed) when the type gives none."""
    title = title_vi(doc_type, doc_title)
    if title is None:
        if doc_type in doctypes.DOCTYPES:
            raise DocTitleRequiredError(detail=f"doc_type {doc_type!r} without doc_title")
        raise TypeRequiredError(detail=f"doc_type {doc_type!r} is not a catalogue type")
    return title


def type_named(intake: IntakeRecord) -> bool:
    """The intake's type is one the catalogue knows, with its title if it needs one."""
    return title_vi(intake.doc_type, intake.doc_title) is not None


def require_named_type(intake: IntakeRecord) -> None:
    """Refuse a step towards a signature while the intake has no type (or "other" no title)."""
    if intake.doc_type in doctypes.DOCTYPES:
        if not type_named(intake):
            raise DocTitleRequiredError(detail=f"intake {intake.id} is {intake.doc_type!r} without doc_title")
        return
    raise TypeRequiredError(detail=f"intake {intake.id} has doc_type {intake.doc_type!r}")
