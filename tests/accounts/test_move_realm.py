"""Moving an account to another home realm: copied under a new key, then shredded; everyone follows it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.sql import ColumnElement
from typer.testing import CliRunner, Result

from reelm.accounts.models import HandleEntry, User
from reelm.audit.models import RealmAuditOutbox
from reelm.cli.main import app as cli_app
from reelm.db import RealmBase, libpq_url
from reelm.runtime import Runtime
from reelm.social.models import Comment, Follow, VideoLike
from tests.conftest import PASSWORD, Account, make_account
from tests.factories import eventually, make_tiny_clip, publish
from tests.residency.test_residency import command_env, report_of, run_check


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("move"))


def move(runtime: Runtime, *args: str) -> Result:
    return CliRunner().invoke(cli_app, ["accounts", "move", *args], env=command_env(runtime))


async def count(runtime: Runtime, realm: str, model: type[RealmBase], *where: ColumnElement[bool]) -> int:
    async with runtime.databases.sessionmaker(realm)() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_an_account_moves_with_its_videos_and_audience_and_the_old_copy_is_shredded(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    mover = await make_account(client, "mover", country="US")
    neighbour = await make_account(client, "neighbour", country="US")
    fan = await make_account(client, "fan", country="JP")
    video_id = await publish(client, runtime, mover, clip, caption="moving #day")
    await eventually(lambda: _visible(client, fan, video_id))
    for account in (neighbour, fan):
        assert (await client.post("/api/v1/users/mover/follow", headers=account.auth)).status_code == 200
        assert (await client.post(f"/api/v1/videos/{video_id}/like", headers=account.auth)).status_code == 200
    said = await client.post(f"/api/v1/videos/{video_id}/comments", headers=fan.auth, json={"body": "yay"})
    assert said.status_code == 201
    await client.post("/api/v1/users/neighbour/follow", headers=mover.auth)
    old_key = await _wrapped_key(runtime, "us", int(mover.id))

    result = await asyncio.to_thread(move, runtime, "mover", "--to", "eu", "--reason", "user asked")
    assert result.exit_code == 0, result.output

    # The handle resolves to a new account in eu; the old one is gone from us, its key destroyed.
    async with runtime.databases.sessionmaker(None)() as directory:
        entry = await directory.scalar(select(HandleEntry).where(HandleEntry.handle == "mover"))
    assert entry is not None
    assert entry.realm == "eu"
    new_id = entry.user_id
    assert await count(runtime, "us", User, User.id == int(mover.id)) == 0
    assert await _wrapped_key(runtime, "us", int(mover.id)) is None
    assert old_key is not None
    assert await count(runtime, "eu", User, User.id == new_id) == 1
    assert await runtime.storage.realm("us").keys(f"videos/{video_id}") == []

    # Logging in lands in eu with the same password; the e-mail was re-encrypted under the new key.
    session = await client.post("/api/v1/sessions", json={"login": "mover@example.org", "password": PASSWORD})
    assert session.status_code == 201, session.text
    token = session.json()["token"]
    assert token.startswith("eu.")
    me = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert (me["realm"], me["email"], me["id"]) == ("eu", "mover@example.org", str(new_id))

    # Followers, likes and comments of every realm now point at the new ids, and the counts follow.
    videos = (await client.get("/api/v1/users/mover/videos", headers=fan.auth)).json()["items"]

    async def settled() -> bool:
        page = (await client.get("/api/v1/users/mover/videos", headers=fan.auth)).json()["items"]
        profile = (await client.get("/api/v1/users/mover", headers=fan.auth)).json()
        return (
            len(page) == 1
            and page[0]["counts"]["likes"] == 2
            and page[0]["counts"]["comments"] == 1
            and profile.get("follower_count") == 2
        )

    await eventually(settled)
    videos = (await client.get("/api/v1/users/mover/videos", headers=fan.auth)).json()["items"]
    new_video = videos[0]["id"]
    assert new_video != video_id
    assert videos[0]["realm"] == "eu"
    assert videos[0]["liked_by_me"] is True
    assert await count(runtime, "us", Follow, Follow.followee_id == new_id) == 1  # the neighbour's
    assert await count(runtime, "global", VideoLike, VideoLike.video_id == int(new_video)) == 1  # the fan's
    assert await count(runtime, "global", Comment, Comment.video_id == int(new_video)) == 1
    assert await count(runtime, "eu", Follow, Follow.follower_id == new_id) == 1  # the mover's own follow

    # Old links redirect to the new video.
    old_link = await client.get(f"/v/{video_id}", headers=fan.auth, follow_redirects=False)
    assert old_link.status_code == 301
    assert old_link.headers["location"] == f"/v/{new_video}"

    # Recorded in the transparency log, and nothing protected is left outside its home realm.
    async with runtime.databases.sessionmaker("us")() as db:
        entries = await db.scalars(
            select(RealmAuditOutbox.entry).where(RealmAuditOutbox.event_type == "account.move")
        )
        moves = [json.loads(entry) for entry in entries]
    assert len(moves) == 1
    assert moves[0]["details"]["to"] == "eu"
    check = await run_check(runtime, "--json")
    assert check.exit_code == 0, check.output
    assert report_of(check)["findings"] == []


async def test_a_move_that_cannot_start_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    await make_account(client, "stayer", country="US")
    for args, message in (
        (("stayer", "--to", "us", "--reason", "x"), "already lives in us"),
        (("nobody", "--to", "eu", "--reason", "x"), "no account @nobody"),
        (("stayer", "--to", "mars", "--reason", "x"), "Unknown realm"),
        (("stayer", "--to", "eu", "--reason", " "), "--reason"),
    ):
        result = await asyncio.to_thread(move, runtime, *args)
        assert result.exit_code == 2, result.output
        assert message in result.output
    assert await count(runtime, "us", User) == 1
    assert await count(runtime, "eu", User) == 0


async def _visible(client: httpx.AsyncClient, account: Account, video_id: str) -> bool:
    return (await client.get(f"/api/v1/videos/{video_id}", headers=account.auth)).status_code == 200


async def _wrapped_key(runtime: Runtime, realm: str, user_id: int) -> bytes | None:
    with psycopg.connect(libpq_url(runtime.databases.realm_urls[realm])) as conn:
        row = conn.execute("SELECT wrapped_key FROM user_keys WHERE user_id = %s", (user_id,)).fetchone()
    return row[0] if row else None
