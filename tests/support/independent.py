"""Check one issued e-copy with tools that are not ecopy: poppler, qpdf, OpenSSL, NSS.

:func:`check_issued_copy` returns the failures (empty = pass), each with the tool's own words.

What is checked
  * **Signatures** (poppler ``pdfsig`` through :func:`tests.support.pki.run_pdfsig`, an NSS database
    trusting the given roots, made once per set of roots): every CMS signature
    says "Signature is Valid". Every document time-stamp (``/ETSI.RFC3161``, B-LTA), which
    pdfsig 22.12 cannot validate ("Unable to validate this type of signature"), is checked by
    OpenSSL instead: ``openssl ts -verify`` of the token over the bytes of its ``/ByteRange``.
  * **Whole file signed**: the signature or time-stamp that reaches furthest says "Total document
    signed" (pdfsig compares its byte range with the file size). If the file goes on after it
    (pyHanko can append validation data after the last signature or time-stamp; our B-LT/B-LTA
    copies do not today), qpdf reads the document with and without that unsigned tail and they
    must be the same object for object (page content, images, fonts, fields, Info, XMP…) except
    the Root's ``/DSS``. Anything else in the tail is a failure.
  * **PDF/A-2b identification**: the XMP packet says ``pdfaid:part`` 2, ``pdfaid:conformance`` B
    (pikepdf), and the Root has an OutputIntent with a ``DestOutputProfile``.
  * **Fonts**: ``pdffonts`` lists at least one font and says ``emb yes`` for every font (pages and
    the signature's appearance).
  * **Syntax**: ``qpdf --check`` exits 0 (no errors, no warnings).
  * **Structure rules**: :func:`pipeline.certify.structure_gate.copy_structure_problems` is empty.

What is not checked (veraPDF is not available here): the rest of PDF/A-2b: colour spaces and
the OutputIntent's ICC profile contents, font metrics consistency (widths vs. the font program),
XMP schema validity and Info/XMP agreement, forbidden compression, transparency groups, and
so on. Certificate **trust** is only checked when asked (``require_trust``): pdfsig says
"Certificate is Trusted" for the embedded default's development PKI, but "Unknown issue with
Certificate or corrupted data" for certomancer chains (ENV-NOTES), so integrity is the rule and the
run-wide audit runs pdfsig with ``-no-ocsp`` (a test PKI's responders are gone by then).
Changes *between* two signatures (B-LTA: the time-stamp field and DSS added after the signature)
are judged by the structure rules, not compared here.
"""

from __future__ import annotations

import atexit
import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from pipeline.certify.structure_gate import copy_structure_problems
from tests.support.pki import run_pdfsig

TOOLS = ("pdfsig", "pdffonts", "qpdf", "certutil", "openssl")
TIMEOUT = 120

_WORKDIR = Path(tempfile.mkdtemp(prefix="ecopy-independent-"))
atexit.register(shutil.rmtree, _WORKDIR, True)


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=TIMEOUT, check=False)


# ---- pdfsig -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PdfsigSignature:
    number: int
    lines: tuple[str, ...]

    def value(self, label: str) -> str | None:
        for line in self.lines:
            if line.startswith(f"- {label}:"):
                return line.split(":", 1)[1].strip()
        return None

    @property
    def ranges(self) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in re.findall(r"\[(\d+) - (\d+)\]", self.value("Signed Ranges") or "")]

    @property
    def total(self) -> bool:
        return "- Total document signed" in self.lines

    @property
    def text(self) -> str:
        return f"Signature #{self.number}: " + "; ".join(line.lstrip("- ") for line in self.lines)


def pdfsig_signatures(output: str) -> list[PdfsigSignature]:
    """pdfsig's report, one entry per signature (in the order pdfsig lists them)."""
    sigs: list[PdfsigSignature] = []
    for raw in output.splitlines():
        m = re.match(r"Signature #(\d+):", raw)
        if m:
            sigs.append(PdfsigSignature(int(m.group(1)), ()))
        elif sigs and raw.strip().startswith("- "):
            sigs[-1] = PdfsigSignature(sigs[-1].number, (*sigs[-1].lines, raw.strip()))
    return sigs


