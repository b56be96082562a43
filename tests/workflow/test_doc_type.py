"""A document nobody named the type of is never issued: the clerk names or changes the type at review,
"other" carries the clerk's title into the statement and the registry, and archive batches hold
unrecognised documents for review.

Real Tesseract, real Redis and RQ workers, real signatures; the registry on SQLite and PostgreSQL.
The unrecognised document is a page of plain Vietnamese prose with no title, drawn here with PIL.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from redis import Redis
from rq import Queue, SimpleWorker

from ecopy import wiring
from ecopy.settings import Settings
from pipeline.errors import UnknownDocumentTypeError
from pipeline.models import SourceFile
from pipeline.read.doctypes import registry as doctypes
from pipeline.read.load import LoadLimits, load_document
from storage.registry import IntakeRecord, Registry
from tests.support.corpus import corpus_doc
from workers.queues import BATCH_QUEUE, INTAKE_QUEUE, SIGN_QUEUE, RqJobs
from workflow import batch, context, counter
from workflow.batch_source import ArchiveLimits, open_source
from workflow.context import Services
from workflow.errors import DocTitleRequiredError, IntakeWrongStateError, TypeRequiredError
from workflow.issuing import IssueRequest, issue_ecopy

TITLE = "Bảng điểm toàn khóa"
CLERK, SIGNER = "user:tiepnhan", "user:nguoiky"
PROSE = (
    "Buổi sáng hôm ấy trời trong và gió nhẹ. Chúng tôi đi bộ dọc bờ sông, nhìn những chiếc thuyền nhỏ chở rau "
    "và hoa quả về chợ. Người bán hàng gọi nhau í ới, tiếng cười nói vang khắp bến. Bà cụ ngồi dưới gốc đa kể "
    "lại chuyện ngày xưa, khi con đường này còn là lối mòn đầy cỏ dại. Trẻ con chạy theo đàn vịt, còn những "
    "người thợ may bên hiên nhà vẫn đều tay đạp máy. Chiều xuống, khói bếp bay lên từ những mái nhà thấp."
)


def prose_page(path: Path) -> Path:
    """A scanned page of prose with no title: no catalogue type claims it."""
    img = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 40)
    y = 200
    for _ in range(2):
        for line in textwrap.wrap(PROSE, 62):
            draw.text((150, y), line, font=font, fill=0)
            y += 60
        y += 60
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, dpi=(200, 200))
    return path


@dataclass
class Env:
    services: Services
    registry: Registry
    conn: Redis
    settings: Settings
    tmp: Path

    @property
    def jobs(self) -> RqJobs:
        return RqJobs(self.conn)

    def drain(self) -> None:
        SimpleWorker(
            [Queue(q, connection=self.conn) for q in (INTAKE_QUEUE, SIGN_QUEUE, BATCH_QUEUE)], connection=self.conn
        ).work(burst=True)

    def intake(self, intake_id: str) -> IntakeRecord:
        found = self.registry.get_intake(intake_id)
        assert found is not None
        return found

    def upload_prose(self, doc_type: str | None = None, doc_title: str | None = None) -> IntakeRecord:
        return self.upload(prose_page(self.tmp / "prose.png"), doc_type, doc_title)

    def upload(self, page: Path, doc_type: str | None = None, doc_title: str | None = None) -> IntakeRecord:
        return counter.create(
            self.registry,
            self.services.store,
            self.jobs,
            actor=CLERK,
            office=self.settings.office,
            uploads=[SourceFile(page.name, page.read_bytes())],
            doc_type=doc_type,
            owner_id=None,
            doc_title=doc_title,
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[Env]:
    overrides: dict = {"data_dir": tmp_path / "data", "redis_url": redis_url}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("pg_url")
    settings = Settings(**overrides)
    services = wiring.build_services(settings, with_key=True)
    context.configure(services)
    conn = Redis.from_url(redis_url)
    for q in (INTAKE_QUEUE, SIGN_QUEUE, BATCH_QUEUE):
        Queue(q, connection=conn).empty()
    yield Env(services, services.registry, conn, settings, tmp_path)
    for q in (INTAKE_QUEUE, SIGN_QUEUE, BATCH_QUEUE):
        Queue(q, connection=conn).empty()
    services.registry.close()


def statement_text(env: Env, ecopy_id: str) -> str:
    """The issued PDF's text as poppler reads it (independently of our renderer)."""
    rec = env.registry.get_ecopy(ecopy_id)
    assert rec is not None
    pdf = env.tmp / f"{ecopy_id}.pdf"
    pdf.write_bytes(env.services.store.get(rec.object_key))
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True).stdout


