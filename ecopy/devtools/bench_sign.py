"""Batch signing throughput: copies per second per signer process, beside bare pyHanko.

The issue asks for ≥ 10 copies per second per signer process when a signer approves a batch in
one token session. The headline row is the real library call behind ``ecopy sign --pending`` and
the API's "sign selected", :func:`workflow.signing.sign_approved`, over ``n`` approved intakes of an
already-read document in a temporary filesystem store and SQLite registry: per copy it loads the
page JPEG the OCR worker stored, renders the PDF/A with the certification page and a signed QR
payload, signs (PAdES B-B, visible Vietnamese stamp), runs the structure check, stores the copy
write-once and registers it. The baseline is a bare pyHanko B-B signature (no stamp, invisible
field) of the same rendered PDF with the same key, measured in the same process and run, so a
slow machine moves both numbers, not the ratio. ``render`` and ``sign_pdf`` alone are shown too.

Keys: the dev PKI's PKCS#12 and the same kind of key (EC P-256) on a SoftHSM2 token, opened once
for the whole batch (ecopy/devtools/softhsm.py provisions it; without softhsm2 that part is reported as
skipped). ``python -m ecopy.devtools.bench_sign [--n 40] [--no-pkcs11] [--no-ocr] [--scan PATH]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.certify.pades import SigningKey, SignOptions, load_pkcs12_key, sign_pdf
from pipeline.certify.render import RenderedEcopy, encode_page, render_ecopy
from pipeline.ecopy_file import NOTO_REGULAR
from pipeline.ecopy_id import new_ecopy_id
from pipeline.models import Certification, OcrResult, Page
from pipeline.read.doctypes import registry as doctypes

TARGET_PER_SECOND = 10.0
_REPO = Path(__file__).resolve().parents[2]
DEFAULT_SCAN = _REPO.parent / "shared" / "corpus" / "dev" / "dev_0001" / "scan.png"
_STAMP_OPTIONS = SignOptions(location="Phường Bến Nghé, TP. Hồ Chí Minh")

log = logging.getLogger(__name__)


# ---- inputs --------------------------------------------------------------------------------------
def _certification(doc_type: str) -> Certification:
    ecopy_id = new_ecopy_id()
    return Certification(
        ecopy_id=ecopy_id,
        verify_url=f"https://xacthuc.example.gov.vn/v/{ecopy_id}",
        office="UBND Phường Bến Nghé, Thành phố Hồ Chí Minh",
        certifier_name="Trần Thị Ngọc Hương",
        certifier_title="Phó Chủ tịch Ủy ban nhân dân phường",
        certified_on=dt.date.today(),
        certificate_number="1.234",
        book_number="01/2026",
        doc_type=doc_type,
        doc_title=doctypes.get(doc_type).label_vi,
        development_only=True,
    )


def _synthetic_page() -> Page:
    """An A4 page at 300 dpi, for when the dev corpus is not beside the repository."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (2480, 3508), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(NOTO_REGULAR, 48)
    for i in range(40):
        draw.text(
            (200, 300 + i * 75), f"Dòng {i + 1}: Giấy chứng nhận kết hôn — Nguyễn Thị Ánh Tuyết", font=font, fill=20
        )
    return Page(0, np.array(img), dpi=300)


