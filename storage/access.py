"""The registry's people-and-access part: users, API keys, web sessions, the lookup audit log and
the history of intakes. Mixed into :class:`storage.registry.Registry` (same database, same
transactions); the schema is migration ``0003``.

Secrets never reach this module: it stores what the caller hashed (Argon2 for passwords, SHA-256
for API keys and session tokens, which are long random strings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, RowMapping

from storage.errors import DuplicateError, RegistryError

Role = Literal["clerk", "signer", "verifier", "admin"]
ROLES: tuple[str, ...] = ("clerk", "signer", "verifier", "admin")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, kw_only=True)
class UserRecord:
    id: str
    username: str
    password_hash: str = field(repr=False)
    role: str
    office: str
    display_name: str
    created_at: dt.datetime = field(default_factory=_utcnow)
    disabled_at: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ApiKeyRecord:
    id: str
    secret_sha256: str = field(repr=False)
    role: str
    office: str
    label: str
    created_at: dt.datetime = field(default_factory=_utcnow)
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class SessionRecord:
    token_sha256: str = field(repr=False)
    principal_kind: str  # user | key
    principal_id: str
    csrf: str = field(repr=False)
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class LookupRecord:
    """One verification or record lookup. Who asked, about what, with what answer; never content."""

    actor: str  # user:NAME, key:ID or public
    channel: str  # qr, id, file, api-id, api-file, record, pdf
    verdict: str
    role: str | None = None
    agency: str | None = None
    client: str | None = None
    ecopy_id: str | None = None
    file_sha256: str | None = None
    purpose: str | None = None
    at: dt.datetime = field(default_factory=_utcnow)
    id: int | None = None


@dataclass(frozen=True, kw_only=True)
class IntakeEvent:
    intake_id: str
    actor: str
    action: str  # created, corrected, submitted, approved, rejected
    detail: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime = field(default_factory=_utcnow)
    id: int | None = None


def build_tables(metadata: sa.MetaData, ts: Callable[[], sa.types.TypeEngine[dt.datetime]], json: Any) -> None:
    """Table objects for queries (the migration owns the schema)."""
    sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("disabled_at", ts(), nullable=True),
    )
    sa.Table(
        "api_keys",
        metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("revoked_at", ts(), nullable=True),
    )
    sa.Table(
        "sessions",
        metadata,
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("principal_kind", sa.String(8), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("expires_at", ts(), nullable=False),
    )
    sa.Table(
        "lookups",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", ts(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("agency", sa.String(255), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("ecopy_id", sa.String(64), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("purpose", sa.Text, nullable=True),
    )
    sa.Table(
        "intake_events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("intake_id", sa.String(64), nullable=False),
        sa.Column("at", ts(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", json, nullable=False),
    )


class AccessMixin:
    """Registry methods for access data. The host class provides ``_tx`` and ``metadata`` tables."""

    _tx: Callable[..., Any]
    _tables: sa.MetaData

    def _t(self, name: str) -> sa.Table:
        return self._tables.tables[name]

    def _insert_unique(self, action: str, table: str, row: dict[str, Any], what: str) -> None:
        try:
            self._tx(action, lambda c: c.execute(self._t(table).insert().values(**row)))
        except RegistryError as e:
            if isinstance(e.__cause__, sa_exc.IntegrityError):
                raise DuplicateError(f"{what} đã tồn tại.", detail=str(e.detail)) from e
            raise

    # ---- users ----------------------------------------------------------------------------
    def create_user(self, rec: UserRecord) -> UserRecord:
        if rec.role not in ROLES:
            raise ValueError(f"unknown role {rec.role!r}")
        row = {k: getattr(rec, k) for k in ("id", "username", "password_hash", "role", "office", "display_name")}
        self._insert_unique(
            "create user", "users", row | {"created_at": rec.created_at, "disabled_at": None}, "Tên đăng nhập"
        )
        return rec

    def _one(self, action: str, table: str, where: Callable[[sa.Table], sa.ColumnElement[bool]]) -> RowMapping | None:
        t = self._t(table)

        def select(conn: Connection) -> RowMapping | None:
            return conn.execute(sa.select(t).where(where(t))).mappings().first()

        row: RowMapping | None = self._tx(action, select)
        return row

    def get_user(self, user_id: str) -> UserRecord | None:
        row = self._one("get user", "users", lambda t: t.c.id == user_id)
        return UserRecord(**dict(row)) if row is not None else None

    def get_user_by_username(self, username: str) -> UserRecord | None:
        row = self._one("get user", "users", lambda t: t.c.username == username)
        return UserRecord(**dict(row)) if row is not None else None

    def actor_display_names(self, actors: Iterable[str | None]) -> dict[str, str]:
        """How people are shown: ``user:lan`` → "Trần Thị Lan", ``key:ab12…`` → the key's label."""
        names: dict[str, str] = {}
        for actor in {a for a in actors if a}:
            kind, _, ident = actor.partition(":")
            if kind == "user" and (user := self.get_user_by_username(ident)) is not None:
                names[actor] = user.display_name
            elif kind == "key" and (key := self.get_api_key(ident)) is not None:
                names[actor] = key.label
            else:
                names[actor] = ident or actor
        return names

    def set_user_password(self, user_id: str, password_hash: str) -> None:
        t = self._t("users")
        self._tx(
            "set password", lambda c: c.execute(t.update().where(t.c.id == user_id).values(password_hash=password_hash))
        )

    # ---- API keys ---------------------------------------------------------------------------
    def create_api_key(self, rec: ApiKeyRecord) -> ApiKeyRecord:
        if rec.role not in ROLES:
            raise ValueError(f"unknown role {rec.role!r}")
        row = {k: getattr(rec, k) for k in ("id", "secret_sha256", "role", "office", "label")}
        self._insert_unique("create API key", "api_keys", row | {"created_at": rec.created_at}, "Khóa API")
        return rec

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        row = self._one("get API key", "api_keys", lambda t: t.c.id == key_id)
        return ApiKeyRecord(**dict(row)) if row is not None else None

    def revoke_api_key(self, key_id: str) -> bool:
        t = self._t("api_keys")
        query = t.update().where(t.c.id == key_id, t.c.revoked_at.is_(None)).values(revoked_at=_utcnow())
        return bool(self._tx("revoke API key", lambda c: c.execute(query).rowcount))

    # ---- sessions ---------------------------------------------------------------------------
    def create_session(self, rec: SessionRecord) -> None:
        row = {
            k: getattr(rec, k)
            for k in ("token_sha256", "principal_kind", "principal_id", "csrf", "created_at", "expires_at")
        }
        t = self._t("sessions")
        now = _utcnow()

        def insert(conn: Connection) -> None:
            conn.execute(t.delete().where(t.c.expires_at < now))  # sweep the expired ones while here
            conn.execute(t.insert().values(**row))

        self._tx("create session", insert)

    def get_session(self, token_sha256: str) -> SessionRecord | None:
        row = self._one("get session", "sessions", lambda t: t.c.token_sha256 == token_sha256)
        return SessionRecord(**dict(row)) if row is not None else None

    def delete_session(self, token_sha256: str) -> None:
        t = self._t("sessions")
        self._tx("delete session", lambda c: c.execute(t.delete().where(t.c.token_sha256 == token_sha256)))

    # ---- lookup audit log (append-only) ---------------------------------------------------
    def add_lookup(self, rec: LookupRecord) -> None:
        row = {
            k: getattr(rec, k)
            for k in (
                "at",
                "actor",
                "role",
                "agency",
                "client",
                "channel",
                "ecopy_id",
                "file_sha256",
                "verdict",
                "purpose",
            )
        }
        t = self._t("lookups")
        self._tx("record lookup", lambda c: c.execute(t.insert().values(**row)))

    def list_lookups(self, ecopy_id: str, *, limit: int = 500) -> list[LookupRecord]:
        """Newest first."""
        t = self._t("lookups")
        query = sa.select(t).where(t.c.ecopy_id == ecopy_id).order_by(t.c.id.desc()).limit(limit)
        rows = self._tx("list lookups", lambda c: c.execute(query).mappings().all())
        return [LookupRecord(**dict(r)) for r in rows]

    # ---- intake history ---------------------------------------------------------------------
    def add_intake_event(self, event: IntakeEvent) -> None:
        t = self._t("intake_events")
        row = {"intake_id": event.intake_id, "at": event.at, "actor": event.actor, "action": event.action}
        self._tx("record intake event", lambda c: c.execute(t.insert().values(**row, detail=dict(event.detail))))

    def list_intake_events(self, intake_id: str) -> list[IntakeEvent]:
        """Oldest first."""
        t = self._t("intake_events")
        query = sa.select(t).where(t.c.intake_id == intake_id).order_by(t.c.id)
        rows = self._tx("list intake events", lambda c: c.execute(query).mappings().all())
        return [IntakeEvent(**dict(r)) for r in rows]