@pytest.mark.slow
def test_an_unrecognised_document_waits_until_the_clerk_names_it_other_then_carries_its_title(env: Env) -> None:
    # GIVEN a page of prose uploaded at the counter without a type
    intake = env.upload_prose()
    env.drain()
    intake = env.intake(intake.id)
    # THEN the reader does not recognise it: with the clerk, no fields, and nothing may go to the signer
    assert (intake.status, intake.doc_type, intake.doc_title) == ("ready", doctypes.UNKNOWN, None)
    with pytest.raises(TypeRequiredError) as refused:
        counter.submit(env.registry, intake, CLERK)
    assert refused.value.code == "intake.type_required" and "Giấy tờ khác" in refused.value.message
    assert env.intake(intake.id).status == "ready"

    # WHEN the clerk picks "other" but types no title THEN it is refused and nothing changes
    with pytest.raises(DocTitleRequiredError) as no_title:
        counter.change_type(env.registry, intake, CLERK, doctypes.OTHER, "   ", jobs=env.jobs)
    assert no_title.value.code == "input.doc_title_required"
    with pytest.raises(UnknownDocumentTypeError):
        counter.change_type(env.registry, intake, CLERK, "bang_diem_cu", None, jobs=env.jobs)
    assert env.intake(intake.id).doc_type == doctypes.UNKNOWN

    # WHEN the clerk names it "other" with its title THEN it is read again with that type
    changed = counter.change_type(env.registry, intake, CLERK, doctypes.OTHER, f"  {TITLE} ", jobs=env.jobs)
    assert (changed.status, changed.doc_type_hint, changed.doc_title) == ("queued", doctypes.OTHER, TITLE)
    env.drain()
    intake = env.intake(intake.id)
    assert (intake.status, intake.doc_type, intake.doc_title) == ("ready", doctypes.OTHER, TITLE)
    # AND the history says who changed it from what to what
    events = [e for e in env.registry.list_intake_events(intake.id) if e.action == "type_changed"]
    assert len(events) == 1 and events[0].actor == CLERK
    assert events[0].detail["from"] == {"doc_type": doctypes.UNKNOWN, "doc_title": None}
    assert events[0].detail["to"] == {"doc_type": doctypes.OTHER, "doc_title": TITLE}
    assert events[0].detail["read_again"] is True

    # WHEN it is submitted, approved and signed THEN the copy's statement and record carry the title
    intake = counter.submit(env.registry, intake, CLERK)
    approval = counter.approve(env.registry, intake, SIGNER, signs_for=(), jobs=env.jobs)
    env.drain()
    assert env.intake(intake.id).status == "issued"
    rec = env.registry.get_ecopy(approval.ecopy_id)
    assert rec is not None and (rec.doc_type, rec.doc_title) == (doctypes.OTHER, TITLE)
    text = " ".join(statement_text(env, rec.ecopy_id).split())
    assert f"Giấy tờ được chứng thực: {TITLE};" in text
    assert "Giấy tờ khác" not in text and "Công văn" not in text


@pytest.mark.slow
def test_the_clerk_changes_the_type_at_review_and_it_is_read_with_that_types_extractor(env: Env) -> None:
    # GIVEN an ID card the clerk wrongly named "other" at upload: read with no fields
    (card,), _ = corpus_doc("dev_0004")
    intake = env.upload(card, doctypes.OTHER, TITLE)
    env.drain()
    intake = env.intake(intake.id)
    assert (intake.status, intake.doc_type, intake.doc_title, intake.fields) == ("ready", "other", TITLE, {})

    # WHEN only the title of "other" changes THEN nothing is read again
    retitled = counter.change_type(env.registry, intake, CLERK, doctypes.OTHER, "Học bạ", jobs=env.jobs)
    assert (retitled.status, retitled.doc_title) == ("ready", "Học bạ")
    assert Queue(INTAKE_QUEUE, connection=env.conn).count == 0

    # WHEN the clerk changes it to the ID card type THEN it is read again with that type's extractor,
    # and the clerk's title gives way to the type's own
    changed = counter.change_type(env.registry, retitled, CLERK, "cccd_front", "ignored", jobs=env.jobs)
    assert (changed.status, changed.doc_title, changed.fields) == ("queued", None, {})
    env.drain()
    intake = env.intake(intake.id)
    assert (intake.status, intake.doc_type, intake.doc_title) == ("ready", "cccd_front", None)
    assert len(intake.fields["id_number"]["value"]) == 12
    history = [(e.action, e.detail.get("read_again")) for e in env.registry.list_intake_events(intake.id)]
    assert history.count(("type_changed", False)) == 1 and history.count(("type_changed", True)) == 1

    # WHEN the intake is with the signer THEN its type cannot be changed
    intake = counter.submit(env.registry, intake, CLERK)
    with pytest.raises(IntakeWrongStateError):
        counter.change_type(env.registry, intake, CLERK, doctypes.OTHER, TITLE, jobs=env.jobs)
    assert env.intake(intake.id).status == "submitted"


