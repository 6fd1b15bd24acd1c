"""Upload → transcode → ready, through the API and a real worker."""

from __future__ import annotations

from pathlib import Path

import httpx

from reelm.runtime import Runtime
from tests import clips
from tests.conftest import Account, make_account, run_jobs
from tests.factories import eventually


async def upload(
    client: httpx.AsyncClient,
    account: Account,
    path: Path,
    caption: str = "hello #First @nobody",
    **extra: str,
) -> httpx.Response:
    with path.open("rb") as f:
        return await client.post(
            "/api/v1/videos",
            headers=account.auth,
            files={"file": ("whatever.bin", f, "text/plain")},
            data={"caption": caption, **extra},
        )


async def test_upload_transcodes_and_publishes(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    clip = clips.make_clip(tmp_path, width=180, height=320, duration_s=1.5)
    accepted = await upload(client, alice, clip)
    assert accepted.status_code == 202, accepted.text
    video_id = accepted.json()["id"]

    pending = (await client.get(f"/api/v1/videos/{video_id}", headers=alice.auth)).json()
    assert pending["status"] == "processing"
    # Nobody else sees a video before it is published.
    assert (await client.get(f"/api/v1/videos/{video_id}")).status_code == 404

    await run_jobs(runtime, "us")
    video = (await client.get(f"/api/v1/videos/{video_id}")).json()
    assert video["status"] == "ready"
    assert video["hashtags"] == ["first"]
    assert video["mentions"] == ["nobody"]
    # A source below 360p gets one rung at its own size.
    assert [(r["name"], r["width"], r["height"]) for r in video["renditions"]] == [("180p", 180, 320)]
    assert video["poster_url"] == f"/media/us/videos/{video_id}/poster.jpg"
    assert video["hls_url"] == f"/media/us/videos/{video_id}/master.m3u8"
    assert video["mp4_url"] == video["renditions"][0]["mp4_url"]

    master = await client.get(video["hls_url"])
    assert master.status_code == 200
    assert "#EXT-X-STREAM-INF" in master.text
    assert 'RESOLUTION=180x320,CODECS="avc1.' in master.text
    mp4 = await client.get(video["mp4_url"], headers={"Range": "bytes=0-99"})
    assert mp4.status_code == 206
    assert len(mp4.content) == 100
    assert mp4.headers["content-range"].startswith("bytes 0-99/")
    etag = mp4.headers["etag"]
    again = await client.get(video["mp4_url"], headers={"If-None-Match": etag})
    assert again.status_code == 304

    profile = (await client.get("/api/v1/users/alice")).json()
    assert profile["video_count"] == 1
    feed = (await client.get("/api/v1/feed/for-you", headers=alice.auth)).json()
    assert [i["id"] for i in feed["items"]] == [video_id]


async def test_original_is_never_served(client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path) -> None:
    alice = await make_account(client, "alice")
    accepted = await upload(client, alice, clips.make_clip(tmp_path))
    video_id = accepted.json()["id"]
    r = await client.get(f"/media/us/videos/{video_id}/original")
    assert r.status_code == 404


async def test_hashtag_page_and_api(client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path) -> None:
    alice = await make_account(client, "alice")
    tagged = (await upload(client, alice, clips.make_clip(tmp_path), caption="sunset #Beach")).json()["id"]
    other = clips.make_clip(tmp_path, name="b.mp4")
    untagged = (await upload(client, alice, other, caption="no tags")).json()["id"]
    await run_jobs(runtime, "us")
    page = (await client.get("/api/v1/hashtags/beach/videos", headers=alice.auth)).json()
    assert [v["id"] for v in page["items"]] == [tagged]
    html = await client.get("/tag/beach", headers=alice.auth)
    assert html.status_code == 200
    assert f'data-video-id="{tagged}"' in html.text
    assert f'data-video-id="{untagged}"' not in html.text


async def test_views_count_once_per_viewer(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    video_id = (await upload(client, alice, clips.make_clip(tmp_path))).json()["id"]
    await run_jobs(runtime, "us")
    for _ in range(3):
        assert (await client.post(f"/api/v1/videos/{video_id}/view", headers=alice.auth)).status_code == 204
    assert (await client.post(f"/api/v1/videos/{video_id}/view")).status_code == 204

    # The anonymous visitor browses from realm global: their view reaches us as a tally, a moment later.
    async def counted() -> bool:
        counts: dict[str, int] = (await client.get(f"/api/v1/videos/{video_id}")).json()["counts"]
        return counts["views"] == 2  # alice once, the anonymous visitor once

    await eventually(counted)
