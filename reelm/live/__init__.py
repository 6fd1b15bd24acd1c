"""Telling open pages what changed: one PostgreSQL NOTIFY channel that every server process listens to."""
