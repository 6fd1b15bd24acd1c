"""Fixtures of the search tests: the switchboard (for the `search` switch), as the realm tests start it."""

from tests.realms.conftest import board

__all__ = ["board"]
