"""Both object stores through the same tests; S3 against a real SeaweedFS server."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import Minio
from minio.error import S3Error

from storage.errors import (
    ImmutableObjectError,
    InvalidKeyError,
    ObjectCorruptError,
    ObjectExistsError,
    ObjectNotFoundError,
    StorageAccessDeniedError,
    StorageError,
    StorageUnavailableError,
)
from storage.objectstore import FilesystemStore, ObjectStore, S3Store
from tests.support.services import S3Service, free_ports

PDF = b"%PDF-1.7\n" + os.urandom(2048) + b"\n%%EOF\n"


def _minio(s3: S3Service) -> Minio:
    return Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False, region=s3.region)


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "filesystem":
        yield FilesystemStore(tmp_path / "objects")
    else:
        s3: S3Service = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("s3_bucket")
        yield S3Store(s3.endpoint, s3.access_key, s3.secret_key, bucket, retention_days=1)


# ---- the contract, for both backends -----------------------------------------------------------
def test_put_get_stat_roundtrip_with_metadata(store: ObjectStore) -> None:
    meta = {"office": "UBND phường Bến Thành", "Intake-Id": "in-1", "note": "100% đúng"}
    info = store.put("scans/in-1/page-1.pdf", PDF, content_type="application/pdf", metadata=meta)

    assert info.size == len(PDF)
    assert info.sha256 == hashlib.sha256(PDF).hexdigest()
    assert info.immutable is False
    assert store.get("scans/in-1/page-1.pdf") == PDF
    stat = store.stat("scans/in-1/page-1.pdf")
    assert stat is not None
    assert (stat.key, stat.size, stat.sha256, stat.content_type) == (
        "scans/in-1/page-1.pdf",
        len(PDF),
        info.sha256,
        "application/pdf",
    )
    # metadata names come back lower-case, values exactly as given (Vietnamese, '%')
    assert stat.metadata == {"office": "UBND phường Bến Thành", "intake-id": "in-1", "note": "100% đúng"}
    assert store.exists("scans/in-1/page-1.pdf")


def test_missing_objects(store: ObjectStore) -> None:
    assert store.stat("nope/x.pdf") is None
    assert not store.exists("nope/x.pdf")
    with pytest.raises(ObjectNotFoundError) as err:
        store.get("nope/x.pdf")
    assert err.value.http_status == 404 and err.value.code == "storage.not_found"
    store.delete("nope/x.pdf")  # deleting what is not there is a no-op


def test_list_by_prefix(store: ObjectStore) -> None:
    for key in ("scans/a/1.jpg", "scans/a/2.jpg", "scans/ab/1.jpg", "scans/b/1.jpg", "ecopies/x.pdf"):
        store.put(key, key.encode())
    assert store.list("scans/a/") == ["scans/a/1.jpg", "scans/a/2.jpg"]
    assert store.list("scans/a") == ["scans/a/1.jpg", "scans/a/2.jpg", "scans/ab/1.jpg"]
    assert store.list("scans/") == ["scans/a/1.jpg", "scans/a/2.jpg", "scans/ab/1.jpg", "scans/b/1.jpg"]
    assert store.list("scans/a/1") == ["scans/a/1.jpg"]
    assert store.list("nothing/") == []
    assert len(store.list()) == 5


def test_mutable_objects_can_be_replaced_and_deleted(store: ObjectStore) -> None:
    store.put("tmp/x", b"one")
    store.put("tmp/x", b"two", content_type="text/plain")
    assert store.get("tmp/x") == b"two"
    stat = store.stat("tmp/x")
    assert stat is not None and stat.content_type == "text/plain"
    store.delete("tmp/x")
    assert not store.exists("tmp/x")
    assert store.list("tmp/") == []


def test_write_once_is_idempotent_for_the_same_bytes(store: ObjectStore) -> None:
    # GIVEN an issued e-copy
    first = store.put("ecopies/E1.pdf", PDF, content_type="application/pdf", immutable=True)
    assert first.immutable
    # WHEN the signing job runs again and stores the very same bytes
    again = store.put("ecopies/E1.pdf", PDF, content_type="application/pdf", immutable=True)
    # THEN nothing changes and the caller gets the stored object
    assert again.sha256 == first.sha256
    assert again.version_id == first.version_id
    assert store.get("ecopies/E1.pdf") == PDF


def test_write_once_refuses_other_bytes_overwrite_and_delete(store: ObjectStore) -> None:
    store.put("ecopies/E2.pdf", PDF, immutable=True)

    with pytest.raises(ObjectExistsError) as err:
        store.put("ecopies/E2.pdf", PDF + b"tampered", immutable=True)
    assert err.value.code == "storage.object_exists" and not err.value.retryable
    with pytest.raises(ObjectExistsError):
        store.put("ecopies/E2.pdf", b"a mutable put cannot replace it either")
    with pytest.raises(ImmutableObjectError):
        store.delete("ecopies/E2.pdf")

    assert store.get("ecopies/E2.pdf") == PDF
    assert store.list("ecopies/") == ["ecopies/E2.pdf"]


def test_racing_write_once_puts_have_exactly_one_winner(store: ObjectStore) -> None:
    payloads = [PDF + str(i).encode() for i in range(4)]
    outcomes: list[object] = [None] * len(payloads)
    barrier = threading.Barrier(len(payloads))

    def writer(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = store.put("ecopies/race.pdf", payloads[i], immutable=True)
        except ObjectExistsError as e:
            outcomes[i] = e

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    winners = [i for i, o in enumerate(outcomes) if not isinstance(o, ObjectExistsError)]
    assert len(winners) == 1, outcomes
    assert store.get("ecopies/race.pdf") == payloads[winners[0]]


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "/etc/passwd",
        "a/../../b",
        "a//b",
        "a/./b",
        "a\\b",
        "",
        "trailing/",
        "nul\x00byte",
        "x" * 1025,
    ],
)
def test_keys_that_could_escape_are_refused(store: ObjectStore, key: str, tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(InvalidKeyError):
        store.put(key, b"x")
    with pytest.raises(InvalidKeyError):
        store.get(key)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_reserved_metadata_names_are_refused(store: ObjectStore) -> None:
    with pytest.raises(ValueError):
        store.put("m/x", b"x", metadata={"sha256": "0" * 64})
    with pytest.raises(ValueError):
        store.put("m/x", b"x", metadata={"bad name": "x"})


def test_describe_says_where(store: ObjectStore) -> None:
    assert store.describe() and store.describe() in repr(store)


# ---- filesystem specifics ---------------------------------------------------------------------
def test_filesystem_write_once_files_are_read_only(tmp_path: Path) -> None:
    fs = FilesystemStore(tmp_path / "objects")
    fs.put("ecopies/E3.pdf", PDF, immutable=True)
    mode = (tmp_path / "objects" / "data" / "ecopies" / "E3.pdf").stat().st_mode
    assert mode & 0o222 == 0
    assert list((tmp_path / "objects" / "tmp").iterdir()) == []  # no temp files left behind


def test_filesystem_key_cannot_be_object_and_folder(tmp_path: Path) -> None:
    fs = FilesystemStore(tmp_path / "objects")
    fs.put("a/b", b"x")
    with pytest.raises(InvalidKeyError):
        fs.put("a/b/c", b"y")
    with pytest.raises(InvalidKeyError):
        fs.put("a", b"z")
    assert fs.stat("a/b/c") is None and fs.stat("a") is None
    assert fs.list() == ["a/b"]


def test_filesystem_symlink_cannot_lead_out_of_the_store(tmp_path: Path) -> None:
    fs = FilesystemStore(tmp_path / "objects")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "objects" / "data" / "link").symlink_to(outside)
    with pytest.raises(InvalidKeyError):
        fs.put("link/x", b"x")
    assert list(outside.iterdir()) == []


def test_filesystem_detects_changed_bytes_of_an_immutable_object(tmp_path: Path) -> None:
    fs = FilesystemStore(tmp_path / "objects")
    fs.put("ecopies/E4.pdf", PDF, immutable=True)
    path = tmp_path / "objects" / "data" / "ecopies" / "E4.pdf"
    path.chmod(0o644)
    path.write_bytes(PDF.replace(b"%%EOF", b"%%EOX"))
    path.chmod(0o444)
    with pytest.raises(ObjectCorruptError):
        fs.get("ecopies/E4.pdf")


def test_filesystem_unwritable_root_is_unavailable(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    with pytest.raises(StorageUnavailableError) as err:
        FilesystemStore(not_a_dir / "objects")
    assert err.value.retryable


# ---- S3 specifics ------------------------------------------------------------------------------
def test_s3_bucket_is_created_with_object_lock_and_retention_is_set(s3_server: S3Service, s3_bucket: str) -> None:
    store = S3Store(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, s3_bucket, retention_days=3)
    info = store.put("ecopies/E5.pdf", PDF, content_type="application/pdf", immutable=True)

    client = _minio(s3_server)
    assert client.get_bucket_versioning(s3_bucket).status == "Enabled"
    client.get_object_lock_config(s3_bucket)  # raises if the bucket has no object lock
    retention = client.get_object_retention(s3_bucket, "ecopies/E5.pdf")
    assert retention is not None and retention.mode == "GOVERNANCE"
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    assert retention.retain_until_date is not None
    assert abs((retention.retain_until_date - expected).total_seconds()) < 120
    assert info.retain_until is not None and info.version_id
    headers = client.stat_object(s3_bucket, "ecopies/E5.pdf").metadata or {}
    assert headers["x-amz-meta-sha256"] == info.sha256

    # The server itself refuses to delete the locked version (not only our delete()).
    with pytest.raises(S3Error) as err:
        client.remove_object(s3_bucket, "ecopies/E5.pdf", version_id=info.version_id)
    assert err.value.code == "AccessDenied"


def test_s3_compliance_mode_is_configurable(s3_server: S3Service, s3_bucket: str) -> None:
    store = S3Store(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        s3_bucket,
        retention_days=1,
        retention_mode="COMPLIANCE",
    )
    store.put("ecopies/E6.pdf", b"%PDF compliance", immutable=True)
    retention = _minio(s3_server).get_object_retention(s3_bucket, "ecopies/E6.pdf")
    assert retention is not None and retention.mode == "COMPLIANCE"


def test_s3_without_retention_still_write_once(s3_server: S3Service, s3_bucket: str) -> None:
    store = S3Store(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, s3_bucket)
    info = store.put("ecopies/E7.pdf", PDF, immutable=True)
    assert info.immutable and info.retain_until is None
    with pytest.raises(ObjectExistsError):
        store.put("ecopies/E7.pdf", b"other", immutable=True)


def test_s3_existing_bucket_without_object_lock_is_refused_when_retention_is_asked(
    s3_server: S3Service, s3_bucket: str
) -> None:
    _minio(s3_server).make_bucket(s3_bucket)  # plain bucket, made by someone else
    store = S3Store(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, s3_bucket, retention_days=1)
    with pytest.raises(StorageError) as err:
        store.put("ecopies/E8.pdf", PDF, immutable=True)
    assert "object lock" in str(err.value.detail)


def test_s3_server_down_is_retryable_and_fast(s3_bucket: str) -> None:
    (closed_port,) = free_ports(1)  # nothing listens there
    store = S3Store(f"127.0.0.1:{closed_port}", "ak", "sk", s3_bucket, retention_days=1)
    started = time.monotonic()
    for call in (lambda: store.put("a/b", b"x"), lambda: store.get("a/b"), lambda: store.list("a/")):
        with pytest.raises(StorageUnavailableError) as err:
            call()
        assert err.value.retryable and err.value.http_status == 503
        assert err.value.to_dict()["code"] == "storage.unavailable"
    assert time.monotonic() - started < 15


def test_s3_wrong_credentials_are_not_retryable(s3_server: S3Service, s3_bucket: str) -> None:
    store = S3Store(s3_server.endpoint, s3_server.access_key, "wrong-secret", s3_bucket)
    with pytest.raises(StorageAccessDeniedError) as err:
        store.put("a/b", b"x")
    assert not err.value.retryable
