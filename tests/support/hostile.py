"""Hostile files for the robustness tests: made here, and the shared suite of other projects' files.

The deflate bomb is built without ever holding its inflated bytes: zlib blocks made with a full
flush are byte-aligned and independent, so one block of 16 MiB of spaces is repeated and the
Adler-32 of the whole is computed in closed form. Wrapped in a second FlateDecode it is a few kB.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pikepdf
from PIL import Image

ODD_INPUTS = Path(__file__).resolve().parents[2].parent / "shared" / "odd-inputs"
# From RUB-NDS PDF101: a page tree whose /Kids lead back to itself.
PAGE_TREE_LOOP = ODD_INPUTS / "pdf101" / "dos__infinite-loop__A-dict-array-loops__A4-pages-tree-loop-complex.pdf"


def odd_input_files() -> list[Path]:
    """Every file of the shared suite (README and MANIFEST aside), sorted."""
    return sorted(p for p in ODD_INPUTS.rglob("*") if p.is_file() and p.name not in ("README.md", "MANIFEST.tsv"))


def flate_bomb(inflated: int, byte: int = 0x20) -> bytes:
    """A zlib stream that inflates to ``inflated`` bytes (rounded down to 16 MiB) of ``byte``."""
    chunk = bytes([byte]) * (1 << 24)
    n = max(1, inflated // len(chunk))
    c = zlib.compressobj(9)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)  # zlib header + one aligned block
    again = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)  # the same block with no header
    last = c.flush(zlib.Z_FINISH)[:-4]  # the empty final block, without its (wrong) checksum
    total = n * len(chunk)
    a = (1 + byte * total) % 65521
    b = (total + byte * (total * (total + 1) // 2)) % 65521
    return first + again * (n - 1) + last + ((b << 16) | a).to_bytes(4, "big")


def deflate_bomb_pdf(inflated: int = 4 << 30) -> bytes:
    """A one-page PDF of a few kB whose content stream inflates to ``inflated`` bytes (PDF101's kind)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    stream = pikepdf.Stream(pdf, zlib.compress(flate_bomb(inflated), 9))
    stream.Filter = pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.FlateDecode])
    pdf.pages[0].Contents = pdf.make_indirect(stream)
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()


def scan_pdf(pages: int = 1, size: tuple[int, int] = (827, 1169)) -> bytes:
    """An image-only A4 PDF at 100 dpi, as a scanner makes it."""
    frames = [Image.new("RGB", size, (255, 255, 255)) for _ in range(pages)]
    buf = io.BytesIO()
    frames[0].save(buf, format="PDF", save_all=True, append_images=frames[1:], resolution=100)
    return buf.getvalue()


def encrypted_pdf(plain: bytes, *, user: str, owner: str = "x") -> bytes:
    """``plain`` encrypted (AES-256, R=6); ``user=""`` is permission-only, as official letters are."""
    with pikepdf.open(io.BytesIO(plain)) as pdf:
        buf = io.BytesIO()
        pdf.save(buf, encryption=pikepdf.Encryption(owner=owner, user=user, R=6))
    return buf.getvalue()
