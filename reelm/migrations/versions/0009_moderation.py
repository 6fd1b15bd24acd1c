"""Content review: hash lists, rules, trusted flaggers, suspensions, reports, cases, decisions, appeals and
legal orders (realm databases only), and the moderation columns of videos and comments.

Reports, cases, decisions and appeals live in the realm of the content they concern (see
reelm.moderation.models). The projections learn the new video and comment columns, and leave out held,
removed and suspended content, through `reelm.crossrealm.replication.ensure_cross_realm`, run after the
migrations.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def _content_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("content_type", sa.String(length=8), nullable=False),
        sa.Column("content_id", sa.BigInteger(), nullable=False),
        sa.Column("content_owner_id", sa.BigInteger(), nullable=False),
    ]


def upgrade(role: str) -> None:
    if role != "realm":
        return  # content review happens in the content's realm; the directory holds none of it
    op.add_column("videos", sa.Column("mod_label", sa.Text(), nullable=True))
    op.add_column("videos", sa.Column("age_restricted", sa.Boolean(), nullable=False, server_default="false"))
    op.add_column("videos", sa.Column("demoted", sa.Boolean(), nullable=False, server_default="false"))
    op.add_column(
        "videos",
        sa.Column("restricted_realms", ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column(
        "comments", sa.Column("mod_state", sa.String(length=8), nullable=False, server_default="visible")
    )
    op.add_column("comments", sa.Column("mod_label", sa.Text(), nullable=True))

    op.create_table(
        "moderation_hash_lists",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("low_quality_skipped", sa.Integer(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", TZ, nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_hash_lists")),
        sa.UniqueConstraint("name", name=op.f("uq_moderation_hash_lists_name")),
    )
    op.create_table(
        "moderation_hash_entries",
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["moderation_hash_lists.id"],
            name=op.f("fk_moderation_hash_entries_list_id_moderation_hash_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "line", name=op.f("pk_moderation_hash_entries")),
    )
    op.create_table(
        "moderation_rules",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_moderation_rules_name")),
    )
    op.create_table(
        "moderation_trusted_flaggers",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("granted_at", TZ, nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_moderation_trusted_flaggers")),
    )
    op.create_table(
        "moderation_suspensions",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_moderation_suspensions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_moderation_suspensions")),
    )
    op.create_table(
        "moderation_cases",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        *_content_columns(),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_cases")),
    )
    op.create_index(
        "ix_moderation_cases_open_content",
        "moderation_cases",
        ["content_type", "content_id"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index("ix_moderation_cases_queue", "moderation_cases", ["state", "priority", "opened_at"])
    op.create_table(
        "moderation_reports",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        *_content_columns(),
        sa.Column("reporter_id", sa.BigInteger(), nullable=True),
        sa.Column("reporter_ref", sa.String(length=32), nullable=True),
        sa.Column("reporter_realm", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("legal_ground", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["moderation_cases.id"],
            name=op.f("fk_moderation_reports_case_id_moderation_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_reports")),
    )
    op.create_index("ix_moderation_reports_case", "moderation_reports", ["case_id"])
    op.create_index("ix_moderation_reports_reporter", "moderation_reports", ["reporter_id", "created_at"])
    op.create_table(
        "moderation_decisions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        *_content_columns(),
        sa.Column("content_date", TZ, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("restricted_realms", ARRAY(sa.Text()), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("ground", sa.String(length=40), nullable=False),
        sa.Column("legal_ground", sa.Text(), nullable=True),
        sa.Column("terms_ground", sa.Text(), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("source_type", sa.String(length=40), nullable=False),
        sa.Column("automated_detection", sa.Boolean(), nullable=False),
        sa.Column("automated_decision", sa.String(length=40), nullable=False),
        sa.Column("reviewer_id", sa.BigInteger(), nullable=True),
        sa.Column("ends_at", TZ, nullable=True),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.Column("legal_order_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("first_notice_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_decisions")),
    )
    op.create_index("ix_moderation_decisions_content", "moderation_decisions", ["content_type", "content_id"])
    op.create_index(
        "ix_moderation_decisions_owner", "moderation_decisions", ["content_owner_id", "created_at"]
    )
    op.create_table(
        "moderation_appeals",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=False),
        sa.Column("content_owner_id", sa.BigInteger(), nullable=False),
        sa.Column("appellant_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("result_decision_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["moderation_decisions.id"],
            name=op.f("fk_moderation_appeals_decision_id_moderation_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_appeals")),
    )
    op.create_index("ix_moderation_appeals_decision", "moderation_appeals", ["decision_id"])
    op.create_table(
        "moderation_legal_orders",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("territorial_scope", ARRAY(sa.Text()), nullable=False),
        sa.Column("notify_users", sa.Boolean(), nullable=False),
        sa.Column("target_count", sa.Integer(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("applied_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_legal_orders")),
    )
    op.create_table(
        "moderation_legal_order_targets",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=8), nullable=False),
        sa.Column("content_id", sa.BigInteger(), nullable=False),
        sa.Column("content_owner_id", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["moderation_legal_orders.id"],
            name=op.f("fk_moderation_legal_order_targets_order_id_moderation_legal_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "order_id", "content_type", "content_id", name=op.f("pk_moderation_legal_order_targets")
        ),
    )


def downgrade(role: str) -> None:
    if role != "realm":
        return
    for table in (
        "moderation_legal_order_targets",
        "moderation_legal_orders",
        "moderation_appeals",
        "moderation_decisions",
        "moderation_reports",
        "moderation_cases",
        "moderation_suspensions",
        "moderation_trusted_flaggers",
        "moderation_rules",
        "moderation_hash_entries",
        "moderation_hash_lists",
    ):
        op.drop_table(table)
    for column in ("mod_label", "mod_state"):
        op.drop_column("comments", column)
    for column in ("restricted_realms", "demoted", "age_restricted", "mod_label"):
        op.drop_column("videos", column)
