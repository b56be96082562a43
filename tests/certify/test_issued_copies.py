"""Nothing of the input survives into an issued copy; every issued copy passes checks that are not ecopy's.

Copies are issued through the real path (``workflow.issuing.issue_ecopy``: render from pixels, PAdES
signature with a dev PKI, filesystem store, migrated SQLite registry). Input PDFs are built with
pikepdf to carry everything a copy must never contain; their markers (JavaScript source, embedded
file bytes, link URI, form value…) must appear nowhere in the copy, decompressed streams included.
Then :func:`pipeline.certify.structure_gate.copy_structure_problems` must flag each forbidden thing when it is
added to a real copy, and :func:`tests.support.independent.check_issued_copy` must pass normal copies.
"""

from __future__ import annotations

import dataclasses
import io
import re
import time
from collections.abc import Callable, Iterator

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pipeline.certify.dev_pki import DevPki, make_dev_pki
from pipeline.certify.pades import Level, SigningKey, SignOptions, load_pkcs12_key, sign_pdf
from pipeline.certify.structure_gate import copy_structure_problems
from pipeline.models import Box, OcrPage, OcrResult, Page, SourceFile, Word
from pipeline.read.load import LoadLimits, load_document
from pipeline.read.reader import ReadOptions
from storage.objectstore import FilesystemStore
from storage.registry import Registry
from tests.support.corpus import corpus_doc
from tests.support.independent import check_issued_copy
from tests.support.issued_audit import register_trust_root
from tests.support.pki import TestPki, running_test_pki
from workflow.context import IssuerProfile, Services
from workflow.extending import extend_copy
from workflow.issuing import IssueRequest, issue_ecopy

OFFICE = "UBND Phường Bến Nghé, Thành phố Hồ Chí Minh"
PASSWORD = b"ecopy-test"

MARKERS = {
    "js": "MARKER-JS-5c1e9a app.alert",
    "js_names": "MARKER-JSNAMES-77d0b2",
    "aa_js": "MARKER-AAJS-0f93c1",
    "embedded": "MARKER-EMBEDDED-FILE-BYTES-3b8e4d",
    "uri": "https://evil.example/MARKER-URI-a61f2c",
    "form": "MARKER-FORM-VALUE-9e2d17",
    "freetext": "MARKER-FREETEXT-44ab90",
    "launch": "MARKER-LAUNCH-c0ffee.exe",
    "attachment": "MARKER-ATTACHMENT-d15ea5",
}


# ---- issuing through the real path ---------------------------------------------------------------
@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(OFFICE, password=PASSWORD)


@pytest.fixture(scope="module")
def key(pki: DevPki) -> SigningKey:
    return load_pkcs12_key(pki.signer_p12, PASSWORD)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, pki: DevPki, key: SigningKey) -> Iterator[Services]:
    """The embedded default's layout: <data>/objects (store), <data>/registry.sqlite3, <data>/pki/root.pem."""
    data = tmp_path_factory.mktemp("issued") / "data"
    (data / "pki").mkdir(parents=True)
    (data / "pki" / "root.pem").write_bytes(pki.root_cert_pem)
    registry = Registry(f"sqlite:///{data / 'registry.sqlite3'}")
    registry.migrate()
    svc = Services(
        store=FilesystemStore(data / "objects"),
        registry=registry,
        read_options=ReadOptions(),
        issuer=IssuerProfile(
            office=OFFICE,
            certifier_name="Trần Thị Ngọc Hương",
            certifier_title="Phó Chủ tịch Ủy ban nhân dân phường",
            public_url="https://xacthuc.example.gov.vn",
            development_only=True,
        ),
        sign_options=SignOptions(location="Phường Bến Nghé, TP. Hồ Chí Minh"),
        trust_roots=(pki.root_cert_pem,),
        signing_key=lambda: key,
    )
    try:
        yield svc
    finally:
        registry.close()


Issue = Callable[[list[Page], OcrResult | None, str], bytes]


