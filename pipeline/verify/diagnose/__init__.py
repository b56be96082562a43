"""Why a PDF is not an issued copy: a structural diagnosis that does not take pyHanko's word for it.

The verdict itself never depends on this module: a file whose SHA-256 is not on record is not an
issued copy. The diagnosis only says *why*, and whether the file carries one of our signatures
(then it is an altered copy, otherwise an unknown file). pyHanko alone answers "valid" for
some tampered files (junk after ``%%EOF``: coverage ENTIRE_REVISION, level NONE; a metadata-only
update: ENTIRE_REVISION, LTA_UPDATES; a form filled under an approval signature: FORM_FILLING),
so the raw structure is checked here: each signature's /ByteRange against the bytes, its
/SubFilter and /Contents, bytes after the last ``%%EOF``, and what every revision after the
first signature changes (page content, annotations, form fields, metadata, or only validation
data: DSS and document time-stamps, as PAdES B-LTA and re-time-stamped copies have).

Uploaded files are hostile. :func:`diagnose` therefore runs :func:`examine` in a child process
(``python -m pipeline.verify.diagnose``, the PDF on stdin, one JSON event per line on stdout) with a
wall-clock limit and an address-space limit (RLIMIT_AS, plus RLIMIT_CPU as a backstop, set by the
child on itself once its imports are done and before it parses the PDF: no ``preexec_fn``, which
is unsafe in a threaded parent such as a FastAPI worker thread; the child is started by
``subprocess`` with fork+exec in C, safe from threads and from an RQ work-horse). At most
``max(2, cpu_count)`` children run at once per process. A child stopped by a limit still yields
a :class:`Diagnosis` (code ``diagnosis.limit``) with the events it reported before it stopped;
the signer attribution comes first for that reason.
:func:`examine` is also used in-process by :func:`pipeline.verify.verdict.validate_signature` on the
bytes of issued copies, which we wrote ourselves.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import cms
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.general import extract_signer_info
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.generic_cms import (
    cms_basic_validation,
    extract_certs_for_validation,
    extract_self_reported_ts,
)
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.models import SignatureReport

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MEMORY_BYTES = 768 * 1024 * 1024

# ---- codes ----------------------------------------------------------------------------------------
# Stable English code → the sentence a receiving agency reads. Technical detail goes in Finding.detail.
MESSAGES: dict[str, str] = {
    "file.unreadable": "Tệp không phải là tệp PDF đọc được.",
    "file.trailing_data": "Có dữ liệu lạ được gắn thêm sau điểm kết thúc của tệp.",
    "signature.no_byte_range": "Chữ ký số không khai báo phần dữ liệu được ký (thiếu ByteRange).",
    "signature.byte_range": "Phần dữ liệu được ký (ByteRange) bất thường: có phần của tệp nằm ngoài chữ ký.",
    "signature.subfilter": "Chữ ký số dùng định dạng không được chấp nhận.",
    "signature.zeroed": "Giá trị chữ ký số đã bị xóa trắng.",
    "signature.unparsable": "Không đọc được giá trị chữ ký số.",
    "signature.not_intact": "Nội dung đã ký bị thay đổi: chữ ký số không còn khớp với tệp.",
    "signature.invalid": "Chữ ký số không hợp lệ.",
    "signature.extra": "Tệp có thêm chữ ký số khác được thêm vào sau chữ ký của cơ quan chứng thực.",
    "signature.orphan": "Tệp chứa chữ ký số đã bị tách khỏi tài liệu.",
    "signature.foreign": "Chữ ký số trong tệp không phải của cơ quan chứng thực trong hệ thống.",
    "update.page_content": "Nội dung trang đã bị thay đổi sau khi ký.",
    "update.annotation": "Có chú thích hoặc hình vẽ được thêm hay sửa trên trang sau khi ký.",
    "update.form": "Có trường biểu mẫu được thêm hoặc điền sau khi ký.",
    "update.metadata": "Thông tin mô tả của tệp (metadata) đã bị sửa sau khi ký.",
    "update.structure": "Cấu trúc tài liệu đã bị thay đổi sau khi ký.",
    "update.validation_data": "Tệp được bổ sung dữ liệu kiểm chứng (dấu thời gian, chứng thư) sau khi ký.",
    "diagnosis.limit": "Không phân tích hết được tệp trong giới hạn thời gian và bộ nhớ cho phép.",
    "diagnosis.failed": "Không phân tích được tệp.",
}

# Findings that do not, by themselves, make an issued copy invalid: validation data is what
# B-LTA and later re-time-stamping add on purpose.
INFORMATIONAL = frozenset({"update.validation_data"})

SIGNATURE_SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"})
TIMESTAMP_SUBFILTERS = frozenset({"/ETSI.RFC3161"})

_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_STARTXREF_EOF = re.compile(rb"startxref\s+(\d{1,20})\s+%%EOF")
_HEX_CONTENTS = re.compile(rb"/Contents\s*<([0-9A-Fa-f\s]{64,})>")
_MAX_SIGNATURES = 32  # signature fields / CMS blobs examined; more is hostile
_MAX_CMS_HEX = 4 * 1024 * 1024
_MAX_VISITS = 100_000  # objects visited per revision analysis
_MAX_DEPTH = 64
# Keys that never lead to what a page shows (following them would reach the whole document).
_NOT_CONTENT_KEYS = frozenset({"/Parent", "/P", "/Annots", "/B", "/StructParents", "/StructParent", "/Popup"})
_TRAILER_BOOKKEEPING = frozenset(
    {"/Size", "/Prev", "/ID", "/XRefStm", "/Type", "/W", "/Index", "/Filter", "/DecodeParms", "/Length"}
)
_INFO_REFRESH_KEYS = frozenset({"/ModDate", "/Producer"})
_XMP_REFRESH = re.compile(
    rb"<(xmp:ModifyDate|xmp:MetadataDate|pdf:Producer|xmpMM:InstanceID)>[^<]*</\1>"
    rb"|(xmp:ModifyDate|xmp:MetadataDate|pdf:Producer|xmpMM:InstanceID)=\"[^\"]*\""
)


# ---- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One thing found wrong (or, for ``update.validation_data``, worth saying) about a file."""

    code: str
    detail: str = ""  # technical, for logs and API users

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, MESSAGES["diagnosis.failed"])


@dataclass(frozen=True)
class SignerFacts:
    """Who a CMS signature found in the file says signed it, and whether that holds."""

    subject: str
    cert_sha256: str
    crypto_valid: bool  # the signature over its signed attributes verifies with that certificate
    chains: bool  # that certificate chains to one of our trust roots
    known: bool  # its fingerprint is one of our offices' signer certificates

    @property
    def ours(self) -> bool:
        """A signature our key really made: copying our certificate into a CMS is not enough."""
        return self.crypto_valid and (self.chains or self.known)


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`examine` (in-process) or :func:`diagnose` (child process) found."""

    findings: tuple[Finding, ...] = ()
    signers: tuple[SignerFacts, ...] = ()
    report: SignatureReport | None = None  # the first signature, as validate_signature reports it
    embedded_ecopy_id: str | None = None  # what the file claims; a hint for messages only
    completed: bool = True  # False when a time or memory limit stopped it
    elapsed_s: float = 0.0

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def carries_our_signature(self) -> bool:
        return any(s.ours for s in self.signers)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Findings that make even a copy on record fail."""
        return tuple(f for f in self.findings if f.code not in INFORMATIONAL)


