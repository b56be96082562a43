"""Make a test corpus of scan conditions the generator does not produce.

    python -m ecopy.devtools.degrade SRC_CORPUS OUT_CORPUS --seed N [--profiles a,b] [--limit K]

Each chosen document of SRC (clean, low-res, office and rotated scans by default) becomes
``OUT/<doc_id>_<profile>/`` with the degraded scan and a copy of its ``truth.json`` whose
``profile``, ``doc_id``, ``files`` and ``dpi`` are the new ones. Profiles are assigned round-robin so
that every document type meets every profile. Deterministic for a given seed. A dev tool: it
reads ``truth.json``, which product code never does.
"""

from __future__ import annotations

import argparse
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image

PROFILES = ("photocopy_bw", "shadow", "jpeg_heavy", "skew_big", "fax_lowres", "blur_motion")
SOURCE_PROFILES = ("clean_300dpi", "low_res_200dpi", "office_scan", "rotated")


@dataclass
class Scan:
    """One degraded page: the image (grey or RGB uint8, or bool for bilevel), its dpi, how to save it."""

    image: np.ndarray
    dpi: float
    fmt: str  # "png", "jpg" or "tif"
    quality: int = 90


# ---- the profiles --------------------------------------------------------------------------------
def _grey(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def _resize(img: np.ndarray, scale: float) -> np.ndarray:
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def photocopy_bw(img: np.ndarray, dpi: float, rng: np.random.Generator) -> Scan:
    """Toner and glass: blur, grain, a dark copier edge, then one hard threshold (light copies lose thin strokes)."""
    g: np.ndarray = _grey(img).astype(np.float32)
    g = cv2.GaussianBlur(g, (0, 0), rng.uniform(0.6, 1.3) * dpi / 300)
    g += rng.normal(0, rng.uniform(8, 20), g.shape).astype(np.float32)
    edge = max(1, int(rng.uniform(0.005, 0.02) * g.shape[1]))  # the copier lid's dark band on one side
    band = np.zeros(g.shape, bool)
    side = int(rng.integers(4))
    if side == 0:
        band[:, :edge] = True
    elif side == 1:
        band[:, -edge:] = True
    elif side == 2:
        band[:edge, :] = True
    else:
        band[-edge:, :] = True
    g = np.where(band, g * 0.2, g)
    specks = rng.random(g.shape) < rng.uniform(0.0002, 0.0008)
    g[cv2.dilate(specks.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0] = 0
    threshold = rng.uniform(95, 150)  # low: a light copy, thin strokes drop out; high: a dark, blotchy one
    return Scan(g >= threshold, dpi, "png")


def shadow(img: np.ndarray, dpi: float, rng: np.random.Generator) -> Scan:
    """A phone's shadow: a soft dark band over part of the sheet plus a light gradient across it."""
    rgb = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    d = (xx - w / 2) * np.cos(theta) + (yy - h / 2) * np.sin(theta)
    edge = rng.uniform(-0.25, 0.25) * max(h, w)
    soft = rng.uniform(0.03, 0.12) * max(h, w)
    inside = 1.0 / (1.0 + np.exp(-(d - edge) / soft))  # 0 → 1 across the shadow's edge
    depth = rng.uniform(0.35, 0.6)
    light = 1.0 - depth * inside
    phi = rng.uniform(0, 2 * np.pi)
    ramp = ((xx - w / 2) * np.cos(phi) + (yy - h / 2) * np.sin(phi)) / max(h, w)
    light *= 1.0 - rng.uniform(0.05, 0.2) * (ramp + 0.5)
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 0.97)], np.float32)  # warm indoor light
    out = rgb.astype(np.float32) * light[..., None] * tint
    out += rng.normal(0, 3, out.shape).astype(np.float32)
    return Scan(np.clip(out, 0, 255).astype(np.uint8), dpi, "jpg", quality=int(rng.integers(70, 88)))


def jpeg_heavy(img: np.ndarray, dpi: float, rng: np.random.Generator) -> Scan:
    """Blocky JPEG at quality 12-25, often after a downscale to ~200 dpi (an e-mailed scan)."""
    if dpi >= 250 and rng.random() < 0.6:
        scale = rng.uniform(190, 210) / dpi
        img, dpi = _resize(img, scale), dpi * scale
    return Scan(img, round(dpi), "jpg", quality=int(rng.integers(12, 26)))


def skew_big(img: np.ndarray, dpi: float, rng: np.random.Generator) -> Scan:
    """A sheet laid 6-12° askew on the glass; the canvas grows so no text is cut off."""
    angle = rng.uniform(6, 12) * rng.choice([-1.0, 1.0])
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    fill = (int(rng.integers(200, 250)),) * (3 if img.ndim == 3 else 1)  # the scanner lid
    out = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_CUBIC, borderValue=fill)
    return Scan(out, dpi, "png")


def fax_lowres(img: np.ndarray, dpi: float, rng: np.random.Generator) -> Scan:
    """A 150-dpi bilevel fax (TIFF G4 for single pages, inside a PDF for letters)."""
    g = _resize(_grey(img), 150 / dpi).astype(np.float32)
    g += rng.normal(0, 6, g.shape).astype(np.float32)
    return Scan(g >= rng.uniform(120, 170), 150, "tif")


