"""workflow.batch_source: folders, ZIP files (hostile ones included), single files and S3 prefixes.

Every archive is built here. For each refused document the test checks the error code AND that the
other documents of the same source are still listed and readable.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import struct
import warnings
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from minio import Minio
from PIL import Image

from pipeline.errors import CorruptFileError, EncryptedFileError, TooLargeError
from pipeline.read.load import sniff_type
from storage.objectstore import S3Access, S3Reader
from tests.support.services import S3Service
from workflow.batch_source import ArchiveLimits, BatchDocument, BatchSource, natural_key, open_source
from workflow.errors import (
    ArchiveTooLargeError,
    NestedArchiveError,
    SourceNotFoundError,
    TooManyEntriesError,
    UnsafePathError,
    ZipBombError,
)


# ---- helpers -----------------------------------------------------------------------------------
@cache
def png(seed: int = 0) -> bytes:
    """A small real PNG, different per seed."""
    im = Image.new("RGB", (120, 160), ((seed * 37) % 256, (seed * 91) % 256, 200))
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


def by_ref(source: BatchSource) -> dict[str, BatchDocument]:
    return {d.ref: d for d in source.documents}


def assert_refused(source: BatchSource, ref: str, code: str) -> None:
    doc = by_ref(source)[ref]
    assert doc.error is not None, f"{ref} should be refused with {code}"
    assert doc.error.code == code, (ref, doc.error.code, doc.error.detail)
    assert doc.files == ()
    assert doc.error.message and doc.error.detail  # a clerk's message and a technical detail


def read_all(doc: BatchDocument) -> list[bytes]:
    assert doc.error is None, (doc.ref, doc.error)
    assert doc.files
    datas = [f.read() for f in doc.files]
    for f, data in zip(doc.files, datas, strict=True):
        assert sniff_type(data) == "png", f.name
        assert len(data) == f.size
    return datas


def write_zip(
    path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]], *, compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name" is what some tests want
        with zipfile.ZipFile(path, "w", compression=compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def patch_member(path: Path, name: str, *, file_size: int | None = None, flag_bits: int | None = None) -> None:
    """Rewrite fields of one member in both its local header and the central directory."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        offset = zf.getinfo(name).header_offset
    # local file header: flags at +6, uncompressed size at +22
    assert data[offset : offset + 4] == b"PK\x03\x04"
    if flag_bits is not None:
        struct.pack_into("<H", data, offset + 6, flag_bits)
    if file_size is not None:
        struct.pack_into("<L", data, offset + 22, file_size)
    # central directory header: flags at +8, uncompressed size at +24, name length at +28, name at +46
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        (name_len,) = struct.unpack_from("<H", data, pos + 28)
        if bytes(data[pos + 46 : pos + 46 + name_len]) == name.encode():
            if flag_bits is not None:
                struct.pack_into("<H", data, pos + 8, flag_bits)
            if file_size is not None:
                struct.pack_into("<L", data, pos + 24, file_size)
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    else:
        raise AssertionError(f"{name} not in central directory")
    path.write_bytes(bytes(data))


def symlink_member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


# ---- natural order -----------------------------------------------------------------------------
def test_natural_key_orders_numbers_by_value() -> None:
    names = ["page10.png", "Page2.png", "page1.png", "page02b.png", "a", "hồ sơ 3", "hồ sơ 12"]
    assert sorted(names, key=natural_key) == [
        "a",
        "hồ sơ 3",
        "hồ sơ 12",
        "page1.png",
        "Page2.png",
        "page02b.png",
        "page10.png",
    ]


