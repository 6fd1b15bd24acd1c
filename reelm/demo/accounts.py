"""The demo's accounts: signed up as anyone would be, then given the bio a new account has no field for."""

from __future__ import annotations

from reelm.accounts.models import User
from reelm.accounts.service import do_sign_up
from reelm.runtime import Runtime


async def demo_account(
    runtime: Runtime, *, handle: str, name: str, country: str, bio: str, password: str
) -> tuple[str, User]:
    """Sign the account up in its country's realm; its (realm, user)."""
    user = await do_sign_up(
        runtime,
        handle=handle,
        email=f"{handle}@demo.reelm.invalid",
        password=password,
        country=country,
        display_name=name,
    )
    realm = runtime.settings.realm_for_country(country)
    async with runtime.databases.transaction(realm) as session:
        stored = await session.get(User, user.id)
        assert stored is not None
        stored.bio = bio
    return realm, user
