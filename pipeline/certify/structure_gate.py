"""Structure rules for an issued e-copy: pages rebuilt from pixels, our signature, nothing else.

An e-copy is rendered from page pixels, so nothing of the citizen's file can reach it; this module
is the last gate that says so about the bytes we are about to store, whatever the renderer and the
signer turn into later. :func:`copy_structure_problems` returns ``(code, detail)`` pairs; empty
means the copy keeps every rule:

``unreadable`` / ``encrypted``
    the file does not parse as a PDF, or it is encrypted (PDF/A forbids that anyway).
``signature-field`` / ``form-field`` / ``xfa`` / ``need-appearances``
    the AcroForm holds exactly one signed signature field (``/V`` a ``/Sig`` dictionary) plus the
    document time-stamp fields a B-LTA copy gets (``/V`` a ``/DocTimeStamp``); nothing else: no
    other field type, no empty or nested field, no XFA, no ``/NeedAppearances true``.
``annotation``
    a page carries only widgets of those fields (the visible signature, and the invisible
    time-stamp widgets pyHanko puts on page 1); any other annotation, on any page, in any
    revision, is flagged.
``javascript`` / ``open-action`` / ``additional-actions`` / ``action``
    no ``/JS``, ``/S /JavaScript`` or ``/Names /JavaScript``; no ``/OpenAction``; no ``/AA``
    (document, page, annotation, field); no Launch, URI, GoToR, GoToE, SubmitForm, ImportData,
    ResetForm, Hide, Rendition, Sound, Movie, Thread, SetOCGState or Trans action.
``embedded-file`` / ``rich-media``
    no ``/EmbeddedFiles``, ``/EF``, ``/EmbeddedFile`` stream, file-attachment annotation,
    portfolio (``/Collection``); no RichMedia, 3D, Screen, Sound or Movie content.
``unreferenced-object``
    see below.

Where the rules look. The *content* rules are checked on every object of every revision: each
object an incremental update writes, including the versions a later update supersedes (a viewer
can show any signed revision, and superseded bytes are still in the file), and every trailer.
The *field and annotation* rules (exactly one signature field; widgets only of our fields) are
relations, checked on the final document as qpdf (pikepdf) reads it, a second parser besides
pyHanko's.

Unreferenced objects, exactly. The cross-reference sections are read with pyHanko's reader, one
revision per section (a hybrid file's ``/XRefStm`` counts with its table). An *in-use* entry is an
``n`` entry of a table or a type 1/2 entry of an xref stream; free entries (the free list, object 0,
entries freed by a later revision) are never in use and are not checked, and a free entry whose
next generation is 0 is a placeholder that frees nothing (as in hybrid files). Two rules:

1. every object a revision writes must be reachable from **that revision's** trailer
   (``/Root``, ``/Info``, ``/Encrypt``…), references resolved as of that revision;
2. every in-use object of the **final** table (each object number's latest entry) must be
   reachable from the final trailer, so a later revision cannot orphan an earlier object.

A version of an object that a later revision rewrites under the same number is *superseded*, not
unreferenced: rule 2 sees only its latest version and rule 1 checks the old one where it was
written. Not objects in their own right: the xref streams, and an object stream (``/ObjStm``)
while some in-use entry points into it (its members are checked one by one; an object stream
nobody points into is unreferenced). Not checked: bytes of the file that no xref entry points
at (an ``obj`` without an entry is invisible to conforming readers, and to this check), objects
inside an object stream that no xref entry names, and whether the free list is well-formed
(``qpdf --check`` reports that).

Cost: ≈25 ms for a B-B copy, ≈60 ms for B-LTA (two revisions more), whatever the image sizes;
most of it is pyHanko parsing the signatures' hex ``/Contents``.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable, Iterator

import pikepdf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

log = logging.getLogger(__name__)

Problem = tuple[str, str]

FORBIDDEN_ACTIONS = frozenset(
    "/" + s
    for s in (
        "Launch",
        "URI",
        "GoToR",
        "GoToE",
        "SubmitForm",
        "ImportData",
        "ResetForm",
        "Hide",
        "Rendition",
        "Sound",
        "Movie",
        "Thread",
        "SetOCGState",
        "Trans",
        "GoTo3DView",
        "RichMediaExecute",
    )
)
# Annotation subtypes (ISO 32000-2, 12.5.6); a widget is judged separately.
ANNOTATION_SUBTYPES = frozenset(
    "/" + s
    for s in (
        "Text",
        "Link",
        "FreeText",
        "Line",
        "Square",
        "Circle",
        "Polygon",
        "PolyLine",
        "Highlight",
        "Underline",
        "Squiggly",
        "StrikeOut",
        "Caret",
        "Stamp",
        "Ink",
        "Popup",
        "FileAttachment",
        "Sound",
        "Movie",
        "Screen",
        "PrinterMark",
        "TrapNet",
        "Watermark",
        "3D",
        "Redact",
        "Projection",
        "RichMedia",
    )
)
RICH_MEDIA_SUBTYPES = frozenset({"/RichMedia", "/3D", "/Screen", "/Sound", "/Movie", "/U3D", "/PRC"})
SIGNATURE_TYPES = frozenset({"/Sig", "/DocTimeStamp"})


def copy_structure_problems(pdf: bytes) -> list[Problem]:
    """Every way ``pdf`` (a signed e-copy, all revisions) breaks the rules of the module docstring."""
    started = time.perf_counter()
    problems: list[Problem] = []
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        if reader.encrypted:
            return [("encrypted", "the file is encrypted (/Encrypt in the trailer)")]
        _check_revisions(reader, problems)
    except Exception as e:  # any parse failure of a file we produced is itself the finding
        problems.append(("unreadable", f"pyHanko cannot read the file: {type(e).__name__}: {e}"))
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            _check_final_fields_and_annotations(doc, problems)
    except Exception as e:  # pikepdf.PdfError, or a page tree qpdf cannot walk
        problems.append(("unreadable", f"qpdf cannot read the file: {type(e).__name__}: {e}"))
    unique = list(dict.fromkeys(problems))
    log.debug("structure check: %d problem(s) in %.1f ms", len(unique), (time.perf_counter() - started) * 1000)
    return unique


# ---- per revision: content rules on every object written, reachability ---------------------------
def _check_revisions(reader: PdfFileReader, problems: list[Problem]) -> None:
    xrefs = reader.xrefs
    total = xrefs.total_revisions
    not_objects = {(r.idnum, r.generation) for r in xrefs.xref_stream_refs}
    latest: dict[int, tuple[int, int, int | None]] = {}  # idnum -> (generation, revision, object stream or None)
    for rev in range(total):
        resolver = reader.get_historical_resolver(rev)
        written, freed = _entries_of(reader, rev)
        for idnum in freed:
            latest.pop(idnum, None)
        for idnum, (gen, objstm) in written.items():
            latest[idnum] = (gen, rev, objstm)
        where = f"revision {rev + 1} of {total}"
        _scan_object(resolver.trailer_view, f"trailer of {where}", problems)
        for idnum, (gen, _objstm) in sorted(written.items()):
            if (idnum, gen) in not_objects:
                continue
            obj = _resolve(resolver, generic.Reference(idnum, gen))
            _scan_object(obj, f"object {idnum} {gen} ({where})", problems)
        reachable = _reachable(resolver)
        in_objstm_now = {o for _g, _r, o in latest.values() if o is not None}
        for idnum, (gen, _objstm) in sorted(written.items()):
            if (idnum, gen) in not_objects or (idnum, gen) in reachable or idnum in in_objstm_now:
                continue
            problems.append(
                ("unreferenced-object", f"object {idnum} {gen}, written in {where}, is not reachable from its trailer")
            )
    final = reader.get_historical_resolver(total - 1)
    reachable = _reachable(final)
    in_objstm = {o for _g, _r, o in latest.values() if o is not None}
    for idnum, (gen, rev, _objstm) in sorted(latest.items()):
        if (idnum, gen) in not_objects or (idnum, gen) in reachable or idnum in in_objstm:
            continue
        if rev == total - 1:
            continue  # already reported by rule 1 for the last revision
        problems.append(
            (
                "unreferenced-object",
                f"object {idnum} {gen} (written in revision {rev + 1}) is not reachable from the final trailer"
                f" of revision {total}",
            )
        )


def _entries_of(reader: PdfFileReader, rev: int) -> tuple[dict[int, tuple[int, int | None]], set[int]]:
    """In-use entries (idnum -> (generation, object stream or None)) and freed numbers of one section."""
    data = reader.xrefs.get_xref_data(rev)
    sections = [data] + ([data.hybrid.xref_data] if data.hybrid is not None else [])
    written: dict[int, tuple[int, int | None]] = {}
    freed: set[int] = set()
    for section in reversed(sections):  # the main table wins over its hybrid stream
        for idnum, (gen, _offset) in section.standard_xrefs.items():
            written[idnum] = (gen, None)
            freed.discard(idnum)
        for idnum, loc in section.xrefs_in_objstm.items():
            written[idnum] = (0, loc.obj_stream_id)
            freed.discard(idnum)
        for idnum, next_gen in section.freed.items():
            if idnum != 0 and next_gen > 0:  # generation 0: a placeholder (hybrid files), frees nothing
                freed.add(idnum)
                written.pop(idnum, None)
    return written, freed


def _resolve(resolver: HistoricalResolver, ref: generic.Reference) -> generic.PdfObject:
    try:
        return resolver(generic.Reference(ref.idnum, ref.generation, pdf=resolver))
    except Exception:  # a dangling or broken reference reads as null (ISO 32000-2, 7.3.10)
        return generic.NullObject()


def _reachable(resolver: HistoricalResolver) -> set[tuple[int, int]]:
    """Object numbers reachable from the revision's trailer, references resolved in that revision."""
    seen: set[tuple[int, int]] = set()
    stack: list[generic.PdfObject] = [resolver.trailer_view]
    while stack:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            stack.append(_resolve(resolver, obj.reference))
        elif isinstance(obj, generic.DictionaryObject):  # streams too
            stack.extend(obj.values())
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj)
    return seen


