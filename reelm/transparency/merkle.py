"""RFC 6962 Merkle trees: hashing, the compact range, proof generation and proof verification.

Hashing is RFC 6962 §2.1 (SHA-256, 0x00 leaf prefix, 0x01 node prefix, split at the largest power of two
below n). The verifiers follow RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), written in the
generalised form of the Merkle Tree Certificates draft (draft-ietf-plants-merkle-tree-certs, "Subtrees"),
which reduces to the RFC algorithms when the subtree starts at 0: one implementation serves both the
classic proofs and subtree proofs.

A *subtree* [start, end) is valid when start <= end and start is a multiple of BIT_CEIL(end - start); it
is then a node of the tree (or, on the right edge, a node of a later tree), so its hash can be built from
perfect subtrees that a `HashReader` can serve.

Proof generators take a `HashReader`, which only serves perfect, aligned subtrees; any other subtree a
proof needs (always on the right edge) is folded from its perfect parts here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof, or the hashes and sizes it is checked against, does not verify."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split_point(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _bit_ceil(n: int) -> int:
    """The smallest power of two >= n (1 for n = 0, as the MTC draft defines it)."""
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def is_valid_subtree(start: int, end: int) -> bool:
    return 0 <= start <= end and start % _bit_ceil(end - start) == 0


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves; the reference definition, recursive and O(n)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split_point(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect subtree hashes, largest (leftmost) first, into the hash of their union."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


# --- Compact range -------------------------------------------------------------------------------------


class CompactRange:
    """The right edge of a tree: hashes of the perfect subtrees covering [0, size), largest first.

    There is one hash per set bit of `size`, so the state is at most 64 hashes, and appending a leaf
    merges equal-sized neighbours like a binary counter (amortised O(1) hashes per leaf).
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise ValueError("compact range size must be non-negative")
        if len(hashes) != size.bit_count():
            raise ValueError(f"size {size} needs {size.bit_count()} compact range hashes, not {len(hashes)}")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError("compact range hashes must be 32 bytes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf *hash* (use `leaf_hash` on the entry first)."""
        if len(leaf) != HASH_SIZE:
            raise ValueError("leaf hashes must be 32 bytes")
        merged = leaf
        carry = self.size
        # Each trailing 1 bit of the old size is a perfect subtree of the same height as `merged`.
        while carry & 1:
            merged = node_hash(self.hashes.pop(), merged)
            carry >>= 1
        self.hashes.append(merged)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        return _fold_right(self.hashes) if self.hashes else EMPTY_ROOT

    def to_bytes(self) -> bytes:
        """uint64 big-endian size, then the hashes: the form kept in storage."""
        return self.size.to_bytes(8, "big") + b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        if len(data) < 8 or (len(data) - 8) % HASH_SIZE:
            raise ValueError("malformed compact range encoding")
        size = int.from_bytes(data[:8], "big")
        hashes = [data[i : i + HASH_SIZE] for i in range(8, len(data), HASH_SIZE)]
        return cls(size, hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self.size}, root={self.root().hex()[:16]}…)"


# --- Reading stored hashes and generating proofs ---------------------------------------------------------


class HashReader(Protocol):
    async def node(self, height: int, index: int) -> bytes:
        """The hash of the perfect subtree of 2**height leaves starting at leaf index * 2**height.

        Callers only ask for subtrees that lie wholly inside the tree the reader serves.
        """
        ...


