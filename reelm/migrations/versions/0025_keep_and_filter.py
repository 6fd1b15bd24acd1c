"""Favourites and collections, reposts, mutes and keyword filters, audiences, comment controls (issue 18).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08
"""

from collections.abc import Sequence

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    pass


def downgrade(role: str) -> None:
    pass
