"""Fixtures for the transparency tests: the shared conformance data beside the project folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The shared folder lives beside the project folder (../shared from the project root); it is not copied in.
SHARED = Path(__file__).resolve().parents[3] / "shared"
MERKLE_CONFORMANCE = SHARED / "conformance" / "merkle"


@pytest.fixture(scope="session")
def merkle_conformance() -> Path:
    """The transparency-dev/merkle test vectors; their absence fails in CI and skips elsewhere."""
    if not MERKLE_CONFORMANCE.is_dir():
        message = f"Merkle conformance data not found at {MERKLE_CONFORMANCE}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return MERKLE_CONFORMANCE
