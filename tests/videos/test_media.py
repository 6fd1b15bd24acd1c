"""reelm.videos.media against the real ffmpeg and PyAV, on tiny generated clips."""

from __future__ import annotations

import asyncio
import pickle
import random
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import av
import psutil
import pytest

from reelm.videos import media
from tests import clips

T = TypeVar("T")
LIMITS = media.MediaLimits()


def run(coro: Coroutine[Any, Any, T]) -> T:
    # A private event loop per call keeps these tests independent of pytest-asyncio's loop configuration.
    return asyncio.run(coro)


def probe_for(width: int, height: int, *, has_audio: bool = True) -> media.ProbeResult:
    return media.ProbeResult(width, height, 10.0, "h264", 30.0, has_audio)


# --- probe ----------------------------------------------------------------------------------------


def test_probe_describes_a_good_clip(tmp_path: Path) -> None:
    result = media.probe(clips.make_clip(tmp_path), LIMITS)
    assert (result.width, result.height) == (180, 320)
    assert result.duration_s == pytest.approx(1.5, abs=0.05)
    assert result.video_codec == "h264"
    assert result.frame_rate == pytest.approx(clips.FRAME_RATE)
    assert result.has_audio


def test_probe_reports_missing_audio(tmp_path: Path) -> None:
    assert not media.probe(clips.make_clip(tmp_path, audio=False), LIMITS).has_audio


def test_probe_judges_content_not_file_name(tmp_path: Path) -> None:
    result = media.probe(clips.make_clip(tmp_path, name="holiday-notes.txt"), LIMITS)
    assert result.video_codec == "h264"


@pytest.mark.parametrize(("degrees", "display"), [(90, (320, 180)), (-90, (320, 180)), (180, (180, 320))])
def test_probe_applies_rotation_metadata(tmp_path: Path, degrees: int, display: tuple[int, int]) -> None:
    result = media.probe(clips.make_clip(tmp_path, rotate_meta=degrees), LIMITS)
    assert (result.width, result.height) == display


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
def test_probe_rejects_bad_files(tmp_path: Path, make: Callable[[Path], Path], code: str) -> None:
    with pytest.raises(media.MediaRejected) as caught:
        media.probe(make(tmp_path), LIMITS)
    assert caught.value.code == code
    assert caught.value.reason.endswith(".")


def test_probe_rejects_long_video_with_default_limits(tmp_path: Path) -> None:
    with pytest.raises(media.MediaRejected) as caught:
        media.probe(clips.make_long(tmp_path, 601), LIMITS)
    assert caught.value.code == "too_long"


def test_probe_rejects_too_short(tmp_path: Path) -> None:
    with pytest.raises(media.MediaRejected) as caught:
        media.probe(clips.make_clip(tmp_path, duration_s=0.3), LIMITS)
    assert caught.value.code == "too_short"


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        (media.MediaLimits(max_bytes=1000), "too_large"),
        (media.MediaLimits(max_duration_s=1.0), "too_long"),
        (media.MediaLimits(min_side=200), "bad_dimensions"),
        (media.MediaLimits(max_side=300), "bad_dimensions"),
    ],
)
def test_probe_honours_limits(tmp_path: Path, limits: media.MediaLimits, code: str) -> None:
    clip = clips.make_clip(tmp_path)  # 180x320, 1.5 s, well over 1000 bytes
    with pytest.raises(media.MediaRejected) as caught:
        media.probe(clip, limits)
    assert caught.value.code == code


def test_probe_accepts_exactly_the_limits(tmp_path: Path) -> None:
    clip = clips.make_clip(tmp_path)
    limits = media.MediaLimits(max_bytes=clip.stat().st_size, min_side=180, max_side=320, max_duration_s=1.5)
    assert media.probe(clip, limits).width == 180


def test_damage_past_the_first_frames_passes_probe(tmp_path: Path) -> None:
    # Documented behaviour: probe decodes only the first frames; transcoding catches the rest (tested below).
    assert media.probe(clips.make_corrupt(tmp_path), LIMITS).duration_s == pytest.approx(3.0, abs=0.1)


