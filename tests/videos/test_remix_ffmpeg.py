"""reelm.videos.remix against the real ffmpeg: duets, stitches and watermarked downloads, on tiny clips of
flat colours, so a pixel tells which input a part of the picture came from."""

from __future__ import annotations

import asyncio
import math
import shutil
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from reelm.videos import media, remix
from reelm.videos.remix import Canvas, Clip, DuetParams, RemixRejected, StitchParams, WatermarkParams
from tests import clips
from tests.clips import BLACK, BLUE, GREEN, RED, YELLOW, looks_like

T = TypeVar("T")
# The smallest 9:16 canvas the checks allow (144 pixels a side at least): each duet half is 90x160.
CANVAS = Canvas(180, 320)


def run(coro: Coroutine[Any, Any, T]) -> T:
    # A private event loop per call keeps these tests independent of pytest-asyncio's loop configuration.
    return asyncio.run(coro)


def clip(path: Path) -> Clip:
    return Clip(path, media.probe(path, media.MediaLimits()))


def described(path: Path) -> media.ProbeResult:
    return media.probe(path, media.MediaLimits())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("remix")


@pytest.fixture(scope="module")
def red_portrait(folder: Path) -> Clip:
    """The remixer's clip: 1.5 s, a 440 Hz tone."""
    return clip(clips.make_solid_clip(folder, colour="red", name="red.mp4"))


@pytest.fixture(scope="module")
def green_original(folder: Path) -> Clip:
    """An original shorter than the remixer's clip (1 s) and without audio."""
    return clip(clips.make_solid_clip(folder, colour="green", duration_s=1.0, audio=None, name="green.mp4"))


# --- duet -----------------------------------------------------------------------------------------


def test_duet_puts_portrait_clips_side_by_side_with_the_original_on_the_right(
    tmp_path: Path, red_portrait: Clip, green_original: Clip
) -> None:
    out = tmp_path / "duet.mp4"
    result = run(remix.duet(red_portrait, green_original, out, DuetParams(canvas=CANVAS)))
    assert (result.width, result.height, result.duration_s) == (180, 320, 1.5)
    made = described(out)
    assert (made.width, made.height) == (180, 320)
    assert made.duration_s == pytest.approx(1.5, abs=0.1)  # the remixer's clip sets the length
    assert made.has_audio
    early = clips.frame_at(out, 0.5)
    assert looks_like(early[160, 45], RED)
    assert looks_like(early[160, 135], GREEN)
    # Two 9:16 halves side by side fill 180x160: black above and below.
    assert looks_like(early[20, 90], BLACK)
    assert looks_like(early[300, 90], BLACK)
    # The original (1 s) stands still on its last frame to the end.
    late = clips.frame_at(out, 1.3)
    assert looks_like(late[160, 45], RED)
    assert looks_like(late[160, 135], GREEN)


def test_duet_stacks_landscape_clips_with_the_original_below(tmp_path: Path) -> None:
    own = clip(clips.make_solid_clip(tmp_path, colour="red", width=320, height=180, audio=None))
    # Longer than the remixer's clip: it is cut.
    original = clip(clips.make_solid_clip(tmp_path, colour="blue", width=320, height=180, duration_s=2.5))
    out = tmp_path / "duet.mp4"
    run(remix.duet(own, original, out, DuetParams(canvas=CANVAS)))
    made = described(out)
    assert made.duration_s == pytest.approx(1.5, abs=0.1)
    assert made.has_audio  # the original's
    frame = clips.frame_at(out, 0.5)
    assert looks_like(frame[80, 90], RED)
    assert looks_like(frame[240, 90], BLUE)
    assert looks_like(frame[160, 90], BLACK)  # letterboxed: 16:9 in a 180x160 cell leaves bands


