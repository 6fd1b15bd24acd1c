"""Data exports through the API and a real worker: request, build, download, and who may do what."""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from reelm.exports import service
from reelm.exports.models import DataExport
from reelm.exports.service import expire_exports
from reelm.exports.tasks import build
from reelm.messages.policy import MessagingSettings
from reelm.runtime import Runtime
from tests.conftest import Account, make_account, run_jobs
from tests.factories import app_of, make_tiny_clip, publish
from tests.messages.common import send, start
from tests.web.test_security import browser_login

PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("exports"))


async def request_export(client: httpx.AsyncClient, account: Account) -> str:
    response = await client.post("/api/v1/me/exports", headers=account.auth)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "requested"
    assert body["download_url"] is None
    return str(body["id"])


async def test_export_holds_profile_activity_and_the_original_upload(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    video_id = await publish(client, runtime, alice, clip, caption="my first #clip")
    bobs_video = await publish(client, runtime, bob, clip, caption="bob's clip")
    posted = await client.post(
        f"/api/v1/videos/{bobs_video}/comments", headers=alice.auth, json={"body": "nice one, bob"}
    )
    assert posted.status_code == 201, posted.text
    assert (await client.post(f"/api/v1/videos/{bobs_video}/like", headers=alice.auth)).status_code == 200
    assert (await client.post("/api/v1/users/bob/follow", headers=alice.auth)).status_code == 200

    export_id = await request_export(client, alice)
    await run_jobs(runtime, "us")

    state = (await client.get(f"/api/v1/me/exports/{export_id}", headers=alice.auth)).json()
    assert state["status"] == "ready"
    assert state["progress"] == 100
    assert state["download_url"] == f"/api/v1/me/exports/{export_id}/download"
    expires = datetime.fromisoformat(state["expires_at"])
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7)

    download = await client.get(state["download_url"], headers=alice.auth)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["cache-control"] == "private, no-store"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    data = json.loads(archive.read("data.json"))
    assert data["profile"]["email"] == "alice@example.org"
    assert data["profile"]["country"] == "US"
    # The session made by make_account logged in from the test client: its user agent is decrypted.
    assert any(s["user_agent"] for s in data["sessions"])
    assert [v["caption"] for v in data["videos"]] == ["my first #clip"]
    assert data["videos"][0]["permissions"]["comment_policy"] == "everyone"
    assert [c["body"] for c in data["comments"]] == ["nice one, bob"]
    assert [like["video_id"] for like in data["likes"]] == [bobs_video]
    assert [(f["handle"], f["user_id"]) for f in data["following"]] == [("bob", bob.id)]

    # The original, byte for byte, stored rather than recompressed; the poster beside it.
    original = data["videos"][0]["original_file"]
    assert archive.read(original) == await asyncio.to_thread(clip.read_bytes)
    assert archive.getinfo(original).compress_type == zipfile.ZIP_STORED
    assert archive.read(data["videos"][0]["poster_file"]).startswith(b"\xff\xd8")
    assert f"media/videos/{video_id}/original" == original

    # Nobody else can read or download it, nor learn that it exists; anonymous callers must log in.
    assert (await client.get(f"/api/v1/me/exports/{export_id}", headers=bob.auth)).status_code == 404
    assert (await client.get(state["download_url"], headers=bob.auth)).status_code == 404
    assert (await client.get(state["download_url"])).status_code == 401
    # The archive is protected: the public media route does not serve it.
    media = await client.get(f"/media/us/exports/{alice.id}/{export_id}.zip")
    assert media.status_code == 404


async def exported_data(
    client: httpx.AsyncClient, runtime: Runtime, account: Account
) -> tuple[dict[str, Any], str]:
    """Request an export, build it, download it: data.json parsed, and as the text stored."""
    export_id = await request_export(client, account)
    await run_jobs(runtime, account.realm)
    download = await client.get(f"/api/v1/me/exports/{export_id}/download", headers=account.auth)
    assert download.status_code == 200, download.text
    text = zipfile.ZipFile(io.BytesIO(download.content)).read("data.json").decode()
    data: dict[str, Any] = json.loads(text)
    return data, text