Emit = Callable[[dict[str, Any]], None]


class _Collector:
    """Findings in order, one per code (details merged), forwarded to ``emit`` as they come."""

    def __init__(self, emit: Emit | None) -> None:
        self.emit = emit
        self.details: dict[str, list[str]] = {}

    def add(self, code: str, detail: str = "") -> None:
        self.details.setdefault(code, [])
        if detail and detail not in self.details[code]:
            self.details[code].append(detail)
        if self.emit is not None:
            self.emit({"finding": [code, detail[:500]]})

    def findings(self) -> tuple[Finding, ...]:
        return tuple(Finding(code, "; ".join(d)[:1000]) for code, d in self.details.items())


def _reraise_if_fatal(e: BaseException) -> None:
    """Hostile input may exhaust the child's memory: that must end the diagnosis, not one step of it."""
    if isinstance(e, MemoryError):
        raise e


# ---- raw bytes ----------------------------------------------------------------------------------
def _revision_ends(pdf: bytes) -> dict[int, set[int]]:
    """startxref value → the offsets where a revision with that startxref ends (with/without EOL)."""
    ends: dict[int, set[int]] = {}
    for m in _STARTXREF_EOF.finditer(pdf):
        end = m.end()
        at = ends.setdefault(int(m.group(1)), set())
        at.add(end)
        if pdf[end : end + 2] == b"\r\n":
            at.add(end + 2)
        elif pdf[end : end + 1] in (b"\r", b"\n"):
            at.add(end + 1)
    return ends


def _check_layout(pdf: bytes, out: _Collector) -> bool:
    """Header and tail; False when this is not a PDF at all."""
    if b"%PDF-" not in pdf[:1024]:
        out.add("file.unreadable", "no %PDF- header")
        return False
    eof = pdf.rfind(b"%%EOF")
    if eof < 0:
        out.add("file.unreadable", "no %%EOF marker")
        return False
    junk = pdf[eof + 5 :].strip(_PDF_WHITESPACE)
    if junk:
        out.add("file.trailing_data", f"{len(junk)} bytes after the last %%EOF")
    return True


def _check_last_revision_ends_the_file(pdf: bytes, reader: PdfFileReader, out: _Collector) -> None:
    """Bytes no revision accounts for (e.g. a second copy appended whole, with its own %%EOF) are
    invisible to a reader that follows startxref, and to pyHanko's coverage check."""
    try:
        meta = reader.xrefs.get_xref_container_info(reader.xrefs.total_revisions - 1)
        eof = pdf.find(b"%%EOF", meta.end_location)
    except Exception as e:
        _reraise_if_fatal(e)
        return
    if eof < 0:
        return
    extra = pdf[eof + 5 :].strip(_PDF_WHITESPACE)
    if extra:
        out.add("file.trailing_data", f"{len(extra)} bytes after the end of the last revision")


# ---- CMS: who signed ----------------------------------------------------------------------------
def _validation_context(roots: Sequence[Any], moment: dt.datetime | None) -> Any:
    return ValidationContext(trust_roots=list(roots), allow_fetching=False, revocation_mode="soft-fail", moment=moment)


def load_trust_roots(trust_roots: Sequence[bytes]) -> list[Any]:
    roots: list[Any] = []
    for data in trust_roots:
        try:
            roots.extend(load_certs_from_pemder_data(data))
        except Exception as e:  # a bad configured root must not hide the others
            _reraise_if_fatal(e)
            log.warning("ignoring an unreadable trust root: %s", e)
    return roots


def _signer_facts(cms_bytes: bytes, roots: Sequence[Any], known: Collection[str]) -> SignerFacts | None:
    """Facts about a CMS SignedData over external data, None for anything else (time-stamp tokens)."""
    info = cms.ContentInfo.load(cms_bytes)
    if info["content_type"].native != "signed_data":
        return None
    signed_data = info["content"]
    if signed_data["encap_content_info"]["content_type"].native != "data":
        return None
    signer_info = extract_signer_info(signed_data)
    cert = extract_certs_for_validation(signed_data).signer_cert
    fingerprint = hashlib.sha256(cert.dump()).hexdigest()
    subject = cert.subject.human_friendly
    # The moment the signer claims, inside the signed attributes: only believed once the signature
    # verifies, and only to attribute the file, so an expired office certificate still attributes.
    try:
        moment = extract_self_reported_ts(signer_info)
    except Exception as e:
        _reraise_if_fatal(e)
        moment = None
    try:
        kwargs = asyncio.run(
            cms_basic_validation(
                signed_data,
                raw_digest=b"\x00" * 32,  # the document digest is checked elsewhere; here: who signed
                validation_context=_validation_context(roots, moment),
                key_usage_settings=PdfSignatureStatus.default_usage_constraints(None),
            )
        )
        valid = bool(kwargs["valid"])
        chains = valid and kwargs["trust_problem_indic"] is None and kwargs["validation_path"] is not None
    except Exception as e:
        _reraise_if_fatal(e)
        log.debug("CMS signature of %s does not validate: %s", fingerprint[:16], e)
        valid = chains = False
    return SignerFacts(subject, fingerprint, valid, chains, fingerprint in known)


def _cms_blobs(pdf: bytes) -> Iterator[bytes]:
    """Every /Contents hex string in the raw bytes, parsed or not by any PDF reader."""
    seen: set[bytes] = set()
    for n, m in enumerate(_HEX_CONTENTS.finditer(pdf)):
        if n >= _MAX_SIGNATURES * 4:
            return
        hexdata = re.sub(rb"\s", b"", m.group(1))
        if len(hexdata) > _MAX_CMS_HEX or len(hexdata) % 2:
            continue
        raw = bytes.fromhex(hexdata.decode("ascii"))
        if not raw.rstrip(b"\x00") or raw in seen:
            continue
        seen.add(raw)
        yield raw


def _attribute(
    pdf: bytes, roots: Sequence[Any], known: Collection[str], out: _Collector, emit: Emit | None
) -> list[tuple[bytes, SignerFacts]]:
    """(CMS bytes, signer facts) of every signature over external data found in the raw bytes."""
    signers: list[tuple[bytes, SignerFacts]] = []
    for raw in _cms_blobs(pdf):
        try:
            facts = _signer_facts(raw, roots, known)
        except Exception as e:
            _reraise_if_fatal(e)
            log.debug("not a CMS signature: %s", e)
            continue
        if facts is None:
            continue
        if not facts.crypto_valid:
            out.add("signature.invalid", f"CMS signature naming {facts.cert_sha256[:16]}… does not verify")
        signers.append((raw, facts))
        if emit is not None:
            emit({"signer": _facts_to_json(facts)})
        if len(signers) >= _MAX_SIGNATURES:
            break
    return signers


