"""Direct messages and notifications (realm databases only: all of it is protected).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"  # re-chained onto 0007 (cross-realm), which appeared meanwhile
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="CASCADE"
    )


def upgrade(role: str) -> None:
    if role != "realm":
        return  # who talks to whom, and what they say, stays in the home realm
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "conversations",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=False),
        sa.Column("direct_pair", sa.String(length=40), nullable=True),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_message_seq", sa.Integer(), nullable=False),
        sa.Column("last_message_at", tz, nullable=False),
        _user_fk("conversations", "created_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("direct_pair", name=op.f("uq_conversations_direct_pair")),
    )
    op.create_table(
        "conversation_members",
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("joined_at", tz, nullable=False),
        sa.Column("last_read_seq", sa.Integer(), nullable=False),
        sa.Column("cleared_seq", sa.Integer(), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_members_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        _user_fk("conversation_members", "user_id"),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_conversation_members")),
    )
    op.create_index("ix_conversation_members_user_state", "conversation_members", ["user_id", "state"])
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("video_id", sa.BigInteger(), nullable=True),
        sa.Column("target_seq", sa.Integer(), nullable=True),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("unsent_at", tz, nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        _user_fk("messages", "sender_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index("ix_messages_conversation_seq", "messages", ["conversation_id", "seq"], unique=True)
    op.create_index(
        "ix_messages_sender_client_key",
        "messages",
        ["sender_id", "client_key"],
        unique=True,
        postgresql_where=sa.text("client_key IS NOT NULL"),
    )
    op.create_index("ix_messages_created", "messages", ["created_at"])
    op.create_table(
        "hidden_messages",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        _user_fk("hidden_messages", "user_id"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_hidden_messages_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "message_id", name=op.f("pk_hidden_messages")),
    )
    op.create_table(
        "user_blocks",
        sa.Column("blocker_id", sa.BigInteger(), nullable=False),
        sa.Column("blocked_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        _user_fk("user_blocks", "blocker_id"),
        _user_fk("user_blocks", "blocked_id"),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name=op.f("pk_user_blocks")),
    )
    op.create_index("ix_user_blocks_blocked", "user_blocks", ["blocked_id"])
    op.create_table(
        "message_settings",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("allow_from", sa.String(length=10), nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        _user_fk("message_settings", "user_id"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_message_settings")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.Column("read_at", tz, nullable=True),
        _user_fk("notifications", "recipient_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_unread_group",
        "notifications",
        ["recipient_id", "kind", "object_id"],
        unique=True,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_index("ix_notifications_recipient_updated", "notifications", ["recipient_id", "updated_at"])
    op.create_table(
        "notification_actors",
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_actors_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        _user_fk("notification_actors", "actor_id"),
        sa.PrimaryKeyConstraint("notification_id", "actor_id", name=op.f("pk_notification_actors")),
    )


def downgrade(role: str) -> None:
    if role != "realm":
        return
    for table in (
        "notification_actors",
        "notifications",
        "message_settings",
        "user_blocks",
        "hidden_messages",
        "messages",
        "conversation_members",
        "conversations",
    ):
        op.drop_table(table)  # their indexes go with them
