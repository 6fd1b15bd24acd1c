"""Per-video permissions (who may comment, duet, stitch, use the sound, download, embed), a creator's defaults
for new videos, and the state of each video's watermarked download.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
# Existing videos get what new ones get: everything allowed but downloads (reelm.videos.models explains why).
FLAGS = (
    ("allow_duet", "true"),
    ("allow_stitch", "true"),
    ("allow_sound_reuse", "true"),
    ("allow_download", "false"),
    ("allow_embed", "true"),
)


def upgrade(role: str) -> None:
    if role != "realm":
        return  # videos and their creators live in their realm
    op.add_column(
        "videos",
        sa.Column("comment_policy", sa.String(length=16), server_default="everyone", nullable=False),
    )
    for name, default in FLAGS:
        op.add_column(
            "videos", sa.Column(name, sa.Boolean(), server_default=sa.text(default), nullable=False)
        )
    op.create_table(
        "video_defaults",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("comment_policy", sa.String(length=16), nullable=False),
        *(sa.Column(name, sa.Boolean(), nullable=False) for name, _ in FLAGS),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_video_defaults_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_video_defaults")),
    )
    op.create_table(
        "video_downloads",
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("rendition", sa.String(length=8), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name=op.f("fk_video_downloads_video_id_videos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_video_downloads")),
    )


def downgrade(role: str) -> None:
    if role == "realm":
        op.drop_table("video_downloads")
        op.drop_table("video_defaults")
        for name, _ in reversed(FLAGS):
            op.drop_column("videos", name)
        op.drop_column("videos", "comment_policy")