# ---- signature dictionaries ---------------------------------------------------------------------
@dataclass
class _Sig:
    name: str
    field: Any  # the field dictionary
    sig: Any  # the signature dictionary
    revision: int  # the revision that wrote the signature dictionary
    is_timestamp: bool
    contents: bytes | None = None
    intact: bool | None = None  # our own digest check; None when it could not be made


def _signature_fields(reader: PdfFileReader) -> list[_Sig]:
    found: list[_Sig] = []
    for n, (name, _value, field_ref) in enumerate(enumerate_sig_fields(reader, filled_status=True)):
        if n >= _MAX_SIGNATURES:
            break
        field_dict = field_ref.get_object()
        raw_value = field_dict.raw_get("/V")
        if isinstance(raw_value, generic.IndirectObject):
            sig = raw_value.get_object()
            revision = reader.xrefs.get_last_change(raw_value.reference)
        else:
            sig = raw_value
            revision = reader.xrefs.get_last_change(field_ref.reference)
        if not isinstance(sig, generic.DictionaryObject):
            continue
        is_ts = _get(sig, "/Type") == "/DocTimeStamp" or _get(sig, "/SubFilter") in TIMESTAMP_SUBFILTERS
        found.append(_Sig(str(name), field_dict, sig, revision, is_ts))
    found.sort(key=lambda s: s.revision)
    return found


def _digest_matches(cms_bytes: bytes, signed: Callable[[], Iterable[bytes]]) -> bool | None:
    """Our own check of the document digest: messageDigest (signatures) or messageImprint (time-stamps)."""
    signed_data = cms.ContentInfo.load(cms_bytes)["content"]
    eci = signed_data["encap_content_info"]
    if eci["content_type"].native == "tst_info":
        imprint = eci["content"].parsed["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        expected = imprint["hashed_message"].native
    else:
        signer_info = extract_signer_info(signed_data)
        algorithm = signer_info["digest_algorithm"]["algorithm"].native
        expected = None
        for attr in signer_info["signed_attrs"]:
            if attr["type"].native == "message_digest":
                expected = attr["values"][0].native
        if expected is None:
            return None
    h = hashlib.new(algorithm)
    for chunk in signed():
        h.update(chunk)
    return bool(h.digest() == expected)


def _check_signature(pdf: bytes, s: _Sig, reader: PdfFileReader, ends: dict[int, set[int]], out: _Collector) -> None:
    sig = s.sig
    label = f"{'time-stamp' if s.is_timestamp else 'signature'} {s.name!r}"
    subfilter = _get(sig, "/SubFilter")
    allowed = TIMESTAMP_SUBFILTERS if s.is_timestamp else SIGNATURE_SUBFILTERS
    if subfilter not in allowed:
        out.add("signature.subfilter", f"{label}: /SubFilter {subfilter}")

    contents = sig.raw_get("/Contents") if "/Contents" in sig else None
    if not isinstance(contents, (generic.ByteStringObject, generic.TextStringObject)):
        out.add("signature.unparsable", f"{label}: /Contents is {type(contents).__name__}")
        return
    s.contents = contents.original_bytes
    if not s.contents.rstrip(b"\x00"):
        out.add("signature.zeroed", f"{label}: /Contents is {len(s.contents)} zero bytes")

    if "/ByteRange" not in sig:
        out.add("signature.no_byte_range", f"{label}: no /ByteRange")
        return
    br = sig.raw_get("/ByteRange")
    numbers = list(br) if isinstance(br, generic.ArrayObject) else []
    if len(numbers) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numbers):
        out.add("signature.byte_range", f"{label}: /ByteRange {br!r:.100} is not four non-negative integers")
        return
    start1, len1, start2, len2 = (int(v) for v in numbers)
    problems: list[str] = []
    if start1 != 0:
        problems.append(f"first range starts at {start1}")
    if not len1 < start2:
        problems.append("ranges overlap")
    if start2 + len2 > len(pdf):
        problems.append("second range runs past the end of the file")
    gap = pdf[len1:start2]
    hex_ok = len(gap) >= 2 and gap[:1] == b"<" and gap[-1:] == b">" and re.fullmatch(rb"[0-9A-Fa-f]*", gap[1:-1])
    if not hex_ok:
        problems.append(f"the unsigned gap [{len1}, {start2}) is not exactly the /Contents hex string")
    elif len(gap) - 2 != len(s.contents) * 2 or bytes.fromhex(gap[1:-1].decode("ascii")) != s.contents:
        problems.append("the unsigned gap holds another value than /Contents")
    try:
        declared = reader.xrefs.get_startxref_for_revision(s.revision)
    except Exception as e:
        _reraise_if_fatal(e)
        declared = -1
    if start2 + len2 not in ends.get(declared, set()):
        problems.append(f"signed bytes end at {start2 + len2}, not at the end of revision {s.revision}")
    if problems:
        out.add("signature.byte_range", f"{label}: " + "; ".join(problems))
    if not s.contents.rstrip(b"\x00") or start2 + len2 > len(pdf) or not len1 < start2:
        return

    def signed() -> Iterator[bytes]:
        yield pdf[start1 : start1 + len1]
        yield pdf[start2 : start2 + len2]

    try:
        s.intact = _digest_matches(s.contents, signed)
    except Exception as e:
        _reraise_if_fatal(e)
        out.add("signature.unparsable", f"{label}: {type(e).__name__}: {e}"[:300])
        return
    if s.intact is False:
        out.add("signature.not_intact", f"{label}: the digest of the signed bytes does not match")


# ---- revisions after signing --------------------------------------------------------------------
class _Budget(Exception):
    pass


def _same(a: Any, b: Any, depth: int = 0) -> bool:
    """Structural equality without resolving indirect references (compares the references)."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
        return (
            isinstance(a, generic.IndirectObject)
            and isinstance(b, generic.IndirectObject)
            and (a.idnum, a.generation) == (b.idnum, b.generation)
        )
    if isinstance(a, generic.StreamObject) or isinstance(b, generic.StreamObject):
        if not (isinstance(a, generic.StreamObject) and isinstance(b, generic.StreamObject)):
            return False
        if a.encoded_data != b.encoded_data:
            return False
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return False
        return all(_same(dict.__getitem__(a, k), dict.__getitem__(b, k), depth + 1) for k in a)
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            return False
        return all(_same(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if isinstance(a, (generic.ByteStringObject, generic.TextStringObject)):
        return isinstance(b, (generic.ByteStringObject, generic.TextStringObject)) and (
            a.original_bytes == b.original_bytes
        )
    return type(a) is type(b) and bool(a == b)


def _changed_keys(old: Any, new: Any) -> Iterator[tuple[Any, Any, Any]]:
    """``(key, old value, new value)`` for each key of two dictionaries whose value differs
    (references compared, not resolved), in key order."""
    for key in sorted(set(old) | set(new), key=str):
        a, b = dict.get(old, key), dict.get(new, key)
        if not _same(a, b):
            yield key, a, b


def _deref(obj: Any) -> Any:
    try:
        return obj.get_object() if isinstance(obj, generic.IndirectObject) else obj
    except Exception as e:
        _reraise_if_fatal(e)
        return None


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` resolved, or None: hostile files may make any value an indirect reference."""
    if not isinstance(obj, dict) or key not in obj:
        return None
    return _deref(dict.__getitem__(obj, key))