async def test_export_holds_messages_notifications_signals_blocks_and_settings(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny pages, so that reading history and events across several pages is what is tested.
    monkeypatch.setattr(service, "MESSAGE_BATCH", 2)
    monkeypatch.setattr(service, "EVENT_BATCH", 1)
    # Test accounts are minutes old; the account-age rule would refuse the requests made here.
    app_of(client).state.messaging.policy = MessagingSettings(min_account_age_hours=0)
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    carol = await make_account(client, "carol")
    mallory = await make_account(client, "mallory")
    assert (await client.post("/api/v1/users/alice/follow", headers=bob.auth)).status_code == 200

    # A direct conversation alice cleared, then a message of it she deleted for herself.
    direct = (await start(client, alice, "bob", body="said before clearing"))["id"]
    assert (await client.delete(f"/api/v1/conversations/{direct}", headers=alice.auth)).status_code == 204
    await send(client, bob, direct, "after clearing")
    hidden = await send(client, bob, direct, "deleted for me")
    url = f"/api/v1/conversations/{direct}/messages/{hidden['id']}"
    assert (await client.delete(url, headers=alice.auth)).status_code == 204
    await send(client, alice, direct, "still here 👋")
    mute = await client.put(f"/api/v1/conversations/{direct}/mute", headers=alice.auth, json={"muted": True})
    assert mute.status_code == 200, mute.text
    # A group alice left: what it says afterwards was never hers to see.
    group = (await start(client, alice, "bob", "carol", body="group hello"))["id"]
    assert (await client.delete(f"/api/v1/conversations/{group}", headers=alice.auth)).status_code == 204
    await send(client, bob, group, "after alice left")
    # A request from a stranger, not yet answered.
    request = (await start(client, carol, "alice", body="hello stranger"))["id"]

    assert (await client.post("/api/v1/users/mallory/block", headers=alice.auth)).status_code == 200
    settings = await client.put(
        "/api/v1/me/message-settings", headers=alice.auth, json={"allow_from": "following"}
    )
    assert settings.status_code == 200, settings.text

    video = await publish(client, runtime, bob, clip, caption="a #cats clip")
    events = {
        "events": [
            {"id": "export-test-1", "video_id": video, "kind": "impression"},
            {
                "id": "export-test-2",
                "video_id": video,
                "kind": "watch",
                "watched_s": 0.5,
                "loops": 1,
                "source": "search",
            },
        ]
    }
    assert (await client.post("/api/v1/events", headers=alice.auth, json=events)).status_code == 200
    picked = await client.put("/api/v1/me/interests", headers=alice.auth, json={"hashtags": ["dogs"]})
    assert picked.status_code == 200, picked.text
    defaults = {
        "comment_policy": "followed_back",
        "allow_duet": False,
        "allow_stitch": True,
        "allow_sound_reuse": True,
        "allow_download": True,
        "allow_embed": False,
    }
    put = await client.put("/api/v1/me/video-defaults", headers=alice.auth, json=defaults)
    assert put.status_code == 200, put.text

    data, text = await exported_data(client, runtime, alice)
    assert data["format"] == "reelm-export/1"

    conversations = {c["id"]: c for c in data["conversations"]}
    assert conversations.keys() == {direct, group, request}
    mine = conversations[direct]
    assert (mine["kind"], mine["state"], mine["muted"]) == ("direct", "accepted", True)
    assert mine["members"] == [{"user_id": bob.id, "handle": "bob"}]
    assert [(m["sender_id"], m["body"]) for m in mine["messages"]] == [
        (bob.id, "after clearing"),
        (alice.id, "still here 👋"),
    ]
    left = conversations[group]
    assert (left["kind"], left["state"], left["messages"]) == ("group", "left", [])
    assert {m["handle"] for m in left["members"]} == {"bob", "carol"}
    asked = conversations[request]
    assert (asked["state"], [m["body"] for m in asked["messages"]]) == ("request", ["hello stranger"])
    # Nothing alice cleared, hid or never saw is anywhere in the archive.
    for gone in ("said before clearing", "deleted for me", "group hello", "after alice left"):
        assert gone not in text

    notifications = [(n["kind"], n["object_id"], n["actor_ids"]) for n in data["notifications"]]
    assert ("follow", None, [bob.id]) in notifications
    assert ("message_request", request, [carol.id]) in notifications
    assert all(n["created_at"] and n["read_at"] is None for n in data["notifications"])

    assert [(e["video_id"], e["kind"], e["watched_s"], e["source"]) for e in data["watch_events"]] == [
        (video, "impression", 0.0, None),
        (video, "watch", 0.5, "search"),
    ]
    profile = data["interest_profile"]
    assert profile["picked_interests"] == ["dogs"]
    assert profile["events"] == 2
    assert profile["recent_seen_video_ids"] == [video]

    assert [(b["user_id"], b["handle"]) for b in data["blocks"]] == [(mallory.id, "mallory")]
    assert data["message_settings"]["allow_from"] == "following"
    assert data["video_defaults"] == defaults


async def test_one_export_at_a_time_and_a_new_one_once_it_is_done(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    first = await request_export(client, alice)
    again = await client.post("/api/v1/me/exports", headers=alice.auth)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    # Not ready yet: nothing to download.
    assert (await client.get(f"/api/v1/me/exports/{first}/download", headers=alice.auth)).status_code == 409

    await run_jobs(runtime, "us")
    async with runtime.databases.sessionmaker("us")() as session:
        built = await session.get(DataExport, int(first))
    assert built is not None
    assert built.status == "ready"
    # A retried job (e.g. after its worker died) leaves a finished export as it is.
    await build(runtime, "us", int(first))
    async with runtime.databases.sessionmaker("us")() as session:
        again_built = await session.get(DataExport, int(first))
    assert again_built is not None
    assert again_built.ready_at == built.ready_at
    # Once the first is done, a new one may be requested.
    second = await request_export(client, alice)
    assert second != first


async def test_expired_export_is_gone(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    export_id = await request_export(client, alice)
    await run_jobs(runtime, "us")
    async with runtime.databases.transaction("us") as session:
        await session.execute(
            update(DataExport)
            .where(DataExport.id == int(export_id))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    download = await client.get(f"/api/v1/me/exports/{export_id}/download", headers=alice.auth)
    assert download.status_code == 410
    state = (await client.get(f"/api/v1/me/exports/{export_id}", headers=alice.auth)).json()
    assert state["status"] == "expired"
    assert state["download_url"] is None

    # The workers' housekeeping then deletes the archive itself.
    archives = runtime.settings.data_dir / "objects" / "us" / "exports"
    assert list(archives.rglob("*.zip"))
    assert await expire_exports(runtime, "us") == 1
    assert list(archives.rglob("*.zip")) == []
    assert await expire_exports(runtime, "us") == 0
    async with runtime.databases.sessionmaker("us")() as session:
        export = await session.get(DataExport, int(export_id))
    assert export is not None
    assert (export.status, export.object_key) == ("expired", None)


async def test_anonymous_cannot_request_an_export(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/me/exports")
    assert response.status_code == 401
    assert (await client.get("/api/v1/me/exports/123")).status_code == 401


async def test_exports_are_rate_limited(client: httpx.AsyncClient, runtime: Runtime) -> None:
    runtime.settings.exports_per_day = 1
    alice = await make_account(client, "alice")
    await request_export(client, alice)
    await run_jobs(runtime, "us")
    assert (await client.post("/api/v1/me/exports", headers=alice.auth)).status_code == 429


async def test_settings_page_requests_and_links_the_export(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "alice")
    csrf = await browser_login(client, "alice")
    page = await client.get("/settings")
    assert "Download your data" in page.text
    assert "Download archive" not in page.text

    refused = await client.post("/settings/export", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    requested = await client.post("/settings/export", data={"csrf_token": csrf})
    assert requested.status_code == 303
    building = await client.get("/settings")
    assert "being prepared" in building.text
    assert 'action="/settings/export"' not in building.text

    await run_jobs(runtime, "us")
    ready = await client.get("/settings")
    link = re.search(r'href="(/api/v1/me/exports/\d+/download)"', ready.text)
    assert link is not None
    download = await client.get(link[1])
    assert download.status_code == 200
    assert "data.json" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
