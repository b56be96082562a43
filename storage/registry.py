"""The registry: which e-copies were issued (and their fate), and the intakes they came from.

SQLite for the embedded default, PostgreSQL in production; the same SQLAlchemy Core code for
both, the schema owned by the Alembic migrations in ``storage/migrations`` (``Registry.migrate``).

An issued e-copy's row keeps the SHA-256 and object key of the exact issued bytes forever:
revocation and supersession only change ``status`` / ``revoked_reason`` / ``superseded_by``.
"""

from __future__ import annotations

import copy
import datetime as dt
import fcntl
import logging
import os
import threading
import weakref
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, RowMapping, make_url
from sqlalchemy.pool import StaticPool

from storage.access import AccessMixin, build_tables
from storage.errors import (
    DuplicateError,
    InvalidStateError,
    NotFoundError,
    RegistryError,
    StorageError,
    StorageUnavailableError,
)
from storage.signing import EcopyVersion, SigningMixin
from storage.signing import build_tables as build_signing_tables

log = logging.getLogger(__name__)

T = TypeVar("T")

EcopyStatus = Literal["issued", "revoked", "superseded"]
ECOPY_STATUSES: tuple[str, ...] = ("issued", "revoked", "superseded")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every process migrating the same database.
_PG_MIGRATION_LOCK = 0x6563_6F70_7931  # "ecopy1"
_MIGRATE_LOCK = threading.Lock()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware_utc(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value!r})")
    return value.astimezone(dt.UTC)


@dataclass(frozen=True, kw_only=True)
class EcopyRecord:
    """One issued e-copy as the registry knows it."""

    ecopy_id: str
    doc_type: str
    fields: dict[str, dict[str, Any]]  # name -> {"value": str, "confidence": float}
    sha256: str  # of the exact issued PDF bytes
    object_key: str
    office: str
    signer_cert_sha256: str
    status: EcopyStatus = "issued"
    issued_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    certificate_number: str = ""  # "Số chứng thực", as printed
    page_count: int = 0
    intake_id: str | None = None
    revoked_reason: str | None = None
    superseded_by: str | None = None
    signature_level: str | None = None  # PAdES level of the current version (B-B … B-LTA)
    timestamp_expiry: dt.datetime | None = None  # when the newest time-stamp's certificates expire
    version: int = 1  # 1 as issued; each `ecopy extend` adds one
    doc_title: str | None = None  # the legal title the statement printed (None: rows before 0005)


@dataclass(frozen=True, kw_only=True)
class IntakeRecord:
    """One scan-to-e-copy case, from upload to issue or failure."""

    id: str
    status: str
    office: str
    doc_type_hint: str | None = None
    doc_type: str | None = None
    file_keys: list[str] = field(default_factory=list)
    file_names: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    ecopy_id: str | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    batch_id: str | None = None  # archive batch this document belongs to; None for counter intakes
    source_ref: str | None = None  # the document's file or folder inside the batch source
    page_count: int | None = None
    min_confidence: float | None = None  # lowest of the document type's and the fields' confidences
    needs_review: bool | None = None  # some confidence below the review threshold
    finished_at: dt.datetime | None = None  # when it reached issued / review / failed
    owner_id: str | None = None  # the citizen's personal ID number, as the clerk typed it
    created_by: str | None = None  # actor: user:NAME / key:ID (None for batches and old rows)
    submitted_by: str | None = None
    submitted_at: dt.datetime | None = None
    approved_by: str | None = None  # the signer who approved it; a counter intake is signed only then
    review_note: str | None = None  # the signer's reason for sending it back
    doc_title: str | None = None  # the clerk's title of an "other" document (None: the type's label)


@dataclass(frozen=True, kw_only=True)
class BatchRecord:
    """One archive digitization batch: a folder, ZIP or S3 prefix of documents."""

    id: str
    kind: str  # file | dir | zip | s3
    location: str
    fingerprint: str
    office: str
    doc_type_hint: str | None
    total: int
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class BatchProgress:
    counts: dict[str, int]  # status -> number of documents
    pages_finished: int
    first_finished_at: dt.datetime | None
    last_finished_at: dt.datetime | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return sum(n for status, n in self.counts.items() if status in FINISHED_STATUSES)


