"""Every bad upload gets a clear answer and changes nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from reelm.runtime import Runtime
from reelm.videos.models import Video
from reelm.web.app import create_app
from tests import clips
from tests.conftest import make_account, run_jobs
from tests.videos.test_upload_api import upload


async def stored_objects(runtime: Runtime, realm: str) -> list[Path]:
    root = runtime.settings.data_dir / "objects" / realm
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def video_rows(runtime: Runtime, realm: str) -> int:
    async with runtime.databases.sessionmaker(realm)() as session:
        return int(await session.scalar(select(func.count()).select_from(Video)) or 0)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (clips.make_not_a_video, "not_a_video"),
        (clips.make_empty, "empty_file"),
        (clips.make_truncated, "corrupt_stream"),
        (clips.make_image, "not_a_video"),
        (clips.make_audio_only, "not_a_video"),
        (clips.make_unsupported_codec, "unsupported_codec"),
        (clips.make_tiny, "bad_dimensions"),
    ],
)
async def test_rejected_at_upload_with_reason(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path, make: Callable[[Path], Path], code: str
) -> None:
    alice = await make_account(client, "alice")
    response = await upload(client, alice, make(tmp_path))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    assert await video_rows(runtime, "us") == 0
    assert await stored_objects(runtime, "us") == []


async def test_too_long_and_too_big(client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path) -> None:
    alice = await make_account(client, "alice")
    runtime.settings.max_duration_s = 2.0
    long = await upload(client, alice, clips.make_long(tmp_path, 4.0))
    assert long.status_code == 422
    assert long.json()["code"] == "too_long"

    # The body cap is read when the app is built, so a fresh app gets the lowered limit.
    runtime.settings.max_upload_bytes = 50_000
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as small:
        response = await small.post(
            "/api/v1/videos", headers=alice.auth, files={"file": ("x.mp4", b"\0" * 200_000, "video/mp4")}
        )
    assert response.status_code == 413, response.text
    assert response.json()["type"] == "/problems/too-large"
    assert await video_rows(runtime, "us") == 0


async def test_lying_name_and_type_is_judged_by_content(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    clip = clips.make_clip(tmp_path)
    with clip.open("rb") as f:
        response = await client.post(
            "/api/v1/videos", headers=alice.auth, files={"file": ("notes.txt", f, "text/plain")}
        )
    assert response.status_code == 202


async def test_corrupt_stream_is_rejected_by_the_job(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    accepted = await upload(client, alice, clips.make_corrupt(tmp_path))
    assert accepted.status_code == 202, accepted.text
    await run_jobs(runtime, "us")
    video = (await client.get(accepted.json()["status_url"], headers=alice.auth)).json()
    assert video["status"] == "rejected"
    assert video["reject_code"] == "corrupt_stream"
    assert video["reject_reason"]
    assert video["renditions"] == []
    profile = (await client.get("/api/v1/users/alice")).json()
    assert profile["video_count"] == 0


async def test_upload_requires_login_and_a_file(client: httpx.AsyncClient, tmp_path: Path) -> None:
    clip = clips.make_clip(tmp_path)
    with clip.open("rb") as f:
        anonymous = await client.post("/api/v1/videos", files={"file": ("c.mp4", f, "video/mp4")})
    assert anonymous.status_code == 401
    alice = await make_account(client, "alice")
    missing = await client.post("/api/v1/videos", headers=alice.auth, data={"caption": "x"})
    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"


async def test_upload_rate_limit(client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path) -> None:
    alice = await make_account(client, "alice")
    runtime.settings.uploads_per_hour = 1
    clip = clips.make_clip(tmp_path)
    assert (await upload(client, alice, clip)).status_code == 202
    refused = await upload(client, alice, clip)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
