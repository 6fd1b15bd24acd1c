"""PDQ perceptual hashes of images (Meta's algorithm, as ThreatExchange exchanges them), in numpy.

Our own implementation of the steps documented for facebook/ThreatExchange `pdq` ("hashing.pdf"):

1. luminance Y = 0.299 R + 0.587 G + 0.114 B;
2. two passes of a Jarosz box filter along rows and columns (window ceil(side / 128)), then nearest
   sampling at 64 x 64 points (pixel centres), so the image is blurred to about 64 x 64 first;
3. quality: the sum of absolute vertical and horizontal differences of that 64 x 64 image (each
   truncated to an integer percent of 255), divided by 90 and capped at 100: flat images score low;
4. the 16 x 16 lowest non-constant frequencies of a 2-D DCT-II of the 64 x 64 image;
5. bit (row * 16 + column) is set where that coefficient exceeds the median of the 256.

The 256 bits are printed as ThreatExchange does: sixteen 16-bit words, word 15 (bits 240-255) first, each as
four hex digits; i.e. the hex of the 256-bit number whose bit k is bit k of the hash.

Floats are 64-bit here and 32-bit in the C++ reference, so a coefficient that sits almost exactly on the
median can land on the other side. PDQ's own criterion for a correct port is that hashes of quality >= 80 are
within distance 10 of the reference's; on the generated frames of tests/moderation (pdqhash 0.2.8 as the
reference) every such hash is identical, and so is every quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

HASH_BITS = 256
HEX_LENGTH = HASH_BITS // 4
# ThreatExchange's recommended starting thresholds (pdq/README.md; python-threatexchange PdqSignal): hashes
# within this Hamming distance match, and hashes below this quality are too unreliable to match on.
MATCH_DISTANCE = 31
MIN_QUALITY = 50
# Below this many pixels on a side PDQ does not hash: the result is all zero bits with quality 0.
MIN_SIDE = 5
_DOWNSAMPLED = 64
_FREQUENCIES = 16
_JAROSZ_PASSES = 2
_LUMA = np.array([0.299, 0.587, 0.114])
# ThreatExchange's constants: 100 * |difference| / 255 per neighbour pair, summed, / 90, capped at 100.
_QUALITY_PERCENT_SCALE = 100.0 / 255.0
_QUALITY_DIVISOR = 90
_QUALITY_MAX = 100


@dataclass(frozen=True)
class PdqHash:
    """A PDQ hash: 64 lowercase hex digits in ThreatExchange's order, and quality 0-100."""

    hex: str
    quality: int

    def distance(self, other: PdqHash) -> int:
        """Hamming distance: the number of differing bits (0-256); <= 31 counts as a match."""
        return (int(self.hex, 16) ^ int(other.hex, 16)).bit_count()


def pdq_hash(rgb: npt.NDArray[np.uint8]) -> PdqHash:
    """The PDQ hash of an RGB image (height x width x 3, uint8)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (height, width, 3), got {rgb.shape}")
    height, width = rgb.shape[:2]
    if height < MIN_SIDE or width < MIN_SIDE:
        return PdqHash("0" * HEX_LENGTH, 0)
    luma = rgb.astype(np.float64) @ _LUMA
    small = _downsample(luma)
    return PdqHash(_bits_to_hex(_dct_bits(small)), _quality(small))


def _downsample(luma: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Jarosz-filter and sample a luminance image to 64 x 64.

    The reference alternates passes along rows and along columns. Box filters along different axes commute,
    so here both passes along rows run first, then both along columns, and the last pass along each axis is
    only evaluated at the 64 sampled positions: the column passes see a 64-wide image, not the full one.
    """
    height, width = luma.shape
    across = _filter_and_sample_rows(luma, _window(width), _sample_points(width))
    down = _filter_and_sample_rows(np.ascontiguousarray(across.T), _window(height), _sample_points(height))
    return down.T