def test_no_step_towards_a_signature_takes_a_document_without_a_named_type(env: Env) -> None:
    """Seeded without OCR: an intake read as unknown that somehow reached the signer, and "other"
    without its title, are not approved; the issuing itself refuses both before signing anything."""
    for n, (doc_type, title) in enumerate(((doctypes.UNKNOWN, None), (doctypes.OTHER, None), (None, None))):
        intake_id = f"seed-{n}"
        env.registry.create_intake(intake_id, office=env.settings.office, file_keys=["k"], file_names=["a.png"])
        intake = env.registry.update_intake(intake_id, status="submitted", doc_type=doc_type, doc_title=title)
        with pytest.raises((TypeRequiredError, DocTitleRequiredError)):
            counter.approve(env.registry, intake, SIGNER, signs_for=(), jobs=env.jobs)
        assert env.intake(intake_id).status == "submitted" and env.intake(intake_id).approved_by is None
    page = prose_page(env.tmp / "p.png")
    pages = load_document([SourceFile("p.png", page.read_bytes())], LoadLimits())
    for doc_type, title, error in (
        (doctypes.UNKNOWN, None, TypeRequiredError),
        (doctypes.OTHER, None, DocTitleRequiredError),
        (doctypes.OTHER, " ", DocTitleRequiredError),
    ):
        with pytest.raises(error):
            req = IssueRequest(pages=pages, ocr=None, doc_type=doc_type, fields={}, doc_title=title)
            issue_ecopy(req, env.services)
    assert env.registry.count_ecopies() == 0
    assert [k for k in env.services.store.list("ecopies/")] == []


@pytest.mark.slow
def test_archive_batches_send_unrecognised_documents_to_review_never_issue_them(env: Env) -> None:
    src = env.tmp / "kho"
    prose_page(src / "van-xuoi.png")
    (card,), _ = corpus_doc("dev_0004")  # an ID card every confidence of which passes
    (src / "the.png").write_bytes(card.read_bytes())

    with open_source(str(src), limits=ArchiveLimits()) as source:
        result = batch.submit_batch(
            source,
            registry=env.registry,
            store=env.services.store,
            jobs=env.jobs,
            office=env.settings.office,
            doc_type=None,
            limits=LoadLimits(),
        )
    env.drain()
    by_ref = {i.source_ref: i for i in env.registry.batch_intakes(result.batch.id)}
    assert by_ref["the.png"].status == "issued"
    prose = by_ref["van-xuoi.png"]
    assert (prose.status, prose.doc_type, prose.needs_review, prose.ecopy_id) == ("review", "unknown", True, None)
    assert batch.next_step(prose) is None  # the reconciler leaves it to a person
    assert env.registry.count_ecopies() == 1

    # WHEN a person names its type at review THEN it is read again and comes back to review, not issued
    counter.change_type(env.registry, prose, CLERK, "generic_letter", None, jobs=env.jobs)
    env.drain()
    prose = env.intake(prose.id)
    assert (prose.status, prose.doc_type, prose.needs_review) == ("review", "generic_letter", True)
    assert env.registry.count_ecopies() == 1


def test_a_batch_of_other_documents_needs_their_title(env: Env) -> None:
    src = env.tmp / "kho2"
    src.mkdir()
    (src / "a.png").write_bytes(b"not read: refused before anything is recorded")
    with open_source(str(src), limits=ArchiveLimits()) as source, pytest.raises(DocTitleRequiredError):
        batch.submit_batch(
            source,
            registry=env.registry,
            store=env.services.store,
            jobs=env.jobs,
            office=env.settings.office,
            doc_type=doctypes.OTHER,
            limits=LoadLimits(),
        )
    assert env.registry.list_intakes(limit=10) == []
