"""The interface language a person picked (users.locale; None follows the browser's Accept-Language).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    if role != "realm":
        return  # accounts live in their realm; the directory knows only handles
    op.add_column("users", sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade(role: str) -> None:
    if role == "realm":
        op.drop_column("users", "locale")
