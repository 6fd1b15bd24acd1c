"""Drafts, scheduled posts, captions, covers and labels (issue 17).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade(role: str) -> None:
    if role != "realm":
        return  # videos live in their realm
    # Existing videos are published ones: not drafts.
    op.add_column("videos", sa.Column("draft", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("videos", sa.Column("publish_at", TZ, nullable=True))
    op.add_column("videos", sa.Column("publish_visibility", sa.String(length=10), nullable=True))
    op.add_column("videos", sa.Column("publish_held_at", TZ, nullable=True))
    op.add_column("videos", sa.Column("publish_time_zone", sa.String(length=64), nullable=True))
    for label in ("ai_generated", "paid_partnership"):
        op.add_column(
            "videos", sa.Column(label, sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.add_column("videos", sa.Column("cover_alt", sa.Text(), nullable=True))
    op.add_column("videos", sa.Column("caption_edited_at", TZ, nullable=True))
    op.create_table(
        "caption_edits",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("edited_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name=op.f("fk_caption_edits_video_id_videos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caption_edits")),
    )
    op.create_index("ix_caption_edits_video_edited", "caption_edits", ["video_id", "edited_at"])
    op.create_index(
        "ix_videos_scheduled",
        "videos",
        ["publish_at"],
        postgresql_where=sa.text("draft AND publish_at IS NOT NULL"),
    )
    op.create_table(
        "subtitle_tracks",
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("webvtt", sa.Text(), nullable=False),
        sa.Column("plain_text", sa.Text(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name=op.f("fk_subtitle_tracks_video_id_videos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("video_id", "language", name=op.f("pk_subtitle_tracks")),
    )


def downgrade(role: str) -> None:
    if role != "realm":
        return
    op.drop_table("subtitle_tracks")
    op.drop_index("ix_videos_scheduled", table_name="videos")
    op.drop_table("caption_edits")
    for name in ("caption_edited_at", "cover_alt", "paid_partnership", "ai_generated"):
        op.drop_column("videos", name)
    for name in ("publish_time_zone", "publish_held_at", "publish_visibility", "publish_at", "draft"):
        op.drop_column("videos", name)
