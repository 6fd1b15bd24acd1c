"""Write `pdq_reference.json`: PDQ hashes of the test frames by the reference implementation.

Not run by the tests (the reference is a C++ extension we do not depend on). To regenerate, in a scratch
virtualenv outside the project:

    python3 -m venv /tmp/pdqref
    /tmp/pdqref/bin/pip install 'numpy>=2' Cython setuptools
    /tmp/pdqref/bin/pip install --no-build-isolation pdqhash==0.2.8   # source only: needs a C++ compiler
    /tmp/pdqref/bin/python tests/moderation/make_pdq_reference.py

pdqhash wraps the C++ code of facebook/ThreatExchange `pdq` (`pdqHash256FromFloatLuma`); its bit vector
is word 15 first, so packing it most-significant-bit first gives ThreatExchange's hex.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pdqhash  # type: ignore[import-not-found]  # only in the scratch virtualenv, see above

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the project root, without installing the project

from tests.moderation.frames import (  # noqa: E402 - found through the path above
    REFERENCE_SPECS,
    frame_digest,
    make_frame,
)

OUTPUT = HERE / "pdq_reference.json"


def main() -> None:
    records = []
    for spec in REFERENCE_SPECS:
        frame = make_frame(spec)
        bits, quality = pdqhash.compute(frame)
        records.append(
            {
                "frame": spec.name,
                "sha256": frame_digest(frame),
                "hash": np.packbits(bits.astype(np.uint8)).tobytes().hex(),
                "quality": int(quality),
            }
        )
    document = {
        "reference": f"pdqhash {_version()} (facebook/ThreatExchange pdq C++)",
        "generator": "tests/moderation/frames.py",
        "frames": records,
    }
    OUTPUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(records)} frames -> {OUTPUT}")


def _version() -> str:
    from importlib.metadata import version  # noqa: PLC0415 - only needed for the header

    return version("pdqhash")


if __name__ == "__main__":
    main()
