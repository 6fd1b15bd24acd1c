"""The For You engine: watch events, viewer profiles, per-video signals, versioned model artefacts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "realm":
        return  # events, profiles and models live in each realm, never in the directory
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "watch_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("watched_s", sa.Float(), nullable=False),
        sa.Column("loops", sa.Integer(), nullable=False),
        sa.Column("occurred_at", tz, nullable=False),
        sa.Column("received_at", tz, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_watch_events_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_events")),
        sa.UniqueConstraint("user_id", "client_id", name="uq_watch_events_user_client"),
    )
    op.create_index("ix_watch_events_received", "watch_events", ["received_at"])
    op.create_table(
        "viewer_profiles",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("picked_interests", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("tag_weights", postgresql.JSONB(), nullable=False),
        sa.Column("creator_weights", postgresql.JSONB(), nullable=False),
        sa.Column("recent_positive", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("recent_seen", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("not_interested", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("hidden_creators", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.Column("reset_at", tz, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_viewer_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_viewer_profiles")),
    )
    op.create_table(
        "video_signals",
        sa.Column("video_id", sa.BigInteger(), autoincrement=False, nullable=False),
        *[
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "impressions",
                "plays",
                "completions",
                "skips",
                "likes",
                "shares",
                "comments",
                "follows",
                "negatives",
            )
        ],
        sa.Column("watched_s", sa.Float(), nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_video_signals")),
    )
    op.create_index("ix_video_signals_updated", "video_signals", ["updated_at"])
    op.create_table(
        "recommender_models",
        sa.Column("version", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("trained_at", tz, nullable=False),
        sa.Column("events_used", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(), nullable=False),
        sa.Column("artefact", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_recommender_models")),
    )


def downgrade(role: str) -> None:
    if role != "realm":
        return
    for table in ("recommender_models", "video_signals", "viewer_profiles", "watch_events"):
        op.drop_table(table)
