"""RFC 6962 hashing, the compact range, proof generation and verification, and the shared conformance data."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from reelm.transparency import merkle
from reelm.transparency.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryHashReader,
    ProofError,
    consistency_proof,
    inclusion_proof,
    is_valid_subtree,
    leaf_hash,
    node_hash,
    root_of,
    subtree_consistency_proof,
    subtree_inclusion_proof,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)
from tests.transparency.conftest import MERKLE_CONFORMANCE

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(300)]
MAX_SIZE = 70


def _flip(data: bytes, bit: int) -> bytes:
    changed = bytearray(data)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


def _tampered_proofs(proof: Sequence[bytes], bit: int) -> Iterator[list[bytes]]:
    """Each proof hash with one bit flipped, then the proof with a hash dropped or added."""
    for i in range(len(proof)):
        yield [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
    if proof:
        yield list(proof[:-1])
    yield [*proof, LEAVES[0]]


# --- Conformance data (transparency-dev/merkle testdata, in ../shared) ------------------------------------


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(h) for h in case["proof"] or []]


def _check_inclusion(case: dict[str, Any]) -> None:
    verify_inclusion(
        _b64(case["leafHash"]), case["leafIdx"], case["treeSize"], _proof(case), _b64(case["root"])
    )


def _check_consistency(case: dict[str, Any]) -> None:
    verify_consistency(case["size1"], case["size2"], _proof(case), _b64(case["root1"]), _b64(case["root2"]))


def _check_subtree_inclusion(case: dict[str, Any]) -> None:
    verify_subtree_inclusion(
        _b64(case["leafHash"]), case["leafIdx"], case["start"], case["end"], _proof(case), _b64(case["root"])
    )


def _check_subtree_consistency(case: dict[str, Any]) -> None:
    verify_subtree_consistency(
        case["start"], case["end"], case["size"], _proof(case), _b64(case["root1"]), _b64(case["root2"])
    )


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "inclusion": _check_inclusion,
    "consistency": _check_consistency,
    "subtreeinclusion": _check_subtree_inclusion,
    "subtreeconsistency": _check_subtree_consistency,
}


def _conformance_cases() -> list[Any]:
    files = sorted(MERKLE_CONFORMANCE.glob("*/**/*.json")) if MERKLE_CONFORMANCE.is_dir() else []
    if not files:
        # One placeholder case, so the fixture runs and fails in CI (or skips) instead of nothing running.
        return [pytest.param(None, id="conformance-data-missing")]
    return [pytest.param(f, id=f.relative_to(MERKLE_CONFORMANCE).with_suffix("").as_posix()) for f in files]


@pytest.mark.parametrize("case_file", _conformance_cases())
def test_conformance_case(merkle_conformance: Path, case_file: Path | None) -> None:
    assert case_file is not None
    case = json.loads(case_file.read_text())
    check = CHECKS[case_file.relative_to(merkle_conformance).parts[0]]
    if case["wantErr"]:
        with pytest.raises(ProofError):
            check(case)
    else:
        check(case)


def test_conformance_data_covers_every_proof_kind(merkle_conformance: Path) -> None:
    for kind in CHECKS:
        cases = list((merkle_conformance / kind).glob("**/*.json"))
        assert cases, kind
        assert any(not json.loads(c.read_text())["wantErr"] for c in cases), kind


# --- Hashing --------------------------------------------------------------------------------------------


def test_hashes_follow_rfc6962() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    # Go's tlog.RecordHash("hello world"), as in sumdb/tlog's note test.
    assert (
        base64.b64encode(leaf_hash(b"hello world")).decode() == "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="
    )
    assert root_of([]) == EMPTY_ROOT
    assert root_of(LEAVES[:1]) == LEAVES[0]
    # Three leaves split at 2: ((0, 1), 2).
    assert root_of(LEAVES[:3]) == node_hash(node_hash(LEAVES[0], LEAVES[1]), LEAVES[2])


def _seven() -> tuple[list[bytes], dict[str, bytes]]:
    """The 7-entry example tree of C2SP merkle-tree, with its node labels."""
    node = dict(zip("abcdefg", LEAVES[:7], strict=True))
    node["h"] = node_hash(node["a"], node["b"])
    node["i"] = node_hash(node["c"], node["d"])
    node["j"] = node_hash(node["e"], node["f"])
    node["k"] = node_hash(node["h"], node["i"])
    node["l"] = node_hash(node["j"], node["g"])
    return LEAVES[:7], node


@pytest.mark.parametrize(("index", "labels"), [(0, "b i l"), (3, "c h l"), (4, "f g k"), (6, "j k")])
async def test_inclusion_proofs_match_the_spec_example(index: int, labels: str) -> None:
    leaves, node = _seven()
    assert await inclusion_proof(index, 7, MemoryHashReader(leaves)) == [node[x] for x in labels.split()]


@pytest.mark.parametrize(("size1", "labels"), [(3, "c d h l"), (4, "l"), (6, "j g k")])
async def test_consistency_proofs_match_the_spec_example(size1: int, labels: str) -> None:
    leaves, node = _seven()
    assert await consistency_proof(size1, 7, MemoryHashReader(leaves)) == [node[x] for x in labels.split()]


# --- Inclusion ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
async def test_inclusion_proofs_verify_and_reject_any_change(size: int) -> None:
    leaves = LEAVES[:size]
    root = root_of(leaves)
    reader = MemoryHashReader(leaves)
    for index in range(size):
        proof = await inclusion_proof(index, size, reader)
        verify_inclusion(leaves[index], index, size, proof, root)
        bit = (size * 31 + index * 7) % 256  # a different bit in each case, all 256 over the sweep
        for tampered in _tampered_proofs(proof, bit):
            with pytest.raises(ProofError):
                verify_inclusion(leaves[index], index, size, tampered, root)
        with pytest.raises(ProofError):
            verify_inclusion(_flip(leaves[index], bit), index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, proof, _flip(root, bit))
        for index_bit in range(size.bit_length() + 1):
            with pytest.raises(ProofError):
                verify_inclusion(leaves[index], index ^ (1 << index_bit), size, proof, root)


async def test_every_bit_of_an_inclusion_proof_matters() -> None:
    leaves = LEAVES[:13]
    root = root_of(leaves)
    for index in range(13):
        proof = await inclusion_proof(index, 13, MemoryHashReader(leaves))
        for i in range(len(proof)):
            for bit in range(256):
                with pytest.raises(ProofError):
                    verify_inclusion(
                        leaves[index], index, 13, [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]], root
                    )


@pytest.mark.parametrize(
    ("leaf", "index", "size", "proof", "message"),
    [
        (LEAVES[0], 0, 0, [], "size 0"),
        (LEAVES[0], 1, 1, [], "outside"),
        (LEAVES[0], -1, 2, [LEAVES[1]], "outside"),
        (LEAVES[0][:31], 0, 1, [], "leaf hash is 31 bytes"),
        (LEAVES[0], 0, 2, [LEAVES[1] + b"x"], "proof hash 0 is 33 bytes"),
        (LEAVES[0], 0, 3, [LEAVES[1]], "too short"),
        (LEAVES[0], 0, 2, [LEAVES[1], LEAVES[2]], "too long"),
    ],
)
def test_inclusion_errors_say_what_is_wrong(
    leaf: bytes, index: int, size: int, proof: list[bytes], message: str
) -> None:
    with pytest.raises(ProofError, match=message):
        verify_inclusion(leaf, index, size, proof, root_of(LEAVES[:2]))


async def test_inclusion_proof_rejects_an_index_outside_the_tree() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        await inclusion_proof(5, 5, MemoryHashReader(LEAVES[:5]))


# --- Consistency ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size2", range(1, MAX_SIZE + 1))
async def test_consistency_proofs_verify_and_reject_any_change(size2: int) -> None:
    reader = MemoryHashReader(LEAVES[:size2])
    root2 = root_of(LEAVES[:size2])
    for size1 in range(1, size2 + 1):
        root1 = root_of(LEAVES[:size1])
        proof = await consistency_proof(size1, size2, reader)
        verify_consistency(size1, size2, proof, root1, root2)
        bit = (size2 * 13 + size1 * 5) % 256
        for tampered in _tampered_proofs(proof, bit):
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, tampered, root1, root2)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, _flip(root1, bit), root2)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root1, _flip(root2, bit))
        for other in {size1 ^ (1 << b) for b in range(size2.bit_length())} - {0, size1}:
            with pytest.raises(ProofError):
                verify_consistency(other, size2, proof, root1, root2)


async def test_consistency_from_and_to_the_same_size_is_the_empty_proof() -> None:
    reader = MemoryHashReader(LEAVES[:9])
    assert await consistency_proof(9, 9, reader) == []
    assert await consistency_proof(0, 9, reader) == []
    with pytest.raises(ValueError, match="no consistency proof"):
        await consistency_proof(9, 8, reader)


def test_consistency_from_size_zero_is_rejected_unless_allowed() -> None:
    root = root_of(LEAVES[:5])
    with pytest.raises(ProofError, match="proves nothing"):
        verify_consistency(0, 5, [], EMPTY_ROOT, root)
    # tlog-witness: "old 0" needs an empty proof and nothing else.
    verify_consistency(0, 5, [], EMPTY_ROOT, root, allow_empty_old=True)
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(0, 5, [LEAVES[0]], EMPTY_ROOT, root, allow_empty_old=True)
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT, allow_empty_old=True)
    with pytest.raises(ProofError, match="empty trees differ"):
        verify_consistency(0, 0, [], EMPTY_ROOT, root, allow_empty_old=True)


def test_consistency_errors_say_what_is_wrong() -> None:
    root = root_of(LEAVES[:4])
    with pytest.raises(ProofError, match="from size 5 to size 4"):
        verify_consistency(5, 4, [], root, root)
    with pytest.raises(ProofError, match="is empty"):
        verify_consistency(3, 4, [], root, root)
    with pytest.raises(ProofError, match="proof hash 1 is 3 bytes"):
        verify_consistency(3, 4, [root, b"abc"], root, root)


# --- Subtrees -------------------------------------------------------------------------------------------


def test_valid_subtrees_are_aligned_to_their_size() -> None:
    assert is_valid_subtree(0, 13)
    assert is_valid_subtree(8, 13)
    assert is_valid_subtree(4, 8)
    assert is_valid_subtree(5, 5)
    assert not is_valid_subtree(4, 9)
    assert not is_valid_subtree(2, 1)


async def test_subtree_proofs_match_the_draft_examples() -> None:
    d = LEAVES
    reader = MemoryHashReader(d[:14])
    assert await subtree_inclusion_proof(10, 8, 13, reader) == [d[11], root_of(d[8:10]), d[12]]
    assert await subtree_consistency_proof(4, 8, 14, reader) == [root_of(d[0:4]), root_of(d[8:14])]
    assert await subtree_consistency_proof(8, 13, 14, reader) == [
        d[12],
        d[13],
        root_of(d[8:12]),
        root_of(d[0:8]),
    ]


@pytest.mark.parametrize("size", [1, 2, 5, 8, 13, 14, 31, 33])
async def test_subtree_proofs_verify_for_every_subtree(size: int) -> None:
    leaves = LEAVES[:size]
    reader = MemoryHashReader(leaves)
    root = root_of(leaves)
    for start in range(size + 1):
        for end in range(start, size + 1):
            if not is_valid_subtree(start, end):
                continue
            subtree = root_of(leaves[start:end])
            assert await merkle.subtree_hash(start, end, reader) == subtree
            proof = await subtree_consistency_proof(start, end, size, reader)
            verify_subtree_consistency(start, end, size, proof, subtree, root)
            for index in range(start, end):
                path = await subtree_inclusion_proof(index, start, end, reader)
                verify_subtree_inclusion(leaves[index], index, start, end, path, subtree)


# --- Compact range --------------------------------------------------------------------------------------


def test_compact_range_root_matches_the_reference_at_every_size() -> None:
    compact = CompactRange()
    for size in range(301):
        assert compact.size == size
        assert len(compact.hashes) == size.bit_count()
        assert compact.root() == root_of(LEAVES[:size])
        restored = CompactRange.from_bytes(compact.to_bytes())
        assert (restored.size, restored.hashes, restored.root()) == (size, compact.hashes, compact.root())
        if size < len(LEAVES):
            compact.append(LEAVES[size])


def test_compact_range_extends_from_a_stored_state() -> None:
    compact = CompactRange()
    compact.extend(LEAVES[:100])
    resumed = CompactRange.from_bytes(compact.to_bytes())
    resumed.extend(LEAVES[100:250])
    assert resumed.root() == root_of(LEAVES[:250])


def test_appending_is_linear_in_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = merkle.node_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting)
    CompactRange().extend(leaf_hash(str(i).encode()) for i in range(4096))
    # A binary counter: 4095 merges in all, one per internal node of the perfect tree.
    assert calls == 4095


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 7,
        (1).to_bytes(8, "big"),
        (2).to_bytes(8, "big") + LEAVES[0] + LEAVES[1],
        b"\x00" * 8 + b"x",
    ],
)
def test_compact_range_rejects_malformed_encodings(data: bytes) -> None:
    with pytest.raises(ValueError, match="compact range"):
        CompactRange.from_bytes(data)


def test_compact_range_rejects_bad_hashes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange(1, [b"short"])
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")
