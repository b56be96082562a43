"""What every revision after the first signature changes: page content, annotations, form fields,
metadata, structure, or only validation data (DSS and document time-stamps, as PAdES B-LTA and
re-time-stamped copies have)."""

from __future__ import annotations

import re
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline.verify.diagnose._objects import (
    _MAX_DEPTH,
    _Budget,
    _changed_keys,
    _deref,
    _get,
    _invisible,
    _is_sig_dict,
    _is_timestamp_field,
    _key,
    _same,
)
from pipeline.verify.diagnose.findings import _Collector, _reraise_if_fatal
from pipeline.verify.diagnose.revision_view import _MAX_VISITS, _View

_TRAILER_BOOKKEEPING = frozenset(
    {"/Size", "/Prev", "/ID", "/XRefStm", "/Type", "/W", "/Index", "/Filter", "/DecodeParms", "/Length"}
)
_INFO_REFRESH_KEYS = frozenset({"/ModDate", "/Producer"})
_XMP_REFRESH = re.compile(
    rb"<(xmp:ModifyDate|xmp:MetadataDate|pdf:Producer|xmpMM:InstanceID)>[^<]*</\1>"
    rb"|(xmp:ModifyDate|xmp:MetadataDate|pdf:Producer|xmpMM:InstanceID)=\"[^\"]*\""
)


class _Changes:
    """Categories of change in one revision, each with a few details."""

    def __init__(self) -> None:
        self.by_category: dict[str, list[str]] = {}

    def mark(self, category: str, detail: str) -> None:
        details = self.by_category.setdefault(category, [])
        if len(details) < 6 and detail not in details:
            details.append(detail)


def _annotation_kind(annot: Any) -> tuple[str, str]:
    """Category of a newly added annotation: a time-stamp widget, a signature, a form field or a drawing."""
    if not isinstance(annot, dict):
        return "annotation", "annotation"
    field_dict = annot
    for _ in range(_MAX_DEPTH):  # /FT is inheritable
        if "/FT" in field_dict or "/Parent" not in field_dict:
            break
        field_dict = field_dict["/Parent"]
    if _get(annot, "/Subtype") == "/Widget" and isinstance(field_dict, dict) and "/FT" in field_dict:
        if field_dict["/FT"] == "/Sig":
            value = _get(field_dict, "/V")
            if _is_timestamp_field(field_dict) and _invisible(annot):
                return "validation", "document time-stamp widget"
            if value is None:
                return "form", "empty signature field"
            return "signature", "signature field"
        return "form", f"{field_dict['/FT']} field widget"
    return "annotation", f"{_get(annot, '/Subtype') or 'unknown'} annotation"


def _diff_annots(old: Any, new: Any, view_new: _View, changes: _Changes) -> None:
    old_refs = {_key(a) for a in (old if isinstance(old, list) else []) if hasattr(a, "idnum")}
    added = [a for a in (new if isinstance(new, list) else []) if hasattr(a, "idnum") and _key(a) not in old_refs]
    new_refs = {_key(a) for a in (new if isinstance(new, list) else []) if hasattr(a, "idnum")}
    if old_refs - new_refs:
        changes.mark("annotation", f"{len(old_refs - new_refs)} annotation(s) removed")
    if not isinstance(new, list) or any(not hasattr(a, "idnum") for a in new):
        changes.mark("annotation", "direct annotation objects")
    for a in added:
        view_new._spend()
        category, what = _annotation_kind(a.get_object())
        changes.mark(category, f"added {what} {a.idnum}")


def _diff_page(old: Any, new: Any, view_new: _View, changes: _Changes, label: str) -> None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        changes.mark("page_content", f"{label} added or removed")
        return
    for key, a, b in _changed_keys(old, new):
        if key == "/Annots":
            _diff_annots(
                _deref(a),
                _deref(b),
                view_new,
                changes,
            )
        else:
            changes.mark("page_content", f"{label} {key} changed")


_APPEARANCE_KEYS = frozenset({"/AP", "/AS", "/MK", "/Rect", "/F", "/BS", "/Border", "/C", "/H"})


def _diff_field(old: Any, new: Any, changes: _Changes, label: str) -> None:
    """A field (often merged with its widget): its value is form data, its looks an annotation."""
    for key, _a, _b in _changed_keys(old, new):
        visual = key in _APPEARANCE_KEYS and not isinstance(new, generic.StreamObject)
        changes.mark("annotation" if visual else "form", f"field {label} {key} changed")


