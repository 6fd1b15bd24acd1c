"""C2SP tlog-tiles: paths, which tiles exist, building tiles batch by batch, proofs from tiles, bundles."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from reelm.transparency import tiles
from reelm.transparency.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from reelm.transparency.tiles import (
    TileCache,
    TileError,
    TileHashReader,
    build_tiles,
    decode_bundle,
    encode_bundle,
    entries_path,
    needed_partials,
    new_tiles,
    parse_entries_path,
    parse_tile_path,
    tile_path,
    tiles_for_size,
)

# --- Paths ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "index", "width", "path"),
    [
        (0, 0, 256, "tile/0/000"),
        (0, 1234067, 256, "tile/0/x001/x234/067"),
        (1, 999, 256, "tile/1/999"),
        (2, 1000, 17, "tile/2/x001/000.p/17"),
        (63, 5, 1, "tile/63/005.p/1"),
        (0, 273, 112, "tile/0/273.p/112"),
    ],
)
def test_tile_paths_round_trip(level: int, index: int, width: int, path: str) -> None:
    assert tile_path(level, index, width) == path
    assert parse_tile_path(path) == (level, index, width)


@pytest.mark.parametrize(
    ("index", "width", "path"),
    [
        (0, 256, "tile/entries/000"),
        (1234067, 256, "tile/entries/x001/x234/067"),
        (273, 112, "tile/entries/273.p/112"),
    ],
)
def test_entries_paths_round_trip(index: int, width: int, path: str) -> None:
    assert entries_path(index, width) == path
    assert parse_entries_path(path) == (index, width)


@pytest.mark.parametrize(
    "path",
    [
        "tile/00/000",  # level with a leading zero
        "tile/64/000",  # level above 63
        "tile/0/0",  # index not in 3-digit groups
        "tile/0/0000",
        "tile/0/x000/067",  # leading zero group: a second spelling of tile/0/067
        "tile/0/001/234",  # inner group without its x
        "tile/0/x001/x234",  # last group with an x
        "tile/0/067.p/0",  # partial widths are 1-255
        "tile/0/067.p/256",
        "tile/0/067.p/012",
        "tile/0/067.p/",
        "tile/0/067.p",
        "tile/entries/000",  # an entry bundle is not a hash tile
        "/tile/0/000",
        "tile/0/000/",
        "tile/-1/000",
        "tile/0/00a",
        "tile/0/000\n",
    ],
)
def test_malformed_tile_paths_are_rejected(path: str) -> None:
    with pytest.raises(TileError):
        parse_tile_path(path)


@pytest.mark.parametrize(
    "path", ["tile/entries/x000/001", "tile/entries/001.p/0", "tile/0/001", "tile/entries/1"]
)
def test_malformed_entries_paths_are_rejected(path: str) -> None:
    with pytest.raises(TileError):
        parse_entries_path(path)


@pytest.mark.parametrize(
    ("level", "index", "width"), [(64, 0, 256), (-1, 0, 256), (0, -1, 256), (0, 0, 0), (0, 0, 257)]
)
def test_tile_path_rejects_out_of_range_values(level: int, index: int, width: int) -> None:
    with pytest.raises(ValueError, match=r"out of range|is not"):
        tile_path(level, index, width)


# --- Which tiles exist ----------------------------------------------------------------------------------


def test_tiles_for_the_spec_example_size() -> None:
    keys = tiles_for_size(70_000)
    assert [k for k in keys if k[0] == 0] == [*((0, i, 256) for i in range(273)), (0, 273, 112)]
    assert [k for k in keys if k[0] > 0] == [(1, 0, 256), (1, 1, 17), (2, 0, 1)]


def test_tiles_for_small_sizes() -> None:
    assert tiles_for_size(0) == []
    assert tiles_for_size(1) == [(0, 0, 1)]
    # The spec: a full level-0 tile and a level-1 partial of width 1.
    assert tiles_for_size(256) == [(0, 0, 256), (1, 0, 1)]
    assert tiles_for_size(257) == [(0, 0, 256), (0, 1, 1), (1, 0, 1)]


@pytest.mark.parametrize(
    ("old", "new"), [(0, 1), (5, 5), (100, 300), (255, 256), (256, 257), (65_000, 70_000)]
)
def test_new_tiles_are_what_the_new_size_has_and_the_old_lacks(old: int, new: int) -> None:
    before = set(tiles_for_size(old))
    assert new_tiles(old, new) == [k for k in tiles_for_size(new) if k not in before]


def test_new_tiles_rejects_shrinking() -> None:
    with pytest.raises(ValueError, match="cannot grow"):
        new_tiles(10, 9)


# --- Building tiles and reading them back ---------------------------------------------------------------


class TileStore:
    """Tiles by path, as a static file server would hold them; counts fetches."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fetches = 0

    def write(self, built: list[tiles.Tile]) -> None:
        for tile in built:
            self.files[tile.path] = tile.data

    def partials(self, old_size: int, new_size: int) -> dict[int, bytes]:
        return {
            level: self.files[tile_path(level, i, w)] for level, i, w in needed_partials(old_size, new_size)
        }

    async def fetch(self, level: int, index: int, width: int) -> bytes:
        self.fetches += 1
        return self.files[tile_path(level, index, width)]


