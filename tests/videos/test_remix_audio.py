"""reelm.videos.remix_audio against the real ffmpeg: sound renditions, waveforms, using a sound."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import av
import numpy as np
import pytest

from reelm.videos import media, remix_audio
from reelm.videos.remix import Clip, RemixRejected
from reelm.videos.remix_audio import Sound, SoundMix
from tests import clips

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    # A private event loop per call keeps these tests independent of pytest-asyncio's loop configuration.
    return asyncio.run(coro)


def clip(path: Path) -> Clip:
    return Clip(path, media.probe(path, media.MediaLimits()))


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("remix-audio")


@pytest.fixture(scope="module")
def tone_1000(folder: Path) -> Sound:
    return Sound(clips.make_tone_file(folder, tone_hz=1000, duration_s=4.0, name="t1000.m4a"), 4.0)


@pytest.fixture(scope="module")
def silent_upload(folder: Path) -> Clip:
    """An upload without an audio track."""
    return clip(clips.make_solid_clip(folder, colour="red", audio=None, name="mute.mp4"))


@pytest.fixture(scope="module")
def toned_upload(folder: Path) -> Clip:
    return clip(clips.make_solid_clip(folder, colour="blue", tone_hz=440, name="own440.mp4"))


# --- sound rendition ------------------------------------------------------------------------------


@pytest.mark.parametrize("gain_db", [-20.0, 0.0])
def test_sound_rendition_is_normalised_to_minus_14_lufs(tmp_path: Path, gain_db: float) -> None:
    source = clip(clips.make_stepped_tone_clip(tmp_path, gain_db=gain_db))
    out = tmp_path / "sound.m4a"
    rendition = run(remix_audio.render_sound(source, out))
    # Measured independently of the rendition's own report: ebur128 over the file written.
    measured = clips.loudness_lufs(out)
    assert abs(measured - remix_audio.TARGET_LUFS) <= 1.0
    assert abs(rendition.lufs - remix_audio.TARGET_LUFS) <= 1.0
    # One gain for the whole sound: the step between its halves (12 dB) survives.
    assert rendition.normalization == "linear"
    assert rendition.source_lufs == pytest.approx(clips.loudness_lufs(source.path), abs=0.2)
    assert rendition.duration_s == pytest.approx(4.0, abs=0.1)
    with av.open(str(out)) as container:
        assert not container.streams.video
        (audio,) = container.streams.audio
        assert (audio.codec_context.name, audio.rate, audio.channels) == ("aac", 48000, 2)


def test_a_video_without_sound_has_no_sound_rendition(tmp_path: Path, silent_upload: Clip) -> None:
    out = tmp_path / "sound.m4a"
    with pytest.raises(RemixRejected) as caught:
        run(remix_audio.render_sound(silent_upload, out))
    assert caught.value.code == "no_audio"
    assert not out.exists()


def test_a_silent_sound_is_refused(tmp_path: Path) -> None:
    source = clip(clips.make_solid_clip(tmp_path, colour="gray", audio="silence"))
    out = tmp_path / "sound.m4a"
    with pytest.raises(RemixRejected) as caught:
        run(remix_audio.render_sound(source, out))
    assert caught.value.code == "silent_audio"
    assert not out.exists()


# --- waveform -------------------------------------------------------------------------------------


def test_waveform_follows_the_sound(tmp_path: Path) -> None:
    # Quiet for two seconds, then 12 dB (4 times) louder.
    stepped = clips.make_stepped_tone_clip(tmp_path, gain_db=0.0)
    peaks = run(remix_audio.waveform(stepped, 4.0, points=40))
    assert len(peaks) == 40
    assert all(0.0 <= p <= 1.0 for p in peaks)
    # The spans next to the step and the last (AAC's ending) are left out.
    quiet, loud = np.mean(peaks[2:18]), np.mean(peaks[22:38])
    assert quiet > 0.01
    assert loud / quiet == pytest.approx(4.0, rel=0.15)


def test_waveform_point_count_is_bounded(tone_1000: Sound) -> None:
    with pytest.raises(ValueError, match="points"):
        run(remix_audio.waveform(tone_1000.path, tone_1000.duration_s, points=0))


def test_peak_meter_gives_the_same_peaks_however_pcm_arrives() -> None:
    samples = np.array([100, -3000, 5, 7, -32768, 12, 30000, -4, 9, 1], dtype="<i2")
    whole = remix_audio.PeakMeter(10, 5)
    whole.feed(samples.tobytes())
    pieces = remix_audio.PeakMeter(10, 5)
    data = samples.tobytes()
    for start in range(0, len(data), 3):  # odd sizes: samples split across chunks
        pieces.feed(data[start : start + 3])
    expected = [
        round(3000 / 32768, 3),
        round(7 / 32768, 3),
        1.0,
        round(30000 / 32768, 3),
        round(9 / 32768, 3),
    ]
    assert whole.result() == pieces.result() == expected


def test_peak_meter_keeps_its_point_count_when_the_length_is_off() -> None:
    longer = remix_audio.PeakMeter(4, 2)
    longer.feed(np.array([1, 2, 3, 4, 5, 6000], dtype="<i2").tobytes())  # two more than expected
    assert longer.result() == [round(2 / 32768, 3), round(6000 / 32768, 3)]
    shorter = remix_audio.PeakMeter(8, 4)
    shorter.feed(np.array([16384, 16384], dtype="<i2").tobytes())
    assert shorter.result() == [0.5, 0.0, 0.0, 0.0]


# --- using a sound --------------------------------------------------------------------------------


def test_use_sound_mixes_the_sound_and_copies_the_video(
    tmp_path: Path, silent_upload: Clip, tone_1000: Sound
) -> None:
    out = tmp_path / "mixed.mp4"
    result = run(remix_audio.use_sound(silent_upload, tone_1000, out, SoundMix(offset_s=1.0)))
    assert result.duration_s == pytest.approx(silent_upload.info.duration_s)
    mixed = media.probe(out, media.MediaLimits())
    assert mixed.has_audio
    assert mixed.duration_s == pytest.approx(silent_upload.info.duration_s, abs=0.05)
    assert clips.dominant_hz(out) == pytest.approx(1000, abs=10)
    # Stream copy: the very same coded pictures, nothing decoded or encoded again.
    assert video_packets(out) == video_packets(silent_upload.path)


@pytest.mark.parametrize(("own_level", "sound_level", "heard_hz"), [(0.0, 1.0, 1000), (1.0, 0.0, 440)])
def test_use_sound_levels_choose_what_is_heard(
    tmp_path: Path, toned_upload: Clip, tone_1000: Sound, own_level: float, sound_level: float, heard_hz: int
) -> None:
    out = tmp_path / "mixed.mp4"
    run(remix_audio.use_sound(toned_upload, tone_1000, out, SoundMix(0.0, own_level, sound_level)))
    assert clips.dominant_hz(out) == pytest.approx(heard_hz, abs=10)


def test_use_sound_hears_both_at_full_level_without_clipping(
    tmp_path: Path, toned_upload: Clip, tone_1000: Sound
) -> None:
    out = tmp_path / "mixed.mp4"
    run(remix_audio.use_sound(toned_upload, tone_1000, out, SoundMix(0.5, 1.0, 1.0)))
    samples, rate = clips.audio_samples(out)
    spectrum = np.abs(np.fft.rfft(samples))
    frequencies = np.fft.rfftfreq(samples.size, 1 / rate)

    def strength(hz: float) -> float:
        return float(spectrum[np.abs(frequencies - hz) < 20].max())

    assert strength(440) > 0.2 * strength(1000)
    assert strength(1000) > 0.2 * strength(440)
    assert np.abs(samples).max() <= 1.0


def test_a_sound_shorter_than_the_video_stops_and_the_video_goes_on(
    tmp_path: Path, silent_upload: Clip
) -> None:
    short = Sound(clips.make_tone_file(tmp_path, tone_hz=1000, duration_s=1.0), 1.0)
    out = tmp_path / "mixed.mp4"
    run(remix_audio.use_sound(silent_upload, short, out, SoundMix(offset_s=0.25)))
    samples, rate = clips.audio_samples(out)
    assert samples.size / rate == pytest.approx(silent_upload.info.duration_s, abs=0.1)
    # 0.75 s of the sound, then silence to the end.
    assert np.abs(samples[: int(0.6 * rate)]).max() > 0.05
    assert np.abs(samples[int(0.9 * rate) :]).max() < 0.01


def test_use_sound_keeps_a_phones_rotation(tmp_path: Path, tone_1000: Sound) -> None:
    upload = clip(clips.make_clip(tmp_path, rotate_meta=90, audio=False))
    assert (upload.info.width, upload.info.height) == (320, 180)
    out = tmp_path / "mixed.mp4"
    run(remix_audio.use_sound(upload, tone_1000, out, SoundMix()))
    mixed = media.probe(out, media.MediaLimits())
    assert (mixed.width, mixed.height) == (320, 180)


@pytest.mark.parametrize(
    ("mix", "code"),
    [
        (SoundMix(offset_s=3.8), "offset_past_end"),  # 0.2 s of a 4 s sound left
        (SoundMix(offset_s=4.0), "offset_past_end"),
        (SoundMix(offset_s=-0.5), "bad_offset"),
        (SoundMix(offset_s=math.nan), "bad_offset"),
        (SoundMix(own_level=-0.1), "bad_level"),
        (SoundMix(sound_level=1.01), "bad_level"),
        (SoundMix(sound_level=math.inf), "bad_level"),
    ],
)
def test_use_sound_refuses_bad_parameters_and_writes_nothing(
    tmp_path: Path, silent_upload: Clip, tone_1000: Sound, mix: SoundMix, code: str
) -> None:
    out = tmp_path / "mixed.mp4"
    with pytest.raises(RemixRejected) as caught:
        run(remix_audio.use_sound(silent_upload, tone_1000, out, mix))
    assert caught.value.code == code
    assert caught.value.reason  # a sentence for the creator
    assert not out.exists()


def test_video_is_copied_only_where_mp4_carries_it() -> None:
    def probed(codec: str) -> media.ProbeResult:
        return media.ProbeResult(180, 320, 2.0, codec, 24.0, True)

    assert remix_audio.copies_video(probed("h264"))
    assert remix_audio.copies_video(probed("hevc"))
    assert not remix_audio.copies_video(probed("vp8"))
