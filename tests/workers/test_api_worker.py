"""Counter path through the API and real RQ workers on real Redis: intake → read → issue → verify.

Run on both backends: the embedded default (files + SQLite) and production's (S3 on SeaweedFS +
PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, SimpleWorker, Worker

from api.app import create_app
from api.auth import new_api_key
from api.state import AppState
from ecopy import wiring
from ecopy.devtools.ports import free_port
from ecopy.settings import Settings
from storage.objectstore import S3Store
from tests.support.corpus import corpus_doc
from tests.support.counter import counter_stack
from workers import jobs
from workers.queues import INTAKE_QUEUE, SIGN_QUEUE
from workflow import context


@pytest.fixture(params=["fs-sqlite", "s3-postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[dict]:
    overrides: dict = {"data_dir": tmp_path / "data", "redis_url": redis_url}
    s3 = None
    if request.param == "s3-postgresql":
        s3 = request.getfixturevalue("s3_server")
        overrides |= {
            "store": "s3",
            "s3_endpoint": s3.endpoint,
            "s3_access_key": s3.access_key,
            "s3_secret_key": s3.secret_key,
            "s3_bucket": f"t-{uuid.uuid4().hex[:12]}",
            "database_url": request.getfixturevalue("pg_url"),
        }
    settings = Settings(**overrides)
    services, conn, app = counter_stack(settings, redis_url)
    if request.param == "s3-postgresql":
        assert isinstance(services.store, S3Store)
    clerk = new_api_key(services.registry, role="clerk", office=settings.office)[1]
    signer = new_api_key(services.registry, role="signer", office=settings.office)[1]
    with TestClient(app, headers={"Authorization": f"Bearer {clerk}"}) as client:
        yield {"client": client, "services": services, "conn": conn, "s3": s3, "signer": signer}


def drain(conn: Redis, queue: str, *, fork: bool = True) -> None:
    """A real RQ worker (forking a work-horse per job, as in production) until the queue is empty."""
    cls = Worker if fork else SimpleWorker
    cls([Queue(queue, connection=conn)], connection=conn).work(burst=True)


def send_to_signer(stack: dict, intake_id: str) -> dict:
    """The clerk submits the read intake, the signer approves it: its signing job is queued."""
    client = stack["client"]
    r = client.post(f"/api/v1/intakes/{intake_id}/submit")
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/intakes/{intake_id}/approve", headers={"Authorization": f"Bearer {stack['signer']}"})
    assert r.status_code == 202 and r.json()["ecopy_id"], r.text
    return r.json()


def upload(client: TestClient, path: Path, **form: str) -> dict:
    with path.open("rb") as fh:
        r = client.post("/api/v1/intakes", files=[("files", (path.name, fh, "application/octet-stream"))], data=form)
    assert r.status_code == 202, r.text
    return r.json()


@pytest.mark.slow
def test_intake_to_verified_copy(stack: dict) -> None:
    client, conn, services = stack["client"], stack["conn"], stack["services"]
    assert client.get("/healthz").json()["status"] == "ok"
    files, _ = corpus_doc("dev_0004")
    intake_id = upload(client, files[0])["id"]
    assert client.get(f"/api/v1/intakes/{intake_id}").json()["status"] == "queued"

    drain(conn, INTAKE_QUEUE)
    intake = client.get(f"/api/v1/intakes/{intake_id}").json()
    assert intake["status"] == "ready", intake
    assert intake["doc_type"] == "cccd_front" and len(intake["fields"]["id_number"]["value"]) == 12

    approved = send_to_signer(stack, intake_id)
    drain(conn, SIGN_QUEUE)
    intake = client.get(f"/api/v1/intakes/{intake_id}").json()
    assert intake["status"] == "issued", intake
    ecopy_id = intake["ecopy_id"]
    assert ecopy_id == approved["ecopy_id"]  # the ID the signer was shown at approval

    record = services.registry.get_ecopy(ecopy_id)
    pdf = services.store.get(record.object_key)
    r = client.post("/api/v1/verify", files={"file": ("copy.pdf", pdf, "application/pdf")})
    assert r.json()["verdict"] == "valid" and r.json()["ecopy_id"] == ecopy_id
    assert client.post("/api/v1/verify", json={"ecopy_id": ecopy_id}).json()["verdict"] == "valid"
    page = client.get(f"/v/{ecopy_id}")
    assert page.status_code == 200 and "HỢP LỆ" in page.text and "Căn cước công dân" in page.text

    # WHEN the signing job runs again (a retry after a crash) THEN there is still one e-copy
    assert jobs.issue_intake(intake_id) == ecopy_id
    assert services.registry.count_ecopies() == 1
    assert [k for k in services.store.list("ecopies/") if k.endswith(".pdf")] == [record.object_key]

    # AND a revoked record verifies as revoked, by ID and by file
    services.registry.revoke(ecopy_id, "cấp nhầm")
    assert client.post("/api/v1/verify", json={"ecopy_id": ecopy_id}).json()["verdict"] == "revoked"
    assert (
        client.post("/api/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")}).json()["verdict"] == "revoked"
    )
    assert "ĐÃ BỊ THU HỒI" in client.get(f"/v/{ecopy_id}").text


def test_a_corrupt_scan_fails_with_reason_and_the_queue_carries_on(stack: dict, tmp_path: Path) -> None:
    client, conn = stack["client"], stack["conn"]
    files, _ = corpus_doc("dev_0004")
    data = files[0].read_bytes()
    broken = tmp_path / "broken.png"
    broken.write_bytes(data[: len(data) // 2])  # a PNG header, then nothing: passes the sniff
    bad_id = upload(client, broken)["id"]
    good_id = upload(client, files[0], doc_type="cccd_front")["id"]
    drain(conn, INTAKE_QUEUE)
    bad = client.get(f"/api/v1/intakes/{bad_id}").json()
    assert bad["status"] == "failed" and bad["error"]["code"] == "input.corrupt"
    assert "quét lại" in bad["error"]["message"]
    assert client.get(f"/api/v1/intakes/{good_id}").json()["status"] == "ready"
    r = client.post(f"/api/v1/intakes/{bad_id}/submit")
    assert r.status_code == 409 and r.json()["code"] == "intake.wrong_state"


def test_intake_refuses_bad_files_up_front(stack: dict) -> None:
    client = stack["client"]
    r = client.post("/api/v1/intakes", files=[("files", ("empty.png", b"", "image/png"))])
    assert r.status_code == 422 and r.json()["code"] == "input.empty"
    r = client.post("/api/v1/intakes", files=[("files", ("a.pdf", b"hello, not a pdf", "application/pdf"))])
    assert r.status_code == 415 and r.json()["code"] == "input.unsupported_type"
    r = client.post(
        "/api/v1/intakes",
        files=[("files", ("a.png", b"\x89PNG\r\n\x1a\n", "image/png"))],
        data={"doc_type": "spaceship_licence"},  # no such type in the catalogue
    )
    assert r.status_code == 422 and r.json()["code"] == "input.unknown_doc_type"
    assert client.get("/api/v1/intakes/nope").status_code == 404


def test_oversized_upload_gets_413_before_the_body_is_read(stack: dict) -> None:
    client = stack["client"]
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024)
    r = client.post("/api/v1/verify", files={"file": ("big.pdf", big, "application/pdf")})
    assert r.status_code == 413 and r.json()["code"] == "input.too_large"


def test_verify_page_for_unknown_and_malformed_ids(stack: dict) -> None:
    client = stack["client"]
    from pipeline.ecopy_id import new_ecopy_id

    r = client.get(f"/v/{new_ecopy_id()}")
    assert r.status_code == 200 and "KHÔNG TÌM THẤY" in r.text
    r = client.get("/v/not-an-id")
    assert "không đúng định dạng" in r.text


@pytest.mark.slow
def test_the_ecopy_worker_command_processes_what_serve_enqueued(stack: dict, tmp_path: Path, redis_url: str) -> None:
    """`ecopy worker` as its own process (the way `make run` and compose start it)."""
    client, services = stack["client"], stack["services"]
    env = dict(os.environ, ECOPY_REDIS_URL=redis_url, ECOPY_DATA_DIR=str(tmp_path / "data"))
    if isinstance(services.store, S3Store):
        s3 = stack["s3"]
        env |= {
            "ECOPY_STORE": "s3",
            "ECOPY_S3_ENDPOINT": s3.endpoint,
            "ECOPY_S3_ACCESS_KEY": s3.access_key,
            "ECOPY_S3_SECRET_KEY": s3.secret_key,
            "ECOPY_S3_BUCKET": services.store.bucket,
            "ECOPY_DATABASE_URL": services.registry.url,
        }
    files, _ = corpus_doc("dev_0004")
    intake_id = upload(client, files[0])["id"]
    worker = [sys.executable, "-m", "ecopy.cli", "worker", "--burst"]
    subprocess.run([*worker, "--queues", "intake"], env=env, check=True, timeout=300)
    assert client.get(f"/api/v1/intakes/{intake_id}").json()["status"] == "ready"
    send_to_signer(stack, intake_id)
    subprocess.run([*worker, "--queues", "sign"], env=env, check=True, timeout=300)
    intake = client.get(f"/api/v1/intakes/{intake_id}").json()
    assert intake["status"] == "issued"
    assert client.post("/api/v1/verify", json={"ecopy_id": intake["ecopy_id"]}).json()["verdict"] == "valid"


def test_an_unreachable_time_stamp_server_means_retrying_then_one_copy(stack: dict) -> None:
    """GIVEN a TSA that does not answer WHEN the sign job runs THEN the intake waits for a retry
    (RQ scheduled it) with a clerk's message; once the TSA is back, the retry issues exactly one copy."""
    import dataclasses

    from rq.registry import ScheduledJobRegistry

    client, conn, services = stack["client"], stack["conn"], stack["services"]
    files, _ = corpus_doc("dev_0004")
    intake_id = upload(client, files[0], doc_type="cccd_front")["id"]
    drain(conn, INTAKE_QUEUE)
    dead_port = free_port()  # a port nobody listens on
    dead_tsa = {
        name: dataclasses.replace(
            office,
            sign_options=dataclasses.replace(office.sign_options, timestamp_url=f"http://127.0.0.1:{dead_port}/tsa"),
        )
        for name, office in services.offices.items()
    }
    context.configure(dataclasses.replace(services, offices=dead_tsa))
    send_to_signer(stack, intake_id)
    drain(conn, SIGN_QUEUE)
    intake = client.get(f"/api/v1/intakes/{intake_id}").json()
    assert intake["status"] == "retrying" and intake["error"]["code"] == "sign.timestamp_unavailable"
    assert f"issue-{intake_id}" in ScheduledJobRegistry(SIGN_QUEUE, connection=conn).get_job_ids()
    assert services.registry.count_ecopies() == 0

    context.configure(services)  # the time-stamp server is back
    ecopy_id = jobs.issue_intake(intake_id)
    assert client.get(f"/api/v1/intakes/{intake_id}").json()["status"] == "issued"
    assert services.registry.count_ecopies() == 1 and services.registry.get_ecopy(ecopy_id) is not None


