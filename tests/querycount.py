"""Counting the SQL statements that code runs, per database, so that a test can hold a route to a budget.

    with count_queries(runtime.databases) as counted:
        response = await client.get("/api/v1/feed/for-you", headers=viewer.auth)
    assert counted["us"] <= BUDGET, counted.report()

An N+1 (one more statement per item shown) is caught by comparing a short page with a long one: the count
of a route that reads a page in a fixed number of statements does not depend on the page's length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event

from reelm.db import Databases

DIRECTORY = "directory"  # the key of the directory database in a count (realms are keyed by their name)


@dataclass
class QueryCount:
    """The statements sent to each database while counting, in order."""

    statements: dict[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, database: str) -> int:
        return len(self.statements.get(database, []))

    @property
    def total(self) -> int:
        return sum(len(s) for s in self.statements.values())

    def per_database(self) -> dict[str, int]:
        """Statement counts of the databases that were used, e.g. {"directory": 1, "us": 3}."""
        return {name: len(s) for name, s in sorted(self.statements.items()) if s}

    def report(self) -> str:
        """Every statement, by database: what a failed budget shows (the first line of each is enough to
        spot a statement repeated per item)."""
        lines = [f"{self.total} statements: {self.per_database()}"]
        for name, statements in sorted(self.statements.items()):
            for number, statement in enumerate(statements, 1):
                first = " ".join(statement.split())[:160]
                lines.append(f"  {name} {number}: {first}")
        return "\n".join(lines)


def _recorder(counted: QueryCount, name: str) -> Callable[..., None]:
    def before_cursor_execute(
        conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        # Once per round trip: an executemany counts once.
        counted.statements.setdefault(name, []).append(statement)

    return before_cursor_execute


@contextmanager
def count_queries(databases: Databases) -> Iterator[QueryCount]:
    """Count the statements executed on the engines of `databases` (the directory and every realm) inside
    the block. Anything that runs on these engines meanwhile counts, so count around one request at a
    time, with no background work of the test's own running."""
    counted = QueryCount()
    listeners = []
    for realm in [None, *databases.realm_urls]:
        engine = databases.engine(realm).sync_engine  # created now if this process had not used it yet
        listener = _recorder(counted, DIRECTORY if realm is None else realm)
        event.listen(engine, "before_cursor_execute", listener)
        listeners.append((engine, listener))
    try:
        yield counted
    finally:
        for engine, listener in listeners:
            event.remove(engine, "before_cursor_execute", listener)
