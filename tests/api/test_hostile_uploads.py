"""Bombs and page-tree loops through the counter's path: upload via the API, read by a real RQ worker.

The work-horse hands each file to the parse sandbox: the bomb is refused with its code, the worker
(and this process) stays small and alive, and the normal intake queued behind them is read.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, Worker

from api.auth import new_api_key
from ecopy.settings import Settings
from tests.support.corpus import corpus_doc
from tests.support.counter import counter_stack
from tests.support.hostile import PAGE_TREE_LOOP, deflate_bomb_pdf
from workers.queues import INTAKE_QUEUE

MAX_RSS_KB = 1536 * 1024  # ru_maxrss is in kB on Linux


@pytest.fixture
def counter(tmp_path: Path, redis_url: str) -> Iterator[tuple[TestClient, Redis]]:
    settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url)
    services, conn, app = counter_stack(settings, redis_url)
    clerk = new_api_key(services.registry, role="clerk", office=settings.office)[1]
    with TestClient(app, headers={"Authorization": f"Bearer {clerk}"}) as client:
        yield client, conn
    services.registry.close()


def _upload(client: TestClient, name: str, data: bytes, **form: str) -> str:
    r = client.post("/api/v1/intakes", files=[("files", (name, data, "application/octet-stream"))], data=form)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


@pytest.mark.slow
def test_a_bomb_and_a_loop_are_refused_and_the_worker_reads_the_next_intake(
    counter: tuple[TestClient, Redis],
) -> None:
    client, conn = counter
    # GIVEN a deflate bomb (7 kB, 4 GB inflated), a page-tree loop, then a normal ID card, queued in that order
    bomb_id = _upload(client, "cong-van.pdf", deflate_bomb_pdf(4 << 30))
    loop_id = _upload(client, PAGE_TREE_LOOP.name, PAGE_TREE_LOOP.read_bytes())
    files, _ = corpus_doc("dev_0004")
    good_id = _upload(client, files[0].name, files[0].read_bytes(), doc_type="cccd_front")

    # WHEN a real RQ worker (forking a work-horse per job, as in production) drains the queue
    Worker([Queue(INTAKE_QUEUE, connection=conn)], connection=conn).work(burst=True)

    # THEN the bomb failed with its own code and a clerk's message
    bomb = client.get(f"/api/v1/intakes/{bomb_id}").json()
    assert bomb["status"] == "failed" and bomb["error"]["code"] == "input.too_complex", bomb
    assert "quét lại" in bomb["error"]["message"]
    # AND the loop ended as a document or a coded refusal, never as a crash of the job
    loop = client.get(f"/api/v1/intakes/{loop_id}").json()
    assert loop["status"] in ("ready", "review", "failed"), loop
    if loop["status"] == "failed":
        assert loop["error"]["code"].startswith("input."), loop
    # AND the intake queued behind them was read
    good = client.get(f"/api/v1/intakes/{good_id}").json()
    assert good["status"] == "ready", good
    # AND neither this process nor any work-horse came near the bomb's size
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < MAX_RSS_KB
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < MAX_RSS_KB