@pytest.fixture(scope="module")
def issue(services: Services) -> Issue:
    def issue(pages: list[Page], ocr: OcrResult | None, doc_type: str) -> bytes:
        record = issue_ecopy(IssueRequest(pages=pages, ocr=ocr, doc_type=doc_type, fields={}), services)
        return services.store.get(record.object_key)

    return issue


# ---- a malicious input PDF -------------------------------------------------------------------------
def _js(pdf: pikepdf.Pdf, source: str) -> pikepdf.Dictionary:
    return pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript, JS=source))


def malicious_pdf() -> bytes:
    """Two pages carrying JavaScript (OpenAction, name tree, /AA), an AcroForm text field with a
    value, a URI link, a Launch link, a FreeText note, a file attachment and an embedded file."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont="/Helvetica")
    )
    for n in range(2):
        content = f"BT /F1 28 Tf 72 700 Td (Giay khai sinh - trang {n + 1}) Tj ET 0 0 1 rg 72 400 300 120 re f".encode()
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 595, 842],
            Contents=pdf.make_stream(content),
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        )
        pdf.pages.append(pikepdf.Page(page))
    page1 = pdf.pages[0].obj
    page1.AA = pikepdf.Dictionary(O=_js(pdf, MARKERS["aa_js"]))

    embedded = pdf.make_stream(MARKERS["embedded"].encode(), Type=pikepdf.Name.EmbeddedFile)
    filespec = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Filespec, F="payload.txt", UF="payload.txt", EF=pikepdf.Dictionary(F=embedded)
        )
    )
    attachment_file = pdf.make_stream(MARKERS["attachment"].encode(), Type=pikepdf.Name.EmbeddedFile)
    attachment_spec = pikepdf.Dictionary(
        Type=pikepdf.Name.Filespec, F="note.txt", EF=pikepdf.Dictionary(F=attachment_file)
    )
    field = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            FT=pikepdf.Name.Tx,
            T="hoten",
            V=MARKERS["form"],
            Rect=[72, 300, 400, 330],
            P=page1,
            AA=pikepdf.Dictionary(K=_js(pdf, MARKERS["aa_js"] + "-field")),
        )
    )
    annots = [
        field,
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Link,
            Rect=[72, 600, 300, 630],
            A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=MARKERS["uri"]),
        ),
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Link,
            Rect=[72, 560, 300, 590],
            A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=MARKERS["launch"]),
        ),
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.FreeText,
            Rect=[72, 200, 400, 260],
            Contents=MARKERS["freetext"],
            DA="/Helv 12 Tf 0 g",
        ),
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.FileAttachment,
            Rect=[450, 700, 470, 720],
            FS=attachment_spec,
        ),
    ]
    page1.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(a) if not a.is_indirect else a for a in annots]))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[field], NeedAppearances=True)
    pdf.Root.OpenAction = _js(pdf, MARKERS["js"])
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=["init", _js(pdf, MARKERS["js_names"])]),
        EmbeddedFiles=pikepdf.Dictionary(Names=["payload.txt", filespec]),
    )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _marker_forms(marker: str) -> list[bytes]:
    """How a marker could appear in PDF bytes: PDFDocEncoding/ASCII, UTF-16BE, hex string."""
    return [
        marker.encode(),
        marker.encode("utf-16-be"),
        marker.encode().hex().encode(),
        marker.encode().hex().upper().encode(),
    ]


def _everything_in(pdf: bytes) -> bytes:
    """The raw file plus every object of every revision as qpdf reads it, streams decoded."""
    chunks = [pdf]
    revision_ends = [m.end() for m in re.finditer(rb"%%EOF", pdf)]
    for end in revision_ends:
        with pikepdf.open(io.BytesIO(pdf[:end])) as doc:
            for obj in doc.objects:
                if isinstance(obj, pikepdf.Stream):
                    try:
                        chunks.append(obj.read_bytes())
                    except pikepdf.PdfError:  # specialized filters (images): the raw bytes are in the file
                        pass
                    chunks.append(obj.stream_dict.unparse())
                elif obj.is_indirect:
                    chunks.append(obj.unparse(resolved=True))
    return b"\n".join(chunks)


def test_a_malicious_pdf_is_issued_with_nothing_of_it_inside(issue: Issue) -> None:
    """GIVEN a PDF with JavaScript, OpenAction, /AA, a form with a value, links (URI, Launch),
    a FreeText note, a file attachment and an embedded file
    WHEN it is loaded and issued THEN the copy keeps every structure rule and none of the markers."""
    data = malicious_pdf()
    found_in_input = copy_structure_problems(data)
    codes = {code for code, _ in found_in_input}
    # the checker sees what the input carries (and so would refuse it as a copy)
    assert {
        "javascript",
        "open-action",
        "additional-actions",
        "action",
        "embedded-file",
        "annotation",
        "form-field",
        "need-appearances",
        "signature-field",
    } <= codes, found_in_input
    in_input = _everything_in(data)
    assert all(m.encode() in in_input for m in MARKERS.values())

    pages = load_document([SourceFile("ho-so.pdf", data)], LoadLimits())
    assert len(pages) == 2
    copy = issue(pages, None, "birth_certificate")

    assert copy_structure_problems(copy) == []
    everything = _everything_in(copy)
    for name, marker in MARKERS.items():
        for form in _marker_forms(marker):
            assert form not in everything, f"the input's {name} marker {form!r} is in the copy"
    with pikepdf.open(io.BytesIO(copy)) as doc:
        assert len(doc.pages) == 3  # the two scanned pages + the certification page
        assert "/Names" not in doc.Root and "/OpenAction" not in doc.Root and "/AA" not in doc.Root
        for page in doc.pages:
            assert "/AA" not in page.obj
            assert all(str(a.get("/Subtype")) == "/Widget" for a in page.obj.get("/Annots", []))


# ---- normal copies pass the independent tools -----------------------------------------------------
def _synthetic_ocr(page: Page, words: tuple[str, ...]) -> OcrPage:
    h, w = page.image.shape[:2]
    placed = tuple(Word(text, 0.95, Box(40 + 120 * i, 40, 110, 30), line=0) for i, text in enumerate(words))
    return OcrPage(page.index, w, h, placed, (" ".join(words),))


@pytest.fixture(scope="module")
def id_card_copy(issue: Issue, id_card_pages: list[Page]) -> bytes:
    ocr = OcrResult(tuple(_synthetic_ocr(p, ("CĂN", "CƯỚC", "CÔNG", "DÂN")) for p in id_card_pages))
    return issue(id_card_pages, ocr, "cccd_front")


@pytest.fixture(scope="module")
def multi_page_copy(issue: Issue) -> bytes:
    docs = [corpus_doc(d)[0][0] for d in ("dev_0002", "dev_0005")]  # a PNG and a JPEG birth certificate
    pages = load_document([SourceFile(p.name, p.read_bytes()) for p in docs], LoadLimits())
    return issue(pages, None, "birth_certificate")


@pytest.mark.parametrize("which", ["id_card_copy", "multi_page_copy"])
def test_normal_copies_pass_the_independent_check(which: str, request: pytest.FixtureRequest, pki: DevPki) -> None:
    copy: bytes = request.getfixturevalue(which)
    started = time.perf_counter()
    failures = check_issued_copy(copy, [pki.root_cert_pem], require_trust=True)
    elapsed = time.perf_counter() - started
    assert failures == [], failures
    print(f"{which}: {len(copy)} bytes, independent check {elapsed * 1000:.0f} ms")


# ---- B-T, B-LT, B-LTA copies (certomancer: TSA, OCSP, CRL) -----------------------------------------
@pytest.fixture(scope="module")
def ltv_pki(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPki]:
    """The session's test PKI if the run has one (``test_pki``), else one of this module's own."""
    try:
        shared: TestPki | None = request.getfixturevalue("test_pki")
    except pytest.FixtureLookupError:
        shared = None
    if shared is not None:
        register_trust_root(shared.root_pem)
        yield shared
        return
    with running_test_pki(tmp_path_factory.mktemp("ltv-pki")) as own:
        register_trust_root(own.root_pem)
        yield own


@pytest.fixture(scope="module")
def id_card_pages() -> list[Page]:
    files, _ = corpus_doc("dev_0004")
    return load_document([SourceFile(f.name, f.read_bytes()) for f in files], LoadLimits())


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_time_stamped_and_long_term_copies_pass_both_checks(
    level: Level, services: Services, ltv_pki: TestPki, id_card_pages: list[Page]
) -> None:
    options = SignOptions(level=level, timestamp_url=ltv_pki.tsa_url, trust_roots=(ltv_pki.root_pem,))
    svc = dataclasses.replace(services, sign_options=options, signing_key=lambda: ltv_pki.signer("office-a"))
    record = issue_ecopy(IssueRequest(pages=id_card_pages, ocr=None, doc_type="cccd_front", fields={}), svc)
    copy = svc.store.get(record.object_key)
    assert copy_structure_problems(copy) == []
    assert check_issued_copy(copy, [ltv_pki.root_pem]) == []
    with pikepdf.open(io.BytesIO(copy)) as doc:
        kinds = sorted(str(f.V.get("/Type")) for f in doc.Root.AcroForm.Fields)
        assert ("/DSS" in doc.Root) == (level != "B-T")
    assert kinds == (["/DocTimeStamp", "/Sig"] if level == "B-LTA" else ["/Sig"])
    if level == "B-LT":
        return
    # re-time-stamped in the store (a new version; the old one is kept): both checks still pass
    outcome = extend_copy(svc, record)
    assert outcome.status == "extended", outcome
    extended = svc.store.get(record.object_key)
    assert extended.startswith(copy) and len(extended) > len(copy)
    assert copy_structure_problems(extended) == []
    assert check_issued_copy(extended, [ltv_pki.root_pem]) == []


def test_the_structure_check_is_fast_enough_to_gate_every_copy(multi_page_copy: bytes) -> None:
    """Reported, not asserted on (no timing assertions): what the gate costs per copy."""
    started = time.perf_counter()
    assert copy_structure_problems(multi_page_copy) == []
    print(f"copy_structure_problems: {len(multi_page_copy)} bytes in {(time.perf_counter() - started) * 1000:.1f} ms")


# ---- each forbidden thing added to a real copy is flagged ---------------------------------------
def append_revision(pdf: bytes, objects: dict[int, bytes]) -> bytes:
    """``pdf`` plus one incremental update writing ``objects`` (number -> the object's body)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        size = int(doc.trailer.Size)
        root = doc.Root.objgen
        info = doc.trailer.Info.objgen if "/Info" in doc.trailer else None
        ident = doc.trailer.ID.unparse().decode() if "/ID" in doc.trailer else None
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets: dict[int, int] = {}
    for num, body in sorted(objects.items()):
        offsets[num] = len(out)
        out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n"
    for num, offset in sorted(offsets.items()):
        out += f"{num} 1\n{offset:010d} 00000 n \n".encode()
    trailer = f"/Size {max(size, max(objects) + 1)} /Root {root[0]} {root[1]} R /Prev {prev}"
    if info:
        trailer += f" /Info {info[0]} {info[1]} R"
    if ident:
        trailer += f" /ID {ident}"
    out += f"trailer\n<< {trailer} >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


Change = Callable[[pikepdf.Pdf, int], dict[int, bytes]]  # (the copy, first free number) -> objects to write


def _root_with(**entries: str) -> Change:
    def change(doc: pikepdf.Pdf, free: int) -> dict[int, bytes]:
        root = doc.Root
        body = root.unparse(resolved=True)[:-2]  # without the closing ">>"
        extra = " ".join(f"/{k} {v.format(n=free)}" for k, v in entries.items())
        return {root.objgen[0]: body + b" " + extra.encode() + b" >>"}

    return change


def _with_new(num_body: str, then: Change) -> Change:
    def change(doc: pikepdf.Pdf, free: int) -> dict[int, bytes]:
        return {free: num_body.format(n=free).encode(), **then(doc, free)}

    return change


def _page_with(**entries: str) -> Change:
    def change(doc: pikepdf.Pdf, free: int) -> dict[int, bytes]:
        page = doc.pages[0].obj
        body = page.unparse(resolved=True)[:-2]
        extra = " ".join(f"/{k} {v.format(n=free)}" for k, v in entries.items())
        return {page.objgen[0]: body + b" " + extra.encode() + b" >>"}

    return change


def _extra_field(doc: pikepdf.Pdf, free: int) -> dict[int, bytes]:
    form = doc.Root.AcroForm
    sig = form.Fields[0]
    field = (
        f"<< /FT /Tx /T (extra) /V (x) /Rect [0 0 0 0] /Subtype /Widget /Type /Annot /P {doc.pages[0].objgen[0]} 0 R >>"
    )
    fields = f"[{sig.objgen[0]} {sig.objgen[1]} R {free} 0 R]"
    if form.is_indirect:
        body = pikepdf.Dictionary({k: v for k, v in form.items() if k != "/Fields"}).unparse()[:-2]
        return {free: field.encode(), form.objgen[0]: body + f" /Fields {fields} >>".encode()}
    root = doc.Root
    rest = pikepdf.Dictionary({k: v for k, v in form.items() if k != "/Fields"}).unparse()[:-2]
    others = pikepdf.Dictionary({k: v for k, v in root.items() if k != "/AcroForm"}).unparse()[:-2]
    return {free: field.encode(), root.objgen[0]: others + b" /AcroForm " + rest + f" /Fields {fields} >> >>".encode()}


def _unreferenced(doc: pikepdf.Pdf, free: int) -> dict[int, bytes]:
    return {free: b"<< /Orphan true >>"}


FORBIDDEN: dict[str, tuple[Change, str]] = {
    "javascript": (
        _with_new(
            "<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>",
            _root_with(Names="<< /JavaScript << /Names [(a) {n} 0 R] >> >>"),
        ),
        "javascript",
    ),
    "open-action": (_root_with(OpenAction="[0 /Fit]"), "open-action"),
    "additional-actions": (_page_with(AA="<< /O << /S /GoTo /D [0 /Fit] >> >>"), "additional-actions"),
    "uri-link": (
        _with_new(
            "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /URI /URI (https://evil.example/) >> >>",
            _page_with(Annots="[{n} 0 R]"),
        ),
        "annotation",
    ),
    "embedded-file": (
        _with_new(
            "<< /Type /EmbeddedFile /Length 5 >>\nstream\nhello\nendstream",
            _root_with(
                Names="<< /EmbeddedFiles << /Names [(a) << /Type /Filespec /F (a.txt) /EF << /F {n} 0 R >> >>] >> >>"
            ),
        ),
        "embedded-file",
    ),
    "extra-form-field": (_extra_field, "form-field"),
    "unreferenced-object": (_unreferenced, "unreferenced-object"),
}


@pytest.mark.parametrize("what", list(FORBIDDEN))
def test_each_forbidden_thing_added_to_a_copy_is_flagged(what: str, id_card_copy: bytes) -> None:
    change, code = FORBIDDEN[what]
    assert copy_structure_problems(id_card_copy) == []
    with pikepdf.open(io.BytesIO(id_card_copy)) as doc:
        objects = change(doc, int(doc.trailer.Size))
    altered = append_revision(id_card_copy, objects)
    with pikepdf.open(io.BytesIO(altered)):  # still a well-formed PDF
        pass
    problems = copy_structure_problems(altered)
    assert code in {c for c, _ in problems}, problems
    if what == "uri-link":
        assert any(c == "action" and d.endswith("/S /URI") for c, d in problems), problems


def test_a_forbidden_object_removed_again_by_a_later_revision_is_still_flagged(id_card_copy: bytes) -> None:
    """GIVEN a revision that adds JavaScript and a later one that puts the Root back as it was
    THEN the JavaScript is still in the file's bytes: flagged, and the orphaned action is unreferenced."""
    with pikepdf.open(io.BytesIO(id_card_copy)) as doc:
        free = int(doc.trailer.Size)
        original_root = {doc.Root.objgen[0]: doc.Root.unparse(resolved=True)}
        change = _with_new(
            "<< /Type /Action /S /JavaScript /JS (app.alert(2)) >>",
            _root_with(Names="<< /JavaScript << /Names [(a) {n} 0 R] >> >>"),
        )
        with_js = append_revision(id_card_copy, change(doc, free))
    restored = append_revision(with_js, original_root)
    with pikepdf.open(io.BytesIO(restored)) as doc:
        assert "/Names" not in doc.Root  # what a viewer shows of the last revision is clean
    problems = copy_structure_problems(restored)
    codes = {c for c, _ in problems}
    assert {"javascript", "unreferenced-object"} <= codes, problems
    assert any(c == "unreferenced-object" and f"object {free} 0" in d for c, d in problems), problems


def test_the_independent_check_fails_a_copy_with_an_unsigned_update(id_card_copy: bytes, pki: DevPki) -> None:
    with pikepdf.open(io.BytesIO(id_card_copy)) as doc:
        objects = FORBIDDEN["uri-link"][0](doc, int(doc.trailer.Size))
    failures = check_issued_copy(append_revision(id_card_copy, objects), [pki.root_cert_pem])
    assert any("Not total document signed" in f and "/Annots" in f for f in failures), failures
    assert any(f.startswith("structure rule annotation") for f in failures), failures


def test_an_unsigned_tail_that_only_adds_validation_data_passes(id_card_copy: bytes, pki: DevPki) -> None:
    """Validation data appended after the last signature (a DSS-only update, as pyHanko can write
    for B-LT) is not a change of the document: the independent check accepts it, and only it."""
    der = x509.load_pem_x509_certificate(pki.root_cert_pem).public_bytes(serialization.Encoding.DER)
    with pikepdf.open(io.BytesIO(id_card_copy)) as doc:
        free = int(doc.trailer.Size)
        objects = _with_new(f"<< /Length {len(der)} >>\nstream\n", _root_with(DSS="<< /Certs [{n} 0 R] >>"))(doc, free)
    objects[free] += der + b"\nendstream"
    with_dss = append_revision(id_card_copy, objects)
    assert check_issued_copy(with_dss, [pki.root_cert_pem]) == []
    with pikepdf.open(io.BytesIO(with_dss)) as doc:
        page = doc.pages[0].obj
        page.Rotate = 90
        turned = append_revision(with_dss, {page.objgen[0]: page.unparse(resolved=True)})
    failures = check_issued_copy(turned, [pki.root_cert_pem])
    assert any("Not total document signed" in f and "Rotate" in f for f in failures), failures


def test_copies_with_object_and_xref_streams_pass(pki: DevPki, key: SigningKey, id_card_copy: bytes) -> None:
    """No false positives when the rendered file uses object streams and an xref stream (pyHanko
    then writes its signature revision with an xref stream too)."""
    rendered_end = next(re.finditer(rb"%%EOF", id_card_copy)).end()
    with pikepdf.open(io.BytesIO(id_card_copy[:rendered_end])) as doc:
        out = io.BytesIO()
        doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    rendered = out.getvalue()
    assert b"/ObjStm" in rendered
    signed = sign_pdf(rendered, key, SignOptions())
    assert b"/XRef" in signed[len(rendered) :]
    assert copy_structure_problems(signed) == []
