"""People and their access: users, API keys, web sessions; an append-only lookup audit log; the
history of each intake (corrections, submission, approval, rejection) and who did it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)

# The lookup log is append-only in the database itself, not only in the code: an UPDATE or DELETE
# of a row fails whoever sends it.
_PG_APPEND_ONLY = """
CREATE FUNCTION lookups_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'lookups is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER lookups_no_update BEFORE UPDATE OR DELETE ON lookups
  FOR EACH ROW EXECUTE FUNCTION lookups_append_only();
CREATE TRIGGER lookups_no_truncate BEFORE TRUNCATE ON lookups
  FOR EACH STATEMENT EXECUTE FUNCTION lookups_append_only();
"""
_SQLITE_APPEND_ONLY = tuple(
    f"CREATE TRIGGER lookups_no_{event} BEFORE {event.upper()} ON lookups "
    "BEGIN SELECT RAISE(ABORT, 'lookups is append-only'); END"
    for event in ("update", "delete")
)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
        sa.CheckConstraint("role IN ('clerk', 'signer', 'verifier', 'admin')", name="ck_users_role"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.CheckConstraint("role IN ('clerk', 'signer', 'verifier', 'admin')", name="ck_api_keys_role"),
    )
    op.create_table(
        "sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("principal_kind", sa.String(8), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_table(
        "lookups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),  # user:NAME, key:ID, public
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("agency", sa.String(255), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),  # the public caller's address
        sa.Column("channel", sa.String(16), nullable=False),  # qr, id, file, api-id, api-file, record, pdf
        sa.Column("ecopy_id", sa.String(64), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("purpose", sa.Text, nullable=True),
    )
    op.create_index("ix_lookups_ecopy_id_at", "lookups", ["ecopy_id", "at"])
    op.create_table(
        "intake_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("intake_id", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", JSON, nullable=False),
    )
    op.create_index("ix_intake_events_intake_id", "intake_events", ["intake_id", "id"])
    with op.batch_alter_table("intakes") as b:
        b.add_column(sa.Column("owner_id", sa.String(32), nullable=True))
        b.add_column(sa.Column("created_by", sa.String(64), nullable=True))
        b.add_column(sa.Column("submitted_by", sa.String(64), nullable=True))
        b.add_column(sa.Column("submitted_at", TS, nullable=True))
        b.add_column(sa.Column("approved_by", sa.String(64), nullable=True))
        b.add_column(sa.Column("review_note", sa.Text, nullable=True))
    op.create_index("ix_intakes_office_status", "intakes", ["office", "status"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER lookups_no_truncate ON lookups")
        op.execute("DROP TRIGGER lookups_no_update ON lookups")
        op.execute("DROP FUNCTION lookups_append_only()")
    op.drop_index("ix_intakes_office_status", table_name="intakes")
    with op.batch_alter_table("intakes") as b:
        for col in ("review_note", "approved_by", "submitted_at", "submitted_by", "created_by", "owner_id"):
            b.drop_column(col)
    op.drop_index("ix_intake_events_intake_id", table_name="intake_events")
    op.drop_table("intake_events")
    op.drop_index("ix_lookups_ecopy_id_at", table_name="lookups")
    op.drop_table("lookups")  # its SQLite triggers go with it
    op.drop_table("sessions")
    op.drop_table("api_keys")
    op.drop_table("users")