def mangled_variants(original: bytes, count: int, seed: int) -> list[bytes]:
    """Cut-off, bit-flipped and overwritten copies of a file, the same on every run."""
    rng, variants = random.Random(seed), []
    for index in range(count):
        data = bytearray(original)
        if index % 3 == 0:
            data = data[: rng.randrange(1, len(data))]
        elif index % 3 == 1:
            for _ in range(rng.randrange(1, 50)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            start = rng.randrange(len(data))
            data[start : start + 4000] = rng.randbytes(len(data[start : start + 4000]))
        variants.append(bytes(data))
    return variants


def test_probe_raises_only_media_rejected_on_mangled_files(tmp_path: Path) -> None:
    originals = [clips.make_clip(tmp_path).read_bytes(), clips.make_vp9_webm(tmp_path).read_bytes()]
    mangled, reasons = tmp_path / "mangled", []
    for variant in [v for original in originals for v in mangled_variants(original, 120, seed=7)]:
        mangled.write_bytes(variant)
        try:
            media.probe(mangled, LIMITS)
        except media.MediaRejected as rejected:  # anything else escapes and fails the test
            reasons.append(rejected.reason)
    assert reasons
    assert all(reasons)


# --- plan_ladder ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((1080, 1920), [("360p", 360, 640), ("480p", 480, 854), ("720p", 720, 1280), ("1080p", 1080, 1920)]),
        ((720, 1280), [("360p", 360, 640), ("480p", 480, 854), ("720p", 720, 1280)]),
        ((540, 960), [("360p", 360, 640), ("480p", 480, 854)]),
        ((200, 356), [("200p", 200, 356)]),
        ((201, 357), [("200p", 200, 356)]),
        ((1920, 1080), [("360p", 640, 360), ("480p", 854, 480), ("720p", 1280, 720), ("1080p", 1920, 1080)]),
    ],
)
def test_plan_ladder(source: tuple[int, int], expected: list[tuple[str, int, int]]) -> None:
    ladder = media.plan_ladder(probe_for(*source))
    assert [(r.name, r.width, r.height) for r in ladder] == expected
    bitrates = [r.video_bitrate for r in ladder]
    assert bitrates == sorted(bitrates)
    assert all(r.audio_bitrate > 0 and r.video_bitrate > 0 for r in ladder)


# --- transcoding: helpers -------------------------------------------------------------------------


def top_level_boxes(path: Path) -> list[str]:
    names, data, offset = [], path.read_bytes(), 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:  # 64-bit size follows the type
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        names.append(kind.decode())
        offset += size if size else len(data)
    return names


def keyframe_times(mp4: Path) -> list[float]:
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        return [
            round(float(packet.pts * stream.time_base), 3)
            for packet in container.demux(stream)
            if packet.is_keyframe and packet.pts is not None
        ]


def segment_durations(hls_dir: Path) -> list[float]:
    text = (hls_dir / "index.m3u8").read_text()
    return [
        float(line[len("#EXTINF:") :].rstrip(","))
        for line in text.splitlines()
        if line.startswith("#EXTINF:")
    ]


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def video_facts(mp4: Path) -> tuple[int, int, str | None, int, bool]:
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        frame = next(container.decode(stream))
        return frame.width, frame.height, stream.profile, frame.rotation, bool(container.streams.audio)


# --- transcoding: build_ladder on a two-rung source -----------------------------------------------


@dataclass
class Ladder:
    out_dir: Path
    outputs: list[media.RenditionOutput]
    calls: list[tuple[list[str], Path | None]]


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Ladder:
    tmp = tmp_path_factory.mktemp("ladder")
    source = clips.make_clip(tmp, width=480, height=854, duration_s=5.0)
    calls: list[tuple[list[str], Path | None]] = []

    async def on_ready(outputs: list[media.RenditionOutput], poster: Path | None) -> None:
        calls.append(([o.rung.name for o in outputs], poster))

    outputs = run(media.build_ladder(source, media.probe(source, LIMITS), tmp / "out", on_ready))
    return Ladder(tmp / "out", outputs, calls)


