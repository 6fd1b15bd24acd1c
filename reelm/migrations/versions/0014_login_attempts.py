"""Log-in attempts counted in the directory (keyed digests, a sliding minute), shared by every server process.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "directory":
        return  # one count for every realm: an address has no home realm
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("bucket", sa.String(length=8), nullable=False),
        sa.Column("key_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_key", "login_attempts", ["bucket", "key_digest", "at"])


def downgrade(role: str) -> None:
    if role == "directory":
        op.drop_table("login_attempts")
