"""Render the e-copy: page images + invisible OCR text + a certification page, as PDF/A-2b.

ReportLab draws the pages (it embeds TrueType subsets with ToUnicode maps, so Vietnamese text
stays searchable and copyable); pikepdf then adds what PDF/A-2b needs and ReportLab does not
write: XMP with the PDF/A identification, an sRGB OutputIntent and a document /ID.

The certification statement is always the **last page**, A4 portrait, with a fixed layout, so the
place left for the signature widget is a constant, :data:`pipeline.ecopy_file.SIGNATURE_BOX`, also returned in
:class:`RenderedEcopy` so callers need not know it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pikepdf
import qrcode
from PIL import Image, ImageCms
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from pipeline.ecopy_file import (
    DEV_ONLY_LINE,
    INFO_KEY_CERTIFICATE_NUMBER,
    INFO_KEY_ECOPY_ID,
    NOTO_BOLD,
    NOTO_REGULAR,
    SIGNATURE_BOX,
    XMP_ID_PREFIX,
    SignatureBox,
)
from pipeline.errors import RenderError
from pipeline.models import Certification, OcrPage, OcrResult, Page

log = logging.getLogger(__name__)

# Page images go into the PDF as binary JPEG streams. ReportLab's default wraps them in ASCII85,
# which without its C accelerator is pure Python: 0.6 s per 300 dpi page, most of a copy's cost.
rl_config.useA85 = 0


QR_MASK = 4
_PAGE_W, _PAGE_H = A4
_MARGIN = 56.0
_MAX_PAGE_PT = 14400.0  # PDF/A-2 implementation limit for a page side
_MIN_PAGE_PT = 3.0


QR_SIZE = 200.0  # points, quiet zone included (70.5 mm): see _draw_qr
QR_TOP = 456.0  # level with the top of "NGƯỜI THỰC HIỆN CHỨNG THỰC"


@dataclass(frozen=True)
class RenderedEcopy:
    """The unsigned e-copy and where its signature goes (pass both to ``sign_pdf``)."""

    pdf: bytes = field(repr=False)
    signature_box: SignatureBox = SIGNATURE_BOX
    page_count: int = 0  # pages in the PDF, certification page included


@dataclass(frozen=True)
class RenderOptions:
    font_path: str = NOTO_REGULAR
    bold_font_path: str = NOTO_BOLD
    default_dpi: float = 300.0  # when a Page does not know its resolution
    jpeg_quality: int = 80
    text_layer: bool = True
    created_at: dt.datetime | None = None  # None → now; fix it to get byte-identical output
    producer: str = "ecopy"


# ---- public entry point ---------------------------------------------------------------------
def render_ecopy(
    pages: Sequence[Page | EncodedPage],
    ocr: OcrResult | None,
    cert: Certification,
    options: RenderOptions = RenderOptions(),
) -> RenderedEcopy:
    """The unsigned e-copy as PDF/A-2b: scans, then the certification page (always last).

    Sign it with ``sign_pdf(rendered.pdf, key, options, signature_box=rendered.signature_box)``.
    """
    if not pages:
        raise RenderError(detail="no pages to render")
    try:
        regular = _register_font(options.font_path)
        bold = _register_font(options.bold_font_path)
    except Exception as e:  # TTFError, OSError
        raise RenderError(detail=f"cannot load font: {e}") from e
    created = options.created_at or dt.datetime.now(dt.UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    title = f"Bản sao điện tử {cert.ecopy_id} — {cert.doc_title}"

    buf = io.BytesIO()
    canvas = Canvas(buf, invariant=True, pageCompression=1, initialFontName=regular)
    ocr_pages = _match_ocr_pages(pages, ocr)
    try:
        for page, ocr_page in zip(pages, ocr_pages, strict=True):
            _draw_image_page(canvas, page, ocr_page, regular, bold, cert, options)
        _draw_certification_page(canvas, cert, len(pages), regular, bold)
        canvas.save()
    except RenderError:
        raise
    except Exception as e:
        raise RenderError(detail=f"drawing failed: {e}") from e
    try:
        pdf = _make_pdfa(buf.getvalue(), cert, title, created, options.producer)
    except Exception as e:
        raise RenderError(detail=f"PDF/A post-processing failed: {e}") from e
    log.info("rendered e-copy %s: %d page(s) + certification, %d bytes", cert.ecopy_id, len(pages), len(pdf))
    return RenderedEcopy(pdf=pdf, signature_box=SIGNATURE_BOX, page_count=len(pages) + 1)


# ---- fonts ------------------------------------------------------------------------------------
def _register_font(path: str) -> str:
    """Register a TrueType font once under a name derived from its path; return that name."""
    name = "Ecopy-" + hashlib.sha1(path.encode()).hexdigest()[:10]
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, path))
    return name


# ---- image pages ------------------------------------------------------------------------------
def _match_ocr_pages(pages: Sequence[Page | EncodedPage], ocr: OcrResult | None) -> list[OcrPage | None]:
    if ocr is None:
        return [None] * len(pages)
    by_index = {p.index: p for p in ocr.pages}
    if all(p.index in by_index for p in pages):
        return [by_index[p.index] for p in pages]
    if len(ocr.pages) == len(pages):  # indices disagree but order matches
        return list(ocr.pages)
    log.warning("OCR result does not match the pages (%d vs %d); no text layer", len(ocr.pages), len(pages))
    return [None] * len(pages)


def _to_pil(image: np.ndarray) -> Image.Image:
    if image.dtype != np.uint8:
        raise RenderError(detail=f"page image must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return Image.fromarray(image, mode="L")
    if image.ndim == 3 and image.shape[2] == 1:
        return Image.fromarray(image[:, :, 0], mode="L")
    if image.ndim == 3 and image.shape[2] == 3:
        return Image.fromarray(image, mode="RGB")
    if image.ndim == 3 and image.shape[2] == 4:
        return Image.fromarray(image, mode="RGBA").convert("RGB")  # PDF/A: no soft masks needed
    raise RenderError(detail=f"unsupported page image shape {image.shape}")


class _JpegReader(ImageReader):
    """A JPEG ReportLab passes through as DCT. ReportLab names each image by an MD5 of its decoded
    pixels (``getRGBData``), which decodes the whole page again (≈110 ms at 300 dpi); the
    compressed bytes name it just as uniquely, and are never used as pixels (JPEG goes through
    ``jpeg_fh``)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self._jpeg = data
        self._dataA = None  # no alpha: JPEG

    def getRGBData(self) -> bytes:  # ReportLab's name
        return self._jpeg


