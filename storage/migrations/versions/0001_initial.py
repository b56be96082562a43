"""Initial registry: e-copies, intakes, certificate-book sequences.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Self-contained on purpose: a migration must keep meaning what it meant when it was written.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ecopies",
        sa.Column("ecopy_id", sa.String(64), primary_key=True),
        sa.Column("doc_type", sa.String(64), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(1024), nullable=False),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("signer_cert_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("certificate_number", sa.String(64), nullable=False),
        sa.Column("page_count", sa.Integer, nullable=False),
        sa.Column("intake_id", sa.String(64), nullable=True),
        sa.Column("revoked_reason", sa.Text, nullable=True),
        sa.Column("superseded_by", sa.String(64), nullable=True),
        sa.UniqueConstraint("sha256", name="uq_ecopies_sha256"),
        sa.UniqueConstraint("intake_id", name="uq_ecopies_intake_id"),
        sa.CheckConstraint("status IN ('issued', 'revoked', 'superseded')", name="ck_ecopies_status"),
    )
    op.create_index("ix_ecopies_office_issued_at", "ecopies", ["office", "issued_at"])
    op.create_table(
        "intakes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("doc_type_hint", sa.String(64), nullable=True),
        sa.Column("doc_type", sa.String(64), nullable=True),
        sa.Column("file_keys", JSON, nullable=False),
        sa.Column("file_names", JSON, nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("text", JSON, nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("ecopy_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_intakes_status_created_at", "intakes", ["status", "created_at"])
    op.create_table(
        "certificate_sequences",
        sa.Column("office", sa.String(255), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last_number", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("certificate_sequences")
    op.drop_index("ix_intakes_status_created_at", table_name="intakes")
    op.drop_table("intakes")
    op.drop_index("ix_ecopies_office_issued_at", table_name="ecopies")
    op.drop_table("ecopies")
