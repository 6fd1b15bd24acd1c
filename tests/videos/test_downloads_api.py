"""Watermarked downloads: made once by the realm's worker from the best rendition (never the original upload),
served from the realm's bucket afterwards, refused where the creator did not allow them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select, text, update

from reelm.runtime import Runtime
from reelm.videos import downloads, remix
from reelm.videos.downloads import DOWNLOAD_TASK, download_key
from reelm.videos.models import DownloadState, Rendition, Video, VideoDownload
from reelm.videos.service import original_key
from tests import clips
from tests.conftest import Account, make_account, run_jobs
from tests.factories import assert_problem, eventually, publish

Watermark = Callable[..., Awaitable[remix.RemixOutput]]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A flat blue picture: the watermark's pixels stand out wherever they are drawn."""
    return clips.make_solid_clip(tmp_path_factory.mktemp("downloads"), colour="blue", audio=None)


@pytest.fixture
def watermarks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The sources of every watermark run (ffmpeg), as the worker makes them in this process."""
    made: list[Path] = []
    real: Watermark = remix.watermark

    async def counting(source: remix.Clip, output: Path, params: remix.WatermarkParams, **kw: Any) -> Any:
        made.append(source.path)
        return await real(source, output, params, **kw)

    monkeypatch.setattr(remix, "watermark", counting)  # downloads calls it through the module
    return made


def url(video_id: str) -> str:
    return f"/api/v1/videos/{video_id}/download"


async def allow_downloads(
    client: httpx.AsyncClient, creator: Account, video_id: str, allow: bool = True
) -> None:
    edited = await client.patch(
        f"/api/v1/videos/{video_id}", headers=creator.auth, json={"allow_download": allow}
    )
    assert edited.status_code == 200, edited.text


async def download_jobs(runtime: Runtime, realm: str) -> int:
    async with runtime.databases.sessionmaker(realm)() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task"), {"task": DOWNLOAD_TASK}
        )
    return int(count or 0)


async def best_rendition(runtime: Runtime, realm: str, video_id: str) -> Rendition:
    async with runtime.databases.sessionmaker(realm)() as session:
        rows = (await session.scalars(select(Rendition).where(Rendition.video_id == int(video_id)))).all()
    return max(rows, key=lambda r: r.width * r.height)


async def test_a_download_is_watermarked_made_once_and_served_from_the_bucket(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, tmp_path: Path, watermarks: list[Path]
) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    video_id = await publish(client, runtime, creator, clip)
    await allow_downloads(client, creator, video_id)
    assert (await client.get(f"/api/v1/videos/{video_id}", headers=fan.auth)).json()["can_download"] is True
    store = runtime.storage.realm("us")

    first = await client.get(url(video_id), headers=fan.auth)
    assert first.status_code == 202, first.text
    assert first.json() == {"status": "preparing", "url": url(video_id), "retry_after_s": 2}
    assert first.headers["retry-after"] == "2"
    again = await client.post(url(video_id), headers=fan.auth)  # a poll: no second job
    assert (again.status_code, again.json()["status"]) == (202, "preparing")
    assert await download_jobs(runtime, "us") == 1

    await run_jobs(runtime, "us")
    ready = await client.post(url(video_id), headers=fan.auth)
    assert ready.json() == {"status": "ready", "url": url(video_id), "retry_after_s": None}
    got = await client.get(url(video_id), headers=fan.auth)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "video/mp4"
    assert got.headers["content-disposition"] == f'attachment; filename="reelm-creator-{video_id}.mp4"'
    assert got.headers["cache-control"] == "private, no-store"
    stored = await store.head(download_key(int(video_id)))
    assert got.content == await store.read(download_key(int(video_id)))

    # Made from the best rendition, never the original upload.
    rendition = await best_rendition(runtime, "us", video_id)
    assert len(watermarks) == 1
    assert got.content != await store.read(original_key(int(video_id)))
    source = tmp_path / "rendition.mp4"
    source.write_bytes(await store.read(rendition.mp4_key))
    downloaded = tmp_path / "download.mp4"
    downloaded.write_bytes(got.content)
    before = clips.frame_at(source, 0.5).astype(int)
    after = clips.frame_at(downloaded, 0.5).astype(int)
    assert after.shape == before.shape == (rendition.height, rendition.width, 3)
    change = np.abs(after - before).max(axis=2)
    height = after.shape[0]
    assert (change[height * 3 // 4 :] > 100).sum() > 50  # "Reelm" and "@creator" in the bottom band
    assert change[: height // 2].max() < 30  # the rest as it was, give or take encoding

    # Served again from the bucket: no new job, no new ffmpeg run, the same stored object.
    for _ in range(2):
        assert (await client.get(url(video_id), headers=creator.auth)).content == got.content
    await run_jobs(runtime, "us")
    assert await download_jobs(runtime, "us") == 1
    assert len(watermarks) == 1
    assert await store.head(download_key(int(video_id))) == stored

    # The file is not public media: only this route, which checks the permission, serves it.
    media = await client.get(f"/media/us/{download_key(int(video_id))}", headers=fan.auth)
    assert media.status_code == 404


async def test_downloads_are_refused_where_not_allowed_and_hidden_where_not_visible(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, watermarks: list[Path]
) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    video_id = await publish(client, runtime, creator, clip)

    # Off by default: a clear 403 for others, while the creator may keep a copy of their own.
    assert (await client.get(f"/api/v1/videos/{video_id}", headers=fan.auth)).json()["can_download"] is False
    for method in ("GET", "POST"):
        refused = await client.request(method, url(video_id), headers=fan.auth)
        body = assert_problem(refused, 403, "download-not-allowed")
        assert body["detail"] == "The creator doesn't allow downloads of this video."
    assert (await client.post(url(video_id), headers=creator.auth)).status_code == 202
    assert_problem(await client.get(url(video_id)), 401, "login-required")

    # Made, then turned off: the stored file is not served any more.
    await allow_downloads(client, creator, video_id)
    await run_jobs(runtime, "us")
    assert (await client.get(url(video_id), headers=fan.auth)).status_code == 200
    await allow_downloads(client, creator, video_id, allow=False)
    assert_problem(await client.get(url(video_id), headers=fan.auth), 403, "download-not-allowed")

    # A private video does not exist for others; nor does an id nobody minted.
    await client.patch(
        f"/api/v1/videos/{video_id}",
        headers=creator.auth,
        json={"visibility": "private", "allow_download": True},
    )
    assert_problem(await client.get(url(video_id), headers=fan.auth), 404, "not-found")
    assert (await client.get(url(video_id), headers=creator.auth)).status_code == 200
    assert_problem(await client.get(url("123"), headers=fan.auth), 404, "not-found")
    assert len(watermarks) == 1


async def test_downloads_are_limited_per_viewer_and_a_failure_says_so(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    video_id = await publish(client, runtime, creator, clip)
    await allow_downloads(client, creator, video_id)

    async def no_font(*args: Any, **kwargs: Any) -> Any:
        raise remix.FontMissing("no font here")

    monkeypatch.setattr(remix, "watermark", no_font)
    assert (await client.get(url(video_id), headers=fan.auth)).status_code == 202
    await run_jobs(runtime, "us")
    failed = assert_problem(await client.get(url(video_id), headers=fan.auth), 503, "download-unavailable")
    assert 0 < failed["retry_after"] <= downloads.RETRY_FAILED_AFTER.total_seconds()
    async with runtime.databases.sessionmaker("us")() as session:
        row = await session.get(VideoDownload, int(video_id))
        assert row is not None
        assert row.state == DownloadState.FAILED

    # Once the wait is over, the next request tries again (here: a font again, so it works).
    monkeypatch.undo()
    async with runtime.databases.transaction("us") as session:
        await session.execute(
            update(VideoDownload).values(finished_at=func.now() - downloads.RETRY_FAILED_AFTER)
        )
    assert (await client.get(url(video_id), headers=fan.auth)).status_code == 202
    await run_jobs(runtime, "us")

    # Counted so far: the first start and the retry (a refusal for a recent failure is not).
    runtime.settings.downloads_per_hour = 3
    assert (await client.get(url(video_id), headers=fan.auth)).status_code == 200
    limited = assert_problem(await client.get(url(video_id), headers=fan.auth), 429, "rate-limited")
    assert "download" in limited["detail"]
    assert (
        await client.post(url(video_id), headers=fan.auth)
    ).status_code == 200  # asking is not downloading
    assert (await client.get(url(video_id), headers=creator.auth)).status_code == 200  # per viewer


async def test_another_realms_video_is_downloaded_from_its_own_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, watermarks: list[Path]
) -> None:
    creator = await make_account(client, "creator", country="US")
    visitor = await make_account(client, "visitor", country="DE")
    video_id = await publish(client, runtime, creator, clip)
    await allow_downloads(client, creator, video_id)

    async def allowed_in_eu() -> bool:
        seen = await client.get(f"/api/v1/videos/{video_id}", headers=visitor.auth)
        return seen.status_code == 200 and seen.json()["can_download"] is True

    await eventually(allowed_in_eu)
    assert (await client.get(url(video_id), headers=visitor.auth)).status_code == 202
    assert await download_jobs(runtime, "eu") == 0  # the video's realm makes it, and keeps it
    await run_jobs(runtime, "us")
    got = await client.get(url(video_id), headers=visitor.auth)
    assert got.status_code == 200, got.text
    assert got.content == await runtime.storage.realm("us").read(download_key(int(video_id)))
    assert len(watermarks) == 1


async def test_deleting_the_video_removes_its_download(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    await client.post(url(video_id), headers=creator.auth)
    await run_jobs(runtime, "us")
    store = runtime.storage.realm("us")
    assert download_key(int(video_id)) in await store.keys(f"videos/{video_id}")
    assert (await client.delete(f"/api/v1/videos/{video_id}", headers=creator.auth)).status_code == 204
    assert await store.keys(f"videos/{video_id}") == []
    async with runtime.databases.sessionmaker("us")() as session:
        assert await session.get(Video, int(video_id)) is None
        assert await session.get(VideoDownload, int(video_id)) is None
