"""C2SP tlog-tiles: tile and entry-bundle paths, which tiles a tree has, building tiles, reading hashes.

Tiles. The tile at level L, index N holds up to 256 consecutive hashes of level L, where a level-0 hash
is a leaf hash and a level-L hash is the root of a full tile of level L-1 (a perfect subtree of 256**L
leaves). A tree of size s has floor(s / 256**L) complete hashes at level L: the full tiles come first and
the remainder, if any, is one partial tile `.p/<W>`.

Writing. A sequencer that appends a batch of leaves needs the batch's leaf hashes and, for each level,
the partial tile of the old tree (`needed_partials` lists which). `build_tiles` then returns every tile
that must be written: at each level the old partial's hashes plus the level's new hashes, cut into
tiles of 256; the roots of the tiles that became full are the new hashes of the level above. Nothing
else is read, so the cost is proportional to the batch, not to the tree.

Reading. `TileHashReader` serves `merkle.HashReader.node(height, index)` from tiles: heights 0-7 come
from level-0 tiles, 8-15 from level-1 tiles and so on, hashing inside the tile for heights that are not
a multiple of 8. Full tiles never change, so they are kept in an LRU cache that may be shared between
readers of the same log; partial tiles are only cached by the reader of one tree size.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from reelm.transparency import merkle

TILE_WIDTH = 256
TILE_HEIGHT = 8
MAX_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
_HASH = merkle.HASH_SIZE
_MAX_INDEX = 1 << 64

_INDEX = r"((?:x[0-9]{3}/)*[0-9]{3})"
_PARTIAL = r"(?:\.p/([1-9][0-9]{0,2}))?"
_TILE_PATH = re.compile(rf"tile/(0|[1-9][0-9]?)/{_INDEX}{_PARTIAL}")
_ENTRIES_PATH = re.compile(rf"tile/entries/{_INDEX}{_PARTIAL}")

TileKey = tuple[int, int, int]
"""(level, index, width): width is 256 for a full tile, 1-255 for a partial one."""


class TileError(ValueError):
    """A tile path, a tile's bytes or an entry bundle is malformed."""


# --- Paths ----------------------------------------------------------------------------------------------


def _format_index(index: int) -> str:
    if not 0 <= index < _MAX_INDEX:
        raise ValueError(f"tile index {index} out of range")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def _format_width(width: int) -> str:
    if width == TILE_WIDTH:
        return ""
    if not 1 <= width < TILE_WIDTH:
        raise ValueError(f"tile width {width} is not 1-256")
    return f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """`tile/<L>/<N>[.p/<W>]`, N in 3-digit groups: 1234067 is `x001/x234/067`."""
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"tile level {level} is not 0-{MAX_LEVEL}")
    return f"tile/{level}/{_format_index(index)}{_format_width(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """`tile/entries/<N>[.p/<W>]`, the entry bundle beside level-0 tile N."""
    return f"tile/entries/{_format_index(index)}{_format_width(width)}"


def _parse_index(text: str) -> int:
    groups = text.split("/")
    # One encoding per index: a leading all-zero group would be a second spelling of a shorter path.
    if len(groups) > 1 and groups[0] == "x000":
        raise TileError(f"tile index {text!r} has a leading zero group")
    index = int("".join(g.removeprefix("x") for g in groups))
    if index >= _MAX_INDEX:
        raise TileError(f"tile index {text!r} out of range")
    return index


def _parse_width(text: str | None) -> int:
    if text is None:
        return TILE_WIDTH
    width = int(text)
    if width >= TILE_WIDTH:
        raise TileError(f"partial tile width {width} is not 1-255")
    return width


def parse_tile_path(path: str) -> TileKey:
    """(level, index, width) of `tile/<L>/<N>[.p/<W>]`; anything not in canonical form is rejected."""
    match = _TILE_PATH.fullmatch(path)
    if match is None:
        raise TileError(f"not a tile path: {path!r}")
    level = int(match[1])
    if level > MAX_LEVEL:
        raise TileError(f"tile level {level} is not 0-{MAX_LEVEL}")
    return level, _parse_index(match[2]), _parse_width(match[3])


def parse_entries_path(path: str) -> tuple[int, int]:
    """(index, width) of `tile/entries/<N>[.p/<W>]`."""
    match = _ENTRIES_PATH.fullmatch(path)
    if match is None:
        raise TileError(f"not an entry bundle path: {path!r}")
    return _parse_index(match[1]), _parse_width(match[2])


# --- Which tiles exist ----------------------------------------------------------------------------------


def _level_count(size: int, level: int) -> int:
    """How many complete hashes level `level` has in a tree of `size` leaves."""
    return size >> (TILE_HEIGHT * level)


def _level_tiles(level: int, old_count: int, new_count: int) -> list[TileKey]:
    if new_count == old_count:
        return []
    keys = [(level, i, TILE_WIDTH) for i in range(old_count // TILE_WIDTH, new_count // TILE_WIDTH)]
    if new_count % TILE_WIDTH:
        keys.append((level, new_count // TILE_WIDTH, new_count % TILE_WIDTH))
    return keys


def new_tiles(old_size: int, new_size: int) -> list[TileKey]:
    """The tiles to write when the tree grows from `old_size` to `new_size`, by level then index.

    Full tiles that became full, and the partial tiles of the new size that the old size lacked.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"a tree cannot grow from {old_size} to {new_size}")
    keys: list[TileKey] = []
    level = 0
    while _level_count(new_size, level):
        keys += _level_tiles(level, _level_count(old_size, level), _level_count(new_size, level))
        level += 1
    return keys