@dataclass(frozen=True)
class EncodedPage:
    """A page already encoded as the JPEG its e-copy embeds, made once where the page was read
    (:func:`encode_page`), so a signer process does not decode and re-encode every scan: with a
    signer's batch that was most of the time per copy. ``render_ecopy`` takes these or ``Page``s."""

    index: int
    jpeg: bytes = field(repr=False)
    width: int
    height: int
    dpi: float | None = None


def _bilevel(img: Image.Image) -> bool:
    return img.mode == "L" and img.getcolors(2) is not None


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def encode_page(page: Page, options: RenderOptions = RenderOptions()) -> EncodedPage | None:
    """The page as ``render_ecopy`` would embed it; None for a bilevel scan (embedded losslessly)."""
    img = _to_pil(page.image)
    if _bilevel(img):
        return None
    return EncodedPage(page.index, _jpeg(img, options.jpeg_quality), img.width, img.height, page.dpi)


def encoded_page(index: int, jpeg: bytes, dpi: float | None) -> EncodedPage:
    """An :class:`EncodedPage` from stored JPEG bytes; the size comes from the JPEG header."""
    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            if im.format != "JPEG":
                raise RenderError(detail=f"page {index}: stored page is {im.format}, not JPEG")
            width, height = im.size
    except RenderError:
        raise
    except Exception as e:
        raise RenderError(detail=f"page {index}: stored JPEG unreadable: {e}") from e
    return EncodedPage(index, jpeg, width, height, dpi)


def _image_reader(img: Image.Image, jpeg_quality: int) -> ImageReader:
    """JPEG for photos and grey scans (ReportLab passes JPEG through as DCT); lossless Flate
    for bilevel scans, where JPEG would smear the text edges and grow the file."""
    if _bilevel(img):
        return ImageReader(img)
    return _JpegReader(_jpeg(img, jpeg_quality))


