"""The one module that runs the ``tesseract`` binary.

Images go in through stdin as PNG and results come back on stdout, so no temporary files are
left behind by a crash. ``OMP_THREAD_LIMIT=1`` is set for the child only: with OpenMP threads a
page takes 6-7 s instead of <1 s on a 2-core worker, and parallelism belongs to worker processes.
Every failure leaves this module as an ``OcrError`` (or ``OcrTimeoutError``, which is retryable).
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import OcrError, OcrModelError, OcrTimeoutError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TesseractOptions:
    lang: str = "vie"
    oem: int = 1  # LSTM only: Debian's vie.traineddata is a tessdata_fast model
    psm: int = 3
    tessdata_dir: str | None = None
    timeout: float = 120.0  # seconds per call
    binary: str = "tesseract"


@dataclass(frozen=True)
class TsvWord:
    """One word row of tesseract's TSV output (level 5)."""

    block: int
    par: int
    line: int
    word: int
    left: int
    top: int
    width: int
    height: int
    conf: float  # 0..100
    text: str


@dataclass(frozen=True)
class Orientation:
    rotate: int  # clockwise degrees to turn the image so the text is upright
    confidence: float


def check_tessdata(tessdata_dir: str | Path, lang: str = "vie") -> None:
    """Refuse a tessdata folder tesseract cannot use as ecopy calls it.

    Without ``configs/tsv`` tesseract prints nothing and exits 0: every page would read as
    blank and the clerk be told to rescan. Raises ``OcrModelError`` naming what is missing.
    """
    folder = Path(tessdata_dir)
    missing = [
        name
        for name in (*(f"{code}.traineddata" for code in lang.split("+")), "configs/tsv", "osd.traineddata")
        if not (folder / name).is_file()
    ]
    if missing:
        raise OcrModelError(detail=f"tessdata folder {folder} lacks {', '.join(missing)} (see `make ocr-models`)")


def _encode_png(image: np.ndarray) -> bytes:
    arr = image
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", arr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise OcrError(detail="could not encode page image as PNG for tesseract")
    return buf.tobytes()


def _run(args: Sequence[str], image: np.ndarray, options: TesseractOptions) -> subprocess.CompletedProcess[bytes]:
    cmd = ["env", "OMP_THREAD_LIMIT=1", options.binary, "stdin", "stdout"]
    if options.tessdata_dir:
        cmd += ["--tessdata-dir", options.tessdata_dir]
    cmd += list(args)
    try:
        return subprocess.run(cmd, input=_encode_png(image), capture_output=True, timeout=options.timeout, check=True)
    except subprocess.TimeoutExpired as e:
        raise OcrTimeoutError(detail=f"tesseract took longer than {options.timeout:.0f}s: {cmd}") from e
    except subprocess.CalledProcessError as e:
        stderr = (e.stderr or b"").decode("utf-8", "replace").strip()
        raise OcrError(detail=f"tesseract exited with {e.returncode}: {stderr[-500:]}") from e
    except OSError as e:  # binary (or `env`) missing, not executable
        raise OcrError(detail=f"cannot run tesseract: {e}") from e


def image_to_words(image: np.ndarray, options: TesseractOptions, dpi: float | None = None) -> list[TsvWord]:
    """Words with boxes (pixel coords of ``image``) and confidences, in tesseract's reading order."""
    args = ["-l", options.lang, "--oem", str(options.oem), "--psm", str(options.psm)]
    if dpi:
        args += ["--dpi", str(round(dpi))]
    proc = _run([*args, "tsv"], image, options)
    return parse_tsv(proc.stdout.decode("utf-8", "replace"))


def parse_tsv(tsv: str) -> list[TsvWord]:
    words: list[TsvWord] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        if not text:
            continue
        try:
            words.append(
                TsvWord(
                    block=int(cols[2]),
                    par=int(cols[3]),
                    line=int(cols[4]),
                    word=int(cols[5]),
                    left=int(cols[6]),
                    top=int(cols[7]),
                    width=int(cols[8]),
                    height=int(cols[9]),
                    conf=float(cols[10]),
                    text=text,
                )
            )
        except ValueError:
            log.warning("unparsable tesseract tsv row: %r", row)
    return words


_ROTATE = re.compile(r"^Rotate:\s*(\d+)", re.M)
_ORIENT_CONF = re.compile(r"^Orientation confidence:\s*([\d.]+)", re.M)


def detect_orientation(image: np.ndarray, options: TesseractOptions, dpi: float | None = None) -> Orientation | None:
    """Tesseract OSD (``--psm 0``). None when the page has too little text to tell."""
    args = ["-l", "osd", "--psm", "0"]
    if dpi:
        args += ["--dpi", str(round(dpi))]
    try:
        proc = _run(args, image, options)
    except OcrError as e:
        if isinstance(e, OcrTimeoutError):
            raise
        # "Too few characters. Skipping this page" makes tesseract exit non-zero.
        log.info("orientation not detected: %s", e.detail)
        return None
    out = proc.stdout.decode("utf-8", "replace")
    rot, conf = _ROTATE.search(out), _ORIENT_CONF.search(out)
    if not rot:
        return None
    return Orientation(rotate=int(rot.group(1)) % 360, confidence=float(conf.group(1)) if conf else 0.0)
