"""The document's type and title over HTTP: upload with ``doc_type`` + ``doc_title``, the type changed
at review, refusals with their codes, and the title in the statement, the API answers (vi / en) and
the pages (``/v/{id}``, the copy's record, the clerk's intake page with its type picker).

Real Tesseract, Redis and RQ workers, real signatures; SQLite and files. The unrecognised document
is a page of plain Vietnamese prose with no title, drawn here with PIL.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont
from redis import Redis
from rq import Queue, SimpleWorker

from api.auth import new_api_key
from ecopy.settings import Settings
from pipeline.read.doctypes import registry as doctypes
from tests.support.counter import counter_stack
from workers.queues import INTAKE_QUEUE, SIGN_QUEUE

TITLE = "Bảng điểm toàn khóa"
PROSE = (
    "Buổi sáng hôm ấy trời trong và gió nhẹ. Chúng tôi đi bộ dọc bờ sông, nhìn những chiếc thuyền nhỏ chở rau "
    "và hoa quả về chợ. Người bán hàng gọi nhau í ới, tiếng cười nói vang khắp bến. Bà cụ ngồi dưới gốc đa kể "
    "lại chuyện ngày xưa, khi con đường này còn là lối mòn đầy cỏ dại. Trẻ con chạy theo đàn vịt, còn những "
    "người thợ may bên hiên nhà vẫn đều tay đạp máy. Chiều xuống, khói bếp bay lên từ những mái nhà thấp."
)


def prose_png(path: Path) -> bytes:
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
    img.save(path, dpi=(200, 200))
    return path.read_bytes()


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[dict[str, Any]]:
    settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url)
    services, conn, app = counter_stack(settings, redis_url)
    clerk = new_api_key(services.registry, role="clerk", office=settings.office)[1]
    signer = new_api_key(services.registry, role="signer", office=settings.office)[1]
    with TestClient(app, headers={"Authorization": f"Bearer {clerk}"}) as client:
        yield {
            "client": client,
            "services": services,
            "conn": conn,
            "clerk": clerk,
            "signer": {"Authorization": f"Bearer {signer}"},
            "prose": prose_png(tmp_path / "van-xuoi.png"),
            "tmp": tmp_path,
        }
    for q in (INTAKE_QUEUE, SIGN_QUEUE):
        Queue(q, connection=conn).empty()
    services.registry.close()


def drain(conn: Redis) -> None:
    SimpleWorker([Queue(q, connection=conn) for q in (INTAKE_QUEUE, SIGN_QUEUE)], connection=conn).work(burst=True)


def upload(stack: dict[str, Any], **form: str) -> Any:
    files = [("files", ("van-xuoi.png", stack["prose"], "image/png"))]
    return stack["client"].post("/api/v1/intakes", files=files, data=form)


def pdf_text(stack: dict[str, Any], ecopy_id: str) -> str:
    """The issued PDF's text as poppler reads it, whitespace folded."""
    rec = stack["services"].registry.get_ecopy(ecopy_id)
    path = stack["tmp"] / f"{ecopy_id}.pdf"
    path.write_bytes(stack["services"].store.get(rec.object_key))
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True).stdout
    return " ".join(out.split())


@pytest.mark.slow
def test_other_with_the_clerks_title_is_issued_under_that_title_everywhere(stack: dict[str, Any]) -> None:
    client, conn = stack["client"], stack["conn"]
    # GIVEN a document outside the catalogue, uploaded as "other" with its title
    r = upload(stack, doc_type="other", doc_title=f" {TITLE}  ")
    assert r.status_code == 202, r.text
    intake_id = r.json()["id"]
    drain(conn)
    intake = client.get(f"/api/v1/intakes/{intake_id}").json()
    assert (intake["status"], intake["doc_type"], intake["doc_title"]) == ("ready", "other", TITLE)
    assert intake["doc_type_label"] == "Giấy tờ khác" and intake["type_required"] is False

    # WHEN the clerk submits and the signer approves
    assert client.post(f"/api/v1/intakes/{intake_id}/submit").status_code == 200
    r = client.post(f"/api/v1/intakes/{intake_id}/approve", headers=stack["signer"])
    assert r.status_code == 202, r.text
    drain(conn)
    ecopy_id = client.get(f"/api/v1/intakes/{intake_id}").json()["ecopy_id"]
    assert ecopy_id

    # THEN the statement in the signed PDF names the clerk's title, never the catalogue's "other" nor a letter
    text = pdf_text(stack, ecopy_id)
    assert f"Giấy tờ được chứng thực: {TITLE};" in text
    assert "Giấy tờ khác" not in text and "Công văn" not in text
    # AND the registry, the API (in Vietnamese and in English) and the verification pages carry it
    assert stack["services"].registry.get_ecopy(ecopy_id).doc_title == TITLE
    rec = client.get(f"/api/v1/ecopies/{ecopy_id}").json()["record"]
    assert (rec["doc_title"], rec["doc_type_label"]) == (TITLE, "Giấy tờ khác")
    rec_en = client.get(f"/api/v1/ecopies/{ecopy_id}", headers={"Accept-Language": "en"}).json()["record"]
    assert (rec_en["doc_title"], rec_en["doc_type_label"]) == (TITLE, "Other document")
    public = TestClient(client.app)  # the public check: no credentials
    assert public.post("/api/v1/verify", json={"ecopy_id": ecopy_id}).json()["record"]["doc_title"] == TITLE
    page = public.get(f"/v/{ecopy_id}")
    assert page.status_code == 200 and "HỢP LỆ" in page.text and TITLE in page.text
    assert TITLE in public.get(f"/v/{ecopy_id}?lang=en").text
    assert TITLE in client.get(f"/api/v1/intakes/{intake_id}?lang=en").json()["doc_title"]


