"""The decoders that read an uploaded file's bytes into page pixels: the program the parse sandbox runs.

``python -m pipeline.read._exec.parse_child`` reads one request from stdin (a JSON header line, then
the file's bytes), limits itself (address space, CPU, core, file size) once its imports are done and
before it touches the bytes, decodes the file and writes each page as raw RGB bytes into the folder
the parent named, with one JSON event per line on stdout. :mod:`pipeline.read._exec.parse_sandbox`
starts it and turns what it reports (or how it died) into ``input.*`` errors.

numpy is deliberately not imported (only for the rare 16-bit greyscale image): it is two thirds of a
cold start, and the child is started once per file. :func:`parse` is also what runs in-process
when the sandbox is switched off (``LoadLimits.sandbox=False``), so both paths decode alike.

Every refusal here has a code; anything else a parser raises on bad bytes is ``input.corrupt``
(see :func:`main`), and a parser that dies or runs out of its budget is ``input.too_complex``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.errors import (
    CorruptFileError,
    EcopyError,
    EncryptedFileError,
    PageTooSmallError,
    TooComplexError,
    TooLargeError,
    TooManyPagesError,
)

Emit = Callable[[dict[str, Any]], None]
EXIT_OK = 0
EXIT_MEMORY = 3  # a MemoryError in Python: the budget, not a bug

_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}
_FPDF_ERR_PASSWORD = 4  # pdfium's "a password is required or incorrect"


@dataclass(frozen=True)
class ParseLimits:
    """The part of ``LoadLimits`` the decoders need (passed to the child as JSON)."""

    max_pixels: int = 60_000_000
    max_pages: int = 50
    max_total_pixels: int = 420_000_000
    min_side: int = 100
    max_side: int = 30_000
    pdf_dpi: int = 300

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ParseLimits:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Budget:
    """What the pages decoded so far (earlier files of the same document included) have used."""

    pages: int = 0
    pixels: int = 0

    def admit(self, name: str, w: int, h: int, limits: ParseLimits) -> None:
        """Refuse a page from its header size, before its pixels are decoded."""
        if w < limits.min_side or h < limits.min_side:
            raise PageTooSmallError(
                f"Trang trong tệp «{name}» quá nhỏ ({w}×{h} điểm ảnh) để là một bản quét. "
                "Hãy quét lại giấy tờ ở 300 dpi, đủ cả trang.",
                detail=f"{name}: page {w}x{h} < {limits.min_side} px",
            )
        if w * h > limits.max_pixels or max(w, h) > limits.max_side:
            raise too_many_pixels(name, (w, h), limits)
        if self.pixels + w * h > limits.max_total_pixels:
            raise TooLargeError(
                f"Tài liệu quá lớn (tính đến tệp «{name}»: tổng số điểm ảnh vượt giới hạn). "
                "Hãy quét ở 300 dpi hoặc chia thành các tài liệu nhỏ hơn.",
                detail=f"{self.pixels + w * h} > {limits.max_total_pixels} pixels in one document",
            )
        self.pixels += w * h
        self.pages += 1


def parse(name: str, kind: str, data: bytes, limits: ParseLimits, budget: Budget, out_dir: str, emit: Emit) -> None:
    """Decode ``data`` page by page into ``out_dir`` (raw RGB, one file a page); one event a page."""
    pages = _pdf_pages(name, data, limits, budget) if kind == "pdf" else _image_pages(name, kind, data, limits, budget)
    for n, (rgb, dpi) in enumerate(pages):
        path = os.path.join(out_dir, f"page-{budget.pages:04d}.rgb")
        _write_rgb(rgb, path)
        emit({"page": n, "w": rgb.size[0], "h": rgb.size[1], "dpi": dpi, "path": path})
        del rgb


def _write_rgb(rgb: Any, path: str) -> None:
    """The pixels in stripes of ~16 MB: a second full copy of a 60 Mpx page would cost 180 MB."""
    w, h = rgb.size
    step = max(1, (16 << 20) // (3 * w))
    with open(path, "wb") as out:
        for y in range(0, h, step):
            out.write(rgb.crop((0, y, w, min(h, y + step))).tobytes())


# ---- raster images ---------------------------------------------------------------------------
def _image_pages(
    name: str, kind: str, data: bytes, limits: ParseLimits, budget: Budget
) -> Iterator[tuple[Any, float | None]]:
    from PIL import Image, ImageOps

    corrupt = f"Tệp ảnh «{name}» bị hỏng hoặc không đầy đủ (có thể bị cắt ngang khi tải lên). Vui lòng quét lại."
    with warnings.catch_warnings():
        # Pillow only *warns* about a possible decompression bomb; make it an error we translate.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]])
            n_frames = int(getattr(im, "n_frames", 1)) if kind == "tiff" else 1
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise too_many_pixels(name, None, limits) from e
        except (MemoryError, EcopyError):
            raise
        except Exception as e:  # UnidentifiedImageError, OSError, SyntaxError, TypeError...: bad bytes
            raise CorruptFileError(corrupt, detail=f"{name}: {type(e).__name__}: {e}") from e
        with im:
            check_page_count(name, budget.pages + n_frames, limits)
            for frame_no in range(n_frames):
                try:
                    im.seek(frame_no)
                    frame = im
                    w, h = frame.size  # from the header: nothing decoded yet
                except (MemoryError, EcopyError):
                    raise
                except Exception as e:
                    raise CorruptFileError(corrupt, detail=f"{name} frame {frame_no}: {type(e).__name__}: {e}") from e
                budget.admit(name, w, h, limits)
                try:
                    frame.load()
                    # Phones store the orientation in EXIF instead of turning the pixels.
                    upright = ImageOps.exif_transpose(frame) if kind == "jpeg" else frame
                    rgb = _to_rgb(upright)
                except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
                    raise too_many_pixels(name, (w, h), limits) from e
                except (MemoryError, EcopyError):
                    raise
                except Exception as e:
                    raise CorruptFileError(corrupt, detail=f"{name} frame {frame_no}: {type(e).__name__}: {e}") from e
                yield rgb, _dpi_of(frame.info.get("dpi") or im.info.get("dpi"))
                del rgb, upright


def _to_rgb(im: Any) -> Any:
    from PIL import Image

    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Over white; pasted through the alpha channel rather than composited in RGBA, which held
        # three 4-byte copies of the page at once (a 60 Mpx page went past the memory budget).
        rgba = im if im.mode == "RGBA" else im.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
        return white
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        import numpy as np  # only here: a 16-bit scan is rare, numpy is most of a cold start

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
def _pdf_pages(name: str, data: bytes, limits: ParseLimits, budget: Budget) -> Iterator[tuple[Any, float | None]]:
    import pypdfium2 as pdfium

    corrupt = f"Tệp PDF «{name}» bị hỏng hoặc không đầy đủ (có thể bị cắt ngang khi tải lên). Vui lòng quét lại."
    # pdfium silently reconstructs a truncated file; a scan cut short would lose image data.
    if b"%%EOF" not in data[-2048:]:
        raise CorruptFileError(corrupt, detail=f"{name}: no %%EOF at end of file (truncated?)")
    try:
        # Opened as a reader does: an empty user password (permission-only encryption, common on
        # official letters) opens; only a file that needs a password to be read is refused.
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) == _FPDF_ERR_PASSWORD:
            raise encrypted(name) from e
        raise CorruptFileError(corrupt, detail=f"{name}: {e}") from e
    except (MemoryError, EcopyError):
        raise
    except Exception as e:
        raise CorruptFileError(corrupt, detail=f"{name}: {type(e).__name__}: {e}") from e
    try:
        n_pages = len(doc)
        if n_pages == 0:
            raise CorruptFileError(
                f"Tệp PDF «{name}» không có trang nào. Vui lòng quét lại.", detail=f"{name}: 0 pages"
            )
        check_page_count(name, budget.pages + n_pages, limits)
        scale = limits.pdf_dpi / 72.0
        for i in range(n_pages):
            page_name = f"{name} (trang {i + 1})"
            try:
                page = doc[i]
            except (MemoryError, EcopyError):
                raise
            except Exception as e:  # "Failed to load page": a page dict pdfium cannot use
                raise CorruptFileError(corrupt, detail=f"{name} page {i + 1}: {type(e).__name__}: {e}") from e
            try:
                w_pt, h_pt = page.get_size()
                if page.get_rotation() in (90, 270):
                    w_pt, h_pt = h_pt, w_pt
                w, h = round(w_pt * scale), round(h_pt * scale)
                budget.admit(page_name, w, h, limits)
                bitmap = page.render(scale=scale)
                rgb = bitmap.to_pil()
                if rgb.mode != "RGB":
                    rgb = rgb.convert("RGB")
            except (MemoryError, EcopyError):
                page.close()
                raise
            except Exception as e:
                page.close()
                raise CorruptFileError(corrupt, detail=f"{name} page {i + 1}: {type(e).__name__}: {e}") from e
            try:
                yield rgb, float(limits.pdf_dpi)  # may share the bitmap's buffer: closed only once written
            finally:
                del rgb
                bitmap.close()
                page.close()
    finally:
        doc.close()


# ---- messages --------------------------------------------------------------------------------
def check_page_count(name: str, total: int, limits: ParseLimits) -> None:
    if total > limits.max_pages:
        raise TooManyPagesError(
            f"Tài liệu có quá nhiều trang (tính đến tệp «{name}»: {total} trang, tối đa {limits.max_pages}). "
            "Hãy chia thành các tài liệu nhỏ hơn.",
            detail=f"{total} pages > {limits.max_pages}",
        )


def too_many_pixels(name: str, size: tuple[int, int] | None, limits: ParseLimits) -> TooLargeError:
    dims = f" ({size[0]}×{size[1]} điểm ảnh)" if size else ""
    return TooLargeError(
        f"Ảnh trong tệp «{name}» quá lớn{dims}. Hãy quét ở độ phân giải 300 dpi.",
        detail=f"{name}: {size} > {limits.max_pixels} pixels",
    )


def encrypted(name: str) -> EncryptedFileError:
    return EncryptedFileError(
        f"Tệp PDF «{name}» được đặt mật khẩu để mở. Hãy gỡ mật khẩu hoặc quét lại bản giấy.",
        detail=f"{name}: needs a password to open",
    )


def too_complex(name: str, why: str) -> TooComplexError:
    return TooComplexError(
        f"Tệp «{name}» quá phức tạp để đọc trong giới hạn bộ nhớ và thời gian cho phép (có thể là tệp lỗi "
        "hoặc tệp được tạo có chủ đích). Hãy quét lại bản giấy thành ảnh JPEG hoặc tệp PDF thông thường.",
        detail=f"{name}: {why}",
    )


# ---- the child process -----------------------------------------------------------------------
def _vm_size() -> int:
    """This process's current address space in bytes (the budget comes on top of it)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _limit_self(memory_bytes: int, cpu_seconds: int, max_file_bytes: int) -> None:
    import resource

    address_space = _vm_size() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))  # backstop if the parent died
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))  # one page, no more