def _page_size(width_px: int, height_px: int, dpi: float) -> tuple[float, float]:
    w, h = width_px * 72.0 / dpi, height_px * 72.0 / dpi
    shrink = max(w / _MAX_PAGE_PT, h / _MAX_PAGE_PT, 1.0)
    grow = max(_MIN_PAGE_PT / w, _MIN_PAGE_PT / h, 1.0)
    return w / shrink * grow, h / shrink * grow


def _draw_image_page(
    canvas: Canvas,
    page: Page | EncodedPage,
    ocr_page: OcrPage | None,
    regular: str,
    bold: str,
    cert: Certification,
    options: RenderOptions,
) -> None:
    if isinstance(page, EncodedPage):
        reader: ImageReader = _JpegReader(page.jpeg)
        width, height = page.width, page.height
    else:
        img = _to_pil(page.image)
        reader, (width, height) = _image_reader(img, options.jpeg_quality), img.size
    dpi = page.dpi if page.dpi and page.dpi > 0 else options.default_dpi
    w_pt, h_pt = _page_size(width, height, dpi)
    canvas.setPageSize((w_pt, h_pt))
    canvas.drawImage(reader, 0, 0, width=w_pt, height=h_pt)
    if options.text_layer and ocr_page is not None:
        canvas.saveState()  # the text render mode is graphics state: keep "invisible" local
        _draw_text_layer(canvas, ocr_page, width, height, w_pt, h_pt, regular)
        canvas.restoreState()
    if cert.development_only:
        size = max(6.0, min(10.0, w_pt / 60))
        canvas.setFillColorRGB(0.8, 0.0, 0.0)
        canvas.setFont(bold, size)
        canvas.drawCentredString(w_pt / 2, size * 0.6, f"{DEV_ONLY_LINE} · {cert.ecopy_id}")
    canvas.showPage()


def _draw_text_layer(
    canvas: Canvas,
    ocr_page: OcrPage,
    img_w: int,
    img_h: int,
    w_pt: float,
    h_pt: float,
    font: str,
) -> None:
    """Invisible text (render mode 3), each word stretched over its pixel box, so search,
    copy and screen readers find the words where the eye sees them."""
    src_w = ocr_page.width or img_w
    src_h = ocr_page.height or img_h
    sx, sy = w_pt / src_w, h_pt / src_h
    text = canvas.beginText()
    text.setTextRenderMode(3)
    for word in ocr_page.words:
        s = unicodedata.normalize("NFC", word.text).strip()
        box = word.box
        if not s or box.w <= 0 or box.h <= 0:
            continue
        size = max(box.h * sy, 1.0)
        natural = pdfmetrics.stringWidth(s, font, size)
        if natural <= 0:
            continue
        text.setFont(font, size)
        text.setHorizScale(100.0 * box.w * sx / natural)
        text.setTextOrigin(box.x * sx, h_pt - (box.y + box.h) * sy + 0.2 * size)
        text.textOut(s)
    canvas.drawText(text)


# ---- certification page -----------------------------------------------------------------------
def _vn_date(d: dt.date) -> str:
    return f"Ngày {d.day:02d} tháng {d.month:02d} năm {d.year:04d}"


def _draw_lines(
    canvas: Canvas,
    lines: Sequence[str],
    font: str,
    size: float,
    x: float,
    y: float,
    width: float,
    *,
    centred: bool,
    leading: float,
) -> float:
    """Draw wrapped lines from baseline ``y`` downwards (``x`` is the centre when ``centred``);
    return the next free baseline."""
    canvas.setFont(font, size)
    draw = canvas.drawCentredString if centred else canvas.drawString
    for line in lines:
        for part in simpleSplit(line, font, size, width) or [""]:
            draw(x, y, part)
            y -= size * leading
    return y


def _centered_lines(
    canvas: Canvas, lines: Sequence[str], font: str, size: float, cx: float, y: float, width: float
) -> float:
    return _draw_lines(canvas, lines, font, size, cx, y, width, centred=True, leading=1.35)


def _left_lines(
    canvas: Canvas, lines: Sequence[str], font: str, size: float, x: float, y: float, width: float
) -> float:
    return _draw_lines(canvas, lines, font, size, x, y, width, centred=False, leading=1.6)


