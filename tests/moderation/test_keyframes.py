"""Keyframes from real (tiny) clips made with ffmpeg, hashed with PDQ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from reelm import ffmpeg
from reelm.moderation.keyframes import KeyframeError, extract_keyframes
from reelm.moderation.pdq import MIN_QUALITY, pdq_hash
from tests import clips
from tests.factories import make_tiny_clip
from tests.moderation.frames import FrameSpec, make_frame

WIDTH, HEIGHT = 360, 640
FPS = 5
# An H.264 round trip (4:2:0 colour, lossy) moves a still's hash by a few bits (0-4 measured).
ENCODED_TOLERANCE = 8

Frame = npt.NDArray[np.uint8]


def still(seed: int) -> Frame:
    return make_frame(FrameSpec("photo", seed, WIDTH, HEIGHT))


def clip_of(directory: Path, shots: list[tuple[Frame, int]]) -> Path:
    """An H.264 MP4 of still shots, each (frame, number of frames) at FPS frames a second."""
    out, raw = directory / "shots.mp4", directory / "shots.rgb"
    raw.write_bytes(b"".join(frame.tobytes() * count for frame, count in shots))
    source = [
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{WIDTH}x{HEIGHT}",
        "-r",
        str(FPS),
        "-i",
        str(raw),
    ]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "mp4", str(out)]
    ffmpeg.run_sync([*source, *encode], timeout_s=120).raise_if_failed()
    return out


async def test_tiny_clip_yields_a_usable_keyframe(tmp_path: Path) -> None:
    keyframes = await extract_keyframes(make_tiny_clip(tmp_path), width=144, height=256, duration_s=1.0)
    assert len(keyframes) >= 1
    assert keyframes[0].time_s == pytest.approx(0.0)
    assert all(k.hash.quality >= MIN_QUALITY for k in keyframes)


async def test_each_still_shot_gives_one_keyframe_close_to_the_picture(tmp_path: Path) -> None:
    pictures = [still(1), still(2), still(3)]
    clip = clip_of(tmp_path, [(picture, 2 * FPS) for picture in pictures])
    keyframes = await extract_keyframes(clip, width=WIDTH, height=HEIGHT, duration_s=6.0)
    # One per second is picked; the repeats of a still are near-duplicates and dropped.
    assert [k.time_s for k in keyframes] == pytest.approx([0.0, 2.0, 4.0])
    for keyframe, picture in zip(keyframes, pictures, strict=True):
        assert keyframe.hash.distance(pdq_hash(picture)) <= ENCODED_TOLERANCE


async def test_a_short_shot_between_two_samples_is_caught_by_scene_detection(tmp_path: Path) -> None:
    # A for 1.6 s, B for 0.4 s (between the samples at 1 s and 2 s), A again until 4 s.
    a, b = still(1), still(2)
    clip = clip_of(tmp_path, [(a, 8), (b, 2), (a, 10)])
    keyframes = await extract_keyframes(clip, width=WIDTH, height=HEIGHT, duration_s=4.0)
    b_hash = pdq_hash(b)
    caught = [k for k in keyframes if k.hash.distance(b_hash) <= ENCODED_TOLERANCE]
    assert [k.time_s for k in caught] == pytest.approx([1.6])


async def test_flat_video_has_no_usable_keyframes(tmp_path: Path) -> None:
    assert (
        await extract_keyframes(clips.make_long(tmp_path, 3.0), width=144, height=256, duration_s=3.0) == []
    )


async def test_long_video_is_sampled_sparser_within_the_cap(tmp_path: Path) -> None:
    pictures = [still(seed) for seed in range(1, 9)]
    clip = clip_of(tmp_path, [(picture, FPS) for picture in pictures])
    keyframes = await extract_keyframes(clip, width=WIDTH, height=HEIGHT, duration_s=8.0, max_frames=4)
    # Regular picks every 8 s / (4 / 2) = 4 s, scene cuts at most every 2 s: at most 4 frames.
    assert 2 <= len(keyframes) <= 4
    assert [k.time_s for k in keyframes][:2] == pytest.approx([0.0, 2.0])


async def test_frames_above_the_size_cap_arrive_scaled_down(tmp_path: Path) -> None:
    clip = clips.make_clip(tmp_path, width=2160, height=3840, duration_s=0.5, audio=False)
    # Frames are read by their expected byte length (1080x1920 here): any other size would be an error.
    keyframes = await extract_keyframes(clip, width=2160, height=3840, duration_s=0.5)
    assert len(keyframes) == 1


async def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyframeError, match="ffmpeg exited"):
        await extract_keyframes(clips.make_not_a_video(tmp_path), width=144, height=256, duration_s=1.0)
