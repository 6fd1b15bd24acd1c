"""Search: hashtag counts, search history and its pause switch (the search documents' indexes are on the
projections, made by reelm.crossrealm).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "realm":
        return
    op.create_table(
        "search_hashtags",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.Column("videos", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tag", name=op.f("pk_search_hashtags")),
    )
    op.create_index(
        "ix_search_hashtags_folded",
        "search_hashtags",
        ["folded"],
        postgresql_ops={"folded": "text_pattern_ops"},
    )
    op.create_table(
        "search_queries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_search_queries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_queries")),
    )
    op.create_index("ix_search_queries_user", "search_queries", ["user_id", "searched_at"])
    op.create_table(
        "search_settings",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("history_paused", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_search_settings_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_search_settings")),
    )


def downgrade(role: str) -> None:
    if role == "realm":
        op.drop_table("search_settings")
        op.drop_table("search_queries")
        op.drop_table("search_hashtags")
