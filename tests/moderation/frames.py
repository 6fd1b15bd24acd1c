"""Deterministic synthetic frames for the PDQ tests and for `make_pdq_reference.py`.

Both the tests and the reference script build frames here, so a frame named in `pdq_reference.json` is the
same pixels in both. Only `Generator.random` (a stable PCG64 stream) and IEEE-exact arithmetic (+, -, *, /,
floor, comparisons) are used: no sin/exp, no reductions, whose last bits may differ between numpy builds or
CPUs. The digest stored with each reference hash proves the pixels did not change.

This module needs numpy only, so the reference script can run it from a scratch virtualenv.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Plane = npt.NDArray[np.float64]  # H x W, values in [0, 1]
Picture = npt.NDArray[np.float64]  # H x W x 3, values in [0, 1]


@dataclass(frozen=True)
class FrameSpec:
    kind: str
    seed: int
    width: int
    height: int

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.seed}-{self.width}x{self.height}"

    @classmethod
    def parse(cls, name: str) -> FrameSpec:
        kind, seed, size = name.split("-")
        width, height = size.split("x")
        return cls(kind, int(seed), int(width), int(height))


def make_frame(spec: FrameSpec) -> npt.NDArray[np.uint8]:
    """An RGB frame (height x width x 3, uint8) of the given kind."""
    # The kind is mixed into the seed so that e.g. shapes-1 and photo-1 do not share their random draws.
    rng = np.random.default_rng([spec.seed, *spec.kind.encode()])
    picture = _PAINTERS[spec.kind](rng, spec.height, spec.width)
    return np.floor(np.clip(picture, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def frame_digest(frame: npt.NDArray[np.uint8]) -> str:
    return hashlib.sha256(np.ascontiguousarray(frame).tobytes()).hexdigest()


# --- building blocks --------------------------------------------------------------------------------------


def _coordinates(height: int, width: int) -> tuple[Plane, Plane]:
    """Pixel-centre coordinates scaled to [0, 1) on each axis, as (y, x) planes."""
    y = (np.arange(height, dtype=np.float64) + 0.5) / height
    x = (np.arange(width, dtype=np.float64) + 0.5) / width
    return np.broadcast_to(y[:, None], (height, width)), np.broadcast_to(x[None, :], (height, width))


def _colour(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    return rng.random(3)


def _paint(plane: Plane, low: npt.NDArray[np.float64], high: npt.NDArray[np.float64]) -> Picture:
    """Map a [0, 1] plane onto the colour ramp low..high."""
    return low + plane[:, :, None] * (high - low)


def _value_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> Plane:
    """Random values on a (cells+1)^2 lattice, smoothly interpolated (smoothstep): blobs of about 1/cells."""
    lattice = rng.random((cells + 1, cells + 1))
    fy = (np.arange(height, dtype=np.float64) + 0.5) * (cells / height)
    fx = (np.arange(width, dtype=np.float64) + 0.5) * (cells / width)
    iy = np.minimum(np.floor(fy).astype(np.int64), cells - 1)
    ix = np.minimum(np.floor(fx).astype(np.int64), cells - 1)
    ty, tx = fy - iy, fx - ix
    sy = (ty * ty * (3.0 - 2.0 * ty))[:, None]
    sx = (tx * tx * (3.0 - 2.0 * tx))[None, :]
    top = lattice[iy][:, ix] * (1.0 - sx) + lattice[iy][:, ix + 1] * sx
    bottom = lattice[iy + 1][:, ix] * (1.0 - sx) + lattice[iy + 1][:, ix + 1] * sx
    result: Plane = top * (1.0 - sy) + bottom * sy
    return result


def _fractal_noise(rng: np.random.Generator, height: int, width: int) -> Plane:
    """Octaves of value noise with amplitude falling as 1/frequency: the spectrum of natural photos."""
    total = np.zeros((height, width))
    weight = 0.0
    for octave, cells in enumerate((3, 6, 12, 24, 48)):
        amplitude = 1.0 / (octave + 1)
        total += amplitude * _value_noise(rng, height, width, cells)
        weight += amplitude
    return total / weight


def _linear_ramp(rng: np.random.Generator, y: Plane, x: Plane) -> Plane:
    a, b = rng.random(2) * 2.0 - 1.0
    ramp = a * x + b * y
    low, high = min(0.0, a) + min(0.0, b), max(0.0, a) + max(0.0, b)
    result: Plane = (ramp - low) / max(high - low, 1e-9)
    return result


def _triangle_wave(t: Plane) -> Plane:
    """1 at integers, 0 at half-integers, linear in between (a sine's shape without sin)."""
    result: Plane = np.abs(2.0 * (t - np.floor(t)) - 1.0)
    return result


def _draw_shapes(rng: np.random.Generator, picture: Picture, count: int) -> None:
    height, width = picture.shape[:2]
    y, x = _coordinates(height, width)
    for _ in range(count):
        cy, cx, ry, rx, kind = rng.random(5)
        ry, rx = 0.05 + 0.3 * ry, 0.05 + 0.3 * rx
        if kind < 1 / 3:
            inside = (np.abs(y - cy) <= ry) & (np.abs(x - cx) <= rx)
        elif kind < 2 / 3:
            inside = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0
        else:
            inside = _triangle(rng, y, x)
        picture[inside] = _colour(rng)


def _triangle(rng: np.random.Generator, y: Plane, x: Plane) -> npt.NDArray[np.bool_]:
    """Pixels on the same side of all three edges of a random triangle."""
    corners = rng.random(6).reshape(3, 2)
    sides = []
    for i in range(3):
        (y0, x0), (y1, x1) = corners[i], corners[(i + 1) % 3]
        sides.append((x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= 0.0)
    inside: npt.NDArray[np.bool_] = (sides[0] == sides[1]) & (sides[1] == sides[2])
    return inside


# --- kinds --------------------------------------------------------------------------------------------------


def _gradient(rng: np.random.Generator, height: int, width: int) -> Picture:
    y, x = _coordinates(height, width)
    cy, cx = rng.random(2)
    radial = np.minimum(((y - cy) ** 2 + (x - cx) ** 2) * 2.0, 1.0)
    return 0.6 * _paint(_linear_ramp(rng, y, x), _colour(rng), _colour(rng)) + 0.4 * _paint(
        radial, _colour(rng), _colour(rng)
    )


def _shapes(rng: np.random.Generator, height: int, width: int) -> Picture:
    y, x = _coordinates(height, width)
    picture = _paint(_linear_ramp(rng, y, x), _colour(rng), _colour(rng))
    _draw_shapes(rng, picture, count=6 + int(rng.random() * 8))
    return picture


def _texture(rng: np.random.Generator, height: int, width: int) -> Picture:
    luminance = _fractal_noise(rng, height, width)
    tint = _fractal_noise(rng, height, width)
    return _paint(luminance, _colour(rng) * 0.3, 0.7 + _colour(rng) * 0.3) * (0.8 + 0.2 * tint[:, :, None])


def _photo(rng: np.random.Generator, height: int, width: int) -> Picture:
    """Textured background, a few objects, a vignette and sensor-like noise."""
    picture = _texture(rng, height, width)
    _draw_shapes(rng, picture, count=3 + int(rng.random() * 4))
    y, x = _coordinates(height, width)
    vignette = 1.0 - 0.5 * ((y - 0.5) ** 2 + (x - 0.5) ** 2)
    grain = (rng.random((height, width, 1)) - 0.5) * (12.0 / 255.0)
    return picture * vignette[:, :, None] + grain


def _stripes(rng: np.random.Generator, height: int, width: int) -> Picture:
    y, x = _coordinates(height, width)
    fa, fb, fc, fd = 1.0 + rng.random(4) * 7.0
    plaid = 0.5 * _triangle_wave(fa * x + fb * y) + 0.5 * _triangle_wave(fc * x - fd * y)
    return _paint(plaid, _colour(rng), _colour(rng))


def _noise(rng: np.random.Generator, height: int, width: int) -> Picture:
    result: Picture = rng.random((height, width, 3))
    return result


def _flat(rng: np.random.Generator, height: int, width: int) -> Picture:
    return np.broadcast_to(_colour(rng), (height, width, 3)).copy()


_PAINTERS: dict[str, Callable[[np.random.Generator, int, int], Picture]] = {
    "gradient": _gradient,
    "shapes": _shapes,
    "texture": _texture,
    "photo": _photo,
    "stripes": _stripes,
    "noise": _noise,
    "flat": _flat,
}

# Sizes: square, portrait phone, landscape, odd, below PDQ's 64x64, thin, and below its 5-pixel minimum.
_SIZES = (
    (64, 64),
    (144, 256),
    (360, 640),
    (640, 360),
    (517, 333),
    (97, 41),
    (1080, 1920),
    (12, 300),
    (4, 4),
)


def _reference_specs() -> tuple[FrameSpec, ...]:
    specs = []
    for kind in ("gradient", "shapes", "texture", "photo", "stripes"):
        for seed in (1, 2, 3):
            for width, height in _SIZES[: 6 if seed > 1 else len(_SIZES)]:
                specs.append(FrameSpec(kind, seed, width, height))
    specs += [FrameSpec("noise", 1, w, h) for w, h in ((64, 64), (360, 640), (1080, 1920))]
    specs += [FrameSpec("flat", 1, w, h) for w, h in ((64, 64), (360, 640))]
    specs.append(FrameSpec("photo", 4, 1920, 1080))
    return tuple(specs)


REFERENCE_SPECS = _reference_specs()