def _diff_acroform(old: Any, new: Any, view_new: _View, changes: _Changes) -> None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        changes.mark("form", "AcroForm added or removed")
        return
    for key, a, b in _changed_keys(old, new):
        if key == "/SigFlags":
            continue
        if key != "/Fields":
            changes.mark("form", f"AcroForm {key} changed")
            continue
        a = _deref(a)
        b = _deref(b)
        old_refs = {_key(f) for f in (a if isinstance(a, list) else []) if hasattr(f, "idnum")}
        new_list = b if isinstance(b, list) else []
        if old_refs - {_key(f) for f in new_list if hasattr(f, "idnum")}:
            changes.mark("form", "form field(s) removed")
        for f in new_list:
            if not hasattr(f, "idnum") or _key(f) in old_refs:
                continue
            view_new._spend()
            fld = f.get_object()
            value = _get(fld, "/V") if isinstance(fld, dict) else None
            if isinstance(fld, dict) and _get(fld, "/FT") == "/Sig" and isinstance(value, dict):
                if _is_timestamp_field(fld):
                    changes.mark("validation", f"document time-stamp field {f.idnum}")
                else:
                    changes.mark("signature", f"signature field {f.idnum}")
            else:
                changes.mark("form", f"form field {f.idnum} added")


def _diff_catalog(old: Any, new: Any, view_old: _View, view_new: _View, changes: _Changes) -> None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        changes.mark("structure", "document catalog replaced by a non-dictionary")
        return
    for key, a, b in _changed_keys(old, new):
        if key in ("/DSS", "/Extensions"):
            changes.mark("validation", f"catalog {key}")
        elif key == "/AcroForm":
            if isinstance(a, generic.IndirectObject) and isinstance(b, generic.IndirectObject):
                changes.mark("form", "AcroForm replaced by another object")
            else:
                _diff_acroform(
                    _deref(a),
                    _deref(b),
                    view_new,
                    changes,
                )
        elif key == "/Metadata":
            changes.mark("metadata", "catalog /Metadata replaced")
        elif key in ("/Pages", "/OCProperties"):
            changes.mark("page_content", f"catalog {key} changed")
        else:
            changes.mark("structure", f"catalog {key} changed")


def _info_refresh_only(old: Any, new: Any) -> bool:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    differing = {key for key, _a, _b in _changed_keys(old, new)}
    return differing <= _INFO_REFRESH_KEYS


def _xmp_refresh_only(old: Any, new: Any) -> bool:
    """True when two XMP packets differ only in modification dates, producer and instance ID."""
    if not isinstance(old, generic.StreamObject) or not isinstance(new, generic.StreamObject):
        return False
    try:
        a, b = old.data, new.data
    except Exception as e:
        _reraise_if_fatal(e)
        return False

    def normal(x: bytes) -> bytes:
        return re.sub(rb"\s+", b"", _XMP_REFRESH.sub(b"", x))

    return normal(a) == normal(b)


def _classify(key: tuple[int, int], old: Any, new: Any, view_old: _View, view_new: _View, changes: _Changes) -> None:
    label = f"object {key[0]}"
    for obj in (new, old):
        if isinstance(obj, generic.StreamObject) and _get(obj, "/Type") in ("/XRef", "/ObjStm"):
            return
    if key in (view_old.root_key(), view_new.root_key()):
        if old is not None or view_old.root_key() == view_new.root_key():  # a new catalog: diffed from the trailer
            _diff_catalog(old, new, view_old, view_new, changes)
    elif key in view_old.content() or key in view_new.content():
        changes.mark("page_content", f"{label} drawn by a page {'replaced' if old is not None else 'added'}")
    elif key in view_old.pages()[0] or key in view_new.pages()[0]:
        _diff_page(old, new, view_new, changes, f"page {label}")
    elif _is_sig_dict(new) or _is_sig_dict(old):
        if old is not None:  # a signed signature dictionary redefined after the fact
            changes.mark("signature_changed", f"signature dictionary {label} redefined")
        elif _get(new, "/Type") == "/DocTimeStamp":
            changes.mark("validation", f"document time-stamp {label}")
        else:
            changes.mark("signature", f"signature dictionary {label}")
    elif key in view_new.timestamp_parts() and old is None:
        changes.mark("validation", f"document time-stamp part {label}")
    elif key in view_new.dss() or key in view_old.dss():
        changes.mark("validation", f"DSS {label}")
    elif key in view_old.metadata_refs() or key in view_new.metadata_refs():
        info_like = isinstance(new, dict) and not isinstance(new, generic.StreamObject)
        refresh = _info_refresh_only(old, new) if info_like else _xmp_refresh_only(old, new)
        changes.mark("metadata_refresh" if refresh else "metadata", f"metadata {label}")
    elif key in view_old.annots()[1] or key in view_new.annots()[1]:
        _diff_annots(old, new, view_new, changes)
    elif key in view_old.form() or key in view_new.form():
        if isinstance(old, dict) and isinstance(new, dict) and "/Fields" in new:
            _diff_acroform(old, new, view_new, changes)
        elif isinstance(old, dict) and isinstance(new, dict):
            _diff_field(old, new, changes, label)
        elif _get(new, "/FT") == "/Sig" and isinstance(_get(new, "/V"), dict):
            changes.mark("signature", f"signature field {label} added")
        else:
            changes.mark("form", f"form field {label} {'changed' if old is not None else 'added'}")
    elif key in view_old.annots()[0] or key in view_new.annots()[0]:
        changes.mark("annotation", f"annotation {label} {'changed' if old is not None else 'added'}")
    elif old is not None:
        changes.mark("structure", f"{label} replaced")
    # a new object nothing points to changes nothing a viewer shows


