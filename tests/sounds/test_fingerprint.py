"""The fingerprint engine alone: generated songs under each distortion match their original and no other one;
hostile input costs bounded work; the engine imports nothing with I/O. And decoding what it is fed
(reelm.sounds.audio): a video's sound, bounded, with clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from reelm.sounds import fingerprint as engine
from reelm.sounds.audio import AudioUnreadable, decode_mono
from reelm.sounds.fingerprint import (
    MAX_QUERY_LANDMARKS,
    MAX_SECONDS,
    MAX_STORE_CANDIDATES,
    MAX_STORED_LANDMARKS,
    PEAKS_PER_SECOND,
    QUERY_FAN_OUT,
    SAMPLE_RATE,
    Fingerprint,
    compare,
    fingerprint,
    is_match,
    query_fingerprint,
)
from reelm.sounds.matching import MIN_MATCH_SECONDS
from tests import clips
from tests.sounds import tracks

SEEDS = tuple(range(11, 19))
HOUR = 3600


def stored(samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> Fingerprint:
    """What a sound keeps in an empty store (no hash holds a sound yet)."""
    candidates = engine.storage_candidates(fingerprint(samples, rate))
    return engine.choose_stored(candidates, np.zeros(len(candidates), np.int64))


def looked_up(samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> Fingerprint:
    """What an upload looks up."""
    return engine.query_landmarks(query_fingerprint(samples, rate))


def same_sound(query: Fingerprint, sound: Fingerprint) -> bool:
    return is_match(compare(query, sound), min_seconds=MIN_MATCH_SECONDS)


@pytest.fixture(scope="module")
def songs() -> list[tracks.Floats]:
    # 20-30 s, as short videos' sounds are.
    return [tracks.song(seed, 20.0 + 5 * (seed % 3)) for seed in SEEDS]


@pytest.fixture(scope="module")
def sounds(songs: list[tracks.Floats]) -> list[Fingerprint]:
    return [stored(song) for song in songs]


@pytest.mark.parametrize("distortion", sorted(tracks.DISTORTIONS))
def test_a_distorted_copy_matches_its_song_and_no_other(
    distortion: str, songs: list[tracks.Floats], sounds: list[Fingerprint]
) -> None:
    for index, song in enumerate(songs):
        query = looked_up(tracks.distort(distortion, song, SEEDS[index]))
        matches = [other for other, sound in enumerate(sounds) if same_sound(query, sound)]
        assert matches == [index], f"song {index} {distortion}"


def test_different_songs_do_not_match(songs: list[tracks.Floats], sounds: list[Fingerprint]) -> None:
    for index, song in enumerate(songs):
        query = looked_up(song)
        assert [other for other, sound in enumerate(sounds) if same_sound(query, sound)] == [index]
    # Nor do songs that were never stored, or a voice.
    for seed in (900, 901, 902):
        assert not any(same_sound(looked_up(tracks.song(seed, 20.0)), sound) for sound in sounds)
    assert not any(same_sound(looked_up(tracks.speech(903, 20.0)), sound) for sound in sounds)


def test_an_excerpt_matches_from_five_seconds_on(
    songs: list[tracks.Floats], sounds: list[Fingerprint]
) -> None:
    song, sound = songs[2], sounds[2]
    short = compare(looked_up(tracks.excerpt(song, 7.0, 3.5)), sound)
    long = compare(looked_up(tracks.excerpt(song, 7.0, 8.0)), sound)
    assert short is None or short.seconds < MIN_MATCH_SECONDS
    assert not same_sound(looked_up(tracks.excerpt(song, 7.0, 3.5)), sound)
    assert long is not None
    assert MIN_MATCH_SECONDS <= long.seconds <= 8.0 + engine.MAX_DT * engine.FRAME_SECONDS
    # The offset says where the excerpt starts in the sound.
    assert long.offset * engine.FRAME_SECONDS == pytest.approx(7.0, abs=2 * engine.FRAME_SECONDS)


def test_other_rates_and_sample_types_give_the_same_sound(
    songs: list[tracks.Floats], sounds: list[Fingerprint]
) -> None:
    seed = SEEDS[4]
    at_16k = tracks.song(seed, 20.0 + 5 * (seed % 3), rate=16000)
    assert same_sound(looked_up(at_16k, 16000), sounds[4])
    as_int16 = (songs[4] * 32767).astype(np.int16)
    assert same_sound(looked_up(as_int16), sounds[4])
    # NaN and infinite samples are silence; the rest still matches.
    damaged = songs[4].copy()
    damaged[::997] = np.nan
    damaged[5::1009] = np.inf
    assert same_sound(looked_up(damaged), sounds[4])


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(lambda: np.broadcast_to(np.float32(0), 10 * HOUR * SAMPLE_RATE), id="10 h of silence"),
        pytest.param(lambda: np.broadcast_to(np.float32(np.nan), 10 * HOUR * SAMPLE_RATE), id="10 h of NaN"),
        pytest.param(
            lambda: np.broadcast_to(np.float64(-np.inf), 10 * HOUR * SAMPLE_RATE), id="10 h of -inf"
        ),
        pytest.param(lambda: np.broadcast_to(np.float32(0.7), 10 * HOUR * SAMPLE_RATE), id="10 h of DC"),
        pytest.param(
            lambda: np.random.default_rng(5).integers(-128, 128, 2 * HOUR * SAMPLE_RATE, dtype=np.int8),
            id="2 h of noise",
        ),
        pytest.param(
            lambda: np.sin(np.arange(10 * 60 * SAMPLE_RATE) * 0.3).astype(np.float32), id="10 min of a tone"
        ),
    ],
)
def test_hostile_input_costs_bounded_work(hostile: object) -> None:
    samples = hostile()  # type: ignore[operator]
    landmarks = query_fingerprint(samples)
    assert landmarks.seconds == MAX_SECONDS
    # Two analysis grids, each at most PEAKS_PER_SECOND peaks a second with QUERY_FAN_OUT targets.
    assert len(landmarks) <= 2 * MAX_SECONDS * PEAKS_PER_SECOND * QUERY_FAN_OUT
    assert len(engine.query_landmarks(landmarks)) <= MAX_QUERY_LANDMARKS
    assert len(engine.storage_candidates(fingerprint(samples))) <= MAX_STORE_CANDIDATES
    assert len(stored(samples)) <= MAX_STORED_LANDMARKS


def test_silence_and_clicks_have_no_landmarks_worth_matching() -> None:
    assert len(fingerprint(np.zeros(SAMPLE_RATE * 30, np.float32))) == 0
    assert len(fingerprint(np.zeros(0, np.float32))) == 0
    assert len(fingerprint(np.ones(100, np.float32))) == 0  # shorter than one window


def test_a_comparison_expands_bounded_pairs() -> None:
    # One hash repeated everywhere on both sides: each query landmark meets at most HASH_CAPACITY stored ones.
    def repeated(count: int) -> Fingerprint:
        return Fingerprint(
            np.full(count, 12345, np.int64),
            np.arange(count, dtype=np.int32),
            np.zeros(count, np.float32),
            np.zeros(count, np.int32),
            30.0,
        )

    query, sound = repeated(2000), repeated(10_000)
    found = engine.hits(query, sound)
    assert len(found.offsets) == len(query) * engine.HASH_CAPACITY
    # A single repeated hash is one vote at each offset, however often it repeats: no alignment reaches the
    # votes a match needs.
    assert engine.compare(query, sound) is None
    assert engine.compare(query, query) is None


@pytest.mark.parametrize(
    ("samples", "rate", "message"),
    [
        (np.zeros((2, 8000), np.float32), SAMPLE_RATE, "mono"),
        (np.array(["a", "b"]), SAMPLE_RATE, "numeric"),
        (np.zeros(8000, np.float32), 1000, "sample rate"),
        (np.zeros(8000, np.float32), 10_000_000, "sample rate"),
    ],
)
def test_bad_input_is_refused(samples: npt.NDArray[np.generic], rate: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fingerprint(samples, rate)


def test_the_engine_imports_nothing_with_io() -> None:
    code = (
        "import sys, reelm.sounds.fingerprint; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'psycopg', 'av', 'imageio_ffmpeg', 'obstore', 'httpx', 'procrastinate'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
    result = subprocess.run(
        [sys.executable, "-c", code.replace("reelm.sounds.fingerprint", "reelm.sounds.matching")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    # The check above can see an import: the storage module does import SQLAlchemy.
    assert "sqlalchemy" in result.stdout


def test_a_videos_sound_decodes_to_mono_at_the_engines_rate(tmp_path: Path) -> None:
    clip = clips.make_clip(tmp_path, duration_s=1.5, audio=True)  # AAC, a 440 Hz tone
    samples = decode_mono(clip)
    assert samples.dtype == np.float32
    assert abs(len(samples) - 1.5 * SAMPLE_RATE) < 0.1 * SAMPLE_RATE
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(samples) == pytest.approx(440, abs=5)
    # Decoding stops at the bound, whatever the file holds.
    assert len(decode_mono(clip, max_seconds=0.5)) == SAMPLE_RATE // 2


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(lambda d: clips.make_clip(d, audio=False), "no_audio", id="no sound"),
        pytest.param(lambda d: _write(d, b"not a media file " * 100), "unreadable", id="garbage"),
        pytest.param(lambda d: _write(d, b""), "empty_file", id="empty"),
        pytest.param(lambda d: d / "missing.mp4", "unreadable", id="missing"),
    ],
)
def test_unreadable_audio_is_a_clear_error(tmp_path: Path, make: object, code: str) -> None:
    with pytest.raises(AudioUnreadable) as raised:
        decode_mono(make(tmp_path))  # type: ignore[operator]
    assert raised.value.code == code


def test_an_oversized_file_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    clip = clips.make_clip(tmp_path, audio=True)
    with pytest.raises(AudioUnreadable) as raised:
        decode_mono(clip, max_bytes=clip.stat().st_size - 1)
    assert raised.value.code == "too_large"


def _write(directory: Path, data: bytes) -> Path:
    path = directory / "upload.mp4"
    path.write_bytes(data)
    return path