def main() -> int:
    """Child entry point: header JSON line + file bytes on stdin, JSON events on stdout."""
    header_line = sys.stdin.buffer.readline()
    header = json.loads(header_line)
    kind = str(header["kind"])
    # The decoders are imported before the limits are set, so the budget is all the file's.
    if kind == "pdf":
        import pypdfium2  # noqa: F401
    import PIL.Image  # noqa: F401

    limits = ParseLimits.from_dict(header["limits"])
    _limit_self(int(header["memory_bytes"]), int(header["cpu_seconds"]), limits.max_pixels * 3 + 4096)

    def emit(event: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    emit({"ready": True})  # imports done and limits set: from here on, what happens is the file's doing
    data = sys.stdin.buffer.read()
    name = str(header["name"])

    budget = Budget(int(header["used_pages"]), int(header["used_pixels"]))
    try:
        parse(name, kind, data, limits, budget, str(header["out_dir"]), emit)
    except EcopyError as e:
        emit({"error": e.code, "message": e.message, "detail": e.detail or ""})
        return EXIT_OK
    except MemoryError:
        sys.stderr.write("MemoryError: memory limit reached\n")
        return EXIT_MEMORY
    except RecursionError as e:  # a nesting no scan has: treat as the budget
        emit({"error": TooComplexError.code, "message": too_complex(name, "").message, "detail": f"{name}: {e}"})
        return EXIT_OK
    except Exception as e:  # any other exception a parser raises on bad bytes: the file is corrupt
        err = CorruptFileError(
            f"Tệp «{name}» bị hỏng hoặc không đọc được. Vui lòng quét lại.", detail=f"{name}: {type(e).__name__}: {e}"
        )
        emit({"error": err.code, "message": err.message, "detail": err.detail or ""})
        return EXIT_OK
    emit({"done": True, "pages": budget.pages, "pixels": budget.pixels})
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
