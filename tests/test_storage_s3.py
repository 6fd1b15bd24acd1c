"""The S3 path of storage, against a real S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from reelm.storage import ObjectMissingError, ObstoreRealmStore, Storage, open_store
from tests import clips, live
from tests.conftest import make_account, run_jobs
from tests.videos.test_upload_api import upload

BUCKET = "reelm-us"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = live.free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    # Bucket creation is an operator's job, not the app's; moto accepts an unsigned path-style PUT.
    assert httpx.put(f"{endpoint}/{BUCKET}").status_code == 200
    yield endpoint
    live.stop(server)


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def s3_url(endpoint: str, prefix: str) -> str:
    return f"s3://{BUCKET}/{prefix}?endpoint={endpoint}&region=us-east-1&allow_http=true"


@pytest.mark.usefixtures("s3_env")
async def test_store_operations(s3_endpoint: str, tmp_path: Path) -> None:
    store = ObstoreRealmStore(open_store(s3_url(s3_endpoint, "ops")))
    source = tmp_path / "blob"
    source.write_bytes(bytes(range(256)) * 4096)
    await store.put_file("videos/1/a.mp4", source)
    await store.put_bytes("videos/1/b.m3u8", b"#EXTM3U\n")

    info = await store.head("videos/1/a.mp4")
    assert info.size == 256 * 4096
    assert info.etag
    assert info.content_type == "video/mp4"
    assert (await store.head("videos/1/b.m3u8")).content_type == "application/vnd.apple.mpegurl"
    assert await store.read("videos/1/b.m3u8") == b"#EXTM3U\n"
    chunks = [c async for c in store.stream("videos/1/a.mp4", 1000, 3000)]
    assert b"".join(chunks) == source.read_bytes()[1000:3000]
    target = tmp_path / "copy"
    await store.download("videos/1/a.mp4", target)
    assert target.read_bytes() == source.read_bytes()

    assert await store.delete_prefix("videos/1") == 2
    with pytest.raises(ObjectMissingError):
        await store.head("videos/1/a.mp4")


@pytest.mark.usefixtures("s3_env")
async def test_upload_pipeline_on_s3(
    client: httpx.AsyncClient, runtime: Runtime, s3_endpoint: str, tmp_path: Path
) -> None:
    realms = [
        r.model_copy(update={"storage_url": s3_url(s3_endpoint, "pipeline")} if r.name == "us" else {})
        for r in runtime.settings.realms
    ]
    runtime.settings.realms = realms
    runtime.storage = Storage(runtime.settings)
    alice = await make_account(client, "alice")
    video_id = (await upload(client, alice, clips.make_clip(tmp_path))).json()["id"]
    await run_jobs(runtime, "us")
    video = (await client.get(f"/api/v1/videos/{video_id}")).json()
    assert video["status"] == "ready"
    served = await client.get(video["mp4_url"], headers={"Range": "bytes=0-7"})
    assert served.status_code == 206
    assert served.content[4:8] == b"ftyp"
    # Nothing of it went to the local folder: the realm's objects are all in the bucket.
    assert [p for p in (runtime.settings.data_dir / "objects" / "us").rglob("*") if p.is_file()] == []