def test_build_ladder_publishes_lowest_rung_and_poster_first(ladder: Ladder) -> None:
    assert ladder.calls == [(["360p"], ladder.out_dir / "poster.jpg"), (["480p"], None)]
    assert [o.rung.name for o in ladder.outputs] == ["360p", "480p"]


def test_renditions_are_faststart_h264_high_with_aac(ladder: Ladder) -> None:
    for output in ladder.outputs:
        assert output.mp4_path.parent == ladder.out_dir / output.rung.name
        width, height, profile, rotation, has_audio = video_facts(output.mp4_path)
        assert (width, height) == (output.rung.width, output.rung.height)
        assert (profile, rotation, has_audio) == ("High", 0, True)
        boxes = top_level_boxes(output.mp4_path)
        assert boxes.index("moov") < boxes.index("mdat")
        assert output.size_bytes == output.mp4_path.stat().st_size
        assert output.codecs.startswith("avc1.64")  # 0x64: High profile
        assert output.codecs.endswith(",mp4a.40.2")
        assert output.frame_rate == pytest.approx(clips.FRAME_RATE)


def test_codecs_string_carries_the_real_level(ladder: Ladder) -> None:
    for output in ladder.outputs:
        with av.open(str(output.mp4_path)) as container:
            level = container.streams.video[0].codec_context.level
        assert output.codecs.split(",")[0][-2:] == f"{level:02x}"


def test_keyframes_every_two_seconds_on_every_rung(ladder: Ladder) -> None:
    times = [keyframe_times(o.mp4_path) for o in ladder.outputs]
    assert times[0] == [0.0, 2.0, 4.0]
    assert all(t == times[0] for t in times)


def test_hls_segments_are_two_seconds_and_aligned(ladder: Ladder) -> None:
    durations = [segment_durations(o.hls_dir) for o in ladder.outputs]
    assert durations[0] == pytest.approx([2.0, 2.0, 1.0])
    assert all(d == durations[0] for d in durations)
    for output in ladder.outputs:
        names = sorted(p.name for p in output.hls_dir.iterdir())
        assert names == ["index.m3u8", "init.mp4", "seg_00000.m4s", "seg_00001.m4s", "seg_00002.m4s"]
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in (output.hls_dir / "index.m3u8").read_text()


def test_hls_plays_every_frame(ladder: Ladder) -> None:
    output = ladder.outputs[0]
    assert (
        decoded_frames(output.hls_dir / "index.m3u8")
        == decoded_frames(output.mp4_path)
        == 5 * clips.FRAME_RATE
    )


def test_bandwidth_is_measured(ladder: Ladder) -> None:
    low, high = ladder.outputs
    assert 0 < low.average_bandwidth <= low.bandwidth
    assert low.bandwidth < high.bandwidth


def test_poster_is_a_jpeg_at_the_top_rung_size(ladder: Ladder) -> None:
    poster = ladder.out_dir / "poster.jpg"
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    with av.open(str(poster)) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (480, 854)


# --- transcoding: transcode_rungs -----------------------------------------------------------------


def test_single_rung_with_poster(tmp_path: Path) -> None:
    source = clips.make_clip(tmp_path)
    probed = media.probe(source, LIMITS)
    rungs = media.plan_ladder(probed)
    outputs = run(
        media.transcode_rungs(source, probed, rungs, tmp_path / "out", poster_path=tmp_path / "p.jpg")
    )
    assert [o.rung.name for o in outputs] == ["180p"]
    assert outputs[0].hls_dir == tmp_path / "out" / "180p" / "hls"
    assert segment_durations(outputs[0].hls_dir) == pytest.approx([1.5])
    with av.open(str(tmp_path / "p.jpg")) as container:
        assert container.streams.video[0].codec_context.name == "mjpeg"
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (180, 320)


def test_rotated_source_is_transcoded_upright(tmp_path: Path) -> None:
    source = clips.make_clip(tmp_path, rotate_meta=90, audio=False)
    probed = media.probe(source, LIMITS)
    (output,) = run(media.transcode_rungs(source, probed, media.plan_ladder(probed), tmp_path / "out"))
    assert video_facts(output.mp4_path) == (320, 180, "High", 0, False)
    assert "," not in output.codecs  # no audio codec advertised


