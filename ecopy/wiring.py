"""Build the concrete services from Settings. The only place that knows both."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

from fastapi import FastAPI

from api.state import AppState, RateLimits
from ecopy.offices import OfficeConfig, default_level, office_signer, parse_offices_file
from ecopy.settings import Settings
from pipeline.certify.dev_pki import make_dev_pki
from pipeline.read._exec.tesseract import check_tessdata
from pipeline.read.load import LoadLimits
from pipeline.read.ocr import OcrOptions
from pipeline.read.reader import ReadOptions
from pipeline.read.second_opinion import SecondOpinion
from storage.objectstore import FilesystemStore, ObjectStore, S3Access, S3Store
from storage.registry import Registry
from workflow.batch_source import ArchiveLimits
from workflow.context import OfficeSigner, Services

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
    """The embedded default: no key configured anywhere, so a development PKI signs."""
    return s.pkcs12_path is None and not s.pkcs11_token_label and s.offices_file is None


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


def default_office(s: Settings) -> OfficeConfig:
    """The office of the ``ECOPY_*`` settings (the only one unless ECOPY_OFFICES_FILE lists several)."""
    dev = uses_dev_pki(s)
    dev_p12, dev_password, _ = _dev_pki_paths(s)
    return OfficeConfig(
        name=s.office,
        certifier_name=s.certifier_name,
        certifier_title=s.certifier_title,
        signing_location=s.signing_location,
        level=default_level(s.signature_level, s.tsa_url),
        tsa_url=s.tsa_url,
        pkcs12_path=dev_p12 if dev else s.pkcs12_path,
        pkcs11_token_label=s.pkcs11_token_label,
        pkcs11_module=str(s.pkcs11_module),
        pkcs11_key_label=s.pkcs11_key_label,
        pkcs11_cert_label=s.pkcs11_cert_label,
        secret=(
            dev_password.read_text().strip()
            if dev and dev_password.exists()
            else (s.pkcs11_pin if s.pkcs11_token_label else s.pkcs12_password).get_secret_value()
        ),
        development_only=dev,
    )


def office_configs(s: Settings) -> list[OfficeConfig]:
    default = default_office(s)
    return parse_offices_file(s.offices_file, default) if s.offices_file else [default]


def trust_roots(s: Settings) -> list[bytes]:
    """The trust list: configured roots, every office's roots, the development root when it signs."""
    paths = list(s.trust_root_paths)
    if s.offices_file:
        paths += [p for o in office_configs(s) for p in o.trust_roots]
    if uses_dev_pki(s):
        paths.append(_dev_pki_paths(s)[2])
    return list(dict.fromkeys(p.read_bytes() for p in paths if p.exists()))


def office_signers(s: Settings) -> dict[str, OfficeSigner]:
    roots = tuple(trust_roots(s))
    return {o.name: office_signer(o, public_url=s.public_url, trust_roots=roots) for o in office_configs(s)}


# Where `make ocr-models` puts the second OCR model (tessdata_best_int vie, from npm).
DEFAULT_CHECK_TESSDATA = Path(sys.prefix) / "share" / "ecopy" / "tessdata" / "best_int"


def load_limits(s: Settings) -> LoadLimits:
    """What a file may be: also checked where documents are only recorded (``ecopy batch``), not read."""
    return LoadLimits(
        max_bytes=s.max_upload_bytes,
        max_pixels=s.max_pixels,
        max_pages=s.max_pages,
        max_total_pixels=s.max_total_pixels,
        parse_memory_bytes=s.parse_memory_mb * 1024 * 1024,
        parse_timeout_s=s.parse_timeout_s,
    )


def read_options(s: Settings) -> ReadOptions:
    """How documents are read; an incomplete OCR model folder is refused here, at start-up."""
    if s.tessdata_dir:
        check_tessdata(s.tessdata_dir, s.ocr_lang)
    second: SecondOpinion | None = None
    if s.ocr_check:
        folder = s.ocr_check_tessdata_dir or DEFAULT_CHECK_TESSDATA
        check_tessdata(folder, s.ocr_lang)
        second = SecondOpinion(tessdata_dir=str(folder), lang=s.ocr_lang)
    return ReadOptions(
        limits=load_limits(s),
        ocr=OcrOptions(lang=s.ocr_lang, tessdata_dir=str(s.tessdata_dir) if s.tessdata_dir else None),
        second_opinion=second,
    )


def archive_limits(s: Settings) -> ArchiveLimits:
    return ArchiveLimits(
        max_entries=s.archive_max_entries,
        max_total_bytes=s.archive_max_total_bytes,
        max_file_bytes=s.max_upload_bytes,
        max_ratio=s.archive_max_ratio,
    )


def s3_access(s: Settings) -> S3Access:
    """Credentials for reading an ``s3://bucket/prefix`` batch source: the configured S3 endpoint."""
    return S3Access(
        endpoint=s.s3_endpoint,
        access_key=s.s3_access_key,
        secret_key=s.s3_secret_key.get_secret_value(),
        secure=s.s3_secure,
        region=s.s3_region,
    )


