"""One object-store interface, two backends: a folder (embedded default) and any S3 server.

Issued e-copies are written with ``immutable=True``: write-once, and on S3 also under an object-lock
retention when one is configured. Writing the *same* bytes again is a no-op returning the stored
object, so a job that runs twice (RQ can do that) does not fail; different bytes raise
:class:`ObjectExistsError`.

Keys are checked the same way for both backends (:func:`validate_key`) so a key that works in the
embedded setup also works in production, and no key can escape the store's folder.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import stat as stat_mod
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote, unquote

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import DictType, check_bucket_name, genheaders
from minio.retention import Retention

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

log = logging.getLogger(__name__)

MAX_KEY_BYTES = 1024
# Names we keep in object metadata ourselves; callers cannot set them.
_SHA256_META = "sha256"
_WRITE_ONCE_META = "write-once"
RESERVED_METADATA = frozenset({_SHA256_META, _WRITE_ONCE_META})
_METADATA_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

T = TypeVar("T")


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one stored object."""

    key: str
    size: int
    sha256: str  # hex of the exact stored bytes ("" only for foreign S3 objects written without it)
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)  # caller's metadata, names lower-case
    version_id: str | None = None  # S3 version when the bucket is versioned; None on the filesystem
    immutable: bool = False
    retain_until: dt.datetime | None = None  # S3 object-lock retention, when set


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validate_key(key: str) -> str:
    """Refuse keys that could escape a folder or that S3 and file systems treat differently.

    Allowed: ``/``-separated segments of printable characters, none empty, none ``.`` or ``..``,
    no backslash, no leading ``/``, at most 1024 UTF-8 bytes.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKeyError(detail=f"empty or non-string object key: {key!r}")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKeyError(detail=f"object key longer than {MAX_KEY_BYTES} bytes")
    if key.startswith("/") or "\\" in key or any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise InvalidKeyError(detail=f"object key must be relative, without backslashes or controls: {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(detail=f"object key has an empty, '.' or '..' segment: {key!r}")
    return key


def _validate_prefix(prefix: str) -> str:
    if prefix == "":
        return prefix
    if prefix.startswith("/") or "\\" in prefix or any(seg in (".", "..") for seg in prefix.split("/")):
        raise InvalidKeyError(detail=f"invalid listing prefix: {prefix!r}")
    return prefix


def _validate_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        norm = name.lower()
        if not _METADATA_NAME.match(norm):
            raise ValueError(f"metadata name must be [a-z0-9-], at most 64 characters: {name!r}")
        if norm in RESERVED_METADATA:
            raise ValueError(f"metadata name {name!r} is reserved by the object store")
        if not isinstance(value, str):
            raise ValueError(f"metadata value for {name!r} must be a string")
        out[norm] = value
    return out


class ObjectStore(abc.ABC):
    """Where e-copies and scans live. Implementations must be safe to share between threads."""

    @abc.abstractmethod
    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
        immutable: bool = False,
    ) -> ObjectInfo:
        """Store ``data`` under ``key``.

        ``immutable=True`` makes the object write-once (and retained where the backend can).
        Putting identical bytes to an existing immutable key returns the stored info; different
        bytes, or any put over an immutable key, raise :class:`ObjectExistsError`.
        """

    @abc.abstractmethod
    def put_version(
        self,
        key: str,
        data: bytes,
        *,
        after_sha256: str,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` as the new current version of the write-once object ``key``, keeping every
        earlier version (S3: object versioning, each version under its own retention; filesystem:
        a read-only copy under ``versions/``). Only if the current version still has
        ``after_sha256`` (two writers: one wins, the other gets :class:`ObjectExistsError`);
        the same bytes again return the current info."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The stored bytes; :class:`ObjectNotFoundError` if absent, :class:`ObjectCorruptError` if an
        immutable object no longer matches its recorded SHA-256."""

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """Info about the object, or None if it does not exist."""

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove a mutable object (no-op if absent); :class:`ImmutableObjectError` for immutable ones."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix`` (a plain string prefix, not only a folder), sorted."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the store is, for log lines and admin messages."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def _check_current(key: str, current: ObjectInfo | None, after_sha256: str) -> None:
    """Before a new version: the object exists, is write-once, and nobody replaced it meanwhile."""
    if current is None:
        raise ObjectNotFoundError(detail=f"no object {key!r} to add a version to")
    if not current.immutable:
        raise ImmutableObjectError(detail=f"{key!r} is not a write-once object; versions are for those")
    if current.sha256 != after_sha256.lower():
        raise ObjectExistsError(
            detail=f"{key!r} changed meanwhile: current sha256 {current.sha256}, expected {after_sha256}"
        )


