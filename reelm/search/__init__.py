"""Search: videos, accounts and hashtags of every realm, matched inside the viewer's own realm database."""
