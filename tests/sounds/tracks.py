"""Generated test audio: music-like songs, a speech-like voice, and what an upload's audio goes through.

Shared by the tests (tests/sounds) and the benchmark (bench/fingerprint.py); every function is seeded.

A song: a tempo (70-170 bpm), a key and a scale, a four-chord progression; a melody (random walk over the
scale, eighth notes to half notes, with rests) played by an instrument of random harmonic timbre (4-10
harmonics with their own decay, attack, vibrato), a bass line on the chords' roots, a chord pad, and drums
(kick, snare, hi-hat, each tuned per song) in a pattern of the song's own. Two seeds share the instruments'
kinds and the drum machine's sounds, as songs do, so chance landmarks between songs are realistic.

A voice: syllables of a pulse train at a drifting pitch (90-240 Hz) through three formant resonators, with
fricatives (filtered noise bursts) and pauses between words and phrases.

Distortions: `DISTORTIONS` names each, with what it does to the original (see `distort`).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.io.wavfile
import scipy.signal

from reelm import ffmpeg
from reelm.sounds.audio import decode_mono
from reelm.sounds.fingerprint import SAMPLE_RATE

Floats = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_SCALES = (
    (0, 2, 4, 5, 7, 9, 11),
    (0, 2, 3, 5, 7, 8, 10),
    (0, 2, 4, 7, 9),
    (0, 3, 5, 7, 10),
    (0, 2, 3, 5, 7, 9, 10),
)
_ENCODE_TIMEOUT_S = 120


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _tone(
    rng: np.random.Generator,
    hz: float,
    seconds: float,
    rate: int,
    harmonics: _F64,
    attack: float,
    decay: float,
) -> _F64:
    """One note: harmonics below Nyquist, an attack, an exponential decay per harmonic, a slight vibrato."""
    n = max(1, int(seconds * rate))
    t = np.arange(n) / rate
    vibrato = 1 + 0.004 * np.sin(2 * np.pi * rng.uniform(4, 6) * t)
    phase = 2 * np.pi * hz * np.cumsum(vibrato) / rate
    note = np.zeros(n)
    for k, amplitude in enumerate(harmonics, start=1):
        if hz * k >= rate / 2 * 0.95:
            break
        note += amplitude * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) * np.exp(-t * decay * (1 + 0.3 * k))
    envelope = np.minimum(1.0, t / attack) * np.minimum(1.0, (seconds - t) / 0.02).clip(0)
    return np.asarray(note * envelope, dtype=np.float64)


def _place(track: _F64, sound: _F64, at: int) -> None:
    end = min(len(track), at + len(sound))
    if at < end:
        track[at:end] += sound[: end - at]


def _kick(rng: np.random.Generator, rate: int, pitch: float) -> _F64:
    t = np.arange(int(0.25 * rate)) / rate
    hz = 45 + pitch * np.exp(-t * 30)
    return np.asarray(np.sin(2 * np.pi * np.cumsum(hz) / rate) * np.exp(-t * 14), dtype=np.float64)


def _snare(rng: np.random.Generator, rate: int, centre: float, body: float) -> _F64:
    t = np.arange(int(0.2 * rate)) / rate
    sos = scipy.signal.butter(
        2, [centre * 0.6, min(centre * 1.6, rate / 2 * 0.95)], "bandpass", fs=rate, output="sos"
    )
    noise = _peak_one(scipy.signal.sosfilt(sos, rng.standard_normal(len(t))))
    return (0.7 * noise + 0.5 * np.sin(2 * np.pi * body * t)) * np.exp(-t * 22)


def _hat(rng: np.random.Generator, rate: int, cutoff: float) -> _F64:
    t = np.arange(int(0.06 * rate)) / rate
    sos = scipy.signal.butter(2, min(cutoff, rate / 2 * 0.9), "highpass", fs=rate, output="sos")
    return _peak_one(scipy.signal.sosfilt(sos, rng.standard_normal(len(t)))) * np.exp(-t * 60)


def _peak_one(sound: npt.ArrayLike) -> _F64:
    array = np.asarray(sound, dtype=np.float64)
    return array / (float(np.abs(array).max()) + 1e-9)


def _timbre(rng: np.random.Generator) -> tuple[_F64, float, float]:
    count = int(rng.integers(4, 11))
    harmonics = rng.uniform(0.3, 1.0, count) / np.arange(1, count + 1) ** rng.uniform(0.6, 1.8)
    return harmonics, float(rng.uniform(0.005, 0.04)), float(rng.uniform(0.3, 3.0))


def song(seed: int, seconds: float, rate: int = SAMPLE_RATE) -> Floats:
    """A seeded piece of music, peak-normalised to 0.9."""
    rng = np.random.default_rng(seed)
    track = np.zeros(int(seconds * rate))
    beat = 60.0 / rng.uniform(70, 170)
    root = int(rng.integers(45, 58))
    scale = _SCALES[int(rng.integers(len(_SCALES)))]
    degrees = [root + 12 * octave + step for octave in range(3) for step in scale]
    progression = [int(d) for d in rng.choice(len(scale), size=4, replace=True)]
    lead, bass, pad = _timbre(rng), _timbre(rng), _timbre(rng)
    bar = 4 * beat
    # Melody: a random walk over the scale, an octave or two above the root.
    position, at = len(scale) + int(rng.integers(len(scale))), 0.0
    while at < seconds:
        length = beat * float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
        if rng.random() > 0.15:
            position = int(np.clip(position + rng.integers(-3, 4), len(scale), len(degrees) - 1))
            note = _tone(rng, _midi_hz(degrees[position]), length * 1.1, rate, *lead)
            _place(track, 0.5 * note, int(at * rate))
        at += length
    # Bass on each beat, the root of the bar's chord; a pad with the chord's triad, one per bar.
    for index, start in enumerate(np.arange(0, seconds, bar)):
        chord = progression[index % 4]
        bass_note = _midi_hz(root - 12 + scale[chord])
        for b in range(4):
            _place(
                track, 0.45 * _tone(rng, bass_note, beat * 0.9, rate, *bass), int((start + b * beat) * rate)
            )
        for third in (0, 2, 4):
            degree = degrees[(chord + third) % len(degrees)]
            _place(track, 0.12 * _tone(rng, _midi_hz(degree), bar, rate, *pad), int(start * rate))
    # Drums: a pattern of sixteen eighths per two bars, tuned per song.
    kick, snare = (
        _kick(rng, rate, rng.uniform(60, 140)),
        _snare(rng, rate, rng.uniform(1200, 3000), rng.uniform(150, 260)),
    )
    hat = _hat(rng, rate, rng.uniform(2500, 3800))
    kicks = (rng.random(16) < 0.25) | np.isin(np.arange(16), [0, 8])
    snares = np.isin(np.arange(16), [4, 12]) | (rng.random(16) < 0.08)
    hats = rng.random(16) < 0.7
    for index, start in enumerate(np.arange(0, seconds, beat / 2)):
        slot = index % 16
        for hit, sound, level in ((kicks, kick, 0.6), (snares, snare, 0.35), (hats, hat, 0.12)):
            if hit[slot]:
                _place(track, level * sound, int(start * rate))
    return _normalised(track)


def speech(seed: int, seconds: float, rate: int = SAMPLE_RATE) -> Floats:
    """A seeded speech-like voice (not words: formant-filtered pulses and noise), peak-normalised to 0.9."""
    rng = np.random.default_rng(seed)
    track = np.zeros(int(seconds * rate))
    pitch = rng.uniform(90, 240)
    at = 0.0
    while at < seconds:
        for _ in range(int(rng.integers(1, 5))):  # syllables of a word
            length = rng.uniform(0.12, 0.3)
            n = int(length * rate)
            f0 = pitch * (1 + 0.15 * np.sin(np.linspace(0, rng.uniform(1, 3), n))) * rng.uniform(0.9, 1.1)
            phase = np.cumsum(f0) / rate
            pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
            voiced = pulses
            for formant, width in (
                (rng.uniform(300, 850), 80),
                (rng.uniform(850, 2300), 120),
                (rng.uniform(2300, 3300), 200),
            ):
                voiced = voiced + _resonate(pulses, formant, width, rate)
            voiced *= np.hanning(n)
            _place(track, voiced / (np.abs(voiced).max() + 1e-9), int(at * rate))
            at += length
            if rng.random() < 0.3:  # a fricative
                burst = int(rng.uniform(0.05, 0.12) * rate)
                sos = scipy.signal.butter(
                    2, min(rng.uniform(2500, 3500), rate / 2 * 0.9), "highpass", fs=rate, output="sos"
                )
                noise = _peak_one(scipy.signal.sosfilt(sos, rng.standard_normal(burst)) * np.hanning(burst))
                _place(track, 0.4 * noise, int(at * rate))
                at += burst / rate
        at += rng.uniform(0.05, 0.3) if rng.random() < 0.8 else rng.uniform(0.4, 0.8)
    return _normalised(track)


def _resonate(signal: _F64, hz: float, bandwidth: float, rate: int) -> _F64:
    radius = math.exp(-math.pi * bandwidth / rate)
    a = [1.0, -2 * radius * math.cos(2 * math.pi * hz / rate), radius * radius]
    out: _F64 = scipy.signal.lfilter([1 - radius], a, signal)
    return out


def _normalised(track: _F64) -> Floats:
    return (0.9 * track / (float(np.abs(track).max()) + 1e-12)).astype(np.float32)


# --- distortions -----------------------------------------------------------------------------------------


def with_offset(track: Floats, seconds: float, seed: int, rate: int = SAMPLE_RATE) -> Floats:
    """The track starting `seconds` late, after quiet room noise (an upload that opens on something else)."""
    lead = np.random.default_rng(seed).standard_normal(int(seconds * rate)) * 0.003
    return np.concatenate([lead.astype(np.float32), track]).astype(np.float32)


def with_gain(track: Floats, db: float) -> Floats:
    """Louder or quieter; louder clips at full scale, as a hot recording does."""
    return np.asarray(np.clip(track * 10 ** (db / 20), -1.0, 1.0), dtype=np.float32)


def with_noise(track: Floats, snr_db: float, seed: int) -> Floats:
    """White noise at `snr_db` below the track's power."""
    power = float(np.mean(track.astype(np.float64) ** 2))
    noise = np.random.default_rng(seed).standard_normal(len(track)) * math.sqrt(power / 10 ** (snr_db / 10))
    return (track + noise).astype(np.float32)


