"""Sounds: the audio of published videos, reusable by others; videos name the sound they use and the video
they remix.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "realm":
        return
    op.create_table(
        "sounds",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("audio_key", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("loudness_lufs", sa.Float(), nullable=False),
        sa.Column("waveform", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_sounds_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name=op.f("fk_sounds_video_id_videos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sounds")),
        sa.UniqueConstraint("video_id", name=op.f("uq_sounds_video_id")),
    )
    op.create_index(op.f("ix_sounds_owner_id"), "sounds", ["owner_id"])
    op.add_column("videos", sa.Column("sound_id", sa.BigInteger(), nullable=True))
    op.add_column("videos", sa.Column("remix_of_id", sa.BigInteger(), nullable=True))
    op.add_column("videos", sa.Column("remix_kind", sa.String(length=8), nullable=True))
    op.add_column("videos", sa.Column("remix", postgresql.JSONB(), nullable=True))
    op.add_column(
        "videos", sa.Column("audio_muted", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.create_index(op.f("ix_videos_sound_id"), "videos", ["sound_id"])
    op.create_index(op.f("ix_videos_remix_of_id"), "videos", ["remix_of_id"])


def downgrade(role: str) -> None:
    if role != "realm":
        return
    op.drop_index(op.f("ix_videos_remix_of_id"), table_name="videos")
    op.drop_index(op.f("ix_videos_sound_id"), table_name="videos")
    for column in ("audio_muted", "remix", "remix_kind", "remix_of_id", "sound_id"):
        op.drop_column("videos", column)
    op.drop_index(op.f("ix_sounds_owner_id"), table_name="sounds")
    op.drop_table("sounds")
