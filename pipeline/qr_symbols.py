"""Decode the QR codes printed on a page (the CCCD's QR carries the card's data).

zbar (through pyzbar's bindings) reads the grey page; only when that finds nothing acceptable are
a few cheap variants tried (upscaled, sharpened, binarised, smoothed), so the usual card costs one
pass (10-90 ms). cv2.QRCodeDetector is not used: it missed several corpus cards that zbar reads.

A QR code carries bytes, not text. Left to itself zbar guesses the character set and often
guesses wrong on short Vietnamese texts: UTF-8 taken for Big5, Shift-JIS or ISO-8859-1 comes out
as mojibake ("Th獺i B穫nh", "Hu蘯ｿ", "LÃ½"). zbar is therefore asked for the raw bytes, which a
CCCD's QR code holds as UTF-8; with a zbar too old for that, :func:`payload_texts` undoes the
guess, and a caller's ``accept`` (the shape of the payload it expects) chooses between readings.
Nothing here raises on a bad image: a page whose code cannot be read yields no code, and the
document is read from its printed text.
The pixels come from an uploaded file, so each page's decoding is bounded in pixels and in time
(:data:`QR_MAX_PIXELS`, :data:`QR_TIME_BUDGET_S`).
"""

from __future__ import annotations

import ctypes
import logging
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from pyzbar import wrapper as zbar
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode_text

from pipeline.models import Box, Page

log = logging.getLogger(__name__)

# The character sets zbar may have taken UTF-8 bytes for (its text is then re-encoded as UTF-8).
# zbar 0.23 guesses Big5 or Shift-JIS for short Vietnamese texts: "Thái Bình" → "Th獺i B穫nh".
_MISREAD_AS = ("big5", "cp950", "big5hkscs", "shift_jis", "cp932", "latin-1", "cp1252")

# Upscaling a page bigger than this many pixels costs more than it can find.
_MAX_UPSCALE_PIXELS = 4_000_000
# The budget of one page's QR decoding: zbar's time and memory grow with the pixels it is given.
QR_MAX_PIXELS = 70_000_000  # above the loader's 60 Mpx page limit: a page it admits is scanned
QR_TIME_BUDGET_S = 5.0  # no new variant after this; a card's QR is read in 10-90 ms


@dataclass(frozen=True)
class QrCode:
    page: int
    texts: tuple[str, ...]  # readings of the payload (NFC), most likely first; never empty
    box: Box  # on the page image that was decoded

    @property
    def text(self) -> str:
        return self.texts[0]


