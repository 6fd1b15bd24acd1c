"""Sounds' landmark hashes: the index an upload's audio is looked up in (reelm.sounds).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "realm":
        return
    op.create_table(
        "sound_landmarks",
        sa.Column("sound_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.Integer(), nullable=False),
        sa.Column("frame", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hash", "sound_id", name="pk_sound_landmarks", postgresql_include=["frame"]),
    )
    op.create_index("ix_sound_landmarks_sound_id", "sound_landmarks", ["sound_id"])


def downgrade(role: str) -> None:
    if role == "realm":
        op.drop_table("sound_landmarks")