@pytest.mark.slow
def test_an_unrecognised_document_is_refused_until_the_clerk_names_its_type(stack: dict[str, Any]) -> None:
    client, conn = stack["client"], stack["conn"]
    # GIVEN prose uploaded with no type
    intake_id = upload(stack).json()["id"]
    drain(conn)
    intake = client.get(f"/api/v1/intakes/{intake_id}").json()
    # THEN it is with the clerk, its type not recognised, with a note that says to choose the type
    assert (intake["status"], intake["doc_type"], intake["doc_title"]) == ("ready", "unknown", None)
    assert intake["type_required"] is True and "Giấy tờ khác" in intake["type_note"]
    assert intake["doc_type_label"] == "Chưa nhận ra loại giấy tờ"

    # AND it cannot go to the signer: its own code, a Vietnamese message, an English one on request
    r = client.post(f"/api/v1/intakes/{intake_id}/submit")
    assert r.status_code == 409 and r.json()["code"] == "intake.type_required", r.text
    assert "chọn loại giấy tờ" in r.json()["message"]
    r = client.post(f"/api/v1/intakes/{intake_id}/submit", headers={"Accept-Language": "en"})
    assert r.json()["code"] == "intake.type_required" and "Other document" in r.json()["message"]

    # WHEN the clerk names a type wrongly THEN each refusal has its code and nothing changes
    url = f"/api/v1/intakes/{intake_id}/type"
    r = client.post(url, json={"doc_type": "other"})
    assert r.status_code == 422 and r.json()["code"] == "input.doc_title_required"
    r = client.post(url, json={"doc_type": "other", "doc_title": "   "})
    assert r.status_code == 422 and r.json()["code"] == "input.doc_title_required"
    r = client.post(url, json={"doc_type": "bang_diem_xyz", "doc_title": TITLE})
    assert r.status_code == 422 and r.json()["code"] == "input.unknown_doc_type"
    assert client.post(url, json={}).status_code == 422
    assert client.get(f"/api/v1/intakes/{intake_id}").json()["doc_type"] == "unknown"

    # WHEN the clerk names it "other" with its title THEN it is read again, and may then be submitted
    r = client.post(url, json={"doc_type": "other", "doc_title": TITLE})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["doc_title"]) == ("queued", TITLE)
    drain(conn)
    intake = client.get(f"/api/v1/intakes/{intake_id}").json()
    assert (intake["status"], intake["doc_type"], intake["type_required"]) == ("ready", "other", False)
    changes = [e for e in intake["events"] if e["action"] == "type_changed"]
    assert len(changes) == 1 and changes[0]["actor"].startswith("key:")
    assert changes[0]["detail"]["from"]["doc_type"] == "unknown" and changes[0]["detail"]["to"]["doc_title"] == TITLE
    assert client.post(f"/api/v1/intakes/{intake_id}/submit").json()["status"] == "submitted"
    # AND once with the signer, its type is no longer the clerk's to change
    r = client.post(url, json={"doc_type": "generic_letter"})
    assert r.status_code == 409 and r.json()["code"] == "intake.wrong_state"


def test_upload_refuses_a_type_without_its_title_before_storing_anything(stack: dict[str, Any]) -> None:
    client = stack["client"]
    r = upload(stack, doc_type="other")
    assert r.status_code == 422 and r.json()["code"] == "input.doc_title_required", r.text
    assert "Giấy tờ khác" in r.json()["message"]
    r = upload(stack, doc_type="nope")
    assert r.status_code == 422 and r.json()["code"] == "input.unknown_doc_type"
    r = upload(stack, doc_title=TITLE)  # a title with no type: the clerk is told to choose "other"
    assert r.status_code == 409 and r.json()["code"] == "intake.type_required"
    assert stack["services"].registry.list_intakes(limit=10) == []
    assert Queue(INTAKE_QUEUE, connection=stack["conn"]).count == 0
    # a catalogue type needs no title: its label is the title
    r = upload(stack, doc_type="generic_letter", doc_title="bỏ qua")
    assert r.status_code == 202
    intake = stack["services"].registry.get_intake(r.json()["id"])
    assert (intake.doc_type_hint, intake.doc_title) == ("generic_letter", None)
    assert client.get(f"/api/v1/intakes/{intake.id}").json()["doc_title"] is None  # not read yet


@pytest.mark.slow
def test_the_pages_offer_the_type_picker_and_the_title_box(stack: dict[str, Any]) -> None:
    client, conn = stack["client"], stack["conn"]
    intake_id = upload(stack).json()["id"]
    drain(conn)
    browser = TestClient(client.app)  # a person signed in with a session, as at the counter
    r = browser.post("/login", data={"api_key": stack["clerk"]}, follow_redirects=False)
    assert r.status_code == 303
    counter = browser.get("/counter").text
    assert 'list="upload-doc-types"' in counter and 'id="upload-title-box"' in counter
    for name in doctypes.doc_type_names():  # every catalogue type, read from the registry
        assert f'data-name="{name}"' in counter
    page = browser.get(f"/counter/intakes/{intake_id}").text
    assert 'id="type-note"' in page and "Hệ thống không nhận ra loại giấy tờ này" in page
    assert 'id="intake-doc-type-search"' in page and 'id="change-type"' in page
    assert 'id="intake-title-box" hidden' in page  # shown by the script when "other" is chosen
    assert "Chưa nhận ra loại giấy tờ" in page
    page_en = browser.get(f"/counter/intakes/{intake_id}?lang=en").text
    assert "Change the type and read again" in page_en and "did not recognise" in page_en
