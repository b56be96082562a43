"""Loading scans: every refusal path and the page shapes that come out."""

from __future__ import annotations

import io

import numpy as np
import pikepdf
import pytest
from PIL import Image

from pipeline.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    PageTooSmallError,
    TooLargeError,
    TooManyPagesError,
    UnsupportedTypeError,
)
from pipeline.models import SourceFile
from pipeline.read.load import LoadLimits, load_document


def _image_bytes(fmt: str, size: tuple[int, int] = (240, 160), **kwargs: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _pdf_bytes(pages: int = 2) -> bytes:
    """An image-only PDF with ``pages`` A6 pages (what a scanner produces)."""
    frames = [Image.new("RGB", (413, 583), (255, 255, 255)) for _ in range(pages)]
    buf = io.BytesIO()
    frames[0].save(buf, format="PDF", save_all=True, append_images=frames[1:], resolution=100)
    return buf.getvalue()


LIMITS = LoadLimits()


def test_empty_file_is_refused_with_its_name() -> None:
    with pytest.raises(EmptyFileError) as e:
        load_document([SourceFile("mat-truoc.jpg", b"")], LIMITS)
    assert "mat-truoc.jpg" in e.value.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image_is_corrupt(fmt: str) -> None:
    # GIVEN a real image cut in half, as an interrupted upload leaves it
    data = _image_bytes(fmt, (600, 400))
    with pytest.raises(CorruptFileError) as e:
        load_document([SourceFile(f"scan.{fmt.lower()}", data[: len(data) // 2])], LIMITS)
    assert f"scan.{fmt.lower()}" in e.value.message
    assert e.value.__cause__ is not None


def test_truncated_pdf_is_corrupt() -> None:
    data = _pdf_bytes(1)
    with pytest.raises(CorruptFileError):
        load_document([SourceFile("scan.pdf", data[: len(data) // 2])], LIMITS)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("hop-dong.docx", b"PK\x03\x04" + b"\x00" * 100),
        ("ghi-chu.txt", "Giấy khai sinh".encode()),
        ("anh.gif", b"GIF89a" + b"\x00" * 100),
    ],
)
def test_unknown_type_is_unsupported(name: str, data: bytes) -> None:
    with pytest.raises(UnsupportedTypeError) as e:
        load_document([SourceFile(name, data)], LIMITS)
    assert name in e.value.message


def test_type_is_sniffed_not_taken_from_the_name() -> None:
    pages = load_document([SourceFile("scan.pdf", _image_bytes("PNG"))], LIMITS)
    assert pages[0].image.shape == (160, 240, 3)


def test_encrypted_pdf_is_refused() -> None:
    plain = pikepdf.open(io.BytesIO(_pdf_bytes(1)))
    buf = io.BytesIO()
    plain.save(buf, encryption=pikepdf.Encryption(owner="chu", user="mat-khau", R=6))
    with pytest.raises(EncryptedFileError):
        load_document([SourceFile("bao-mat.pdf", buf.getvalue())], LIMITS)


def test_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(TooLargeError):
        load_document([SourceFile("big.png", _image_bytes("PNG", (300, 300)))], LoadLimits(max_pixels=50_000))


def test_pdf_page_too_large_at_render_dpi_is_refused() -> None:
    with pytest.raises(TooLargeError):
        load_document([SourceFile("a6.pdf", _pdf_bytes(1))], LoadLimits(max_pixels=100_000, pdf_dpi=300))


def test_file_over_byte_limit_is_refused() -> None:
    with pytest.raises(TooLargeError):
        load_document([SourceFile("scan.png", _image_bytes("PNG"))], LoadLimits(max_bytes=100))


def test_too_many_pages_over_all_files() -> None:
    files = [SourceFile("p1.pdf", _pdf_bytes(2)), SourceFile("p2.pdf", _pdf_bytes(2))]
    with pytest.raises(TooManyPagesError):
        load_document(files, LoadLimits(max_pages=3))


def test_multipage_tiff_gives_every_frame() -> None:
    frames = [Image.new("L", (200, 100), v) for v in (0, 128, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    pages = load_document([SourceFile("scan.tif", buf.getvalue())], LIMITS)
    assert [p.index for p in pages] == [0, 1, 2]
    assert all(p.image.shape == (100, 200, 3) and p.image.dtype == np.uint8 for p in pages)
    assert [int(p.image[0, 0, 0]) for p in pages] == [0, 128, 255]
    assert pages[0].dpi == 300


def test_pdf_is_rasterised_at_the_configured_dpi() -> None:
    pages = load_document([SourceFile("scan.pdf", _pdf_bytes(2))], LoadLimits(pdf_dpi=200))
    assert len(pages) == 2
    # A page of 413x583 px at 100 dpi is 4.13x5.83 in: 826x1166 px at 200 dpi
    h, w, c = pages[0].image.shape
    assert abs(h - 1166) <= 1 and abs(w - 826) <= 1 and c == 3
    assert pages[0].dpi == 200
    assert pages[1].source == "scan.pdf"


def test_several_files_are_pages_in_order() -> None:
    files = [
        SourceFile("a.png", _image_bytes("PNG", (110, 110))),
        SourceFile("b.jpg", _image_bytes("JPEG", (220, 110))),
    ]
    pages = load_document(files, LIMITS)
    assert [(p.index, p.source, p.image.shape[1]) for p in pages] == [(0, "a.png", 110), (1, "b.jpg", 220)]


def test_a_sliver_is_not_a_page() -> None:
    with pytest.raises(PageTooSmallError, match="quá nhỏ") as e:
        load_document([SourceFile("thin.png", _image_bytes("PNG", (5000, 1)))], LIMITS)
    assert e.value.code == "input.page_too_small"
    with pytest.raises(TooLargeError):
        load_document([SourceFile("strip.png", _image_bytes("PNG", (40_000, 100)))], LIMITS)


def test_many_huge_frames_are_refused_from_the_headers_before_decoding() -> None:
    """A few hundred kB of Group-4 TIFF can describe gigapixels: the document budget refuses it."""
    frames = [Image.new("1", (4000, 3000), 1) for _ in range(6)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], compression="group4")
    assert len(buf.getvalue()) < 200_000
    with pytest.raises(TooLargeError, match="tổng số điểm ảnh"):
        load_document([SourceFile("archive.tif", buf.getvalue())], LoadLimits(max_total_pixels=50_000_000))