def test_transcode_is_idempotent(tmp_path: Path) -> None:
    source = clips.make_clip(tmp_path)
    probed = media.probe(source, LIMITS)
    rungs = media.plan_ladder(probed)
    first = run(media.transcode_rungs(source, probed, rungs, tmp_path / "out"))
    (first[0].hls_dir / "seg_00099.m4s").write_bytes(b"stale")  # left over by some earlier, longer attempt
    second = run(media.transcode_rungs(source, probed, rungs, tmp_path / "out"))
    assert second[0].mp4_path == first[0].mp4_path
    assert not (second[0].hls_dir / "seg_00099.m4s").exists()
    assert decoded_frames(second[0].mp4_path) == 36


def test_corrupt_input_is_rejected_not_retried(tmp_path: Path) -> None:
    source = clips.make_corrupt(tmp_path)
    probed = media.probe(source, LIMITS)
    with pytest.raises(media.MediaRejected) as caught:
        run(media.transcode_rungs(source, probed, media.plan_ladder(probed), tmp_path / "out"))
    assert caught.value.code == "corrupt_stream"


@pytest.mark.parametrize(
    ("make", "codec", "display"),
    [(clips.make_hevc_10bit, "hevc", (180, 320)), (clips.make_vp9_webm, "vp9", (320, 180))],
)
def test_other_allowed_codecs_become_8bit_h264_high(
    tmp_path: Path, make: Callable[[Path], Path], codec: str, display: tuple[int, int]
) -> None:
    source = make(tmp_path)
    probed = media.probe(source, LIMITS)
    assert (probed.video_codec, (probed.width, probed.height)) == (codec, display)
    (output,) = run(media.transcode_rungs(source, probed, media.plan_ladder(probed), tmp_path / "out"))
    assert video_facts(output.mp4_path) == (*display, "High", 0, True)
    assert output.codecs.endswith(",mp4a.40.2")


def test_rejection_keeps_code_and_reason_through_pickling() -> None:
    restored = pickle.loads(pickle.dumps(media.MediaRejected("too_long", "Too long.")))
    assert (restored.code, restored.reason, str(restored)) == ("too_long", "Too long.", "too_long: Too long.")


def test_cut_off_webm_still_gets_renditions_and_poster(tmp_path: Path) -> None:
    # Browser recordings carry no index, so a cut-off upload passes probe() but is shorter than its header
    # says; the poster must then come from the frames that do exist.
    whole = clips.make_vp9_webm(tmp_path).read_bytes()
    source = tmp_path / "cut.webm"
    source.write_bytes(whole[: len(whole) * 4 // 10])
    probed = media.probe(source, LIMITS)
    poster = tmp_path / "poster.jpg"
    (output,) = run(
        media.transcode_rungs(source, probed, media.plan_ladder(probed), tmp_path / "o", poster_path=poster)
    )
    assert 0 < decoded_frames(output.mp4_path) < 1.5 * clips.FRAME_RATE
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"


def test_ffmpeg_failure_unrelated_to_input_is_media_error(tmp_path: Path) -> None:
    source = clips.make_clip(tmp_path)
    odd = media.Rung("odd", 181, 321, 500_000, 64_000)  # yuv420p H.264 needs even sides: ffmpeg fails
    with pytest.raises(media.MediaError, match="ffmpeg exited"):
        run(media.transcode_rungs(source, media.probe(source, LIMITS), [odd], tmp_path / "out"))


def test_cancelling_a_transcode_kills_ffmpeg(tmp_path: Path) -> None:
    source = clips.make_clip(tmp_path, width=480, height=854, duration_s=20.0, audio=False)
    probed = media.probe(source, LIMITS)

    async def start_then_cancel() -> None:
        task = asyncio.create_task(media.transcode_rungs(source, probed, media.plan_ladder(probed), tmp_path))
        # Nothing signals "ffmpeg has started", so watch our own child processes.
        while not psutil.Process().children() and not task.done():  # noqa: ASYNC110 - polling a child process, which has no event to await
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(start_then_cancel())
    assert psutil.Process().children() == []