def _key(ref: Any) -> tuple[int, int]:
    return (ref.idnum, ref.generation)


class _View:
    """One revision of the document, with the object sets the classification needs (lazily)."""

    def __init__(self, resolver: HistoricalResolver, budget: list[int]) -> None:
        self.resolver = resolver
        self.budget = budget
        self._pages: tuple[set[tuple[int, int]], list[Any]] | None = None
        self._content: set[tuple[int, int]] | None = None
        self._annots: tuple[set[tuple[int, int]], set[tuple[int, int]]] | None = None
        self._form: set[tuple[int, int]] | None = None
        self._dss: set[tuple[int, int]] | None = None
        self._timestamp: set[tuple[int, int]] | None = None

    def _spend(self, n: int = 1) -> None:
        self.budget[0] -= n
        if self.budget[0] < 0:
            raise _Budget

    @property
    def root(self) -> Any:
        return self.resolver.root

    def root_key(self) -> tuple[int, int]:
        return _key(self.resolver.root_ref)

    def reachable(self, start: Any, skip: frozenset[str] = _NOT_CONTENT_KEYS) -> set[tuple[int, int]]:
        """Indirect objects reachable from ``start`` (iterative, bounded)."""
        seen: set[tuple[int, int]] = set()
        stack: list[tuple[Any, int]] = [(start, 0)]
        while stack:
            obj, depth = stack.pop()
            self._spend()
            if depth > _MAX_DEPTH * 4:
                continue
            if isinstance(obj, generic.IndirectObject):
                k = _key(obj)
                if k in seen:
                    continue
                seen.add(k)
                try:
                    obj = obj.get_object()
                except Exception as e:
                    _reraise_if_fatal(e)
                    continue
            if isinstance(obj, dict):
                stack.extend((dict.__getitem__(obj, k), depth + 1) for k in obj if k not in skip)
            elif isinstance(obj, list):
                stack.extend((v, depth + 1) for v in obj)
        return seen

    def pages(self) -> tuple[set[tuple[int, int]], list[Any]]:
        """Refs of the page tree nodes and pages, and the page dictionaries (leaves)."""
        if self._pages is None:
            nodes: set[tuple[int, int]] = set()
            leaves: list[Any] = []
            stack: list[Any] = [self.root.raw_get("/Pages")] if "/Pages" in self.root else []
            while stack:
                item = stack.pop()
                self._spend()
                if isinstance(item, generic.IndirectObject):
                    if _key(item) in nodes:
                        continue
                    nodes.add(_key(item))
                node = item.get_object() if isinstance(item, generic.IndirectObject) else item
                if not isinstance(node, dict):
                    continue
                if "/Kids" in node:
                    kids = node["/Kids"]
                    if isinstance(kids, list):
                        stack.extend(kids)
                    if "/Resources" in node:  # inherited resources are page content too
                        leaves.append(node)
                else:
                    leaves.append(node)
            self._pages = (nodes, leaves)
        return self._pages

    def content(self) -> set[tuple[int, int]]:
        """Everything a page draws: content streams and resources (fonts, images, forms, OCGs…)."""
        if self._content is None:
            refs: set[tuple[int, int]] = set()
            for page in self.pages()[1]:
                for key in ("/Contents", "/Resources"):
                    if key in page:
                        refs |= self.reachable(dict.__getitem__(page, key))
            self._content = refs
        return self._content

    def annots(self) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
        """(annotation dictionaries and what they draw, indirect /Annots arrays)."""
        if self._annots is None:
            refs: set[tuple[int, int]] = set()
            arrays: set[tuple[int, int]] = set()
            for page in self.pages()[1]:
                if "/Annots" not in page:
                    continue
                raw = dict.__getitem__(page, "/Annots")
                if isinstance(raw, generic.IndirectObject):
                    arrays.add(_key(raw))
                    raw = raw.get_object()
                if isinstance(raw, list):
                    for annot in raw:
                        refs |= self.reachable(annot, _NOT_CONTENT_KEYS | {"/V", "/Kids"})
            self._annots = (refs, arrays)
        return self._annots

    def form(self) -> set[tuple[int, int]]:
        """The AcroForm dictionary, the field tree and the form's default resources."""
        if self._form is None:
            refs: set[tuple[int, int]] = set()
            if "/AcroForm" in self.root:
                raw = self.root.raw_get("/AcroForm")
                if isinstance(raw, generic.IndirectObject):
                    refs.add(_key(raw))
                acroform = raw.get_object() if isinstance(raw, generic.IndirectObject) else raw
                if isinstance(acroform, dict):
                    for key in ("/Fields", "/DR", "/XFA", "/CO"):
                        if key in acroform:
                            refs |= self.reachable(dict.__getitem__(acroform, key), frozenset({"/Parent", "/P", "/V"}))
            self._form = refs
        return self._form

    def dss(self) -> set[tuple[int, int]]:
        if self._dss is None:
            self._dss = self.reachable(self.root.raw_get("/DSS")) if "/DSS" in self.root else set()
        return self._dss

    def timestamp_parts(self) -> set[tuple[int, int]]:
        """Document time-stamp fields, their widgets, signature dictionaries and appearances."""
        if self._timestamp is None:
            refs: set[tuple[int, int]] = set()
            try:
                fields = self.root["/AcroForm"]["/Fields"]
            except Exception as e:
                _reraise_if_fatal(e)
                fields = []
            for item in fields if isinstance(fields, list) else []:
                self._spend()
                if not isinstance(item, generic.IndirectObject):
                    continue
                fld = item.get_object()
                if not isinstance(fld, generic.DictionaryObject) or "/V" not in fld:
                    continue
                if _is_timestamp_field(fld):
                    refs.add(_key(item))
                    refs |= self.reachable(fld.raw_get("/V"))
                    if "/AP" in fld:
                        refs |= self.reachable(fld.raw_get("/AP"))
            self._timestamp = refs
        return self._timestamp

    def metadata_refs(self) -> set[tuple[int, int]]:
        refs: set[tuple[int, int]] = set()
        info = self.resolver.trailer_view.raw_get("/Info") if "/Info" in self.resolver.trailer_view else None
        if isinstance(info, generic.IndirectObject):
            refs.add(_key(info))
        meta = self.root.raw_get("/Metadata") if "/Metadata" in self.root else None
        if isinstance(meta, generic.IndirectObject):
            refs.add(_key(meta))
        return refs


