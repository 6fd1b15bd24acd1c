"""C2SP signed-note (compatible with Go's golang.org/x/mod/sumdb/note) and tlog-cosignature v1 signatures.

A note is a text ending in a newline, a blank line, then one or more signature lines
`— <name> base64(key ID[4] || signature)`. The text is everything up to the *last* blank line, so a
text may itself contain blank lines.

Keys are written as Go writes them:
- verifier key (vkey): `<name>+<8 hex key ID>+base64(type || public key)`;
- signer key (skey):   `PRIVATE+KEY+<name>+<8 hex key ID>+base64(type || Ed25519 seed)`.
The key ID is SHA-256(name || "\\n" || type || public key)[:4], big-endian: type 0x01 for note
signatures, 0x04 for timestamped witness cosignatures (tlog-cosignature v1), whose signature is
u64 timestamp || Ed25519 signature over "cosignature/v1\\ntime <ts>\\n" + checkpoint body.

`open_note` applies the spec's rules: unknown keys are ignored (a key is known by name *and* ID), a
known key's signature must verify, at least one must, and a note may carry at most 100 signatures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Protocol, Self, TypeVar, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100  # Go's limit; the spec asks verifiers to accept at least 16
ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_ED25519_SIZE = 32
_COSIGNATURE_SIZE = 8 + 64
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX_ID = re.compile(r"[0-9a-fA-F]{8}")


class NoteError(ValueError):
    """A note is malformed, or its signatures do not satisfy the verification rules."""


class UnverifiedNoteError(NoteError):
    """The note is well formed but no signature from a known key is on it; `.note` has what was found."""

    def __init__(self, note: Note) -> None:
        super().__init__("no signature on the note is from a known key")
        self.note = note


# --- Encoding helpers -----------------------------------------------------------------------------------


def b64decode_strict(text: str) -> bytes:
    """Standard padded base64 in its one canonical spelling (no whitespace, no stray bits)."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"invalid base64: {text[:40]!r}") from None
    if base64.b64encode(data).decode() != text:
        raise ValueError(f"non-canonical base64: {text[:40]!r}")
    return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def is_valid_name(name: str) -> bool:
    """Key names are non-empty and have no Unicode spaces and no '+'."""
    if not name or "+" in name or _CONTROL.search(name):
        return False
    return not any(c.isspace() for c in name)