# ---- folder source -----------------------------------------------------------------------------
@pytest.fixture
def batch_dir(tmp_path: Path) -> Path:
    root = tmp_path / "lô 1"
    root.mkdir()
    (root / "scan10.png").write_bytes(png(10))
    (root / "scan2.png").write_bytes(png(2))
    hoso = root / "hoso-02"
    hoso.mkdir()
    for n in (10, 2, 1):
        (hoso / f"page{n}.png").write_bytes(png(100 + n))
    (hoso / "Thumbs.db").write_bytes(b"junk")
    (hoso / ".DS_Store").write_bytes(b"junk")
    # ignored everywhere
    (root / ".hidden.png").write_bytes(png(3))
    (root / "desktop.ini").write_bytes(b"[x]")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "._scan2.png").write_bytes(b"junk")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_bytes(b"ref")
    # refused documents
    nested = root / "hoso-03"
    (nested / "sub").mkdir(parents=True)
    (nested / "page1.png").write_bytes(png(31))
    (nested / "sub" / "page2.png").write_bytes(png(32))
    linked = root / "hoso-04"
    linked.mkdir()
    (linked / "page1.png").write_bytes(png(41))
    (linked / "page2.png").symlink_to(root / "scan2.png")
    (root / "link.png").symlink_to("/etc/passwd")
    (root / "hoso-05").mkdir()  # empty
    (root / "archive.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\0" * 30)
    return root


def test_dir_source_lists_file_and_folder_documents(batch_dir: Path) -> None:
    with open_source(str(batch_dir)) as source:
        assert source.kind == "dir"
        assert source.location == str(batch_dir.resolve())
        assert source.fingerprint == hashlib.sha256(str(batch_dir.resolve()).encode()).hexdigest()
        assert [d.ref for d in source.documents] == [
            "archive.7z",
            "hoso-02",
            "hoso-03",
            "hoso-04",
            "hoso-05",
            "link.png",
            "scan2.png",
            "scan10.png",
        ]
        docs = by_ref(source)
        assert [f.name for f in docs["hoso-02"].files] == ["page1.png", "page2.png", "page10.png"]
        assert read_all(docs["hoso-02"]) == [png(101), png(102), png(110)]
        assert read_all(docs["scan2.png"]) == [png(2)]
        assert read_all(docs["scan10.png"]) == [png(10)]
        assert_refused(source, "hoso-03", "input.nested_folder")
        assert_refused(source, "hoso-04", "input.unsafe_path")
        assert_refused(source, "link.png", "input.unsafe_path")
        assert_refused(source, "hoso-05", "input.empty")
        assert_refused(source, "archive.7z", "input.nested_archive")

    # the same refs and fingerprint on every run
    with open_source(str(batch_dir) + "/") as again:
        assert [d.ref for d in again.documents] == [d.ref for d in source.documents]
        assert again.fingerprint == source.fingerprint


def test_dir_file_replaced_by_a_symlink_after_listing_is_refused_on_read(batch_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(png(99))
    with open_source(str(batch_dir)) as source:
        docs = by_ref(source)
        (batch_dir / "scan2.png").unlink()
        (batch_dir / "scan2.png").symlink_to(secret)
        (batch_dir / "hoso-02").rename(tmp_path / "elsewhere")
        (batch_dir / "hoso-02").symlink_to(tmp_path / "elsewhere")
        with pytest.raises(UnsafePathError):
            docs["scan2.png"].files[0].read()
        with pytest.raises(UnsafePathError):
            docs["hoso-02"].files[0].read()
        assert read_all(docs["scan10.png"]) == [png(10)]


def test_dir_read_enforces_the_size_limit_on_the_actual_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png(1))
    (tmp_path / "b.png").write_bytes(png(2))
    limits = ArchiveLimits(max_file_bytes=len(png(1)) + 100)
    with open_source(str(tmp_path), limits=limits) as source:
        with open(tmp_path / "a.png", "ab") as grow:  # the file grows after it was listed
            grow.write(b"\0" * 10_000)
        with pytest.raises(TooLargeError) as err:
            by_ref(source)["a.png"].files[0].read()
        assert err.value.code == "input.too_large"
        assert read_all(by_ref(source)["b.png"]) == [png(2)]


def test_dir_names_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    with open(os.path.join(root, b"bad\xff.png"), "wb") as f:
        f.write(png(1))
    os.mkdir(os.path.join(root, b"hoso"))
    with open(os.path.join(root, b"hoso", b"page\xfe.png"), "wb") as f:
        f.write(png(2))
    (tmp_path / "ok.png").write_bytes(png(3))
    with open_source(str(tmp_path)) as source:
        assert [d.ref for d in source.documents] == ["bad\\xff.png", "hoso", "ok.png"]
        assert_refused(source, "bad\\xff.png", "input.unsafe_path")
        assert_refused(source, "hoso", "input.unsafe_path")
        assert read_all(by_ref(source)["ok.png"]) == [png(3)]
        for d in source.documents:
            d.ref.encode("utf-8")  # storable as text