def _window(side: int) -> int:
    """Box width along an axis of `side` pixels: ceil(side / 128), i.e. half the sampling step."""
    return (side + 2 * _DOWNSAMPLED - 1) // (2 * _DOWNSAMPLED)


def _sample_points(side: int) -> npt.NDArray[np.intp]:
    """The pixel under the centre of each of the 64 output cells."""
    return np.floor((np.arange(_DOWNSAMPLED) + 0.5) * side / _DOWNSAMPLED).astype(np.intp)


def _filter_and_sample_rows(
    image: npt.NDArray[np.float64], window: int, samples: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """_JAROSZ_PASSES box filters along each row, the last one only at the sampled columns."""
    everywhere = np.arange(image.shape[1])
    for _ in range(_JAROSZ_PASSES - 1):
        image = _box_rows(image, window, everywhere)
    return _box_rows(image, window, samples)


def _box_rows(
    image: npt.NDArray[np.float64], window: int, at: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """The mean over a window of `window` pixels along each row, at columns `at`.

    The window around column i spans i - (window - half) .. i + half - 1 with half = (window + 2) // 2 (one
    pixel more ahead than behind when the width is even), cut short at the image edges, where the mean is
    over the pixels that remain.
    """
    width = image.shape[1]
    half = (window + 2) // 2
    starts = np.maximum(at - (window - half), 0)
    ends = np.minimum(at + half, width)
    # prefix[:, k] sums the row's first k pixels, so a window sums to prefix[:, end] - prefix[:, start].
    prefix = np.zeros((image.shape[0], width + 1))
    np.cumsum(image, axis=1, out=prefix[:, 1:])
    result: npt.NDArray[np.float64] = (prefix[:, ends] - prefix[:, starts]) / (ends - starts)
    return result


def _quality(small: npt.NDArray[np.float64]) -> int:
    vertical = np.trunc((small[:-1, :] - small[1:, :]) * _QUALITY_PERCENT_SCALE)
    horizontal = np.trunc((small[:, :-1] - small[:, 1:]) * _QUALITY_PERCENT_SCALE)
    gradient_sum = int(np.abs(vertical).sum() + np.abs(horizontal).sum())
    return min(gradient_sum // _QUALITY_DIVISOR, _QUALITY_MAX)


@cache
def _dct_matrix() -> npt.NDArray[np.float64]:
    """Rows 1..16 of the orthonormal 64-point DCT-II basis (row 0, the mean, carries no shape)."""
    frequencies = np.arange(1, _FREQUENCIES + 1)[:, None]
    samples = np.arange(_DOWNSAMPLED)[None, :]
    basis: npt.NDArray[np.float64] = np.sqrt(2.0 / _DOWNSAMPLED) * np.cos(
        np.pi / (2 * _DOWNSAMPLED) * frequencies * (2 * samples + 1)
    )
    return basis


def _dct_bits(small: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """256 bits, bit (i * 16 + j) for vertical frequency i and horizontal frequency j."""
    basis = _dct_matrix()
    coefficients = (basis @ small @ basis.T).ravel()
    # The lower median (the 128th smallest): exactly half the bits are set when the values are distinct.
    median = np.partition(coefficients, HASH_BITS // 2 - 1)[HASH_BITS // 2 - 1]
    bits: npt.NDArray[np.bool_] = coefficients > median
    return bits


def _bits_to_hex(bits: npt.NDArray[np.bool_]) -> str:
    # Reversed, bit 255 leads, so packing most-significant-bit first writes the number's hex digits in order.
    return np.packbits(bits[::-1]).tobytes().hex()


def words_from_hex(hexes: Sequence[str]) -> npt.NDArray[np.uint64]:
    """Hashes as rows of four 64-bit words (N x 4), the layout the hash index works on."""
    packed = bytes.fromhex("".join(hexes))
    return np.frombuffer(packed, dtype=">u8").astype(np.uint64).reshape(len(hexes), HASH_BITS // 64)
