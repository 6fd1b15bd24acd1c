"""Per-realm service switches: each capability of a realm is on, off, or rolling out to N % of users."""
