"""C2SP tlog-checkpoint: the signed tree head, as a signed note whose text is

    <origin>\\n<tree size>\\n<base64 root hash>\\n[<extension line>\\n ...]

Parsing is strict so that one checkpoint has one spelling: decimal size without leading zeros, root in
canonical base64 of exactly 32 bytes, no empty lines, and extension lines (NOT RECOMMENDED by the spec)
only as further non-empty lines.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reelm.transparency.merkle import HASH_SIZE
from reelm.transparency.note import (
    CosignatureVerifier,
    NoteError,
    Signer,
    Verifier,
    b64decode_strict,
    open_note,
)

_SIZE = re.compile(r"0|[1-9][0-9]*")
MAX_SIZE = (1 << 64) - 1


class CheckpointError(ValueError):
    """A checkpoint body is malformed, or a signed checkpoint lacks the signatures it needs."""


def _check_line(what: str, line: str) -> None:
    if not line or "\n" in line:
        raise CheckpointError(f"checkpoint {what} must be one non-empty line")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if not 0 <= self.size <= MAX_SIZE:
            raise CheckpointError(f"checkpoint size {self.size} is out of range")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError(f"checkpoint root must be {HASH_SIZE} bytes")
        for line in self.extensions:
            _check_line("extension", line)

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint body must end in a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint body needs origin, size and root lines")
        origin, size, root, *extensions = lines
        return cls(origin, _parse_size(size), _parse_root(root), tuple(extensions))


def _parse_size(text: str) -> int:
    # A regex, not int(): int() would also take "+5", " 5", "1_0" and non-ASCII digits.
    if not _SIZE.fullmatch(text):
        raise CheckpointError(f"checkpoint size {text[:30]!r} is not a decimal without leading zeros")
    return int(text)


def _parse_root(text: str) -> bytes:
    try:
        root = b64decode_strict(text)
    except ValueError as exc:
        raise CheckpointError(f"checkpoint root: {exc}") from None
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root must be {HASH_SIZE} bytes, not {len(root)}")
    return root


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    return signer.sign(checkpoint.body())


def open_checkpoint(
    note: str | bytes,
    log_verifier: Verifier,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
    *,
    origin: str | None = None,
) -> tuple[Checkpoint, list[str]]:
    """The checkpoint of a note signed by the log, and the names of the witnesses whose cosignature verified.

    Raises NoteError when the log's signature is missing or fails (or any known key's signature fails),
    CheckpointError when the body is malformed, its origin is not `origin` (when given), or fewer than
    `quorum` distinct witnesses cosigned.
    """
    if not 0 <= quorum <= len({w.name for w in witnesses}):
        raise ValueError(f"a quorum of {quorum} cannot be met by {len(witnesses)} witnesses")
    opened = open_note(note, [log_verifier, *witnesses])
    signers = {(s.name, s.key_id) for s in opened.verified}
    if (log_verifier.name, log_verifier.key_id) not in signers:
        raise NoteError(f"the checkpoint is not signed by the log key {log_verifier.name}")
    checkpoint = Checkpoint.parse(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    cosigners = sorted({w.name for w in witnesses if (w.name, w.key_id) in signers})
    if len(cosigners) < quorum:
        raise CheckpointError(f"{len(cosigners)} witnesses cosigned; the quorum is {quorum}")
    return checkpoint, cosigners
