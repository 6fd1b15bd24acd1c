"""Starting a process that serves or seeds: databases migrated and realms linked before anything connects.

Kept apart from `reelm.runtime` (core), because linking realms is the cross-realm domain's work.
"""

from __future__ import annotations

from reelm import migrate
from reelm.accounts import names
from reelm.crossrealm.replication import ensure_cross_realm, realm_databases
from reelm.runtime import Runtime
from reelm.settings import Settings


def migrate_and_link(settings: Settings, urls: dict[str, str]) -> None:
    """Apply the migrations to every database given, then link the realms if all of them are given."""
    migrate.upgrade_all(urls)
    # Linking needs every realm's credentials: a worker, which holds only its own, does not link.
    if {name for name in urls if name} == set(settings.realm_names):
        ensure_cross_realm(realm_databases(settings, urls))
        # So do the look-alike keys of names recorded before revision 0013 (display names live in the realms).
        names.backfill(urls)


def start_runtime(settings: Settings, *, realms: list[str] | None = None) -> Runtime:
    """The runtime of a process that may be the first to start: it migrates and links first."""
    return Runtime.start(settings, realms=realms, prepare=migrate_and_link)
