"""Load uploaded scans into page images.

The type is sniffed from the bytes, never from the name: a clerk's "scan.pdf" may be a JPEG and an
attacker's "photo.jpg" may be anything. Sizes are checked from headers before anything is decoded,
so a decompression bomb is refused before it costs memory; what no header shows (a deflate bomb in
a content stream, a page tree that loops, a decoder that crashes) is caught by decoding every file
in a limited child process (:mod:`pipeline.read._exec.parse_sandbox`): past its memory or time
budget the file is refused as ``input.too_complex`` and this process carries on. PDF pages are
rasterised; no PDF object is carried over into the e-copy.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from pipeline.errors import EmptyFileError, TooComplexError, TooLargeError, UnsupportedTypeError
from pipeline.models import Page, SourceFile
from pipeline.read._exec import parse_sandbox
from pipeline.read._exec.parse_child import Budget, ParseLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadLimits:
    """Refuse work that no legitimate scan of a paper document needs."""

    max_bytes: int = 50 * 1024 * 1024  # per file
    max_pixels: int = 60_000_000  # per page (A4 at 600 dpi is ~35 Mpx)
    max_pages: int = 50  # over all files of one document
    # Over all pages of one document, checked from headers before decoding: a 200 kB Group-4 TIFF
    # of 50 huge blank frames must not become 9 GB of RGB in a worker. ~48 A4 pages at 300 dpi.
    max_total_pixels: int = 420_000_000
    min_side: int = 100  # a "page" narrower than this in either direction is not a scan
    max_side: int = 30_000  # tesseract refuses images over 32767 px on a side
    pdf_dpi: int = 300
    # The parse sandbox: each file is decoded in a child limited to this much memory (address
    # space on top of its own ~60 MB) and wall time. A 60 Mpx page needs ~4 copies of 180 MB.
    parse_memory_bytes: int = parse_sandbox.DEFAULT_MEMORY_BYTES
    parse_timeout_s: float = parse_sandbox.DEFAULT_TIMEOUT_S
    sandbox: bool = True  # False only for bytes we wrote ourselves, and to measure the sandbox's cost


def sniff_type(data: bytes) -> str | None:
    """Return "jpeg", "png", "tiff" or "pdf" from magic bytes, None if it is none of them."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    # The PDF header may legally be preceded by junk within the first 1024 bytes.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return None


def load_document(files: Sequence[SourceFile], limits: LoadLimits) -> list[Page]:
    """All pages of all files, in order, as RGB uint8 images.

    Every refusal is an ``InputError`` with its code; nothing a parser raises on bad bytes gets out.
    """
    pages: list[Page] = []
    budget = Budget()
    parse_limits = ParseLimits.from_dict(asdict(limits))
    for f in files:
        kind = check_file(f, limits)
        # The pages travel through files in TMPDIR (measured: no faster through /dev/shm, where a
        # worker killed mid-parse would leave them in RAM); each is deleted once read.
        with tempfile.TemporaryDirectory(prefix="ecopy-parse-") as out_dir:
            parsed = parse_sandbox.parse_file(
                f.name,
                kind,
                f.data,
                parse_limits,
                budget,
                out_dir,
                memory_bytes=limits.parse_memory_bytes,
                timeout_s=limits.parse_timeout_s,
                sandbox=limits.sandbox,
            )
            for p in parsed:
                pages.append(Page(index=len(pages), image=_read_pixels(f.name, p), dpi=p.dpi, source=f.name))
    log.info("loaded %d page(s) from %d file(s)", len(pages), len(files))
    return pages


def _read_pixels(name: str, p: parse_sandbox.ParsedPage) -> np.ndarray:
    raw = np.fromfile(p.path, dtype=np.uint8)
    os.unlink(p.path)  # a page is in memory once, not twice
    if raw.size != p.w * p.h * 3:  # the child stopped mid-write (its file-size limit): not a page
        raise TooComplexError(detail=f"{name}: page file has {raw.size} bytes, expected {p.w}x{p.h}x3")
    return raw.reshape(p.h, p.w, 3)


def check_file(f: SourceFile, limits: LoadLimits) -> str:
    """The cheap checks (empty, size, type from magic bytes) without decoding; returns the type.

    Intake calls this to refuse a bad upload at the counter rather than in a worker later.
    """
    if not f.data:
        raise EmptyFileError(f"Tệp «{f.name}» rỗng (0 byte). Vui lòng quét lại hoặc chọn đúng tệp.")
    if len(f.data) > limits.max_bytes:
        raise TooLargeError(
            f"Tệp «{f.name}» quá lớn ({len(f.data) / 1e6:.1f} MB, tối đa "
            f"{limits.max_bytes / 1e6:.0f} MB). Hãy quét ở 300 dpi hoặc chia thành nhiều tệp.",
            detail=f"{f.name}: {len(f.data)} bytes > {limits.max_bytes}",
        )
    kind = sniff_type(f.data)
    if kind is None:
        raise UnsupportedTypeError(
            f"Tệp «{f.name}» không phải ảnh JPEG, PNG, TIFF hay tệp PDF. Hãy quét lại và lưu đúng định dạng.",
            detail=f"{f.name}: unknown magic {f.data[:8]!r}",
        )
    return kind