def _revision_changes(reader: PdfFileReader, revision: int) -> _Changes:
    changes = _Changes()
    budget = [_MAX_VISITS]
    view_old = _View(reader.get_historical_resolver(revision - 1), budget)
    view_new = _View(reader.get_historical_resolver(revision), budget)
    old_trailer, new_trailer = view_old.resolver.trailer_view, view_new.resolver.trailer_view
    for key in set(old_trailer) | set(new_trailer):
        if key in _TRAILER_BOOKKEEPING or key == "/Root":
            continue
        a, b = dict.get(old_trailer, key), dict.get(new_trailer, key)
        if _same(a, b):
            continue
        if key == "/Info":
            refresh = _info_refresh_only(_deref(a), _deref(b))
            changes.mark("metadata_refresh" if refresh else "metadata", "trailer /Info replaced")
        else:
            changes.mark("structure", f"trailer {key} changed")
    if view_old.root_key() != view_new.root_key():
        _diff_catalog(view_old.root, view_new.root, view_old, view_new, changes)

    xrefs = reader.xrefs
    changed = {_key(r) for r in xrefs.explicit_refs_in_revision(revision)}
    freed = {_key(r) for r in xrefs.refs_freed_in_revision(revision)}
    for key in sorted(changed | freed):
        ref = generic.Reference(key[0], key[1], pdf=reader)
        existed = xrefs.get_historical_ref(ref, revision - 1) is not None
        try:
            old = view_old.resolver.get_object(ref) if existed else None
            new = view_new.resolver.get_object(ref) if key not in freed else None
            if isinstance(old, generic.NullObject):
                old = None
            _classify(key, old, new, view_old, view_new, changes)
        except _Budget:
            raise
        except Exception as e:
            _reraise_if_fatal(e)
            try:
                drawn = key in view_old.content()
            except _Budget:
                drawn = False
            changes.mark("page_content" if drawn else "structure", f"object {key[0]} unreadable: {type(e).__name__}")
    if "metadata_refresh" in changes.by_category:
        refreshed = changes.by_category.pop("metadata_refresh")
        # Writers refresh ModDate/Producer with every save: part of whatever else the revision does,
        # a metadata update when it is all the revision does.
        folded_into = "validation" if "validation" in changes.by_category else None
        if not changes.by_category:
            folded_into = "metadata"
        for detail in refreshed if folded_into else ():
            changes.mark(folded_into or "metadata", detail)
    return changes


_CATEGORY_CODES = {
    "page_content": "update.page_content",
    "annotation": "update.annotation",
    "form": "update.form",
    "metadata": "update.metadata",
    "structure": "update.structure",
    "validation": "update.validation_data",
    "signature": "signature.extra",
    "signature_changed": "signature.not_intact",
}


def _check_updates(reader: PdfFileReader, signed_revision: int, out: _Collector) -> None:
    total = reader.xrefs.total_revisions
    for revision in range(signed_revision + 1, total):
        try:
            changes = _revision_changes(reader, revision)
        except _Budget:
            out.add("update.structure", f"revision {revision}: too many objects to compare")
            continue
        except Exception as e:
            _reraise_if_fatal(e)
            out.add("update.structure", f"revision {revision}: {type(e).__name__}: {e}"[:300])
            continue
        if not changes.by_category:
            # nothing a viewer shows changed, yet someone appended a revision: say so
            out.add("update.structure", f"revision {revision} changes nothing visible")
        for category, details in changes.by_category.items():
            out.add(_CATEGORY_CODES[category], f"revision {revision}: " + ", ".join(details))
