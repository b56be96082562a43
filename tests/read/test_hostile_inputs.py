"""Every file other projects keep to break readers ends as pages or as a coded refusal, within budget.

Parse level (check_file + load_document, no OCR) over ``../shared/odd-inputs`` (OCRmyPDF's test
resources, Pillow's odd images, RUB-NDS PDF101's bombs and loops), plus files made here: a deflate
bomb in a content stream, permission-only and password encryption. The same bombs and loops go
through the API and an RQ worker in ``tests/api/test_hostile_uploads.py``.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import EncryptedFileError, InputError, TooComplexError
from pipeline.models import SourceFile
from pipeline.read.load import LoadLimits, check_file, load_document
from tests.support.hostile import (
    ODD_INPUTS,
    PAGE_TREE_LOOP,
    deflate_bomb_pdf,
    encrypted_pdf,
    odd_input_files,
    scan_pdf,
)

LIMITS = LoadLimits()
MAX_RSS_BYTES = 1536 * 1024 * 1024  # the parent's peak, whatever the file


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _outcome(path: Path, limits: LoadLimits = LIMITS) -> tuple[str, float]:
    """The outcome ("read" or the refusal's code, and the seconds it took); anything else fails the test."""
    f = SourceFile(path.name, path.read_bytes())
    started = time.perf_counter()
    try:
        check_file(f, limits)
        pages = load_document([f], limits)
    except InputError as e:
        assert e.code.startswith("input.") and e.message, (path, e)
        return e.code, time.perf_counter() - started
    assert pages, path
    for p in pages:
        assert p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.shape[2] == 3, path
        assert min(p.image.shape[:2]) >= limits.min_side, path
    return "read", time.perf_counter() - started


def test_the_shared_suite_is_there() -> None:
    assert len(odd_input_files()) >= 200, f"missing files under {ODD_INPUTS}"


@pytest.mark.parametrize("path", odd_input_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_an_odd_file_is_read_or_refused_with_a_code(path: Path) -> None:
    # GIVEN a file from another project's test suite WHEN it is loaded THEN pages or a code, in budget
    code, seconds = _outcome(path)
    assert seconds < LIMITS.parse_timeout_s + 10, (path, code, seconds)
    assert _peak_rss_bytes() < MAX_RSS_BYTES


def test_the_page_tree_loop_is_refused_as_a_file_problem() -> None:
    code, _ = _outcome(PAGE_TREE_LOOP)
    assert code in ("input.corrupt", "input.too_complex")


@pytest.mark.slow
def test_a_deflate_bomb_is_too_complex_and_this_process_stays_small(tmp_path: Path) -> None:
    # GIVEN a 7-kB PDF whose content stream inflates to 4 GB (PDF101's kind; no header shows it)
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(deflate_bomb_pdf(4 << 30))
    assert bomb.stat().st_size < 20_000
    # WHEN it is loaded THEN it is refused with its own code and a clerk's message
    with pytest.raises(TooComplexError) as e:
        load_document([SourceFile("bomb.pdf", bomb.read_bytes())], LIMITS)
    assert e.value.code == "input.too_complex" and "quét lại" in e.value.message and "bomb.pdf" in e.value.message
    # AND this process never held the inflated bytes
    assert _peak_rss_bytes() < MAX_RSS_BYTES
    # AND the next document is read as usual
    assert len(load_document([SourceFile("scan.pdf", scan_pdf())], LIMITS)) == 1


def test_past_the_time_budget_is_too_complex() -> None:
    with pytest.raises(TooComplexError) as e:
        load_document([SourceFile("scan.pdf", scan_pdf(3))], LoadLimits(parse_timeout_s=0.01))
    assert "0.0 s" in (e.value.detail or "") or "0.01" in (e.value.detail or "")


def test_past_the_memory_budget_is_too_complex() -> None:
    # An A4 page at 600 dpi needs ~100 MB of pixels; a 32 MB budget cannot hold it.
    with pytest.raises(TooComplexError):
        load_document(
            [SourceFile("scan.pdf", scan_pdf(1))], LoadLimits(pdf_dpi=600, parse_memory_bytes=32 * 1024 * 1024)
        )


def test_permission_only_encryption_opens_as_a_reader_opens_it() -> None:
    # GIVEN an official letter's kind of PDF: AES, empty user password, an owner password for edits
    data = encrypted_pdf(scan_pdf(1), user="", owner="x")
    pages = load_document([SourceFile("cong-van.pdf", data)], LIMITS)
    assert len(pages) == 1 and pages[0].image.shape[2] == 3


def test_a_pdf_that_needs_a_password_to_open_is_encrypted() -> None:
    data = encrypted_pdf(scan_pdf(1), user="mat-khau", owner="x")
    with pytest.raises(EncryptedFileError) as e:
        load_document([SourceFile("bao-mat.pdf", data)], LIMITS)
    assert e.value.code == "input.encrypted" and "mật khẩu" in e.value.message


def test_in_process_decoding_maps_errors_too() -> None:
    """``sandbox=False`` (bytes we wrote ourselves) decodes alike and still raises only codes."""
    png = next(p for p in odd_input_files() if p.suffix == ".png")
    data = png.read_bytes()
    with pytest.raises(InputError):
        load_document([SourceFile("cut.png", data[: len(data) // 3])], LoadLimits(sandbox=False))
    assert len(load_document([SourceFile("scan.pdf", scan_pdf(1))], LoadLimits(sandbox=False))) == 1


def test_a_sandbox_that_cannot_start_is_not_blamed_on_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment fault (the child finds no Pillow) is a server error, never ``input.too_complex``."""
    from pipeline.errors import EcopyError
    from pipeline.read._exec import parse_sandbox

    monkeypatch.setitem(parse_sandbox._CHILD_ENV, "PYTHONPATH", str(parse_sandbox._PACKAGE_PARENT))
    with pytest.raises(EcopyError) as e:
        load_document([SourceFile("scan.pdf", scan_pdf(1))], LIMITS)
    assert not isinstance(e.value, InputError) and "did not start" in (e.value.detail or "")
