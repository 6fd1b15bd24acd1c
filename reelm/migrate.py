"""Apply the one migration history to the directory and every realm database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from reelm.db import async_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, role: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # The sync psycopg driver: Alembic runs migrations synchronously.
    config.attributes["url"] = async_url(url)
    config.attributes["role"] = role
    return config


def upgrade(url: str, role: str) -> None:
    command.upgrade(alembic_config(url, role), "head")


def upgrade_all(urls: dict[str, str]) -> None:
    """urls keyed by realm name, "" for the directory."""
    for key, url in urls.items():
        upgrade(url, "directory" if key == "" else "realm")
