"""Load uploaded scans into page images.

The type is sniffed from the bytes, never from the name: a clerk's "scan.pdf" may be a JPEG and an
attacker's "photo.jpg" may be anything. Sizes are checked from headers before anything is decoded,
so a decompression bomb is refused before it costs memory. PDF pages are rasterised; no PDF object
is carried over into the e-copy.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pikepdf
import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from pipeline.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    TooLargeError,
    TooManyPagesError,
    UnsupportedTypeError,
)
from pipeline.models import Page, SourceFile

log = logging.getLogger(__name__)

_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}
# What Pillow raises on a truncated or malformed image once it really decodes.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


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


@dataclass
class _Budget:
    """What the pages decoded so far have used of the document's limits."""

    pages: int = 0
    pixels: int = 0

    def admit(self, name: str, w: int, h: int, limits: LoadLimits) -> None:
        """Refuse a page from its header size, before its pixels are decoded."""
        if w < limits.min_side or h < limits.min_side:
            raise CorruptFileError(
                f"Trang trong tệp «{name}» quá nhỏ ({w}×{h} điểm ảnh) để là một bản quét. "
                "Hãy quét lại giấy tờ ở 300 dpi.",
                detail=f"{name}: page {w}x{h} < {limits.min_side} px",
            )
        if w * h > limits.max_pixels or max(w, h) > limits.max_side:
            raise _too_many_pixels(name, (w, h), limits)
        if self.pixels + w * h > limits.max_total_pixels:
            raise TooLargeError(
                f"Tài liệu quá lớn (tính đến tệp «{name}»: tổng số điểm ảnh vượt giới hạn). "
                "Hãy quét ở 300 dpi hoặc chia thành các tài liệu nhỏ hơn.",
                detail=f"{self.pixels + w * h} > {limits.max_total_pixels} pixels in one document",
            )
        self.pixels += w * h
        self.pages += 1


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
    """All pages of all files, in order, as RGB uint8 images."""
    pages: list[Page] = []
    budget = _Budget()
    for f in files:
        for image, dpi in _load_file(f, limits, budget):
            pages.append(Page(index=len(pages), image=image, dpi=dpi, source=f.name))
    log.info("loaded %d page(s) from %d file(s)", len(pages), len(files))
    return pages


def _load_file(f: SourceFile, limits: LoadLimits, budget: _Budget) -> Iterator[tuple[np.ndarray, float | None]]:
    kind = check_file(f, limits)
    if kind == "pdf":
        yield from _load_pdf(f, limits, budget)
    else:
        yield from _load_image(f, kind, limits, budget)


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


# ---- raster images ---------------------------------------------------------------------------
def _load_image(
    f: SourceFile, kind: str, limits: LoadLimits, budget: _Budget
) -> Iterator[tuple[np.ndarray, float | None]]:
    corrupt = f"Tệp ảnh «{f.name}» bị hỏng hoặc không đầy đủ (có thể bị cắt ngang khi tải lên). Vui lòng quét lại."
    with warnings.catch_warnings():
        # Pillow only *warns* about a possible decompression bomb; make it an error we translate.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(f.data), formats=[_PIL_FORMATS[kind]])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise _too_many_pixels(f.name, None, limits) from e
        except (UnidentifiedImageError, *_DECODE_ERRORS) as e:
            raise CorruptFileError(corrupt, detail=f"{f.name}: {e}") from e
        with im:
            n_frames = getattr(im, "n_frames", 1) if kind == "tiff" else 1
            _check_page_count(f.name, budget.pages + n_frames, limits)
            for frame_no, frame in enumerate(ImageSequence.Iterator(im)):
                if frame_no >= n_frames:
                    break
                w, h = frame.size  # from the header: nothing decoded yet
                budget.admit(f.name, w, h, limits)
                try:
                    frame.load()
                    # Phones store the orientation in EXIF instead of turning the pixels.
                    upright = ImageOps.exif_transpose(frame) if kind == "jpeg" else frame
                    arr = np.asarray(_to_rgb(upright), dtype=np.uint8).copy()
                except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
                    raise _too_many_pixels(f.name, (w, h), limits) from e
                except _DECODE_ERRORS as e:
                    raise CorruptFileError(corrupt, detail=f"{f.name} frame {frame_no}: {e}") from e
                yield arr, _dpi_of(frame.info.get("dpi") or im.info.get("dpi"))


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        hi = float(a.max()) or 1.0
        return Image.fromarray((a * (255.0 / hi)).astype(np.uint8), "L").convert("RGB")
    return im.convert("RGB")