class MemoryHashReader:
    """A `HashReader` over leaf hashes held in memory (tests, small trees, tools).

    Every level of complete nodes is built once up front, O(n) hashes and memory.
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.size = len(leaf_hashes)
        self._levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self._levels[-1]) > 1:
            below = self._levels[-1]
            self._levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    async def node(self, height: int, index: int) -> bytes:
        if height >= len(self._levels) or not 0 <= index < len(self._levels[height]):
            raise ValueError(f"node ({height}, {index}) is not complete in a tree of size {self.size}")
        return self._levels[height][index]


async def subtree_hash(start: int, end: int, reader: HashReader) -> bytes:
    """MTH(D[start:end]) for a valid subtree, from the perfect subtrees that make it up."""
    if not is_valid_subtree(start, end):
        raise ValueError(f"[{start}, {end}) is not a valid subtree")
    if start == end:
        return EMPTY_ROOT
    parts: list[bytes] = []
    position = start
    # Perfect parts by descending height; alignment holds because start is a multiple of BIT_CEIL(size).
    for height in reversed(range((end - start).bit_length())):
        if (end - start) >> height & 1:
            parts.append(await reader.node(height, position >> height))
            position += 1 << height
    return _fold_right(parts)


async def root_hash(size: int, reader: HashReader) -> bytes:
    """The root of the tree of `size` leaves, read through `reader`."""
    return await subtree_hash(0, size, reader)


async def _subproof(start: int, end: int, lo: int, hi: int, known: bool, reader: HashReader) -> list[bytes]:
    """SUBTREE_SUBPROOF(start, end, D[lo:hi], known) of the MTC draft, with absolute leaf positions.

    `known` says the verifier already holds the hash of [start, end), so a node equal to it is omitted.
    """
    if start == lo and end == hi:
        return [] if known else [await subtree_hash(lo, hi, reader)]
    mid = lo + _split_point(hi - lo)
    if end <= mid:
        return [*await _subproof(start, end, lo, mid, known, reader), await subtree_hash(mid, hi, reader)]
    if mid <= start:
        return [*await _subproof(start, end, mid, hi, known, reader), await subtree_hash(lo, mid, reader)]
    # The subtree straddles mid, so it starts at lo: its left part is [lo, mid) itself, which the
    # verifier cannot know separately, hence known=False below.
    return [*await _subproof(mid, end, mid, hi, False, reader), await subtree_hash(lo, mid, reader)]


async def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    return await _subproof(index, index + 1, 0, size, True, reader)


async def consistency_proof(size1: int, size2: int, reader: HashReader) -> list[bytes]:
    """PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1.

    size1 = 0 gives the empty proof, as C2SP tlog-witness expects for "old 0"; size1 = size2 too.
    """
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 in (0, size2):
        return []
    return await _subproof(0, size1, 0, size2, True, reader)


async def subtree_inclusion_proof(index: int, start: int, end: int, reader: HashReader) -> list[bytes]:
    """Inclusion of entry `index` in the subtree [start, end) (MTC draft, "Subtree Inclusion Proofs")."""
    if not is_valid_subtree(start, end) or not start <= index < end:
        raise ValueError(f"index {index} is not in a valid subtree [{start}, {end})")
    return await _subproof(index, index + 1, start, end, True, reader)


async def subtree_consistency_proof(start: int, end: int, size: int, reader: HashReader) -> list[bytes]:
    """SUBTREE_PROOF(start, end, D[0:size]) (MTC draft, "Subtree Consistency Proofs")."""
    if not is_valid_subtree(start, end) or end > size:
        raise ValueError(f"[{start}, {end}) is not a valid subtree of a tree of size {size}")
    if start == end:
        return []
    return await _subproof(start, end, 0, size, True, reader)


# --- Verification ---------------------------------------------------------------------------------------


def _check_hash_sizes(proof: Sequence[bytes], *named: tuple[str, bytes]) -> None:
    for name, value in named:
        if len(value) != HASH_SIZE:
            raise ProofError(f"{name} is {len(value)} bytes, not {HASH_SIZE}")
    for i, value in enumerate(proof):
        if len(value) != HASH_SIZE:
            raise ProofError(f"proof hash {i} is {len(value)} bytes, not {HASH_SIZE}")


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _evaluate_inclusion(leaf: bytes, index: int, start: int, end: int, proof: Sequence[bytes]) -> bytes:
    """The subtree hash that `proof` implies for `leaf` at `index` in [start, end).

    RFC 9162 §2.1.3.2 with leaf_index = index - start and tree_size = end - start; the MTC draft's
    "Evaluating a Subtree Inclusion Proof".
    """
    if not is_valid_subtree(start, end):
        raise ProofError(f"[{start}, {end}) is not a valid subtree")
    if not start <= index < end:
        raise ProofError(f"index {index} is outside [{start}, {end})")
    fn, sn = index - start, end - start - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            # Skip the levels where this node has no right sibling (the right edge of the tree).
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    return result


def verify_subtree_inclusion(
    leaf: bytes, index: int, start: int, end: int, proof: Sequence[bytes], subtree: bytes
) -> None:
    """Check that `leaf` (a leaf hash) is entry `index` of the subtree [start, end) with hash `subtree`."""
    _check_hash_sizes(proof, ("leaf hash", leaf))
    if not _same(_evaluate_inclusion(leaf, index, start, end, proof), subtree):
        raise ProofError(f"inclusion proof for index {index} does not lead to the given root")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that `leaf` (a leaf hash) is entry `index` of the tree of `size` leaves with root `root`."""
    if size <= 0:
        raise ProofError(f"no leaf is included in a tree of size {size}")
    verify_subtree_inclusion(leaf, index, 0, size, proof, root)


