"""Every process's copy of the switches: loaded at start, reloaded on NOTIFY, re-read as a safety net.

A change commits together with `pg_notify(CHANNEL, …)` (see `service.py`), so PostgreSQL delivers the
notification only once the change is visible, and never for a rolled-back one. Each process holds
one dedicated connection to the directory that LISTENs on the channel and reloads the whole table
(realms times capabilities: a few dozen rows) on every notification. Should a notification be lost, the
table is re-read every `refresh_s` seconds anyway; should the connection drop, it is re-opened with a
growing delay, and meanwhile the last known switches stay in force rather than failing open or shut.

The decision itself (`allowed`) reads only memory, so checking a switch costs a dictionary lookup.
Nothing here depends on the web stack: a worker process can hold a Switchboard just as a server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import psycopg

from reelm.realms.models import Capability, SwitchState

log = logging.getLogger(__name__)

CHANNEL = "reelm_capabilities"
REFRESH_S = 30.0
# A query that takes this long on the listening connection means the connection is gone, not slow.
QUERY_TIMEOUT_S = 10.0
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 15.0

_SELECT = (
    "SELECT realm, capability, state, percent, notice, changed_by, changed_at, reason FROM realm_capabilities"
)


@dataclass(frozen=True)
class Switch:
    """One capability's switch in one realm."""

    realm: str
    capability: Capability
    state: SwitchState = SwitchState.ON
    percent: int = 100
    notice: str = ""
    changed_by: str | None = None  # None: never changed, on by default
    changed_at: datetime | None = None
    reason: str = ""

    @property
    def limited(self) -> bool:
        return self.state is not SwitchState.ON


def bucket(realm: str, capability: Capability | str, user_id: int) -> int:
    """A user's fixed place, 0 to 99, in the rollout of one capability in one realm.

    A hash rather than `user_id % 100`: ids carry time and realm bits, so their low digits are not
    uniform, and each capability gets its own order, so the same people are not always first.
    """
    digest = hashlib.sha256(f"{realm}\x00{capability}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def decide(switch: Switch | None, user_id: int | None) -> bool:
    """Whether a switch lets this user through.

    Anonymous visitors count as outside a partial rollout: they have no stable identity to bucket
    (an IP address changes between networks and is protected data), and "not yet" is the safe answer
    while a capability is being brought back. So a partial `signup`, whose users have no id yet,
    admits nobody until it is fully on.
    """
    if switch is None or switch.state is SwitchState.ON:
        return True
    if switch.state is SwitchState.OFF or user_id is None:
        return False
    return bucket(switch.realm, switch.capability, user_id) < switch.percent


def switch_from_row(row: tuple[object, ...]) -> Switch | None:
    # The column types (and the table's check constraint) guarantee these types.
    realm, capability, state, percent, notice, changed_by, changed_at, reason = cast(
        tuple[str, str, str, int, str, str, datetime, str], row
    )
    try:
        return Switch(
            realm=realm,
            capability=Capability(capability),
            state=SwitchState(state),
            percent=percent,
            notice=notice,
            changed_by=changed_by,
            changed_at=changed_at,
            reason=reason,
        )
    except ValueError:  # a capability or state a newer release wrote: this one does not know it
        log.warning("ignoring an unknown switch %r", row)
        return None


class Switchboard:
    """The switches of every configured realm, kept current in this process."""

    def __init__(self, directory_url: str, realms: Iterable[str], *, refresh_s: float = REFRESH_S) -> None:
        self._url = directory_url  # libpq form (see reelm.db.libpq_url)
        self._realms = frozenset(realms)
        self.refresh_s = refresh_s
        self._switches: dict[tuple[str, Capability], Switch] = {}
        self._task: asyncio.Task[None] | None = None
        # Loads run one at a time, so a load that started earlier never overwrites a later one.
        self._load_lock = asyncio.Lock()
        self.loads = 0  # how many times the table was read: a cheap liveness figure
        self.listener_pid: int | None = None  # the listening connection's server process

    # --- decisions (memory only) ----------------------------------------------------------------------

    def switch(self, realm: str, capability: Capability) -> Switch:
        return self._switches.get((realm, capability)) or Switch(realm=realm, capability=capability)

    def allowed(self, realm: str, capability: Capability, user_id: int | None) -> bool:
        return decide(self._switches.get((realm, capability)), user_id)

    def limited(self, realm: str) -> list[Switch]:
        """The realm's switches that are not simply on, in the order of `Capability`."""
        return [s for c in Capability if (s := self._switches.get((realm, c))) is not None and s.limited]

    # --- loading ---------------------------------------------------------------------------------------

    async def _connect(self, *, listen: bool) -> psycopg.AsyncConnection[tuple[object, ...]]:
        conn = await psycopg.AsyncConnection.connect(
            self._url,
            autocommit=True,  # LISTEN takes effect at once, and no transaction stays open while idle
            connect_timeout=10,
            # Over TCP, a peer that vanished without a word is noticed within about half a minute.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        try:
            if listen:
                await conn.execute(f"LISTEN {CHANNEL}")
                # Loaded after LISTEN: a change committed in between is then either read or notified.
            await self._load(conn)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _load(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        async with self._load_lock, asyncio.timeout(QUERY_TIMEOUT_S):
            rows = await (await conn.execute(_SELECT)).fetchall()
            switches = {}
            for row in rows:
                found = switch_from_row(row)
                if found is not None and found.realm in self._realms:  # switches of dropped realms lapse
                    switches[(found.realm, found.capability)] = found
            self._switches = switches  # one assignment: a reader sees the old table or the new one
            self.loads += 1

    async def reload(self) -> None:
        """Read the table now, on a connection of its own (the listening one may be waiting)."""
        connect = psycopg.AsyncConnection.connect(self._url, autocommit=True, connect_timeout=10)
        async with await connect as conn:
            await self._load(conn)

    # --- listening --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the switches and start listening; fails if the directory cannot be reached.

        A process that does not know its switches must not serve: it could serve what is switched off.
        """
        if self._task is not None:
            return
        conn = await self._connect(listen=True)
        self.listener_pid = conn.info.backend_pid
        self._task = asyncio.create_task(self._keep_listening(conn), name="switchboard")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep_listening(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        delay = RECONNECT_MIN_S
        while True:
            try:
                async with conn:
                    await self._listen(conn)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                log.warning("switchboard: lost the directory connection (%s); keeping the last switches", exc)
            while True:
                await asyncio.sleep(delay)
                try:
                    conn = await self._connect(listen=True)
                except (psycopg.Error, OSError, TimeoutError) as exc:
                    delay = min(delay * 2, RECONNECT_MAX_S)
                    log.warning("switchboard: reconnecting failed (%s); next try in %.1f s", exc, delay)
                    continue
                self.listener_pid = conn.info.backend_pid
                delay = RECONNECT_MIN_S
                log.info("switchboard: listening again")
                break

    async def _listen(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        while True:
            # Wakes on the first notification or after refresh_s; either way the table is read again.
            # Notifications arriving during the read are queued by psycopg and wake the next wait.
            async for _ in conn.notifies(timeout=self.refresh_s, stop_after=1):
                pass
            await self._load(conn)  # also proves the connection alive: a dead one raises here


@asynccontextmanager
async def running(
    directory_url: str, realms: Iterable[str], *, refresh_s: float = REFRESH_S
) -> AsyncIterator[Switchboard]:
    """A started Switchboard for the block, for processes without a lifespan of their own (workers)."""
    board = Switchboard(directory_url, realms, refresh_s=refresh_s)
    await board.start()
    try:
        yield board
    finally:
        await board.stop()