def compute_key_id(name: str, alg: int, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise ValueError("note text must end in a newline")
    if _CONTROL.search(text):
        raise ValueError("note text must not contain control characters other than newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("note text must be valid UTF-8") from None


@dataclass(frozen=True)
class _KeyString:
    name: str
    key_id: int
    alg: int
    key: bytes


def _parse_key_fields(name: str, hex_id: str, key64: str) -> _KeyString:
    if not is_valid_name(name):
        raise ValueError(f"invalid key name {name!r}")
    if not _HEX_ID.fullmatch(hex_id):
        raise ValueError(f"invalid key ID {hex_id!r}")
    raw = b64decode_strict(key64)
    if len(raw) < 2:
        raise ValueError("key material is missing")
    return _KeyString(name, int(hex_id, 16), raw[0], raw[1:])


def _parse_vkey(vkey: str) -> _KeyString:
    # maxsplit 2: the base64 key material itself may contain '+'.
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise ValueError("a verifier key is <name>+<hex id>+<base64 key>")
    return _parse_key_fields(*parts)


def _parse_skey(skey: str) -> _KeyString:
    parts = skey.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise ValueError("a signer key is PRIVATE+KEY+<name>+<hex id>+<base64 key>")
    return _parse_key_fields(*parts[2:])


def _public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _seed(key: Ed25519PrivateKey) -> bytes:
    raw = serialization.Encoding.Raw
    return key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _key_string(name: str, key_id: int, alg: int, key: bytes) -> str:
    """`<name>+<hex id>+base64(type || key)`, the tail of both vkeys and skeys."""
    return f"{name}+{key_id:08x}+{_b64(bytes([alg]) + key)}"


def _ed25519_from_skey(skey: str, algs: Sequence[int]) -> tuple[str, Ed25519PrivateKey]:
    parsed = _parse_skey(skey)
    if parsed.alg not in algs or len(parsed.key) != _ED25519_SIZE:
        raise ValueError(f"unsupported signer key type 0x{parsed.alg:02x}")
    private = Ed25519PrivateKey.from_private_bytes(parsed.key)
    if compute_key_id(parsed.name, parsed.alg, _public_bytes(private)) != parsed.key_id:
        raise ValueError("signer key ID does not match the key")
    return parsed.name, private


def _ed25519_public_from_vkey(vkey: str, alg: int) -> tuple[str, Ed25519PublicKey]:
    parsed = _parse_vkey(vkey)
    if parsed.alg != alg or len(parsed.key) != _ED25519_SIZE:
        raise ValueError(f"expected a verifier key of type 0x{alg:02x}, got 0x{parsed.alg:02x}")
    if compute_key_id(parsed.name, alg, parsed.key) != parsed.key_id:
        raise ValueError("verifier key ID does not match the key")
    return parsed.name, Ed25519PublicKey.from_public_bytes(parsed.key)


def _ed25519_valid(public: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


# --- Signatures -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and ID, and the signature bytes that follow the ID."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {_b64(self.key_id.to_bytes(4, 'big') + self.signature)}\n"


def parse_signature_line(line: str) -> Signature:
    """A line `— <name> <base64>` (with or without its newline)."""
    body = line.removesuffix("\n")
    if not body.startswith(SIGNATURE_PREFIX) or "\n" in body:
        raise NoteError(f"not a signature line: {line[:60]!r}")
    name, _, encoded = body[len(SIGNATURE_PREFIX) :].partition(" ")
    if not is_valid_name(name):
        raise NoteError(f"invalid key name in signature line: {name[:60]!r}")
    if not encoded:
        raise NoteError(f"the signature line of {name} has no signature")
    try:
        raw = b64decode_strict(encoded)
    except ValueError as exc:
        raise NoteError(f"signature by {name}: {exc}") from None
    if len(raw) < 5:
        raise NoteError(f"signature by {name} is too short")
    return Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])


class NoteVerifier(Protocol):
    """A known key: it claims signature lines with its name and key ID and checks them."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: str, signature: bytes) -> bool: ...


class _PublicKey:
    """A named Ed25519 public key of one signature type; the type enters the key ID."""

    ALG: ClassVar[int]

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        if not is_valid_name(name):
            raise ValueError(f"invalid key name {name!r}")
        self._name = name
        self.public_key = public_key
        self._key_id = compute_key_id(name, self.ALG, _public_bytes(public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        return cls(*_ed25519_public_from_vkey(vkey, cls.ALG))

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def vkey(self) -> str:
        return _key_string(self._name, self._key_id, self.ALG, _public_bytes(self.public_key))


V = TypeVar("V", bound=_PublicKey)


class Verifier(_PublicKey):
    """An Ed25519 (type 0x01) note verifier."""

    ALG = ALG_ED25519

    def verify(self, text: str, signature: bytes) -> bool:
        return _ed25519_valid(self.public_key, text.encode(), signature)

    def __repr__(self) -> str:
        return f"Verifier({self.vkey!r})"


class _PrivateKey(Generic[V]):
    """A named Ed25519 private key and the verifier of its signature type.

    Its skey is always the ordinary Ed25519 form (type 0x01), the one Go tools write for logs and
    witnesses alike, so the same key string serves either role.
    """

    VERIFIER: ClassVar[type[_PublicKey]]
    SKEY_ALGS: ClassVar[Sequence[int]] = (ALG_ED25519,)

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._verifier = cast("V", self.VERIFIER(name, private_key.public_key()))
        self._private = private_key

    @classmethod
    def generate(cls, name: str) -> Self:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Self:
        return cls(*_ed25519_from_skey(skey, cls.SKEY_ALGS))

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    @property
    def vkey(self) -> str:
        return self._verifier.vkey

    @property
    def skey(self) -> str:
        key_id = compute_key_id(self.name, ALG_ED25519, _public_bytes(self._private))
        return "PRIVATE+KEY+" + _key_string(self.name, key_id, ALG_ED25519, _seed(self._private))

    def verifier(self) -> V:
        return self._verifier


class Signer(_PrivateKey[Verifier]):
    """An Ed25519 (type 0x01) note signer."""

    VERIFIER = Verifier

    def signature(self, text: str) -> Signature:
        _check_text(text)
        return Signature(self.name, self.key_id, self._private.sign(text.encode()))

    def sign(self, text: str) -> str:
        """The whole signed note: text, blank line, this key's signature line."""
        return sign_note(text, [self])

    def __repr__(self) -> str:
        return f"Signer({self.vkey!r})"


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """`text` signed by every signer, in order."""
    if not signers:
        raise ValueError("a note needs at least one signature")
    _check_text(text)
    return text + "\n" + "".join(s.signature(text).line for s in signers)


# --- Cosignatures (tlog-cosignature v1) -----------------------------------------------------------------


def cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


class CosignatureVerifier(_PublicKey):
    """A witness key (type 0x04): checks timestamped cosignatures over a checkpoint body."""

    ALG = ALG_COSIGNATURE_V1

    @staticmethod
    def timestamp(signature: bytes) -> int:
        """The cosignature's time, seconds since the epoch (not itself proof of anything until verified)."""
        if len(signature) != _COSIGNATURE_SIZE:
            raise ValueError(f"a cosignature is {_COSIGNATURE_SIZE} bytes, not {len(signature)}")
        return int.from_bytes(signature[:8], "big")

    def verify(self, text: str, signature: bytes) -> bool:
        if len(signature) != _COSIGNATURE_SIZE:
            return False
        message = cosigned_message(text, int.from_bytes(signature[:8], "big"))
        return _ed25519_valid(self.public_key, message, signature[8:])

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self.vkey!r})"


