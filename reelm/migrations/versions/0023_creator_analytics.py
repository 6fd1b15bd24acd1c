"""Creator analytics: rollups of viewing events per creator, video, hour and dimension (issue 17).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08
"""

from collections.abc import Sequence

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    pass


def downgrade(role: str) -> None:
    pass