def build_services(s: Settings, *, with_key: bool) -> Services:
    ensure_dev_pki(s)
    offices = office_signers(s)
    default = offices.get(s.office) or next(iter(offices.values()))
    return Services(
        store=build_store(s),
        registry=build_registry(s),
        read_options=read_options(s),
        issuer=default.issuer,
        sign_options=default.sign_options,
        trust_roots=trust_roots(s),
        signing_key=default.signing_key if with_key else None,
        offices=offices if with_key else {},
    )


def object_location(store: ObjectStore, key: str) -> str:
    """Where a person finds the object: a file path for the embedded store, s3://… otherwise."""
    if isinstance(store, FilesystemStore):
        return str(store.path_for(key))
    if isinstance(store, S3Store):
        return f"s3://{store.bucket}/{key}"
    return key


COUNTER_RECONCILE_SECONDS = 30.0


def rate_limits(s: Settings) -> RateLimits:
    return RateLimits(
        public_lookups=s.rate_public_lookups_per_minute,
        public_misses=s.rate_public_misses_per_10min,
        agency_lookups=s.rate_agency_lookups_per_minute,
        logins=s.rate_logins_per_10min,
    )


def build_app(s: Settings) -> FastAPI:
    from api.app import create_app
    from workers.queues import connect

    ensure_dev_pki(s)
    state = AppState(
        registry=build_registry(s),
        store=build_store(s),
        redis=connect(s.redis_url),
        trust_roots=trust_roots(s),
        max_upload_bytes=s.max_upload_bytes,
        office=s.office,
        signing_offices=frozenset(o.name for o in office_configs(s)),
        reconcile_seconds=COUNTER_RECONCILE_SECONDS,
        public_url=s.public_url,
        rate_limits=rate_limits(s),
        session_hours=s.session_hours,
        secure_cookies=s.public_url.startswith("https://"),
        approve_wait_seconds=s.approve_wait_seconds,
    )
    return create_app(state)


# Abandoned jobs (worker and work-horse both killed) are noticed when their heartbeat lapses
# (monitoring interval + 60 s) at the next registry clean-up of any live worker, then retried:
# 10 + 60 + 20 (+ RETRY's first 5 s) keeps that under the 2 minutes the operators were promised.
WORKER_TTL = 30
JOB_MONITORING_INTERVAL = 10
MAINTENANCE_INTERVAL = 20
REDIS_RECONNECT_PAUSE = 2.0


def _stop_was_requested(worker: object) -> bool:
    """SIGTERM/SIGINT or RQ's "shutdown" command, idle (shutdown date set) or busy (stop flag)."""
    return getattr(worker, "_shutdown_requested_date", None) is not None or bool(
        getattr(worker, "_stop_requested", False)
    )


def run_worker(s: Settings, queues: list[str], *, burst: bool = False) -> int:
    """An RQ worker. Only a worker that listens on the sign queue is given the signing key.

    If Redis goes away for longer than RQ's own reconnection covers (a restart, a fail-over),
    the worker is started again on a fresh connection instead of the process ending.
    """
    import time

    from redis.exceptions import RedisError
    from rq import Worker
    from rq.exceptions import StopRequested

    from workers.jobs import on_work_horse_killed
    from workers.queues import SIGN_QUEUE, connect
    from workflow import context

    services = build_services(s, with_key=SIGN_QUEUE in queues)
    context.configure(services)
    log.info("worker on queues %s (signing key: %s)", ",".join(queues), "yes" if SIGN_QUEUE in queues else "no")
    try:
        while True:
            worker = None
            try:
                worker = Worker(  # registers with Redis already: inside the try
                    queues,
                    connection=connect(s.redis_url),
                    worker_ttl=WORKER_TTL,
                    job_monitoring_interval=JOB_MONITORING_INTERVAL,
                    maintenance_interval=MAINTENANCE_INTERVAL,
                    work_horse_killed_handler=on_work_horse_killed,
                )
                worker.work(burst=burst, with_scheduler=True, logging_level=s.log_level.upper())
            except RedisError as e:  # Redis away at start-up or during RQ's own teardown
                if burst:
                    raise
                log.warning("Redis at %s unreachable (%s)", s.redis_url, e)
            # RQ's loop also *returns* after an unexpected error (e.g. Redis gone in the middle of a
            # job). Only a requested stop (SIGTERM/SIGINT) or the end of a burst ends the process.
            if burst or (worker is not None and _stop_was_requested(worker)):
                return 0
            log.warning("worker not running; starting it again in %.0f s", REDIS_RECONNECT_PAUSE)
            time.sleep(REDIS_RECONNECT_PAUSE)
    except StopRequested:  # SIGTERM between two runs: RQ's signal handler is still installed
        return 0