def _document(scan: Path | None, with_ocr: bool) -> tuple[list[Page], OcrResult | None, str, dict[str, Any]]:
    """The pages (as the reader left them), their OCR (or None) and the document type."""
    from pipeline.models import SourceFile
    from pipeline.read.load import LoadLimits, load_document

    scan = scan if scan is not None else DEFAULT_SCAN
    info: dict[str, Any] = {"scan": str(scan)}
    if not scan.is_file():
        info.update(scan="synthetic A4 page, 300 dpi (no scan found)", ocr="none")
        return [_synthetic_page()], None, "marriage_certificate", info
    files = [SourceFile(scan.name, scan.read_bytes())]
    if with_ocr:
        from pipeline.read.reader import ReadOptions, read_document

        try:
            started = time.perf_counter()
            read = read_document(files, ReadOptions())
            words = sum(len(p.words) for p in read.ocr.pages)
            info.update(ocr=f"{words} words ({time.perf_counter() - started:.1f} s to read, not timed)")
            return list(read.pages), read.ocr, read.classification.doc_type, info
        except Exception as e:  # no tesseract here: measure without a text layer
            info.update(ocr=f"none (reading failed: {type(e).__name__}: {e})")
    else:
        info.update(ocr="none")
    return load_document(files, LoadLimits()), None, "marriage_certificate", info


def _dev_pkcs12() -> tuple[SigningKey, bytes]:
    from pipeline.certify.dev_pki import make_dev_pki

    password = b"bench-only"
    pki = make_dev_pki("UBND Phường Bến Nghé (bench)", password=password)
    return load_pkcs12_key(pki.signer_p12, password), pki.root_cert_pem


# ---- measuring -----------------------------------------------------------------------------------
def _measure(name: str, n: int, step: Callable[[int], object]) -> dict[str, Any]:
    """Wall time (what a signer waits for) and CPU time of this process (what the work costs: on a
    machine busy with other work the wall time grows, the CPU time much less)."""
    step(-1)  # warm-up: imports, font registration, first token round trip
    wall, cpu = [], []
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(n):
        t, c = time.perf_counter(), time.process_time()
        step(i)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    total, cpu_total = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "name": name,
        "n": n,
        "median_ms": round(statistics.median(wall) * 1000, 1),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "per_second": round(n / total, 2),
        "cpu_per_second": round(n / cpu_total, 2) if cpu_total > 0 else None,
    }


def _bare_pyhanko(pdf: bytes, key: SigningKey) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name="Sig", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    out = io.BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), meta, signer=key.signer, output=out)
    return out.getvalue()


def _approved_intakes(svc: Any, pages: list[Page], ocr: OcrResult | None, doc_type: str, n: int) -> list[str]:
    """``n`` intakes as the OCR worker leaves them (page PNG + JPEG, OCR JSON), approved by a signer."""
    import json
    import uuid

    from pipeline.certify.render import encode_page
    from workflow import serialize
    from workflow.lifecycle import IntakeStatus
    from workflow.signing import pages_prefix

    stored: list[tuple[str, bytes, str]] = []
    metas = []
    for page in pages:
        meta = serialize.page_meta(page)
        stored.append((f"page-{page.index:03d}.png", serialize.page_to_png(page), "image/png"))
        encoded = encode_page(page)
        if encoded is not None:
            stored.append((f"page-{page.index:03d}.jpg", encoded.jpeg, "image/jpeg"))
            meta["jpeg"] = True
        metas.append(meta)
    stored.append(("pages.json", json.dumps(metas).encode(), "application/json"))
    stored.append(("ocr.json", serialize.ocr_to_json(ocr or OcrResult(pages=())), "application/json"))
    ids = []
    for _ in range(n):
        intake_id = uuid.uuid4().hex
        svc.registry.create_intake(
            intake_id, office=svc.issuer.office, file_keys=[], file_names=[], status=IntakeStatus.QUEUED
        )
        for name, data, content_type in stored:
            svc.store.put(pages_prefix(intake_id) + name, data, content_type=content_type)
        svc.registry.update_intake(
            intake_id,
            status=IntakeStatus.SIGNING,
            doc_type=doc_type,
            page_count=len(pages),
            fields={"full_name": {"value": "NGUYỄN THỊ ÁNH TUYẾT", "confidence": 0.97}},
            approved_by="user:bench",
        )
        ids.append(intake_id)
    return ids


def _batch_row(
    label: str, key: SigningKey, pages: list[Page], ocr: OcrResult | None, doc_type: str, n: int
) -> dict[str, Any]:
    """``sign_approved`` over ``n`` approved intakes: the signer process's real per-copy work."""
    from pipeline.read.reader import ReadOptions
    from storage.objectstore import FilesystemStore
    from storage.registry import Registry
    from workflow.context import IssuerProfile, Services
    from workflow.signing import sign_approved

    with tempfile.TemporaryDirectory(prefix="ecopy-bench-sign-") as tmp:
        registry = Registry(f"sqlite:///{tmp}/registry.sqlite3")
        registry.migrate()
        svc = Services(
            store=FilesystemStore(Path(tmp) / "objects"),
            registry=registry,
            read_options=ReadOptions(),
            issuer=IssuerProfile(
                office="UBND Phường Bến Nghé, Thành phố Hồ Chí Minh",
                certifier_name="Trần Thị Ngọc Hương",
                certifier_title="Phó Chủ tịch Ủy ban nhân dân phường",
                public_url="https://xacthuc.example.gov.vn",
                development_only=True,
            ),
            sign_options=_STAMP_OPTIONS,
            signing_key=lambda: key,
        )
        warm, ids = _approved_intakes(svc, pages, ocr, doc_type, 1), _approved_intakes(svc, pages, ocr, doc_type, n)
        sign_approved(svc, warm)  # imports, fonts, the first registry writes
        started, cpu_started = time.perf_counter(), time.process_time()
        outcomes = sign_approved(svc, ids)
        total, cpu_total = time.perf_counter() - started, time.process_time() - cpu_started
        issued = sum(1 for o in outcomes if o.status == "issued")
        registry.close()
    return {
        "name": f"{label}: sign_approved (ecopy sign --pending), per copy",
        "n": n,
        "median_ms": round(total / n * 1000, 1),
        "cpu_median_ms": round(cpu_total / n * 1000, 1),
        "per_second": round(n / total, 2),
        "cpu_per_second": round(n / cpu_total, 2) if cpu_total > 0 else None,
        "issued": issued,
    }


def _key_rows(
    label: str,
    key: SigningKey,
    n: int,
    sample: RenderedEcopy,
    document: tuple[list[Page], OcrResult | None, str],
) -> list[dict[str, Any]]:
    baseline = _measure(f"{label}: bare pyHanko B-B, no stamp (baseline)", n, lambda _: _bare_pyhanko(sample.pdf, key))
    sign_only = _measure(
        f"{label}: sign_pdf alone (B-B + stamp)",
        n,
        lambda _: sign_pdf(sample.pdf, key, _STAMP_OPTIONS, signature_box=sample.signature_box),
    )
    batch = _batch_row(label, key, *document, n)
    rows = [baseline, sign_only, batch]
    for row in rows:
        row["key"] = label
        row["ratio_to_baseline"] = round(row["per_second"] / baseline["per_second"], 3)
    return rows


def run_sign_bench(
    n: int = 40, pkcs11: bool = True, *, scan: Path | None = None, with_ocr: bool = True
) -> dict[str, Any]:
    """Measure batch signing in this process; see the module docstring. Returns plain data."""
    for chatty in ("pipeline", "workers", "storage", "fontTools"):  # INFO lines per copy would skew timing
        logging.getLogger(chatty).setLevel(logging.WARNING)
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    pages, ocr, doc_type, document = _document(scan, with_ocr)

    def render() -> RenderedEcopy:
        return render_ecopy(pages, ocr, _certification(doc_type))

    sample = render()
    document.update(pages=len(pages), pdf_bytes=len(sample.pdf))
    result: dict[str, Any] = {"n": n, "target_per_second": TARGET_PER_SECOND, "document": document, "rows": []}
    rows: list[dict[str, Any]] = result["rows"]
    encoded = [encode_page(p) or p for p in pages]  # what the OCR worker stores for the signer
    rows.append(
        _measure(
            "render_ecopy alone (stored page JPEG)", n, lambda _: render_ecopy(encoded, ocr, _certification(doc_type))
        )
    )
    key, _root = _dev_pkcs12()
    rows.extend(_key_rows("PKCS#12", key, n, sample, (pages, ocr, doc_type)))
    result["pkcs11"] = {"status": "not requested"}
    if pkcs11:
        result["pkcs11"] = _token_rows(rows, n, sample, (pages, ocr, doc_type))
    result["meets_target"] = {
        row["name"]: row["per_second"] >= TARGET_PER_SECOND for row in rows if "sign_approved" in row["name"]
    }
    return result


