"""C2SP tlog-witness: the add-checkpoint wire format, a witness that cosigns, and its HTTP app.

Request body: `old <size>\\n`, at most 63 base64 consistency-proof lines, an empty line, then the signed
checkpoint. The witness answers, in the order the spec lists the checks:

- 400 malformed request or checkpoint, or old size > checkpoint size;
- 404 unknown origin;  403 no valid signature by the log's key;
- 409 old size is not the size last cosigned (body: that size and a newline, `text/x.tlog.size`),
  and also for the same size with a different root (a fork);
- 422 the consistency proof does not verify (old 0 takes an empty proof; a size-0 checkpoint must have
  the empty root);
- 200 with the cosignature line, after the new state has been stored.

The state is compare-and-swap on the stored size, so two concurrent requests can never roll the
witness back (the race the spec describes); a lost race answers 409 like any stale request.

The witness's HTTP app is `reelm.web.witness`.

Client side: `format_add_checkpoint` builds the request, `parse_size` reads a 409 answer and
`parse_cosignatures` a 200 answer, whose lines `note.add_signatures` appends to the checkpoint.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from reelm.transparency.checkpoint import Checkpoint
from reelm.transparency.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency
from reelm.transparency.note import (
    CosignatureSigner,
    NoteError,
    Verifier,
    b64decode_strict,
    open_note,
    parse_signature_line,
    split_note,
)

log = logging.getLogger(__name__)

MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = 1 << 20  # room for 100 post-quantum signatures
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]*)")


class WitnessRequestError(ValueError):
    """An add-checkpoint request or response body is malformed."""


# --- Wire format ----------------------------------------------------------------------------------------


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], checkpoint_note: str) -> bytes:
    if old_size < 0 or len(proof) > MAX_PROOF_LINES:
        raise ValueError("old size must be non-negative and the proof at most 63 hashes")
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof), ""]
    return ("\n".join(lines) + "\n" + checkpoint_note).encode()


def _parse_proof_line(line: str) -> bytes:
    try:
        value = b64decode_strict(line)
    except ValueError as exc:
        raise WitnessRequestError(f"proof line: {exc}") from None
    if len(value) != HASH_SIZE:
        raise WitnessRequestError(f"proof hashes are {HASH_SIZE} bytes, not {len(value)}")
    return value


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], str]:
    """(old size, proof hashes, checkpoint note) of an add-checkpoint request body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRequestError("request body is not UTF-8") from None
    # Header lines are never empty, so the first blank line ends them.
    head, blank, note = text.partition("\n\n")
    if not blank or not note:
        raise WitnessRequestError("request needs an old size line, a blank line and a checkpoint")
    old_line, *proof_lines = head.split("\n")
    match = _OLD_LINE.fullmatch(old_line)
    if match is None:
        raise WitnessRequestError("request must start with 'old <size>'")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessRequestError(f"at most {MAX_PROOF_LINES} proof lines are allowed")
    return int(match[1]), [_parse_proof_line(line) for line in proof_lines], note


def format_size(size: int) -> bytes:
    return f"{size}\n".encode()


def parse_size(body: bytes) -> int:
    """The size in a 409 answer (`text/x.tlog.size`)."""
    match = re.fullmatch(rb"(0|[1-9][0-9]*)\n", body)
    if match is None:
        raise WitnessRequestError("a size answer is a decimal and a newline")
    return int(match[1])