def _align_consistency(fn: int, sn: int, tn: int) -> tuple[int, int, int]:
    """Climb from the subtree's last leaf to the first level where the proof starts to matter."""
    if sn == tn:
        while fn != sn:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    else:
        while fn != sn and sn & 1:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    return fn, sn, tn


def _check_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree: bytes, root: bytes
) -> None:
    """The MTC draft's "Verifying a Subtree Consistency Proof" for start < end <= size."""
    fn, sn, tn = _align_consistency(start, end - 1, size - 1)
    remaining = list(proof)
    if fn == sn:
        # The subtree is a node of the big tree, so its own hash seeds both computations.
        first_root = second_root = subtree
    elif remaining:
        first_root = second_root = remaining.pop(0)
    else:
        raise ProofError("consistency proof is empty")
    for sibling in remaining:
        if tn == 0:
            raise ProofError("consistency proof is too long")
        if sn & 1 or sn == tn:
            if fn < sn:
                first_root = node_hash(sibling, first_root)
            second_root = node_hash(sibling, second_root)
            while not sn & 1:
                fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
        else:
            second_root = node_hash(second_root, sibling)
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if tn != 0:
        raise ProofError("consistency proof is too short")
    if not _same(first_root, subtree):
        raise ProofError("consistency proof does not lead to the first root")
    if not _same(second_root, root):
        raise ProofError("consistency proof does not lead to the second root")


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree: bytes, root: bytes
) -> None:
    """Check that the subtree [start, end) with hash `subtree` is part of the tree of `size` with `root`."""
    if not is_valid_subtree(start, end):
        raise ProofError(f"[{start}, {end}) is not a valid subtree")
    if end > size:
        raise ProofError(f"subtree [{start}, {end}) ends beyond the tree size {size}")
    _check_hash_sizes(proof)
    if start == end:
        # An empty subtree is in every tree; only its hash (the empty hash) can be wrong.
        if proof:
            raise ProofError("the consistency proof of an empty subtree must be empty")
        if not _same(subtree, EMPTY_ROOT):
            raise ProofError("an empty subtree must have the empty hash")
        return
    _check_subtree_consistency(start, end, size, proof, subtree, root)


def verify_consistency(
    size1: int,
    size2: int,
    proof: Sequence[bytes],
    root1: bytes,
    root2: bytes,
    *,
    allow_empty_old: bool = False,
) -> None:
    """Check that the tree of `size1` leaves with `root1` is a prefix of the tree of `size2` with `root2`.

    Like the Go library (transparency-dev/merkle), a first size of 0 is rejected by default: such a proof
    proves nothing. C2SP tlog-witness instead defines "old 0" as valid with an empty proof; pass
    `allow_empty_old=True` for that (then size1 = 0 needs an empty proof, and, when size2 is 0 too,
    equal roots).

    When the sizes are equal the roots are only compared, whatever their length, as in the Go library.
    """
    if size1 < 0 or size2 < size1:
        raise ProofError(f"cannot prove consistency from size {size1} to size {size2}")
    _check_hash_sizes(proof)
    if size1 == 0:
        _check_from_empty(size2, proof, root1, root2, allow_empty_old=allow_empty_old)
        return
    _check_subtree_consistency(0, size1, size2, proof, root1, root2)


def _check_from_empty(
    size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes, *, allow_empty_old: bool
) -> None:
    if not allow_empty_old:
        raise ProofError("a consistency proof from the empty tree (size 0) proves nothing")
    if proof:
        raise ProofError("a consistency proof from size 0 must be empty")
    if size2 == 0 and not _same(root1, root2):
        raise ProofError("the roots of two empty trees differ")