# ---- the check --------------------------------------------------------------------------------------
def check_issued_copy(pdf: bytes, trust_roots: list[bytes], *, require_trust: bool = False) -> list[str]:
    """Failures of the independent checks (module docstring) on one issued copy; empty = pass."""
    missing = missing_tools()
    if missing:
        return [f"cannot run the independent check: missing {', '.join(missing)} (poppler-utils, qpdf, libnss3-tools)"]
    failures: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="copy-", dir=_WORKDIR))
    try:
        path = folder / "copy.pdf"
        path.write_bytes(pdf)
        failures += _check_signatures(pdf, trust_roots, require_trust, folder)
        failures += _check_pdfa(pdf)
        failures += _check_fonts(path)
        failures += _check_qpdf(path)
        failures += [f"structure rule {code}: {detail}" for code, detail in copy_structure_problems(pdf)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return failures


@dataclass(frozen=True)
class _SigField:
    name: str
    sub_filter: str
    byte_range: tuple[int, ...]
    contents: bytes


def _signature_fields(pdf: bytes) -> list[_SigField]:
    out: list[_SigField] = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        form = doc.Root.get("/AcroForm")
        fields = form.get("/Fields") if isinstance(form, pikepdf.Dictionary) else None
        for f in fields if isinstance(fields, pikepdf.Array) else []:
            v = f.get("/V") if isinstance(f, pikepdf.Dictionary) else None
            if isinstance(v, pikepdf.Dictionary) and "/ByteRange" in v:
                out.append(
                    _SigField(
                        name=str(f.get("/T", "")),
                        sub_filter=str(v.get("/SubFilter", "")),
                        byte_range=tuple(int(x) for x in v.ByteRange),
                        contents=bytes(v.get("/Contents", b"")),
                    )
                )
    return out


def _check_signatures(pdf: bytes, trust_roots: Sequence[bytes], require_trust: bool, folder: Path) -> list[str]:
    failures: list[str] = []
    # tests.support.pki: an NSS database per set of roots, cached. Integrity only → no OCSP requests: the
    # responders of a test PKI are gone by the end of the run (and trust is not judged anyway).
    output = run_pdfsig(pdf, trust_roots, *(() if require_trust else ("-no-ocsp",)))
    sigs = pdfsig_signatures(output)
    if not sigs:
        return [f"pdfsig finds no signature: {output.strip()}"]
    try:
        fields = _signature_fields(pdf)
    except pikepdf.PdfError as e:
        return [f"qpdf cannot read the signature fields: {e}"]
    timestamps = {f.byte_range: f for f in fields if f.sub_filter == "/ETSI.RFC3161"}
    for sig in sigs:
        ranges = sig.ranges
        key = tuple(x for a, b in ranges for x in (a, b - a))
        if key in timestamps:
            failures += _check_timestamp(pdf, timestamps[key], trust_roots, folder)
            continue
        verdict = sig.value("Signature Validation") or ""
        if verdict != "Signature is Valid.":
            failures.append(f"pdfsig: signature #{sig.number} is not valid: {sig.text}")
        elif require_trust and sig.value("Certificate Validation") != "Certificate is Trusted.":
            failures.append(f"pdfsig: signature #{sig.number} certificate not trusted: {sig.text}")
    if len(sigs) != len(fields):
        failures.append(f"pdfsig lists {len(sigs)} signatures, the AcroForm has {len(fields)} signed fields")
    last = max(sigs, key=lambda s: max((b for _a, b in s.ranges), default=0))
    end = max((b for _a, b in last.ranges), default=0)
    if not last.total:
        failures += _check_unsigned_tail(pdf, end, last)
    return failures


def _der_prefix(data: bytes) -> bytes:
    """The DER object at the start of ``data`` (a signature's /Contents is zero-padded)."""
    if len(data) < 2 or data[0] != 0x30:
        return data
    first = data[1]
    if first < 0x80:
        return data[: 2 + first]
    n = first & 0x7F
    return data[: 2 + n + int.from_bytes(data[2 : 2 + n], "big")]


def _check_timestamp(pdf: bytes, field: _SigField, trust_roots: Sequence[bytes], folder: Path) -> list[str]:
    """OpenSSL verifies the document time-stamp token over its byte ranges (imprint and signature).
    The token's own certificates are accepted as anchors (``-partial_chain``): integrity, not trust."""
    br = field.byte_range
    data = b"".join(pdf[br[i] : br[i] + br[i + 1]] for i in range(0, len(br), 2))
    token = folder / "token.der"
    token.write_bytes(_der_prefix(field.contents))
    (folder / "data.bin").write_bytes(data)
    certs = _run("openssl", "pkcs7", "-inform", "DER", "-in", token, "-print_certs")
    anchors = folder / "anchors.pem"
    anchors.write_bytes(b"\n".join([*trust_roots, certs.stdout.encode()]))
    done = _run(
        "openssl",
        "ts",
        "-verify",
        "-in",
        token,
        "-token_in",
        "-data",
        folder / "data.bin",
        "-CAfile",
        anchors,
        "-partial_chain",
    )
    if done.returncode != 0 or "Verification: OK" not in done.stdout:
        output = (done.stdout + done.stderr).strip().replace("\n", " | ")
        return [f"openssl ts -verify: document time-stamp {field.name!r} fails: {output}"]
    return []


def _check_unsigned_tail(pdf: bytes, end: int, last: PdfsigSignature) -> list[str]:
    """After the last signature: only a DSS update (validation data), nothing a reader would see."""
    if end <= 0 or end > len(pdf):
        return [f"pdfsig: last signature has no usable byte range: {last.text}"]
    try:
        with pikepdf.open(io.BytesIO(pdf[:end])) as signed, pikepdf.open(io.BytesIO(pdf)) as whole:
            diffs = list(_differences(signed.Root, whole.Root, "Root", skip_top={"/DSS"}))
            diffs += _differences(signed.trailer.get("/Info"), whole.trailer.get("/Info"), "Info")
    except pikepdf.PdfError as e:
        return [f"qpdf cannot read the signed part ({end} bytes) or the whole file: {e}"]
    if diffs:
        shown = "; ".join(diffs[:5]) + (f"; … {len(diffs) - 5} more" if len(diffs) > 5 else "")
        return [
            f"pdfsig: 'Not total document signed' ({len(pdf) - end} bytes after the last signature) and that tail "
            f"changes more than the DSS: {shown} [{last.text}]"
        ]
    return []


def _differences(a: object, b: object, where: str, skip_top: frozenset[str] | set[str] = frozenset()) -> Iterator[str]:
    """Where two object graphs differ, compared by value (qpdf's view); ``skip_top``: keys of the
    top dictionary left out (the Root's /DSS)."""
    seen: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    stack: list[tuple[object, object, str]] = [(a, b, where)]
    while stack:
        x, y, at = stack.pop()
        if not isinstance(x, pikepdf.Object) or not isinstance(y, pikepdf.Object):
            if x != y:
                yield f"{at}: {x!r} became {y!r}"
            continue
        if x.is_indirect and y.is_indirect:
            pair = (x.objgen, y.objgen)
            if pair in seen:
                continue
            seen.add(pair)
        if x._type_code != y._type_code:
            yield f"{at}: {x._type_code} became {y._type_code}"
        elif isinstance(x, (pikepdf.Dictionary, pikepdf.Stream)):
            if isinstance(x, pikepdf.Stream) and x.read_raw_bytes() != y.read_raw_bytes():
                yield f"{at}: stream data changed"
            skip = skip_top if at == where else frozenset()
            kx, ky = set(x.keys()) - skip, set(y.keys()) - skip
            if kx != ky:
                yield f"{at}: keys {sorted(kx ^ ky)} added or removed"
            stack.extend((x[k], y[k], f"{at}{k}") for k in sorted(kx & ky))
        elif isinstance(x, pikepdf.Array):
            if len(x) != len(y):
                yield f"{at}: array length {len(x)} became {len(y)}"
            else:
                stack.extend((x[i], y[i], f"{at}[{i}]") for i in range(len(x)))
        elif x.unparse() != y.unparse():
            yield f"{at}: {x.unparse()!r} became {y.unparse()!r}"


def _check_pdfa(pdf: bytes) -> list[str]:
    failures: list[str] = []
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            meta = doc.open_metadata()
            part, conformance = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
            if (part, conformance) != ("2", "B"):
                failures.append(f"XMP PDF/A identification is part={part!r} conformance={conformance!r}, not 2/B")
            intents = doc.Root.get("/OutputIntents")
            if not isinstance(intents, pikepdf.Array) or not any(
                isinstance(i, pikepdf.Dictionary) and "/DestOutputProfile" in i for i in intents
            ):
                failures.append("no OutputIntent with a DestOutputProfile (PDF/A needs one)")
    except Exception as e:  # pikepdf raises several types on broken XMP
        failures.append(f"cannot read the XMP metadata: {type(e).__name__}: {e}")
    return failures


def _check_fonts(path: Path) -> list[str]:
    done = _run("pdffonts", path)
    if done.returncode != 0:
        return [f"pdffonts exit {done.returncode}: {done.stderr.strip()}"]
    lines = done.stdout.splitlines()
    if len(lines) < 3 or not lines[1].startswith("---"):
        return [f"pdffonts lists no fonts: {done.stdout.strip()!r}"]
    # column spans from the dashes line: name, type, encoding, emb, sub, uni, object ID
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[1])]
    emb_col = 3
    bad = []
    for line in lines[2:]:
        if not line.strip():
            continue
        cols = [line[s:e].strip() for s, e in spans[:-1]] + [line[spans[-1][0] :].strip()]
        if cols[emb_col] != "yes":
            bad.append(line.strip())
    return [f"pdffonts: font not embedded: {line}" for line in bad]


def _check_qpdf(path: Path) -> list[str]:
    done = _run("qpdf", "--check", path)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().replace("\n", " | ")
        return [f"qpdf --check exit {done.returncode}: {output}"]
    return []
