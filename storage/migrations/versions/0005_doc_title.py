"""The document's legal title, as the certification statement prints it: the type's label, or for a
document of type "other" the title the clerk typed. Kept on the intake (the clerk's title, until it
is issued) and on the issued copy (the title its statement printed), so that the registry, the
verification pages and the API say the same title as the signed file.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intakes") as b:
        b.add_column(sa.Column("doc_title", sa.Text, nullable=True))
    with op.batch_alter_table("ecopies") as b:
        b.add_column(sa.Column("doc_title", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ecopies") as b:
        b.drop_column("doc_title")
    with op.batch_alter_table("intakes") as b:
        b.drop_column("doc_title")
