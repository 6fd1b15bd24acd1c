"""Audio fingerprints: landmark hashes of spectrogram peak pairs, compared by voting on a time offset.

The scheme is the one A. Wang describes in "An Industrial-Strength Audio Search Algorithm" (ISMIR 2003, the
Shazam paper); this is our own implementation of it, with our own parameters and selection rules:

1. **Signal.** Mono PCM, resampled to SAMPLE_RATE (8000 Hz: melody and rhythm live below 4 kHz, and lossy
   codecs keep that band), at most MAX_SECONDS of it. NaN and infinite samples count as silence and the level
   is normalised, so gain plays no part.
2. **Spectrogram.** Hann windows of WINDOW samples (128 ms) every HOP samples (32 ms, one "frame"); the level
   in dB of bins FIRST_BIN-LAST_BIN (7.8 Hz apart, 62 Hz-3.7 kHz: the edges hold rumble, and the resampler's
   roll-off, where every drum machine's hi-hat looks the same).
3. **Constellation.** A peak is a point that is the loudest within +-PEAK_BINS bins and +-PEAK_FRAMES frames
   and at most FLOOR_DB below the clip's loudest point; each second keeps its PEAKS_PER_SECOND loudest. Loud
   peaks are what survives noise, gain, re-encoding and a voice over the music: the paper's observation.
4. **Landmarks.** Each peak (the anchor) pairs with the next peaks of its target zone (1-63 frames later, at
   most MAX_DF bins away), the nearest first. A pair's hash is anchor bin (9 bits) | bin step + MAX_DF
   (9 bits) | frame step (6 bits), 24 bits, kept with the anchor's frame: the hash says what, the frame says
   when, and an excerpt has the same hashes wherever it starts. A sound keeps pairs with its FAN_OUT nearest
   targets; an upload's query forms pairs with QUERY_FAN_OUT, so a target pushed back by peaks of an added
   voice or noise still pairs. A landmark's strength is the level of its weaker peak.
5. **Spreading.** Tonal music is not random: anchors sit on the notes of scales, steps on common intervals and
   rhythms, so some hashes are very common (about 14 of the 24 bits carry information on our generated music),
   and a store of a million sounds holding each sound's strongest landmarks would make a lookup read
   thousands of rows per common hash. So a sound stores, per half-second bucket, STORED_PER_BUCKET of its
   STORE_CANDIDATES_PER_BUCKET strongest landmarks (each hash once): those whose hashes hold the fewest sounds
   so far (reelm.sounds.matching counts them), the strongest among equals, and never a hash that already holds
   HASH_CAPACITY sounds. This is the "power of choices" of balanced allocations (Azar, Broder, Karlin and
   Upfal, "Balanced Allocations", 1994): placing each item in the least loaded of a few candidate places keeps
   every load close to the mean. In a simulated store of 1,000,000 sounds (bench/fingerprint.py) the loads
   averaged 16 sounds per hash, 31 at the 99th percentile and 44 at most, where the strongest-first rule had
   filled a million hashes to capacity.
6. **Query.** An upload looks up, per bucket, its QUERY_PER_BUCKET strongest landmarks (at most
   MAX_QUERY_LANDMARKS, spread over the clip): a superset, under distortion, of the candidates the sound
   chose among, whatever their loads were then.
7. **Matching.** Every hash shared by a query and a stored sound votes for the offset between their frames.
   A copy piles its votes on one offset (OFFSET_WINDOW consecutive offsets, since a peak may move by a frame
   after re-encoding or trimming); hashes shared by chance scatter. Votes count distinct hashes, so a drum
   loop repeated at the same tempo in two songs adds one vote, not one per bar. The covered audio is measured
   on the stored sound, from the first matching anchor to the last matching target (`Alignment.seconds`).

Everything is bounded whatever the input: samples analysed, peaks per second, targets per peak, landmarks kept
and looked up, and the pairs a comparison expands (HASH_CAPACITY per hash, as the database lookup reads). This
module does no I/O (the layer rule for pure engines): decoding is reelm.sounds.audio, storage
reelm.sounds.matching.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.ndimage
import scipy.signal

SAMPLE_RATE = 8000
MAX_SECONDS = 120.0
# Rates `fingerprint` accepts and resamples from; below the minimum, the band analysed is not there.
MIN_RATE = 4000
MAX_RATE = 384_000
WINDOW = 1024
HOP = 256
FRAME_SECONDS = HOP / SAMPLE_RATE
FIRST_BIN = 8
LAST_BIN = 470

PEAK_BINS = 10
PEAK_FRAMES = 4
FLOOR_DB = 70.0
PEAKS_PER_SECOND = 24
_FRAMES_PER_SECOND = round(1 / FRAME_SECONDS)

DT_BITS = 6
MAX_DT = (1 << DT_BITS) - 1  # frames, about 2 s
_DF_BITS = 9
MAX_DF = (1 << (_DF_BITS - 1)) - 1  # bins, so that step + MAX_DF fits in _DF_BITS
_BIN_BITS = 9
HASH_BITS = _BIN_BITS + _DF_BITS + DT_BITS
FAN_OUT = 6
QUERY_FAN_OUT = 12
# An anchor's zone (MAX_DT + 1 frames) touches at most this many one-second blocks of peaks, so every target
# lies within this many places after its anchor in time order.
_MAX_STEP = PEAKS_PER_SECOND * (MAX_DT // _FRAMES_PER_SECOND + 2)

BUCKET_FRAMES = 16  # about half a second
_MAX_BUCKETS = math.ceil(MAX_SECONDS / (BUCKET_FRAMES * FRAME_SECONDS))
STORED_PER_BUCKET = 3
STORE_CANDIDATES_PER_BUCKET = 32
MAX_STORED_LANDMARKS = STORED_PER_BUCKET * _MAX_BUCKETS
MAX_STORE_CANDIDATES = STORE_CANDIDATES_PER_BUCKET * _MAX_BUCKETS
QUERY_PER_BUCKET = 32
MAX_QUERY_LANDMARKS = 2000

HASH_CAPACITY = 64
OFFSET_WINDOW = 2
# Fewer consistent votes than this is chance, however long the stretch they cover.
MIN_VOTES = 8

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int32]
Hashes = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """Landmarks of one clip in time order: `hashes[i]` anchored at frame `frames[i]` (FRAME_SECONDS each),
    its strength (dB of its weaker peak) and its target's rank among the anchor's targets (0: the nearest)."""

    hashes: Hashes
    frames: Ints
    strengths: Floats
    ranks: Ints
    seconds: float  # how much audio was analysed (at most MAX_SECONDS)

    def __len__(self) -> int:
        return len(self.hashes)

    def subset(self, keep: npt.NDArray[np.intp] | Mask) -> Fingerprint:
        return Fingerprint(
            self.hashes[keep], self.frames[keep], self.strengths[keep], self.ranks[keep], self.seconds
        )


@dataclass(frozen=True)
class Alignment:
    """The best-supported offset between a query and a stored sound (OFFSET_WINDOW offsets together)."""

    offset: int
    votes: int
    first_frame: int
    last_frame: int

    @property
    def seconds(self) -> float:
        """How much of the stored sound the consistent landmarks cover."""
        return (self.last_frame - self.first_frame) * FRAME_SECONDS


def empty_fingerprint(seconds: float = 0.0) -> Fingerprint:
    return Fingerprint(
        np.zeros(0, np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.float32),
        np.zeros(0, np.int32),
        min(seconds, MAX_SECONDS),
    )


def fingerprint(samples: npt.ArrayLike, sample_rate: int = SAMPLE_RATE) -> Fingerprint:
    """Every landmark (up to QUERY_FAN_OUT targets per anchor) of the first MAX_SECONDS of `samples`: mono PCM
    at `sample_rate`, integers or floats at any scale. What a sound stores is chosen from these."""
    return _fingerprint(_signal(samples, sample_rate))


def query_fingerprint(samples: npt.ArrayLike, sample_rate: int = SAMPLE_RATE) -> Fingerprint:
    """The landmarks an upload is looked up by: those of `fingerprint` and those of the same audio analysed
    half a hop later. In an upload cut at an arbitrary sample every frame straddles two of the original's, and
    a peak's frame moves by one about as often as not, which changes the frame steps in its hashes; of the
    two grids, one is within a quarter hop of the original's."""
    signal = _signal(samples, sample_rate)
    first, second = _fingerprint(signal), _fingerprint(signal[HOP // 2 :])
    return _distinct(
        Fingerprint(
            np.concatenate([first.hashes, second.hashes]),
            np.concatenate([first.frames, second.frames]),
            np.concatenate([first.strengths, second.strengths]),
            np.concatenate([first.ranks, second.ranks]),
            first.seconds,
        )
    )


def _signal(samples: npt.ArrayLike, sample_rate: int) -> Floats:
    """At most MAX_SECONDS of mono float32 PCM at SAMPLE_RATE, in [-1, 1]."""
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise ValueError(f"sample rate {sample_rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"expected mono samples (one dimension), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"expected numeric samples, got {array.dtype}")
    # Cut first: whatever the caller hands in, no step below sees more than MAX_SECONDS.
    signal = _clean(array[: int(MAX_SECONDS * sample_rate)])
    if sample_rate != SAMPLE_RATE:
        gcd = math.gcd(SAMPLE_RATE, sample_rate)
        signal = scipy.signal.resample_poly(signal, SAMPLE_RATE // gcd, sample_rate // gcd).astype(np.float32)
    return signal


def _fingerprint(signal: Floats) -> Fingerprint:
    seconds = len(signal) / SAMPLE_RATE
    if len(signal) < WINDOW or not signal.any():
        return empty_fingerprint(seconds)
    frames, bins, levels = _peaks(_spectrogram(signal))
    return _landmarks(frames, bins, levels, seconds)


def _clean(samples: npt.NDArray[np.generic]) -> Floats:
    """Float32 in [-1, 1]: non-finite samples become silence, the level is normalised."""
    signal = np.nan_to_num(samples.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    loudest = float(np.max(np.abs(signal))) if len(signal) else 0.0
    if loudest > 0:
        signal /= loudest
    return signal.astype(np.float32)


def _spectrogram(signal: Floats) -> Floats:
    """Level in dB, shape (frames, bins FIRST_BIN-LAST_BIN)."""
    windows = np.lib.stride_tricks.sliding_window_view(signal, WINDOW)[::HOP]
    window = scipy.signal.get_window("hann", WINDOW).astype(np.float32)
    magnitude = np.abs(scipy.fft.rfft(windows * window, axis=1)[:, FIRST_BIN : LAST_BIN + 1])
    # A floor far below anything audible keeps the logarithm finite where the signal is digital silence.
    return (20 * np.log10(magnitude + 1e-9)).astype(np.float32)


def _peaks(db: Floats) -> tuple[Ints, Ints, Floats]:
    """(frame, bin, level) of the constellation's points in time order, at most PEAKS_PER_SECOND a second."""
    neighbourhood = scipy.ndimage.maximum_filter(db, size=(2 * PEAK_FRAMES + 1, 2 * PEAK_BINS + 1))
    frames, bins = np.nonzero((db == neighbourhood) & (db > db.max() - FLOOR_DB))
    levels = db[frames, bins]
    # The loudest few of each second: sort by (second, -level), rank within the second.
    second = frames // _FRAMES_PER_SECOND
    order = np.lexsort((-levels, second))
    keep = order[_rank_within(second[order]) < PEAKS_PER_SECOND]
    keep = keep[np.lexsort((bins[keep], frames[keep]))]
    return frames[keep].astype(np.int32), (bins[keep] + FIRST_BIN).astype(np.int32), levels[keep]


def _rank_within(groups: npt.NDArray[np.integer]) -> npt.NDArray[np.intp]:
    """0, 1, 2... within each run of equal values of a sorted array."""
    if len(groups) == 0:
        return np.zeros(0, np.intp)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    return np.arange(len(groups)) - run_start


def _landmarks(frames: Ints, bins: Ints, levels: Floats, seconds: float) -> Fingerprint:
    """Each anchor paired with its QUERY_FAN_OUT nearest targets, in time order."""
    count = len(frames)
    taken = np.zeros(count, np.int32)
    anchors: list[npt.NDArray[np.intp]] = []
    targets: list[npt.NDArray[np.intp]] = []
    ranks: list[Ints] = []
    # Peaks are in time order: a fixed number of vectorised passes, one per distance in places.
    for step in range(1, min(_MAX_STEP, count)):
        anchor = np.arange(count - step)
        target = anchor + step
        dt = frames[target] - frames[anchor]
        in_zone = (dt >= 1) & (dt <= MAX_DT) & (np.abs(bins[target] - bins[anchor]) <= MAX_DF)
        in_zone &= taken[anchor] < QUERY_FAN_OUT
        anchors.append(anchor[in_zone])
        targets.append(target[in_zone])
        ranks.append(taken[anchor[in_zone]])
        taken[anchor[in_zone]] += 1
    if not anchors:
        return empty_fingerprint(seconds)
    anchor, target = np.concatenate(anchors), np.concatenate(targets)
    hashes = _hash(bins[anchor], bins[target], frames[target] - frames[anchor])
    order = np.lexsort((hashes, frames[anchor]))
    return Fingerprint(
        hashes[order],
        frames[anchor][order],
        np.minimum(levels[anchor], levels[target])[order].astype(np.float32),
        np.concatenate(ranks)[order].astype(np.int32),
        seconds,
    )


def _hash(anchor_bin: Ints, target_bin: Ints, dt: Ints) -> Hashes:
    step = target_bin.astype(np.int64) - anchor_bin + MAX_DF
    return (anchor_bin.astype(np.int64) << (_DF_BITS + DT_BITS)) | (step << DT_BITS) | dt


def frame_step(hashes: Hashes) -> Ints:
    """The frame step (anchor to target) a hash encodes."""
    return (hashes & MAX_DT).astype(np.int32)


# --- selection -------------------------------------------------------------------------------------------


def _strongest_per_bucket(landmarks: Fingerprint, per_bucket: int) -> Fingerprint:
    """The `per_bucket` strongest landmarks of each bucket, in time order."""
    if len(landmarks) == 0:
        return landmarks
    bucket = landmarks.frames // BUCKET_FRAMES
    order = np.lexsort((-landmarks.strengths, bucket))
    keep = order[_rank_within(bucket[order]) < per_bucket]
    return landmarks.subset(keep[np.lexsort((landmarks.hashes[keep], landmarks.frames[keep]))])


def _first_of_each_hash(landmarks: Fingerprint) -> Fingerprint:
    """Each hash once, at its strongest occurrence (a repeat adds no vote, only a row)."""
    if len(landmarks) == 0:
        return landmarks
    order = np.lexsort((-landmarks.strengths, landmarks.hashes))
    first = order[np.r_[True, landmarks.hashes[order][1:] != landmarks.hashes[order][:-1]]]
    return landmarks.subset(np.sort(first))


def storage_candidates(landmarks: Fingerprint) -> Fingerprint:
    """What a sound may store: each hash once, pairs with its FAN_OUT nearest targets, the
    STORE_CANDIDATES_PER_BUCKET strongest of each bucket (at most MAX_STORE_CANDIDATES)."""
    nearest = landmarks.subset(landmarks.ranks < FAN_OUT)
    return _strongest_per_bucket(_first_of_each_hash(nearest), STORE_CANDIDATES_PER_BUCKET)


def choose_stored(candidates: Fingerprint, loads: npt.NDArray[np.integer]) -> Fingerprint:
    """Per bucket, the STORED_PER_BUCKET candidates whose hashes hold the fewest sounds (`loads[i]` for
    candidate i, counted up to HASH_CAPACITY), the strongest among equals; none whose hash is at capacity."""
    with_room = candidates.subset(loads < HASH_CAPACITY)
    with_room_loads = loads[loads < HASH_CAPACITY]
    if len(with_room) == 0:
        return with_room
    bucket = with_room.frames // BUCKET_FRAMES
    order = np.lexsort((-with_room.strengths, with_room_loads, bucket))
    keep = order[_rank_within(bucket[order]) < STORED_PER_BUCKET]
    return with_room.subset(keep[np.lexsort((with_room.hashes[keep], with_room.frames[keep]))])


def query_landmarks(landmarks: Fingerprint) -> Fingerprint:
    """What an upload looks up (from `query_fingerprint`): the QUERY_PER_BUCKET strongest of each bucket, at
    most MAX_QUERY_LANDMARKS, spread over the whole clip."""
    return _spread(_strongest_per_bucket(landmarks, QUERY_PER_BUCKET), MAX_QUERY_LANDMARKS)


def _distinct(landmarks: Fingerprint) -> Fingerprint:
    """Distinct (hash, frame), in time order."""
    if len(landmarks) == 0:
        return landmarks
    order = np.lexsort((landmarks.hashes, landmarks.frames))
    hashes, frames = landmarks.hashes[order], landmarks.frames[order]
    repeated = (hashes[1:] == hashes[:-1]) & (frames[1:] == frames[:-1])
    return landmarks.subset(order[np.r_[True, ~repeated]])


def _spread(landmarks: Fingerprint, limit: int) -> Fingerprint:
    """At most `limit` landmarks: if there are more, the same number from each bucket (the strongest), so a
    long clip is looked up over its whole length rather than its beginning."""
    if len(landmarks) <= limit:
        return landmarks
    bucket = landmarks.frames // BUCKET_FRAMES
    buckets = len(np.unique(bucket))
    return _strongest_per_bucket(landmarks, max(1, limit // buckets))


# --- comparison ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Hits:
    """Stored landmarks that share a hash with a query's: the sound, the offset (stored frame - query frame),
    the hash and the stored anchor frame of each."""

    sound_ids: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    hashes: Hashes
    frames: npt.NDArray[np.int64]


def hits(query: Fingerprint, stored: Fingerprint, sound_id: int = 0) -> Hits:
    """The hits of a query on one stored sound; each query landmark meets at most HASH_CAPACITY stored
    landmarks of its hash (the bound of the database lookup, where a sound holds each hash once)."""
    order = np.argsort(stored.hashes, kind="stable")
    stored_hashes = stored.hashes[order]
    left = np.searchsorted(stored_hashes, query.hashes, side="left")
    counts = np.minimum(np.searchsorted(stored_hashes, query.hashes, side="right") - left, HASH_CAPACITY)
    # One row per (query landmark, stored landmark of the same hash).
    query_index = np.repeat(np.arange(len(query)), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    stored_index = order[np.repeat(left, counts) + within]
    frames = stored.frames[stored_index].astype(np.int64)
    return Hits(
        np.full(len(frames), sound_id, np.int64),
        frames - query.frames[query_index],
        stored.hashes[stored_index],
        frames,
    )


def best_alignments(found: Hits) -> dict[int, Alignment]:
    """Per sound, the OFFSET_WINDOW consecutive offsets with the most votes (distinct hashes at one offset,
    summed over the window; the lowest offset of equals), for sounds with at least MIN_VOTES of them."""
    if len(found.offsets) == 0:
        return {}
    # Distinct (sound, offset, hash): a hash repeated at one offset (a drum loop at the same tempo in two
    # songs, a chorus sung twice) is one vote, not one per repeat.
    order = np.lexsort((found.hashes, found.offsets, found.sound_ids))
    sounds, offsets, hashes = found.sound_ids[order], found.offsets[order], found.hashes[order]
    starts_frames, ends = found.frames[order], found.frames[order] + frame_step(hashes)
    new_group = np.r_[True, (sounds[1:] != sounds[:-1]) | (offsets[1:] != offsets[:-1])]
    new_vote = new_group | np.r_[True, hashes[1:] != hashes[:-1]]
    group = np.cumsum(new_group) - 1
    group_sound, group_offset = sounds[new_group], offsets[new_group]
    votes = np.bincount(group, weights=new_vote).astype(np.int64)
    firsts = np.minimum.reduceat(starts_frames, np.flatnonzero(new_group))
    lasts = np.maximum.reduceat(ends, np.flatnonzero(new_group))
    # A window starts at each group and takes the groups of the same sound up to OFFSET_WINDOW - 1 later.
    window_votes, window_first, window_last = votes.copy(), firsts.copy(), lasts.copy()
    for ahead in range(1, OFFSET_WINDOW):
        later = np.arange(len(votes)) + ahead
        inside = later < len(votes)
        later = np.where(inside, later, 0)
        inside &= (group_sound[later] == group_sound) & (group_offset[later] - group_offset < OFFSET_WINDOW)
        window_votes += np.where(inside, votes[later], 0)
        window_first = np.where(inside, np.minimum(window_first, firsts[later]), window_first)
        window_last = np.where(inside, np.maximum(window_last, lasts[later]), window_last)
    # Per sound, the best window: sort by (sound, -votes, offset) and take each sound's first.
    best = np.lexsort((group_offset, -window_votes, group_sound))
    best = best[np.r_[True, group_sound[best][1:] != group_sound[best][:-1]]]
    best = best[window_votes[best] >= MIN_VOTES]
    return {
        int(group_sound[i]): Alignment(
            int(group_offset[i]), int(window_votes[i]), int(window_first[i]), int(window_last[i])
        )
        for i in best
    }


def compare(query: Fingerprint, stored: Fingerprint) -> Alignment | None:
    """The best alignment of a query's landmarks against a stored sound's, if it has MIN_VOTES votes."""
    return best_alignments(hits(query, stored)).get(0)


def is_match(alignment: Alignment | None, *, min_seconds: float) -> bool:
    """Whether an alignment is evidence of the same audio over at least `min_seconds`."""
    return alignment is not None and alignment.votes >= MIN_VOTES and alignment.seconds >= min_seconds
