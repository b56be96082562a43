"""Build the concrete services from Settings. The only place that knows both."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from fastapi import FastAPI

from ecopy.settings import Settings
from pipeline.load import LoadLimits
from pipeline.ocr import OcrOptions
from pipeline.pki import make_dev_pki
from pipeline.read import ReadOptions
from pipeline.sign import SigningKey, SignOptions, load_pkcs12_key
from storage.objectstore import FilesystemStore, ObjectStore, S3Store
from storage.registry import Registry
from workers.context import IssuerProfile, Services

log = logging.getLogger(__name__)


def build_store(s: Settings) -> ObjectStore:
    if s.store == "s3":
        return S3Store(
            s.s3_endpoint,
            s.s3_access_key,
            s.s3_secret_key.get_secret_value(),
            s.s3_bucket,
            secure=s.s3_secure,
            region=s.s3_region,
            retention_days=s.retention_days,
            retention_mode=s.retention_mode,
        )
    return FilesystemStore(s.data_dir / "objects")


def build_registry(s: Settings) -> Registry:
    if not s.database_url:
        s.data_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry(s.resolved_database_url)
    registry.migrate()
    return registry


def _dev_pki_paths(s: Settings) -> tuple[Path, Path, Path]:
    d = s.pki_dir
    return d / "signer.p12", d / "signer.pass", d / "root.pem"


def uses_dev_pki(s: Settings) -> bool:
    return s.pkcs12_path is None


def ensure_dev_pki(s: Settings) -> None:
    """First run of the embedded default: a development CA and signer (marked not legally valid)."""
    if not uses_dev_pki(s):
        return
    p12, pw, root = _dev_pki_paths(s)
    if p12.exists() and pw.exists() and root.exists():
        return
    s.pki_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24).encode()
    pki = make_dev_pki(s.office, password=password)
    for path, data in ((pw, password), (p12, pki.signer_p12), (root, pki.root_cert_pem)):
        path.write_bytes(data)
        os.chmod(path, 0o600 if path != root else 0o644)
    log.warning("created a DEVELOPMENT PKI in %s: its copies are NOT legally valid", s.pki_dir)


def trust_roots(s: Settings) -> list[bytes]:
    paths = list(s.trust_root_paths)
    if uses_dev_pki(s):
        paths.append(_dev_pki_paths(s)[2])
    return [p.read_bytes() for p in paths if p.exists()]


def load_signing_key(s: Settings) -> SigningKey:
    if uses_dev_pki(s):
        ensure_dev_pki(s)
        p12, pw, _ = _dev_pki_paths(s)
        return load_pkcs12_key(p12.read_bytes(), pw.read_bytes())
    assert s.pkcs12_path is not None
    return load_pkcs12_key(s.pkcs12_path.read_bytes(), s.pkcs12_password.get_secret_value().encode())


def read_options(s: Settings) -> ReadOptions:
    return ReadOptions(
        limits=LoadLimits(
            max_bytes=s.max_upload_bytes,
            max_pixels=s.max_pixels,
            max_pages=s.max_pages,
            max_total_pixels=s.max_total_pixels,
        ),
        ocr=OcrOptions(lang=s.ocr_lang, tessdata_dir=str(s.tessdata_dir) if s.tessdata_dir else None),
    )


def build_services(s: Settings, *, with_key: bool) -> Services:
    ensure_dev_pki(s)
    key_cache: list[SigningKey] = []

    def signing_key() -> SigningKey:
        if not key_cache:
            key_cache.append(load_signing_key(s))
        return key_cache[0]

    return Services(
        store=build_store(s),
        registry=build_registry(s),
        read_options=read_options(s),
        issuer=IssuerProfile(
            office=s.office,
            certifier_name=s.certifier_name,
            certifier_title=s.certifier_title,
            public_url=s.public_url,
            development_only=uses_dev_pki(s),
        ),
        sign_options=SignOptions(timestamp_url=s.tsa_url, location=s.signing_location),
        trust_roots=trust_roots(s),
        signing_key=signing_key if with_key else None,
    )


def object_location(store: ObjectStore, key: str) -> str:
    """Where a person finds the object: a file path for the embedded store, s3://… otherwise."""
    if isinstance(store, FilesystemStore):
        return str(store.path_for(key))
    if isinstance(store, S3Store):
        return f"s3://{store.bucket}/{key}"
    return key


def build_app(s: Settings) -> FastAPI:
    from api.app import AppState, create_app
    from workers.queues import connect

    ensure_dev_pki(s)
    state = AppState(
        registry=build_registry(s),
        store=build_store(s),
        redis=connect(s.redis_url),
        trust_roots=trust_roots(s),
        max_upload_bytes=s.max_upload_bytes,
        office=s.office,
    )
    return create_app(state)


def run_worker(s: Settings, queues: list[str], *, burst: bool = False) -> int:
    """An RQ worker. Only a worker that listens on the sign queue is given the signing key."""
    from rq import Worker

    from workers import context
    from workers.queues import SIGN_QUEUE, connect

    services = build_services(s, with_key=SIGN_QUEUE in queues)
    context.configure(services)
    conn = connect(s.redis_url)
    worker = Worker(queues, connection=conn)
    log.info("worker on queues %s (signing key: %s)", ",".join(queues), "yes" if SIGN_QUEUE in queues else "no")
    worker.work(burst=burst, with_scheduler=True, logging_level=s.log_level.upper())
    return 0