def _direct_dicts(obj: generic.PdfObject) -> Iterator[generic.DictionaryObject]:
    """The object and every dictionary nested in it directly (references are not followed)."""
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, generic.DictionaryObject):
            yield o
            stack.extend(v for v in o.values() if not isinstance(v, generic.IndirectObject))
        elif isinstance(o, generic.ArrayObject):
            stack.extend(v for v in o if not isinstance(v, generic.IndirectObject))


def _name(d: generic.DictionaryObject, key: str) -> str | None:
    value = d.get(key)  # follows a reference
    return str(value) if isinstance(value, generic.NameObject) else None


def _scan_object(obj: generic.PdfObject, where: str, problems: list[Problem]) -> None:
    for d in _direct_dicts(obj):
        problems.extend((code, f"{where}: {what}") for code, what in _dict_problems(d))


def _dict_problems(d: generic.DictionaryObject) -> Iterator[tuple[str, str]]:
    keys = set(d.keys())
    type_ = _name(d, "/Type")
    subtype = _name(d, "/Subtype")
    action = _name(d, "/S")
    if "/JS" in keys:
        yield "javascript", "/JS"
    if "/JavaScript" in keys:
        yield "javascript", "/JavaScript name tree"
    if action == "/JavaScript":
        yield "javascript", "/S /JavaScript"
    if "/OpenAction" in keys:
        yield "open-action", "/OpenAction"
    if "/AA" in keys:
        yield "additional-actions", "/AA"
    if action in FORBIDDEN_ACTIONS and type_ in (None, "/Action"):
        yield "action", f"/S {action}"
    if keys & {"/EmbeddedFiles", "/EF", "/RF", "/Collection"} or type_ == "/EmbeddedFile":
        yield "embedded-file", ", ".join(sorted(keys & {"/EmbeddedFiles", "/EF", "/RF", "/Collection"})) or str(type_)
    if subtype == "/FileAttachment":
        yield "embedded-file", "/FileAttachment annotation"
    if subtype in RICH_MEDIA_SUBTYPES or type_ == "/3D":
        yield "rich-media", f"/Subtype {subtype}" if subtype in RICH_MEDIA_SUBTYPES else "/Type /3D"
    if subtype in ANNOTATION_SUBTYPES and type_ in (None, "/Annot"):
        yield "annotation", f"/Subtype {subtype} annotation"
    if "/XFA" in keys:
        yield "xfa", "/XFA"
    if "/NeedAppearances" in keys and bool(d.get("/NeedAppearances")):
        yield "need-appearances", "/NeedAppearances true"
    field_type = _name(d, "/FT")
    if field_type is not None and field_type != "/Sig":
        yield "form-field", f"/FT {field_type} field"
    if subtype == "/Widget":
        parent = d.get("/Parent")
        owner_type = field_type or (_name(parent, "/FT") if isinstance(parent, generic.DictionaryObject) else None)
        if owner_type != "/Sig":
            yield "form-field", f"widget of a {owner_type or 'typeless'} field"