def _draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """The QR as vector squares (crisp at any zoom, no image to compress), quiet zone included.

    Level Q (25% of the code words may be lost): the paper is printed, folded, stamped on and
    photographed by a phone. A sealed QR (URL + signed payload, ≈400 bytes) is version 19,
    93 modules: 0.73 mm each at :data:`QR_SIZE`. On simulated phone photos (perspective, a 6° turn,
    a shadow, noise, JPEG q60) it was read up to a blur of about half a module (σ 2.8 px at 200 dpi,
    2.0 px at 150 dpi); what limits reading is blur against module size, so the code is drawn large."""
    # A fixed mask: choosing the "best" of the 8 masks costs qrcode ≈60 ms at this size, a third of
    # a copy in a signer's batch; any mask decodes, and the photo tests read this one.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=2, mask_pattern=QR_MASK)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    cell = size / n
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    # One path of "re" operators, one run of dark modules each, written directly: ReportLab's
    # path object formats each of the ≈2000 rectangles through several calls (≈40 ms a page).
    runs: list[str] = []
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                runs.append(
                    f"{x + start * cell:.3f} {y + size - (r + 1) * cell:.3f} {(c - start) * cell:.3f} {cell:.3f} re"
                )
            else:
                c += 1
    canvas.addLiteral("\n".join([*runs, "f"]))


