"""Archive batches: a batch table, and on intakes the batch they belong to and review facts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("doc_type_hint", sa.String(64), nullable=True),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("intakes") as b:
        b.add_column(sa.Column("batch_id", sa.String(64), nullable=True))
        b.add_column(sa.Column("source_ref", sa.Text, nullable=True))
        b.add_column(sa.Column("page_count", sa.Integer, nullable=True))
        b.add_column(sa.Column("min_confidence", sa.Float, nullable=True))
        b.add_column(sa.Column("needs_review", sa.Boolean, nullable=True))
        b.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_intakes_batch_id_status", "intakes", ["batch_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_intakes_batch_id_status", table_name="intakes")
    with op.batch_alter_table("intakes") as b:
        for col in ("finished_at", "needs_review", "min_confidence", "page_count", "source_ref", "batch_id"):
            b.drop_column(col)
    op.drop_table("batches")
