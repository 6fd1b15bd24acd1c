"""Storing a sound's landmarks, and finding the stored sound an upload's audio comes from.

An upload is linked to an existing sound when at least MIN_MATCH_SECONDS of its audio match that sound. The
lookup is one statement, bounded whatever the store holds or the upload contains: one index probe per distinct
hash looked up (at most MAX_QUERY_LANDMARKS), reading at most HASH_CAPACITY rows each, of which only those of
sounds sharing MIN_VOTES hashes or more come back. The engine votes on those hits in Python
(`best_alignments`), exactly as it compares two fingerprints.

Storing reads how many sounds each candidate hash holds (counting stops at HASH_CAPACITY, so at most that
many index entries per candidate) and lets the engine choose the least loaded (reelm.sounds.fingerprint, step
5). Two sounds stored at the same moment may both take a hash's last place and exceed the capacity by one or
two; the lookup's LIMIT bounds its reads all the same. Both functions take the caller's session and never
commit (the boundary owns the transaction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.sounds.fingerprint import (
    FRAME_SECONDS,
    HASH_CAPACITY,
    MIN_VOTES,
    Fingerprint,
    Hits,
    best_alignments,
    choose_stored,
    is_match,
    query_landmarks,
    storage_candidates,
)
from reelm.sounds.models import SoundLandmark

# The product rule (issue 16): an upload whose audio matches a sound for this long belongs to that sound.
MIN_MATCH_SECONDS = 5.0

# How many sounds each hash holds, counted up to the capacity: at most that many index entries per hash.
_LOADS = text(
    "SELECT t.hash, (SELECT count(*) FROM (SELECT FROM sound_landmarks AS s WHERE s.hash = t.hash "
    "LIMIT :capacity) AS r) FROM unnest(CAST(:hashes AS integer[])) AS t(hash)"
)

_INSERT = text(
    "INSERT INTO sound_landmarks (sound_id, hash, frame) "
    "SELECT :sound_id, h, f FROM unnest(CAST(:hashes AS integer[]), CAST(:frames AS smallint[])) AS t(h, f)"
)

# Per distinct hash, at most `capacity` rows. A sound stores a hash once, so the rows of one sound count the
# distinct hashes it shares with the upload: a sound sharing fewer than MIN_VOTES cannot reach MIN_VOTES at
# any offset, and its rows are dropped before they meet the query's landmarks (in a million sounds, nearly
# every row read is such a chance sharer: 40,000 hits per upload were sent and voted on, 116 are now). The
# survivors' rows each meet every query landmark of their hash. The hits come back in one row of two packed
# binary columns, the sound ids and (hash << 32 | stored frame << 16 | query frame): one transfer and two
# numpy views rather than as many Python tuples, and the engine votes on them as it does in a comparison of
# two fingerprints. Hashes have 24 bits and frames fewer than 16 (MAX_SECONDS / FRAME_SECONDS), so the fields
# do not overlap; in SQL, << and | bind alike, hence the parentheses.
_HITS = text(
    """
    WITH query AS (
        SELECT * FROM unnest(CAST(:hashes AS integer[]), CAST(:frames AS smallint[])) AS q(hash, frame)
    ),
    stored AS (
        SELECT wanted.hash, l.sound_id, l.frame
        FROM (SELECT DISTINCT hash FROM query) AS wanted
        CROSS JOIN LATERAL (
            SELECT s.sound_id, s.frame FROM sound_landmarks AS s
            WHERE s.hash = wanted.hash
            ORDER BY s.sound_id
            LIMIT :capacity
        ) AS l
    ),
    candidates AS (
        SELECT sound_id FROM stored GROUP BY sound_id HAVING count(*) >= :min_votes
    ),
    hits AS (
        SELECT stored.sound_id, stored.hash, stored.frame, query.frame AS query_frame
        FROM stored
        JOIN candidates ON candidates.sound_id = stored.sound_id
        JOIN query ON query.hash = stored.hash
    )
    SELECT string_agg(int8send(sound_id), ''),
           string_agg(int8send((CAST(hash AS bigint) << 32) | (CAST(frame AS bigint) << 16) | query_frame),
                      '')
    FROM hits
    """
)


@dataclass(frozen=True)
class SoundMatch:
    """The stored sound an upload's audio matches: how much of it matched, and the evidence (distinct hashes
    at one offset)."""

    sound_id: int
    matched_seconds: float
    score: int
    offset_seconds: float  # where the upload's audio starts in the sound (negative: before it)


async def store_sound_landmarks(session: AsyncSession, sound_id: int, landmarks: Fingerprint) -> int:
    """Store what a sound keeps of `landmarks` (from `fingerprint.fingerprint`), replacing any rows it had;
    returns how many landmarks were stored."""
    if sound_id <= 0:
        raise ValueError(f"sound ids are positive, got {sound_id}")
    await session.execute(delete(SoundLandmark).where(SoundLandmark.sound_id == sound_id))
    candidates = storage_candidates(landmarks)
    if len(candidates) == 0:
        return 0
    counted = await session.execute(_LOADS, {"hashes": candidates.hashes.tolist(), "capacity": HASH_CAPACITY})
    load_of: dict[int, int] = dict(counted.all())
    loads = np.array([load_of[h] for h in candidates.hashes.tolist()], np.int64)
    chosen = choose_stored(candidates, loads)
    if len(chosen):
        rows = {"sound_id": sound_id, "hashes": chosen.hashes.tolist(), "frames": chosen.frames.tolist()}
        await session.execute(_INSERT, rows)
    return len(chosen)


async def forget_sound_landmarks(session: AsyncSession, sound_id: int) -> None:
    """Remove a sound's landmarks (its hashes then hold one sound fewer)."""
    await session.execute(delete(SoundLandmark).where(SoundLandmark.sound_id == sound_id))


async def find_matching_sound(session: AsyncSession, landmarks: Fingerprint) -> SoundMatch | None:
    """The stored sound that at least MIN_MATCH_SECONDS of an upload's audio match (the one with the most
    evidence if several do), given the upload's `fingerprint.query_fingerprint`; None if none does."""
    query = query_landmarks(landmarks)
    if len(query) == 0:
        return None
    parameters = {
        "hashes": query.hashes.tolist(),
        "frames": query.frames.tolist(),
        "capacity": HASH_CAPACITY,
        "min_votes": MIN_VOTES,
    }
    packed = (await session.execute(_HITS, parameters)).one()
    if packed[0] is None:  # no hash in common with any sound
        return None
    sound_ids = np.frombuffer(packed[0], ">i8").astype(np.int64)
    fields = np.frombuffer(packed[1], ">i8").astype(np.int64)
    hashes, frames, query_frames = fields >> 32, (fields >> 16) & 0xFFFF, fields & 0xFFFF
    alignments = best_alignments(Hits(sound_ids, frames - query_frames, hashes, frames))
    best: SoundMatch | None = None
    for sound_id, alignment in sorted(alignments.items()):
        if not is_match(alignment, min_seconds=MIN_MATCH_SECONDS):
            continue
        if best is None or (alignment.votes, alignment.seconds) > (best.score, best.matched_seconds):
            best = SoundMatch(
                sound_id=sound_id,
                matched_seconds=alignment.seconds,
                score=alignment.votes,
                offset_seconds=alignment.offset * FRAME_SECONDS,
            )
    return best