# Statuses after which no worker will touch an intake again by itself.
FINISHED_STATUSES = frozenset({"issued", "failed", "review"})
# Read, and waiting for a clerk (ready, rejected) or a signer (submitted): no job is owed.
WAITING_FOR_PEOPLE = frozenset({"ready", "submitted", "rejected"})


# ---- schema (the migrations create it; these objects are for queries) ----------------------
class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite too (which stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = _aware_utc(value, "timestamp")
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata = sa.MetaData()

ecopies = sa.Table(
    "ecopies",
    metadata,
    sa.Column("ecopy_id", sa.String(64), primary_key=True),
    sa.Column("doc_type", sa.String(64), nullable=False),
    sa.Column("fields", JSONType, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("object_key", sa.String(1024), nullable=False),
    sa.Column("office", sa.String(255), nullable=False),
    sa.Column("signer_cert_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("issued_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("certificate_number", sa.String(64), nullable=False),
    sa.Column("page_count", sa.Integer, nullable=False),
    sa.Column("intake_id", sa.String(64), nullable=True),
    sa.Column("revoked_reason", sa.Text, nullable=True),
    sa.Column("superseded_by", sa.String(64), nullable=True),
    sa.Column("signature_level", sa.String(8), nullable=True),
    sa.Column("timestamp_expiry", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("doc_title", sa.Text, nullable=True),
    sa.UniqueConstraint("sha256", name="uq_ecopies_sha256"),
    sa.UniqueConstraint("intake_id", name="uq_ecopies_intake_id"),
    sa.CheckConstraint("status IN ('issued', 'revoked', 'superseded')", name="ck_ecopies_status"),
    sa.Index("ix_ecopies_office_issued_at", "office", "issued_at"),
)

intakes = sa.Table(
    "intakes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("office", sa.String(255), nullable=False),
    sa.Column("doc_type_hint", sa.String(64), nullable=True),
    sa.Column("doc_type", sa.String(64), nullable=True),
    sa.Column("file_keys", JSONType, nullable=False),
    sa.Column("file_names", JSONType, nullable=False),
    sa.Column("fields", JSONType, nullable=False),
    sa.Column("text", JSONType, nullable=False),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("ecopy_id", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=True),
    sa.Column("source_ref", sa.Text, nullable=True),
    sa.Column("page_count", sa.Integer, nullable=True),
    sa.Column("min_confidence", sa.Float, nullable=True),
    sa.Column("needs_review", sa.Boolean, nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("owner_id", sa.String(32), nullable=True),
    sa.Column("created_by", sa.String(64), nullable=True),
    sa.Column("submitted_by", sa.String(64), nullable=True),
    sa.Column("submitted_at", UTCDateTime(), nullable=True),
    sa.Column("approved_by", sa.String(64), nullable=True),
    sa.Column("review_note", sa.Text, nullable=True),
    sa.Column("doc_title", sa.Text, nullable=True),
    sa.Index("ix_intakes_status_created_at", "status", "created_at"),
    sa.Index("ix_intakes_batch_id_status", "batch_id", "status"),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("office", sa.String(255), nullable=False),
    sa.Column("doc_type_hint", sa.String(64), nullable=True),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

build_tables(metadata, UTCDateTime, JSONType)
build_signing_tables(metadata, UTCDateTime)

certificate_sequences = sa.Table(
    "certificate_sequences",
    metadata,
    sa.Column("office", sa.String(255), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last_number", sa.Integer, nullable=False),
)

_INTAKE_UPDATABLE = frozenset(
    {
        "status",
        "office",
        "doc_type_hint",
        "doc_type",
        "file_keys",
        "file_names",
        "fields",
        "text",
        "error_code",
        "error_message",
        "ecopy_id",
        "page_count",
        "min_confidence",
        "needs_review",
        "owner_id",
        "submitted_by",
        "submitted_at",
        "approved_by",
        "review_note",
        "doc_title",
    }
)


def normalize_url(url: str) -> str:
    """Pick the drivers we ship: psycopg 3 for PostgreSQL (SQLAlchemy would default to psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _create_engine(url: str) -> Engine:
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            engine = sa.create_engine(
                parsed, poolclass=StaticPool, connect_args={"check_same_thread": False, "timeout": 30}
            )
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cursor.execute("PRAGMA busy_timeout=30000")  # wait for the writer instead of failing
                cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each WAL checkpoint
                cursor.execute("PRAGMA foreign_keys=ON")
            finally:
                cursor.close()

        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = 5
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


class Registry(AccessMixin, SigningMixin):
    """All reads and writes of the registry. Safe to share between threads."""

    _tables = metadata

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self._engine = _create_engine(self.url)
        self.dialect = self._engine.dialect.name
        self._recorded_signer_certs = set()
        # RQ forks a work-horse per job: a child must never reuse the parent's pooled connections.
        engine_ref = weakref.ref(self._engine)

        def _forget_parent_connections() -> None:
            engine = engine_ref()
            if engine is not None:
                engine.dispose(close=False)

        os.register_at_fork(after_in_child=_forget_parent_connections)

    def describe(self) -> str:
        return f"registry {make_url(self.url).render_as_string(hide_password=True)}"

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- plumbing -----------------------------------------------------------------------------
    @contextmanager
    def _db_errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as e:
            # Server down, connection dropped, SQLite busy past busy_timeout: a retry may work.
            raise StorageUnavailableError(detail=f"{action} in {self.describe()}: {e.orig or e}") from e
        except sa_exc.DBAPIError as e:
            raise RegistryError(detail=f"{action} in {self.describe()}: {e.orig or e}") from e
        except sa_exc.SQLAlchemyError as e:
            raise RegistryError(detail=f"{action} in {self.describe()}: {e}") from e

    def _tx(self, action: str, fn: Callable[[Connection], T]) -> T:
        with self._db_errors(action), self._engine.begin() as conn:
            return fn(conn)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic ``upgrade head``).

        Safe to run twice and from several processes at once: PostgreSQL migrators queue on an
        advisory lock, SQLite ones on a lock file next to the database; threads of one process
        queue on a lock of their own (Alembic's context is process-global).
        """
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))

        def upgrade(conn: Connection) -> None:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

        with _MIGRATE_LOCK, self._sqlite_file_lock():
            self._tx("migrate", upgrade)
        log.info("registry schema at head (%s)", self.describe())

    @contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        database = make_url(self.url).database if self.dialect == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        lock_path = Path(database).expanduser().with_name(Path(database).name + ".migrate-lock")
        with open(lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- e-copies -----------------------------------------------------------------------------
    def add_ecopy(self, rec: EcopyRecord, *, object_version: str | None = None) -> EcopyRecord:
        """Register an issued e-copy (and its version 1). Idempotent per intake: if ``rec.intake_id``
        already has an e-copy, that one is returned and nothing is inserted (a signing job that ran
        twice)."""
        if rec.status not in ECOPY_STATUSES:
            raise ValueError(f"unknown e-copy status {rec.status!r}")
        row = _ecopy_row(rec)

        def insert(conn: Connection) -> EcopyRecord | None:
            if rec.intake_id is not None:
                existing = self._select_ecopy(conn, ecopies.c.intake_id == rec.intake_id)
                if existing is not None:
                    return existing
            conn.execute(ecopies.insert().values(**row))
            self._insert_version(
                conn,
                EcopyVersion(
                    ecopy_id=rec.ecopy_id,
                    version=rec.version,
                    sha256=rec.sha256,
                    object_version=object_version,
                    signature_level=rec.signature_level or "",
                    timestamp_expiry=rec.timestamp_expiry,
                    created_at=rec.issued_at,
                ),
            )
            return None

        try:
            existing = self._tx("add e-copy", insert)
        except RegistryError as e:
            if not isinstance(e.__cause__, sa_exc.IntegrityError):
                raise
            return self._resolve_conflict(rec, e)
        if existing is not None:
            log.info(
                "intake %s already has e-copy %s; not registering %s",
                rec.intake_id,
                existing.ecopy_id,
                rec.ecopy_id,
            )
            return existing
        log.info("registered e-copy %s (intake %s, sha256 %s)", rec.ecopy_id, rec.intake_id, rec.sha256)
        return self._require_ecopy(rec.ecopy_id)

    def _resolve_conflict(self, rec: EcopyRecord, error: RegistryError) -> EcopyRecord:
        """A unique constraint fired: a concurrent twin (return it) or a real duplicate (raise)."""
        if rec.intake_id is not None:
            twin = self.find_by_intake(rec.intake_id)
            if twin is not None:
                return twin
        same_id = self.get_ecopy(rec.ecopy_id)
        if same_id is not None and same_id.sha256 == rec.sha256 and same_id.intake_id == rec.intake_id:
            return same_id
        raise DuplicateError(
            detail=f"e-copy {rec.ecopy_id} (sha256 {rec.sha256}) conflicts with a registered one: {error.detail}"
        ) from error

    def _select_ecopy(self, conn: Connection, where: sa.ColumnElement[bool]) -> EcopyRecord | None:
        row = conn.execute(sa.select(ecopies).where(where)).mappings().first()
        return _ecopy_from_row(row) if row is not None else None

    def _require_ecopy(self, ecopy_id: str) -> EcopyRecord:
        rec = self.get_ecopy(ecopy_id)
        if rec is None:
            raise NotFoundError(detail=f"e-copy {ecopy_id} not in {self.describe()}")
        return rec

    def get_ecopy(self, ecopy_id: str) -> EcopyRecord | None:
        return self._tx("get e-copy", lambda c: self._select_ecopy(c, ecopies.c.ecopy_id == ecopy_id))

    def find_by_sha256(self, sha256: str) -> EcopyRecord | None:
        """The e-copy whose current version, or any earlier stored version, has these exact bytes."""
        versions = self._tables.tables["ecopy_versions"]
        digest = sha256.lower()
        older = sa.select(versions.c.ecopy_id).where(versions.c.sha256 == digest).scalar_subquery()
        return self._tx(
            "find e-copy by sha256",
            lambda c: self._select_ecopy(c, sa.or_(ecopies.c.sha256 == digest, ecopies.c.ecopy_id == older)),
        )

    def copies_to_extend(self, *, expiring_before: dt.datetime, limit: int = 1000) -> list[EcopyRecord]:
        """Issued copies whose newest time-stamp stops being verifiable before ``expiring_before``."""
        query = (
            sa.select(ecopies)
            .where(
                ecopies.c.status == "issued",
                ecopies.c.timestamp_expiry.is_not(None),
                ecopies.c.timestamp_expiry < _aware_utc(expiring_before, "expiring_before"),
            )
            .order_by(ecopies.c.timestamp_expiry)
            .limit(limit)
        )
        rows = self._tx("list copies to extend", lambda c: c.execute(query).mappings().all())
        return [_ecopy_from_row(r) for r in rows]

    def find_by_intake(self, intake_id: str) -> EcopyRecord | None:
        return self._tx("find e-copy by intake", lambda c: self._select_ecopy(c, ecopies.c.intake_id == intake_id))

    def count_ecopies(self, *, status: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(ecopies)
        if status is not None:
            query = query.where(ecopies.c.status == status)
        return int(self._tx("count e-copies", lambda c: c.execute(query).scalar_one()))

    def revoke(self, ecopy_id: str, reason: str, superseded_by: str | None = None) -> EcopyRecord:
        """Mark an e-copy revoked (or superseded, when a corrected copy replaces it).

        Never touches the SHA-256 or object key. Repeating the same revocation is a no-op;
        a revoked copy may later be marked superseded; a superseded one stays as it is.
        """
        if not reason or not reason.strip():
            raise ValueError("a revocation needs a reason")
        if superseded_by == ecopy_id:
            raise ValueError("an e-copy cannot supersede itself")
        target: EcopyStatus = "superseded" if superseded_by else "revoked"

        def change(conn: Connection) -> EcopyRecord:
            query = sa.select(ecopies).where(ecopies.c.ecopy_id == ecopy_id)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).mappings().first()
            if row is None:
                raise NotFoundError(detail=f"e-copy {ecopy_id} not in {self.describe()}")
            current = _ecopy_from_row(row)
            if current.status == target and current.superseded_by == superseded_by:
                return current  # same revocation again: keep the first reason and time
            if current.status == "superseded":
                raise InvalidStateError(
                    f"Bản sao {ecopy_id} đã được thay thế bởi bản {current.superseded_by}; không thể thay đổi nữa.",
                    detail=f"e-copy {ecopy_id} is already superseded by {current.superseded_by}",
                )
            if current.status == "revoked" and target == "revoked":
                return current
            conn.execute(
                ecopies.update()
                .where(ecopies.c.ecopy_id == ecopy_id)
                .values(
                    status=target,
                    revoked_reason=reason.strip(),
                    superseded_by=superseded_by,
                    updated_at=utcnow(),
                )
            )
            updated = self._select_ecopy(conn, ecopies.c.ecopy_id == ecopy_id)
            assert updated is not None
            return updated

        rec = self._tx("revoke e-copy", change)
        log.info("e-copy %s is now %s (superseded_by=%s): %s", ecopy_id, rec.status, rec.superseded_by, reason)
        return rec

    def next_certificate_number(self, office: str, year: int) -> int:
        """The next number of the office's certification book for ``year`` (1, 2, 3…).

        One atomic upsert: concurrent callers on PostgreSQL serialize on the row, SQLite
        serializes writers; nobody gets the same number twice.
        """
        table = certificate_sequences
        insert_fn = postgresql.insert if self.dialect == "postgresql" else sqlite_dialect.insert
        if self.dialect not in ("postgresql", "sqlite"):
            raise RegistryError(detail=f"certificate sequence not implemented for {self.dialect}")
        stmt = (
            insert_fn(table)
            .values(office=office, year=year, last_number=1)
            .on_conflict_do_update(
                index_elements=[table.c.office, table.c.year],
                set_={"last_number": table.c.last_number + 1},
            )
            .returning(table.c.last_number)
        )
        number = int(self._tx("next certificate number", lambda c: c.execute(stmt).scalar_one()))
        log.debug("certificate number %d for %s/%d", number, office, year)
        return number

    # ---- intakes ------------------------------------------------------------------------------
    def create_intake(
        self,
        id: str,
        office: str,
        file_keys: list[str],
        file_names: list[str],
        doc_type_hint: str | None = None,
        *,
        doc_title: str | None = None,
        status: str = "received",
        batch_id: str | None = None,
        source_ref: str | None = None,
        owner_id: str | None = None,
        created_by: str | None = None,
    ) -> IntakeRecord:
        """Record a new intake. Creating the same intake (same files) again returns the stored one."""
        if len(file_keys) != len(file_names):
            raise ValueError("file_keys and file_names must have the same length")
        now = utcnow()
        row: dict[str, Any] = {
            "id": id,
            "status": status,
            "office": office,
            "doc_type_hint": doc_type_hint,
            "doc_type": None,
            "doc_title": doc_title,
            "file_keys": list(file_keys),
            "file_names": list(file_names),
            "fields": {},
            "text": [],
            "error_code": None,
            "error_message": None,
            "ecopy_id": None,
            "created_at": now,
            "updated_at": now,
            "batch_id": batch_id,
            "source_ref": source_ref,
            "owner_id": owner_id,
            "created_by": created_by,
        }
        try:
            self._tx("create intake", lambda c: c.execute(intakes.insert().values(**row)))
        except RegistryError as e:
            if not isinstance(e.__cause__, sa_exc.IntegrityError):
                raise
            existing = self.get_intake(id)
            if existing is not None and existing.file_keys == list(file_keys):
                return existing
            raise DuplicateError(detail=f"intake {id} already exists with other files") from e
        log.info("created intake %s (%d files, office %s)", id, len(file_keys), office)
        return self._require_intake(id)

    def get_intake(self, id: str) -> IntakeRecord | None:
        def select(conn: Connection) -> IntakeRecord | None:
            row = conn.execute(sa.select(intakes).where(intakes.c.id == id)).mappings().first()
            return _intake_from_row(row) if row is not None else None

        return self._tx("get intake", select)

    def _require_intake(self, id: str) -> IntakeRecord:
        rec = self.get_intake(id)
        if rec is None:
            raise NotFoundError(detail=f"intake {id} not in {self.describe()}")
        return rec

    @staticmethod
    def _intake_values(caller: str, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - _INTAKE_UPDATABLE
        if unknown:
            raise TypeError(f"{caller}() got unknown fields: {', '.join(sorted(unknown))}")
        values = {k: copy.deepcopy(v) for k, v in changes.items()}
        values["updated_at"] = utcnow()
        if "status" in changes:
            values["finished_at"] = values["updated_at"] if changes["status"] in FINISHED_STATUSES else None
        return values

    def update_intake(self, id: str, **changes: Any) -> IntakeRecord:
        """Change some columns of an intake (``status``, ``fields``, ``error_code``…)."""
        values = self._intake_values("update_intake", changes)

        def update(conn: Connection) -> None:
            result = conn.execute(intakes.update().where(intakes.c.id == id).values(**values))
            if result.rowcount == 0:
                raise NotFoundError(detail=f"intake {id} not in {self.describe()}")

        self._tx("update intake", update)
        log.debug("intake %s updated: %s", id, ", ".join(sorted(changes)))
        return self._require_intake(id)

    def transition_intake(self, id: str, from_statuses: Collection[str], **changes: Any) -> IntakeRecord | None:
        """``update_intake`` only if the intake is in one of ``from_statuses``, in one conditional
        UPDATE: of two signers approving the same intake at once, one wins. None: it was not."""
        values = self._intake_values("transition_intake", changes)
        query = intakes.update().where(intakes.c.id == id, intakes.c.status.in_(list(from_statuses))).values(**values)
        changed = self._tx("change intake", lambda c: c.execute(query).rowcount)
        return self._require_intake(id) if changed else None

    def reserve_ecopy_id(self, id: str, candidate: str) -> str:
        """The intake's e-copy ID: ``candidate`` if it had none yet, else the one reserved first.

        One conditional UPDATE, so two signer runs of the same intake agree on one ID.
        """

        def reserve(conn: Connection) -> str | None:
            conn.execute(
                intakes.update()
                .where(intakes.c.id == id, intakes.c.ecopy_id.is_(None))
                .values(ecopy_id=candidate, updated_at=utcnow())
            )
            return conn.execute(sa.select(intakes.c.ecopy_id).where(intakes.c.id == id)).scalar_one_or_none()

        reserved = self._tx("reserve e-copy ID", reserve)
        if reserved is None:
            raise NotFoundError(detail=f"intake {id} not in {self.describe()}")
        return str(reserved)

    def list_intakes(
        self,
        *,
        status: str | Collection[str] | None = None,
        office: str | None = None,
        limit: int = 100,
        counter_only: bool = False,
    ) -> list[IntakeRecord]:
        """Newest first, without OCR text; for the counter, the signer's queue and batch reports."""
        columns = [c for c in intakes.c if c.name != "text"]
        query = sa.select(*columns).order_by(intakes.c.created_at.desc(), intakes.c.id).limit(limit)
        if isinstance(status, str):
            query = query.where(intakes.c.status == status)
        elif status is not None:
            query = query.where(intakes.c.status.in_(list(status)))
        if counter_only:
            query = query.where(intakes.c.batch_id.is_(None))
        if office is not None:
            query = query.where(intakes.c.office == office)
        rows = self._tx("list intakes", lambda c: c.execute(query).mappings().all())
        return [_intake_from_row(r) for r in rows]

    # ---- batches ------------------------------------------------------------------------------
    def create_batch(self, rec: BatchRecord) -> BatchRecord:
        """Record a batch; the same batch ID again returns the stored one (a re-run)."""
        row = {
            "id": rec.id,
            "kind": rec.kind,
            "location": rec.location,
            "fingerprint": rec.fingerprint,
            "office": rec.office,
            "doc_type_hint": rec.doc_type_hint,
            "total": rec.total,
            "created_at": _aware_utc(rec.created_at, "created_at"),
            "updated_at": _aware_utc(rec.updated_at, "updated_at"),
        }
        try:
            self._tx("create batch", lambda c: c.execute(batches.insert().values(**row)))
        except RegistryError as e:
            if not isinstance(e.__cause__, sa_exc.IntegrityError):
                raise
        else:
            log.info("created batch %s (%s %s, %d documents)", rec.id, rec.kind, rec.location, rec.total)
        stored = self.get_batch(rec.id)
        if stored is None:
            raise NotFoundError(detail=f"batch {rec.id} not in {self.describe()}")
        return stored

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        def select(conn: Connection) -> BatchRecord | None:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).mappings().first()
            return _batch_from_row(row) if row is not None else None

        return self._tx("get batch", select)

    def batch_intakes(self, batch_id: str) -> list[IntakeRecord]:
        """Every document of a batch in source order, without its OCR text (reconciliation, reports)."""
        columns = [c for c in intakes.c if c.name != "text"]
        query = sa.select(*columns).where(intakes.c.batch_id == batch_id).order_by(intakes.c.source_ref)
        rows = self._tx("list batch intakes", lambda c: c.execute(query).mappings().all())
        return [_intake_from_row(r) for r in rows]

    def stale_counter_intakes(self, *, updated_before: dt.datetime, limit: int = 1000) -> list[IntakeRecord]:
        """Counter intakes (no batch) still on their way — not finished, not waiting at "ready" —
        that have not changed since ``updated_before``: candidates for a lost job."""
        ic = intakes.c
        columns = [c for c in intakes.c if c.name != "text"]
        query = (
            sa.select(*columns)
            .where(
                ic.batch_id.is_(None),
                ic.status.not_in(sorted(FINISHED_STATUSES | WAITING_FOR_PEOPLE)),
                ic.updated_at < _aware_utc(updated_before, "updated_before"),
            )
            .order_by(ic.updated_at)
            .limit(limit)
        )
        rows = self._tx("list stale counter intakes", lambda c: c.execute(query).mappings().all())
        return [_intake_from_row(r) for r in rows]

    def batch_ecopy_ids(self, batch_id: str) -> dict[str, str]:
        """intake ID -> e-copy ID for every document of the batch that has a registered copy."""
        query = (
            sa.select(ecopies.c.intake_id, ecopies.c.ecopy_id)
            .join(intakes, intakes.c.id == ecopies.c.intake_id)
            .where(intakes.c.batch_id == batch_id)
        )
        rows = self._tx("list batch e-copies", lambda c: c.execute(query).all())
        return {str(r[0]): str(r[1]) for r in rows}

    def batch_progress(self, batch_id: str) -> BatchProgress:
        """Counts by status, pages finished and the first/last finish time: one cheap query."""
        ic = intakes.c
        query = (
            sa.select(
                ic.status,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(ic.page_count), 0),
                sa.func.min(ic.finished_at),
                sa.func.max(ic.finished_at),
            )
            .where(ic.batch_id == batch_id)
            .group_by(ic.status)
        )
        rows = self._tx("batch progress", lambda c: c.execute(query).all())
        counts = {str(r[0]): int(r[1]) for r in rows}
        done = [r for r in rows if r[0] in FINISHED_STATUSES]
        firsts = [r[3] for r in done if r[3] is not None]
        lasts = [r[4] for r in done if r[4] is not None]
        return BatchProgress(
            counts=counts,
            pages_finished=sum(int(r[2]) for r in done),
            first_finished_at=_as_utc(min(firsts)) if firsts else None,
            last_finished_at=_as_utc(max(lasts)) if lasts else None,
        )


# ---- row <-> record ----------------------------------------------------------------------------
def _ecopy_row(rec: EcopyRecord) -> dict[str, Any]:
    return {
        "ecopy_id": rec.ecopy_id,
        "doc_type": rec.doc_type,
        "fields": copy.deepcopy(dict(rec.fields)),
        "sha256": rec.sha256.lower(),
        "object_key": rec.object_key,
        "office": rec.office,
        "signer_cert_sha256": rec.signer_cert_sha256.lower(),
        "status": rec.status,
        "issued_at": _aware_utc(rec.issued_at, "issued_at"),
        "updated_at": _aware_utc(rec.updated_at, "updated_at"),
        "certificate_number": rec.certificate_number,
        "page_count": rec.page_count,
        "intake_id": rec.intake_id,
        "revoked_reason": rec.revoked_reason,
        "superseded_by": rec.superseded_by,
        "signature_level": rec.signature_level,
        "timestamp_expiry": rec.timestamp_expiry,
        "version": rec.version,
        "doc_title": rec.doc_title,
    }


def _ecopy_from_row(row: RowMapping) -> EcopyRecord:
    return EcopyRecord(
        ecopy_id=row["ecopy_id"],
        doc_type=row["doc_type"],
        fields=dict(row["fields"] or {}),
        sha256=row["sha256"],
        object_key=row["object_key"],
        office=row["office"],
        signer_cert_sha256=row["signer_cert_sha256"],
        status=row["status"],
        issued_at=row["issued_at"],
        updated_at=row["updated_at"],
        certificate_number=row["certificate_number"],
        page_count=int(row["page_count"]),
        intake_id=row["intake_id"],
        revoked_reason=row["revoked_reason"],
        superseded_by=row["superseded_by"],
        signature_level=row["signature_level"],
        timestamp_expiry=row["timestamp_expiry"],
        version=int(row["version"] or 1),
        doc_title=row.get("doc_title"),
    )


def _intake_from_row(row: RowMapping) -> IntakeRecord:
    return IntakeRecord(
        id=row["id"],
        status=row["status"],
        office=row["office"],
        doc_type_hint=row["doc_type_hint"],
        doc_type=row["doc_type"],
        file_keys=list(row["file_keys"] or []),
        file_names=list(row["file_names"] or []),
        fields=dict(row["fields"] or {}),
        text=list(row.get("text") or []),
        error_code=row["error_code"],
        error_message=row["error_message"],
        ecopy_id=row["ecopy_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        batch_id=row["batch_id"],
        source_ref=row["source_ref"],
        page_count=row["page_count"],
        min_confidence=row["min_confidence"],
        needs_review=row["needs_review"],
        finished_at=row["finished_at"],
        owner_id=row["owner_id"],
        created_by=row["created_by"],
        submitted_by=row["submitted_by"],
        submitted_at=row["submitted_at"],
        approved_by=row["approved_by"],
        review_note=row["review_note"],
        doc_title=row.get("doc_title"),
    )


def _as_utc(value: dt.datetime) -> dt.datetime:
    """Aggregates bypass the column type: SQLite returns text, PostgreSQL an aware datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _batch_from_row(row: RowMapping) -> BatchRecord:
    return BatchRecord(
        id=row["id"],
        kind=row["kind"],
        location=row["location"],
        fingerprint=row["fingerprint"],
        office=row["office"],
        doc_type_hint=row["doc_type_hint"],
        total=int(row["total"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


__all__ = [
    "ECOPY_STATUSES",
    "FINISHED_STATUSES",
    "WAITING_FOR_PEOPLE",
    "BatchProgress",
    "BatchRecord",
    "EcopyRecord",
    "EcopyStatus",
    "IntakeRecord",
    "Registry",
    "normalize_url",
    "utcnow",
]
