"""Our PDQ against the C++ reference (pdqhash 0.2.8) on generated frames, and PDQ's expected invariances."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from reelm.moderation.pdq import HEX_LENGTH, MATCH_DISTANCE, MIN_QUALITY, PdqHash, pdq_hash, words_from_hex
from tests.moderation.frames import FrameSpec, frame_digest, make_frame

REFERENCE: list[dict[str, Any]] = json.loads((Path(__file__).parent / "pdq_reference.json").read_text())[
    "frames"
]
# PDQ's criterion for a correct port: hashes of quality >= 80 within distance 10 of the C++ reference.
CONFIDENT_QUALITY = 80
PORT_TOLERANCE = 10


def test_reference_has_enough_confident_frames() -> None:
    confident = [r for r in REFERENCE if r["quality"] >= CONFIDENT_QUALITY]
    assert len(confident) >= 50
    assert {FrameSpec.parse(r["frame"]).kind for r in confident} >= {"shapes", "texture", "photo", "stripes"}


@pytest.mark.parametrize("record", REFERENCE, ids=[r["frame"] for r in REFERENCE])
def test_agrees_with_reference_implementation(record: dict[str, Any]) -> None:
    frame = make_frame(FrameSpec.parse(record["frame"]))
    assert frame_digest(frame) == record["sha256"], "frames.py changed: rerun make_pdq_reference.py"
    ours = pdq_hash(frame)
    assert abs(ours.quality - record["quality"]) <= 1
    if record["quality"] >= CONFIDENT_QUALITY:
        assert ours.distance(PdqHash(record["hash"], record["quality"])) <= PORT_TOLERANCE


def _photo(seed: int = 1, width: int = 360, height: int = 640) -> npt.NDArray[np.uint8]:
    return make_frame(FrameSpec("photo", seed, width, height))


def test_hash_is_64_lowercase_hex_digits_with_half_the_bits_set() -> None:
    hashed = pdq_hash(_photo())
    assert len(hashed.hex) == HEX_LENGTH
    assert hashed.hex == hashed.hex.lower()
    assert int(hashed.hex, 16).bit_count() == 128  # bits are set above the median of 256 coefficients
    assert hashed.quality == 100


def test_words_keep_the_hex_digits_in_order() -> None:
    hexes = [pdq_hash(_photo(seed)).hex for seed in (1, 2)]
    words = words_from_hex(hexes)
    assert words.shape == (2, 4)
    assert [f"{int(w):016x}" for w in words[0]] == [hexes[0][i : i + 16] for i in range(0, 64, 16)]


def test_small_noise_barely_changes_the_hash() -> None:
    frame = _photo()
    noise = np.random.default_rng(7).integers(-8, 9, frame.shape)
    noisy = np.clip(frame.astype(np.int64) + noise, 0, 255).astype(np.uint8)
    assert pdq_hash(frame).distance(pdq_hash(noisy)) <= 8


def test_brighter_copy_stays_close() -> None:
    frame = _photo()
    brighter = np.clip(frame.astype(np.int64) + 30, 0, 255).astype(np.uint8)
    assert pdq_hash(frame).distance(pdq_hash(brighter)) <= 10


@pytest.mark.parametrize(("width", "height"), [(360, 640), (1080, 1920)])
def test_half_size_copy_still_matches(width: int, height: int) -> None:
    frame = _photo(width=width, height=height)
    half = frame.reshape(height // 2, 2, width // 2, 2, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    assert pdq_hash(frame).distance(pdq_hash(half)) <= 20


def test_different_images_are_far_apart() -> None:
    hashes = [
        pdq_hash(make_frame(FrameSpec(kind, seed, 360, 640)))
        for kind in ("photo", "shapes")
        for seed in (1, 2, 3)
    ]
    distances = [a.distance(b) for a, b in itertools.combinations(hashes, 2)]
    assert min(distances) > 3 * MATCH_DISTANCE


def test_mirror_image_does_not_match() -> None:
    frame = _photo()
    assert pdq_hash(frame).distance(pdq_hash(frame[:, ::-1])) > MATCH_DISTANCE


def test_flat_image_has_no_usable_hash() -> None:
    assert pdq_hash(make_frame(FrameSpec("flat", 1, 360, 640))).quality < MIN_QUALITY


def test_images_under_five_pixels_a_side_hash_to_zero() -> None:
    assert pdq_hash(np.full((4, 300, 3), 128, dtype=np.uint8)) == PdqHash("0" * HEX_LENGTH, 0)


def test_rejects_anything_but_rgb() -> None:
    with pytest.raises(ValueError, match="RGB"):
        pdq_hash(np.zeros((64, 64), dtype=np.uint8))