def test_dir_with_too_many_entries_is_refused_whole(tmp_path: Path) -> None:
    for n in range(6):
        (tmp_path / f"scan{n}.png").write_bytes(png(n))
    with pytest.raises(TooManyEntriesError) as err:
        open_source(str(tmp_path), limits=ArchiveLimits(max_entries=5))
    assert err.value.code == "input.too_many_entries"
    with open_source(str(tmp_path), limits=ArchiveLimits(max_entries=6)) as source:
        assert len(source.documents) == 6


def test_missing_path_is_source_not_found(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError) as err:
        open_source(str(tmp_path / "nope"))
    assert err.value.code == "input.source_not_found"


# ---- single file -------------------------------------------------------------------------------
def test_single_file_is_a_batch_of_one(tmp_path: Path) -> None:
    path = tmp_path / "giấy khai sinh.png"
    path.write_bytes(png(7))
    with open_source(str(path)) as source:
        assert source.kind == "file"
        assert source.location == str(path.resolve())
        assert source.fingerprint == hashlib.sha256(png(7)).hexdigest()
        assert [d.ref for d in source.documents] == ["giấy khai sinh.png"]
        assert read_all(source.documents[0]) == [png(7)]


def test_single_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(png(7))
    with open_source(str(path), limits=ArchiveLimits(max_file_bytes=100)) as source:
        assert_refused(source, "scan.png", "input.too_large")


# ---- ZIP: the good parts -----------------------------------------------------------------------
def test_zip_source_lists_documents_and_ignores_junk(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "lô.zip",
        [
            ("scan10.png", png(10)),
            ("scan2.png", png(2)),
            ("hồ sơ 01/", b""),
            ("hồ sơ 01/trang 10.png", png(110)),
            ("hồ sơ 01/trang 2.png", png(102)),
            ("hồ sơ 01/Thumbs.db", b"junk"),
            ("__MACOSX/._scan2.png", b"junk"),
            ("__MACOSX/hồ sơ 01/._trang 2.png", b"junk"),
            (".DS_Store", b"junk"),
            ("hồ sơ 01/.DS_Store", b"junk"),
        ],
    )
    with open_source(str(path)) as source:
        assert source.kind == "zip"
        assert source.location == str(path.resolve())
        assert source.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
        assert [d.ref for d in source.documents] == ["hồ sơ 01", "scan2.png", "scan10.png"]
        docs = by_ref(source)
        assert [f.name for f in docs["hồ sơ 01"].files] == ["trang 2.png", "trang 10.png"]
        assert read_all(docs["hồ sơ 01"]) == [png(102), png(110)]
        assert read_all(docs["scan2.png"]) == [png(2)]
        stored = write_zip(tmp_path / "stored.zip", [("a.png", png(1))], compression=zipfile.ZIP_STORED)
        with open_source(str(stored)) as plain:
            assert read_all(plain.documents[0]) == [png(1)]
    with pytest.raises(ValueError):  # closed with the source
        docs["scan2.png"].files[0].read()


# ---- ZIP: hostile entries ----------------------------------------------------------------------
def test_zip_unsafe_names_refuse_their_document_only(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "evil.zip",
        [
            ("good.png", png(1)),
            ("hoso-ok/page1.png", png(2)),
            ("../evil.png", png(3)),
            ("/abs.png", png(4)),
            ("C:\\x.png", png(5)),
            ("D:/y.png", png(6)),
            ("hoso-up/../../z.png", png(7)),
            ("hoso-bs/..\\..\\z.png", png(8)),
            ("hoso-dot/./page1.png", png(9)),
            (symlink_member("link.png"), b"/etc/passwd"),
            (symlink_member("hoso-link/page1.png"), b"../../etc/passwd"),
            ("hoso-link/page2.png", png(10)),
            ("dup.png", png(11)),
            ("dup.png", png(12)),
            ("hoso-dup/page1.png", png(13)),
            ("hoso-dup/page1.png", png(14)),
        ],
    )
    with open_source(str(path)) as source:
        for ref in (
            "../evil.png",
            "/abs.png",
            "C:\\x.png",
            "D:/y.png",
            "hoso-up",
            "hoso-bs",
            "hoso-dot",
            "link.png",
            "hoso-link",
            "dup.png",
            "hoso-dup",
        ):
            assert_refused(source, ref, "input.unsafe_path")
        assert read_all(by_ref(source)["good.png"]) == [png(1)]
        assert read_all(by_ref(source)["hoso-ok"]) == [png(2)]
        assert len(source.documents) == 13


