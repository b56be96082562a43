"""pytest plugin: every e-copy the tests issued passes the independent check.

At the end of the session (``pytest_sessionfinish``) every issued copy the run left behind is
checked with :func:`tests.support.independent.check_issued_copy` (poppler, qpdf, OpenSSL, the structure
rules), two at a time; any failure fails the run (exit status 1) and is listed in the terminal
summary. One line is always printed: ``independent check: N issued copies … all pass``.

Which copies
  * **Filesystem stores** under the session's base temp folder: every ``**/ecopies/*.pdf``
    (``<store>/data/ecopies/<ID>.pdf``) and every earlier version the store keeps
    (``<store>/versions/ecopies/<ID>.pdf/NNNN``). A file is an *issued copy* when the store's
    metadata (``<store>/meta/<key>.json``) carries ``ecopy-id`` — what the issuing code writes.
    Objects whose metadata lacks it are not copies (tests/storage/test_objectstore.py stores random bytes
    and then corrupts them under ``ecopies/``) and are skipped, counted in the summary line. A file
    with no metadata at all (a run that died between data and metadata, tests/workers/test_api_worker.py;
    a file a test put there by hand) is checked if it is a signed PDF (``%PDF`` … ``/ByteRange``).
  * **S3 (SeaweedFS)**: copies cannot be found after the session, because the S3 server is
    stopped and its buckets removed before ``pytest_sessionfinish``. So the plugin reads them
    while they still exist: right before the ``s3_bucket`` fixture removes its bucket, and right
    before the session's ``s3_server`` fixture stops (every bucket still on it, e.g. the buckets
    tests/workers/test_api_worker.py names itself). Objects under ``ecopies/`` (every version) whose
    ``x-amz-meta-ecopy-id`` is set are downloaded into the base temp folder and checked with the
    rest. An S3 server a test module starts on its own (tests/workers/test_batch_faults.py) is not seen:
    such a fixture can call :func:`collect_s3_copies` before it stops its server.

A test that damages a stored copy on purpose calls :func:`skip_issued_copy` with its path.

Trust roots: the data folder's ``pki/root.pem`` next to a store's folder (the embedded default's
development PKI: ``<data>/objects`` and ``<data>/pki``), plus every root a test registers with
:func:`register_trust_root`. They let pdfsig show the chain; the audit requires integrity, not
trust (see tests/support/independent.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SIGNED_PDF_MARKERS = (b"%PDF", b"/ByteRange")
S3_CAPTURE_FOLDER = "issued-audit-s3"


@dataclass(frozen=True)
class _Copy:
    label: str  # where it was found, for messages
    path: Path
    roots: tuple[bytes, ...]


@dataclass
class _Audit:
    registered_roots: list[bytes] = field(default_factory=list)
    s3_copies: list[_Copy] = field(default_factory=list)
    s3_seen: set[tuple[str, str, str]] = field(default_factory=set)  # (bucket, key, version)
    collect_errors: list[str] = field(default_factory=list)
    config: pytest.Config | None = None
    failures: dict[str, list[str]] = field(default_factory=dict)
    checked: int = 0
    skipped: list[str] = field(default_factory=list)
    excluded: dict[Path, str] = field(default_factory=dict)  # path -> why (skip_issued_copy)
    seconds: float = 0.0
    ran: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_audit = _Audit()


def register_trust_root(pem: bytes) -> None:
    """A root the copies of this run may chain to (e.g. a test PKI's root); used for every copy."""
    with _audit.lock:
        if pem not in _audit.registered_roots:
            _audit.registered_roots.append(pem)


def skip_issued_copy(path: Path, reason: str) -> None:
    """Leave one stored copy out of the audit: for a test that damages a stored copy on purpose."""
    with _audit.lock:
        _audit.excluded[path.resolve()] = reason


def collect_s3_copies(endpoint: str, access_key: str, secret_key: str, bucket: str, region: str = "us-east-1") -> int:
    """Download the issued copies (every version under ``ecopies/``) of one bucket for the end-of-run
    check; call it before the bucket or its server goes away. Returns how many were new."""
    from minio import Minio
    from minio.error import S3Error

    client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False, region=region)
    folder = _capture_dir()
    found = 0
    try:
        if not client.bucket_exists(bucket):
            return 0
        for obj in client.list_objects(bucket, prefix="ecopies/", recursive=True, include_version=True):
            key, version = obj.object_name or "", obj.version_id or ""
            if not key.endswith(".pdf") or obj.is_delete_marker or (bucket, key, version) in _audit.s3_seen:
                continue
            response = client.get_object(bucket, key, version_id=obj.version_id)
            try:
                data, headers = response.read(), response.headers
            finally:
                response.close()
                response.release_conn()
            with _audit.lock:
                _audit.s3_seen.add((bucket, key, version))
            if not headers.get("x-amz-meta-ecopy-id"):
                with _audit.lock:
                    _audit.skipped.append(f"s3://{bucket}/{key}")
                continue
            name = hashlib.sha256(f"{endpoint}/{bucket}/{key}/{version}".encode()).hexdigest()[:16]
            path = folder / f"{name}.pdf"
            path.write_bytes(data)
            label = f"s3://{bucket}/{key}" + (f" (version {version})" if version and version != "null" else "")
            with _audit.lock:
                _audit.s3_copies.append(_Copy(label, path, ()))
            found += 1
    except S3Error as e:
        with _audit.lock:
            _audit.collect_errors.append(f"s3://{bucket}: cannot read the issued copies: {e}")
    return found


