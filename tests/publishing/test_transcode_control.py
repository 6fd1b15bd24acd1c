"""A transcode never holds a realm's worker against the realm's will: deleting the video or switching uploads
off stops it within seconds, a stopping or killed worker leaves no ffmpeg behind and its job goes back in the
queue, one uploader's batch does not starve the others, and the queue's age is on /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psutil
from sqlalchemy import select, text

from reelm.publishing.tasks import PAUSED_DETAIL
from reelm.runtime import Runtime
from reelm.videos.models import Video, VideoStatus
from reelm.web.app import create_app
from tests import clips, live
from tests.conftest import make_account, make_settings, run_jobs
from tests.factories import make_tiny_clip, upload
from tests.realms.common import set_switch

US = "us"
# The watch for a reason to stop runs every second; ffmpeg must be gone well within this.
STOPPED_WITHIN_S = 5.0
# A worker process needs a few seconds to start (embedded server, imports) before it takes a job.
STARTED_WITHIN_S = 90.0
METRICS_TOKEN = "scraper-token-for-tests"


def encoders(worker: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The worker's running ffmpeg children that encode a ladder (not the screening's frame extraction)."""
    found = []
    for child in psutil.Process(worker.pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if "ffmpeg" in child.name() and "libx264" in child.cmdline() and not gone(child):
                found.append(child)
    return found


def gone(process: psutil.Process) -> bool:
    """Ended: no longer there, or a zombie not reaped yet (it runs no more)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def tail(log: Path | None) -> str:
    return "\n" + log.read_text()[-3000:] if log is not None and log.exists() else ""


async def within(seconds: float, condition: Callable[[], object], what: str, log: Path | None = None) -> None:
    """Wait until `condition()` holds: processes of another program have no event to await."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"not within {seconds} s: {what}{tail(log)}"
        await asyncio.sleep(0.05)


async def within_async(seconds: float, condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """`within`, for what another process writes to the database (it sends no notification of it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():
        assert loop.time() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.1)


async def transcode_jobs(runtime: Runtime) -> list[tuple[str, int]]:
    """(status, attempts) of the realm's transcode jobs, oldest first."""
    query = text(
        "SELECT status::text, attempts FROM procrastinate_jobs"
        " WHERE task_name = 'transcode_video' ORDER BY id"
    )
    async with runtime.databases.read(US) as session:
        return [(status, attempts) for status, attempts in (await session.execute(query)).all()]


async def stored(runtime: Runtime, video_id: str) -> list[str]:
    return await runtime.storage.realm(US).keys(f"videos/{video_id}")


async def start_transcoding(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> tuple[str, dict[str, str], subprocess.Popen[bytes], psutil.Process]:
    """An upload and a worker encoding it, in one ffmpeg run that goes on for many more seconds."""
    alice = await make_account(client, "alice")
    video_id = await upload(client, alice, clips.make_slow_to_transcode(tmp_path))
    log = tmp_path / "worker.log"
    worker = live.start_worker(runtime, US, log)
    await within(STARTED_WITHIN_S, lambda: encoders(worker), "the worker encodes the upload", log)
    (encoder,) = encoders(worker)
    return video_id, alice.auth, worker, encoder


async def test_deleting_a_video_mid_transcode_stops_its_ffmpeg_and_ends_its_job(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    video_id, auth, worker, encoder = await start_transcoding(client, runtime, tmp_path)
    try:
        assert (await client.delete(f"/api/v1/videos/{video_id}", headers=auth)).status_code == 204
        await within(STOPPED_WITHIN_S, lambda: gone(encoder), "ffmpeg stops once the video is deleted")
        assert encoders(worker) == []

        async def job_over() -> bool:
            return await transcode_jobs(runtime) == [("succeeded", 1)]  # ended without error, not retried

        await within_async(STOPPED_WITHIN_S, job_over, "the job ends")
        assert await stored(runtime, video_id) == []  # nothing it stored meanwhile is left behind
        assert worker.poll() is None  # the worker goes on with other work
    finally:
        live.stop(worker)


async def test_switching_uploads_off_mid_transcode_stops_it_and_the_video_waits(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    video_id, auth, worker, encoder = await start_transcoding(client, runtime, tmp_path)
    try:
        await set_switch(runtime, None, US, "upload", 0)
        await within(STOPPED_WITHIN_S, lambda: gone(encoder), "ffmpeg stops once uploads are off")

        async def paused() -> bool:
            return await transcode_jobs(runtime) == [("succeeded", 1), ("todo", 0)]  # to look again later

        await within_async(STOPPED_WITHIN_S, paused, "the job hands over to a later one")
        video = (await client.get(f"/api/v1/videos/{video_id}", headers=auth)).json()
        assert (video["status"], video["status_detail"]) == ("processing", PAUSED_DETAIL)
        assert f"videos/{video_id}/original" in await stored(runtime, video_id)  # nothing is lost
    finally:
        live.stop(worker)


async def test_a_worker_asked_to_stop_kills_its_ffmpeg_and_requeues_the_job(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    video_id, auth, worker, encoder = await start_transcoding(client, runtime, tmp_path)
    try:
        worker.send_signal(signal.SIGTERM)
        # Within the grace period (jobs.STOP_GRACE_S) and the time to cancel, not after the transcode ends.
        await within(STOPPED_WITHIN_S, lambda: gone(encoder), "ffmpeg stops with its worker")
        await within(STOPPED_WITHIN_S, lambda: worker.poll() is not None, "the worker exits")
    finally:
        live.stop(worker)
    assert worker.returncode == 0
    # Back in the queue for another worker or a restart (an attempt spent, no failure recorded).
    assert await transcode_jobs(runtime) == [("todo", 1)]
    video = (await client.get(f"/api/v1/videos/{video_id}", headers=auth)).json()
    assert video["status"] == "processing"


async def test_a_worker_killed_with_sigkill_leaves_no_ffmpeg(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    _, _, worker, encoder = await start_transcoding(client, runtime, tmp_path)
    try:
        worker.send_signal(signal.SIGKILL)  # no chance to clean up: the kernel ends its children
        worker.wait()
        await within(STOPPED_WITHIN_S, lambda: gone(encoder), "ffmpeg dies with its worker")
    finally:
        live.stop(worker)
    # The job is left `doing`, for stalled-job recovery to requeue (tests/videos/test_crashes.py).
    assert await transcode_jobs(runtime) == [("doing", 0)]


async def test_uploaders_take_turns_in_the_queue(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice, bob = await make_account(client, "alice"), await make_account(client, "bob")
    clip = make_tiny_clip(tmp_path)
    # Alice's batch is queued first; Bob's two uploads come after all of it.
    uploads = [("alice", await upload(client, alice, clip)) for _ in range(3)]
    uploads += [("bob", await upload(client, bob, clip)) for _ in range(2)]
    await run_jobs(runtime, US)  # one at a time, as a realm's worker with one slot takes them
    order = """
        SELECT jobs.args->>'video_id' FROM procrastinate_jobs AS jobs
        JOIN procrastinate_events AS started ON started.job_id = jobs.id AND started.type = 'started'
        WHERE jobs.task_name = 'transcode_video'
        ORDER BY started.at, started.id
    """
    async with runtime.databases.read(US) as session:
        started = [str(video_id) for video_id in await session.scalars(text(order))]
    owner = {video_id: who for who, video_id in uploads}
    assert [owner[video_id] for video_id in started] == ["alice", "bob", "alice", "bob", "alice"]
    async with runtime.databases.read(US) as session:
        statuses = set(await session.scalars(select(Video.status)))
    assert statuses == {VideoStatus.READY}


async def test_a_transcode_over_its_cpu_budget_is_stopped_and_the_video_rejected(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    video_id = await upload(client, alice, clips.make_clip(tmp_path, width=360, height=640, duration_s=3.0))
    # A budget this clip cannot meet stands in for a file crafted to cost far more than its length and size.
    stingy = make_settings(
        runtime.settings.data_dir, transcode_cpu_base_s=0.0, transcode_cpu_s_per_megapixel_frame=1e-6
    )
    await run_jobs(dataclasses.replace(runtime, settings=stingy), US)
    video = (await client.get(f"/api/v1/videos/{video_id}", headers=alice.auth)).json()
    assert (video["status"], video["reject_code"]) == ("rejected", "too_costly")
    assert video["reject_reason"].startswith("Processing this video took far more computing time than")
    assert await transcode_jobs(runtime) == [("succeeded", 1)]  # a rejection, not a failure to retry
    assert psutil.Process().children() == []


async def test_metrics_show_how_long_the_oldest_media_job_has_waited(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    settings = make_settings(runtime.settings.data_dir, metrics_token=METRICS_TOKEN)
    app = create_app(dataclasses.replace(runtime, settings=settings))
    alice = await make_account(client, "alice")
    for _ in range(2):
        await upload(client, alice, make_tiny_clip(tmp_path))
    # One upload has waited a minute and a half (as if the worker were busy), the other just arrived.
    backdate = """
        UPDATE procrastinate_events SET at = now() - interval '90 seconds'
        WHERE type = 'deferred' AND job_id = (SELECT min(id) FROM procrastinate_jobs)
    """
    async with runtime.databases.transaction(US) as session:
        await session.execute(text(backdate))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as scraper:
        scraped = await scraper.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    ages = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in scraped.text.splitlines()
        if line.startswith("reelm_media_queue_oldest_waiting_seconds{")
    }
    assert set(ages) == {"us", "eu", "global"}
    assert 90 <= ages["us"] < 3600
    assert ages["eu"] == ages["global"] == 0