class _Changes:
    """Categories of change in one revision, each with a few details."""

    def __init__(self) -> None:
        self.by_category: dict[str, list[str]] = {}

    def mark(self, category: str, detail: str) -> None:
        details = self.by_category.setdefault(category, [])
        if len(details) < 6 and detail not in details:
            details.append(detail)


def _invisible(widget: Any) -> bool:
    """A widget nobody sees: zero-area /Rect or the Hidden flag (as document time-stamps are made)."""
    flags = _get(widget, "/F")
    if isinstance(flags, int) and flags & 2:
        return True
    rect = _get(widget, "/Rect")
    try:
        x1, y1, x2, y2 = (float(_deref(v)) for v in rect)
    except Exception as e:
        _reraise_if_fatal(e)
        return False
    return (x2 - x1) * (y2 - y1) == 0


def _is_timestamp_field(fld: Any) -> bool:
    """A document time-stamp field whose widget shows nothing: validation data, not content."""
    value = _get(fld, "/V")
    return isinstance(value, dict) and _get(value, "/Type") == "/DocTimeStamp" and _invisible(fld)


def _is_sig_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        _get(obj, "/Type") in ("/Sig", "/DocTimeStamp") or ("/ByteRange" in obj and "/Contents" in obj)
    )


def _annotation_kind(annot: Any) -> tuple[str, str]:
    """Category of a newly added annotation: a time-stamp widget, a signature, a form field or a drawing."""
    if not isinstance(annot, dict):
        return "annotation", "annotation"
    field_dict = annot
    for _ in range(_MAX_DEPTH):  # /FT is inheritable
        if "/FT" in field_dict or "/Parent" not in field_dict:
            break
        field_dict = field_dict["/Parent"]
    if _get(annot, "/Subtype") == "/Widget" and isinstance(field_dict, dict) and "/FT" in field_dict:
        if field_dict["/FT"] == "/Sig":
            value = _get(field_dict, "/V")
            if _is_timestamp_field(field_dict) and _invisible(annot):
                return "validation", "document time-stamp widget"
            if value is None:
                return "form", "empty signature field"
            return "signature", "signature field"
        return "form", f"{field_dict['/FT']} field widget"
    return "annotation", f"{_get(annot, '/Subtype') or 'unknown'} annotation"


def _diff_annots(old: Any, new: Any, view_new: _View, changes: _Changes) -> None:
    old_refs = {_key(a) for a in (old if isinstance(old, list) else []) if hasattr(a, "idnum")}
    added = [a for a in (new if isinstance(new, list) else []) if hasattr(a, "idnum") and _key(a) not in old_refs]
    new_refs = {_key(a) for a in (new if isinstance(new, list) else []) if hasattr(a, "idnum")}
    if old_refs - new_refs:
        changes.mark("annotation", f"{len(old_refs - new_refs)} annotation(s) removed")
    if not isinstance(new, list) or any(not hasattr(a, "idnum") for a in new):
        changes.mark("annotation", "direct annotation objects")
    for a in added:
        view_new._spend()
        category, what = _annotation_kind(a.get_object())
        changes.mark(category, f"added {what} {a.idnum}")


def _diff_page(old: Any, new: Any, view_new: _View, changes: _Changes, label: str) -> None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        changes.mark("page_content", f"{label} added or removed")
        return
    for key, a, b in _changed_keys(old, new):
        if key == "/Annots":
            _diff_annots(
                _deref(a),
                _deref(b),
                view_new,
                changes,
            )
        else:
            changes.mark("page_content", f"{label} {key} changed")


_APPEARANCE_KEYS = frozenset({"/AP", "/AS", "/MK", "/Rect", "/F", "/BS", "/Border", "/C", "/H"})


def _diff_field(old: Any, new: Any, changes: _Changes, label: str) -> None:
    """A field (often merged with its widget): its value is form data, its looks an annotation."""
    for key, _a, _b in _changed_keys(old, new):
        visual = key in _APPEARANCE_KEYS and not isinstance(new, generic.StreamObject)
        changes.mark("annotation" if visual else "form", f"field {label} {key} changed")


def _diff_acroform(old: Any, new: Any, view_new: _View, changes: _Changes) -> None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        changes.mark("form", "AcroForm added or removed")
        return
    for key, a, b in _changed_keys(old, new):
        if key == "/SigFlags":
            continue
        if key != "/Fields":
            changes.mark("form", f"AcroForm {key} changed")
            continue
        a = _deref(a)
        b = _deref(b)
        old_refs = {_key(f) for f in (a if isinstance(a, list) else []) if hasattr(f, "idnum")}
        new_list = b if isinstance(b, list) else []
        if old_refs - {_key(f) for f in new_list if hasattr(f, "idnum")}:
            changes.mark("form", "form field(s) removed")
        for f in new_list:
            if not hasattr(f, "idnum") or _key(f) in old_refs:
                continue
            view_new._spend()
            fld = f.get_object()
            value = _get(fld, "/V") if isinstance(fld, dict) else None
            if isinstance(fld, dict) and _get(fld, "/FT") == "/Sig" and isinstance(value, dict):
                if _is_timestamp_field(fld):
                    changes.mark("validation", f"document time-stamp field {f.idnum}")
                else:
                    changes.mark("signature", f"signature field {f.idnum}")
            else:
                changes.mark("form", f"form field {f.idnum} added")


def _diff_catalog(old: Any, new: Any, view_old: _View, view_new: _View, changes: _Changes) -> None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        changes.mark("structure", "document catalog replaced by a non-dictionary")
        return
    for key, a, b in _changed_keys(old, new):
        if key in ("/DSS", "/Extensions"):
            changes.mark("validation", f"catalog {key}")
        elif key == "/AcroForm":
            if isinstance(a, generic.IndirectObject) and isinstance(b, generic.IndirectObject):
                changes.mark("form", "AcroForm replaced by another object")
            else:
                _diff_acroform(
                    _deref(a),
                    _deref(b),
                    view_new,
                    changes,
                )
        elif key == "/Metadata":
            changes.mark("metadata", "catalog /Metadata replaced")
        elif key in ("/Pages", "/OCProperties"):
            changes.mark("page_content", f"catalog {key} changed")
        else:
            changes.mark("structure", f"catalog {key} changed")


def _info_refresh_only(old: Any, new: Any) -> bool:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    differing = {key for key, _a, _b in _changed_keys(old, new)}
    return differing <= _INFO_REFRESH_KEYS


def _xmp_refresh_only(old: Any, new: Any) -> bool:
    """True when two XMP packets differ only in modification dates, producer and instance ID."""
    if not isinstance(old, generic.StreamObject) or not isinstance(new, generic.StreamObject):
        return False
    try:
        a, b = old.data, new.data
    except Exception as e:
        _reraise_if_fatal(e)
        return False

    def normal(x: bytes) -> bytes:
        return re.sub(rb"\s+", b"", _XMP_REFRESH.sub(b"", x))

    return normal(a) == normal(b)