def blur_motion(img: np.ndarray, dpi: float, rng: np.random.Generator) -> Scan:
    """A hand that moved: a short linear blur in a random direction, then a phone JPEG."""
    length = max(3, round(float(rng.uniform(3, 6)) * dpi / 300))
    k: np.ndarray = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    out = cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))
    return Scan(out, dpi, "jpg", quality=int(rng.integers(75, 90)))


DEGRADE: dict[str, Callable[[np.ndarray, float, np.random.Generator], Scan]] = {
    "photocopy_bw": photocopy_bw,
    "shadow": shadow,
    "jpeg_heavy": jpeg_heavy,
    "skew_big": skew_big,
    "fax_lowres": fax_lowres,
    "blur_motion": blur_motion,
}


# ---- reading the source and writing the copy -----------------------------------------------------
def source_pages(folder: Path, truth: dict) -> list[tuple[np.ndarray, float]]:
    """Each page as (RGB or grey array, dpi). PDF pages: the embedded scan at its own resolution."""
    pages: list[tuple[np.ndarray, float]] = []
    for name in truth["files"]:
        path = folder / name
        if path.suffix.lower() == ".pdf":
            pdf = pdfium.PdfDocument(str(path))
            for page in pdf:
                images = [o for o in page.get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
                if len(images) == 1:
                    pil = images[0].get_bitmap(render=False).to_pil()
                    dpi = pil.width / (page.get_size()[0] / 72.0)
                else:
                    pil, dpi = page.render(scale=300 / 72).to_pil(), 300.0
                pages.append((np.asarray(pil.convert("RGB")), round(dpi)))
        else:
            with Image.open(path) as im:
                pages.append((np.asarray(im.convert("RGB")), float(truth.get("dpi") or 300)))
    return pages


def _pil(scan: Scan) -> Image.Image:
    return Image.fromarray(scan.image).convert("1") if scan.image.dtype == bool else Image.fromarray(scan.image)


def write_scans(out: Path, scans: list[Scan], as_pdf: bool) -> list[str]:
    if as_pdf:
        images = [_pil(s) for s in scans]
        # Pillow writes bilevel pages as CCITT G4 and others as JPEG (quality from the first scan).
        buf = io.BytesIO()
        extra = {} if images[0].mode == "1" else {"quality": scans[0].quality}
        images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=scans[0].dpi, **extra)
        (out / "scan.pdf").write_bytes(buf.getvalue())
        return ["scan.pdf"]
    scan, name = scans[0], f"scan.{scans[0].fmt}"
    kwargs: dict = {"dpi": (scan.dpi, scan.dpi)}
    if scan.fmt == "jpg":
        kwargs["quality"] = scan.quality
    elif scan.fmt == "tif":
        kwargs["compression"] = "group4"
    _pil(scan).save(out / name, **kwargs)
    return [name]


def degrade_document(folder: Path, out_root: Path, profile: str, seed: int) -> Path:
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng([seed, zlib.crc32(folder.name.encode()), PROFILES.index(profile)])
    scans = [DEGRADE[profile](img, dpi, rng) for img, dpi in source_pages(folder, truth)]
    doc_id = f"{folder.name}_{profile}"
    out = out_root / doc_id
    out.mkdir(parents=True, exist_ok=True)
    as_pdf = truth["files"][0].lower().endswith(".pdf") or len(scans) > 1
    files = write_scans(out, scans, as_pdf)
    truth.update(doc_id=doc_id, profile=profile, files=files, dpi=round(scans[0].dpi), source_doc=folder.name)
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def plan(src: Path, profiles: list[str], sources: list[str], limit: int | None) -> list[tuple[Path, str]]:
    """(source folder, profile) pairs: types taken in turn, profiles cycled, so type × profile is covered."""
    by_type: dict[str, list[Path]] = {}
    for folder in sorted(p for p in src.iterdir() if (p / "truth.json").is_file()):
        try:  # a corpus still being generated: truth.json is written last, perhaps right now
            truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        if truth.get("profile") in sources:
            by_type.setdefault(truth["doc_type"], []).append(folder)
    order: list[Path] = []
    queues = [list(v) for _, v in sorted(by_type.items())]
    while any(queues):
        order += [q.pop(0) for q in queues if q]
    pairs = [(folder, profiles[i % len(profiles)]) for i, folder in enumerate(order)]
    return pairs[:limit] if limit else pairs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--profiles", default=",".join(PROFILES))
    ap.add_argument("--sources", default=",".join(SOURCE_PROFILES), help="source profiles to degrade")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    profiles = [p for p in args.profiles.split(",") if p]
    unknown = set(profiles) - set(PROFILES)
    if unknown:
        ap.error(f"unknown profiles: {', '.join(sorted(unknown))} (known: {', '.join(PROFILES)})")
    for folder, profile in plan(args.src, profiles, args.sources.split(","), args.limit):
        print(degrade_document(folder, args.out, profile, args.seed))


if __name__ == "__main__":
    main()
