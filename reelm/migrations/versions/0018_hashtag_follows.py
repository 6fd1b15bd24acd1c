"""Discovery: the hashtags people follow (protected, in the follower's home realm) and the per-day counts of
public videos per hashtag that Explore's trends read (kept by the trigger of reelm.crossrealm.schema).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "realm":
        return
    op.create_table(
        "search_hashtag_days",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("videos", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tag", "day", name=op.f("pk_search_hashtag_days")),
    )
    op.create_table(
        "hashtag_follows",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("followed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_hashtag_follows_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "tag", name=op.f("pk_hashtag_follows")),
    )


def downgrade(role: str) -> None:
    if role == "realm":
        op.drop_table("hashtag_follows")
        op.drop_table("search_hashtag_days")