def _base_temp() -> Path | None:
    """The session's base temp folder (where tmp_path and tmp_path_factory put everything)."""
    factory = getattr(_audit.config, "_tmp_path_factory", None)
    return factory.getbasetemp() if factory is not None else None


def _capture_dir() -> Path:
    base = _base_temp()
    if base is None:
        raise RuntimeError(
            "issued_audit: the plugin is not configured (add 'tests.support.issued_audit' to pytest_plugins)"
        )
    folder = base / S3_CAPTURE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---- hooks -----------------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-issued-audit",
        action="store_true",
        default=False,
        help="do not check the e-copies the tests issued with the independent tools at the end of the run",
    )


def pytest_configure(config: pytest.Config) -> None:
    global _audit
    _audit = _Audit(config=config)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest) -> Iterator[None]:
    """Read a bucket's copies before ``s3_bucket`` removes it, and every bucket before ``s3_server``
    stops. Finalizers run last-in first-out, so one added after set-up runs before the fixture's
    own teardown."""
    result = yield
    if request.config.getoption("--no-issued-audit"):
        return result
    if fixturedef.argname == "s3_bucket" and isinstance(result, str):
        server = request.getfixturevalue("s3_server")
        fixturedef.addfinalizer(lambda: _collect_quietly(server, [result]))
    elif fixturedef.argname == "s3_server":
        server = result
        fixturedef.addfinalizer(lambda: _collect_quietly(server, None))
    return result


def _collect_quietly(server: object, buckets: list[str] | None) -> None:
    """Never let the audit break a fixture's teardown: errors are reported at the end instead."""
    try:
        endpoint, access, secret = (str(getattr(server, a)) for a in ("endpoint", "access_key", "secret_key"))
        region = str(getattr(server, "region", "us-east-1"))
        if buckets is None:
            from minio import Minio

            client = Minio(endpoint, access_key=access, secret_key=secret, secure=False, region=region)
            buckets = [b.name for b in client.list_buckets()]
        for bucket in buckets:
            collect_s3_copies(endpoint, access, secret, bucket, region)
    except Exception as e:  # the S3 server may already be gone
        with _audit.lock:
            _audit.collect_errors.append(f"cannot read issued copies from S3 ({buckets or 'all buckets'}): {e}")


