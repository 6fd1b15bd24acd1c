"""Messages and notifications across realms: each participant's copy lives in their own home realm.

A direct conversation between people of two realms exists twice, once in each realm, each with its own
numbering; its `peer_id` names the participant of the other realm (who has no member row here, as they
have no user row here). A message that arrived from another realm keeps its sender's id but is sealed
under the key of the member whose copy it is (`key_owner_id`, also its owner for the residency check),
and a message the other realm refused says why (`refusal`). A notification whose actor lives in
another realm names an actor with no user row here, and belongs to its recipient (`recipient_id`).
Foreign keys that a foreign id would break are dropped; the purge removes those rows itself.

A group with people of several realms has a copy in each of their realms too, all sharing the id of the
first copy (`origin_id`); a copy lists the people of other realms in `conversation_peers`. Their
messages are sealed under the key of this realm's copy of the group (`key_owner_id` NULL).

Groups also get a title (any member may set it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) whose foreign key to users.id no longer holds: the id may be another realm's user.
FOREIGN_USER_COLUMNS = (
    ("messages", "sender_id"),
    ("user_blocks", "blocked_id"),
    ("notification_actors", "actor_id"),
)


def upgrade(role: str) -> None:
    if role != "realm":
        return
    for table, column in FOREIGN_USER_COLUMNS:
        op.drop_constraint(f"fk_{table}_{column}_users", table, type_="foreignkey")
    op.add_column("conversations", sa.Column("title", sa.String(length=80), nullable=True))
    op.add_column("conversations", sa.Column("peer_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "conversations", sa.Column("peer_read_seq", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("messages", sa.Column("key_owner_id", sa.BigInteger(), nullable=True))
    op.execute("UPDATE messages SET key_owner_id = sender_id")
    op.add_column("conversations", sa.Column("origin_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_conversations_origin", "conversations", ["origin_id"], unique=True)
    op.create_table(
        "conversation_peers",
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("realm", sa.String(length=16), nullable=False),
        sa.Column("read_seq", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_peers_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_conversation_peers")),
    )
    op.create_index("ix_conversation_peers_user", "conversation_peers", ["user_id"])
    op.create_foreign_key(
        op.f("fk_messages_key_owner_id_users"),
        "messages",
        "users",
        ["key_owner_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index("ix_messages_key_owner", "messages", ["key_owner_id"])
    op.create_index("ix_messages_sender", "messages", ["sender_id"])
    op.add_column("messages", sa.Column("refusal", sa.String(length=40), nullable=True))
    op.add_column("notification_actors", sa.Column("recipient_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE notification_actors a SET recipient_id = n.recipient_id FROM notifications n "
        "WHERE n.id = a.notification_id"
    )
    op.alter_column("notification_actors", "recipient_id", nullable=False)
    op.create_index("ix_notification_actors_actor", "notification_actors", ["actor_id"])


def downgrade(role: str) -> None:
    if role != "realm":
        return
    op.drop_index("ix_notification_actors_actor", table_name="notification_actors")
    op.drop_column("notification_actors", "recipient_id")
    op.drop_column("messages", "refusal")
    op.drop_index("ix_messages_sender", table_name="messages")
    op.drop_index("ix_messages_key_owner", table_name="messages")
    op.drop_constraint(op.f("fk_messages_key_owner_id_users"), "messages", type_="foreignkey")
    op.drop_column("messages", "key_owner_id")
    op.drop_index("ix_conversation_peers_user", table_name="conversation_peers")
    op.drop_table("conversation_peers")
    op.drop_index("ix_conversations_origin", table_name="conversations")
    op.drop_column("conversations", "origin_id")
    op.drop_column("conversations", "peer_read_seq")
    op.drop_column("conversations", "peer_id")
    op.drop_column("conversations", "title")
    for table, column in FOREIGN_USER_COLUMNS:
        op.create_foreign_key(
            f"fk_{table}_{column}_users", table, "users", [column], ["id"], ondelete="CASCADE"
        )
