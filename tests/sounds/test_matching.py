"""Storing sounds' landmarks in PostgreSQL and finding the sound an upload's audio comes from."""

from __future__ import annotations

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
from reelm.sounds.models import FULL_MARK, SoundLandmark
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
    await store_all(runtime, songs)
    copy = tracks.with_gain(tracks.trimmed(songs[104], 2.3), -12.0)
    found = await find(runtime, copy)
    assert found is not None
    # The engine on its own, with every hash having room (the store is nowhere near full here).
    stored_candidates = engine.storage_candidates(fingerprint(songs[104]))
    stored = engine.choose_stored(stored_candidates, np.ones(len(stored_candidates), bool))
    query_candidates = engine.query_candidates(query_fingerprint(copy))
    query = engine.choose_query(query_candidates, np.ones(len(query_candidates), bool))
    alignment = engine.compare(query, stored)
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
            await store_sound_landmarks(session, FULL_MARK, fingerprint(songs[105]))


async def test_a_full_hash_takes_no_more_sounds(
    runtime: Runtime, songs: dict[int, tracks.Floats], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With room for two sounds per hash, the same song stored three times: the third cannot use the hashes the
    # first two filled, so it keeps other landmarks of the song; every lookup still reads two rows per hash.
    monkeypatch.setattr(matching, "HASH_CAPACITY", 2)
    monkeypatch.setattr(engine, "HASH_CAPACITY", 2)
    landmarks = fingerprint(songs[101])
    async with runtime.databases.transaction(REALM) as session:
        for sound_id in (1, 2, 3):
            await store_sound_landmarks(session, sound_id, landmarks)
    async with runtime.databases.read(REALM) as session:
        rows = (await session.execute(select(SoundLandmark.sound_id, SoundLandmark.hash))).all()
    hashes = {sound_id: {h for s, h in rows if s == sound_id} for sound_id in (FULL_MARK, 1, 2, 3)}
    assert hashes[1] == hashes[2]
    assert hashes[FULL_MARK] == hashes[1]
    assert hashes[3]
    assert not hashes[3] & hashes[1]
    found = await find(runtime, tracks.with_noise(songs[101], 15.0, seed=3))
    assert found is not None
    assert found.sound_id in {1, 2, 3}