def _dpi_of(value: object) -> float | None:
    try:
        dpi = float(value[0]) if isinstance(value, tuple) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return None
    if not 20.0 <= dpi <= 10_000.0:  # JFIF's "1" aspect-only placeholder and nonsense
        return None
    return float(round(dpi)) if abs(dpi - round(dpi)) < 0.05 else round(dpi, 1)


# ---- PDF -------------------------------------------------------------------------------------
def _load_pdf(f: SourceFile, limits: LoadLimits, budget: _Budget) -> Iterator[tuple[np.ndarray, float | None]]:
    corrupt = f"Tệp PDF «{f.name}» bị hỏng hoặc không đầy đủ (có thể bị cắt ngang khi tải lên). Vui lòng quét lại."
    try:
        with pikepdf.open(io.BytesIO(f.data)) as pdf:
            encrypted = pdf.is_encrypted
            n_pages = len(pdf.pages)
    except pikepdf.PasswordError as e:
        raise _encrypted(f.name) from e
    except pikepdf.PdfError as e:
        raise CorruptFileError(corrupt, detail=f"{f.name}: {e}") from e
    if encrypted:
        raise _encrypted(f.name)
    # qpdf silently reconstructs a truncated file; a scan cut short would lose image data.
    if b"%%EOF" not in f.data[-2048:]:
        raise CorruptFileError(corrupt, detail=f"{f.name}: no %%EOF at end of file (truncated?)")
    if n_pages == 0:
        raise CorruptFileError(f"Tệp PDF «{f.name}» không có trang nào. Vui lòng quét lại.")
    _check_page_count(f.name, budget.pages + n_pages, limits)

    try:
        doc = pdfium.PdfDocument(f.data)
    except pdfium.PdfiumError as e:
        raise CorruptFileError(corrupt, detail=f"{f.name}: {e}") from e
    try:
        scale = limits.pdf_dpi / 72.0
        for i in range(len(doc)):
            page = doc[i]
            try:
                w_pt, h_pt = page.get_size()
                if page.get_rotation() in (90, 270):
                    w_pt, h_pt = h_pt, w_pt
                w, h = round(w_pt * scale), round(h_pt * scale)
                budget.admit(f"{f.name} (trang {i + 1})", w, h, limits)
                bitmap = page.render(scale=scale)
                try:
                    arr = np.asarray(bitmap.to_pil().convert("RGB"), dtype=np.uint8).copy()
                finally:
                    bitmap.close()
            except pdfium.PdfiumError as e:
                raise CorruptFileError(corrupt, detail=f"{f.name} page {i + 1}: {e}") from e
            finally:
                page.close()
            yield arr, float(limits.pdf_dpi)
    finally:
        doc.close()


# ---- messages --------------------------------------------------------------------------------
def _check_page_count(name: str, total: int, limits: LoadLimits) -> None:
    if total > limits.max_pages:
        raise TooManyPagesError(
            f"Tài liệu có quá nhiều trang (tính đến tệp «{name}»: {total} trang, tối đa {limits.max_pages}). "
            "Hãy chia thành các tài liệu nhỏ hơn.",
            detail=f"{total} pages > {limits.max_pages}",
        )


def _too_many_pixels(name: str, size: tuple[int, int] | None, limits: LoadLimits) -> TooLargeError:
    dims = f" ({size[0]}×{size[1]} điểm ảnh)" if size else ""
    return TooLargeError(
        f"Ảnh trong tệp «{name}» quá lớn{dims}. Hãy quét ở độ phân giải 300 dpi.",
        detail=f"{name}: {size} > {limits.max_pixels} pixels",
    )


def _encrypted(name: str) -> EncryptedFileError:
    return EncryptedFileError(
        f"Tệp PDF «{name}» được đặt mật khẩu hoặc mã hóa. Hãy gỡ mật khẩu hoặc quét lại bản giấy."
    )