def trimmed(track: Floats, seconds: float, rate: int = SAMPLE_RATE) -> Floats:
    """Without its first `seconds` (a cut at an arbitrary sample, not on a frame boundary)."""
    return track[int(seconds * rate) :]


def excerpt(track: Floats, start: float, seconds: float, rate: int = SAMPLE_RATE) -> Floats:
    return track[int(start * rate) : int((start + seconds) * rate)]


def under_speech(track: Floats, voice: Floats, music_db: float) -> Floats:
    """The track as background music `music_db` below a voice-over of the same power."""
    n = min(len(track), len(voice))
    music, talk = track[:n].astype(np.float64), voice[:n].astype(np.float64)
    scale = math.sqrt(float(np.mean(talk**2)) / max(float(np.mean(music**2)), 1e-12)) * 10 ** (-music_db / 20)
    return _normalised(talk + music * scale)


def write_wav(path: Path, track: Floats, rate: int = SAMPLE_RATE) -> Path:
    scipy.io.wavfile.write(path, rate, (np.clip(track, -1, 1) * 32767).astype(np.int16))
    return path


def reencoded(track: Floats, codec: str = "aac", rate: int = SAMPLE_RATE) -> Floats:
    """Through a lossy codec at 64 kbit/s (44.1 kHz, as a phone app would re-encode), decoded back by PyAV."""
    encoders = {"aac": ("aac", "m4a", "ipod"), "mp3": ("libmp3lame", "mp3", "mp3")}
    encoder, suffix, muxer = encoders[codec]
    with tempfile.TemporaryDirectory(prefix="reelm-sound-") as tmp:
        source = write_wav(Path(tmp) / "source.wav", track, rate)
        out = Path(tmp) / f"coded.{suffix}"
        args = ["-i", str(source), "-ar", "44100", "-c:a", encoder, "-b:a", "64k", "-f", muxer, str(out)]
        ffmpeg.run_sync(args, timeout_s=_ENCODE_TIMEOUT_S).raise_if_failed()
        return decode_mono(out)


# name -> what it does, given the original and a seed; every copy still holds at least 10 s of the original.
DISTORTIONS: dict[str, Callable[[Floats, int], Floats]] = {
    "offset": lambda track, seed: with_offset(track, 3.3 + (seed % 7) * 0.37, seed),
    "gain": lambda track, seed: with_gain(track, -18.0 if seed % 2 else 8.0),
    "noise": lambda track, seed: with_noise(track, 10.0, seed),
    "aac64k": lambda track, seed: reencoded(track, "aac"),
    "mp3_64k": lambda track, seed: reencoded(track, "mp3"),
    "trimmed": lambda track, seed: trimmed(track, 4.0 + (seed % 5) * 0.613),
    "under_speech": lambda track, seed: under_speech(
        track, speech(seed + 1_000_003, len(track) / SAMPLE_RATE), 6.0
    ),
}


def distort(name: str, track: Floats, seed: int) -> Floats:
    return DISTORTIONS[name](track, seed)
