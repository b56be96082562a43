"""Hand-over between the OCR job and the signing job: preprocessed pages as PNG, OCR as JSON.

The signer worker never parses the citizen's original file, only what our own OCR worker wrote.
"""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np

from pipeline.models import Box, OcrPage, OcrResult, Page, Word


def page_to_png(page: Page) -> bytes:
    img = page.image
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError(f"could not encode page {page.index}")
    return bytes(buf)


def page_meta(page: Page) -> dict[str, Any]:
    return {"index": page.index, "dpi": page.dpi, "source": page.source, "rotation": page.rotation, "skew": page.skew}


def page_from_png(data: bytes, meta: dict[str, Any]) -> Page:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ValueError("stored page image is unreadable")
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    return Page(
        index=int(meta["index"]),
        image=arr,
        dpi=meta.get("dpi"),
        source=meta.get("source", ""),
        rotation=int(meta.get("rotation", 0)),
        skew=float(meta.get("skew", 0.0)),
    )


def ocr_to_json(ocr: OcrResult) -> bytes:
    doc = {
        "engine": ocr.engine,
        "language": ocr.language,
        "pages": [
            {
                "index": p.index,
                "width": p.width,
                "height": p.height,
                "lines": list(p.lines),
                "words": [[w.text, w.confidence, w.box.x, w.box.y, w.box.w, w.box.h, w.line, w.block] for w in p.words],
            }
            for p in ocr.pages
        ],
    }
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def ocr_from_json(data: bytes) -> OcrResult:
    doc = json.loads(data)
    pages = tuple(
        OcrPage(
            index=p["index"],
            width=p["width"],
            height=p["height"],
            lines=tuple(p["lines"]),
            words=tuple(
                Word(text=t, confidence=c, box=Box(x, y, w, h), line=ln, block=b)
                for t, c, x, y, w, h, ln, b in p["words"]
            ),
        )
        for p in doc["pages"]
    )
    return OcrResult(pages=pages, engine=doc.get("engine", "tesseract"), language=doc.get("language", "vie"))
