"""The audio half of remixes: a video's sound as a loudness-normalised rendition, its waveform, and a sound
mixed into an upload ("use this sound").

Builders are pure and check their parameters (RemixRejected, before anything is written); runners run them
through `reelm.ffmpeg` within bounds from the durations involved (`remix.bounds_for`). Shared pieces (clips,
bounds, audio branches, the failure mapping) are in `reelm.videos.remix`.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from reelm.ffmpeg import seconds_arg
from reelm.videos import media, remix
from reelm.videos.remix import Clip, RemixOutput, RemixRejected

# What music services normalise to (Spotify, YouTube: -14 LUFS integrated), with a true peak ceiling of
# -1 dBTP, which keeps the AAC encoding's overshoot from clipping.
TARGET_LUFS = -14.0
TRUE_PEAK_DBTP = -1.0
# loudnorm applies a plain gain (linear=true) only when the measured loudness range is at most its target; a
# wide target keeps music's dynamics untouched, and only a sound whose peaks the gain would push past
# TRUE_PEAK_DBTP falls back to loudnorm's dynamic mode (still reaching TARGET_LUFS).
_LOUDNESS_RANGE_LU = 20.0
# EBU R128's absolute gate: anything quieter is silence, and there is nothing to normalise.
SILENCE_LUFS = -70.0
_SOUND_BITRATE = "128k"
_DEFAULT_LIMITS = media.MediaLimits()

WAVEFORM_RATE = 8000  # samples a second decoded for the waveform: its shape, not its fidelity, matters
WAVEFORM_POINTS = 150
_WAVEFORM_POINTS_MAX = 2000
MIN_SOUND_S = media.MIN_DURATION_S
# Codecs an MP4 carries, so an upload's video can be copied into the mixed file instead of encoded again.
_MP4_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"})


# --- sound rendition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """An EBU R128 measurement (the ebur128 filter's summary) of a whole sound."""

    integrated_lufs: float
    threshold_lufs: float  # the relative gate of the integrated loudness
    range_lu: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class SoundRendition:
    path: Path  # AAC-LC in MP4 (.m4a), 48 kHz stereo
    duration_s: float  # read back from the file written
    source_lufs: float  # integrated loudness of the video's audio, before normalising
    lufs: float  # integrated loudness of the rendition, as loudnorm measured what it wrote
    normalization: str  # "linear" (one gain for the whole sound) or "dynamic" (see _LOUDNESS_RANGE_LU)


_SUMMARY_LINE = re.compile(r"^(I|Threshold|LRA|Peak):\s+(\S+)\s+(LUFS|LU|dBFS)$")


class R128Summary:
    """Collects the summary the ebur128 filter logs when it ends (offered line by line, see run_to)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self._started = False
        self._section = ""

    def take(self, line: str) -> bool:
        text = line.strip()
        if text.endswith("Summary:"):
            self._started = True
            return True
        if not self._started:
            return False
        if text.endswith(":") and " " in text:  # "Integrated loudness:", "Loudness range:", "True peak:"
            self._section = text
            return True
        match = _SUMMARY_LINE.match(text)
        if match is None:
            return bool(text == "")
        name = match[1]
        if name == "Threshold":
            name = "Threshold" if self._section.startswith("Integrated") else "LRA threshold"
        self.values.setdefault(name, float(match[2]))  # "-inf" (silence) reads as a float too
        return True

    def measurement(self) -> Measurement:
        try:
            return Measurement(
                integrated_lufs=self.values["I"],
                threshold_lufs=self.values["Threshold"],
                range_lu=self.values["LRA"],
                true_peak_dbtp=self.values["Peak"],
            )
        except KeyError as exc:
            raise media.MediaError(f"ebur128 reported no {exc.args[0]} (got {self.values})") from exc


class LoudnormReport:
    """Collects the JSON report loudnorm logs when it ends (print_format=json)."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._inside = False

    def take(self, line: str) -> bool:
        text = line.strip()
        if text == "{":
            self._inside, self._lines = True, []
        if not self._inside:
            return False
        self._lines.append(text)
        if text == "}":
            self._inside = False
        return True

    def outcome(self) -> tuple[float, str]:
        """The integrated loudness of what loudnorm wrote, and whether it was a plain gain ("linear")."""
        try:
            values = json.loads("\n".join(self._lines))
            return float(values["output_i"]), str(values["normalization_type"])
        except (ValueError, KeyError, TypeError) as exc:
            raise media.MediaError(f"unreadable loudnorm report: {self._lines!r}") from exc


def measure_args(source: Clip) -> list[str]:
    """The first pass: the ebur128 meter (true peak too) over the audio as it will be heard, in stereo; its
    summary goes to the log, nothing is written. framelog=verbose keeps its ten lines a second out of it."""
    capped = ["-t", seconds_arg(source.info.duration_s), "-i", str(source.path)]
    meter = "aformat=channel_layouts=stereo,ebur128=peak=true:framelog=verbose"
    return [*capped, "-map", "0:a:0", "-af", meter, "-f", "null", "-"]


def render_args(source: Clip, measured: Measurement, output: Path) -> list[str]:
    """The second pass: loudnorm given the first pass's figures, so it applies one gain to the whole sound
    (linear=true) unless that gain would push the true peak past TRUE_PEAK_DBTP; then back from loudnorm's
    192 kHz to 48 kHz, and AAC in an .m4a."""

    def clamp(value: float, low: float, high: float) -> str:
        return f"{min(max(value, low), high):.2f}"  # the ranges loudnorm accepts

    target = f"I={TARGET_LUFS:g}:TP={TRUE_PEAK_DBTP:g}:LRA={_LOUDNESS_RANGE_LU:g}"
    # loudnorm reads a measured range of exactly 0 (a steady tone) as "not measured" and would ride the gain.
    figures = (
        f":measured_I={clamp(measured.integrated_lufs, -99, 0)}"
        f":measured_TP={clamp(measured.true_peak_dbtp, -99, 99)}"
        f":measured_LRA={clamp(max(measured.range_lu, 0.01), 0, 99)}"
        f":measured_thresh={clamp(measured.threshold_lufs, -99, 0)}"
    )
    loudnorm = f"loudnorm={target}{figures}:linear=true:print_format=json"
    filters = f"aformat=channel_layouts=stereo,{loudnorm},aresample={remix.AUDIO_RATE}"
    capped = ["-t", seconds_arg(source.info.duration_s), "-i", str(source.path)]
    args = [*capped, "-map", "0:a:0", "-af", filters, "-c:a", "aac", "-b:a", _SOUND_BITRATE, "-ac", "2"]
    return [*args, *remix.CLEAN_OUTPUT, str(output)]


def check_has_sound(source: Clip) -> None:
    if not source.info.has_audio:
        raise RemixRejected("no_audio", "This video has no sound to use.")


def check_audible(measured: Measurement) -> None:
    if not math.isfinite(measured.integrated_lufs) or measured.integrated_lufs <= SILENCE_LUFS:
        raise RemixRejected("silent_audio", "This video's sound is silent.")


async def render_sound(
    source: Clip, output: Path, *, limits: media.MediaLimits = _DEFAULT_LIMITS
) -> SoundRendition:
    """The sound of a video, normalised to TARGET_LUFS, as an .m4a at `output`.

    Two passes (the audio alone is decoded twice, little next to any video work): one gain chosen from the
    whole sound keeps its dynamics, where one pass must ride the gain as it goes (loudnorm's dynamic mode, a
    compressor). The first pass measures with ebur128 rather than loudnorm's own first pass, which misreads
    short clips (by 0.6 LU on a 4 s clip, against ebur128 and against what its linear pass then measures).
    Raises RemixRejected for a video without sound or with a silent one (nothing written), media.MediaError
    when ffmpeg fails.
    """
    check_has_sound(source)
    seconds = source.info.duration_s
    bounds = remix.bounds_for(output_s=seconds, audio_s=seconds, limits=limits)
    summary = R128Summary()
    await remix.run_to(measure_args(source), None, bounds, take_log_line=summary.take)
    measured = summary.measurement()
    check_audible(measured)
    report = LoudnormReport()
    await remix.run_to(render_args(source, measured, output), output, bounds, take_log_line=report.take)
    lufs, normalization = report.outcome()
    duration_s = await asyncio.to_thread(_audio_duration_s, output)
    return SoundRendition(output, duration_s, measured.integrated_lufs, lufs, normalization)


def _audio_duration_s(path: Path) -> float:
    with av.open(str(path)) as container:
        if container.duration is None:
            raise media.MediaError(f"{path} has no duration")
        return float(container.duration / av.time_base)


# --- waveform -------------------------------------------------------------------------------------


class PeakMeter:
    """Peaks of mono s16le PCM in `points` equal spans of `expected_samples`, fed in chunks as they arrive.

    Samples past the expected count go to the last span, spans never reached stay 0, so the result always has
    `points` values in 0..1 (1 is full scale) whatever length the decoder really delivers.
    """

    def __init__(self, expected_samples: int, points: int) -> None:
        if points < 1:
            raise ValueError("a waveform has at least one point")
        self.expected = max(expected_samples, 1)
        self.points = points
        self.peaks = np.zeros(points, dtype=np.int32)
        self.position = 0
        self._odd = b""

    def feed(self, chunk: bytes) -> None:
        data = self._odd + chunk
        usable = len(data) - len(data) % 2
        self._odd = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.int32)
        if not samples.size:
            return
        index = np.arange(self.position, self.position + samples.size, dtype=np.int64)
        spans = np.minimum(index * self.points // self.expected, self.points - 1)
        self.position += samples.size
        # spans never decrease along a chunk: reduce each run of equal spans at once.
        starts = np.flatnonzero(np.r_[True, spans[1:] != spans[:-1]])
        runs = np.maximum.reduceat(np.abs(samples), starts)
        np.maximum.at(self.peaks, spans[starts], runs)

    def result(self) -> list[float]:
        return [round(min(float(peak) / 32768, 1.0), 3) for peak in self.peaks]


def waveform_args(path: Path, duration_s: float) -> list[str]:
    """Decode the first audio stream to mono 16-bit PCM at WAVEFORM_RATE on stdout, at most `duration_s`."""
    args = ["-t", seconds_arg(duration_s), "-i", str(path), "-map", "0:a:0"]
    return [*args, "-ac", "1", "-ar", str(WAVEFORM_RATE), "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"]


async def waveform(
    path: Path,
    duration_s: float,
    *,
    points: int = WAVEFORM_POINTS,
    limits: media.MediaLimits = _DEFAULT_LIMITS,
) -> list[float]:
    """`points` peak values in 0..1 over the first `duration_s` of a file's audio (a sound rendition, or any
    file with audio), in constant memory. Raises media.MediaError when ffmpeg fails."""
    if not 1 <= points <= _WAVEFORM_POINTS_MAX:
        raise ValueError(f"a waveform has 1 to {_WAVEFORM_POINTS_MAX} points, not {points}")
    meter = PeakMeter(math.ceil(duration_s * WAVEFORM_RATE), points)

    async def read(stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(1 << 16):
            meter.feed(chunk)

    bounds = remix.bounds_for(output_s=duration_s, audio_s=duration_s, limits=limits)
    await remix.run_reading(waveform_args(path, duration_s), read, bounds)
    return meter.result()


# --- using a sound --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sound:
    """A sound rendition (or any file with audio) and its duration."""

    path: Path
    duration_s: float


@dataclass(frozen=True)
class SoundMix:
    offset_s: float = 0.0  # where in the sound the video starts
    own_level: float = 1.0  # the upload's own audio, 0 (muted) to 1 (as recorded)
    sound_level: float = 1.0


def check_sound_mix(mix: SoundMix, sound_duration_s: float) -> None:
    remix.check_level("own", mix.own_level)
    remix.check_level("sound", mix.sound_level)
    if not math.isfinite(mix.offset_s) or mix.offset_s < 0:
        raise RemixRejected("bad_offset", "The sound's start must be at or after its beginning.")
    if mix.offset_s > sound_duration_s - MIN_SOUND_S:
        raise RemixRejected(
            "offset_past_end",
            f"The sound is {sound_duration_s:.1f} seconds long; start it at least {MIN_SOUND_S:g} seconds "
            "before its end.",
        )


def copies_video(upload: media.ProbeResult) -> bool:
    """Whether the upload's video goes into the mixed MP4 as it is (no decoding, no quality lost)."""
    return upload.video_codec in _MP4_VIDEO_CODECS


def use_sound_args(upload: Clip, sound: Sound, output: Path, mix: SoundMix) -> list[str]:
    """The upload with its audio replaced by its own (at own_level) and the sound from offset_s (at
    sound_level) mixed, for exactly the upload's length; the sound stops early if it ends first. The video is
    copied where MP4 can carry it (copies_video), else encoded as the ladder's input would be."""
    check_sound_mix(mix, sound.duration_s)
    seconds = upload.info.duration_s
    # A muted branch is left out rather than decoded and multiplied by 0.
    branches = []
    if upload.info.has_audio and mix.own_level > 0:
        branches.append(remix.audio_branch(0, mix.own_level, seconds))
    if mix.sound_level > 0:
        branches.append(remix.audio_branch(1, mix.sound_level, seconds))
    if len(branches) == 2:
        graph = [f"{branches[0]}[own]", f"{branches[1]}[snd]", remix.mix(["own", "snd"], "a")]
    elif branches:
        graph = [f"{branches[0]}[a]"]
    else:  # both muted: a silent track, so the file has audio like any other upload
        graph = [remix.audio_branch(None, 0.0, seconds) + "[a]"]
    sound_s = min(seconds, sound.duration_s - mix.offset_s)
    args = ["-t", seconds_arg(seconds), "-i", str(upload.path)]
    # Seeking the sound's input: only what is mixed is decoded, and its timestamps start at 0.
    args += ["-ss", f"{mix.offset_s:.6f}", "-t", seconds_arg(sound_s), "-i", str(sound.path)]
    args += ["-filter_complex", ";".join(graph), "-map", "0:V:0", "-map", "[a]"]
    video = ["-c:v", "copy"] if copies_video(upload.info) else list(remix.VIDEO_ENCODE)
    return [*args, *video, *remix.AUDIO_ENCODE, "-t", seconds_arg(seconds), *remix.CLEAN_OUTPUT, str(output)]


async def use_sound(
    upload: Clip,
    sound: Sound,
    output: Path,
    mix: SoundMix,
    *,
    limits: media.MediaLimits = _DEFAULT_LIMITS,
) -> RemixOutput:
    """Mix a sound into an upload, writing an MP4 for the upload pipeline to probe and transcode. Raises
    RemixRejected for bad levels or offset (nothing written), media.MediaError when ffmpeg fails."""
    args = use_sound_args(upload, sound, output, mix)
    info = upload.info
    decoded: Sequence[tuple[media.ProbeResult, float]] = ()
    encoded = None
    if not copies_video(info):
        decoded = [(info, info.duration_s)]
        encoded = (remix.Canvas(info.width, info.height), info.frame_rate or 30.0)
    bounds = remix.bounds_for(
        output_s=info.duration_s, decoded=decoded, encoded=encoded, audio_s=2 * info.duration_s, limits=limits
    )
    await remix.run_to(args, output, bounds)
    return RemixOutput(output, info.duration_s, info.width, info.height)
