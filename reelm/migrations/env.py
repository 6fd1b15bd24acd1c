"""Alembic environment: one history, applied to the directory and to every realm database.

The caller sets `config.attributes["role"]` to "directory" or "realm"; each revision creates only the
tables of that role, so the directory never holds realm tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from reelm.models import DirectoryBase, RealmBase

config = context.config
role = config.attributes["role"]
target_metadata = DirectoryBase.metadata if role == "directory" else RealmBase.metadata

engine = create_engine(config.attributes["url"])
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations(role=role)
engine.dispose()
