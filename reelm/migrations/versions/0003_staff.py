"""Staff: role grants (directory) and break-glass justifications (realms).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role == "directory":
        op.create_table(
            "staff_roles",
            sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
            sa.Column("user_id", sa.BigInteger(), nullable=False),
            sa.Column("role", sa.String(length=10), nullable=False),
            sa.Column("staff_realm", sa.String(length=16), nullable=False),
            sa.Column("granted_by", sa.String(length=64), nullable=False),
            sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_roles")),
            sa.UniqueConstraint("user_id", "role", "staff_realm", name="uq_staff_roles_grant"),
        )
        op.create_index(op.f("ix_staff_roles_user_id"), "staff_roles", ["user_id"], unique=False)
        return
    op.create_table(
        "access_justifications",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("requester_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_realm", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("approver_id", sa.BigInteger(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["users.id"],
            name=op.f("fk_access_justifications_subject_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_justifications")),
    )
    op.create_index("ix_access_justifications_subject", "access_justifications", ["subject_id"], unique=False)


def downgrade(role: str) -> None:
    if role == "directory":
        op.drop_index(op.f("ix_staff_roles_user_id"), table_name="staff_roles")
        op.drop_table("staff_roles")
        return
    op.drop_index("ix_access_justifications_subject", table_name="access_justifications")
    op.drop_table("access_justifications")
