"""One revision of a signed document, seen as the object sets a change is classified by (what the
pages draw, annotations, the form, DSS, document time-stamps, metadata), computed lazily and within a
shared budget of visited objects."""

from __future__ import annotations

from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver

from pipeline.verify.diagnose._objects import _MAX_DEPTH, _Budget, _is_timestamp_field, _key
from pipeline.verify.diagnose.findings import _reraise_if_fatal

_MAX_VISITS = 100_000  # objects visited per revision analysis
# Keys that never lead to what a page shows (following them would reach the whole document).
_NOT_CONTENT_KEYS = frozenset({"/Parent", "/P", "/Annots", "/B", "/StructParents", "/StructParent", "/Popup"})


class _View:
    """One revision of the document, with the object sets the classification needs (lazily)."""

    def __init__(self, resolver: HistoricalResolver, budget: list[int]) -> None:
        self.resolver = resolver
        self.budget = budget
        self._pages: tuple[set[tuple[int, int]], list[Any]] | None = None
        self._content: set[tuple[int, int]] | None = None
        self._annots: tuple[set[tuple[int, int]], set[tuple[int, int]]] | None = None
        self._form: set[tuple[int, int]] | None = None
        self._dss: set[tuple[int, int]] | None = None
        self._timestamp: set[tuple[int, int]] | None = None

    def _spend(self, n: int = 1) -> None:
        self.budget[0] -= n
        if self.budget[0] < 0:
            raise _Budget

    @property
    def root(self) -> Any:
        return self.resolver.root

    def root_key(self) -> tuple[int, int]:
        return _key(self.resolver.root_ref)

    def reachable(self, start: Any, skip: frozenset[str] = _NOT_CONTENT_KEYS) -> set[tuple[int, int]]:
        """Indirect objects reachable from ``start`` (iterative, bounded)."""
        seen: set[tuple[int, int]] = set()
        stack: list[tuple[Any, int]] = [(start, 0)]
        while stack:
            obj, depth = stack.pop()
            self._spend()
            if depth > _MAX_DEPTH * 4:
                continue
            if isinstance(obj, generic.IndirectObject):
                k = _key(obj)
                if k in seen:
                    continue
                seen.add(k)
                try:
                    obj = obj.get_object()
                except Exception as e:
                    _reraise_if_fatal(e)
                    continue
            if isinstance(obj, dict):
                stack.extend((dict.__getitem__(obj, k), depth + 1) for k in obj if k not in skip)
            elif isinstance(obj, list):
                stack.extend((v, depth + 1) for v in obj)
        return seen

    def pages(self) -> tuple[set[tuple[int, int]], list[Any]]:
        """Refs of the page tree nodes and pages, and the page dictionaries (leaves)."""
        if self._pages is None:
            nodes: set[tuple[int, int]] = set()
            leaves: list[Any] = []
            stack: list[Any] = [self.root.raw_get("/Pages")] if "/Pages" in self.root else []
            while stack:
                item = stack.pop()
                self._spend()
                if isinstance(item, generic.IndirectObject):
                    if _key(item) in nodes:
                        continue
                    nodes.add(_key(item))
                node = item.get_object() if isinstance(item, generic.IndirectObject) else item
                if not isinstance(node, dict):
                    continue
                if "/Kids" in node:
                    kids = node["/Kids"]
                    if isinstance(kids, list):
                        stack.extend(kids)
                    if "/Resources" in node:  # inherited resources are page content too
                        leaves.append(node)
                else:
                    leaves.append(node)
            self._pages = (nodes, leaves)
        return self._pages

    def content(self) -> set[tuple[int, int]]:
        """Everything a page draws: content streams and resources (fonts, images, forms, OCGs…)."""
        if self._content is None:
            refs: set[tuple[int, int]] = set()
            for page in self.pages()[1]:
                for key in ("/Contents", "/Resources"):
                    if key in page:
                        refs |= self.reachable(dict.__getitem__(page, key))
            self._content = refs
        return self._content

    def annots(self) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
        """(annotation dictionaries and what they draw, indirect /Annots arrays)."""
        if self._annots is None:
            refs: set[tuple[int, int]] = set()
            arrays: set[tuple[int, int]] = set()
            for page in self.pages()[1]:
                if "/Annots" not in page:
                    continue
                raw = dict.__getitem__(page, "/Annots")
                if isinstance(raw, generic.IndirectObject):
                    arrays.add(_key(raw))
                    raw = raw.get_object()
                if isinstance(raw, list):
                    for annot in raw:
                        refs |= self.reachable(annot, _NOT_CONTENT_KEYS | {"/V", "/Kids"})
            self._annots = (refs, arrays)
        return self._annots

    def form(self) -> set[tuple[int, int]]:
        """The AcroForm dictionary, the field tree and the form's default resources."""
        if self._form is None:
            refs: set[tuple[int, int]] = set()
            if "/AcroForm" in self.root:
                raw = self.root.raw_get("/AcroForm")
                if isinstance(raw, generic.IndirectObject):
                    refs.add(_key(raw))
                acroform = raw.get_object() if isinstance(raw, generic.IndirectObject) else raw
                if isinstance(acroform, dict):
                    for key in ("/Fields", "/DR", "/XFA", "/CO"):
                        if key in acroform:
                            refs |= self.reachable(dict.__getitem__(acroform, key), frozenset({"/Parent", "/P", "/V"}))
            self._form = refs
        return self._form

    def dss(self) -> set[tuple[int, int]]:
        if self._dss is None:
            self._dss = self.reachable(self.root.raw_get("/DSS")) if "/DSS" in self.root else set()
        return self._dss

    def timestamp_parts(self) -> set[tuple[int, int]]:
        """Document time-stamp fields, their widgets, signature dictionaries and appearances."""
        if self._timestamp is None:
            refs: set[tuple[int, int]] = set()
            try:
                fields = self.root["/AcroForm"]["/Fields"]
            except Exception as e:
                _reraise_if_fatal(e)
                fields = []
            for item in fields if isinstance(fields, list) else []:
                self._spend()
                if not isinstance(item, generic.IndirectObject):
                    continue
                fld = item.get_object()
                if not isinstance(fld, generic.DictionaryObject) or "/V" not in fld:
                    continue
                if _is_timestamp_field(fld):
                    refs.add(_key(item))
                    refs |= self.reachable(fld.raw_get("/V"))
                    if "/AP" in fld:
                        refs |= self.reachable(fld.raw_get("/AP"))
            self._timestamp = refs
        return self._timestamp

    def metadata_refs(self) -> set[tuple[int, int]]:
        refs: set[tuple[int, int]] = set()
        info = self.resolver.trailer_view.raw_get("/Info") if "/Info" in self.resolver.trailer_view else None
        if isinstance(info, generic.IndirectObject):
            refs.add(_key(info))
        meta = self.root.raw_get("/Metadata") if "/Metadata" in self.root else None
        if isinstance(meta, generic.IndirectObject):
            refs.add(_key(meta))
        return refs