@pytest.mark.parametrize(("own_level", "heard_hz"), [(0.0, 1000), (1.0, 440)])
def test_duet_mixes_both_sounds_at_their_levels(
    tmp_path: Path, red_portrait: Clip, own_level: float, heard_hz: int
) -> None:
    original = clip(clips.make_solid_clip(tmp_path, colour="green", tone_hz=1000))
    out = tmp_path / "duet.mp4"
    # The original at a quarter: heard alone when the remixer's sound is muted, under it otherwise.
    run(remix.duet(red_portrait, original, out, DuetParams(own_level, 0.25, CANVAS)))
    assert clips.dominant_hz(out) == pytest.approx(heard_hz, abs=10)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (DuetParams(own_level=-0.5, canvas=CANVAS), "bad_level"),
        (DuetParams(original_level=2.0, canvas=CANVAS), "bad_level"),
        (DuetParams(own_level=math.nan, canvas=CANVAS), "bad_level"),
        (DuetParams(canvas=Canvas(182, 320)), "bad_canvas"),  # not 9:16
        (DuetParams(canvas=Canvas(320, 320)), "bad_canvas"),
        (DuetParams(canvas=Canvas(90, 160)), "bad_canvas"),  # below the smallest side
    ],
)
def test_duet_refuses_bad_parameters_and_writes_nothing(
    tmp_path: Path, red_portrait: Clip, green_original: Clip, params: DuetParams, code: str
) -> None:
    out = tmp_path / "duet.mp4"
    with pytest.raises(RemixRejected) as caught:
        run(remix.duet(red_portrait, green_original, out, params))
    assert caught.value.code == code
    assert not out.exists()


def test_a_duet_over_its_cpu_budget_is_refused_and_leaves_no_file(
    tmp_path: Path, red_portrait: Clip, green_original: Clip
) -> None:
    # A budget already spent when ffmpeg starts: the guard's first reading stops it.
    spent = media.MediaLimits(cpu_base_s=-1000.0)
    out = tmp_path / "duet.mp4"
    with pytest.raises(RemixRejected) as caught:
        run(remix.duet(red_portrait, green_original, out, DuetParams(canvas=CANVAS), limits=spent))
    assert caught.value.code == "too_costly"
    assert not out.exists()


def test_budgets_grow_with_the_pictures_and_sound_handled() -> None:
    portrait = media.ProbeResult(1080, 1920, 30.0, "h264", 30.0, True)
    limits = media.MediaLimits()
    audio_only = remix.bounds_for(output_s=30.0, audio_s=30.0)
    duet = remix.bounds_for(
        output_s=30.0, decoded=[(portrait, 30.0)] * 2, encoded=(Canvas(), 30.0), audio_s=60.0
    )
    megapixel_frames = 3 * 30 * 30 * 1080 * 1920 / 1e6  # two decoded, one encoded
    assert duet.cpu_budget_s > limits.cpu_base_s + limits.cpu_s_per_megapixel_frame * megapixel_frames
    assert limits.cpu_base_s < audio_only.cpu_budget_s < duet.cpu_budget_s
    assert duet.timeout_s == audio_only.timeout_s > 30.0  # wall time follows the output's length


def test_duet_layout_by_orientation() -> None:
    def probed(width: int, height: int) -> media.ProbeResult:
        return media.ProbeResult(width, height, 2.0, "h264", 30.0, True)

    assert remix.duet_side_by_side(probed(1080, 1920), probed(720, 1280))
    assert remix.duet_side_by_side(probed(1080, 1080), probed(720, 1280))  # square counts as portrait
    assert not remix.duet_side_by_side(probed(1920, 1080), probed(720, 1280))
    assert not remix.duet_side_by_side(probed(1080, 1920), probed(1280, 720))


# --- stitch ---------------------------------------------------------------------------------------


def test_stitch_opens_with_the_chosen_part_of_the_original(tmp_path: Path) -> None:
    # Red, yellow, purple for a second each: the stitch takes 1.0-2.0 s, the yellow second.
    original = clip(clips.make_colour_steps(tmp_path))
    # Landscape and silent: letterboxed, and silence where it has no sound.
    own = clip(clips.make_solid_clip(tmp_path, colour="blue", width=320, height=180, audio=None))
    out = tmp_path / "stitch.mp4"
    result = run(remix.stitch(original, own, out, StitchParams(1.0, 2.0, CANVAS)))
    assert result.duration_s == pytest.approx(2.5)
    made = described(out)
    assert (made.width, made.height) == (180, 320)
    assert made.duration_s == pytest.approx(2.5, abs=0.1)
    assert made.frame_rate == pytest.approx(clips.FRAME_RATE)
    assert made.has_audio
    for at_s in (0.05, 0.5, 0.9):
        assert looks_like(clips.frame_at(out, at_s)[160, 90], YELLOW), at_s
    for at_s in (1.1, 2.0, 2.4):
        frame = clips.frame_at(out, at_s)
        assert looks_like(frame[160, 90], BLUE), at_s
        assert looks_like(frame[10, 90], BLACK), at_s
    # The original's tone for its second, then the remixer's silence.
    samples, rate = clips.audio_samples(out)
    assert np.abs(samples[int(0.2 * rate) : int(0.8 * rate)]).max() > 0.05
    assert np.abs(samples[int(1.2 * rate) :]).max() < 0.01


