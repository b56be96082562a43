"""Signing offices over time: every signer certificate ever used (the trust list of our own signers,
kept after key rotation), and every stored version of an e-copy (the first as issued, then each
re-time-stamped one), so that all of them verify by their exact bytes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signer_certificates",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("cert_pem", sa.Text, nullable=False),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("not_after", TS, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
    )
    op.create_table(
        "ecopy_versions",
        sa.Column("ecopy_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("object_version", sa.String(255), nullable=True),
        sa.Column("signature_level", sa.String(8), nullable=False),
        sa.Column("timestamp_expiry", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    with op.batch_alter_table("ecopies") as b:
        b.add_column(sa.Column("signature_level", sa.String(8), nullable=True))
        b.add_column(sa.Column("timestamp_expiry", TS, nullable=True))
        b.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_index("ix_ecopies_timestamp_expiry", "ecopies", ["timestamp_expiry"])
    op.execute(
        "INSERT INTO ecopy_versions (ecopy_id, version, sha256, object_version, signature_level, created_at) "
        "SELECT ecopy_id, 1, sha256, NULL, '', issued_at FROM ecopies"
    )


def downgrade() -> None:
    op.drop_index("ix_ecopies_timestamp_expiry", table_name="ecopies")
    with op.batch_alter_table("ecopies") as b:
        for col in ("version", "timestamp_expiry", "signature_level"):
            b.drop_column(col)
    op.drop_table("ecopy_versions")
    op.drop_table("signer_certificates")
