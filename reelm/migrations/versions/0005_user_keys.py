"""User keys: protected personal fields encrypted per user (see reelm.crypto.keys).

Adds `user_keys`, turns `users.email`, `sessions.ip` and `sessions.user_agent` into AES-256-GCM
ciphertext (bytea), adds the e-mail blind index and the scheduled deletion time.

Reelm is pre-release and no production data exists, so nothing is converted: the plaintext columns are
dropped and recreated. A realm that already holds users cannot be migrated (the new columns could not be
filled without the keys); start from an empty data folder instead. Session IPs and user agents of
existing sessions are simply dropped.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "realm":
        return
    if op.get_bind().execute(sa.text("SELECT EXISTS (SELECT 1 FROM users)")).scalar():
        raise RuntimeError(
            "0005 encrypts users.email and cannot convert existing accounts (pre-release, no production"
            " data): start from an empty data folder"
        )
    op.create_table(
        "user_keys",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_keys")),
    )
    op.create_index("ix_user_keys_kek_version", "user_keys", ["kek_version"])
    op.drop_constraint("uq_users_email", "users", type_="unique")
    op.drop_column("users", "email")
    op.add_column("users", sa.Column("email", sa.LargeBinary(), nullable=False))
    op.add_column("users", sa.Column("email_index", sa.LargeBinary(), nullable=False))
    op.create_unique_constraint(op.f("uq_users_email_index"), "users", ["email_index"])
    op.add_column("users", sa.Column("deletion_due_at", sa.DateTime(timezone=True), nullable=True))
    for column in ("ip", "user_agent"):
        op.drop_column("sessions", column)
        op.add_column("sessions", sa.Column(column, sa.LargeBinary(), nullable=True))


def downgrade(role: str) -> None:
    if role != "realm":
        return
    # Ciphertext cannot be turned back without the keys: the plaintext columns come back empty.
    if op.get_bind().execute(sa.text("SELECT EXISTS (SELECT 1 FROM users)")).scalar():
        raise RuntimeError("0005 cannot be downgraded while users exist: their e-mails are encrypted")
    for column, length in (("ip", 45), ("user_agent", 300)):
        op.drop_column("sessions", column)
        op.add_column("sessions", sa.Column(column, sa.String(length=length), nullable=True))
    op.drop_column("users", "deletion_due_at")
    op.drop_constraint(op.f("uq_users_email_index"), "users", type_="unique")
    op.drop_column("users", "email_index")
    op.drop_column("users", "email")
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=False))
    op.create_unique_constraint("uq_users_email", "users", ["email"])
    op.drop_index("ix_user_keys_kek_version", table_name="user_keys")
    op.drop_table("user_keys")