@pytest.mark.parametrize(
    ("start_s", "end_s", "code"),
    [
        (1.0, 1.0, "bad_range"),  # zero length
        (2.0, 1.0, "bad_range"),  # start after end
        (-1.0, 1.0, "bad_range"),
        (math.nan, 1.0, "bad_range"),
        (0.0, math.inf, "bad_range"),
        (1.0, 1.2, "range_too_short"),
        (0.0, 5.5, "range_too_long"),
        (8.0, 10.5, "range_past_end"),  # the original lasts 10 s
    ],
)
def test_stitch_range_is_checked(start_s: float, end_s: float, code: str) -> None:
    with pytest.raises(RemixRejected) as caught:
        remix.check_stitch_range(start_s, end_s, 10.0)
    assert caught.value.code == code
    assert caught.value.reason


def test_stitch_range_may_take_five_seconds_up_to_the_end() -> None:
    remix.check_stitch_range(5.0, 10.0, 10.0)
    remix.check_stitch_range(0.0, 0.5, 10.0)


def test_stitch_refuses_a_bad_range_and_writes_nothing(
    tmp_path: Path, red_portrait: Clip, green_original: Clip
) -> None:
    out = tmp_path / "stitch.mp4"
    with pytest.raises(RemixRejected) as caught:
        run(remix.stitch(green_original, red_portrait, out, StitchParams(0.5, 1.5, CANVAS)))
    assert caught.value.code == "range_past_end"  # the original lasts 1 s
    assert not out.exists()


# --- watermark ------------------------------------------------------------------------------------


def test_watermark_marks_the_lower_left_corner(tmp_path: Path, red_portrait: Clip) -> None:
    # A font path and a platform name full of what filtergraphs treat specially: both must arrive intact.
    font = tmp_path / "it's: [a font], one;two=3.ttf"
    shutil.copyfile(remix.find_font(), font)
    params = WatermarkParams("some_one.x", platform="Re'elm: 100% [a],b;c\\d", font_file=font)
    out = tmp_path / "download.mp4"
    result = run(remix.watermark(red_portrait, out, params))
    assert (result.width, result.height) == (180, 320)
    made = described(out)
    assert (made.width, made.height) == (180, 320)
    assert made.duration_s == pytest.approx(red_portrait.info.duration_s, abs=0.1)
    assert made.has_audio
    before = clips.frame_at(red_portrait.path, 0.5).astype(int)
    after = clips.frame_at(out, 0.5).astype(int)
    change = np.abs(after - before).max(axis=2)
    lower_left, upper_right = change[240:, :90], change[:160, 90:]
    assert (lower_left > 100).sum() > 100  # white text with a dark edge on red
    assert upper_right.max() < 30  # the rest as it was, give or take encoding


@pytest.mark.parametrize("handle", ["", "Some_One", "@some_one", "some one", "a:b", "x\n", "x" * 40])
def test_watermark_refuses_what_is_not_a_handle(tmp_path: Path, red_portrait: Clip, handle: str) -> None:
    out = tmp_path / "download.mp4"
    with pytest.raises(RemixRejected) as caught:
        run(remix.watermark(red_portrait, out, WatermarkParams(handle)))
    assert caught.value.code == "bad_handle"
    assert not out.exists()


def test_watermark_without_a_font_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(remix.FontMissing, match="fonts-dejavu-core"):
        remix.find_font([tmp_path / "none.ttf"])


def test_filter_values_are_escaped_for_both_parses() -> None:
    # Option level first (\ ' : and spaces), then graph level ([ ] , ; and the backslashes just added).
    assert remix.filter_value("a:b") == r"a\\\:b"
    assert remix.filter_value("x[y],z;") == r"x\[y\]\,z\;"
    assert remix.filter_value("plain_name-1.ttf") == "plain_name-1.ttf"
