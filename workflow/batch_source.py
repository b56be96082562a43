"""The documents of an archive batch: a folder, a ZIP file, an S3 prefix, or a single file.

``ecopy batch PATH|ZIP|s3://bucket/prefix`` opens a source with :func:`open_source`, then reads and
stores each :class:`BatchDocument` in turn. The layout rules are the same for the three containers:

* every FILE directly at the top level is one document (a multi-page PDF/TIFF is one document);
* every top-level FOLDER is one document whose files are its pages, in natural order (page2 before
  page10); a folder inside a document folder refuses that document;
* hidden names (starting with "."), ``__MACOSX``, ``Thumbs.db`` and ``desktop.ini`` are ignored.

A single file that is not a ZIP is a batch of one document.

Nothing is extracted to disk and no name is ever used as a path: ZIP members are read from the
archive, folder files through file descriptors opened relative to the source folder without
following links. A bad document (unsafe name, symlink, nested archive, zip bomb, encrypted entry,
too large) is listed with its ``error`` and the others go on; a source that is itself unusable
(missing, corrupt ZIP, too many entries, too large in total) raises from :func:`open_source`.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import logging
import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

from pipeline.errors import (
    CorruptFileError,
    EcopyError,
    EmptyFileError,
    EncryptedFileError,
    TooLargeError,
    TooManyPagesError,
    UnsupportedTypeError,
)
from storage.errors import InvalidKeyError, ObjectNotFoundError
from storage.objectstore import S3Access, S3Reader
from workflow.errors import (
    ArchiveTooLargeError,
    NestedArchiveError,
    NestedFolderError,
    SourceNotFoundError,
    TooManyEntriesError,
    UnsafePathError,
    ZipBombError,
)

log = logging.getLogger(__name__)

SourceKind = Literal["file", "dir", "zip", "s3"]

_CHUNK = 1 << 20
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})
_ARCHIVE_SUFFIXES = (
    ".zip",
    ".zipx",
    ".7z",
    ".rar",
    ".tar",
    ".gz",
    ".tgz",
    ".bz2",
    ".tbz",
    ".tbz2",
    ".xz",
    ".txz",
    ".zst",
    ".lz",
    ".lzma",
    ".cab",
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_DIGITS = re.compile(r"([0-9]+)")
_S3_SPEC = re.compile(r"^s3://([^/]*)(?:/(.*))?$", re.DOTALL)
_ZIP_ENCRYPTED = 0x01 | 0x40  # traditional PKWARE encryption, strong encryption
_ZIP_PATCHED = 0x20


@dataclass(frozen=True)
class ArchiveLimits:
    """What a batch may hold. Counts and sizes come from the listing, before anything is read."""

    max_entries: int = 10_000  # names listed in a ZIP / folder / S3 prefix; over → whole source refused
    max_total_bytes: int = 20 * 1024**3  # sum of declared (uncompressed) sizes; over → whole source refused
    max_file_bytes: int = 50 * 1024**2  # one file; over → that document refused (TooLargeError)
    max_ratio: float = 100.0  # uncompressed/compressed per ZIP entry; over → that document refused
    max_files_per_document: int = 200


@dataclass(frozen=True)
class BatchFile:
    """One file of a document (a page, or a multi-page PDF/TIFF)."""

    name: str  # the file's base name, as shown to a clerk
    size: int  # declared size (ZIP header, file system, S3 listing)
    # Reads the bytes, never more than max_file_bytes + 1 of them, whatever the size declared. Raises
    # TooLargeError, ZipBombError, NestedArchiveError, CorruptFileError… (and, for S3, the storage errors).
    read: Callable[[], bytes] = field(repr=False, compare=False)


@dataclass(frozen=True)
class BatchDocument:
    ref: str  # stable reference inside the source: "scan1.jpg", "hoso-02" (a folder)
    files: tuple[BatchFile, ...]
    error: EcopyError | None = None  # refused during enumeration; files are empty then


class BatchSource:
    """An opened batch. Use as a context manager: ``close()`` closes the ZIP file, folder or S3 client,
    after which the documents' ``read`` no longer work."""

    def __init__(
        self,
        kind: SourceKind,
        location: str,
        fingerprint: str,
        documents: list[BatchDocument],
        close: Callable[[], None] | None = None,
    ) -> None:
        self.kind: SourceKind = kind
        self.location = location  # absolute resolved path, or "s3://bucket/prefix"
        # hex sha256: of the bytes for a ZIP or single file, of the path for a folder, of the URL for S3
        self.fingerprint = fingerprint
        self.documents = documents  # sorted by ref, natural order
        self._close = close

    def close(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            close()

    def __enter__(self) -> BatchSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<BatchSource {self.kind} {self.location} ({len(self.documents)} documents)>"


def natural_key(name: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key putting "page2" before "page10", case-insensitively, with a total order for ties."""
    norm = unicodedata.normalize("NFC", name)
    parts = [
        (0, int(tok), "") if tok.isascii() and tok.isdigit() else (1, 0, tok.casefold())
        for tok in _DIGITS.split(norm)
        if tok
    ]
    return (*parts, (2, 0, name))


def open_source(spec: str, *, limits: ArchiveLimits = ArchiveLimits(), s3: S3Access | None = None) -> BatchSource:
    """Open ``spec`` (a folder, a ZIP file, one scan, or ``s3://bucket/prefix``) and list its documents.

    Raises SourceNotFoundError, CorruptFileError (a ZIP that cannot be read), TooManyEntriesError,
    ArchiveTooLargeError; for S3 also the storage errors (unavailable, access denied).
    """
    if spec.startswith("s3://"):
        if s3 is None:
            raise ValueError("an s3:// batch source needs S3Access (endpoint and credentials)")
        return _open_s3(spec, s3, limits)
    path = Path(spec).expanduser()
    try:
        path = path.resolve(strict=True)
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError) as e:
        raise _not_found(spec, e) from e
    except OSError as e:  # a link loop, no permission
        raise SourceNotFoundError(
            f"Không mở được «{spec}». Hãy kiểm tra đường dẫn và quyền đọc rồi chạy lại.", detail=f"{spec}: {e}"
        ) from e
    if stat.S_ISDIR(st.st_mode):
        return _open_dir(path, limits)
    if not stat.S_ISREG(st.st_mode):
        raise SourceNotFoundError(
            f"«{spec}» không phải thư mục, tệp ZIP hay tệp bản quét. Hãy chọn đúng lô rồi chạy lại.",
            detail=f"{path}: not a regular file or folder (mode {st.st_mode:o})",
        )
    return _open_file(path, limits)


# =============================================================================================
# From listed entries to documents: the same rules for every kind of source
# =============================================================================================
Fetch = Callable[[int], bytes]  # given the cap, returns at most cap + 1 bytes


@dataclass
class _Entry:
    """One listed name. ``path`` is relative to the source root, "/"-separated; folders end in "/"."""

    path: str
    size: int = 0
    packed: int | None = None  # compressed size (ZIP members)
    fetch: Fetch | None = None
    problem: EcopyError | None = None  # found by the source itself: symlink, encrypted…


# Which refusal a clerk sees when a document has several problems: the most serious one.
_SEVERITY: tuple[type[EcopyError], ...] = (
    UnsafePathError,
    NestedArchiveError,
    ZipBombError,
    EncryptedFileError,
    CorruptFileError,
    UnsupportedTypeError,
    TooLargeError,
    NestedFolderError,
)


def _rank(e: EcopyError) -> int:
    return next((i for i, cls in enumerate(_SEVERITY) if isinstance(e, cls)), len(_SEVERITY))


@dataclass
class _Group:
    ref: str
    folder: bool
    files: list[tuple[str, _Entry]] = field(default_factory=list)
    error: EcopyError | None = None

    def fail(self, error: EcopyError) -> None:
        if self.error is None or _rank(error) < _rank(self.error):
            self.error = error


def _unsafe_reason(path: str) -> str | None:
    """Why a listed name could lead somewhere else than where it seems to be, or None."""
    if not path or path == "/":
        return "empty name"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return "control character in name"
    if "\\" in path:
        return "backslash in name"
    if path.startswith("/"):
        return "absolute path"
    if _DRIVE.match(path):
        return "drive letter"
    body = path[:-1] if path.endswith("/") else path
    for seg in body.split("/"):
        if seg in ("", ".", ".."):
            return f"{seg or 'empty'!r} path segment"
    return None


def _ignored(segments: list[str]) -> bool:
    return any(s.startswith(".") or s == "__MACOSX" for s in segments) or segments[-1].casefold() in _IGNORED_NAMES


def _documents(entries: list[_Entry], limits: ArchiveLimits, *, hide: bool = True) -> list[BatchDocument]:
    groups: dict[str, _Group] = {}
    seen: set[str] = set()

    def group(ref: str, folder: bool) -> _Group:
        g = groups.get(ref)
        if g is None:
            g = groups[ref] = _Group(ref, folder)
        elif g.folder != folder:
            g.fail(_unsafe(ref, f"{ref!r} is both a file and a folder"))
        return g

    for e in sorted(entries, key=lambda e: e.path):
        reason = _unsafe_reason(e.path)
        if reason is not None:
            first, _, rest = e.path.partition("/")
            inside = bool(rest.strip("/")) and _unsafe_reason(first) is None and not _ignored([first])
            ref = first if inside else (e.path.rstrip("/") or e.path)
            groups.setdefault(ref, _Group(ref, inside)).fail(_unsafe(ref, f"{e.path!r}: {reason}"))
            continue
        is_dir = e.path.endswith("/")
        segments = e.path.rstrip("/").split("/")
        if hide and _ignored(segments):
            continue
        top = segments[0]
        if e.path in seen:
            group(top, len(segments) > 1 or is_dir).fail(_unsafe(top, f"{e.path!r} is listed twice"))
            continue
        seen.add(e.path)
        if len(segments) == 1:
            g = group(top, is_dir)
            if not is_dir:
                _admit(g, top, e, limits)
        else:
            g = group(top, True)
            if len(segments) > 2 or is_dir:
                g.fail(
                    NestedFolderError(
                        f"Hồ sơ «{top}» có thư mục con («{'/'.join(segments[1:-1] or segments[1:])}»). "
                        "Các trang phải nằm ngay trong thư mục hồ sơ: hãy chuyển tệp ra khỏi thư mục con "
                        "hoặc tách thành hồ sơ riêng rồi chạy lại.",
                        detail=f"{e.path!r}: nested deeper than one folder",
                    )
                )
            else:
                _admit(g, segments[1], e, limits)

    docs = [_finish(g, limits) for g in groups.values()]
    return sorted(docs, key=lambda d: natural_key(d.ref))


def _admit(g: _Group, name: str, e: _Entry, limits: ArchiveLimits) -> None:
    """Check one file of a document from what the listing says; add it or refuse the document."""
    where = f"«{name}»" if name == g.ref else f"«{name}» của hồ sơ «{g.ref}»"
    if e.problem is not None:
        g.fail(e.problem)
    elif name.casefold().endswith(_ARCHIVE_SUFFIXES):
        g.fail(_nested_archive(name, g.ref, f"{e.path!r}: archive by extension"))
    elif e.packed is not None and e.size > 0 and (e.packed <= 0 or e.size / e.packed > limits.max_ratio):
        g.fail(
            ZipBombError(
                f"Tệp {where} trong ZIP nén quá mức bất thường (có thể là «bom nén») nên bị từ chối. "
                "Hãy nén lại các bản quét gốc bằng công cụ nén thông thường rồi chạy lại.",
                detail=f"{e.path!r}: {e.size} bytes from {e.packed} compressed (ratio over {limits.max_ratio:g})",
            )
        )
    elif e.size > limits.max_file_bytes:
        g.fail(_too_large(where, e.path, e.size, limits.max_file_bytes))
    elif e.fetch is None:
        g.fail(_unsafe(g.ref, f"{e.path!r}: cannot be read"))
    else:
        g.files.append((name, e))


def _finish(g: _Group, limits: ArchiveLimits) -> BatchDocument:
    if g.error is None and g.folder and not g.files:
        g.error = EmptyFileError(
            f"Thư mục hồ sơ «{g.ref}» không có tệp bản quét nào. Hãy thêm bản quét vào thư mục "
            "hoặc bỏ thư mục rỗng rồi chạy lại.",
            detail=f"{g.ref!r}: empty document folder",
        )
    if g.error is None and len(g.files) > limits.max_files_per_document:
        g.error = TooManyPagesError(
            f"Hồ sơ «{g.ref}» có quá nhiều tệp ({len(g.files)}, tối đa {limits.max_files_per_document}). "
            "Hãy chia thành các hồ sơ nhỏ hơn rồi chạy lại.",
            detail=f"{g.ref!r}: {len(g.files)} files > {limits.max_files_per_document}",
        )
    if g.error is not None:
        log.info("batch document %r refused: %s (%s)", g.ref, g.error.code, g.error.detail)
        return BatchDocument(ref=g.ref, files=(), error=g.error)
    ordered = sorted(g.files, key=lambda item: natural_key(item[0]))
    files = tuple(BatchFile(name=name, size=e.size, read=_reader(name, e, limits)) for name, e in ordered)
    return BatchDocument(ref=g.ref, files=files)


def _reader(name: str, e: _Entry, limits: ArchiveLimits) -> Callable[[], bytes]:
    fetch = e.fetch
    assert fetch is not None
    cap = limits.max_file_bytes

    def read() -> bytes:
        data = fetch(cap)
        if len(data) > cap:
            raise _too_large(f"«{name}»", e.path, None, cap)
        kind = _archive_magic(data)
        if kind is not None:
            raise _nested_archive(name, None, f"{e.path!r}: {kind} archive by magic bytes")
        return data

    return read


def _archive_magic(data: bytes) -> str | None:
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if data.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    if data.startswith(b"BZh") and data[3:4].isdigit():
        return "bzip2"
    if data.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if data[257:262] == b"ustar":
        return "tar"
    return None


def _check_totals(entries: list[_Entry], where: str, limits: ArchiveLimits) -> None:
    if len(entries) > limits.max_entries:
        raise _too_many(where, len(entries), limits)
    total = sum(e.size for e in entries)
    if total > limits.max_total_bytes:
        raise ArchiveTooLargeError(
            f"Tổng dung lượng của lô «{where}» quá lớn ({total / 1e9:.1f} GB, tối đa "
            f"{limits.max_total_bytes / 1e9:.1f} GB). Hãy chia thành nhiều lô nhỏ hơn rồi chạy từng lô.",
            detail=f"{where}: {total} bytes declared > {limits.max_total_bytes}",
        )


# =============================================================================================
# A single file, a ZIP file
# =============================================================================================
def _open_file(path: Path, limits: ArchiveLimits) -> BatchSource:
    try:
        fh = open(path, "rb")  # owned by the BatchSource, closed by its close()
    except OSError as e:
        raise _unreadable(path, e) from e
    try:
        head = fh.read(4)
        if path.suffix.casefold() == ".zip" or head in (b"PK\x03\x04", b"PK\x05\x06"):
            return _open_zip(path, fh, limits)
        fingerprint = _sha256_of(fh, path)
        size = os.fstat(fh.fileno()).st_size
        entry = _Entry(path.name, size=size, fetch=partial(_read_open_file, fh, path))
        _check_totals([entry], str(path), limits)
        docs = _documents([entry], limits, hide=False)
    except BaseException:
        fh.close()
        raise
    return BatchSource("file", str(path), fingerprint, docs, close=fh.close)


def _read_open_file(fh: BinaryIO, path: Path, cap: int) -> bytes:
    try:
        fd = fh.fileno()
        out = bytearray()
        while len(out) <= cap:
            chunk = os.pread(fd, min(_CHUNK, cap + 1 - len(out)), len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)
    except (OSError, ValueError) as e:
        raise _unreadable(path, e) from e


def _sha256_of(fh: BinaryIO, path: Path) -> str:
    digest = hashlib.sha256()
    try:
        fh.seek(0)
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
        fh.seek(0)
    except OSError as e:
        raise _unreadable(path, e) from e
    return digest.hexdigest()


def _open_zip(path: Path, fh: BinaryIO, limits: ArchiveLimits) -> BatchSource:
    corrupt = (
        f"Tệp ZIP «{path.name}» bị hỏng hoặc không đầy đủ (có thể bị cắt ngang khi sao chép). "
        "Hãy nén lại hoặc chép lại tệp ZIP rồi chạy lại."
    )
    # The central directory is parsed whole by zipfile: refuse a huge one from the end record first.
    declared = _declared_entries(fh)
    if declared is not None and declared > limits.max_entries:
        raise _too_many(path.name, declared, limits)
    fingerprint = _sha256_of(fh, path)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, struct.error) as e:
        raise CorruptFileError(corrupt, detail=f"{path}: {type(e).__name__}: {e}") from e
    try:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise _too_many(path.name, len(infos), limits)
        entries = [_zip_entry(zf, path, info) for info in infos]
        _check_totals(entries, path.name, limits)
        docs = _documents(entries, limits)
    except BaseException:
        zf.close()
        raise

    def close() -> None:
        zf.close()
        fh.close()

    return BatchSource("zip", str(path), fingerprint, docs, close=close)


def _declared_entries(fh: BinaryIO) -> int | None:
    """The entry count the ZIP's end-of-central-directory record claims (zip64 aware), or None."""
    try:
        size = fh.seek(0, os.SEEK_END)
        tail_len = min(size, 22 + 0xFFFF)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or len(tail) - pos < 22:
            return None
        (total,) = struct.unpack_from("<H", tail, pos + 10)
        if total == 0xFFFF and pos >= 20 and tail[pos - 20 : pos - 16] == b"PK\x06\x07":
            (offset,) = struct.unpack_from("<Q", tail, pos - 12)
            fh.seek(offset)
            record = fh.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                (total,) = struct.unpack_from("<Q", record, 32)
        return int(total)
    except (OSError, ValueError, struct.error):
        return None  # zipfile will say what is wrong
    finally:
        fh.seek(0)


def _zip_entry(zf: zipfile.ZipFile, archive: Path, info: zipfile.ZipInfo) -> _Entry:
    name = info.filename
    top = name.split("/")[0]
    mode = info.external_attr >> 16
    problem: EcopyError | None = None
    if info.orig_filename != info.filename:  # zipfile cut the name at a NUL byte
        problem = _unsafe(top, f"{info.orig_filename!r}: NUL byte in name")
    elif stat.S_ISLNK(mode):
        problem = _unsafe(top, f"{name!r}: symbolic link entry (mode {mode:o})")
    elif info.is_dir():
        return _Entry(name)
    elif info.flag_bits & _ZIP_ENCRYPTED:
        problem = EncryptedFileError(
            f"Tệp «{Path(name).name}» trong ZIP được đặt mật khẩu. Hãy nén lại các bản quét không đặt mật khẩu "
            "rồi chạy lại.",
            detail=f"{name!r}: encrypted ZIP entry (flags {info.flag_bits:#x})",
        )
    elif info.flag_bits & _ZIP_PATCHED or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        problem = UnsupportedTypeError(
            f"Tệp «{Path(name).name}» trong ZIP được nén theo kiểu không hỗ trợ. Hãy nén lại bằng kiểu ZIP "
            "thông thường (Deflate) rồi chạy lại.",
            detail=f"{name!r}: compression method {info.compress_type}, flags {info.flag_bits:#x}",
        )
    return _Entry(
        name,
        size=info.file_size,
        packed=info.compress_size,
        fetch=partial(_read_zip_member, zf, archive, info),
        problem=problem,
    )


def _read_zip_member(zf: zipfile.ZipFile, archive: Path, info: zipfile.ZipInfo, cap: int) -> bytes:
    """Decompress one member ourselves from its raw bytes, never producing more than it declares + 1.

    zipfile trusts the sizes in the header; here a member that yields more than it declares is a zip
    bomb, one that yields less (or whose CRC differs) is corrupt.
    """
    name = Path(info.filename).name
    declared = info.file_size
    limit = min(declared, cap) + 1
    # Open the member as if it were stored, to get its compressed bytes (no CRC check on those).
    raw_info = copy.copy(info)
    raw_info.compress_type = zipfile.ZIP_STORED
    raw_info.file_size = info.compress_size
    del raw_info.CRC
    out = bytearray()
    ended = True
    try:
        with zf.open(raw_info) as raw:
            if info.compress_type == zipfile.ZIP_STORED:
                while len(out) < limit and (chunk := raw.read(min(_CHUNK, limit - len(out)))):
                    out += chunk
            else:
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                while len(out) < limit and not inflater.eof:
                    chunk = inflater.unconsumed_tail or raw.read(_CHUNK)
                    if not chunk:
                        break
                    out += inflater.decompress(chunk, limit - len(out))
                ended = inflater.eof
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as e:
        raise CorruptFileError(
            f"Tệp «{name}» trong ZIP «{archive.name}» bị hỏng, không đọc được. Hãy nén lại bản quét rồi chạy lại.",
            detail=f"{archive.name}:{info.filename!r}: {type(e).__name__}: {e}",
        ) from e
    if len(out) > declared:
        raise ZipBombError(
            f"Tệp «{name}» trong ZIP «{archive.name}» giải nén ra nhiều hơn kích thước khai báo (có thể là "
            "«bom nén») nên bị từ chối. Hãy nén lại các bản quét gốc bằng công cụ nén thông thường rồi chạy lại.",
            detail=f"{archive.name}:{info.filename!r}: more than the {declared} bytes declared",
        )
    if len(out) < declared or not ended or zlib.crc32(out) != info.CRC:
        raise CorruptFileError(
            f"Tệp «{name}» trong ZIP «{archive.name}» bị hỏng hoặc không đầy đủ. Hãy nén lại bản quét rồi chạy lại.",
            detail=(
                f"{archive.name}:{info.filename!r}: {len(out)} of {declared} bytes, "
                f"stream ended={ended}, crc {zlib.crc32(out):08x} vs {info.CRC:08x}"
            ),
        )
    return bytes(out)


# =============================================================================================
# A folder
# =============================================================================================
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _open_dir(root: Path, limits: ArchiveLimits) -> BatchSource:
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise _unreadable(root, e) from e
    try:
        entries = _scan_dir(root, root_fd, limits)
        _check_totals(entries, str(root), limits)
        docs = _documents(entries, limits)
    except BaseException:
        os.close(root_fd)
        raise
    fingerprint = hashlib.sha256(os.fsencode(root)).hexdigest()
    return BatchSource("dir", str(root), fingerprint, docs, close=partial(os.close, root_fd))


def _scan_dir(root: Path, root_fd: int, limits: ArchiveLimits) -> list[_Entry]:
    """Top-level names, and the names inside each (not hidden) top-level folder; never deeper."""
    entries: list[_Entry] = []

    def listed(entry: _Entry) -> None:
        entries.append(entry)
        if len(entries) > limits.max_entries:
            raise _too_many(str(root), len(entries), limits)

    try:
        for top in _listdir(root_fd):
            kind, size = _kind(root_fd, top)
            shown = _shown(top)
            if kind == "dir":
                listed(_Entry(shown + "/"))
                if _ignored([shown]) or _unsafe_reason(shown) is not None:
                    continue
                folder_fd = os.open(top, _OPEN_DIR, dir_fd=root_fd)
                try:
                    for name in _listdir(folder_fd):
                        child_kind, child_size = _kind(folder_fd, name)
                        listed(_dir_entry(root_fd, f"{shown}/{_shown(name)}", child_kind, child_size))
                finally:
                    os.close(folder_fd)
            else:
                listed(_dir_entry(root_fd, shown, kind, size))
    except OSError as e:
        raise _unreadable(root, e) from e
    return entries


def _listdir(fd: int) -> list[str]:
    return sorted(os.listdir(fd))


def _shown(name: str) -> str:
    """A name as text: one that is not valid UTF-8 gets backslash escapes, which the checks then refuse."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _kind(dir_fd: int, name: str) -> tuple[str, int]:
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        return "link", 0
    if stat.S_ISDIR(st.st_mode):
        return "dir", 0
    if stat.S_ISREG(st.st_mode):
        return "file", st.st_size
    return "special", 0


def _dir_entry(root_fd: int, rel: str, kind: str, size: int) -> _Entry:
    if kind == "dir":
        return _Entry(rel + "/")
    if kind == "link":
        return _Entry(rel, problem=_unsafe(rel.split("/")[0], f"{rel!r}: symbolic link"))
    if kind == "special":
        return _Entry(rel, problem=_unsafe(rel.split("/")[0], f"{rel!r}: not a regular file"))
    return _Entry(rel, size=size, fetch=partial(_read_dir_file, root_fd, rel))


def _read_dir_file(root_fd: int, rel: str, cap: int) -> bytes:
    """Open ``rel`` under the source folder without following any link, then read with a cap."""
    *folders, name = rel.split("/")
    fds: list[int] = []
    try:
        dir_fd = root_fd
        for folder in folders:
            dir_fd = os.open(folder, _OPEN_DIR, dir_fd=dir_fd)
            fds.append(dir_fd)
        fd = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
        fds.append(fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _unsafe(rel.split("/")[0], f"{rel!r}: no longer a regular file")
        out = bytearray()
        while len(out) <= cap and (chunk := os.read(fd, min(_CHUNK, cap + 1 - len(out)))):
            out += chunk
        return bytes(out)
    except FileNotFoundError as e:
        raise SourceNotFoundError(
            f"Tệp «{rel}» không còn trong thư mục lô (đã bị xóa hoặc đổi tên). Hãy kiểm tra lại rồi chạy lại.",
            detail=f"{rel!r}: {e}",
        ) from e
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):  # a link put in place after the listing
            raise _unsafe(rel.split("/")[0], f"{rel!r}: became a symbolic link: {e}") from e
        raise CorruptFileError(
            f"Không đọc được tệp «{rel}». Hãy kiểm tra quyền đọc hoặc chép lại tệp rồi chạy lại.",
            detail=f"{rel!r}: {e}",
        ) from e
    finally:
        for fd_ in fds:
            os.close(fd_)


# =============================================================================================
# S3
# =============================================================================================
def _open_s3(spec: str, access: S3Access, limits: ArchiveLimits) -> BatchSource:
    m = _S3_SPEC.match(spec)
    bucket, prefix = (m[1], (m[2] or "").rstrip("/")) if m else ("", "")
    invalid = SourceNotFoundError(
        f"Đường dẫn S3 «{spec}» không hợp lệ. Hãy viết theo dạng s3://tên-bucket/thư-mục rồi chạy lại.",
        detail=f"invalid S3 batch source {spec!r}",
    )
    if not bucket or (prefix and _unsafe_reason(prefix) is not None):
        raise invalid
    location = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    try:
        reader = S3Reader(access, bucket)
    except InvalidKeyError as e:
        raise invalid from e
    try:
        key_prefix = prefix + "/" if prefix else ""
        try:
            objects = reader.list_objects(key_prefix, limit=limits.max_entries)
        except ObjectNotFoundError as e:  # no such bucket
            raise _not_found(location, e) from e
        if len(objects) > limits.max_entries:
            raise _too_many(location, len(objects), limits)
        entries = [
            _Entry(o.key[len(key_prefix) :], size=o.size, fetch=partial(_read_s3, reader, o.key))
            for o in objects
            if o.key != key_prefix  # the prefix's own folder marker
        ]
        if not entries:
            raise _not_found(location, None)
        _check_totals(entries, location, limits)
        docs = _documents(entries, limits)
    except BaseException:
        reader.close()
        raise
    fingerprint = hashlib.sha256(f"{access.url()}/{bucket}/{prefix}".encode()).hexdigest()
    return BatchSource("s3", location, fingerprint, docs, close=reader.close)


def _read_s3(reader: S3Reader, key: str, cap: int) -> bytes:
    try:
        return reader.get(key, max_bytes=cap)
    except ObjectNotFoundError as e:
        raise SourceNotFoundError(
            f"Tệp «{key}» không còn trong kho S3 (đã bị xóa hoặc đổi tên). Hãy kiểm tra lại rồi chạy lại.",
            detail=e.detail,
        ) from e
    except InvalidKeyError as e:
        raise _unsafe(key, e.detail or key) from e


# =============================================================================================
# Messages
# =============================================================================================
def _not_found(where: str, cause: BaseException | None) -> SourceNotFoundError:
    return SourceNotFoundError(
        f"Không tìm thấy «{where}» hoặc ở đó không có tệp nào. Hãy kiểm tra lại đường dẫn của lô rồi chạy lại.",
        detail=f"{where}: {cause or 'nothing listed'}",
    )


def _unreadable(path: Path, e: BaseException) -> SourceNotFoundError:
    return SourceNotFoundError(
        f"Không mở được «{path}». Hãy kiểm tra đường dẫn và quyền đọc rồi chạy lại.",
        detail=f"{path}: {type(e).__name__}: {e}",
    )


def _unsafe(ref: str, detail: str) -> UnsafePathError:
    return UnsafePathError(
        f"Hồ sơ «{ref}» có tên tệp hoặc đường dẫn không an toàn (ra ngoài thư mục, đường dẫn tuyệt đối, "
        "lối tắt/symlink hoặc tên trùng) nên bị từ chối. Hãy chép bản quét thật vào đúng thư mục hồ sơ "
        "với tên bình thường rồi chạy lại.",
        detail=detail,
    )


def _nested_archive(name: str, ref: str | None, detail: str) -> NestedArchiveError:
    where = f"«{name}»" if ref is None or ref == name else f"«{name}» của hồ sơ «{ref}»"
    return NestedArchiveError(
        f"Tệp {where} là một tệp nén (ZIP, RAR, 7z, tar, gz…). Hãy giải nén nó, đưa các bản quét vào lô rồi chạy lại.",
        detail=detail,
    )


def _too_large(where: str, path: str, size: int | None, cap: int) -> TooLargeError:
    shown = f"{size / 1e6:.1f} MB, " if size is not None else ""
    return TooLargeError(
        f"Tệp {where} quá lớn ({shown}tối đa {cap / 1e6:.0f} MB). Hãy quét ở 300 dpi hoặc chia thành "
        "nhiều tệp rồi chạy lại.",
        detail=f"{path!r}: {'more than ' + str(cap) if size is None else size} bytes > {cap}",
    )


def _too_many(where: str, count: int, limits: ArchiveLimits) -> TooManyEntriesError:
    return TooManyEntriesError(
        f"Lô «{where}» có quá nhiều tệp ({count}, tối đa {limits.max_entries}). "
        "Hãy chia thành nhiều lô nhỏ hơn rồi chạy từng lô.",
        detail=f"{where}: {count} entries > {limits.max_entries}",
    )


__all__ = [
    "ArchiveLimits",
    "BatchDocument",
    "BatchFile",
    "BatchSource",
    "SourceKind",
    "natural_key",
    "open_source",
]
