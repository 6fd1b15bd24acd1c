"""A published video's audio becomes a sound; a re-upload of the same song joins it; no audio, no sound."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import func, select

from reelm import ffmpeg
from reelm.runtime import Runtime
from reelm.sounds.fingerprint import SAMPLE_RATE
from reelm.sounds.models import Sound, SoundLandmark, SoundStatus
from reelm.videos.models import Video
from tests import clips
from tests.conftest import make_account, run_jobs
from tests.factories import publish
from tests.sounds import tracks

SONG_S = 9.0


def song_video(directory: Path, name: str, track: tracks.Floats, colour: str) -> Path:
    """A small portrait clip of one colour over the given audio."""
    wav = tracks.write_wav(directory / f"{name}.wav", track)
    out = directory / f"{name}.mp4"
    seconds = len(track) / SAMPLE_RATE
    ffmpeg.run_sync(
        [
            *("-f", "lavfi", "-i", f"color=c={colour}:s=180x320:r=24:d={seconds:.3f}"),
            *("-i", str(wav), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-b:a", "128k", "-shortest", "-f", "mp4", str(out)),
        ],
        timeout_s=120,
    ).raise_if_failed()
    return out


async def sound_of(runtime: Runtime, realm: str, video_id: str) -> int | None:
    async with runtime.databases.read(realm) as session:
        return await session.scalar(select(Video.sound_id).where(Video.id == int(video_id)))


async def test_audio_becomes_a_sound_and_the_same_song_joins_it(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada = await make_account(client, "ada")
    bob = await make_account(client, "bob")
    song = tracks.song(seed=11, seconds=SONG_S)
    original = await publish(client, runtime, ada, song_video(tmp_path, "original", song, "red"))
    await run_jobs(runtime, ada.realm)  # the sound job, deferred when the video was published

    sound_id = await sound_of(runtime, ada.realm, original)
    assert sound_id is not None
    async with runtime.databases.read(ada.realm) as session:
        sound = await session.get(Sound, sound_id)
        assert sound is not None
        landmarks = await session.scalar(
            select(func.count()).select_from(SoundLandmark).where(SoundLandmark.sound_id == sound_id)
        )
    assert (sound.owner_id, sound.video_id) == (int(ada.id), int(original))
    assert sound.status == SoundStatus.AVAILABLE
    assert abs(sound.duration_s - SONG_S) < 0.5
    assert abs(sound.loudness_lufs - (-14.0)) <= 1.0
    assert len(sound.waveform) > 50
    assert 50 < max(sound.waveform) <= 100
    assert min(sound.waveform) >= 0
    assert landmarks is not None
    assert landmarks > 0
    stored = tmp_path / "stored.m4a"
    await runtime.storage.realm(ada.realm).download(sound.audio_key, stored)
    assert abs(await asyncio.to_thread(clips.loudness_lufs, stored) - (-14.0)) <= 1.0

    # The same song, trimmed, quieter and under noise, in another picture: the same sound.
    copy = tracks.with_noise(tracks.with_gain(tracks.trimmed(song, 1.5), -6.0), snr_db=20.0, seed=3)
    again = await publish(client, runtime, bob, song_video(tmp_path, "again", copy, "blue"))
    await run_jobs(runtime, bob.realm)
    assert await sound_of(runtime, bob.realm, again) == sound_id

    # Another song is another sound; a video without audio has none.
    other = await publish(
        client, runtime, bob, song_video(tmp_path, "other", tracks.song(seed=12, seconds=SONG_S), "green")
    )
    silent = await publish(client, runtime, bob, clips.make_clip(tmp_path, audio=False, name="mute.mp4"))
    await run_jobs(runtime, bob.realm)
    other_sound = await sound_of(runtime, bob.realm, other)
    assert other_sound is not None
    assert other_sound != sound_id
    assert await sound_of(runtime, bob.realm, silent) is None