def parse_cosignatures(body: bytes) -> list[str]:
    """The signature lines of a 200 answer, each ending in a newline; verify them with `open_note`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRequestError("cosignature answer is not UTF-8") from None
    if not text.endswith("\n"):
        raise WitnessRequestError("cosignature answer must be newline-terminated signature lines")
    try:
        return [parse_signature_line(line).line for line in text[:-1].split("\n")]
    except NoteError as exc:
        raise WitnessRequestError(str(exc)) from None


# --- State ----------------------------------------------------------------------------------------------


class WitnessState(Protocol):
    """The latest cosigned (size, root) per origin; updates are compare-and-swap on the size."""

    async def get(self, origin: str) -> tuple[int, bytes] | None: ...

    async def put(self, origin: str, old_size: int, new_size: int, new_root: bytes) -> bool:
        """Store (new_size, new_root) if the stored size (0 when none) is old_size; say whether it did."""
        ...


class MemoryWitnessState:
    """State kept in memory: for tests and throwaway witnesses."""

    def __init__(self) -> None:
        self._logs: dict[str, tuple[int, bytes]] = {}

    async def get(self, origin: str) -> tuple[int, bytes] | None:
        return self._logs.get(origin)

    async def put(self, origin: str, old_size: int, new_size: int, new_root: bytes) -> bool:
        current = self._logs.get(origin)
        if (current[0] if current else 0) != old_size:
            return False
        self._logs[origin] = (new_size, new_root)
        return True


class FileWitnessState:
    """State in one JSON file, replaced atomically (temp file, fsync, rename) under a lock.

    The lock is a thread lock plus an flock on `<file>.lock`, so several processes may share the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, open(self.path.with_name(self.path.name + ".lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _read(self) -> dict[str, tuple[int, bytes]]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {origin: (int(v["size"]), base64.b64decode(v["root"])) for origin, v in raw["logs"].items()}

    def _write(self, logs: dict[str, tuple[int, bytes]]) -> None:
        data = {"logs": {o: {"size": s, "root": base64.b64encode(r).decode()} for o, (s, r) in logs.items()}}
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_directory(self.path.parent)

    def _get(self, origin: str) -> tuple[int, bytes] | None:
        with self._locked():
            return self._read().get(origin)

    def _put(self, origin: str, old_size: int, new_size: int, new_root: bytes) -> bool:
        with self._locked():
            logs = self._read()
            current = logs.get(origin)
            if (current[0] if current else 0) != old_size:
                return False
            logs[origin] = (new_size, new_root)
            self._write(logs)
            return True

    async def get(self, origin: str) -> tuple[int, bytes] | None:
        return await asyncio.to_thread(self._get, origin)

    async def put(self, origin: str, old_size: int, new_size: int, new_root: bytes) -> bool:
        return await asyncio.to_thread(self._put, origin, old_size, new_size, new_root)


def _fsync_directory(directory: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- The witness ----------------------------------------------------------------------------------------


class WitnessResponse(NamedTuple):
    status: int
    body: bytes
    content_type: str


class _Refusal(Exception):
    def __init__(self, status: int, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        self.response = (
            WitnessResponse(status, format_size(size), SIZE_CONTENT_TYPE)
            if size is not None
            else WitnessResponse(status, (message + "\n").encode(), TEXT_CONTENT_TYPE)
        )


class Witness:
    """Cosigns checkpoints of the logs it knows (origin → the log's verifier), never a rollback or fork."""

    def __init__(self, signer: CosignatureSigner, logs: Mapping[str, Verifier], state: WitnessState) -> None:
        self.signer = signer
        self.logs = dict(logs)
        self.state = state
        # In-process serialisation; the state's compare-and-swap covers other processes.
        self._lock = asyncio.Lock()

    async def add_checkpoint(self, body: bytes, now: int) -> WitnessResponse:
        """Handle one add-checkpoint request body; `now` is the cosignature time (Unix seconds)."""
        try:
            old_size, proof, note = _parse_request(body)
            checkpoint = self._verified_checkpoint(note)
            _check_not_shrinking(old_size, checkpoint)
            async with self._lock:
                await self._advance(old_size, proof, checkpoint, note)
        except _Refusal as refusal:
            return refusal.response
        line = self.signer.cosign(checkpoint.body(), now)
        return WitnessResponse(200, line.encode(), TEXT_CONTENT_TYPE)

    def _verified_checkpoint(self, note: str) -> Checkpoint:
        try:
            checkpoint = Checkpoint.parse(split_note(note)[0])
        except ValueError as exc:
            raise _Refusal(400, f"malformed checkpoint: {exc}") from None
        verifier = self.logs.get(checkpoint.origin)
        if verifier is None:
            raise _Refusal(404, f"unknown log {checkpoint.origin!r}")
        try:
            open_note(note, [verifier])
        except NoteError as exc:
            raise _Refusal(403, f"checkpoint not signed by the log: {exc}") from None
        return checkpoint

    async def _advance(self, old_size: int, proof: Sequence[bytes], cp: Checkpoint, note: str) -> None:
        stored = await self.state.get(cp.origin)
        stored_size, stored_root = stored if stored is not None else (0, EMPTY_ROOT)
        if old_size != stored_size:
            raise _Refusal(409, "old size is not the latest cosigned size", size=stored_size)
        if stored is not None and cp.size == stored_size and cp.root != stored_root:
            log.warning("fork: log %s signed a second root for size %d:\n%s", cp.origin, stored_size, note)
            raise _Refusal(409, "a different root was cosigned for this size", size=stored_size)
        try:
            verify_consistency(old_size, cp.size, proof, stored_root, cp.root, allow_empty_old=True)
        except ProofError as exc:
            # Kept in the log: a signed checkpoint that is not consistent is evidence of misbehaviour.
            log.warning("inconsistent checkpoint from %s (%s):\n%s", cp.origin, exc, note)
            raise _Refusal(422, f"consistency proof does not verify: {exc}") from None
        if cp.size > stored_size:
            await self._store(cp, stored_size)

    async def _store(self, checkpoint: Checkpoint, stored_size: int) -> None:
        if not await self.state.put(checkpoint.origin, stored_size, checkpoint.size, checkpoint.root):
            # Another process moved the state between our read and write: the request is now stale.
            current = await self.state.get(checkpoint.origin)
            raise _Refusal(409, "the witness state changed", size=current[0] if current else 0)


def _check_not_shrinking(old_size: int, checkpoint: Checkpoint) -> None:
    if old_size > checkpoint.size:
        raise _Refusal(400, f"old size {old_size} is above the checkpoint size {checkpoint.size}")


def _parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    try:
        return parse_add_checkpoint(body)
    except WitnessRequestError as exc:
        raise _Refusal(400, str(exc)) from None
