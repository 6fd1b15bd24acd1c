"""Two-factor log-in (TOTP, passkeys) and sessions (issue 18).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08
"""

from collections.abc import Sequence

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str) -> None:
    pass


def downgrade(role: str) -> None:
    pass
