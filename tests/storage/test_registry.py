"""The registry on SQLite and on a real PostgreSQL (the ``registry`` fixture runs each test on both)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from storage.errors import DuplicateError, InvalidStateError, NotFoundError, StorageError, StorageUnavailableError
from storage.registry import EcopyRecord, Registry
from tests.support.services import free_ports

FIELDS = {
    "ho_ten": {"value": "NGUYỄN THỊ HỒNG NHUNG", "confidence": 0.93},
    "ngay_sinh": {"value": "05/09/1998", "confidence": 0.71},
}


def make_ecopy(n: int = 1, **changes: Any) -> EcopyRecord:
    rec = EcopyRecord(
        ecopy_id=f"EC{n:04d}",
        doc_type="birth_certificate",
        fields=FIELDS,
        sha256=hashlib.sha256(f"pdf-{n}".encode()).hexdigest(),
        object_key=f"ecopies/2026/EC{n:04d}.pdf",
        office="UBND phường Bến Thành",
        signer_cert_sha256="ab" * 32,
        issued_at=dt.datetime(2026, 11, 21, 3, 4, 5, 678000, tzinfo=dt.UTC),
        updated_at=dt.datetime(2026, 11, 21, 3, 4, 5, 678000, tzinfo=dt.UTC),
        certificate_number=f"{n}/2026",
        page_count=2,
        intake_id=f"intake-{n}",
    )
    return dataclasses.replace(rec, **changes)


def run_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---- e-copies -----------------------------------------------------------------------------------
def test_add_get_and_find(registry: Registry) -> None:
    rec = make_ecopy(1)
    stored = registry.add_ecopy(rec)

    assert stored == rec
    assert registry.get_ecopy("EC0001") == rec
    assert registry.find_by_sha256(rec.sha256) == rec
    assert registry.find_by_sha256(rec.sha256.upper()) == rec
    assert registry.find_by_intake("intake-1") == rec
    assert registry.get_ecopy("nope") is None
    assert registry.find_by_sha256("0" * 64) is None
    assert registry.find_by_intake("nope") is None
    assert registry.count_ecopies() == 1
    # times come back timezone-aware UTC; Vietnamese survives JSON on both databases
    assert stored.issued_at.tzinfo is not None and stored.issued_at.utcoffset() == dt.timedelta(0)
    assert stored.fields["ho_ten"]["value"] == "NGUYỄN THỊ HỒNG NHUNG"


def test_times_in_other_zones_are_stored_as_utc(registry: Registry) -> None:
    hanoi = dt.timezone(dt.timedelta(hours=7))
    rec = make_ecopy(1, issued_at=dt.datetime(2026, 11, 21, 10, 0, tzinfo=hanoi))
    stored = registry.add_ecopy(rec)
    assert stored.issued_at == dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)
    assert stored.issued_at.tzinfo == dt.UTC


def test_naive_times_are_refused(registry: Registry) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        registry.add_ecopy(make_ecopy(1, issued_at=dt.datetime(2026, 1, 1)))


def test_add_is_idempotent_per_intake(registry: Registry) -> None:
    # GIVEN the signing job for intake-1 registered EC0001
    first = registry.add_ecopy(make_ecopy(1))
    # WHEN it runs again and produced another ID and other bytes (a new signature time)
    again = registry.add_ecopy(make_ecopy(2, intake_id="intake-1"))
    # THEN the first registration stands and nothing is added
    assert again == first
    assert registry.get_ecopy("EC0002") is None
    assert registry.count_ecopies() == 1


def test_concurrent_adds_for_one_intake_register_one_copy(registry: Registry) -> None:
    results = run_threads(6, lambda i: registry.add_ecopy(make_ecopy(10 + i, intake_id="intake-x")))
    assert all(isinstance(r, EcopyRecord) for r in results), results
    assert len({r.ecopy_id for r in results}) == 1
    assert registry.count_ecopies() == 1


def test_the_same_bytes_cannot_be_registered_twice(registry: Registry) -> None:
    registry.add_ecopy(make_ecopy(1))
    with pytest.raises(DuplicateError) as err:
        registry.add_ecopy(make_ecopy(2, sha256=make_ecopy(1).sha256))
    assert err.value.code == "registry.duplicate" and err.value.http_status == 409
    assert registry.count_ecopies() == 1


def test_readding_the_same_record_without_intake_is_a_no_op(registry: Registry) -> None:
    rec = make_ecopy(1, intake_id=None)
    registry.add_ecopy(rec)
    assert registry.add_ecopy(rec) == rec
    with pytest.raises(DuplicateError):
        registry.add_ecopy(make_ecopy(2, ecopy_id="EC0001", intake_id=None))


def test_revoke_keeps_the_issued_facts(registry: Registry) -> None:
    rec = registry.add_ecopy(make_ecopy(1))

    revoked = registry.revoke("EC0001", "Cấp nhầm người yêu cầu")

    assert revoked.status == "revoked"
    assert revoked.revoked_reason == "Cấp nhầm người yêu cầu"
    assert revoked.superseded_by is None
    assert (revoked.sha256, revoked.object_key, revoked.issued_at) == (
        rec.sha256,
        rec.object_key,
        rec.issued_at,
    )
    assert revoked.updated_at > rec.updated_at
    assert registry.get_ecopy("EC0001") == revoked
    # the same revocation again changes nothing
    assert registry.revoke("EC0001", "lý do khác") == revoked
    assert registry.count_ecopies(status="revoked") == 1
    assert registry.count_ecopies(status="issued") == 0


def test_supersede_and_what_follows(registry: Registry) -> None:
    registry.add_ecopy(make_ecopy(1))
    registry.add_ecopy(make_ecopy(2))
    registry.revoke("EC0001", "Sai ngày sinh")  # first revoked …
    superseded = registry.revoke("EC0001", "Đính chính ngày sinh", superseded_by="EC0002")  # … then replaced

    assert superseded.status == "superseded" and superseded.superseded_by == "EC0002"
    assert registry.revoke("EC0001", "Đính chính ngày sinh", superseded_by="EC0002") == superseded
    with pytest.raises(InvalidStateError):
        registry.revoke("EC0001", "again", superseded_by="EC0003")
    with pytest.raises(InvalidStateError):
        registry.revoke("EC0001", "now plain revoke")
    with pytest.raises(NotFoundError):
        registry.revoke("EC9999", "không có")
    with pytest.raises(ValueError):
        registry.revoke("EC0002", "  ")


# ---- certification book numbers ---------------------------------------------------------------
def test_certificate_numbers_count_per_office_and_year(registry: Registry) -> None:
    assert [registry.next_certificate_number("Bến Thành", 2026) for _ in range(3)] == [1, 2, 3]
    assert registry.next_certificate_number("Bến Thành", 2027) == 1
    assert registry.next_certificate_number("Sài Gòn", 2026) == 1
    assert registry.next_certificate_number("Bến Thành", 2026) == 4


def test_concurrent_callers_never_share_a_number(registry: Registry) -> None:
    per_thread = 15

    def take(_i: int) -> list[int]:
        return [registry.next_certificate_number("Bến Thành", 2026) for _ in range(per_thread)]

    results = run_threads(8, take)
    assert not [r for r in results if isinstance(r, Exception)], results
    numbers = sorted(n for r in results for n in r)
    assert numbers == list(range(1, 8 * per_thread + 1))


# ---- intakes ------------------------------------------------------------------------------------
def test_intake_lifecycle(registry: Registry) -> None:
    created = registry.create_intake(
        "in-1", "UBND phường Bến Thành", ["scans/in-1/0.jpg", "scans/in-1/1.jpg"], ["mặt trước.jpg", "2.jpg"],
        "birth_certificate",
    )  # fmt: skip
    assert created.status == "received"
    assert created.file_names == ["mặt trước.jpg", "2.jpg"]
    assert created.fields == {} and created.text == [] and created.ecopy_id is None
    assert created.created_at.tzinfo is not None
    assert registry.get_intake("in-1") == created

    updated = registry.update_intake(
        "in-1",
        status="review",
        doc_type="birth_certificate",
        fields=FIELDS,
        text=["GIẤY KHAI SINH", "Họ tên"],
    )
    assert updated.status == "review" and updated.fields == FIELDS
    assert updated.text == ["GIẤY KHAI SINH", "Họ tên"]
    assert updated.created_at == created.created_at and updated.updated_at >= created.updated_at

    failed = registry.update_intake("in-1", status="failed", error_code="ocr.failed", error_message="Không đọc được")
    assert (failed.error_code, failed.error_message, failed.fields) == (
        "ocr.failed",
        "Không đọc được",
        FIELDS,
    )
    assert [i.id for i in registry.list_intakes(status="failed")] == ["in-1"]
    assert registry.list_intakes(status="review") == []


def test_intake_errors(registry: Registry) -> None:
    registry.create_intake("in-1", "P1", ["a"], ["a.jpg"])
    assert registry.get_intake("nope") is None
    with pytest.raises(NotFoundError):
        registry.update_intake("nope", status="review")
    with pytest.raises(TypeError):
        registry.update_intake("in-1", colour="blue")
    with pytest.raises(ValueError):
        registry.create_intake("in-2", "P1", ["a", "b"], ["a.jpg"])
    # creating the same intake again (an HTTP retry) returns it; other files under that ID do not
    assert registry.create_intake("in-1", "P1", ["a"], ["a.jpg"]).id == "in-1"
    with pytest.raises(DuplicateError):
        registry.create_intake("in-1", "P1", ["other"], ["o.jpg"])


# ---- schema and connections -------------------------------------------------------------------
def test_migrate_twice_is_a_no_op(registry: Registry, registry_url: str) -> None:
    registry.add_ecopy(make_ecopy(1))
    registry.migrate()  # the fixture already migrated once
    assert registry.count_ecopies() == 1
    engine = sa.create_engine(registry.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == ["0005"]
        tables = set(sa.inspect(engine).get_table_names())
        assert {"ecopies", "intakes", "certificate_sequences", "batches", "alembic_version"} <= tables
        assert {"users", "api_keys", "sessions", "lookups", "intake_events"} <= tables
    finally:
        engine.dispose()


def test_concurrent_migrations_on_a_fresh_database(registry_url: str) -> None:
    registries = [Registry(registry_url) for _ in range(3)]
    try:
        results = run_threads(3, lambda i: registries[i].migrate())
        assert results == [None, None, None]
        assert registries[0].count_ecopies() == 0
    finally:
        for reg in registries:
            reg.close()


def test_postgresql_down_is_retryable() -> None:
    (closed_port,) = free_ports(1)
    registry = Registry(f"postgresql://postgres@127.0.0.1:{closed_port}/ecopy")
    try:
        with pytest.raises(StorageUnavailableError) as err:
            registry.get_ecopy("EC0001")
        assert err.value.retryable and err.value.http_status == 503
    finally:
        registry.close()


def test_plain_postgresql_urls_use_psycopg3() -> None:
    registry = Registry("postgresql://u@db.example/ecopy")
    try:
        assert registry.url.startswith("postgresql+psycopg://")
        assert registry.dialect == "postgresql"
    finally:
        registry.close()


def test_reserve_ecopy_id_keeps_the_first_reservation(registry: Registry) -> None:
    registry.create_intake("in-res", office="X", file_keys=["k"], file_names=["a.png"])
    assert registry.reserve_ecopy_id("in-res", "FIRST") == "FIRST"
    assert registry.reserve_ecopy_id("in-res", "SECOND") == "FIRST"
    assert registry.get_intake("in-res").ecopy_id == "FIRST"


def test_upgrade_from_0001_keeps_existing_intakes_and_copies(registry_url: str) -> None:
    """A registry created before archive batches existed upgrades in place (SQLite rebuilds the table)."""
    from alembic import command
    from alembic.config import Config

    from storage.registry import MIGRATIONS_DIR

    old = Registry(registry_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sa.create_engine(old.url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            now = dt.datetime.now(dt.UTC)
            conn.execute(
                sa.text(
                    "INSERT INTO intakes (id, status, office, file_keys, file_names, fields, text, created_at, "
                    "updated_at) VALUES ('old-1', 'ready', 'UBND', '[]', '[]', '{}', '[]', :t, :t)"
                ),
                {"t": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO ecopies (ecopy_id, doc_type, fields, sha256, object_key, office, signer_cert_sha256, "
                    "status, issued_at, updated_at, certificate_number, page_count) VALUES ('OLD1', 'cccd', '{}', "
                    "'ab12', 'ecopies/OLD1.pdf', 'UBND', 'cd34', 'issued', :t, :t, '1', 1)"
                ),
                {"t": now},
            )
    finally:
        engine.dispose()
    old.migrate()
    old.add_ecopy(make_ecopy(1))
    found = old.find_by_sha256("AB12")
    assert found is not None and found.ecopy_id == "OLD1" and found.version == 1
    assert [v.sha256 for v in old.ecopy_versions("OLD1")] == ["ab12"]  # backfilled as version 1
    intake = old.get_intake("old-1")
    assert intake is not None and intake.status == "ready" and intake.batch_id is None and intake.needs_review is None
    assert old.count_ecopies() == 2
    assert found.doc_title is None and intake.doc_title is None  # no title recorded before 0005
    old.update_intake("old-1", status="review", needs_review=True, min_confidence=0.5)
    assert old.get_intake("old-1").finished_at is not None  # type: ignore[union-attr]
    old.close()


def test_the_lookup_log_is_append_only_in_the_database(registry: Registry) -> None:
    """Not only the code: an UPDATE, DELETE (or, on PostgreSQL, TRUNCATE) from anyone fails."""
    from storage.access import LookupRecord

    registry.add_lookup(LookupRecord(actor="public", channel="qr", verdict="valid", ecopy_id="E1", client="127.0.0.1"))
    registry.add_lookup(LookupRecord(actor="key:abc", channel="record", verdict="revoked", ecopy_id="E1"))
    statements = ["UPDATE lookups SET verdict = 'unknown'", "DELETE FROM lookups WHERE id = 1"]
    if registry.dialect == "postgresql":
        statements.append("TRUNCATE lookups")
    for statement in statements:
        with pytest.raises(StorageError, match="append-only"):
            registry._tx("tamper", lambda c, q=statement: c.execute(sa.text(q)))  # type: ignore[misc]
    assert [(x.actor, x.verdict) for x in registry.list_lookups("E1")] == [("key:abc", "revoked"), ("public", "valid")]


def test_users_keys_and_sessions(registry: Registry) -> None:
    from storage.access import ApiKeyRecord, SessionRecord, UserRecord
    from storage.errors import DuplicateError

    user = UserRecord(
        id="u1", username="lan", password_hash="$argon2id$x", role="clerk", office="UBND", display_name="Lan"
    )
    registry.create_user(user)
    with pytest.raises(DuplicateError):
        registry.create_user(dataclasses.replace(user, id="u2"))
    assert registry.get_user_by_username("lan").id == "u1"  # type: ignore[union-attr]
    registry.create_api_key(ApiKeyRecord(id="k1", secret_sha256="a" * 64, role="verifier", office="ĐH", label="x"))
    assert registry.revoke_api_key("k1") and not registry.revoke_api_key("k1")
    assert registry.get_api_key("k1").revoked_at is not None  # type: ignore[union-attr]
    now = dt.datetime.now(dt.UTC)
    old = SessionRecord(
        token_sha256="t0", principal_kind="user", principal_id="u1", csrf="c", created_at=now, expires_at=now
    )
    registry.create_session(old)
    fresh = dataclasses.replace(old, token_sha256="t1", expires_at=now + dt.timedelta(hours=1))
    registry.create_session(fresh)  # sweeps the expired one
    assert registry.get_session("t0") is None and registry.get_session("t1") == fresh
    registry.delete_session("t1")
    assert registry.get_session("t1") is None


def test_the_documents_title_is_stored_on_intakes_and_copies(registry: Registry) -> None:
    """GIVEN a document of type "other" whose title the clerk typed, THEN the intake keeps it, the
    issued copy keeps the title its statement printed, and both read back as written."""
    title = "Bảng điểm toàn khóa"
    intake = registry.create_intake("t-1", office="UBND", file_keys=["k"], file_names=["a.png"], doc_title=title)
    assert intake.doc_title == title
    changed = registry.update_intake("t-1", doc_type="other", doc_title="Học bạ trung học phổ thông")
    assert (changed.doc_type, changed.doc_title) == ("other", "Học bạ trung học phổ thông")
    rec = dataclasses.replace(make_ecopy(7), doc_type="other", doc_title=title)
    registry.add_ecopy(rec)
    stored = registry.get_ecopy(rec.ecopy_id)
    assert stored is not None and stored.doc_title == title
    assert registry.find_by_sha256(rec.sha256).doc_title == title  # type: ignore[union-attr]