def _classify(key: tuple[int, int], old: Any, new: Any, view_old: _View, view_new: _View, changes: _Changes) -> None:
    label = f"object {key[0]}"
    for obj in (new, old):
        if isinstance(obj, generic.StreamObject) and _get(obj, "/Type") in ("/XRef", "/ObjStm"):
            return
    if key in (view_old.root_key(), view_new.root_key()):
        if old is not None or view_old.root_key() == view_new.root_key():  # a new catalog: diffed from the trailer
            _diff_catalog(old, new, view_old, view_new, changes)
    elif key in view_old.content() or key in view_new.content():
        changes.mark("page_content", f"{label} drawn by a page {'replaced' if old is not None else 'added'}")
    elif key in view_old.pages()[0] or key in view_new.pages()[0]:
        _diff_page(old, new, view_new, changes, f"page {label}")
    elif _is_sig_dict(new) or _is_sig_dict(old):
        if old is not None:  # a signed signature dictionary redefined after the fact
            changes.mark("signature_changed", f"signature dictionary {label} redefined")
        elif _get(new, "/Type") == "/DocTimeStamp":
            changes.mark("validation", f"document time-stamp {label}")
        else:
            changes.mark("signature", f"signature dictionary {label}")
    elif key in view_new.timestamp_parts() and old is None:
        changes.mark("validation", f"document time-stamp part {label}")
    elif key in view_new.dss() or key in view_old.dss():
        changes.mark("validation", f"DSS {label}")
    elif key in view_old.metadata_refs() or key in view_new.metadata_refs():
        info_like = isinstance(new, dict) and not isinstance(new, generic.StreamObject)
        refresh = _info_refresh_only(old, new) if info_like else _xmp_refresh_only(old, new)
        changes.mark("metadata_refresh" if refresh else "metadata", f"metadata {label}")
    elif key in view_old.annots()[1] or key in view_new.annots()[1]:
        _diff_annots(old, new, view_new, changes)
    elif key in view_old.form() or key in view_new.form():
        if isinstance(old, dict) and isinstance(new, dict) and "/Fields" in new:
            _diff_acroform(old, new, view_new, changes)
        elif isinstance(old, dict) and isinstance(new, dict):
            _diff_field(old, new, changes, label)
        elif _get(new, "/FT") == "/Sig" and isinstance(_get(new, "/V"), dict):
            changes.mark("signature", f"signature field {label} added")
        else:
            changes.mark("form", f"form field {label} {'changed' if old is not None else 'added'}")
    elif key in view_old.annots()[0] or key in view_new.annots()[0]:
        changes.mark("annotation", f"annotation {label} {'changed' if old is not None else 'added'}")
    elif old is not None:
        changes.mark("structure", f"{label} replaced")
    # a new object nothing points to changes nothing a viewer shows


def _revision_changes(reader: PdfFileReader, revision: int) -> _Changes:
    changes = _Changes()
    budget = [_MAX_VISITS]
    view_old = _View(reader.get_historical_resolver(revision - 1), budget)
    view_new = _View(reader.get_historical_resolver(revision), budget)
    old_trailer, new_trailer = view_old.resolver.trailer_view, view_new.resolver.trailer_view
    for key in set(old_trailer) | set(new_trailer):
        if key in _TRAILER_BOOKKEEPING or key == "/Root":
            continue
        a, b = dict.get(old_trailer, key), dict.get(new_trailer, key)
        if _same(a, b):
            continue
        if key == "/Info":
            refresh = _info_refresh_only(_deref(a), _deref(b))
            changes.mark("metadata_refresh" if refresh else "metadata", "trailer /Info replaced")
        else:
            changes.mark("structure", f"trailer {key} changed")
    if view_old.root_key() != view_new.root_key():
        _diff_catalog(view_old.root, view_new.root, view_old, view_new, changes)

    xrefs = reader.xrefs
    changed = {_key(r) for r in xrefs.explicit_refs_in_revision(revision)}
    freed = {_key(r) for r in xrefs.refs_freed_in_revision(revision)}
    for key in sorted(changed | freed):
        ref = generic.Reference(key[0], key[1], pdf=reader)
        existed = xrefs.get_historical_ref(ref, revision - 1) is not None
        try:
            old = view_old.resolver.get_object(ref) if existed else None
            new = view_new.resolver.get_object(ref) if key not in freed else None
            if isinstance(old, generic.NullObject):
                old = None
            _classify(key, old, new, view_old, view_new, changes)
        except _Budget:
            raise
        except Exception as e:
            _reraise_if_fatal(e)
            try:
                drawn = key in view_old.content()
            except _Budget:
                drawn = False
            changes.mark("page_content" if drawn else "structure", f"object {key[0]} unreadable: {type(e).__name__}")
    if "metadata_refresh" in changes.by_category:
        refreshed = changes.by_category.pop("metadata_refresh")
        # Writers refresh ModDate/Producer with every save: part of whatever else the revision does,
        # a metadata update when it is all the revision does.
        folded_into = "validation" if "validation" in changes.by_category else None
        if not changes.by_category:
            folded_into = "metadata"
        for detail in refreshed if folded_into else ():
            changes.mark(folded_into or "metadata", detail)
    return changes


_CATEGORY_CODES = {
    "page_content": "update.page_content",
    "annotation": "update.annotation",
    "form": "update.form",
    "metadata": "update.metadata",
    "structure": "update.structure",
    "validation": "update.validation_data",
    "signature": "signature.extra",
    "signature_changed": "signature.not_intact",
}


def _check_updates(reader: PdfFileReader, signed_revision: int, out: _Collector) -> None:
    total = reader.xrefs.total_revisions
    for revision in range(signed_revision + 1, total):
        try:
            changes = _revision_changes(reader, revision)
        except _Budget:
            out.add("update.structure", f"revision {revision}: too many objects to compare")
            continue
        except Exception as e:
            _reraise_if_fatal(e)
            out.add("update.structure", f"revision {revision}: {type(e).__name__}: {e}"[:300])
            continue
        if not changes.by_category:
            # nothing a viewer shows changed, yet someone appended a revision: say so
            out.add("update.structure", f"revision {revision} changes nothing visible")
        for category, details in changes.by_category.items():
            out.add(_CATEGORY_CODES[category], f"revision {revision}: " + ", ".join(details))


# ---- pyHanko's view of the first signature ------------------------------------------------------
def _pyhanko_status(reader: PdfFileReader, s: _Sig, roots: Sequence[Any], at: dt.datetime | None) -> PdfSignatureStatus:
    embedded = EmbeddedPdfSignature(reader, s.field, s.name)
    return validate_pdf_signature(embedded, signer_validation_context=_validation_context(roots, at))


