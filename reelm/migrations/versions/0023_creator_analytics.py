"""Creator analytics: rollups of viewing events per creator, video, hour and dimension (issue 17).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Element-wise sum of two arrays of counts of any lengths (a retention histogram grows with nothing else).
ADD_COUNTS = """CREATE OR REPLACE FUNCTION analytics_add_counts(a integer[], b integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE SET search_path = public AS $$
      SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i)
        FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
    $$"""

# Follower growth: every change of a follower count, local follows and other realms' tallies alike (those are
# applied inside the replication worker, hence ENABLE ALWAYS and the pinned search_path).
FOLLOWER_DAYS = """CREATE OR REPLACE FUNCTION analytics_follower_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public AS $$
    DECLARE delta integer := NEW.follower_count - OLD.follower_count;
    BEGIN
      INSERT INTO analytics_follower_days AS d (creator_id, day, gained, lost)
      VALUES (NEW.id, (now() AT TIME ZONE 'UTC')::date, greatest(delta, 0), greatest(-delta, 0))
      ON CONFLICT (creator_id, day) DO UPDATE
        SET gained = d.gained + EXCLUDED.gained, lost = d.lost + EXCLUDED.lost;
      RETURN NULL;
    END $$"""


def _counts(*names: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def _big(*names: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


def upgrade(role: str) -> None:
    if role != "realm":
        return
    op.add_column("watch_events", sa.Column("source", sa.String(length=16), nullable=True))
    op.create_table(
        "analytics_progress",
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_analytics_progress")),
    )
    op.create_table(
        "analytics_viewers",
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("viewer_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["viewer_id"], ["users.id"], name=op.f("fk_analytics_viewers_viewer_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("video_id", "viewer_id", name=op.f("pk_analytics_viewers")),
    )
    op.create_index(op.f("ix_analytics_viewers_viewer_id"), "analytics_viewers", ["viewer_id"])
    op.create_table(
        "analytics_active",
        sa.Column("viewer_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["viewer_id"], ["users.id"], name=op.f("fk_analytics_active_viewer_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("viewer_id", "hour", name=op.f("pk_analytics_active")),
    )
    op.create_index("ix_analytics_active_hour", "analytics_active", ["hour"])
    op.create_table(
        "analytics_pending",
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("viewer_id", sa.BigInteger(), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("new_viewer", sa.Boolean(), nullable=False),
        sa.Column("watch_s", sa.Float(), nullable=False),
        sa.Column("pct_sum", sa.Float(), nullable=False),
        *_counts("full_views", "likes", "unlikes", "comments", "shares", "saves", "follows"),
        sa.Column("sources", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("stops", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["viewer_id"], ["users.id"], name=op.f("fk_analytics_pending_viewer_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("video_id", "viewer_id", name=op.f("pk_analytics_pending")),
    )
    op.create_index("ix_analytics_pending_creator", "analytics_pending", ["creator_id"])
    op.create_index(op.f("ix_analytics_pending_viewer_id"), "analytics_pending", ["viewer_id"])
    op.create_table(
        "analytics_pending_active",
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("viewer_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["viewer_id"],
            ["users.id"],
            name=op.f("fk_analytics_pending_active_viewer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creator_id", "hour", "viewer_id", name=op.f("pk_analytics_pending_active")),
    )
    op.create_index(op.f("ix_analytics_pending_active_viewer_id"), "analytics_pending_active", ["viewer_id"])
    op.create_table(
        "analytics_cells",
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("realm", sa.String(length=16), nullable=False),
        *_big("views", "new_viewers"),
        sa.Column("watch_s", sa.Float(), nullable=False),
        sa.Column("pct_sum", sa.Float(), nullable=False),
        *_big("full_views", "likes", "unlikes", "comments", "shares", "saves", "follows", "active_followers"),
        sa.Column("stops", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name=op.f("fk_analytics_cells_creator_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "creator_id", "video_id", "grain", "at", "realm", name=op.f("pk_analytics_cells")
        ),
    )
    op.create_table(
        "analytics_dims",
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("realm", sa.String(length=16), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name=op.f("fk_analytics_dims_creator_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "creator_id", "video_id", "day", "dimension", "value", "realm", name=op.f("pk_analytics_dims")
        ),
    )
    op.create_table(
        "analytics_follower_days",
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("gained", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_analytics_follower_days_creator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creator_id", "day", name=op.f("pk_analytics_follower_days")),
    )
    op.execute(ADD_COUNTS)
    op.execute(FOLLOWER_DAYS)
    op.execute(
        "CREATE TRIGGER analytics_follower_change_trg AFTER UPDATE OF follower_count ON users FOR EACH ROW "
        "WHEN (OLD.follower_count IS DISTINCT FROM NEW.follower_count) "
        "EXECUTE FUNCTION analytics_follower_change()"
    )
    op.execute("ALTER TABLE users ENABLE ALWAYS TRIGGER analytics_follower_change_trg")


def downgrade(role: str) -> None:
    if role != "realm":
        return
    op.execute("DROP TRIGGER IF EXISTS analytics_follower_change_trg ON users")
    op.execute("DROP FUNCTION IF EXISTS analytics_follower_change()")
    op.execute("DROP FUNCTION IF EXISTS analytics_add_counts(integer[], integer[])")
    for table in (
        "analytics_follower_days",
        "analytics_dims",
        "analytics_cells",
        "analytics_pending_active",
        "analytics_pending",
        "analytics_active",
        "analytics_viewers",
        "analytics_progress",
    ):
        op.drop_table(table)
    op.drop_column("watch_events", "source")
