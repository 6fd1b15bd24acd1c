"""Scratch space for work in progress (uploads being probed, transcodes, exports, avatars).

Each process works under `<data_dir>/tmp/<its pid>/`, so the files of a process that died (killed, out of
memory, power loss) are recognisable: the next worker or server that starts removes the folders of processes
that no longer exist.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil


def _root(data_dir: Path) -> Path:
    return data_dir / "tmp"


@contextmanager
def scratch(data_dir: Path) -> Iterator[Path]:
    """A fresh folder in this process's scratch space, removed when the block ends."""
    own = _root(data_dir) / str(os.getpid())
    own.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=own) as folder:
        yield Path(folder)


def sweep_scratch(data_dir: Path) -> int:
    """Remove what processes that no longer run left in the scratch space; how many folders went."""
    root = _root(data_dir)
    if not root.is_dir():
        return 0
    removed = 0
    for entry in root.iterdir():
        # Anything not named by a live process: a dead process's folder, or one from before folders were
        # named by process (files directly under tmp/).
        if entry.name.isascii() and entry.name.isdigit() and psutil.pid_exists(int(entry.name)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed
