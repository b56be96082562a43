"""``make bench``: pages/min of the full pipeline beside bare Tesseract on the same pages, same run.

Figures are ratios against the baseline measured in the same run, so a slow machine shifts
both numbers and not the conclusion. Single process, OMP_THREAD_LIMIT=1 for both.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium

from ecopy.settings import Settings

SCAN_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf"}


def corpus_documents(corpus: Path, limit: int | None) -> list[list[Path]]:
    docs = []
    for d in sorted(p for p in corpus.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.suffix.lower() in SCAN_SUFFIXES)
        if files:
            docs.append(files)
    return docs[:limit] if limit else docs


def _page_images(files: list[Path], tmp: Path) -> list[Path]:
    """Pages as image files for bare tesseract (PDFs rasterised at 300 dpi, outside the timing)."""
    out: list[Path] = []
    for f in files:
        if f.suffix.lower() != ".pdf":
            out.append(f)
            continue
        pdf = pdfium.PdfDocument(str(f))
        for i in range(len(pdf)):
            target = tmp / f"{f.parent.name}-{i}.png"
            pdf[i].render(scale=300 / 72).to_pil().save(target)
            out.append(target)
    return out


def run(s: Settings, corpus: Path, *, limit: int | None = None) -> int:
    from ecopy import wiring
    from pipeline.models import SourceFile
    from pipeline.read import read_document
    from workers.issuing import IssueRequest, issue_ecopy

    docs = corpus_documents(corpus, limit)
    if not docs:
        print(f"no scans under {corpus}")
        return 1
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    with tempfile.TemporaryDirectory(prefix="ecopy-bench-") as tmpdir:
        tmp = Path(tmpdir)
        pages = [p for files in docs for p in _page_images(files, tmp)]
        t0 = time.perf_counter()
        for page in pages:
            subprocess.run(
                ["tesseract", str(page), "-", "-l", "vie", "--oem", "1"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        bare = time.perf_counter() - t0

        bench_settings = s.model_copy(
            update={"data_dir": tmp / "data", "database_url": None, "store": "fs", "tsa_url": None, "pkcs12_path": None}
        )
        svc = wiring.build_services(bench_settings, with_key=True)
        svc.signing_key and svc.signing_key()  # key loading is start-up work, not per page
        n_pages = 0
        stage = {"read": 0.0, "issue": 0.0}
        t0 = time.perf_counter()
        for files in docs:
            t = time.perf_counter()
            result = read_document([SourceFile(f.name, f.read_bytes()) for f in files], svc.read_options)
            stage["read"] += time.perf_counter() - t
            t = time.perf_counter()
            fields = result.fields.to_dict()
            issue_ecopy(
                IssueRequest(
                    pages=result.pages, ocr=result.ocr, doc_type=result.classification.doc_type, fields=fields
                ),
                svc,
            )
            stage["issue"] += time.perf_counter() - t
            n_pages += len(result.pages)
        full = time.perf_counter() - t0

    bare_ppm = len(pages) / bare * 60
    full_ppm = n_pages / full * 60
    print(f"documents: {len(docs)}   pages: {len(pages)} (bare) / {n_pages} (pipeline)   one process")
    print(f"bare tesseract -l vie --oem 1 : {bare_ppm:7.1f} pages/min  ({bare / len(pages):.2f} s/page)")
    print(f"ecopy full pipeline          : {full_ppm:7.1f} pages/min  ({full / n_pages:.2f} s/page)")
    print(
        f"  of which read (load+preprocess+ocr+classify+extract): {stage['read'] / n_pages:.2f} s/page, "
        f"issue (render+sign+store+registry): {stage['issue'] / n_pages:.2f} s/page"
    )
    print(f"ratio full/bare throughput    : {full_ppm / bare_ppm:.2f}")
    return 0
