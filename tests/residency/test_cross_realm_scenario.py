"""The scripted cross-realm scenario, then the residency check: people of us, eu and global follow,
comment on, like and watch each other's videos, upload, edit their profiles and delete their accounts,
and no protected value ends up outside its owner's home realm; only the outbound schema is published.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from reelm.db import libpq_url
from reelm.departures.purge import purge_due_accounts
from reelm.runtime import Runtime
from tests.conftest import PASSWORD, Account, make_account
from tests.factories import eventually, make_tiny_clip, publish
from tests.residency.test_residency import report_of, run_check, where


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("scenario"))


async def test_a_cross_realm_scenario_leaves_every_protected_value_at_home(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    people = {
        "us": [
            await make_account(client, "ana", country="US"),
            await make_account(client, "ben", country="US"),
        ],
        "eu": [
            await make_account(client, "carla", country="IT"),
            await make_account(client, "dag", country="SE"),
        ],
        "global": [
            await make_account(client, "eko", country="NG"),
            await make_account(client, "fumi", country="JP"),
        ],
    }
    creators = {realm: accounts[0] for realm, accounts in people.items()}
    videos = {realm: await publish(client, runtime, creator, clip) for realm, creator in creators.items()}
    everyone = [account for accounts in people.values() for account in accounts]

    for account in everyone:
        for realm, video_id in videos.items():
            if creators[realm] is account:
                continue
            await eventually(functools.partial(_visible, client, account, video_id))
            assert (
                await client.post(f"/api/v1/videos/{video_id}/view", headers=account.auth)
            ).status_code == 204
            assert (
                await client.post(f"/api/v1/videos/{video_id}/like", headers=account.auth)
            ).status_code == 200
            said = await client.post(
                f"/api/v1/videos/{video_id}/comments",
                headers=account.auth,
                json={"body": f"from {account.handle}"},
            )
            assert said.status_code == 201, said.text
            followed = await client.post(
                f"/api/v1/users/{creators[realm].handle}/follow", headers=account.auth
            )
            assert followed.status_code == 200, followed.text
        edited = await client.patch(
            "/api/v1/me", headers=account.auth, json={"bio": f"I am {account.handle}"}
        )
        assert edited.status_code == 200, edited.text

    # Every like and comment reached the video's realm as a count.
    async def all_counted() -> bool:
        for realm, video_id in videos.items():
            card = (await client.get(f"/api/v1/videos/{video_id}", headers=creators[realm].auth)).json()
            if (card["counts"]["likes"], card["counts"]["comments"], card["counts"]["views"]) != (5, 5, 5):
                return False
        return True

    await eventually(all_counted)

    # The second person of each realm deletes their account, and the purge runs after the grace period:
    # their likes and comments, made at home on every realm's videos, stop counting everywhere.
    for accounts in people.values():
        gone = await client.request(
            "DELETE", "/api/v1/me", headers=accounts[1].auth, json={"password": PASSWORD}
        )
        assert gone.status_code == 202, gone.text
    later = datetime.now(UTC) + timedelta(days=runtime.settings.deletion_grace_days + 1)
    for realm in people:
        assert await purge_due_accounts(runtime, realm, now=later) == 1

    async def deletions_counted() -> bool:
        for realm, video_id in videos.items():
            card = (await client.get(f"/api/v1/videos/{video_id}", headers=creators[realm].auth)).json()
            if (card["counts"]["likes"], card["counts"]["comments"]) != (2, 2):
                return False
        return True

    await eventually(deletions_counted)

    result = await run_check(runtime, "--json")
    assert result.exit_code == 0, result.output
    report = report_of(result)
    assert report["findings"] == []
    assert all(summary["rows_scanned"] > 0 for summary in report["realms"])

    # A publication of anything but the outbound schema is caught.
    with psycopg.connect(libpq_url(runtime.databases.realm_urls["eu"]), autocommit=True) as conn:
        conn.execute("CREATE PUBLICATION leak FOR TABLE users (id, email)")
        try:
            leaked = await run_check(runtime, "--json")
        finally:
            conn.execute("DROP PUBLICATION leak")
    assert leaked.exit_code == 1, leaked.output
    assert ("eu", "publication:leak:public.users.email", "", "published") in where(report_of(leaked))


async def _visible(client: httpx.AsyncClient, account: Account, video_id: str) -> bool:
    return (await client.get(f"/api/v1/videos/{video_id}", headers=account.auth)).status_code == 200