def _report(
    reader: PdfFileReader, s: _Sig, roots: Sequence[Any], at: dt.datetime | None, out: _Collector, extra: int
) -> SignatureReport:
    """SignatureReport as pyHanko sees the first signature, narrowed by what the raw checks found."""
    problems: list[str] = []
    if extra:
        problems.append(f"extra_signatures: {extra}")
    subject, fingerprint = "", ""
    try:
        if s.contents is None:
            raise ValueError("no readable /Contents")
        cert = extract_certs_for_validation(cms.ContentInfo.load(s.contents)["content"]).signer_cert
        subject, fingerprint = cert.subject.human_friendly, hashlib.sha256(cert.dump()).hexdigest()
    except Exception as e:
        _reraise_if_fatal(e)
        problems.append(f"no_signer_cert: {type(e).__name__}: {e}"[:300])
    try:
        status = _pyhanko_status(reader, s, roots, at)
    except Exception as e:
        _reraise_if_fatal(e)
        problems.append(f"validation_failed: {type(e).__name__}: {e}"[:300])
        return SignatureReport(
            present=True, signer_subject=subject, signer_cert_sha256=fingerprint, problems=tuple(problems)
        )

    chains = status.valid and status.trust_problem_indic is None and status.validation_path is not None
    coverage = status.coverage
    level = status.modification_level
    only_validation_data_after = (
        coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and level is not None
        and level <= ModificationLevel.LTA_UPDATES
        and status.docmdp_ok is not False
    )
    pyhanko_whole = coverage == SignatureCoverageLevel.ENTIRE_FILE or only_validation_data_after
    structural = [c for c in out.details if c not in INFORMATIONAL and c != "signature.extra"]
    covers_whole_file = pyhanko_whole and not structural and not extra
    intact = bool(status.intact) and s.intact is not False
    modified = not covers_whole_file or status.docmdp_ok is False

    ts = status.timestamp_validity
    timestamped = ts is not None and ts.intact and ts.valid
    signing_time = ts.timestamp if timestamped and ts is not None else status.signer_reported_dt

    if not intact:
        problems.append("not_intact")
    if not status.valid:
        problems.append("invalid")
    if not chains:
        indic = status.trust_problem_indic
        problems.append(f"untrusted: {indic if indic is not None else 'no path'}")
    if not pyhanko_whole:
        problems.append(f"partial_coverage: {coverage.name if coverage else None}, {level.name if level else None}")
    if structural:
        problems.append("structure: " + ", ".join(structural))
    if status.docmdp_ok is False:
        problems.append("docmdp_violated")
    if ts is not None and not timestamped:
        problems.append("timestamp_invalid")
    elif ts is not None and not ts.trusted:
        problems.append("timestamp_untrusted")
    return SignatureReport(
        present=True,
        intact=intact,
        valid=bool(status.valid),
        trusted=chains,
        covers_whole_file=covers_whole_file,
        modified_after_signing=modified,
        signer_subject=subject,
        signer_cert_sha256=fingerprint,
        signing_time=signing_time,
        timestamped=timestamped,
        problems=tuple(problems),
    )


def _embedded_ecopy_id(reader: PdfFileReader) -> str | None:
    """The e-copy ID the file claims (Info /EcopyID, else XMP dc:identifier "ecopy:…")."""
    try:
        info = reader.trailer_view["/Info"]
        if "/EcopyID" in info:
            found = normalize_ecopy_id(str(info["/EcopyID"]))
            if found:
                return found
    except Exception as e:
        _reraise_if_fatal(e)
        pass
    try:
        xmp = reader.root["/Metadata"].data
        m = re.search(rb"ecopy:([0-9A-Za-z-]{10,40})", xmp)
        if m:
            return normalize_ecopy_id(m.group(1).decode("ascii"))
    except Exception as e:
        _reraise_if_fatal(e)
        pass
    return None


# ---- the examination ----------------------------------------------------------------------------
def examine(
    pdf: bytes,
    trust_roots: Sequence[bytes],
    known_signer_fingerprints: Collection[str] = (),
    *,
    at: dt.datetime | None = None,
    emit: Emit | None = None,
) -> Diagnosis:
    """Check a PDF's signatures and structure, in this process. Never raises on hostile input.

    ``at`` is the moment the first signature's chain must be valid (the registry's issue time for
    a copy on record; default now). Run it on untrusted bytes only through :func:`diagnose`.
    """

    started = time.perf_counter()
    out = _Collector(emit)
    roots = load_trust_roots(trust_roots)
    known = {f.lower() for f in known_signer_fingerprints}
    signers: list[tuple[bytes, SignerFacts]] = []

    def done(report: SignatureReport, ecopy_id: str | None = None) -> Diagnosis:
        if emit is not None:
            emit({"report": _report_to_json(report)})
            emit({"done": True})
        return Diagnosis(
            findings=out.findings(),
            signers=tuple(f for _, f in signers),
            report=report,
            embedded_ecopy_id=ecopy_id,
            elapsed_s=time.perf_counter() - started,
        )

    if not _check_layout(pdf, out):
        return done(SignatureReport(present=False, problems=("unreadable: not a PDF",)))
    signers = _attribute(pdf, roots, known, out, emit)  # first: it decides altered/unknown if a limit stops us

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        _ = reader.root
    except Exception as e:
        _reraise_if_fatal(e)
        out.add("file.unreadable", f"{type(e).__name__}: {e}"[:300])
        return done(SignatureReport(present=False, problems=(f"unreadable: {type(e).__name__}: {e}"[:300],)))
    _check_last_revision_ends_the_file(pdf, reader, out)
    ecopy_id = _embedded_ecopy_id(reader)
    if emit is not None and ecopy_id:
        emit({"ecopy_id": ecopy_id})
    try:
        sigs = _signature_fields(reader)
    except Exception as e:
        _reraise_if_fatal(e)
        out.add("signature.unparsable", f"signature fields: {type(e).__name__}: {e}"[:300])
        sigs = []

    ends = _revision_ends(pdf)
    for s in sigs:
        try:
            _check_signature(pdf, s, reader, ends, out)
        except Exception as e:
            _reraise_if_fatal(e)
            out.add("signature.unparsable", f"{s.name!r}: {type(e).__name__}: {e}"[:300])
    regular = [s for s in sigs if not s.is_timestamp]
    for s in regular[1:]:
        out.add("signature.extra", f"signature {s.name!r} in revision {s.revision}")
    in_fields = {s.contents for s in sigs if s.contents}
    orphans = [f for raw, f in signers if raw not in in_fields]
    if orphans:
        out.add("signature.orphan", f"{len(orphans)} CMS signature(s) outside any signature field")

    if not regular:
        return done(SignatureReport(present=False, problems=("no_signature",)), ecopy_id)
    first = regular[0]
    try:
        _check_updates(reader, first.revision, out)
    except Exception as e:
        _reraise_if_fatal(e)
        out.add("update.structure", f"{type(e).__name__}: {e}"[:300])
    return done(_report(reader, first, roots, at, out, extra=len(regular) - 1), ecopy_id)


# ---- JSON between the child and the parent ------------------------------------------------------
def _facts_to_json(f: SignerFacts) -> dict[str, Any]:
    return {
        "subject": f.subject,
        "cert_sha256": f.cert_sha256,
        "crypto_valid": f.crypto_valid,
        "chains": f.chains,
        "known": f.known,
    }