def payload_texts(data: bytes, charset_guessed: bool = True) -> tuple[str, ...]:
    """The plausible readings of a QR payload as text, most likely first.

    ``charset_guessed``: ``data`` is zbar's text (UTF-8) after its guess at the charset, not the
    raw payload. When it had taken UTF-8 bytes for another character set, encoding its text back
    to that set gives the original bytes, which are then valid UTF-8 with multi-byte characters:
    that reading comes first. (Genuine Vietnamese text almost never survives that round trip:
    "Lý" in ISO-8859-1 is not valid UTF-8.)
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # not UTF-8 at all (a binary or legacy-encoded payload): keep every byte visible
        return (unicodedata.normalize("NFC", data.decode("latin-1")),)
    repaired: list[str] = []
    if charset_guessed and not text.isascii():
        for charset in _MISREAD_AS:
            try:
                original = text.encode(charset).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if original != text and not original.isascii():
                repaired.append(original)
    out: list[str] = []
    for t in (*repaired, text):
        t = unicodedata.normalize("NFC", t)
        if t not in out:
            out.append(t)
    return tuple(out)


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _otsu(grey: np.ndarray) -> np.ndarray:
    blurred = cv2.GaussianBlur(grey, (3, 3), 0)
    return cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]


def _sharpened(grey: np.ndarray) -> np.ndarray:
    """Unsharp mask: finder patterns whose edges a blur or an upscale softened."""
    return cv2.addWeighted(grey, 2.5, cv2.GaussianBlur(grey, (5, 5), 0), -1.5, 0)


def _variants(grey: np.ndarray) -> Iterator[tuple[str, np.ndarray, float]]:
    """The page as zbar first sees it, then the fallbacks, likeliest first; lazily.

    Each comes with its scale to the page. No turned variants: zbar finds a QR code at any angle
    (tried 0-45° on the corpus cards); what defeats it is small modules, noise and poor contrast.
    """
    yield "grey", grey, 1.0
    h, w = grey.shape
    if h * w <= _MAX_UPSCALE_PIXELS:  # small modules: a 200 dpi scan, a card far from the phone
        up = cv2.resize(grey, (w * 2, h * 2), interpolation=cv2.INTER_CUBIC)
        yield "x2", up, 2.0
        yield "x2 sharpened", _sharpened(up), 2.0  # ... and blurred too (out of focus, 100 dpi)
    yield "otsu", _otsu(grey), 1.0  # uneven light, a pale print
    yield "smooth", cv2.GaussianBlur(grey, (5, 5), 0), 1.0  # sensor noise, halftone, JPEG blocks
    if max(h, w) > 2400:  # a big photo: averaging pixels removes the noise that breaks the finder patterns
        s = 1600.0 / max(h, w)
        yield "small", cv2.resize(grey, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA), s


# ---- zbar -----------------------------------------------------------------------------------------
_ZBAR_CFG_BINARY = 4  # zbar >= 0.23: hand back the payload's bytes as they are, no charset guess
_Y800 = int.from_bytes(b"Y800", "little")  # 8-bit grey
_Symbol = tuple[bytes, Box, bool]  # payload, box on the decoded image, whether zbar guessed the charset


def _zbar_binary(grey: np.ndarray) -> list[_Symbol] | None:
    """The QR codes in ``grey`` with their raw payloads; None when this zbar has no binary mode.

    pyzbar's ``decode`` cannot switch that mode on, so this drives zbar through pyzbar's own
    ctypes bindings the way ``decode`` does.
    """
    pixels = np.ascontiguousarray(grey, dtype=np.uint8)  # referenced until the scan is done
    h, w = pixels.shape
    scanner = zbar.zbar_image_scanner_create()
    if not scanner:
        return None
    try:
        zbar.zbar_image_scanner_set_config(scanner, 0, zbar.ZBarConfig.CFG_ENABLE, 0)  # 0: every symbology
        zbar.zbar_image_scanner_set_config(scanner, ZBarSymbol.QRCODE, zbar.ZBarConfig.CFG_ENABLE, 1)
        if zbar.zbar_image_scanner_set_config(scanner, ZBarSymbol.QRCODE, _ZBAR_CFG_BINARY, 1) != 0:
            return None
        image = zbar.zbar_image_create()
        try:
            zbar.zbar_image_set_format(image, _Y800)
            zbar.zbar_image_set_size(image, w, h)
            zbar.zbar_image_set_data(image, pixels.ctypes.data_as(ctypes.c_void_p), pixels.nbytes, None)
            if zbar.zbar_scan_image(scanner, image) < 0:
                return None
            out: list[_Symbol] = []
            symbol = zbar.zbar_image_first_symbol(image)
            while symbol:
                data = ctypes.string_at(zbar.zbar_symbol_get_data(symbol), zbar.zbar_symbol_get_data_length(symbol))
                n = zbar.zbar_symbol_get_loc_size(symbol)
                xs = [zbar.zbar_symbol_get_loc_x(symbol, i) for i in range(n)] or [0]
                ys = [zbar.zbar_symbol_get_loc_y(symbol, i) for i in range(n)] or [0]
                out.append((data, Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)), False))
                symbol = zbar.zbar_symbol_next(symbol)
            return out
        finally:
            zbar.zbar_image_destroy(image)
    finally:
        zbar.zbar_image_scanner_destroy(scanner)


def _zbar(grey: np.ndarray) -> list[_Symbol]:
    """The QR codes in ``grey``: raw payloads if this zbar can, else its text (see payload_texts)."""
    found = _zbar_binary(grey)
    if found is not None:
        return found
    return [
        (s.data, Box(s.rect.left, s.rect.top, s.rect.width, s.rect.height), True)
        for s in zbar_decode_text(grey, symbols=[ZBarSymbol.QRCODE])
    ]


def _on_page(box: Box, scale: float, shape: tuple[int, ...]) -> Box:
    """A box found on a variant scaled by ``scale``, on the page."""
    h, w = shape[:2]
    x0, y0 = min(w, max(0, round(box.x / scale))), min(h, max(0, round(box.y / scale)))
    x1, y1 = min(w, round((box.x + box.w) / scale)), min(h, round((box.y + box.h) / scale))
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def decode_qr(
    image: np.ndarray,
    page: int = 0,
    accept: Callable[[str], bool] | None = None,
    fallbacks: bool = True,
    time_budget_s: float = QR_TIME_BUDGET_S,
) -> tuple[QrCode, ...]:
    """The QR codes on one page image. With ``accept``, only codes with an accepted reading
    (put first), and the fallbacks are tried until one is found; ``fallbacks=False``: the page
    as it is only (one zbar pass, tens of milliseconds). Never raises.

    The pixels come from an uploaded file, so the work is budgeted: a page over ``QR_MAX_PIXELS``
    is not scanned (the loader's page budget is larger), and no further variant is started once
    ``time_budget_s`` is spent (noise can make every zbar pass slow; the text is still read)."""
    started = time.perf_counter()
    found: tuple[QrCode, ...] = ()
    tried = 0
    try:
        grey = _grey(np.asarray(image))
        if grey.dtype != np.uint8 or grey.size == 0:
            return ()
        if grey.size > QR_MAX_PIXELS:
            log.info("page %d: %d pixels, over the QR budget: not scanned", page, grey.size)
            return ()
        for name, variant, scale in _variants(grey):
            if tried and time.perf_counter() - started > time_budget_s:
                log.info("page %d: QR time budget (%.1f s) spent after %d pass(es)", page, time_budget_s, tried)
                break
            tried += 1
            codes: list[QrCode] = []
            for data, box, guessed in _zbar(variant):
                texts = payload_texts(data, guessed)
                if accept is not None:
                    texts = tuple(t for t in texts if accepts(accept, t))
                    if not texts:
                        log.info("page %d: a QR code that is not the expected payload (%d bytes)", page, len(data))
                        continue
                codes.append(QrCode(page, texts, _on_page(box, scale, grey.shape)))
            if codes or not fallbacks:
                found = tuple(codes)
                if name != "grey":
                    log.info("page %d: QR read only on the %s variant", page, name)
                break
    except Exception:  # a QR code is a bonus: the printed text is still read
        log.warning("page %d: QR decoding failed", page, exc_info=True)
        return ()
    log.debug(
        "page %d: %d QR code(s) in %d pass(es), %.0f ms",
        page,
        len(found),
        tried,
        (time.perf_counter() - started) * 1000,
    )
    return found


def accepts(accept: Callable[[str], bool], text: str) -> bool:
    try:
        return bool(accept(text))
    except Exception:  # a faulty shape check rejects, it does not end the reading
        log.warning("QR payload check failed", exc_info=True)
        return False


def read_qr_codes(
    pages: Sequence[Page],
    accept: Callable[[str], bool] | None = None,
    fallbacks: bool = True,
    time_budget_s: float = QR_TIME_BUDGET_S,
) -> tuple[QrCode, ...]:
    """The QR codes of every page, in page order (see :func:`decode_qr`; the budget is per page)."""
    return tuple(code for p in pages for code in decode_qr(p.image, p.index, accept, fallbacks, time_budget_s))
