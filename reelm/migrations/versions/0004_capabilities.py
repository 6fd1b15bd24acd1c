"""Capabilities: the per-realm service switches (directory only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "directory":
        return  # the switches are read by every realm's processes from the one directory
    op.create_table(
        "realm_capabilities",
        sa.Column("realm", sa.String(length=16), nullable=False),
        sa.Column("capability", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("percent", sa.SmallInteger(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(state = 'on' AND percent = 100) OR (state = 'off' AND percent = 0)"
            " OR (state = 'percent' AND percent BETWEEN 1 AND 99)",
            name=op.f("ck_realm_capabilities_state_percent"),
        ),
        sa.PrimaryKeyConstraint("realm", "capability", name=op.f("pk_realm_capabilities")),
    )


def downgrade(role: str) -> None:
    if role == "directory":
        op.drop_table("realm_capabilities")
