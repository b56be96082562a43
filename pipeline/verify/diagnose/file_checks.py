"""File-level checks on the raw bytes: is it a PDF, what follows its end, which e-copy it claims."""

from __future__ import annotations

import re

from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.verify.diagnose.findings import _Collector, _reraise_if_fatal

_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_STARTXREF_EOF = re.compile(rb"startxref\s+(\d{1,20})\s+%%EOF")


def _revision_ends(pdf: bytes) -> dict[int, set[int]]:
    """startxref value → the offsets where a revision with that startxref ends (with/without EOL)."""
    ends: dict[int, set[int]] = {}
    for m in _STARTXREF_EOF.finditer(pdf):
        end = m.end()
        at = ends.setdefault(int(m.group(1)), set())
        at.add(end)
        if pdf[end : end + 2] == b"\r\n":
            at.add(end + 2)
        elif pdf[end : end + 1] in (b"\r", b"\n"):
            at.add(end + 1)
    return ends


def _check_layout(pdf: bytes, out: _Collector) -> bool:
    """Header and tail; False when this is not a PDF at all."""
    if b"%PDF-" not in pdf[:1024]:
        out.add("file.unreadable", "no %PDF- header")
        return False
    eof = pdf.rfind(b"%%EOF")
    if eof < 0:
        out.add("file.unreadable", "no %%EOF marker")
        return False
    junk = pdf[eof + 5 :].strip(_PDF_WHITESPACE)
    if junk:
        out.add("file.trailing_data", f"{len(junk)} bytes after the last %%EOF")
    return True


def _check_last_revision_ends_the_file(pdf: bytes, reader: PdfFileReader, out: _Collector) -> None:
    """Bytes no revision accounts for (e.g. a second copy appended whole, with its own %%EOF) are
    invisible to a reader that follows startxref, and to pyHanko's coverage check."""
    try:
        meta = reader.xrefs.get_xref_container_info(reader.xrefs.total_revisions - 1)
        eof = pdf.find(b"%%EOF", meta.end_location)
    except Exception as e:
        _reraise_if_fatal(e)
        return
    if eof < 0:
        return
    extra = pdf[eof + 5 :].strip(_PDF_WHITESPACE)
    if extra:
        out.add("file.trailing_data", f"{len(extra)} bytes after the end of the last revision")


def _embedded_ecopy_id(reader: PdfFileReader) -> str | None:
    """The e-copy ID the file claims (Info /EcopyID, else XMP dc:identifier "ecopy:…")."""
    try:
        info = reader.trailer_view["/Info"]
        if "/EcopyID" in info:
            found = normalize_ecopy_id(str(info["/EcopyID"]))
            if found:
                return found
    except Exception as e:
        _reraise_if_fatal(e)
        pass
    try:
        xmp = reader.root["/Metadata"].data
        m = re.search(rb"ecopy:([0-9A-Za-z-]{10,40})", xmp)
        if m:
            return normalize_ecopy_id(m.group(1).decode("ascii"))
    except Exception as e:
        _reraise_if_fatal(e)
        pass
    return None
