"""Cross-realm activity: likes, comments and follows may point at another realm's content; flows counted.

A like by a user of realm B on a video of realm A is stored in B (the actor's home realm), so the
foreign keys from activity to its target can no longer hold: the target may live in another database.
Local targets are cleaned up explicitly where a cascade used to do it (reelm.social.service,
reelm.departures.purge). The projection schemas, publications and subscriptions depend on the realm
list and are kept by `reelm.crossrealm.replication.ensure_cross_realm`, run after the migrations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TARGET_KEYS = (
    ("video_likes", "fk_video_likes_video_id_videos"),
    ("comments", "fk_comments_video_id_videos"),
    ("comments", "fk_comments_parent_id_comments"),
    ("comment_likes", "fk_comment_likes_comment_id_comments"),
    ("follows", "fk_follows_followee_id_users"),
)


def upgrade(role: str) -> None:
    if role != "realm":
        return
    for table, constraint in TARGET_KEYS:
        op.drop_constraint(constraint, table, type_="foreignkey")
    op.create_index("ix_comment_likes_comment_id", "comment_likes", ["comment_id"])
    op.create_table(
        "realm_flows",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source_realm", sa.String(length=16), nullable=False),
        sa.Column("relation", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source_realm", "relation", "operation", name=op.f("pk_realm_flows")),
    )
