"""Uploads that would hold a realm's worker for hours are refused, and every transcode is bounded by what was
accepted: a file whose frames run far past the duration its headers declare, one with more frames than its
length allows, and one that costs more CPU time than its length and size do."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import av
import httpx
import psutil
import pytest
from sqlalchemy import func, select, text

from reelm import ffmpeg
from reelm.runtime import Runtime
from reelm.videos import media
from reelm.videos.ffmpeg import PLAYLIST
from reelm.videos.models import Video
from tests import clips
from tests.conftest import make_account
from tests.factories import assert_problem
from tests.videos.test_upload_api import upload

T = TypeVar("T")
LIMITS = media.MediaLimits()
# What "quickly" means for refusing the lying file: it is refused by reading its packets, never by decoding
# them; a transcode of it ran for over six minutes of a core before it was bounded.
REFUSED_WITHIN_S = 30.0


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_frames_far_past_the_declared_duration_are_refused(tmp_path: Path) -> None:
    lying = clips.make_lying_duration(tmp_path)  # declares 10 s, last frame at 10 hours
    with pytest.raises(media.MediaRejected) as caught:
        media.probe(lying, LIMITS)
    assert caught.value.code == "duration_mismatch"
    assert caught.value.reason == (
        "The file says the video lasts 10.0 seconds, but its frames run for 36000.0 seconds; it may be "
        "damaged. Please export it again."
    )


def test_frames_a_little_past_the_declared_duration_are_accepted_at_their_length(tmp_path: Path) -> None:
    # Within the slack (rounding, reordering): the frames' span is what every ffmpeg run is capped to.
    last_frame_s = 10.5
    probed = media.probe(clips.make_lying_duration(tmp_path, last_frame_s=last_frame_s), LIMITS)
    assert probed.duration_s == pytest.approx(last_frame_s + 1 / clips.FRAME_RATE, abs=0.01)
    assert probed.frames == 10 * clips.FRAME_RATE


def test_frames_that_stop_before_the_declared_duration_are_accepted_at_it(tmp_path: Path) -> None:
    # As when the sound goes on after the picture stops: nothing more to decode than the frames there are.
    clip = tmp_path / "longer-sound.mp4"
    video, sound = "testsrc2=s=180x320:r=24:d=1.5", "sine=d=3"
    args = ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", sound, "-c:v", "libx264", "-preset", "ultrafast"]
    ffmpeg.run_sync([*args, "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)], timeout_s=120).raise_if_failed()
    probed = media.probe(clip, LIMITS)
    assert probed.duration_s == pytest.approx(3.0, abs=0.05)
    assert probed.frames == 36


def test_a_lying_file_longer_than_the_limit_is_refused_as_too_long(tmp_path: Path) -> None:
    lying = clips.make_lying_duration(tmp_path, last_frame_s=599.0)
    with pytest.raises(media.MediaRejected) as caught:
        media.probe(lying, dataclasses.replace(LIMITS, max_duration_s=60.0))
    assert caught.value.code in {"duration_mismatch", "too_long"}


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        # 36 frames in 1.5 s is 24 a second.
        (
            media.MediaLimits(max_frame_rate=10),
            "The video has 36 frames in 1.5 seconds; at most 10 frames per second are supported.",
        ),
        # The scan itself stops after max_frames packets (2 s at 10 frames/s).
        (
            media.MediaLimits(max_duration_s=2.0, max_frame_rate=10),
            "The video has more than 20 frames, more than a 2-second video can have.",
        ),
    ],
)
def test_more_frames_than_the_length_allows_are_refused(
    tmp_path: Path, limits: media.MediaLimits, reason: str
) -> None:
    with pytest.raises(media.MediaRejected) as caught:
        media.probe(clips.make_clip(tmp_path), limits)
    assert (caught.value.code, caught.value.reason) == ("too_many_frames", reason)


async def test_the_lying_upload_is_refused_at_once_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    lying = clips.make_lying_duration(tmp_path)
    async with asyncio.timeout(REFUSED_WITHIN_S):
        refused = await upload(client, alice, lying)
    body = assert_problem(refused, 422, "media-rejected")
    assert body["code"] == "duration_mismatch"
    assert "frames run for 36000.0 seconds" in body["detail"]
    async with runtime.databases.read("us") as session:
        assert await session.scalar(select(func.count()).select_from(Video)) == 0
        assert await session.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 0


def _duration_s(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.duration is not None
        return float(container.duration / av.time_base)


def _playlist_s(playlist: Path) -> float:
    lines = playlist.read_text().splitlines()
    return sum(
        float(line.removeprefix("#EXTINF:").split(",")[0]) for line in lines if line.startswith("#EXTINF:")
    )


def test_every_ffmpeg_run_is_capped_to_the_accepted_duration(tmp_path: Path) -> None:
    source = clips.make_clip(tmp_path, duration_s=3.0)
    # As if the probe had accepted 1 s: the file's other two seconds are neither encoded nor remuxed.
    accepted = dataclasses.replace(media.probe(source, LIMITS), duration_s=1.0)
    (output,) = run(
        media.transcode_rungs(
            source, accepted, media.plan_ladder(accepted), tmp_path / "out", poster_path=tmp_path / "p.jpg"
        )
    )
    assert _duration_s(output.mp4_path) == pytest.approx(1.0, abs=0.1)
    assert _playlist_s(output.hls_dir / PLAYLIST) == pytest.approx(1.0, abs=0.1)


def test_a_transcode_over_its_cpu_budget_is_killed_and_rejected(tmp_path: Path) -> None:
    source = clips.make_clip(tmp_path, width=360, height=640, duration_s=3.0)
    probed = media.probe(source, LIMITS)
    # A budget far below what this clip takes, as one crafted to be costly would exceed the real one.
    stingy = media.MediaLimits(cpu_base_s=0.0, cpu_s_per_megapixel_frame=1e-6)
    assert media.cpu_budget_s(probed, media.plan_ladder(probed), stingy) < 0.001
    with pytest.raises(media.MediaRejected) as caught:
        run(media.transcode_rungs(source, probed, media.plan_ladder(probed), tmp_path / "out", limits=stingy))
    assert caught.value.code == "too_costly"
    assert caught.value.reason.startswith("Processing this video took far more computing time than")
    assert psutil.Process().children() == []


def test_the_cpu_budget_grows_with_duration_and_size() -> None:
    short = media.ProbeResult(360, 640, 10.0, "h264", 30.0, has_audio=True, frames=300)
    longer = dataclasses.replace(short, duration_s=20.0, frames=600)
    bigger = media.ProbeResult(1080, 1920, 10.0, "h264", 30.0, has_audio=True, frames=300)
    budget = media.cpu_budget_s
    assert LIMITS.cpu_base_s < budget(short, media.plan_ladder(short), LIMITS)
    assert budget(short, media.plan_ladder(short), LIMITS) < budget(longer, media.plan_ladder(longer), LIMITS)
    assert budget(short, media.plan_ladder(short), LIMITS) < budget(bigger, media.plan_ladder(bigger), LIMITS)
