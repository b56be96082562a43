"""Reading PDF objects of a hostile file without trusting them: bounded equality, safe lookups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyhanko.pdf_utils import generic

from pipeline.verify.diagnose.findings import _reraise_if_fatal

_MAX_DEPTH = 64


class _Budget(Exception):
    pass


def _same(a: Any, b: Any, depth: int = 0) -> bool:
    """Structural equality without resolving indirect references (compares the references)."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
        return (
            isinstance(a, generic.IndirectObject)
            and isinstance(b, generic.IndirectObject)
            and (a.idnum, a.generation) == (b.idnum, b.generation)
        )
    if isinstance(a, generic.StreamObject) or isinstance(b, generic.StreamObject):
        if not (isinstance(a, generic.StreamObject) and isinstance(b, generic.StreamObject)):
            return False
        if a.encoded_data != b.encoded_data:
            return False
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return False
        return all(_same(dict.__getitem__(a, k), dict.__getitem__(b, k), depth + 1) for k in a)
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            return False
        return all(_same(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if isinstance(a, (generic.ByteStringObject, generic.TextStringObject)):
        return isinstance(b, (generic.ByteStringObject, generic.TextStringObject)) and (
            a.original_bytes == b.original_bytes
        )
    return type(a) is type(b) and bool(a == b)


def _changed_keys(old: Any, new: Any) -> Iterator[tuple[Any, Any, Any]]:
    """``(key, old value, new value)`` for each key of two dictionaries whose value differs
    (references compared, not resolved), in key order."""
    for key in sorted(set(old) | set(new), key=str):
        a, b = dict.get(old, key), dict.get(new, key)
        if not _same(a, b):
            yield key, a, b


def _deref(obj: Any) -> Any:
    try:
        return obj.get_object() if isinstance(obj, generic.IndirectObject) else obj
    except Exception as e:
        _reraise_if_fatal(e)
        return None


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` resolved, or None: hostile files may make any value an indirect reference."""
    if not isinstance(obj, dict) or key not in obj:
        return None
    return _deref(dict.__getitem__(obj, key))


def _key(ref: Any) -> tuple[int, int]:
    return (ref.idnum, ref.generation)


def _invisible(widget: Any) -> bool:
    """A widget nobody sees: zero-area /Rect or the Hidden flag (as document time-stamps are made)."""
    flags = _get(widget, "/F")
    if isinstance(flags, int) and flags & 2:
        return True
    rect = _get(widget, "/Rect")
    try:
        x1, y1, x2, y2 = (float(_deref(v)) for v in rect)
    except Exception as e:
        _reraise_if_fatal(e)
        return False
    return (x2 - x1) * (y2 - y1) == 0


def _is_timestamp_field(fld: Any) -> bool:
    """A document time-stamp field whose widget shows nothing: validation data, not content."""
    value = _get(fld, "/V")
    return isinstance(value, dict) and _get(value, "/Type") == "/DocTimeStamp" and _invisible(fld)


def _is_sig_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        _get(obj, "/Type") in ("/Sig", "/DocTimeStamp") or ("/ByteRange" in obj and "/Contents" in obj)
    )
