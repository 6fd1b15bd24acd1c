"""Storing a sound's landmarks, and finding the stored sound an upload's audio comes from.

An upload is linked to an existing sound when at least MIN_MATCH_SECONDS of its audio match that sound. The
lookup is two statements, bounded whatever the store holds or the upload contains: one index probe per
candidate hash to see which hashes are full (at most MAX_QUERY_CANDIDATES), then one probe per looked-up hash
(at most MAX_QUERY_LANDMARKS) reading at most HASH_CAPACITY rows each. The engine votes on those hits in
Python (`best_alignments`), exactly as it compares two fingerprints.

Both functions take the caller's session and never commit (the boundary owns the transaction). Storing
takes the hashes' "full" marks into account when it chooses (reelm.sounds.fingerprint, step 5) and sets a
mark once a hash reaches HASH_CAPACITY sounds. Two sounds stored at the same moment may both take a hash's
last place: the capacity is then exceeded by one or two, which the lookup's LIMIT still bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.sounds.fingerprint import (
    FRAME_SECONDS,
    HASH_CAPACITY,
    Fingerprint,
    Hashes,
    Hits,
    best_alignments,
    choose_query,
    choose_stored,
    is_match,
    query_candidates,
    storage_candidates,
)
from reelm.sounds.models import FULL_MARK, SoundLandmark

# The product rule (issue 16): an upload whose audio matches a sound for this long belongs to that sound.
MIN_MATCH_SECONDS = 5.0

_FULL_HASHES = text(
    "SELECT hash FROM sound_landmarks WHERE sound_id = :full AND hash = ANY(CAST(:hashes AS integer[]))"
)

_INSERT = text(
    "INSERT INTO sound_landmarks (sound_id, hash, frame) "
    "SELECT :sound_id, h, f FROM unnest(CAST(:hashes AS integer[]), CAST(:frames AS smallint[])) AS t(h, f)"
)

# A hash whose rows reach the capacity gets its mark; counting stops at the capacity, so this reads at most
# HASH_CAPACITY index entries per hash of the sound just stored.
_MARK_FULL = text(
    "INSERT INTO sound_landmarks (sound_id, hash, frame) "
    "SELECT :full, t.h, 0 FROM unnest(CAST(:hashes AS integer[])) AS t(h) "
    "WHERE (SELECT count(*) FROM (SELECT FROM sound_landmarks AS s "
    "       WHERE s.hash = t.h AND s.sound_id > :full LIMIT :capacity) AS r) >= :capacity "
    "ON CONFLICT DO NOTHING"
)

# Per distinct hash, at most `capacity` rows (the full mark sorts before them and is skipped by the range);
# each meets every query landmark of its hash. The hits come back in one row of two packed binary columns,
# the sound ids and (hash << 32 | stored frame << 16 | query frame): tens of thousands of hits are then one
# transfer and two numpy views rather than as many Python tuples (and half the aggregate calls of one column
# per field), and the engine votes on them as it does in a comparison of two fingerprints. Hashes have 24 bits
# and frames fewer than 16 (MAX_SECONDS / FRAME_SECONDS), so the fields do not overlap; in SQL, << and | bind
# alike, hence the parentheses.
_HITS = text(
    """
    WITH query AS (
        SELECT * FROM unnest(CAST(:hashes AS integer[]), CAST(:frames AS smallint[])) AS q(hash, frame)
    ),
    hits AS (
        SELECT l.sound_id, query.hash, l.frame, query.frame AS query_frame
        FROM (SELECT DISTINCT hash FROM query) AS wanted
        CROSS JOIN LATERAL (
            SELECT s.sound_id, s.frame FROM sound_landmarks AS s
            WHERE s.hash = wanted.hash AND s.sound_id > :full
            ORDER BY s.sound_id
            LIMIT :capacity
        ) AS l
        JOIN query ON query.hash = wanted.hash
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
    candidates = storage_candidates(landmarks)
    full = await _full_hashes(session, candidates.hashes)
    chosen = choose_stored(candidates, ~np.isin(candidates.hashes, full))
    await session.execute(delete(SoundLandmark).where(SoundLandmark.sound_id == sound_id))
    if len(chosen) == 0:
        return 0
    hashes = chosen.hashes.tolist()
    await session.execute(_INSERT, {"sound_id": sound_id, "hashes": hashes, "frames": chosen.frames.tolist()})
    await session.execute(_MARK_FULL, {"full": FULL_MARK, "hashes": hashes, "capacity": HASH_CAPACITY})
    return len(chosen)


async def forget_sound_landmarks(session: AsyncSession, sound_id: int) -> None:
    """Remove a sound's landmarks. The full marks of its hashes stay: a mark only steers new sounds to other
    hashes, and taking it back would need a count of every hash the sound had."""
    await session.execute(delete(SoundLandmark).where(SoundLandmark.sound_id == sound_id))


async def find_matching_sound(session: AsyncSession, landmarks: Fingerprint) -> SoundMatch | None:
    """The stored sound that at least MIN_MATCH_SECONDS of an upload's audio match (the one with the most
    evidence if several do), given the upload's `fingerprint.query_fingerprint`; None if none does."""
    candidates = query_candidates(landmarks)
    if len(candidates) == 0:
        return None
    full = await _full_hashes(session, candidates.hashes)
    query = choose_query(candidates, ~np.isin(candidates.hashes, full))
    packed = (
        await session.execute(
            _HITS,
            {
                "hashes": query.hashes.tolist(),
                "frames": query.frames.tolist(),
                "full": FULL_MARK,
                "capacity": HASH_CAPACITY,
            },
        )
    ).one()
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


async def _full_hashes(session: AsyncSession, hashes: Hashes) -> list[int]:
    if len(hashes) == 0:
        return []
    found = await session.execute(_FULL_HASHES, {"full": FULL_MARK, "hashes": np.unique(hashes).tolist()})
    return list(found.scalars())
