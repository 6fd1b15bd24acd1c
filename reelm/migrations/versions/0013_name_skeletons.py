"""Look-alike names: the UTS #39 skeleton digest of every account's handle and display name (directory only).

A new handle or display name whose digest another account already holds, spelled otherwise, is refused
(reelm.accounts.names).
The rows hang on the handle entry (cascade on delete and on a move's new user id). Accounts made before this
revision get theirs from `reelm migrate` (reelm.accounts.names.backfill), which needs every realm.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "directory":
        return  # names of every realm are compared in the one directory
    op.create_table(
        "name_skeletons",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("spelling", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["handles.user_id"],
            name=op.f("fk_name_skeletons_user_id_handles"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_name_skeletons")),
    )
    op.create_index("ix_name_skeletons_digest", "name_skeletons", ["digest"])


def downgrade(role: str) -> None:
    if role == "directory":
        op.drop_table("name_skeletons")