def _draw_certification_page(canvas: Canvas, cert: Certification, n_pages: int, regular: str, bold: str) -> None:
    canvas.setPageSize(A4)
    nfc = lambda s: unicodedata.normalize("NFC", s)  # noqa: E731
    left_cx, right_cx, col_w = 56 + 120, _PAGE_W - 56 - 120, 240.0
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setStrokeColorRGB(0, 0, 0)

    # header: issuing office | national motto
    y_left = _centered_lines(canvas, [nfc(cert.office).upper()], bold, 10.5, left_cx, 800, col_w)
    canvas.setLineWidth(0.6)
    canvas.line(left_cx - 40, y_left + 6, left_cx + 40, y_left + 6)
    _centered_lines(canvas, ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"], bold, 10.5, right_cx, 800, col_w + 20)
    y = _centered_lines(canvas, ["Độc lập - Tự do - Hạnh phúc"], bold, 10.5, right_cx, 786, col_w)
    canvas.line(right_cx - 70, y + 7, right_cx + 70, y + 7)

    y = _centered_lines(canvas, ["CHỨNG THỰC BẢN SAO ĐÚNG VỚI BẢN CHÍNH"], bold, 15, _PAGE_W / 2, 715, 480)
    if cert.development_only:
        canvas.setFillColorRGB(0.8, 0.0, 0.0)
        _centered_lines(canvas, [DEV_ONLY_LINE], bold, 12.5, _PAGE_W / 2, y - 4, 480)
        canvas.setFillColorRGB(0, 0, 0)

    doc_label = cert.doc_title
    body = [
        "Chứng thực bản sao đúng với bản chính.",
        f"Giấy tờ được chứng thực: {nfc(doc_label)}; bản sao gồm {n_pages} trang.",
        f"Số chứng thực: {nfc(cert.certificate_number)}    Quyển số: {nfc(cert.book_number)} SCT/BS",
        _vn_date(cert.certified_on),
        f"Nơi chứng thực: {nfc(cert.office)}",
    ]
    y = _left_lines(canvas, body, regular, 12, _MARGIN, 640, _PAGE_W - 2 * _MARGIN)
    canvas.setLineWidth(0.4)
    canvas.line(_MARGIN, y + 6, _PAGE_W - _MARGIN, y + 6)

    # right column: certifier and the place for the digital signature
    box = SIGNATURE_BOX
    sig_cx = (box.x1 + box.x2) / 2
    y = _centered_lines(canvas, ["NGƯỜI THỰC HIỆN CHỨNG THỰC"], bold, 11, sig_cx, 440, box.x2 - box.x1 + 20)
    y = _centered_lines(canvas, [nfc(cert.certifier_title)], regular, 10.5, sig_cx, y, box.x2 - box.x1 + 20)
    _centered_lines(canvas, ["(Chữ ký số và dấu điện tử)"], regular, 9, sig_cx, box.y2 + 8, box.x2 - box.x1)
    canvas.setDash(3, 3)
    canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
    canvas.rect(box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1, stroke=1, fill=0)
    canvas.setDash()
    canvas.setStrokeColorRGB(0, 0, 0)
    _centered_lines(canvas, [nfc(cert.certifier_name)], bold, 12, sig_cx, box.y1 - 18, box.x2 - box.x1 + 20)

    # left column: QR (its top level with the right column's heading) and the e-copy ID
    qr_x, qr_y = _MARGIN, QR_TOP - QR_SIZE
    _draw_qr(canvas, cert.qr_text or cert.verify_url, qr_x, qr_y, QR_SIZE)
    y = _left_lines(canvas, ["Mã bản sao điện tử:"], regular, 10, _MARGIN, qr_y - 16, 240)
    y = _left_lines(canvas, [cert.ecopy_id], bold, 13, _MARGIN, y + 2, 260)
    y = _left_lines(canvas, ["Kiểm tra tại:"], regular, 10, _MARGIN, y, 240)
    y = _left_lines(canvas, [cert.verify_url], regular, 8.5, _MARGIN, y + 4, 250)
    how = ["Quét mã QR hoặc nhập mã bản sao tại địa chỉ trên", "để kiểm tra bản sao điện tử này."]
    if "#" in cert.qr_text:  # a sealed QR: the office's signature is in it
        how.append("Mã QR có chữ ký số: kiểm tra được cả khi không có mạng.")
    _left_lines(canvas, how, regular, 9, _MARGIN, y, 250)

    canvas.setFillColorRGB(0.25, 0.25, 0.25)
    footer = [
        "Bản sao điện tử được ký số theo chuẩn PAdES. Mọi thay đổi tệp sau khi ký sẽ làm chữ ký mất hiệu lực;",
        "cơ quan tiếp nhận đối chiếu tệp với sổ đăng ký bằng mã bản sao hoặc mã QR.",
    ]
    _left_lines(canvas, footer, regular, 8, _MARGIN, 70, _PAGE_W - 2 * _MARGIN)
    if cert.development_only:
        canvas.setStrokeColorRGB(0.8, 0.0, 0.0)
        canvas.setLineWidth(2)
        canvas.rect(20, 20, _PAGE_W - 40, _PAGE_H - 40, stroke=1, fill=0)
    canvas.showPage()


# ---- PDF/A-2b ---------------------------------------------------------------------------------
@functools.cache
def _srgb_icc() -> bytes:
    """LittleCMS's built-in sRGB (ICC v4), with the header's creation time pinned so the same
    inputs give the same bytes; the profile ID (bytes 84–99) stays zero, i.e. "not computed"."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    icc[84:100] = bytes(16)
    return bytes(icc)


def _pdf_date(t: dt.datetime) -> str:
    off = t.utcoffset() or dt.timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return t.strftime("D:%Y%m%d%H%M%S") + (f"{sign}{hh:02d}'{mm:02d}'" if minutes else "Z")


def _make_pdfa(raw: bytes, cert: Certification, title: str, created: dt.datetime, producer: str) -> bytes:
    """Turn ReportLab's PDF into PDF/A-2b: Info and XMP in agreement, pdfaid, sRGB OutputIntent."""
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        info = pdf.make_indirect(pikepdf.Dictionary())
        info.Title = title
        info.Author = cert.office
        info.Subject = f"Chứng thực bản sao đúng với bản chính — số {cert.certificate_number}"
        info.Creator = "ecopy"
        info.Producer = producer
        info.CreationDate = _pdf_date(created)
        info.ModDate = _pdf_date(created)
        pdf.trailer.Info = info

        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta.load_from_docinfo(pdf.docinfo)
            meta["pdfaid:part"] = "2"
            meta["pdfaid:conformance"] = "B"
            meta["dc:identifier"] = XMP_ID_PREFIX + cert.ecopy_id
            meta["xmp:MetadataDate"] = created.isoformat()
        info[INFO_KEY_ECOPY_ID] = cert.ecopy_id  # after the XMP import: it has no XMP twin
        info[INFO_KEY_CERTIFICATE_NUMBER] = cert.certificate_number

        icc = pdf.make_stream(_srgb_icc())
        icc.N = 3
        intent = pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent,
            S=pikepdf.Name.GTS_PDFA1,
            OutputConditionIdentifier="sRGB IEC61966-2.1",
            RegistryName="http://www.color.org",
            Info="sRGB IEC61966-2.1",
            DestOutputProfile=icc,
        )
        pdf.Root.OutputIntents = pikepdf.Array([intent])
        pdf.Root.Lang = "vi-VN"
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, fix_metadata_version=False, min_version="1.7")
    return out.getvalue()
