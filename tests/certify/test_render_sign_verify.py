"""Render → sign → verify against the real tools: pyHanko, poppler (pdfsig, pdffonts, pdftotext,
pdftoppm), qpdf, NSS certutil and zbar. No mocks: a real dev PKI, a real RFC 3161 TSA on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from ecopy.devtools.ports import free_port
from pipeline.certify.dev_pki import DevPki, cert_sha256, make_dev_pki
from pipeline.certify.pades import SigningKey, SignOptions, load_pkcs12_key, sign_pdf
from pipeline.certify.render import RenderOptions, render_ecopy
from pipeline.ecopy_file import DEV_ONLY_LINE, SIGNATURE_BOX
from pipeline.errors import SigningError, TimestampError
from pipeline.models import (
    Box,
    Certification,
    IssuedCopyInfo,
    OcrPage,
    OcrResult,
    Page,
    Word,
)
from pipeline.verify.verdict import read_embedded_ecopy_id, validate_signature, verify_pdf, verify_record
from tests.support.copies import sample_certification

NOTO = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
PASSWORD = b"ecopy-test"
ECOPY_ID = "9QHN-GRJ0-GDBM-3KX5-K"  # a well-formed ID (check symbol OK)
OFFICE = "UBND Phường Bến Nghé, Thành phố Hồ Chí Minh"
CREATED = dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC)
OCR_WORDS = ("GIẤY", "KHAI", "SINH", "Nguyễn", "Thị", "Ánh", "Tuyết")

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("qpdf", "pdfsig", "pdffonts", "pdftotext", "pdftoppm", "certutil")),
    reason="needs qpdf, poppler-utils and libnss3-tools",
)


def nfc_flat(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, check=False)


# ---- fixtures: synthetic scan, OCR result, certification facts --------------------------------
def _scan_with_words() -> tuple[Page, OcrPage]:
    """An A4 page at 150 dpi with a few Vietnamese words drawn in, plus a 'photo' area."""
    w, h = 1240, 1754
    img = Image.new("RGB", (w, h), (251, 249, 242))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(NOTO, 44)
    words: list[Word] = []
    x, y, line = 120, 200, 0
    for i, text in enumerate(OCR_WORDS):
        if i == 3:
            x, y, line = 120, 300, 1
        left, top, right, bottom = (round(v) for v in draw.textbbox((x, y), text, font=font))
        draw.text((x, y), text, font=font, fill=(20, 20, 20))
        words.append(Word(text, 0.93, Box(left, top, right - left, bottom - top), line=line))
        x = right + 30
    arr = np.array(img)
    yy, xx = np.mgrid[0:500, 0:700]
    arr[900:1400, 270:970] = np.stack([(xx // 3) % 256, (yy // 2) % 256, (xx + yy) % 256], -1).astype(np.uint8)
    lines = (" ".join(OCR_WORDS[:3]), " ".join(OCR_WORDS[3:]))
    return Page(0, arr, dpi=150), OcrPage(0, w, h, tuple(words), lines)


def _bilevel_page() -> Page:
    arr = np.full((1169, 827), 255, np.uint8)  # A4 at 100 dpi
    arr[100:110, 80:740] = 0
    arr[300:900:40, 80:740] = 0
    return Page(1, arr, dpi=100)


@pytest.fixture(scope="module")
def pages_and_ocr() -> tuple[list[Page], OcrResult]:
    page0, ocr0 = _scan_with_words()
    page1 = _bilevel_page()
    ocr1 = OcrPage(1, 827, 1169, (), ())
    return [page0, page1], OcrResult((ocr0, ocr1))


@pytest.fixture(scope="module")
def cert() -> Certification:
    return sample_certification(ECOPY_ID, OFFICE)


@pytest.fixture(scope="module")
def rendered(pages_and_ocr: tuple[list[Page], OcrResult], cert: Certification) -> bytes:
    pages, ocr = pages_and_ocr
    result = render_ecopy(pages, ocr, cert, RenderOptions(created_at=CREATED))
    assert result.signature_box == SIGNATURE_BOX and result.page_count == 3
    return result.pdf


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ecopy")


@pytest.fixture(scope="module")
def rendered_path(rendered: bytes, workdir: Path) -> Path:
    path = workdir / "rendered.pdf"
    path.write_bytes(rendered)
    return path


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(OFFICE, password=PASSWORD)


@pytest.fixture(scope="module")
def key(pki: DevPki) -> SigningKey:
    return load_pkcs12_key(pki.signer_p12, PASSWORD)


@pytest.fixture(scope="module")
def signed(rendered: bytes, key: SigningKey) -> bytes:
    return sign_pdf(rendered, key, SignOptions(location="Phường Bến Nghé, TP. Hồ Chí Minh"))


@pytest.fixture(scope="module")
def signed_path(signed: bytes, workdir: Path) -> Path:
    path = workdir / "signed.pdf"
    path.write_bytes(signed)
    return path


@pytest.fixture(scope="module")
def nssdb(pki: DevPki, workdir: Path) -> str:
    db = workdir / "nss"
    db.mkdir()
    (workdir / "root.pem").write_bytes(pki.root_cert_pem)
    assert run("certutil", "-N", "--empty-password", "-d", f"sql:{db}").returncode == 0
    added = run(
        "certutil",
        "-A",
        "-d",
        f"sql:{db}",
        "-n",
        "ecopy-dev-root",
        "-t",
        "CT,C,C",
        "-i",
        workdir / "root.pem",
    )
    assert added.returncode == 0, added.stderr
    return f"sql:{db}"


def _issued(signed: bytes, key: SigningKey, **changes: object) -> IssuedCopyInfo:
    info = IssuedCopyInfo(
        ecopy_id=ECOPY_ID,
        status="issued",
        sha256=hashlib.sha256(signed).hexdigest(),
        doc_type="birth_certificate",
        office=OFFICE,
        issued_at=dt.datetime.now(dt.UTC),
        signer_cert_sha256=key.cert_sha256,
    )
    return dataclasses.replace(info, **changes)  # type: ignore[arg-type]


def _registry(*infos: IssuedCopyInfo) -> Callable[[str], IssuedCopyInfo | None]:
    table = {i.sha256: i for i in infos}
    return table.get


# ---- render -------------------------------------------------------------------------------------
def test_rendered_pdf_passes_qpdf_check(rendered_path: Path) -> None:
    result = run("qpdf", "--check", rendered_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_font_is_embedded(rendered_path: Path, signed_path: Path) -> None:
    for path in (rendered_path, signed_path):
        rows = run("pdffonts", path).stdout.splitlines()[2:]
        assert rows, "expected fonts in the statement and the stamp"
        for row in rows:
            # name type [type2] encoding emb sub uni id gen: emb is the 5th field from the end
            assert row.split()[-5] == "yes", row


def test_rendered_pdf_is_pdfa_2b(rendered: bytes) -> None:
    with pikepdf.open(io.BytesIO(rendered)) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        assert ECOPY_ID in str(meta.get("dc:title"))
        intents = pdf.Root.OutputIntents
        assert intents[0].S == pikepdf.Name.GTS_PDFA1
        assert len(intents[0].DestOutputProfile.read_bytes()) > 100
        assert len(pdf.trailer.ID) == 2
        assert not pdf.is_encrypted
        assert "/OpenAction" not in pdf.Root and "/Names" not in pdf.Root
        assert len(pdf.pages) == 3  # two scans + certification page
    assert read_embedded_ecopy_id(rendered) == ECOPY_ID


def test_page_size_follows_pixels_and_dpi(rendered: bytes) -> None:
    with pikepdf.open(io.BytesIO(rendered)) as pdf:
        box0 = [float(v) for v in pdf.pages[0].MediaBox]
        box1 = [float(v) for v in pdf.pages[1].MediaBox]
    assert box0[2:] == pytest.approx([1240 * 72 / 150, 1754 * 72 / 150], abs=0.01)
    assert box1[2:] == pytest.approx([827 * 72 / 100, 1169 * 72 / 100], abs=0.01)


def test_statement_text_has_correct_diacritics(rendered_path: Path, cert: Certification) -> None:
    text = nfc_flat(run("pdftotext", "-f", "3", "-l", "3", rendered_path, "-").stdout)
    for expected in (
        "Chứng thực bản sao đúng với bản chính.",
        "Số chứng thực: 1.234 Quyển số: 01/2026 SCT/BS",
        "Ngày 05 tháng 03 năm 2026",
        "NGƯỜI THỰC HIỆN CHỨNG THỰC",
        "Trần Thị Ngọc Hương",
        "Phó Chủ tịch Ủy ban nhân dân phường",
        f"Mã bản sao điện tử: {ECOPY_ID}",
        cert.verify_url,
        DEV_ONLY_LINE,
        "Giấy khai sinh",
    ):
        assert nfc_flat(expected) in text, expected


def test_invisible_ocr_layer_is_searchable(rendered_path: Path) -> None:
    text = nfc_flat(run("pdftotext", "-f", "1", "-l", "1", rendered_path, "-").stdout)
    assert "GIẤY KHAI SINH" in text
    assert "Nguyễn Thị Ánh Tuyết" in text


def test_invisible_words_sit_on_their_boxes(rendered_path: Path, pages_and_ocr: tuple[list[Page], OcrResult]) -> None:
    html = run("pdftotext", "-bbox", "-f", "1", "-l", "1", rendered_path, "-").stdout
    found = re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)<', html)
    placed = {unicodedata.normalize("NFC", text): tuple(map(float, xy)) for *xy, text in found}
    scale = 72 / 150  # the synthetic scan is 150 dpi
    for word in pages_and_ocr[1].pages[0].words:
        x0, y0, x1, y1 = placed[word.text]
        box = word.box
        assert x0 == pytest.approx(box.x * scale, abs=0.5) and x1 == pytest.approx((box.x + box.w) * scale, abs=0.5)
        assert y1 == pytest.approx((box.y + box.h) * scale, abs=4) and y0 < (box.y + box.h) * scale


def test_qr_decodes_to_verify_url(rendered_path: Path, workdir: Path, cert: Certification) -> None:
    from pyzbar.pyzbar import decode

    prefix = workdir / "qr"
    assert run("pdftoppm", "-r", "150", "-f", "3", "-l", "3", "-png", rendered_path, prefix).returncode == 0
    image = Image.open(next(workdir.glob("qr*.png")))
    assert [d.data.decode() for d in decode(image)] == [cert.verify_url]


def test_dev_mark_is_visible_on_scanned_pages(rendered_path: Path, workdir: Path) -> None:
    """The red development line under page 1 must be painted, not left in invisible-text mode."""
    prefix = workdir / "page1"
    assert run("pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", rendered_path, prefix).returncode == 0
    band = np.asarray(Image.open(next(workdir.glob("page1*.png"))).convert("RGB"))[-12:].astype(int)
    red = (band[..., 0] > 150) & (band[..., 1] < 100) & (band[..., 2] < 100)
    assert red.sum() > 20


def test_render_is_deterministic(
    pages_and_ocr: tuple[list[Page], OcrResult], cert: Certification, rendered: bytes
) -> None:
    pages, ocr = pages_and_ocr
    assert render_ecopy(pages, ocr, cert, RenderOptions(created_at=CREATED)).pdf == rendered


# ---- sign ---------------------------------------------------------------------------------------
def test_signed_pdf_validates_with_pyhanko(signed: bytes, pki: DevPki, key: SigningKey) -> None:
    report = validate_signature(signed, [pki.root_cert_pem])
    assert report.bottom_line, report.problems
    assert report.intact and report.valid and report.trusted and report.covers_whole_file
    assert not report.modified_after_signing and not report.timestamped
    assert report.signer_cert_sha256 == key.cert_sha256 == cert_sha256(pki.signer_cert_pem)
    assert "NOT LEGALLY VALID" in report.signer_subject
    assert report.signing_time is not None


def test_signed_pdf_is_pades_and_stays_pdfa(signed: bytes) -> None:
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        field = pdf.Root.AcroForm.Fields[0]
        assert field.V.SubFilter == pikepdf.Name("/ETSI.CAdES.detached")
        flags = int(field.F)
        assert flags & 4 and not flags & (1 | 2 | 32)  # printed, not hidden: as PDF/A wants
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        # PDF/A: Info and XMP must agree after pyHanko's incremental update too
        assert str(pdf.docinfo.Producer) == meta["pdf:Producer"]
        assert str(pdf.docinfo.Title) == meta["dc:title"]
        modified = pikepdf.models.metadata.decode_pdf_date(str(pdf.docinfo.ModDate))
        assert modified == dt.datetime.fromisoformat(meta["xmp:ModifyDate"])
        rect = [float(v) for v in field.Rect]
        assert rect == [float(v) for v in SIGNATURE_BOX.rect]


def test_pdfsig_says_valid_and_total_document_signed(signed_path: Path, nssdb: str) -> None:
    out = run("pdfsig", "-nssdir", nssdb, signed_path).stdout
    assert "Signature is Valid" in out, out
    assert "Total document signed" in out, out
    assert "Certificate is Trusted" in out, out
    assert "ETSI.CAdES.detached" in out


def test_wrong_pkcs12_password_is_a_signing_error(pki: DevPki) -> None:
    with pytest.raises(SigningError):
        load_pkcs12_key(pki.signer_p12, b"wrong")


# ---- verify -------------------------------------------------------------------------------------
def test_genuine_copy_is_valid(signed: bytes, pki: DevPki, key: SigningKey) -> None:
    verdict = verify_pdf(signed, _registry(_issued(signed, key)), [pki.root_cert_pem])
    assert verdict.status == "valid", verdict.reasons
    assert verdict.ecopy_id == ECOPY_ID
    assert verdict.codes[:2] == ("hash.match", "signature.valid")
    assert len(verdict.codes) == len(verdict.reasons)


def test_one_flipped_byte_is_altered(signed: bytes, pki: DevPki, key: SigningKey) -> None:
    image_at = signed.index(b"/DCTDecode")
    data_at = signed.index(b"stream", image_at) + 5000
    tampered = bytearray(signed)
    tampered[data_at] ^= 0x01
    verdict = verify_pdf(bytes(tampered), _registry(_issued(signed, key)), [pki.root_cert_pem])
    assert verdict.status == "altered", verdict.reasons
    assert "hash.mismatch" in verdict.codes and "signature.not_intact" in verdict.codes
    assert verdict.ecopy_id == ECOPY_ID  # named from the file, as a hint
    assert verdict.signature is not None and not verdict.signature.intact


def test_appended_incremental_update_is_altered(signed: bytes, pki: DevPki, key: SigningKey) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    note = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Text"),
            generic.NameObject("/Rect"): generic.ArrayObject(map(generic.FloatObject, (50, 50, 80, 80))),
            generic.NameObject("/Contents"): generic.TextStringObject("Đã sửa ngày sinh"),
        }
    )
    page[generic.NameObject("/Annots")] = generic.ArrayObject([writer.add_object(note)])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(signed)

    report = validate_signature(updated, [pki.root_cert_pem])
    assert report.intact and report.trusted  # the signed revision itself is untouched …
    assert report.modified_after_signing and not report.covers_whole_file  # … but something was added
    verdict = verify_pdf(updated, _registry(_issued(signed, key)), [pki.root_cert_pem])
    assert verdict.status == "altered", verdict.reasons
    assert "signature.modified_after" in verdict.codes


def test_copy_signed_by_another_ca_is_unknown(rendered: bytes, signed: bytes, pki: DevPki, key: SigningKey) -> None:
    other = make_dev_pki("Văn phòng công chứng giả mạo", password=PASSWORD)
    other_key = load_pkcs12_key(other.signer_p12, PASSWORD)
    forged = sign_pdf(rendered, other_key)
    registry = _registry(_issued(signed, key))
    verdict = verify_pdf(forged, registry, [pki.root_cert_pem])
    assert verdict.status == "unknown", verdict.reasons
    assert "signature.foreign" in verdict.codes
    assert verdict.signature is not None and verdict.signature.intact and not verdict.signature.trusted
    # a signer we know by fingerprint (e.g. a retired office certificate) makes it "altered"
    known = verify_pdf(forged, registry, [pki.root_cert_pem], known_signer_fingerprints={other_key.cert_sha256})
    assert known.status == "altered"


def test_revoked_and_superseded_records(signed: bytes, pki: DevPki, key: SigningKey) -> None:
    roots = [pki.root_cert_pem]
    revoked = verify_pdf(signed, _registry(_issued(signed, key, status="revoked", revoked_reason="cấp nhầm")), roots)
    assert revoked.status == "revoked"
    assert revoked.codes == ("record.revoked",) and "cấp nhầm" in revoked.reasons[0]
    newer = "AAAA-BBBB-CCCC-DDDD-E"
    superseded = verify_pdf(signed, _registry(_issued(signed, key, status="superseded", superseded_by=newer)), roots)
    assert superseded.status == "revoked" and newer in superseded.reasons[0]


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not a pdf at all",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer <<>>\n%%EOF",
        b"\x00" * 4096,
    ],
)
def test_garbage_is_unknown_without_exception(garbage: bytes, pki: DevPki) -> None:
    verdict = verify_pdf(garbage, lambda _sha: None, [pki.root_cert_pem])
    assert verdict.status == "unknown"
    assert verdict.signature is not None and not verdict.signature.present
    assert read_embedded_ecopy_id(garbage) is None


def test_truncated_signed_file_does_not_raise(signed: bytes, pki: DevPki, key: SigningKey) -> None:
    verdict = verify_pdf(signed[: len(signed) // 2], _registry(_issued(signed, key)), [pki.root_cert_pem])
    assert verdict.status in ("unknown", "altered")


def test_verify_record_by_id(signed: bytes, key: SigningKey) -> None:
    assert verify_record(None, ECOPY_ID).status == "unknown"
    assert verify_record(_issued(signed, key), ECOPY_ID).status == "valid"
    assert verify_record(_issued(signed, key, status="revoked"), ECOPY_ID).status == "revoked"


# ---- B-T: an RFC 3161 time-stamp authority on loopback (the `tsa` fixture of conftest) ---------
def test_b_t_signature_is_timestamped(
    rendered: bytes, key: SigningKey, pki: DevPki, tsa: tuple[str, bytes], workdir: Path, nssdb: str
) -> None:
    url, tsa_root = tsa
    signed_bt = sign_pdf(rendered, key, SignOptions(timestamp_url=url))
    report = validate_signature(signed_bt, [pki.root_cert_pem, tsa_root])
    assert report.bottom_line and report.timestamped, report.problems
    assert "timestamp_untrusted" not in report.problems
    # without the TSA root the time-stamp is still there, just not vouched for
    assert "timestamp_untrusted" in validate_signature(signed_bt, [pki.root_cert_pem]).problems
    path = workdir / "signed-bt.pdf"
    path.write_bytes(signed_bt)
    assert "Signature is Valid" in run("pdfsig", "-nssdir", nssdb, path).stdout


def test_unreachable_tsa_is_a_retryable_timestamp_error(rendered: bytes, key: SigningKey) -> None:
    port = free_port()  # a port that was free a moment ago: nothing listens there
    with pytest.raises(TimestampError) as caught:
        sign_pdf(rendered, key, SignOptions(timestamp_url=f"http://127.0.0.1:{port}/tsa", timestamp_timeout=3))
    assert caught.value.retryable


def test_a_copy_stays_valid_after_its_signer_certificate_expires(rendered: bytes) -> None:
    """GIVEN a signer certificate that expired (issued 4 years ago, valid 3) WHEN the registry says
    the copy was issued while it was valid THEN the copy on record is still valid."""
    four_years_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=4 * 365)
    old_pki = make_dev_pki("UBND phường Cũ", password=b"pw", now=four_years_ago)
    old_key = load_pkcs12_key(old_pki.signer_p12, b"pw")
    signed_then = sign_pdf(rendered, old_key, SignOptions())
    on_record = dataclasses.replace(_issued(signed_then, old_key), issued_at=four_years_ago + dt.timedelta(days=1))
    assert verify_pdf(signed_then, _registry(on_record), [old_pki.root_cert_pem]).status == "valid"
    # checked at today's date, the same chain is out of its validity period
    assert not validate_signature(signed_then, [old_pki.root_cert_pem]).trusted
