"""The multi-index finds exactly what brute force finds; a realm's lists decide hold or block."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from reelm.moderation.hash_index import (
    HashIndex,
    HashListMatcher,
    Matches,
    brute_force_search,
    strictest_action,
)
from reelm.moderation.hash_lists import HashList, ListAction, parse_hash_list
from reelm.moderation.pdq import MATCH_DISTANCE, PdqHash

Words = npt.NDArray[np.uint64]


def random_words(rng: np.random.Generator, count: int) -> Words:
    return rng.integers(0, 2**64, size=(count, 4), dtype=np.uint64)


def flip_bits(rng: np.random.Generator, words: Words, count: int) -> Words:
    """A copy of one hash (4 words) with `count` distinct bits flipped: exactly `count` away."""
    flipped = words.copy()
    for bit in rng.choice(256, size=count, replace=False):
        flipped[bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
    return flipped


def assert_same(found: Matches, expected: Matches) -> None:
    assert found.queries.tolist() == expected.queries.tolist()
    assert found.rows.tolist() == expected.rows.tolist()
    assert found.distances.tolist() == expected.distances.tolist()


@pytest.fixture(scope="module")
def planted() -> tuple[Words, Words, dict[tuple[int, int], int]]:
    """20,000 random hashes, 25 queries, and near copies of the queries planted at known distances."""
    rng = np.random.default_rng(2024)
    words, queries = random_words(rng, 20_000), random_words(rng, 25)
    rows = rng.choice(len(words), size=25 * 8, replace=False).reshape(25, 8)
    distances = {}
    for query, query_rows in enumerate(rows):
        for row, distance in zip(query_rows, (0, 1, 15, 16, 30, 31, 32, 47), strict=True):
            words[row] = flip_bits(rng, queries[query], distance)
            distances[query, int(row)] = distance
    return words, queries, distances


@pytest.mark.parametrize("max_distance", [0, 1, 15, 16, 31, 32, 47, 63])
def test_index_finds_exactly_what_brute_force_finds(
    planted: tuple[Words, Words, dict[tuple[int, int], int]], max_distance: int
) -> None:
    words, queries, _ = planted
    found = HashIndex(words).search(queries, max_distance)
    assert_same(found, brute_force_search(words, queries, max_distance))


def test_planted_near_copies_are_found_up_to_the_match_distance(
    planted: tuple[Words, Words, dict[tuple[int, int], int]],
) -> None:
    words, queries, distances = planted
    found = HashIndex(words).search(queries)
    pairs = dict(
        zip(
            zip(found.queries.tolist(), found.rows.tolist(), strict=True),
            found.distances.tolist(),
            strict=True,
        )
    )
    expected = {pair: d for pair, d in distances.items() if d <= MATCH_DISTANCE}
    # Random 256-bit hashes are ~128 bits apart: nothing but the planted copies is within 31.
    assert pairs == expected


def test_clustered_hashes_with_crowded_chunk_values() -> None:
    """Real lists hold many near-duplicates, so some chunk values are shared by long runs of rows."""
    rng = np.random.default_rng(5)
    bases = random_words(rng, 20)
    words = np.stack([flip_bits(rng, bases[i % 20], int(rng.integers(0, 40))) for i in range(5000)])
    queries = np.stack([flip_bits(rng, bases[i], 10) for i in range(0, 20, 2)])
    found = HashIndex(words).search(queries)
    assert len(found) > 1000
    assert_same(found, brute_force_search(words, queries))


def test_empty_index_and_empty_queries() -> None:
    rng = np.random.default_rng(1)
    assert len(HashIndex(np.empty((0, 4), dtype=np.uint64)).search(random_words(rng, 3))) == 0
    assert len(HashIndex(random_words(rng, 100)).search(np.empty((0, 4), dtype=np.uint64))) == 0


# --- a realm's lists ----------------------------------------------------------------------------------------


def hex_of(words: Words) -> str:
    return bytes(words.astype(">u8").tobytes()).hex()


@pytest.fixture
def lists_and_targets() -> tuple[list[HashList], Words, Words]:
    rng = np.random.default_rng(9)
    held, blocked = random_words(rng, 2), random_words(rng, 1)
    held_file = f"# reviewed\n{hex_of(held[0])},90,a.jpg\n{hex_of(held[1])},80,b.jpg\n"
    lists = [
        HashList("reported", ListAction.HOLD, parse_hash_list(held_file.encode())),
        HashList("known-bad", ListAction.BLOCK, parse_hash_list(f"pdq {hex_of(blocked[0])}\n".encode())),
    ]
    return lists, held, blocked


def test_a_match_on_a_hold_list_holds(lists_and_targets: tuple[list[HashList], Words, Words]) -> None:
    lists, held, _ = lists_and_targets
    rng = np.random.default_rng(3)
    keyframes = [
        PdqHash(hex_of(random_words(rng, 1)[0]), 100),
        PdqHash(hex_of(flip_bits(rng, held[1], 12)), 90),
    ]
    matches = HashListMatcher(lists).match(keyframes)
    assert [(m.list_name, m.line, m.list_hash, m.query, m.distance) for m in matches] == [
        ("reported", 3, hex_of(held[1]), 1, 12)
    ]
    assert strictest_action(matches) is ListAction.HOLD


def test_any_block_list_match_blocks(lists_and_targets: tuple[list[HashList], Words, Words]) -> None:
    lists, held, blocked = lists_and_targets
    rng = np.random.default_rng(4)
    keyframes = [
        PdqHash(hex_of(flip_bits(rng, held[0], 3)), 100),
        PdqHash(hex_of(flip_bits(rng, blocked[0], 31)), 70),
    ]
    matches = HashListMatcher(lists).match(keyframes)
    assert {(m.list_name, m.action, m.line) for m in matches} == {
        ("reported", ListAction.HOLD, 2),
        ("known-bad", ListAction.BLOCK, 1),
    }
    assert strictest_action(matches) is ListAction.BLOCK


def test_low_quality_hashes_and_far_hashes_do_not_match(
    lists_and_targets: tuple[list[HashList], Words, Words],
) -> None:
    lists, held, blocked = lists_and_targets
    rng = np.random.default_rng(5)
    keyframes = [PdqHash(hex_of(held[0]), 49), PdqHash(hex_of(flip_bits(rng, blocked[0], 32)), 100)]
    matches = HashListMatcher(lists).match(keyframes)
    assert matches == []
    assert strictest_action(matches) is None


def test_no_lists_match_nothing() -> None:
    assert HashListMatcher([]).match([PdqHash("ab" * 32, 100)]) == []
