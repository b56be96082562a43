"""`ecopy batch` with a ZIP holding a deflate bomb among good documents: the good ones are issued,
the bomb is reported with its code, and the workers carry on.

Runs what the CLI runs (``ecopy.batchrun``: open the source, ``submit_batch`` with the settings'
limits, the summary and report), with real forking RQ workers on real Redis.
"""

from __future__ import annotations

import io
import resource
import zipfile
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker

from ecopy import batchrun, wiring
from ecopy.settings import Settings
from tests.support.corpus import corpus_doc
from tests.support.hostile import deflate_bomb_pdf
from workers.queues import BATCH_QUEUE, SIGN_QUEUE, RqJobs
from workflow import batch, context
from workflow.batch_source import open_source

GOOD = "dev_0004"  # an ID card read with every confidence above the review threshold
MAX_RSS_KB = 1536 * 1024


@pytest.mark.slow
def test_a_bomb_in_an_archive_is_reported_with_its_code_and_the_good_documents_are_issued(
    tmp_path: Path, redis_url: str
) -> None:
    settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url)
    services = wiring.build_services(settings, with_key=True)
    context.configure(services)
    conn = Redis.from_url(redis_url)
    for key in conn.scan_iter("rq:*"):
        conn.delete(key)

    # GIVEN an archive: a good ID card, a 7-kB PDF that inflates to 4 GB, another good card
    (card,), _ = corpus_doc(GOOD)
    archive = tmp_path / "kho.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a-the.png", card.read_bytes())
        z.writestr("b-cong-van.pdf", deflate_bomb_pdf(4 << 30))
        z.writestr("c-the/trang-1.png", card.read_bytes())

    # WHEN the batch is submitted as `ecopy batch` does and real workers drain the queues
    with open_source(str(archive), limits=wiring.archive_limits(settings), s3=None) as source:
        result = batch.submit_batch(
            source,
            registry=services.registry,
            store=services.store,
            jobs=RqJobs(conn),
            office=settings.office,
            doc_type=None,
            limits=wiring.load_limits(settings),
        )
    assert result.created == 3
    Worker([Queue(q, connection=conn) for q in ("intake", SIGN_QUEUE, BATCH_QUEUE)], connection=conn).work(burst=True)

    # THEN the good documents are issued and the bomb failed with its own code
    by_ref = {i.source_ref: i for i in services.registry.batch_intakes(result.batch.id)}
    assert {k: v.status for k, v in by_ref.items()} == {
        "a-the.png": "issued",
        "b-cong-van.pdf": "failed",
        "c-the": "issued",
    }
    assert by_ref["b-cong-van.pdf"].error_code == "input.too_complex"
    assert services.registry.count_ecopies() == 2
    # AND the CLI's summary and report name the bomb with its code and a clerk's message
    out = io.StringIO()
    exit_code = batchrun.print_summary(services.registry, result.batch.id, tmp_path / "bc", out=out)
    assert exit_code == 1  # a document failed
    assert "b-cong-van.pdf: [input.too_complex]" in out.getvalue() and "quét lại" in out.getvalue()
    rows = {r.source_ref: r for r in batch.report_rows(services.registry, result.batch.id)}
    assert rows["b-cong-van.pdf"].error_code == "input.too_complex" and rows["a-the.png"].ecopy_id
    # AND no work-horse came near the bomb's size
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < MAX_RSS_KB
    services.registry.close()
