"""Storing sounds' landmarks in PostgreSQL and finding the sound an upload's audio comes from."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sqlalchemy import func, select

from reelm.runtime import Runtime
from reelm.sounds import fingerprint as engine
from reelm.sounds import matching
from reelm.sounds.fingerprint import fingerprint, query_fingerprint
from reelm.sounds.matching import (
    MIN_MATCH_SECONDS,
    find_matching_sound,
    forget_sound_landmarks,
    store_sound_landmarks,
)
from reelm.sounds.models import SoundLandmark
from tests.sounds import tracks

REALM = "us"
SECONDS = 20.0
SEEDS = (101, 102, 103, 104, 105)


@pytest.fixture(scope="module")
def songs() -> dict[int, tracks.Floats]:
    """Sound id -> its audio; ids are the seeds."""
    return {seed: tracks.song(seed, SECONDS) for seed in SEEDS}


async def store_all(runtime: Runtime, songs: dict[int, tracks.Floats]) -> None:
    async with runtime.databases.transaction(REALM) as session:
        for sound_id, audio in songs.items():
            assert await store_sound_landmarks(session, sound_id, fingerprint(audio)) > 0


async def find(runtime: Runtime, audio: tracks.Floats) -> matching.SoundMatch | None:
    async with runtime.databases.read(REALM) as session:
        return await find_matching_sound(session, query_fingerprint(audio))


async def test_a_distorted_copy_finds_its_sound(runtime: Runtime, songs: dict[int, tracks.Floats]) -> None:
    await store_all(runtime, songs)
    # Re-encoded at 64 kbit/s, cut 4.6 s in, under 10 dB of noise: several distortions at once.
    copy = tracks.with_noise(tracks.trimmed(tracks.reencoded(songs[103]), 4.6), 10.0, seed=7)
    found = await find(runtime, copy)
    assert found is not None
    assert found.sound_id == 103
    assert found.matched_seconds >= MIN_MATCH_SECONDS
    # The upload starts 4.6 s into the sound (the offset is measured in 32 ms frames, give or take one).
    assert found.offset_seconds == pytest.approx(4.6, abs=0.07)


async def test_an_unrelated_track_finds_nothing(runtime: Runtime, songs: dict[int, tracks.Floats]) -> None:
    await store_all(runtime, songs)
    assert await find(runtime, tracks.song(999, SECONDS)) is None
    assert await find(runtime, tracks.speech(998, SECONDS)) is None


async def test_an_overlap_under_five_seconds_is_not_a_match(
    runtime: Runtime, songs: dict[int, tracks.Floats]
) -> None:
    await store_all(runtime, songs)
    # 3.5 s of a stored song, then other music: too short to be the same sound, though its landmarks vote.
    short = np.concatenate([tracks.excerpt(songs[102], 6.0, 3.5), tracks.song(997, 12.0)])
    assert await find(runtime, short) is None
    # The same kind of upload with 9 s of the song is one (so the rule, not the lookup, said no above).
    longer = np.concatenate([tracks.excerpt(songs[102], 6.0, 9.0), tracks.song(997, 12.0)])
    found = await find(runtime, longer)
    assert found is not None
    assert found.sound_id == 102


async def test_the_database_counts_the_votes_the_engine_counts(
    runtime: Runtime, songs: dict[int, tracks.Floats]
) -> None:
    await store_all(runtime, {104: songs[104]})
    copy = tracks.with_gain(tracks.trimmed(songs[104], 2.3), -12.0)
    found = await find(runtime, copy)
    assert found is not None
    # The engine on its own: the sound chose in an empty store, where every hash held no sound.
    candidates = engine.storage_candidates(fingerprint(songs[104]))
    stored = engine.choose_stored(candidates, np.zeros(len(candidates), np.int64))
    alignment = engine.compare(engine.query_landmarks(query_fingerprint(copy)), stored)
    assert alignment is not None
    assert (found.sound_id, found.score, found.matched_seconds) == (104, alignment.votes, alignment.seconds)


async def test_storing_again_replaces_and_forgetting_removes(
    runtime: Runtime, songs: dict[int, tracks.Floats]
) -> None:
    async with runtime.databases.transaction(REALM) as session:
        first = await store_sound_landmarks(session, 105, fingerprint(songs[105]))
        again = await store_sound_landmarks(session, 105, fingerprint(songs[105]))
        rows = await session.scalar(select(func.count()).where(SoundLandmark.sound_id == 105))
        assert first == again == rows
        await forget_sound_landmarks(session, 105)
        assert await session.scalar(select(func.count()).where(SoundLandmark.sound_id == 105)) == 0
    assert await find(runtime, songs[105]) is None
    async with runtime.databases.transaction(REALM) as session:
        with pytest.raises(ValueError, match="positive"):
            await store_sound_landmarks(session, 0, fingerprint(songs[105]))


async def test_sounds_spread_over_the_least_shared_hashes(
    runtime: Runtime, songs: dict[int, tracks.Floats], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With room for two sounds per hash, the same song stored again and again: each copy takes the song's
    # strong hashes that hold the fewest copies so far, so the first copies share none, no hash ever holds
    # more than two, and once every candidate is taken twice a copy stores nothing.
    monkeypatch.setattr(matching, "HASH_CAPACITY", 2)
    monkeypatch.setattr(engine, "HASH_CAPACITY", 2)
    landmarks = fingerprint(songs[101])
    copies = range(1, 26)
    async with runtime.databases.transaction(REALM) as session:
        stored = [await store_sound_landmarks(session, sound_id, landmarks) for sound_id in copies]
    async with runtime.databases.read(REALM) as session:
        rows = (await session.execute(select(SoundLandmark.sound_id, SoundLandmark.hash))).all()
    hashes = {sound_id: {h for s, h in rows if s == sound_id} for sound_id in copies}
    assert hashes[1]
    assert not hashes[1] & hashes[2]
    assert not (hashes[1] | hashes[2]) & hashes[3]
    assert max(Counter(h for _, h in rows).values()) == 2
    assert stored[0] == len(hashes[1])
    assert stored[-1] == 0
    # An upload still finds the song, as one of its copies.
    found = await find(runtime, tracks.with_noise(songs[101], 15.0, seed=3))
    assert found is not None
    assert found.sound_id in copies
