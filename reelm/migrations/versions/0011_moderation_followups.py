"""Content review follow-ups: appeals by reporters (DSA Art. 20 covers notice providers too).

An appeal now names the report it comes from when a reporter contests the "no action" outcome of their
notice; the affected user's appeals leave it empty. One appeal per appellant and decision (several
reporters of one case may each appeal its outcome), enforced by a unique index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-13
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "realm":
        return  # content review lives in each realm, never in the directory
    op.add_column("moderation_appeals", sa.Column("report_id", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_moderation_appeals_decision_appellant",
        "moderation_appeals",
        ["decision_id", "appellant_id"],
        unique=True,
    )


def downgrade(role: str) -> None:
    if role != "realm":
        return
    op.drop_index("ix_moderation_appeals_decision_appellant", table_name="moderation_appeals")
    op.drop_column("moderation_appeals", "report_id")
