"""Audit outboxes (every database) and the transparency log (directory).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _outbox() -> None:
    op.create_table(
        "audit_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_outbox")),
    )


def upgrade(role: str) -> None:
    _outbox()
    if role != "directory":
        return
    op.create_table(
        "log_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("realm", sa.String(length=16), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("sequenced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_entries")),
        sa.UniqueConstraint("source", "source_id", name="uq_log_entries_source"),
    )
    op.create_index("ix_log_entries_type_realm", "log_entries", ["event_type", "realm"])
    op.create_index(op.f("ix_log_entries_subject"), "log_entries", ["subject"])
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("compact_range", sa.LargeBinary(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_log_checkpoints")),
    )


def downgrade(role: str) -> None:
    if role == "directory":
        op.drop_table("log_checkpoints")
        op.drop_index(op.f("ix_log_entries_subject"), table_name="log_entries")
        op.drop_index("ix_log_entries_type_realm", table_name="log_entries")
        op.drop_table("log_entries")
    op.drop_table("audit_outbox")