class CosignatureSigner(_PrivateKey[CosignatureVerifier]):
    """A witness's signing key; its cosignature key ID (type 0x04) is derived from the same Ed25519 key.

    `from_skey` accepts type 0x01 skeys (Go's form) and type 0x04 ones; the ID must match its type.
    """

    VERIFIER = CosignatureVerifier
    SKEY_ALGS = (ALG_ED25519, ALG_COSIGNATURE_V1)

    def signature(self, body: str, timestamp: int) -> Signature:
        _check_text(body)
        if not 0 <= timestamp < 1 << 64:
            raise ValueError("cosignature timestamps are unsigned 64-bit seconds")
        signed = self._private.sign(cosigned_message(body, timestamp))
        return Signature(self.name, self.key_id, timestamp.to_bytes(8, "big") + signed)

    def cosign(self, body: str, timestamp: int) -> str:
        """The signature line (ending in a newline) cosigning the checkpoint `body` at `timestamp`."""
        return self.signature(body, timestamp).line

    def __repr__(self) -> str:
        return f"CosignatureSigner({self.vkey!r})"


def verifier_from_vkey(vkey: str) -> Verifier | CosignatureVerifier:
    """A verifier of whichever supported type the vkey names (0x01 or 0x04)."""
    alg = _parse_vkey(vkey).alg
    if alg == ALG_ED25519:
        return Verifier.from_vkey(vkey)
    if alg == ALG_COSIGNATURE_V1:
        return CosignatureVerifier.from_vkey(vkey)
    raise ValueError(f"unsupported verifier key type 0x{alg:02x}")


# --- Opening notes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    text: str
    verified: list[Signature] = field(default_factory=list)
    unverified: list[Signature] = field(default_factory=list)


def split_note(note: str | bytes) -> tuple[str, list[Signature]]:
    """The text and the parsed signature lines of a note, *without* checking any signature."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note must be valid UTF-8") from None
    if _CONTROL.search(note):
        raise NoteError("a note must not contain control characters other than newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a note needs a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("a note must end with a newline-terminated signature line")
    lines = block[:-1].split("\n")
    # Count before parsing so a huge signature block costs nothing to refuse.
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    return text, [parse_signature_line(line) for line in lines]


def _index_verifiers(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        key = (verifier.name, verifier.key_id)
        if key in known and known[key] is not verifier:
            raise ValueError(f"two verifiers share name {verifier.name} and key ID {verifier.key_id:08x}")
        known[key] = verifier
    return known


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> Note:
    """Parse `note` and check its signatures against `verifiers`.

    Raises NoteError when the note is malformed or carries more than 100 signatures, when a signature
    from a known key (same name and key ID) fails, and (UnverifiedNoteError) when none is from a known
    key. A key's repeated signatures are all checked but reported once; repeated unknown ones once.
    """
    text, signatures = split_note(note)
    known = _index_verifiers(verifiers)
    verified: dict[tuple[str, int], Signature] = {}
    unverified: dict[Signature, None] = {}
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified.setdefault(sig)
        elif verifier.verify(text, sig.signature):
            verified.setdefault((sig.name, sig.key_id), sig)
        else:
            raise NoteError(f"the signature by {sig.name} ({sig.key_id:08x}) does not verify")
    result = Note(text, list(verified.values()), list(unverified))
    if not result.verified:
        raise UnverifiedNoteError(result)
    return result


def add_signatures(note: str, lines: Iterable[str]) -> str:
    """`note` with more signature lines (e.g. witness cosignatures) appended; exact repeats are dropped.

    Nothing is verified here: open the result with the verifiers you trust.
    """
    _, existing = split_note(note)
    present = set(existing)
    added: list[str] = []
    for line in lines:
        sig = parse_signature_line(line)
        if sig not in present:
            present.add(sig)
            added.append(sig.line)
    if len(present) > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    return note + "".join(added)
