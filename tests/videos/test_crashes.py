"""A crash at any point loses nothing: a killed worker's job is retried, a killed upload leaves nothing."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

import httpx
from procrastinate import PsycopgConnector
from sqlalchemy import func, select, text

from reelm.jobs import job_app, recover_stalled_jobs
from reelm.runtime import Runtime
from reelm.videos.models import Video
from tests import clips, live
from tests.conftest import make_account, run_jobs
from tests.videos.test_upload_api import upload


async def _job_status(runtime: Runtime, realm: str) -> list[str]:
    async with runtime.databases.sessionmaker(realm)() as session:
        # Transcode jobs only: a long-running worker also schedules periodic jobs (model retraining).
        jobs = "SELECT status::text FROM procrastinate_jobs WHERE task_name = 'transcode_video'"
        return list(await session.scalars(text(jobs)))


async def test_worker_killed_mid_transcode_is_retried(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    # Big enough that the transcode is surely still running when the worker is killed.
    clip = clips.make_clip(tmp_path, width=720, height=1280, duration_s=8.0)
    video_id = (await upload(client, alice, clip)).json()["id"]

    worker = live.start(["worker", "--realm", "us"], live.external_env(runtime), tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 60
        while await _job_status(runtime, "us") != ["doing"]:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    finally:
        live.stop(worker)

    status = (await client.get(f"/api/v1/videos/{video_id}", headers=alice.auth)).json()["status"]
    assert status in {"processing", "ready"}  # ready only if the lowest rung had been published
    assert await _job_status(runtime, "us") == ["doing"]  # the job is left behind, not lost

    # Once the dead worker's heartbeat is stale, recovery puts the job back in the queue.
    await asyncio.sleep(1.5)
    connector = PsycopgConnector(conninfo=runtime.realm_url("us"))
    with job_app.replace_connector(connector) as app:
        async with app.open_async():
            assert await recover_stalled_jobs(app, seconds_since_heartbeat=1) == 1
    await run_jobs(runtime, "us")

    video = (await client.get(f"/api/v1/videos/{video_id}")).json()
    assert video["status"] == "ready"
    assert [r["name"] for r in video["renditions"]] == ["360p", "480p", "720p"]
    assert (await client.get("/api/v1/users/alice")).json()["video_count"] == 1


async def test_server_killed_mid_upload_leaves_no_video(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    server, base = live.start_server(runtime, tmp_path / "server.log")
    try:
        clip = clips.make_clip(tmp_path, width=360, height=640, duration_s=3.0).read_bytes()
        boundary = "reelmtestboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        total = len(head) + len(clip) + len(f"\r\n--{boundary}--\r\n")
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                (
                    "POST /api/v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {alice.token}\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                    f"Content-Length: {total}\r\n\r\n"
                ).encode()
                + head
                + clip[: len(clip) // 2]
            )
            await asyncio.sleep(0.5)
            server.send_signal(signal.SIGKILL)
            server.wait()
    finally:
        live.stop(server)
    async with runtime.databases.sessionmaker("us")() as session:
        assert await session.scalar(select(func.count()).select_from(Video)) == 0
    assert await _job_status(runtime, "us") == []
    # The account still works and a new upload goes through.
    assert (await upload(client, alice, clips.make_clip(tmp_path, name="again.mp4"))).status_code == 202