def test_zip_nested_archives_are_refused_by_name_and_by_content(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("x.png", png(1))
    path = write_zip(
        tmp_path / "nested.zip",
        [
            ("good.png", png(1)),
            ("inner.zip", inner.getvalue()),
            ("hoso-rar/page1.png", png(2)),
            ("hoso-rar/page2.RAR", b"Rar!\x1a\x07\x00"),
            ("hoso-tar/page1.tar.gz", b"\x1f\x8b"),
            ("disguised.png", inner.getvalue()),  # a ZIP named like a scan
            ("hoso-gz/page1.png", gzip.compress(png(3))),
        ],
    )
    with open_source(str(path)) as source:
        for ref in ("inner.zip", "hoso-rar", "hoso-tar"):
            assert_refused(source, ref, "input.nested_archive")
        docs = by_ref(source)
        # the name looks fine, so they are listed; reading finds the archive from its magic bytes
        for ref in ("disguised.png", "hoso-gz"):
            assert docs[ref].error is None
            with pytest.raises(NestedArchiveError) as err:
                docs[ref].files[0].read()
            assert err.value.code == "input.nested_archive"
        assert read_all(docs["good.png"]) == [png(1)]


def test_zip_bomb_by_ratio_is_refused(tmp_path: Path) -> None:
    zeros = bytes(4 * 1024 * 1024)  # 4 MB of zeros deflate to ~4 kB: ratio ~1000
    path = write_zip(
        tmp_path / "bomb.zip",
        [("bomb.png", zeros), ("hoso-bomb/page1.png", png(1)), ("hoso-bomb/page2.png", zeros), ("ok.png", png(2))],
    )
    with open_source(str(path)) as source:
        assert_refused(source, "bomb.png", "input.zip_bomb")
        assert_refused(source, "hoso-bomb", "input.zip_bomb")
        assert read_all(by_ref(source)["ok.png"]) == [png(2)]


def test_zip_entry_that_yields_more_than_it_declares_is_a_bomb(tmp_path: Path) -> None:
    payload = png(5) + os.urandom(100_000)  # incompressible: the ratio stays ~1
    path = write_zip(tmp_path / "liar.zip", [("liar.png", payload), ("ok.png", png(2))])
    patch_member(path, "liar.png", file_size=50_000)
    with open_source(str(path)) as source:
        liar = by_ref(source)["liar.png"]
        assert liar.error is None and liar.files[0].size == 50_000
        with pytest.raises(ZipBombError) as err:
            liar.files[0].read()
        assert err.value.code == "input.zip_bomb"
        assert read_all(by_ref(source)["ok.png"]) == [png(2)]


def test_zip_entry_that_yields_less_than_it_declares_is_corrupt(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "short.zip", [("short.png", png(5)), ("ok.png", png(2))])
    patch_member(path, "short.png", file_size=len(png(5)) + 10)
    with open_source(str(path)) as source:
        with pytest.raises(CorruptFileError):
            by_ref(source)["short.png"].files[0].read()
        assert read_all(by_ref(source)["ok.png"]) == [png(2)]


def test_zip_entry_with_bad_crc_is_corrupt(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "crc.zip", [("bad.png", png(5)), ("ok.png", png(2))], compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    at = data.find(png(5)) + 200
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    with open_source(str(path)) as source:
        with pytest.raises(CorruptFileError):
            by_ref(source)["bad.png"].files[0].read()
        assert read_all(by_ref(source)["ok.png"]) == [png(2)]


def test_zip_encrypted_entry_is_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "enc.zip", [("secret.png", png(1)), ("hoso/page1.png", png(2)), ("ok.png", png(3))])
    patch_member(path, "secret.png", flag_bits=0x1)
    patch_member(path, "hoso/page1.png", flag_bits=0x1)
    with open_source(str(path)) as source:
        assert_refused(source, "secret.png", "input.encrypted")
        assert_refused(source, "hoso", "input.encrypted")
        assert isinstance(by_ref(source)["secret.png"].error, EncryptedFileError)
        assert read_all(by_ref(source)["ok.png"]) == [png(3)]


def test_zip_unsupported_compression_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bz.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("bz.png", png(1), compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("ok.png", png(2), compress_type=zipfile.ZIP_DEFLATED)
    with open_source(str(path)) as source:
        assert_refused(source, "bz.png", "input.unsupported_type")
        assert read_all(by_ref(source)["ok.png"]) == [png(2)]


def test_zip_document_limits(tmp_path: Path) -> None:
    big = png(1) + os.urandom(5000)
    path = write_zip(
        tmp_path / "limits.zip",
        [("big.png", big), *((f"many/page{n}.png", png(n)) for n in range(4)), ("ok.png", png(2))],
    )
    limits = ArchiveLimits(max_file_bytes=4000, max_files_per_document=3)
    with open_source(str(path), limits=limits) as source:
        assert_refused(source, "big.png", "input.too_large")
        assert_refused(source, "many", "input.too_many_pages")
        assert read_all(by_ref(source)["ok.png"]) == [png(2)]


def test_zip_with_too_many_entries_or_bytes_is_refused_whole(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "many.zip", [(f"scan{n}.png", png(n)) for n in range(5)])
    with pytest.raises(TooManyEntriesError) as err:
        open_source(str(path), limits=ArchiveLimits(max_entries=4))
    assert err.value.code == "input.too_many_entries"
    total = sum(len(png(n)) for n in range(5))
    with pytest.raises(ArchiveTooLargeError) as big:
        open_source(str(path), limits=ArchiveLimits(max_total_bytes=total - 1))
    assert big.value.code == "input.archive_too_large"
    with open_source(str(path), limits=ArchiveLimits(max_entries=5, max_total_bytes=total)) as source:
        assert len(source.documents) == 5


def test_zip_whose_end_record_claims_too_many_entries_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "claims.zip", [("a.png", png(1))])
    data = bytearray(path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 60_000, 60_000)
    path.write_bytes(bytes(data))
    with pytest.raises(TooManyEntriesError):
        open_source(str(path))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_zip_is_refused(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "broken.zip"
    if damage == "garbage":
        path.write_bytes(os.urandom(4096))
    else:
        write_zip(path, [(f"scan{n}.png", png(n)) for n in range(3)])
        path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(CorruptFileError) as err:
        open_source(str(path))
    assert err.value.code == "input.corrupt"


# ---- S3 ----------------------------------------------------------------------------------------
@pytest.fixture
def s3(s3_server: S3Service, s3_bucket: str) -> Iterator[tuple[S3Access, Minio]]:
    access = S3Access(
        s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False, region=s3_server.region
    )
    client = Minio(
        s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        secure=False,
        region=s3_server.region,
    )
    client.make_bucket(s3_bucket)
    yield access, client


def put(client: Minio, bucket: str, key: str, data: bytes) -> None:
    client.put_object(bucket, key, io.BytesIO(data), len(data))


def test_s3_prefix_lists_documents_like_a_folder(s3: tuple[S3Access, Minio], s3_bucket: str) -> None:
    access, client = s3
    objects = {
        "lô 1/scan10.png": png(10),
        "lô 1/scan2.png": png(2),
        "lô 1/hoso-01/": b"",  # a folder marker, as consoles create them
        "lô 1/hoso-01/page10.png": png(110),
        "lô 1/hoso-01/page2.png": png(102),
        "lô 1/hoso-01/Thumbs.db": b"junk",
        "lô 1/.hidden.png": png(3),
        "lô 1/__MACOSX/._scan2.png": b"junk",
        "lô 1/hoso-02/sub/page1.png": png(4),
        "lô 1/hoso-02/page1.png": png(5),
        "lô 1/inner.zip": b"PK\x05\x06" + bytes(18),
        "lô 1/hoso-03/page1.png": gzip.compress(png(6)),
        "lô 1/big.png": png(7) + os.urandom(6000),
        "lô 1/hoso-04/": b"",
        "lô 10/other.png": png(8),  # another prefix that merely starts the same
        "elsewhere/x.png": png(9),
    }
    for key, data in objects.items():
        put(client, s3_bucket, key, data)
    limits = ArchiveLimits(max_file_bytes=5000)
    with open_source(f"s3://{s3_bucket}/lô 1/", limits=limits, s3=access) as source:
        assert source.kind == "s3"
        assert source.location == f"s3://{s3_bucket}/lô 1"
        assert source.fingerprint == hashlib.sha256(f"http://{access.endpoint}/{s3_bucket}/lô 1".encode()).hexdigest()
        assert [d.ref for d in source.documents] == [
            "big.png",
            "hoso-01",
            "hoso-02",
            "hoso-03",
            "hoso-04",
            "inner.zip",
            "scan2.png",
            "scan10.png",
        ]
        docs = by_ref(source)
        assert [f.name for f in docs["hoso-01"].files] == ["page2.png", "page10.png"]
        assert read_all(docs["hoso-01"]) == [png(102), png(110)]
        assert read_all(docs["scan2.png"]) == [png(2)]
        assert_refused(source, "big.png", "input.too_large")
        assert_refused(source, "hoso-02", "input.nested_folder")
        assert_refused(source, "hoso-04", "input.empty")
        assert_refused(source, "inner.zip", "input.nested_archive")
        with pytest.raises(NestedArchiveError):
            docs["hoso-03"].files[0].read()

        # replaced by something bigger after the listing: the cap holds on the bytes actually read
        put(client, s3_bucket, "lô 1/scan10.png", png(10) + os.urandom(10_000))
        with pytest.raises(TooLargeError):
            docs["scan10.png"].files[0].read()
        # deleted after the listing
        client.remove_object(s3_bucket, "lô 1/scan2.png")
        with pytest.raises(SourceNotFoundError):
            docs["scan2.png"].files[0].read()

    with open_source(f"s3://{s3_bucket}/lô 1", limits=limits, s3=access) as again:
        assert again.fingerprint == source.fingerprint and again.location == source.location


def test_s3_missing_bucket_or_empty_prefix_is_source_not_found(s3: tuple[S3Access, Minio], s3_bucket: str) -> None:
    access, client = s3
    put(client, s3_bucket, "a/x.png", png(1))
    for spec in (f"s3://{s3_bucket}/nothing-here", f"s3://{s3_bucket}-missing/a", "s3://", f"s3://{s3_bucket}/../a"):
        with pytest.raises(SourceNotFoundError) as err:
            open_source(spec, s3=access)
        assert err.value.code == "input.source_not_found"
    with open_source(f"s3://{s3_bucket}", s3=access) as whole_bucket:
        assert [d.ref for d in whole_bucket.documents] == ["a"]


def test_s3_too_many_entries_is_refused_whole(s3: tuple[S3Access, Minio], s3_bucket: str) -> None:
    access, client = s3
    for n in range(4):
        put(client, s3_bucket, f"b/scan{n}.png", png(n))
    with pytest.raises(TooManyEntriesError):
        open_source(f"s3://{s3_bucket}/b", limits=ArchiveLimits(max_entries=3), s3=access)
    with pytest.raises(ArchiveTooLargeError):
        open_source(f"s3://{s3_bucket}/b", limits=ArchiveLimits(max_total_bytes=100), s3=access)


def test_s3_reader_get_is_capped(s3: tuple[S3Access, Minio], s3_bucket: str) -> None:
    access, client = s3
    put(client, s3_bucket, "c/ten.bin", b"0123456789")
    put(client, s3_bucket, "c/empty.bin", b"")
    with S3Reader(access, s3_bucket) as reader:
        assert reader.get("c/ten.bin", max_bytes=4) == b"01234"  # max_bytes + 1: "there is more"
        assert reader.get("c/ten.bin", max_bytes=10) == b"0123456789"
        assert reader.get("c/ten.bin", max_bytes=100) == b"0123456789"
        assert reader.get("c/empty.bin", max_bytes=10) == b""
        assert [(o.key, o.size) for o in reader.list_objects("c/")] == [("c/empty.bin", 0), ("c/ten.bin", 10)]
        assert len(reader.list_objects("c/", limit=1)) == 2  # stops after limit + 1
