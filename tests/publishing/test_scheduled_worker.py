"""A realm's worker process publishes scheduled posts, and one that was stopped publishes what fell due while
it was down as soon as it is back (the sweep reads the database; nothing is held in a worker's memory)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import update

from reelm.runtime import Runtime
from reelm.videos.models import Video
from tests import live
from tests.conftest import make_account, run_jobs
from tests.factories import make_tiny_clip

# A worker process needs a few seconds to start; its first sweep runs as soon as it has.
WITHIN_S = 60.0


async def scheduled_draft(client: httpx.AsyncClient, auth: dict[str, str], clip: Path) -> str:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with clip.open("rb") as f:
        accepted = await client.post(
            "/api/v1/videos",
            headers=auth,
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"publish_at": soon},
        )
    assert accepted.status_code == 202, accepted.text
    video_id: str = accepted.json()["id"]
    return video_id


async def status_of(client: httpx.AsyncClient, video_id: str) -> int:
    return (await client.get(f"/api/v1/videos/{video_id}")).status_code


async def test_a_restarted_worker_publishes_what_fell_due_while_it_was_down(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    creator = await make_account(client, "nightowl")
    clip = make_tiny_clip(tmp_path)
    video_id = await scheduled_draft(client, creator.auth, clip)
    await run_jobs(runtime, creator.realm)
    assert await status_of(client, video_id) == 404  # a draft, private until its time

    # Its time comes while no worker runs; nothing publishes it meanwhile.
    async with runtime.databases.transaction(creator.realm) as session:
        await session.execute(
            update(Video)
            .where(Video.id == int(video_id))
            .values(publish_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    await asyncio.sleep(1)
    assert await status_of(client, video_id) == 404

    worker = live.start_worker(runtime, creator.realm, tmp_path / "worker.log")
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WITHIN_S
        while await status_of(client, video_id) != 200:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
            assert loop.time() < deadline, "the worker did not publish the due post"
            await asyncio.sleep(0.5)
    finally:
        live.stop(worker)
    assert (await client.get(f"/api/v1/videos/{video_id}")).json()["visibility"] == "public"
