"""Who is asking: the viewer every service function receives, whatever the transport.

The web layer resolves a bearer token or a session cookie to a `Viewer` (reelm.web.deps); tests, the
CLI and benches build one directly. A route that requires log-in receives a `SignedInViewer`, whose
`user` is never None, so no service needs to check it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelm.accounts.models import User


@dataclass(frozen=True)
class Viewer:
    """Who is asking, and which realm they browse: their home realm, or the default one when anonymous."""

    user: User | None
    realm: str
    token: str | None = None
    via_cookie: bool = False
    # The second factor the session's log-in was confirmed with (reelm.accounts.two_factor), or None.
    second_factor: str | None = None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    def signed_in(self) -> SignedInViewer | None:
        """The same viewer as signed in, or None for an anonymous visitor."""
        if self.user is None:
            return None
        return SignedInViewer(
            user=self.user,
            realm=self.realm,
            token=self.token,
            via_cookie=self.via_cookie,
            second_factor=self.second_factor,
        )


@dataclass(frozen=True)
class SignedInViewer(Viewer):
    """A viewer with an account: what every action that needs one takes."""

    user: User

    @property
    def user_id(self) -> int:
        return self.user.id