@pytest.hookimpl(tryfirst=True)  # before the tmp_path plugin may remove the folders
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    base = _base_temp()
    if config.getoption("--no-issued-audit") or config.option.collectonly or base is None:
        return
    if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        return
    from tests.support.independent import check_issued_copy

    started = time.perf_counter()
    copies = _filesystem_copies(base) + _audit.s3_copies
    unique: dict[str, _Copy] = {}
    for copy in copies:
        unique.setdefault(hashlib.sha256(copy.path.read_bytes()).hexdigest(), copy)

    def check(copy: _Copy) -> tuple[_Copy, list[str]]:
        roots = list(dict.fromkeys([*copy.roots, *_audit.registered_roots]))
        try:
            return copy, check_issued_copy(copy.path.read_bytes(), roots)
        except Exception as e:  # a crash of the check is a failure, not a pass
            return copy, [f"the check itself failed: {type(e).__name__}: {e}"]

    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        results = list(pool.map(check, unique.values()))
    _audit.ran = True
    _audit.checked = len(results)
    _audit.failures = {copy.label: failures for copy, failures in results if failures}
    for error in _audit.collect_errors:
        _audit.failures.setdefault("S3", []).append(error)
    _audit.seconds = time.perf_counter() - started
    if _audit.failures and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _audit.ran:
        if terminalreporter.config.getoption("--no-issued-audit"):
            terminalreporter.write_line("independent check of issued copies: not run (--no-issued-audit)", yellow=True)
        return
    n, s3 = _audit.checked, len({c.path for c in _audit.s3_copies})
    per_copy = f", {_audit.seconds / n * 1000:.0f} ms a copy" if n else ""
    skipped = f"; {len(_audit.skipped)} other objects under ecopies/ skipped (not issued)" if _audit.skipped else ""
    where = f" ({s3} read from S3)" if s3 else ""
    if not _audit.failures:
        terminalreporter.write_line(
            f"independent check: {n} issued copies{where}: all pass ({_audit.seconds:.1f} s{per_copy}){skipped}",
            green=True,
        )
        return
    terminalreporter.section("independent check of issued copies FAILED", sep="=", red=True, bold=True)
    for label, failures in _audit.failures.items():
        terminalreporter.write_line(f"{label}:", red=True, bold=True)
        for failure in failures:
            terminalreporter.write_line(f"    {failure}")
    bad = sum(1 for label in _audit.failures if label != "S3")
    terminalreporter.write_line(
        f"independent check: {n} issued copies{where}: {bad} FAIL ({_audit.seconds:.1f} s{per_copy}){skipped}",
        red=True,
        bold=True,
    )


# ---- finding the copies ----------------------------------------------------------------------------
def _filesystem_copies(base: Path) -> list[_Copy]:
    found: list[_Copy] = []
    for path in _candidates(base):
        store_root, key = _store_location(path)
        if path.resolve() in _audit.excluded:
            _audit.skipped.append(f"{path} ({_audit.excluded[path.resolve()]})")
        elif _is_issued(path, store_root, key):
            found.append(_Copy(str(path.relative_to(base)), path, _data_folder_roots(base, path)))
        else:
            _audit.skipped.append(str(path))
    return found


def _candidates(base: Path) -> list[Path]:
    """``**/ecopies/*.pdf`` and ``**/ecopies/*.pdf/*`` (kept versions). Symbolic links are not
    followed: pytest's ``…current`` links point at folders the walk sees anyway."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base):
        folder = Path(dirpath)
        dirnames[:] = [d for d in dirnames if d != S3_CAPTURE_FOLDER and not (folder / d).is_symlink()]
        in_ecopies = folder.name == "ecopies"
        in_versions = folder.name.endswith(".pdf") and folder.parent.name == "ecopies"
        for name in filenames:
            path = folder / name
            if path.is_symlink() or not path.is_file():
                continue
            if (in_ecopies and name.endswith(".pdf")) or in_versions:
                found.append(path)
    return sorted(found)


def _store_location(path: Path) -> tuple[Path | None, str | None]:
    """(store root, object key) of a FilesystemStore object or of a version it keeps."""
    parts = path.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] != "ecopies" or i == 0:
            continue
        folder = parts[i - 1]
        root = Path(*parts[: i - 1])
        if folder == "data":
            return root, "/".join(parts[i:])
        if folder == "versions" and path.parent.name.endswith(".pdf"):
            return root, "/".join(parts[i:-1])
        break
    return None, None


def _is_issued(path: Path, store_root: Path | None, key: str | None) -> bool:
    if store_root is not None and key is not None:
        meta_path = store_root / "meta" / f"{key}.json"
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text("utf-8")).get("metadata") or {}
            except (OSError, ValueError):
                meta = {}
            return bool(meta.get("ecopy-id"))
    head = path.read_bytes()
    return head.startswith(SIGNED_PDF_MARKERS[0]) and SIGNED_PDF_MARKERS[1] in head


def _data_folder_roots(base: Path, path: Path) -> tuple[bytes, ...]:
    """The development PKI's root of the data folder the copy lives in (``<data>/pki/root.pem``)."""
    for folder in path.parents:
        if folder == base or base not in folder.parents:
            break
        root_pem = folder / "pki" / "root.pem"
        if root_pem.is_file():
            return (root_pem.read_bytes(),)
    return ()