def _report_to_json(r: SignatureReport) -> dict[str, Any]:
    return {
        "present": r.present,
        "intact": r.intact,
        "valid": r.valid,
        "trusted": r.trusted,
        "covers_whole_file": r.covers_whole_file,
        "modified_after_signing": r.modified_after_signing,
        "signer_subject": r.signer_subject,
        "signer_cert_sha256": r.signer_cert_sha256,
        "signing_time": r.signing_time.isoformat() if r.signing_time else None,
        "timestamped": r.timestamped,
        "problems": list(r.problems),
    }


def _report_from_json(d: dict[str, Any]) -> SignatureReport:
    when = d.get("signing_time")
    return SignatureReport(
        present=bool(d.get("present")),
        intact=bool(d.get("intact")),
        valid=bool(d.get("valid")),
        trusted=bool(d.get("trusted")),
        covers_whole_file=bool(d.get("covers_whole_file")),
        modified_after_signing=bool(d.get("modified_after_signing")),
        signer_subject=str(d.get("signer_subject", "")),
        signer_cert_sha256=str(d.get("signer_cert_sha256", "")),
        signing_time=dt.datetime.fromisoformat(when) if when else None,
        timestamped=bool(d.get("timestamped")),
        problems=tuple(str(p) for p in d.get("problems", ())),
    )


@dataclass
class _Events:
    findings: dict[str, list[str]] = field(default_factory=dict)
    signers: list[SignerFacts] = field(default_factory=list)
    report: SignatureReport | None = None
    ecopy_id: str | None = None
    done: bool = False

    def read(self, stdout: bytes) -> None:
        for line in stdout.splitlines():
            try:
                self._take(json.loads(line))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # a line cut by the kill, or nonsense: never let the child crash the parent

    def _take(self, event: dict[str, Any]) -> None:
        if "finding" in event:
            code, detail = event["finding"]
            if code in MESSAGES:
                details = self.findings.setdefault(str(code), [])
                if detail and detail not in details:
                    details.append(str(detail)[:500])
        elif "signer" in event:
            facts = event["signer"]
            self.signers.append(
                SignerFacts(
                    subject=str(facts["subject"]),
                    cert_sha256=str(facts["cert_sha256"]),
                    crypto_valid=facts["crypto_valid"] is True,
                    chains=facts["chains"] is True,
                    known=facts["known"] is True,
                )
            )
        elif "report" in event:
            self.report = _report_from_json(event["report"])
        elif "ecopy_id" in event:
            self.ecopy_id = str(event["ecopy_id"])[:64]
        elif event.get("done") is True:
            self.done = True


# ---- the child process --------------------------------------------------------------------------
_PACKAGE_PARENT = Path(__file__).resolve().parents[3]
# The child that parses an uploaded file gets a fixed environment, not ours: nothing it needs is in
# it, and a hostile file must not run next to the signer's PIN or the storage keys. One BLAS thread:
# numpy (imported with pipeline.models) must not reserve per-thread buffers under the memory limit.
_CHILD_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}
# At most this many children per process at once (each may use up to its memory limit): a burst of
# uploads queues here, for at most its own time limit, instead of exhausting the host.
_CHILDREN = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))


def diagnose(
    pdf: bytes,
    trust_roots: Sequence[bytes],
    known_signer_fingerprints: Collection[str] = (),
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> Diagnosis:
    """:func:`examine` in a child process with a wall-clock and a memory limit. Never raises, never hangs.

    A child stopped by a limit (or crashing) gives ``completed=False`` and the code ``diagnosis.limit``
    together with whatever it had reported before.
    """
    started = time.perf_counter()
    if not _CHILDREN.acquire(timeout=max(timeout_s, 0.0)):
        log.warning("PDF diagnosis refused: %d already running", max(2, os.cpu_count() or 2))
        finding = Finding("diagnosis.limit", "too many diagnoses at once")
        return Diagnosis(findings=(finding,), completed=False, elapsed_s=time.perf_counter() - started)
    try:
        return _diagnose_in_child(pdf, trust_roots, known_signer_fingerprints, timeout_s, memory_bytes, started)
    finally:
        _CHILDREN.release()


def _diagnose_in_child(
    pdf: bytes,
    trust_roots: Sequence[bytes],
    known_signer_fingerprints: Collection[str],
    timeout_s: float,
    memory_bytes: int,
    started: float,
) -> Diagnosis:
    header = {
        "roots": [base64.b64encode(r).decode("ascii") for r in trust_roots],
        "known": sorted({f.lower() for f in known_signer_fingerprints}),
        "memory_bytes": int(memory_bytes),
        "cpu_seconds": int(timeout_s) + 2,
    }
    payload = json.dumps(header).encode() + b"\n" + pdf
    events = _Events()
    why, limited = "", False
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline.verify.diagnose"],
            input=payload,
            capture_output=True,
            timeout=timeout_s,
            cwd=_PACKAGE_PARENT,
            env=_CHILD_ENV,
            check=False,
        )
        events.read(proc.stdout)
        if proc.returncode != 0:
            tail = proc.stderr[-600:].decode("utf-8", "replace").strip().replace("\n", " | ")
            why = f"child exited with {proc.returncode}: {tail}"
            # killed by a signal (SIGXCPU, SIGKILL, SIGSEGV when C code meets the address-space
            # limit) or out of memory in Python: a limit, not a bug of ours
            limited = proc.returncode < 0 or proc.returncode == EXIT_MEMORY
    except subprocess.TimeoutExpired as e:
        events.read(e.stdout or b"")
        why, limited = f"no answer within {timeout_s:.1f} s", True
    except OSError as e:
        why = f"cannot start the diagnosis: {e}"
    elapsed = time.perf_counter() - started

    findings = [Finding(code, "; ".join(d)[:1000]) for code, d in events.findings.items()]
    if not events.done:
        findings.append(Finding("diagnosis.limit" if limited else "diagnosis.failed", why or "incomplete answer"))
        log.warning("PDF diagnosis stopped after %.1f s (%d bytes): %s", elapsed, len(pdf), why)
    else:
        log.info("PDF diagnosis of %d bytes in %.2f s: %s", len(pdf), elapsed, [f.code for f in findings])
    return Diagnosis(
        findings=tuple(findings),
        signers=tuple(events.signers),
        report=events.report,
        embedded_ecopy_id=events.ecopy_id,
        completed=events.done,
        elapsed_s=elapsed,
    )


EXIT_MEMORY = 3


def _limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))  # backstop if the parent died
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it has no business writing files


def main() -> int:
    """Child entry point: header JSON line + PDF on stdin, JSON events on stdout."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    data = sys.stdin.buffer.read()
    header_line, _, pdf = data.partition(b"\n")
    header = json.loads(header_line)
    _limit_self(int(header["memory_bytes"]), int(header["cpu_seconds"]))
    del data
    sys.setrecursionlimit(2000)

    def emit(event: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    try:
        examine(pdf, [base64.b64decode(r) for r in header["roots"]], header["known"], emit=emit)
    except MemoryError:
        sys.stderr.write("MemoryError: memory limit reached\n")
        return EXIT_MEMORY
    return 0