# ---- final document (qpdf): exactly one signature field, widgets only of our fields ---------------
def _check_final_fields_and_annotations(doc: pikepdf.Pdf, problems: list[Problem]) -> None:
    allowed_widgets: set[tuple[int, int]] = set()
    signatures = 0
    form = doc.Root.get("/AcroForm")
    fields: Iterable[pikepdf.Object] = ()
    if isinstance(form, pikepdf.Dictionary):
        fields_obj = form.get("/Fields")
        fields = fields_obj if isinstance(fields_obj, pikepdf.Array) else ()
    for i, f in enumerate(fields):
        what = f"AcroForm field {i + 1}"
        if not isinstance(f, pikepdf.Dictionary):
            problems.append(("form-field", f"{what} is not a dictionary"))
            continue
        name = str(f.get("/T", ""))
        value = f.get("/V")
        value_type = str(value.get("/Type")) if isinstance(value, pikepdf.Dictionary) else None
        if str(f.get("/FT")) != "/Sig":
            problems.append(("form-field", f"{what} {name!r} is a {f.get('/FT')} field, not a signature"))
        elif "/Kids" in f:
            problems.append(("form-field", f"{what} {name!r} has /Kids"))
        elif value_type not in SIGNATURE_TYPES:
            problems.append(("form-field", f"{what} {name!r} is an unsigned signature field"))
        else:
            signatures += value_type == "/Sig"
            if f.is_indirect:
                allowed_widgets.add(f.objgen)
    if signatures != 1:
        problems.append(("signature-field", f"{signatures} signed /Sig fields in the AcroForm, expected exactly 1"))
    for number, page in enumerate(doc.pages, start=1):
        annots = page.obj.get("/Annots")
        if annots is None:
            continue
        if not isinstance(annots, pikepdf.Array):
            problems.append(("annotation", f"page {number}: /Annots is not an array"))
            continue
        for annot in annots:
            if not isinstance(annot, pikepdf.Dictionary):
                problems.append(("annotation", f"page {number}: an annotation that is not a dictionary"))
            elif str(annot.get("/Subtype")) != "/Widget":
                problems.append(("annotation", f"page {number}: {annot.get('/Subtype')} annotation"))
            elif not annot.is_indirect or annot.objgen not in allowed_widgets:
                problems.append(("annotation", f"page {number}: a widget that is not one of our signature fields"))
