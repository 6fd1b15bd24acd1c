"""Favourites and collections, reposts, the profile's Liked tab setting, mutes and keyword filters, creators'
comment controls (issue 18).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade(role: str) -> None:
    if role != "realm":
        return  # everything here is kept in the account's home realm
    op.add_column(
        "videos", sa.Column("repost_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.create_table(
        "favourite_collections",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        _user_fk("favourite_collections"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_favourite_collections")),
    )
    op.create_index("ix_favourite_collections_user", "favourite_collections", ["user_id", "created_at"])
    op.create_table(
        "favourites",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("collection_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        _user_fk("favourites"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["favourite_collections.id"],
            name=op.f("fk_favourites_collection_id_favourite_collections"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", "target", name=op.f("pk_favourites")),
    )
    op.create_index("ix_favourites_user_created", "favourites", ["user_id", "created_at"])
    op.create_index("ix_favourites_collection", "favourites", ["collection_id"])
    op.create_table(
        "video_reposts",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        _user_fk("video_reposts"),
        sa.PrimaryKeyConstraint("user_id", "video_id", name=op.f("pk_video_reposts")),
    )
    op.create_index("ix_video_reposts_user_created", "video_reposts", ["user_id", "created_at"])
    op.create_index(op.f("ix_video_reposts_video_id"), "video_reposts", ["video_id"])
    op.create_table(
        "profile_tabs",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("liked_public", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        _user_fk("profile_tabs"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_profile_tabs")),
    )
    op.create_table(
        "user_mutes",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("muted_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        _user_fk("user_mutes"),
        sa.PrimaryKeyConstraint("user_id", "muted_id", name=op.f("pk_user_mutes")),
    )
    op.create_table(
        "keyword_filters",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("phrase", sa.String(length=60), nullable=False),
        sa.Column("folded", sa.String(length=180), nullable=False),
        sa.Column("is_tag", sa.Boolean(), nullable=False),
        sa.Column("expires_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        _user_fk("keyword_filters"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_filters")),
        sa.UniqueConstraint("user_id", "folded", name="uq_keyword_filters_user_folded"),
    )
    op.create_table(
        "comment_controls",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("hold", sa.String(length=8), nullable=False),
        sa.Column("keywords", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("min_account_days", sa.Integer(), nullable=False),
        sa.Column("pinned_comment_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        _user_fk("comment_controls"),
        sa.PrimaryKeyConstraint("user_id", "video_id", name=op.f("pk_comment_controls")),
    )
    op.create_table(
        "viewing_preferences",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("hide_ai_generated", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        _user_fk("viewing_preferences"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_viewing_preferences")),
    )


def downgrade(role: str) -> None:
    if role != "realm":
        return
    op.drop_table("viewing_preferences")
    for table in (
        "comment_controls",
        "keyword_filters",
        "user_mutes",
        "profile_tabs",
        "video_reposts",
        "favourites",
    ):
        op.drop_table(table)
    op.drop_table("favourite_collections")
    op.drop_column("videos", "repost_count")
