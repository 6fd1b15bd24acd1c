"""Two-factor log-in (TOTP, recovery codes, passkeys), pending log-ins and what the list of sessions shows
(issue 18).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade(role: str) -> None:
    if role == "directory":
        # A password-less log-in does not know its realm until the browser answers (factor_models).
        op.create_table(
            "webauthn_challenges",
            sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
            sa.Column("purpose", sa.String(length=12), nullable=False),
            sa.Column("user_id", sa.BigInteger(), nullable=True),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("digest", name=op.f("pk_webauthn_challenges")),
        )
        return
    op.add_column("sessions", sa.Column("second_factor", sa.String(length=8), nullable=True))
    op.add_column("sessions", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "totp_factors",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        _user_fk("totp_factors"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_totp_factors")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("recovery_codes"),
        sa.PrimaryKeyConstraint("user_id", "digest", name=op.f("pk_recovery_codes")),
    )
    op.create_table(
        "pending_logins",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ip", sa.LargeBinary(), nullable=True),
        sa.Column("user_agent", sa.LargeBinary(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("pending_logins"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_pending_logins")),
    )
    op.create_index("ix_pending_logins_user", "pending_logins", ["user_id"])
    op.create_table(
        "passkeys",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("passkeys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkeys_credential_id")),
    )
    op.create_index("ix_passkeys_user", "passkeys", ["user_id"])


def downgrade(role: str) -> None:
    if role == "directory":
        op.drop_table("webauthn_challenges")
        return
    for table in ("passkeys", "pending_logins", "recovery_codes", "totp_factors"):
        op.drop_table(table)
    op.drop_column("sessions", "last_seen_at")
    op.drop_column("sessions", "second_factor")