def test_two_signer_runs_of_one_intake_issue_one_copy(stack: dict) -> None:
    """A double click or two signer workers: both runs end with the same single e-copy."""
    import threading

    from workers.queues import enqueue_issue_intake

    client, conn, services = stack["client"], stack["conn"], stack["services"]
    files, _ = corpus_doc("dev_0004")
    intake_id = upload(client, files[0], doc_type="cccd_front")["id"]
    drain(conn, INTAKE_QUEUE)
    send_to_signer(stack, intake_id)  # queues the job once
    enqueue_issue_intake(conn, intake_id)
    enqueue_issue_intake(conn, intake_id)
    assert Queue(SIGN_QUEUE, connection=conn).count == 1

    results: list[object] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(jobs.issue_intake(intake_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    intake = client.get(f"/api/v1/intakes/{intake_id}").json()
    assert intake["status"] == "issued" and intake["ecopy_id"] == results[0]
    assert services.registry.count_ecopies() == 1
    assert [k for k in services.store.list("ecopies/") if k.endswith(".pdf")] == [f"ecopies/{results[0]}.pdf"]
    Queue(SIGN_QUEUE, connection=conn).empty()


def test_chunked_oversized_upload_is_413_too(stack: dict) -> None:
    def chunks():  # no Content-Length: the limit must hold while reading
        for _ in range(22):
            yield b"\0" * (1024 * 1024)

    r = stack["client"].post(
        "/api/v1/intakes", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code == 413 and r.json()["code"] == "input.too_large"


def test_malformed_requests_get_coded_errors(stack: dict) -> None:
    client = stack["client"]
    r = client.post("/api/v1/verify", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "input.invalid"
    r = client.post("/api/v1/intakes", data={"doc_type": "cccd_front"})  # no files at all
    assert r.status_code == 422 and r.json()["code"] == "request.invalid" and r.json()["message"]


def test_a_bad_file_among_good_ones_stores_nothing(stack: dict) -> None:
    client, services = stack["client"], stack["services"]
    files, _ = corpus_doc("dev_0004")
    r = client.post(
        "/api/v1/intakes",
        files=[
            ("files", ("page1.png", files[0].read_bytes(), "image/png")),
            ("files", ("page2.png", b"", "image/png")),
        ],
    )
    assert r.status_code == 422 and r.json()["code"] == "input.empty" and "page2.png" in r.json()["message"]
    assert services.store.list("intakes/") == []


def test_queue_down_means_503_and_the_intake_says_so(stack: dict) -> None:
    services = stack["services"]
    dead = free_port()  # a port nobody listens on
    app = create_app(
        AppState(
            registry=services.registry,
            store=services.store,
            redis=Redis(port=dead, socket_connect_timeout=1),
            trust_roots=services.trust_roots,
        )
    )
    files, _ = corpus_doc("dev_0004")
    with TestClient(app, headers=stack["client"].headers) as client:
        r = client.post("/api/v1/intakes", files=[("files", ("scan.png", files[0].read_bytes(), "image/png"))])
    assert r.status_code == 503 and r.json()["code"] == "queue.unavailable" and r.json()["retryable"] is True
    [intake] = services.registry.list_intakes()
    assert intake.status == "failed" and intake.error_code == "queue.unavailable"


@pytest.mark.parametrize("stack", ["fs-sqlite"], indirect=True)  # the crash window is the file store's
def test_a_run_that_died_after_storing_its_copy_is_completed_not_duplicated(stack: dict) -> None:
    """GIVEN a signer run that stored the signed PDF and died before its metadata and registry row
    WHEN the job runs again THEN it registers those very bytes, with the number and signer read
    back from the file, and issues nothing else."""
    from pipeline.ecopy_id import new_ecopy_id
    from workflow import issuing, serialize

    client, conn, services = stack["client"], stack["conn"], stack["services"]
    assert isinstance(services.store, wiring.FilesystemStore)
    files, _ = corpus_doc("dev_0004")
    intake_id = upload(client, files[0], doc_type="cccd_front")["id"]
    drain(conn, INTAKE_QUEUE)
    send_to_signer(stack, intake_id)
    ecopy_id = services.registry.reserve_ecopy_id(intake_id, new_ecopy_id())  # the approval's ID
    intake = services.registry.get_intake(intake_id)
    prefix = f"intakes/{intake_id}/work/"
    page = serialize.page_from_png(services.store.get(f"{prefix}page-000.png"), {"index": 0, "dpi": 300})
    req = issuing.IssueRequest(
        pages=[page],
        ocr=None,
        doc_type="cccd_front",
        fields=intake.fields,
        intake_id=intake_id,
        reserved_ecopy_id=ecopy_id,
    )
    stored = issuing._render_sign_store(
        req, services, services.signer_for(None), ecopy_id, issuing.ecopy_object_key(ecopy_id)
    )
    signed, number, signer_fp = stored.signed, stored.certificate_number, stored.signer_fp
    meta = services.store.root / "meta" / "ecopies" / f"{ecopy_id}.pdf.json"
    meta.unlink()  # the crash window: data linked, metadata not yet written

    assert jobs.issue_intake(intake_id) == ecopy_id
    rec = services.registry.get_ecopy(ecopy_id)
    assert rec.certificate_number == number and rec.signer_cert_sha256 == signer_fp
    assert services.store.get(rec.object_key) == signed
    assert services.registry.count_ecopies() == 1
    assert (
        client.post("/api/v1/verify", files={"file": ("c.pdf", signed, "application/pdf")}).json()["verdict"] == "valid"
    )