def _token_rows(
    rows: list[dict[str, Any]], n: int, sample: RenderedEcopy, document: tuple[list[Page], OcrResult | None, str]
) -> dict[str, Any]:
    from pipeline.certify.pkcs11_token import open_pkcs11_key, pkcs11_sessions_opened

    try:
        from ecopy.devtools import softhsm

        missing = softhsm.softhsm_missing()
        if missing:
            return {"status": "skipped", "reason": missing}
        token = softhsm.dev_token("UBND Phường Bến Nghé (bench, SoftHSM2)")
    except Exception as e:
        return {"status": "skipped", "reason": f"{type(e).__name__}: {e}"}
    before = pkcs11_sessions_opened()
    with open_pkcs11_key(token.spec) as key:
        rows.extend(_key_rows("SoftHSM2", key.key, n, sample, document))
        signatures = key.signatures
    return {
        "status": "ok",
        "token": token.spec.token_label,
        "sessions_opened": pkcs11_sessions_opened() - before,
        "token_signatures": signatures,
    }


def print_sign_bench(result: dict[str, Any]) -> None:
    doc = result["document"]
    print(f"\nBatch signing, one process, {result['n']} copies per row (target ≥ {result['target_per_second']:g}/s)")
    print(f"  document: {doc['scan']}, {doc['pages']} page(s), OCR {doc['ocr']}, unsigned PDF {doc['pdf_bytes']} bytes")
    print(f"  {'step':56s} {'ms/copy':>8s} {'cpu ms':>7s} {'copies/s':>9s} {'cpu-bound/s':>11s} {'vs bare':>8s}")
    for row in result["rows"]:
        ratio = f"{row['ratio_to_baseline']:.2f}×" if "ratio_to_baseline" in row else ""
        extra = f"  ({row['issued']}/{row['n']} issued)" if "issued" in row else ""
        print(
            f"  {row['name']:56s} {row['median_ms']:8.1f} {row['cpu_median_ms']:7.1f} {row['per_second']:9.2f}"
            f" {row['cpu_per_second'] or 0:11.2f} {ratio:>8s}{extra}"
        )
    p11 = result.get("pkcs11", {})
    if p11.get("status") == "ok":
        print(
            f"  SoftHSM2 token {p11['token']}: {p11['sessions_opened']} session opened, "
            f"{p11['token_signatures']} signatures made on the token"
        )
    else:
        print(f"  PKCS#11 (SoftHSM2): {p11.get('status')}{' — ' + p11['reason'] if p11.get('reason') else ''}")
    for name, ok in result.get("meets_target", {}).items():
        print(f"  {'meets' if ok else 'BELOW'} target (wall clock): {name}")
    print("  cpu-bound/s: copies per second of CPU this process used, i.e. the rate on an otherwise idle core")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecopy.devtools.bench_sign", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="copies per row (default 40)")
    parser.add_argument("--no-pkcs11", action="store_true", help="skip the SoftHSM2 token rows")
    parser.add_argument("--no-ocr", action="store_true", help="no text layer (skips reading the scan)")
    parser.add_argument("--scan", type=Path, default=None, help=f"a scanned page (default {DEFAULT_SCAN})")
    args = parser.parse_args(argv)
    result = run_sign_bench(args.n, pkcs11=not args.no_pkcs11, scan=args.scan, with_ocr=not args.no_ocr)
    print_sign_bench(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