def tiles_for_size(size: int) -> list[TileKey]:
    """Every tile of a tree of `size` leaves (70,000: 273 full + 1 partial at level 0, and so on)."""
    return new_tiles(0, size)


def needed_partials(old_size: int, new_size: int) -> list[TileKey]:
    """The old tree's partial tiles that `build_tiles` reads to grow it to `new_size`."""
    keys: list[TileKey] = []
    level = 0
    while _level_count(new_size, level) > _level_count(old_size, level):
        old_count = _level_count(old_size, level)
        if old_count % TILE_WIDTH:
            keys.append((level, old_count // TILE_WIDTH, old_count % TILE_WIDTH))
        level += 1
    return keys


# --- Tile contents --------------------------------------------------------------------------------------


def split_tile(data: bytes, width: int) -> list[bytes]:
    """The hashes of a tile of `width` hashes; the length must match exactly."""
    if len(data) != width * _HASH:
        raise TileError(f"a tile of width {width} is {width * _HASH} bytes, not {len(data)}")
    return [data[i : i + _HASH] for i in range(0, len(data), _HASH)]


@dataclass(frozen=True)
class Tile:
    level: int
    index: int
    width: int
    data: bytes

    @property
    def path(self) -> str:
        return tile_path(self.level, self.index, self.width)


def _cut_level(level: int, first_index: int, hashes: list[bytes]) -> tuple[list[Tile], list[bytes]]:
    """Cut one level's hashes into tiles; also return the roots of the full ones (the next level's hashes)."""
    tiles: list[Tile] = []
    roots: list[bytes] = []
    for offset in range(0, len(hashes), TILE_WIDTH):
        chunk = hashes[offset : offset + TILE_WIDTH]
        tiles.append(Tile(level, first_index + offset // TILE_WIDTH, len(chunk), b"".join(chunk)))
        if len(chunk) == TILE_WIDTH:
            roots.append(merkle.root_of(chunk))
    return tiles, roots


def _carried_hashes(level: int, width: int, old_partials: Mapping[int, bytes]) -> list[bytes]:
    """The hashes of the old partial tile at `level`, which the level's new hashes continue."""
    if not width:
        return []
    if level not in old_partials:
        raise ValueError(f"the old tree's partial tile at level {level} (width {width}) is needed")
    return split_tile(old_partials[level], width)


def build_tiles(old_size: int, leaf_hashes: Sequence[bytes], old_partials: Mapping[int, bytes]) -> list[Tile]:
    """Every tile to write when `leaf_hashes` are appended to a tree of `old_size` leaves.

    `old_partials` maps a level to the bytes of the old tree's partial tile at that level; only the
    levels `needed_partials(old_size, new_size)` names are read.
    """
    tiles: list[Tile] = []
    fresh = list(leaf_hashes)
    level = 0
    while fresh:
        first_index, carried_width = divmod(_level_count(old_size, level), TILE_WIDTH)
        carried = _carried_hashes(level, carried_width, old_partials)
        level_tiles, fresh = _cut_level(level, first_index, carried + fresh)
        tiles += level_tiles
        level += 1
    return tiles


# --- Reading hashes from tiles --------------------------------------------------------------------------


def tile_levels(hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every complete node inside a tile: level h holds the roots of its aligned runs of 2**h hashes."""
    levels = [list(hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


class TileCache:
    """An LRU of tiles for one log, keyed by (level, index, width).

    Every tile path is immutable, partial ones included (the width is part of the path), so one cache
    can serve every request. Besides a tile's hashes it keeps the nodes inside the tile once a reader
    has needed them, so the upper part of every proof needs no hashing.
    """

    def __init__(self, capacity: int = 64) -> None:
        if capacity < 1:
            raise ValueError("tile cache capacity must be positive")
        self.capacity = capacity
        self._tiles: OrderedDict[TileKey, list[list[bytes]]] = OrderedDict()

    def _levels(self, key: TileKey) -> list[list[bytes]] | None:
        levels = self._tiles.get(key)
        if levels is not None:
            self._tiles.move_to_end(key)
        return levels

    def get(self, level: int, index: int, width: int = TILE_WIDTH) -> list[bytes] | None:
        levels = self._levels((level, index, width))
        return None if levels is None else levels[0]

    def levels(self, level: int, index: int, width: int = TILE_WIDTH) -> list[list[bytes]] | None:
        """The tile's hashes (level 0) and the nodes inside it, computed on first use."""
        levels = self._levels((level, index, width))
        if levels is not None and len(levels) == 1 and len(levels[0]) > 1:
            levels[1:] = tile_levels(levels[0])[1:]
        return levels

    def put(self, level: int, index: int, hashes: list[bytes], width: int = TILE_WIDTH) -> None:
        key = (level, index, width)
        self._tiles[key] = [hashes]
        self._tiles.move_to_end(key)
        while len(self._tiles) > self.capacity:
            self._tiles.popitem(last=False)

    def __len__(self) -> int:
        return len(self._tiles)


FetchTile = Callable[[int, int, int], Awaitable[bytes]]
"""fetch_tile(level, index, width) -> the tile's bytes (width 256 for a full tile)."""


class TileHashReader:
    """A `merkle.HashReader` for the tree of `size` leaves, reading through `fetch_tile`.

    `stored_size` (default `size`) is a tree size whose tiles exist: a log keeps the tiles of the sizes it
    grew to, not of every size in between (a batch of 10 leaves writes `.p/10`, never `.p/3`), and may
    drop a partial tile once the full one exists. The tree of `size` is a prefix of the stored one, so
    its tile hashes are the first hashes of the stored tree's tiles: a proof for an old tree size (an
    auditor's saved checkpoint) reads the tiles of the latest one.
    """

    def __init__(
        self,
        fetch_tile: FetchTile,
        size: int,
        cache: TileCache | None = None,
        *,
        stored_size: int | None = None,
    ) -> None:
        if stored_size is not None and stored_size < size:
            raise ValueError(f"tiles of a tree of size {stored_size} cannot serve one of size {size}")
        self.size = size
        self.stored_size = size if stored_size is None else stored_size
        self._fetch = fetch_tile
        self._cache = cache if cache is not None else TileCache()

    def _width(self, level: int, index: int, size: int) -> int:
        full, partial = divmod(_level_count(size, level), TILE_WIDTH)
        if index < full:
            return TILE_WIDTH
        if index == full and partial:
            return partial
        raise ValueError(f"tile ({level}, {index}) is not in a tree of size {size}")

    async def tile(self, level: int, index: int) -> list[bytes]:
        """The hashes of tile `index` at `level` as this tree size has it."""
        width = self._width(level, index, self.size)
        stored = self._width(level, index, self.stored_size)
        cached = self._cache.get(level, index, stored)
        if cached is None:
            cached = split_tile(await self._fetch(level, index, stored), stored)
            self._cache.put(level, index, cached, stored)
        return cached if stored == width else cached[:width]

    async def _tile_levels(self, level: int, index: int) -> list[list[bytes]]:
        hashes = await self.tile(level, index)
        width = self._width(level, index, self.stored_size)
        levels = self._cache.levels(level, index, width)
        # Evicted in between only under a tiny cache: compute without caching then.
        return levels if levels is not None else tile_levels(hashes)

    async def node(self, height: int, index: int) -> bytes:
        level, height_in_tile = divmod(height, TILE_HEIGHT)
        first = index << height_in_tile  # the node's first hash at this level
        tile_index, offset = divmod(first, TILE_WIDTH)
        levels = await self._tile_levels(level, tile_index)
        position = offset >> height_in_tile
        # Complete in this tree, not merely in the stored one, whose tiles may hold more.
        incomplete = (index + 1) << height > self.size
        if incomplete or height_in_tile >= len(levels) or position >= len(levels[height_in_tile]):
            raise ValueError(f"node ({height}, {index}) is not complete in a tree of size {self.size}")
        return levels[height_in_tile][position]


# --- Entry bundles --------------------------------------------------------------------------------------


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries, each prefixed by its uint16 big-endian length."""
    if len(entries) > TILE_WIDTH:
        raise ValueError(f"an entry bundle holds at most {TILE_WIDTH} entries, not {len(entries)}")
    parts: list[bytes] = []
    for i, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise ValueError(f"entry {i} is {len(entry)} bytes; bundles hold entries of at most 65535")
        parts += [len(entry).to_bytes(2, "big"), entry]
    return b"".join(parts)


def decode_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """The entries of a bundle; truncation, trailing bytes or (when given) a different count are errors."""
    entries: list[bytes] = []
    position = 0
    while position < len(data):
        if len(data) - position < 2:
            raise TileError("entry bundle ends inside a length prefix")
        length = int.from_bytes(data[position : position + 2], "big")
        position += 2
        if len(data) - position < length:
            raise TileError(f"entry {len(entries)} is truncated")
        entries.append(data[position : position + length])
        position += length
    if len(entries) > TILE_WIDTH:
        raise TileError(f"an entry bundle holds at most {TILE_WIDTH} entries, not {len(entries)}")
    if width is not None and len(entries) != width:
        raise TileError(f"entry bundle holds {len(entries)} entries, expected {width}")
    return entries