def _check_existing(key: str, existing: ObjectInfo, sha: str) -> ObjectInfo:
    """Decide what a put over an existing immutable object means."""
    if existing.immutable and existing.sha256 == sha:
        log.info("put %s: identical write-once object already stored, nothing to do", key)
        return existing
    raise ObjectExistsError(
        detail=(
            f"object {key!r} already exists (immutable={existing.immutable}, sha256={existing.sha256}); "
            f"refusing to replace it with sha256={sha}"
        )
    )


# =============================================================================================
# Filesystem
# =============================================================================================
class FilesystemStore(ObjectStore):
    """Objects as files under ``root/data``, their metadata as JSON under ``root/meta``.

    Writes go to ``root/tmp`` first, are fsynced, then moved into place (``os.replace``; for
    write-once objects ``os.link``, which fails if the name is taken, so two racing writers
    cannot both win). Immutable objects are made read-only (0444): that stops accidents, not
    an administrator — real WORM needs an S3 server with object lock in COMPLIANCE mode.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self._data = self.root / "data"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"
        try:
            for folder in (self._data, self._meta, self._tmp):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageUnavailableError(detail=f"cannot create store folders under {self.root}: {e}") from e

    def describe(self) -> str:
        return f"filesystem store at {self.root}"

    def path_for(self, key: str) -> Path:
        """The file holding an object, to show a person where it is."""
        return self._paths(key)[0]

    # ---- paths --------------------------------------------------------------------------------
    def _paths(self, key: str) -> tuple[Path, Path]:
        validate_key(key)
        data_path = (self._data / key).resolve()
        meta_path = (self._meta / (key + ".json")).resolve()
        # Belt and braces: validate_key already refuses '..', this also catches symlinks.
        if not data_path.is_relative_to(self._data) or not meta_path.is_relative_to(self._meta):
            raise InvalidKeyError(detail=f"object key escapes the store: {key!r}")
        return data_path, meta_path

    @contextmanager
    def _os_errors(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except FileNotFoundError as e:
            raise ObjectNotFoundError(detail=f"{action} {key!r} in {self.root}: {e}") from e
        except (NotADirectoryError, IsADirectoryError, FileExistsError) as e:
            raise InvalidKeyError(detail=f"{action} {key!r}: a key cannot be both an object and a folder") from e
        except OSError as e:
            raise StorageUnavailableError(detail=f"{action} {key!r} in {self.root}: {e}") from e

    def _write_temp(self, data: bytes) -> Path:
        tmp = self._tmp / f"{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        return tmp

    @staticmethod
    def _fsync_dir(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_meta(self, meta_path: Path, info: ObjectInfo) -> None:
        doc = {
            "size": info.size,
            "sha256": info.sha256,
            "content_type": info.content_type,
            "metadata": info.metadata,
            "immutable": info.immutable,
        }
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._write_temp(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        try:
            if info.immutable:
                os.chmod(tmp, 0o444)
            os.replace(tmp, meta_path)
        finally:
            tmp.unlink(missing_ok=True)
        self._fsync_dir(meta_path.parent)

    # ---- interface ----------------------------------------------------------------------------
    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
        immutable: bool = False,
    ) -> ObjectInfo:
        data_path, meta_path = self._paths(key)
        meta = _validate_metadata(metadata)
        sha = sha256_hex(data)
        info = ObjectInfo(
            key=key, size=len(data), sha256=sha, content_type=content_type, metadata=meta, immutable=immutable
        )
        with self._os_errors("put", key):
            existing = self.stat(key)
            if existing is not None and (existing.immutable or immutable):
                return _check_existing(key, existing, sha)
            data_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._write_temp(data)
            try:
                if immutable:
                    os.chmod(tmp, 0o444)
                    try:
                        os.link(tmp, data_path)  # atomic "create if absent": exactly one writer wins
                    except FileExistsError:
                        raced = self.stat(key)
                        if raced is None:
                            raise
                        return _check_existing(key, raced, sha)
                else:
                    os.replace(tmp, data_path)
            finally:
                tmp.unlink(missing_ok=True)
            self._fsync_dir(data_path.parent)
            self._write_meta(meta_path, info)
        log.debug("put %s (%d bytes, sha256=%s, immutable=%s) in %s", key, len(data), sha, immutable, self.root)
        return info

    def put_version(
        self,
        key: str,
        data: bytes,
        *,
        after_sha256: str,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        data_path, meta_path = self._paths(key)
        meta = _validate_metadata(metadata)
        sha = sha256_hex(data)
        with self._os_errors("put version", key):
            current = self.stat(key)
            if current is not None and current.sha256 == sha:
                return current
            _check_current(key, current, after_sha256)
            folder = (self.root / "versions" / key).resolve()
            if not folder.is_relative_to(self.root / "versions"):
                raise InvalidKeyError(detail=f"object key escapes the store: {key!r}")
            folder.mkdir(parents=True, exist_ok=True)
            number = len(list(folder.iterdir())) + 1
            try:  # keep the version being replaced; a racing writer fails here
                os.link(data_path, folder / f"{number:04d}")
            except FileExistsError as e:
                raise ObjectExistsError(detail=f"{key!r}: another writer added version {number} meanwhile") from e
            tmp = self._write_temp(data)
            try:
                os.chmod(tmp, 0o444)
                os.replace(tmp, data_path)
            finally:
                tmp.unlink(missing_ok=True)
            self._fsync_dir(data_path.parent)
            info = ObjectInfo(
                key=key,
                size=len(data),
                sha256=sha,
                content_type=content_type,
                metadata=meta,
                immutable=True,
                version_id=str(number + 1),
            )
            self._write_meta(meta_path, info)
        log.info("put %s version %d (sha256=%s) in %s", key, number + 1, sha, self.root)
        return info

    def get(self, key: str) -> bytes:
        data_path, meta_path = self._paths(key)
        with self._os_errors("get", key):
            data = data_path.read_bytes()
            info = self._read_meta(key, data_path, meta_path)
        if info.immutable and info.sha256 != sha256_hex(data):
            raise ObjectCorruptError(detail=f"{key!r} in {self.root} does not match its recorded sha256")
        return data

    def _read_meta(self, key: str, data_path: Path, meta_path: Path) -> ObjectInfo:
        st = data_path.stat()
        if stat_mod.S_ISDIR(st.st_mode):
            raise FileNotFoundError(f"{data_path} is a folder")
        try:
            doc: dict[str, Any] = json.loads(meta_path.read_text("utf-8"))
        except FileNotFoundError:
            # The data file is linked before its metadata is written: a reader can land between
            # the two, or a crash can leave data without metadata. The bytes are the truth.
            return ObjectInfo(
                key=key,
                size=st.st_size,
                sha256=sha256_hex(data_path.read_bytes()),
                content_type="application/octet-stream",
                immutable=not (st.st_mode & stat_mod.S_IWUSR),
            )
        return ObjectInfo(
            key=key,
            size=st.st_size,
            sha256=str(doc.get("sha256", "")),
            content_type=str(doc.get("content_type", "application/octet-stream")),
            metadata={str(k): str(v) for k, v in dict(doc.get("metadata") or {}).items()},
            immutable=bool(doc.get("immutable", False)) or not (st.st_mode & stat_mod.S_IWUSR),
        )

    def stat(self, key: str) -> ObjectInfo | None:
        data_path, meta_path = self._paths(key)
        with self._os_errors("stat", key):
            try:
                return self._read_meta(key, data_path, meta_path)
            except (FileNotFoundError, NotADirectoryError):
                return None

    def delete(self, key: str) -> None:
        data_path, meta_path = self._paths(key)
        with self._os_errors("delete", key):
            info = self.stat(key)
            if info is None:
                return
            if info.immutable:
                raise ImmutableObjectError(detail=f"{key!r} in {self.root} is write-once")
            data_path.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
        log.info("deleted %s from %s", key, self.root)

    def list(self, prefix: str = "") -> list[str]:
        _validate_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        start = self._data / folder if folder else self._data
        keys: list[str] = []
        with self._os_errors("list", prefix):
            if not start.is_dir():
                return []
            for dirpath, _dirnames, filenames in os.walk(start):
                rel_dir = Path(dirpath).relative_to(self._data).as_posix()
                for name in filenames:
                    key = name if rel_dir == "." else f"{rel_dir}/{name}"
                    if key.startswith(prefix):
                        keys.append(key)
        return sorted(keys)


# =============================================================================================
# S3 (minio SDK; tested against SeaweedFS, works with MinIO, Ceph RGW, AWS…)
# =============================================================================================
RetentionMode = Literal["GOVERNANCE", "COMPLIANCE"]

# S3 error codes that mean "try again later" rather than "you asked for something wrong".
_RETRYABLE_S3_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "Throttling",
    }
)
_ACCESS_S3_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "InvalidToken"}
)
_NOT_FOUND_S3_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "NotFound"})


@dataclass(frozen=True)
class S3Access:
    """How to reach an S3 server, without a bucket: what :class:`S3Reader` (and :class:`S3Store`) connect with."""

    endpoint: str  # "host:port", as the minio SDK wants it
    access_key: str
    secret_key: str = field(repr=False)
    secure: bool = False
    region: str = "us-east-1"
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    retries: int = 2

    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"


def _http_pool(access: S3Access) -> urllib3.PoolManager:
    # Our own pool: minio's default retries a refused connection for several seconds and
    # waits minutes on a silent server; a job should fail fast and let RQ retry it.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=access.connect_timeout, read=access.read_timeout),
        maxsize=16,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            total=access.retries,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504],
            raise_on_status=False,
        ),
    )


def _minio_client(access: S3Access, http: urllib3.PoolManager | None = None) -> Minio:
    return Minio(
        access.endpoint,
        access_key=access.access_key,
        secret_key=access.secret_key,
        secure=access.secure,
        region=access.region,
        http_client=http or _http_pool(access),
    )


def _s3_call(where: str, fn: Callable[[], T]) -> T:
    """Run one SDK call and translate whatever it raises into the storage error tree."""
    try:
        return fn()
    except StorageError:
        raise
    except S3Error as e:
        detail = f"{where}: {e.code}: {e.message}"
        if e.code in _NOT_FOUND_S3_CODES:
            raise ObjectNotFoundError(detail=detail) from e
        if e.code in _ACCESS_S3_CODES:
            raise StorageAccessDeniedError(detail=detail) from e
        if e.code in _RETRYABLE_S3_CODES:
            raise StorageUnavailableError(detail=detail) from e
        raise StorageError(detail=detail) from e
    except ServerError as e:  # a non-S3 reply, typically a 5xx from a proxy or a restarting server
        raise StorageUnavailableError(detail=f"{where}: HTTP {e.status_code}: {e}") from e
    except InvalidResponseError as e:
        raise StorageUnavailableError(detail=f"{where}: {e}") from e
    except (urllib3.exceptions.HTTPError, OSError) as e:  # refused, reset, timed out, DNS
        raise StorageUnavailableError(detail=f"{where}: {type(e).__name__}: {e}") from e


class S3Store(ObjectStore):
    """Objects in one bucket of an S3 server, through the ``minio`` SDK.

    On first use the bucket is created *with object lock* (S3 then turns versioning on too).
    Immutable puts are conditional (``If-None-Match: *``), so two racing writers cannot both win,
    and carry a retention of ``retention_days`` in ``retention_mode`` when set. GOVERNANCE is
    the default because tests must be able to clean up (with the bypass permission); production
    should use COMPLIANCE, which nobody — not even the root account — can shorten or remove.
    The SHA-256 of the bytes travels in the object's metadata (``x-amz-meta-sha256``).
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str = "us-east-1",
        retention_days: int | None = None,
        retention_mode: RetentionMode = "GOVERNANCE",
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 2,
        create_bucket: bool = True,
    ) -> None:
        if retention_mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise ValueError(f"retention_mode must be GOVERNANCE or COMPLIANCE, not {retention_mode!r}")
        if retention_days is not None and retention_days < 1:
            raise ValueError("retention_days must be at least 1 (or None for no retention)")
        self.endpoint = endpoint
        self.bucket = bucket
        self.secure = secure
        self.region = region
        self.retention_days = retention_days
        self.retention_mode: RetentionMode = retention_mode
        self._create_bucket = create_bucket
        self._client = _minio_client(
            S3Access(
                endpoint,
                access_key,
                secret_key,
                secure=secure,
                region=region,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries=retries,
            )
        )
        self._ready = False
        self._ready_lock = threading.Lock()

    def describe(self) -> str:
        scheme = "https" if self.secure else "http"
        return f"S3 bucket {self.bucket!r} at {scheme}://{self.endpoint}"

    # ---- error mapping ------------------------------------------------------------------------
    def _call(self, action: str, key: str, fn: Callable[[], T]) -> T:
        """Run one SDK call and translate whatever it raises into the storage error tree."""
        return _s3_call(f"{action} {key!r} in {self.describe()}", fn)

    # ---- bucket -------------------------------------------------------------------------------
    def _ensure_bucket(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            self._call("prepare bucket", "", self._prepare_bucket)
            self._ready = True

    def _prepare_bucket(self) -> None:
        if not self._client.bucket_exists(self.bucket):
            if not self._create_bucket:
                raise StorageError(detail=f"bucket {self.bucket!r} does not exist at {self.endpoint}")
            try:
                self._client.make_bucket(self.bucket, location=self.region, object_lock=True)
                log.info("created bucket %s with object lock at %s", self.bucket, self.endpoint)
            except S3Error as e:
                if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        if self.retention_days is not None:
            try:
                self._client.get_object_lock_config(self.bucket)
            except S3Error as e:
                if e.code in _ACCESS_S3_CODES:
                    raise
                raise StorageError(
                    "Kho lưu trữ chưa bật khóa chống xóa (object lock) nên không bảo vệ được bản sao đã cấp. "
                    "Hãy báo cho quản trị viên.",
                    detail=f"bucket {self.bucket!r} has no object lock ({e.code}); recreate it with one",
                ) from e

    # ---- interface ----------------------------------------------------------------------------
    def _headers(self, content_type: str, metadata: dict[str, str], sha: str, immutable: bool) -> DictType:
        user: DictType = {name: _encode_meta(value) for name, value in metadata.items()}
        user[_SHA256_META] = sha
        if immutable:
            user[_WRITE_ONCE_META] = "1"
        retention = None
        if immutable and self.retention_days is not None:
            until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.retention_days)
            retention = Retention(COMPLIANCE if self.retention_mode == "COMPLIANCE" else GOVERNANCE, until)
        headers = genheaders(user, None, None, retention, False)
        headers["Content-Type"] = content_type or "application/octet-stream"
        return headers

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
        immutable: bool = False,
    ) -> ObjectInfo:
        validate_key(key)
        meta = _validate_metadata(metadata)
        sha = sha256_hex(data)
        self._ensure_bucket()
        existing = self.stat(key)
        if existing is not None and (existing.immutable or immutable):
            return _check_existing(key, existing, sha)
        headers = self._headers(content_type, meta, sha, immutable)
        if immutable:
            # minio-py 7.2 has no public conditional PUT; its one-shot PUT helper takes raw headers.
            # "If-None-Match: *" makes the server refuse if another writer got there first.
            headers["If-None-Match"] = "*"
        try:
            result = self._call(
                "put", key, lambda: self._client._put_object(self.bucket, key, bytes(data), headers=headers)
            )
        except StorageError as e:
            code = e.__cause__.code if isinstance(e.__cause__, S3Error) else None
            if immutable and code == "PreconditionFailed":  # another writer won the race
                raced = self.stat(key)
                if raced is not None:
                    return _check_existing(key, raced, sha)
            if immutable and code == "NotImplemented":  # a server without conditional writes
                log.warning("%s does not support If-None-Match; write-once relies on the check above", self)
                headers.pop("If-None-Match")
                result = self._call(
                    "put",
                    key,
                    lambda: self._client._put_object(self.bucket, key, bytes(data), headers=headers),
                )
            else:
                raise
        log.debug("put %s (%d bytes, sha256=%s, immutable=%s) in %s", key, len(data), sha, immutable, self.bucket)
        info = ObjectInfo(
            key=key,
            size=len(data),
            sha256=sha,
            content_type=content_type,
            metadata=meta,
            version_id=result.version_id,
            immutable=immutable,
        )
        if immutable and self.retention_days is not None:
            # Report the retention the server actually recorded, not the one we asked for.
            return self.stat(key) or info
        return info

    def put_version(
        self,
        key: str,
        data: bytes,
        *,
        after_sha256: str,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        validate_key(key)
        meta = _validate_metadata(metadata)
        sha = sha256_hex(data)
        self._ensure_bucket()
        current = self.stat(key)
        if current is not None and current.sha256 == sha:
            return current
        _check_current(key, current, after_sha256)
        headers = self._headers(content_type, meta, sha, True)
        # The bucket is versioned (object lock): this PUT adds a version; the older ones stay,
        # each under its own retention.
        result = self._call(
            "put version", key, lambda: self._client._put_object(self.bucket, key, bytes(data), headers=headers)
        )
        log.info("put %s new version %s (sha256=%s) in %s", key, result.version_id, sha, self.bucket)
        return self.stat(key) or ObjectInfo(
            key=key,
            size=len(data),
            sha256=sha,
            content_type=content_type,
            metadata=meta,
            version_id=result.version_id,
            immutable=True,
        )

    def get(self, key: str) -> bytes:
        validate_key(key)
        self._ensure_bucket()

        def fetch() -> tuple[bytes, Any]:
            response = self._client.get_object(self.bucket, key)
            try:
                return response.read(), response.headers
            finally:
                response.close()
                response.release_conn()

        data, headers = self._call("get", key, fetch)
        if headers.get("x-amz-meta-" + _WRITE_ONCE_META) == "1":
            recorded = headers.get("x-amz-meta-" + _SHA256_META)
            if recorded and recorded != sha256_hex(data):
                raise ObjectCorruptError(detail=f"{key!r} in {self.describe()} does not match its recorded sha256")
        return bytes(data)

    def stat(self, key: str) -> ObjectInfo | None:
        validate_key(key)
        self._ensure_bucket()
        try:
            st = self._call("stat", key, lambda: self._client.stat_object(self.bucket, key))
        except ObjectNotFoundError:
            return None
        headers = st.metadata or {}  # case-insensitive HTTPHeaderDict of the response
        user: dict[str, str] = {}
        for name, value in headers.items():
            lname = name.lower()
            if lname.startswith("x-amz-meta-"):
                user[lname[len("x-amz-meta-") :]] = _decode_meta(value)
        sha = user.pop(_SHA256_META, "")
        immutable = user.pop(_WRITE_ONCE_META, "") == "1"
        retain_until = None
        raw_until = headers.get("x-amz-object-lock-retain-until-date")
        if raw_until:
            try:
                retain_until = dt.datetime.fromisoformat(raw_until.replace("Z", "+00:00"))
            except ValueError:
                log.warning("unparsable retain-until date %r on %s", raw_until, key)
        return ObjectInfo(
            key=key,
            size=int(st.size or 0),
            sha256=sha,
            content_type=st.content_type or "application/octet-stream",
            metadata=user,
            version_id=st.version_id,
            immutable=immutable or retain_until is not None,
            retain_until=retain_until,
        )

    def delete(self, key: str) -> None:
        validate_key(key)
        info = self.stat(key)
        if info is None:
            return
        if info.immutable:
            raise ImmutableObjectError(detail=f"{key!r} in {self.describe()} is write-once")
        self._call("delete", key, lambda: self._client.remove_object(self.bucket, key))
        log.info("deleted %s from %s", key, self.describe())

    def list(self, prefix: str = "") -> list[str]:
        _validate_prefix(prefix)
        self._ensure_bucket()

        def names() -> list[str]:
            objects = self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
            return [o.object_name for o in objects if o.object_name and not o.is_dir]

        return sorted(self._call("list", prefix, names))


@dataclass(frozen=True)
class S3Object:
    """One object of a listing: its full key and size. Keys ending in "/" are folder markers."""

    key: str
    size: int


class S3Reader:
    """Read-only access to one bucket of an S3 server, e.g. a batch of scans to import (``s3://bucket/prefix``).

    Same client set-up and same error translation as :class:`S3Store`; it never creates the bucket and
    never writes. A missing bucket is :class:`ObjectNotFoundError`.
    """

    def __init__(self, access: S3Access, bucket: str) -> None:
        try:
            check_bucket_name(bucket)
        except ValueError as e:
            raise InvalidKeyError(detail=f"invalid bucket name {bucket!r}: {e}") from e
        self.access = access
        self.bucket = bucket
        self._http = _http_pool(access)
        self._client = _minio_client(access, self._http)

    def describe(self) -> str:
        return f"S3 bucket {self.bucket!r} at {self.access.url()}"

    def __repr__(self) -> str:
        return f"<S3Reader {self.describe()}>"

    def list_objects(self, prefix: str = "", *, limit: int | None = None) -> list[S3Object]:
        """Every object whose key starts with ``prefix`` (recursively), with its size, sorted by key.

        With ``limit``, listing stops after ``limit + 1`` objects, so a caller can refuse a prefix
        holding too many without paging through all of it.
        """
        _validate_prefix(prefix)

        def names() -> list[S3Object]:
            out: list[S3Object] = []
            for o in self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True):
                if o.object_name is None:
                    continue
                out.append(S3Object(key=o.object_name, size=int(o.size or 0)))
                if limit is not None and len(out) > limit:
                    break
            return out

        return sorted(_s3_call(f"list {prefix!r} in {self.describe()}", names), key=lambda o: o.key)

    def get(self, key: str, *, max_bytes: int) -> bytes:
        """The object's bytes, but never more than ``max_bytes + 1`` of them (asked with a Range header
        and read with a cap): a result longer than ``max_bytes`` means the object is larger than that."""
        validate_key(key)
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        where = f"get {key!r} in {self.describe()}"

        def fetch() -> bytes:
            response = self._client.get_object(self.bucket, key, offset=0, length=max_bytes + 1)
            try:
                out = bytearray()
                while len(out) <= max_bytes:
                    chunk = response.read(min(1 << 20, max_bytes + 1 - len(out)))
                    if not chunk:
                        break
                    out += chunk
                return bytes(out)
            finally:
                response.close()
                response.release_conn()

        try:
            return _s3_call(where, fetch)
        except StorageError as e:
            # An empty object has no byte 0: some servers answer a range request for it with 416.
            if isinstance(e.__cause__, S3Error) and e.__cause__.code == "InvalidRange":
                st = _s3_call(where, lambda: self._client.stat_object(self.bucket, key))
                if not st.size:
                    return b""
            raise

    def close(self) -> None:
        self._http.clear()

    def __enter__(self) -> S3Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# S3 metadata travels as HTTP headers: ASCII only. Vietnamese values (office names…) are
# percent-encoded on the way in and decoded on the way out; '%' itself is always encoded.
_META_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def _encode_meta(value: str) -> str:
    return quote(value, safe=_META_SAFE)


def _decode_meta(value: str) -> str:
    return unquote(value)


__all__ = [
    "RESERVED_METADATA",
    "FilesystemStore",
    "ObjectInfo",
    "ObjectStore",
    "RetentionMode",
    "S3Access",
    "S3Object",
    "S3Reader",
    "S3Store",
    "sha256_hex",
    "validate_key",
]