def _grow(store: TileStore, leaves: list[bytes], batches: list[int]) -> list[int]:
    """Append `leaves` in batches of the given sizes; return the tree sizes reached."""
    sizes: list[int] = []
    size = 0
    for count in batches:
        batch = leaves[size : size + count]
        built = build_tiles(size, batch, store.partials(size, size + len(batch)))
        assert [(t.level, t.index, t.width) for t in built] == new_tiles(size, size + len(batch))
        store.write(built)
        size += len(batch)
        sizes.append(size)
    return sizes


async def test_tiles_built_in_random_batches_serve_proofs_that_verify() -> None:
    rng = random.Random(7)
    leaves = [leaf_hash(rng.randbytes(rng.randint(0, 40))) for _ in range(70_000)]
    store = TileStore()
    batches = [rng.choice([1, 3, 100, 255, 256, 257, 1000, 5000]) for _ in range(60)]
    sizes = _grow(store, leaves, batches)
    # Every tile of every size reached is stored, partial tiles of earlier sizes included.
    assert all(tile_path(*key) in store.files for size in sizes for key in tiles_for_size(size))
    cache = TileCache(capacity=16)
    previous = 0
    for size in sizes[:: max(1, len(sizes) // 12)]:
        reader = TileHashReader(store.fetch, size, cache)
        root = root_of(leaves[:size])
        assert await root_hash(size, reader) == root
        for index in {0, size - 1, rng.randrange(size), size // 2}:
            verify_inclusion(leaves[index], index, size, await inclusion_proof(index, size, reader), root)
        if previous:
            proof = await consistency_proof(previous, size, reader)
            verify_consistency(previous, size, proof, root_of(leaves[:previous]), root)
        previous = size


async def test_tile_reader_serves_every_node_of_a_tree() -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(700)]
    store = TileStore()
    _grow(store, leaves, [300, 1, 399])
    reader = TileHashReader(store.fetch, 700)
    for height in range(10):
        for index in range(700 >> height):
            span = leaves[index << height : (index + 1) << height]
            assert await reader.node(height, index) == root_of(span)


async def test_tiles_are_cached_by_width_so_partial_ones_are_shared_too() -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(300)]
    store = TileStore()
    _grow(store, leaves, [300])
    cache = TileCache(capacity=4)
    reader = TileHashReader(store.fetch, 300, cache)
    await reader.node(0, 3)
    await reader.node(0, 290)
    await reader.node(0, 3)
    await reader.node(0, 291)
    assert store.fetches == 2
    assert len(cache) == 2  # the full tile and the partial one of width 44
    await TileHashReader(store.fetch, 300, cache).node(0, 5)
    await TileHashReader(store.fetch, 300, cache).node(0, 299)
    assert store.fetches == 2
    # A bigger tree has a wider partial tile: a different path, fetched anew, never the stale one.
    bigger = [*leaves, leaf_hash(b"more")]
    store.write(build_tiles(300, bigger[300:], store.partials(300, 301)))
    assert await TileHashReader(store.fetch, 301, cache).node(0, 300) == bigger[300]
    assert store.fetches == 3


# The leaves of RFC 6962's test tree, of which the conformance vectors (../shared/conformance/merkle) speak.
RFC6962_LEAVES = [
    leaf_hash(bytes.fromhex(h))
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _happy_vectors(root: Path, kind: str) -> list[dict[str, Any]]:
    cases = [json.loads(f.read_text()) for f in sorted((root / kind).glob("[0-9]*/happy-path.json"))]
    assert cases, kind
    return cases


async def test_proofs_for_every_older_size_come_from_the_latest_tiles(merkle_conformance: Path) -> None:
    """A log grown in one batch to 8 leaves holds the tile `.p/8` only; the vectors' proofs for trees of 1,
    2, 3, 5 and 6 leaves must come from it (they once asked for `.p/3` and the like, which never existed)."""
    store = TileStore()
    _grow(store, RFC6962_LEAVES, [8])
    assert set(store.files) == {tile_path(0, 0, 8)}
    cache = TileCache()
    for case in _happy_vectors(merkle_conformance, "inclusion"):
        size, index = case["treeSize"], case["leafIdx"]
        reader = TileHashReader(store.fetch, size, cache, stored_size=8)
        proof = await inclusion_proof(index, size, reader)
        assert [base64.b64encode(h).decode() for h in proof] == (case["proof"] or []), case
        assert await root_hash(size, reader) == base64.b64decode(case["root"])
    for case in _happy_vectors(merkle_conformance, "consistency"):
        first, second = case["size1"], case["size2"]
        reader = TileHashReader(store.fetch, second, cache, stored_size=8)
        proof = await consistency_proof(first, second, reader)
        assert [base64.b64encode(h).decode() for h in proof] == (case["proof"] or []), case
    # Without the stored size, the reader asks for a tile no log of these batches ever wrote.
    with pytest.raises(KeyError, match=r"\.p/3"):
        await inclusion_proof(2, 3, TileHashReader(store.fetch, 3))


async def test_an_older_tree_reads_full_tiles_and_never_nodes_beyond_its_size() -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(600)]
    store = TileStore()
    _grow(store, leaves, [600])  # tiles: two full ones and .p/88 at level 0, .p/2 at level 1
    for size in (1, 255, 256, 257, 300, 512, 599):
        reader = TileHashReader(store.fetch, size, stored_size=600)
        assert await root_hash(size, reader) == root_of(leaves[:size])
        for index in {0, size // 2, size - 1}:
            proof = await inclusion_proof(index, size, reader)
            verify_inclusion(leaves[index], index, size, proof, root_of(leaves[:size]))
    reader = TileHashReader(store.fetch, 10, stored_size=600)
    with pytest.raises(ValueError, match="not complete"):
        await reader.node(2, 2)  # leaves 8-11: the stored tile has them, the tree of 10 does not
    with pytest.raises(ValueError, match="cannot serve"):
        TileHashReader(store.fetch, 601, stored_size=600)


def test_tile_cache_evicts_the_least_recently_used() -> None:
    cache = TileCache(capacity=2)
    cache.put(0, 0, [b"a"])
    cache.put(0, 1, [b"b"])
    assert cache.get(0, 0) == [b"a"]
    cache.put(0, 2, [b"c"])
    assert cache.get(0, 1) is None
    assert cache.get(0, 0) == [b"a"]


async def test_tile_reader_rejects_nodes_and_tiles_outside_the_tree() -> None:
    store = TileStore()
    _grow(store, [leaf_hash(b"x")] * 10, [10])
    reader = TileHashReader(store.fetch, 10)
    with pytest.raises(ValueError, match="not complete"):
        await reader.node(2, 2)  # leaves 8-11, but the tree has 10
    with pytest.raises(ValueError, match="not in a tree"):
        await reader.node(0, 256)


async def test_tile_reader_rejects_a_tile_of_the_wrong_length() -> None:
    async def short(level: int, index: int, width: int) -> bytes:
        return b"\x00" * 32 * (width - 1)

    with pytest.raises(TileError, match="width 10"):
        await TileHashReader(short, 10).node(0, 0)


def test_build_tiles_needs_the_old_partials() -> None:
    with pytest.raises(ValueError, match="level 0 \\(width 10\\) is needed"):
        build_tiles(10, [leaf_hash(b"x")], {})
    with pytest.raises(TileError, match="width 10"):
        build_tiles(10, [leaf_hash(b"x")], {0: b"\x00" * 32})


def test_needed_partials_are_the_old_partials_of_levels_that_change() -> None:
    assert needed_partials(0, 10) == []
    assert needed_partials(10, 10) == []
    assert needed_partials(10, 11) == [(0, 0, 10)]
    assert needed_partials(70_000, 70_001) == [(0, 273, 112)]
    assert needed_partials(70_000, 70_144) == [(0, 273, 112), (1, 1, 17)]


# --- Entry bundles --------------------------------------------------------------------------------------


def test_bundles_round_trip() -> None:
    entries = [b"", b"a", b"\x00" * 300, b"x" * 65535]
    data = encode_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert decode_bundle(data) == entries
    assert decode_bundle(data, width=4) == entries
    assert decode_bundle(encode_bundle([b"e"] * 256)) == [b"e"] * 256


def test_encode_bundle_rejects_oversized_input() -> None:
    with pytest.raises(ValueError, match="65535"):
        encode_bundle([b"x" * 65536])
    with pytest.raises(ValueError, match="at most 256"):
        encode_bundle([b""] * 257)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00", "length prefix"),
        (b"\x00\x02a", "truncated"),
        (b"\x00\x01a\x00", "length prefix"),
        (b"\x00\x01a\x00\x05abc", "truncated"),
        (b"\x00\x00" * 257, "at most 256"),
    ],
)
def test_decode_bundle_rejects_malformed_data(data: bytes, message: str) -> None:
    with pytest.raises(TileError, match=message):
        decode_bundle(data)


def test_decode_bundle_checks_the_expected_width() -> None:
    with pytest.raises(TileError, match="expected 3"):
        decode_bundle(encode_bundle([b"a", b"b"]), width=3)
