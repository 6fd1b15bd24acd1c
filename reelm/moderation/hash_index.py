"""Find the list hashes within a Hamming distance of any query hash, exactly, over millions of hashes.

`brute_force_search` compares every pair (four 64-bit XORs and popcounts per pair): simple, and the
yardstick. `HashIndex` gets the same answer by multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search
in Hamming Space with Multi-Index Hashing", 2012; ThreatExchange's pdq/cpp index uses the same idea):

- Split the 256 bits into 16 chunks of 16 bits. If two hashes differ in at most d bits, then some chunk
  differs in at most r = d // 16 bits (pigeonhole: 16 chunks each differing in r + 1 or more bits make
  16 (r + 1) > d). For the match distance 31, r = 1.
- So for each chunk of a query, the list hashes whose chunk is one of the 1 + 16 values within r bits of
  it are candidates; every candidate is then checked against the full 256 bits. Per chunk, the index keeps
  the rows sorted by chunk value and where each value's run starts, so a probe is two array reads.
- For random hashes a probe finds N / 65536 rows: for 1,000,000 hashes about 16 x 17 x 15 = 4,200
  candidates per query, against 1,000,000 comparisons for brute force. Results are identical, since every
  true match is among the candidates.

Memory: the hashes (32 bytes each) plus one 4-byte row number per chunk (64 bytes per hash) plus 8 MB of
run offsets: about 104 MB for a million hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy as np
import numpy.typing as npt

from reelm.moderation.hash_lists import HashList, ListAction
from reelm.moderation.pdq import HASH_BITS, MATCH_DISTANCE, MIN_QUALITY, PdqHash, words_from_hex

WORDS = HASH_BITS // 64
_CHUNK_BITS = 16
_CHUNKS = HASH_BITS // _CHUNK_BITS
_CHUNK_VALUES = 1 << _CHUNK_BITS
# At 3 bits per chunk (distance >= 48) the 697 probes per chunk would fetch a sixth of a random list per
# query, more work than comparing everything.
_MAX_RADIUS = 2
# Brute force compares queries with this many rows at a time, so its temporaries stay in the CPU cache.
_BLOCK_ROWS = 4096

Words = npt.NDArray[np.uint64]  # N x 4, see pdq.words_from_hex


@dataclass(frozen=True)
class Matches:
    """Pairs (query, row) within the distance, ordered by query, then row."""

    queries: npt.NDArray[np.intp]
    rows: npt.NDArray[np.intp]
    distances: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.rows)


def _hamming_distances(a: Words, b: Words) -> npt.NDArray[np.int32]:
    """Row-wise distances between two equally long N x 4 arrays."""
    result: npt.NDArray[np.int32] = np.bitwise_count(a ^ b).sum(axis=1, dtype=np.int32)
    return result


def brute_force_search(words: Words, queries: Words, max_distance: int = MATCH_DISTANCE) -> Matches:
    """Compare every query with every row."""
    found_queries, found_rows, found_distances = [], [], []
    for start in range(0, len(words), _BLOCK_ROWS):
        block = words[start : start + _BLOCK_ROWS]
        distances = np.bitwise_count(queries[:, None, :] ^ block[None, :, :]).sum(axis=2, dtype=np.int32)
        query, row = np.nonzero(distances <= max_distance)
        found_queries.append(query)
        found_rows.append(row + start)
        found_distances.append(distances[query, row])
    if not found_rows:
        return _no_matches()
    return _ordered(
        np.concatenate(found_queries), np.concatenate(found_rows), np.concatenate(found_distances)
    )


class HashIndex:
    """An immutable multi-index over N hashes (rows of four 64-bit words)."""

    def __init__(self, words: Words) -> None:
        self.words = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1, WORDS)
        count = len(self.words)
        chunks = _chunk_view(self.words)
        # Row numbers, per chunk sorted by that chunk's value: one flat array, chunk after chunk.
        self._rows = np.empty((_CHUNKS, count), dtype=np.uint32)
        # Where the run of each chunk value starts in the flat array (one extra entry closes the last run).
        self._starts = np.empty((_CHUNKS, _CHUNK_VALUES + 1), dtype=np.int64)
        for chunk in range(_CHUNKS):
            values = chunks[:, chunk]
            self._rows[chunk] = np.argsort(values, kind="stable")  # a radix sort for 16-bit keys
            self._starts[chunk, 0] = chunk * count
            np.cumsum(np.bincount(values, minlength=_CHUNK_VALUES), out=self._starts[chunk, 1:])
            self._starts[chunk, 1:] += chunk * count

    def __len__(self) -> int:
        return len(self.words)

    @property
    def nbytes(self) -> int:
        return self.words.nbytes + self._rows.nbytes + self._starts.nbytes

    def search(self, queries: Words, max_distance: int = MATCH_DISTANCE) -> Matches:
        """Every (query, row) pair within `max_distance` bits: the same result as brute_force_search."""
        queries = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, WORDS)
        if not len(queries) or not len(self.words):
            return _no_matches()
        radius = max_distance // _CHUNKS
        if radius > _MAX_RADIUS:
            return brute_force_search(self.words, queries, max_distance)
        masks = _masks_within(radius)
        # probes[q, c, m]: chunk c of query q with the bits of mask m flipped; made into a _starts index.
        probes = _chunk_view(queries)[:, :, None] ^ masks[None, None, :]
        slots = probes.astype(np.intp) + (np.arange(_CHUNKS) * (_CHUNK_VALUES + 1))[None, :, None]
        flat_starts = self._starts.ravel()
        begins, ends = flat_starts[slots].ravel(), flat_starts[slots + 1].ravel()
        lengths = ends - begins
        candidates = self._rows.ravel()[_concatenated_ranges(begins, lengths)].astype(np.intp)
        owners = np.repeat(np.repeat(np.arange(len(queries)), _CHUNKS * len(masks)), lengths)
        distances = _hamming_distances(self.words[candidates], queries[owners])
        close = distances <= max_distance
        # A match near the query is usually found through several chunks; keep each pair once.
        pair_keys, first = np.unique(owners[close] * len(self.words) + candidates[close], return_index=True)
        return Matches(
            pair_keys // len(self.words),
            pair_keys % len(self.words),
            distances[close][first].astype(np.int32),
        )


def _chunk_view(words: Words) -> npt.NDArray[np.uint16]:
    """The 16 16-bit chunks of each hash, in memory order (any fixed order will do, the same for all)."""
    return words.view(np.uint16).reshape(len(words), _CHUNKS)


@cache
def _masks_within(radius: int) -> npt.NDArray[np.uint16]:
    """Every 16-bit value with at most `radius` bits set."""
    masks = [
        sum(1 << bit for bit in bits)
        for r in range(radius + 1)
        for bits in combinations(range(_CHUNK_BITS), r)
    ]
    return np.array(masks, dtype=np.uint16)


def _concatenated_ranges(
    begins: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """begins[0] .. begins[0]+lengths[0]-1, then begins[1] .., all in one array without a Python loop."""
    total = int(lengths.sum())
    offsets_before = np.cumsum(lengths) - lengths
    result: npt.NDArray[np.int64] = np.repeat(begins - offsets_before, lengths) + np.arange(total)
    return result


def _ordered(
    queries: npt.NDArray[np.intp], rows: npt.NDArray[np.intp], distances: npt.NDArray[np.int32]
) -> Matches:
    order = np.lexsort((rows, queries))
    return Matches(queries[order], rows[order], distances[order])


def _no_matches() -> Matches:
    empty = np.empty(0, dtype=np.intp)
    return Matches(empty, empty, np.empty(0, dtype=np.int32))


# --- a realm's lists --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListMatch:
    list_name: str
    action: ListAction
    line: int  # of the matching hash in its list file
    list_hash: str
    query: int  # position of the matching hash among those given to HashListMatcher.match
    distance: int


class HashListMatcher:
    """All of a realm's lists in one index, so a video's keyframes are looked up once whatever the lists."""

    def __init__(self, lists: Sequence[HashList]) -> None:
        self._lists = list(lists)
        sizes = [len(hash_list.entries) for hash_list in self._lists]
        self._list_of_row = np.repeat(np.arange(len(sizes)), sizes)
        self._first_row = np.cumsum([0, *sizes])
        parts = [hash_list.entries.words for hash_list in self._lists]
        self.index = HashIndex(np.concatenate(parts) if parts else np.empty((0, WORDS), dtype=np.uint64))

    def match(self, hashes: Sequence[PdqHash], max_distance: int = MATCH_DISTANCE) -> list[ListMatch]:
        """List entries within `max_distance` of any hash; hashes below MIN_QUALITY are not looked up."""
        usable = [i for i, h in enumerate(hashes) if h.quality >= MIN_QUALITY]
        found = self.index.search(words_from_hex([hashes[i].hex for i in usable]), max_distance)
        matches = []
        for query, row, distance in zip(found.queries, found.rows, found.distances, strict=True):
            which = int(self._list_of_row[row])
            hash_list, entry = self._lists[which], int(row - self._first_row[which])
            matches.append(
                ListMatch(
                    list_name=hash_list.name,
                    action=hash_list.action,
                    line=int(hash_list.entries.lines[entry]),
                    list_hash=hash_list.entries.hex(entry),
                    query=usable[query],
                    distance=int(distance),
                )
            )
        return matches


def strictest_action(matches: Sequence[ListMatch]) -> ListAction | None:
    """BLOCK if any matching list blocks, HOLD if any list matched, None for no match."""
    if any(m.action is ListAction.BLOCK for m in matches):
        return ListAction.BLOCK
    return ListAction.HOLD if matches else None
