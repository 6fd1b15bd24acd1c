"""C2SP tlog-checkpoint: the body format, strict parsing, and opening signed and cosigned checkpoints."""

from __future__ import annotations

import base64

import pytest

from reelm.transparency.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from reelm.transparency.merkle import EMPTY_ROOT, leaf_hash
from reelm.transparency.note import CosignatureSigner, NoteError, Signer

ORIGIN = "example.com/behind-the-sofa"
ROOT_B64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
ROOT = base64.b64decode(ROOT_B64)
SPEC_BODY = f"{ORIGIN}\n20852163\n{ROOT_B64}\n"  # the spec's example checkpoint


def _with_root(root_line: str) -> str:
    return SPEC_BODY.replace(ROOT_B64, root_line)


def test_body_is_origin_size_and_root_lines() -> None:
    checkpoint = Checkpoint(ORIGIN, 20852163, ROOT)
    assert checkpoint.body() == SPEC_BODY
    assert Checkpoint.parse(SPEC_BODY) == checkpoint


def test_go_sumdb_tree_note_text_parses() -> None:
    # golang.org/x/mod/sumdb/tlog note_test.go: the root is RecordHash("hello world").
    checkpoint = Checkpoint.parse(
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
    )
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (
        "go.sum database tree",
        123456789012,
        leaf_hash(b"hello world"),
    )


def test_extension_lines_round_trip() -> None:
    checkpoint = Checkpoint(ORIGIN, 5, ROOT, ("ext one", "— two"))
    assert checkpoint.body() == SPEC_BODY.replace("20852163", "5") + "ext one\n— two\n"
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_the_empty_tree_has_size_zero() -> None:
    checkpoint = Checkpoint.parse(f"{ORIGIN}\n0\n{base64.b64encode(EMPTY_ROOT).decode()}\n")
    assert (checkpoint.size, checkpoint.root) == (0, EMPTY_ROOT)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (SPEC_BODY.rstrip("\n"), "end in a newline"),
        ("", "end in a newline"),
        (f"{ORIGIN}\n5\n", "origin, size and root"),
        (SPEC_BODY.replace(ORIGIN, ""), "origin"),
        (SPEC_BODY.replace("20852163", "020852163"), "leading zeros"),
        (SPEC_BODY.replace("20852163", "00"), "leading zeros"),
        (SPEC_BODY.replace("20852163", "+20852163"), "decimal"),
        (SPEC_BODY.replace("20852163", " 20852163"), "decimal"),
        (SPEC_BODY.replace("20852163", "20_852_163"), "decimal"),
        (SPEC_BODY.replace("20852163", "٢٠"), "decimal"),
        (SPEC_BODY.replace("20852163", "-1"), "decimal"),
        (SPEC_BODY.replace("20852163", ""), "decimal"),
        (SPEC_BODY.replace("20852163", str(1 << 64)), "out of range"),
        (_with_root(ROOT_B64[:-2]), "base64"),  # padding missing
        (_with_root(ROOT_B64[:-2] + "J="), "non-canonical"),  # same bytes, stray low bits set
        (_with_root(ROOT_B64[:40]), "32 bytes"),
        (_with_root(base64.b64encode(b"x" * 31).decode()), "32 bytes"),
        (_with_root(" " + ROOT_B64), "base64"),
        (SPEC_BODY + "\n", "extension"),
        (SPEC_BODY + "ext\n\n", "extension"),
    ],
)
def test_malformed_bodies_are_rejected(body: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT, ("",)),
    ],
)
def test_constructor_rejects_what_cannot_be_written(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root, extensions)


# --- Signed checkpoints ---------------------------------------------------------------------------------

LOG = Signer.generate(ORIGIN)
WITNESSES = [CosignatureSigner.generate(f"witness.example/w{i}") for i in range(3)]
CHECKPOINT = Checkpoint(ORIGIN, 20852163, ROOT)


def _cosigned(*witnesses: CosignatureSigner) -> str:
    body = CHECKPOINT.body()
    return sign_checkpoint(CHECKPOINT, LOG) + "".join(
        w.cosign(body, 1700000000 + i) for i, w in enumerate(witnesses)
    )


def test_a_log_signed_checkpoint_opens() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    assert note == LOG.sign(SPEC_BODY)
    assert open_checkpoint(note, LOG.verifier()) == (CHECKPOINT, [])


def test_cosigning_witnesses_are_named_and_count_toward_the_quorum() -> None:
    verifiers = [w.verifier() for w in WITNESSES]
    checkpoint, names = open_checkpoint(
        _cosigned(WITNESSES[2], WITNESSES[0]), LOG.verifier(), verifiers, quorum=2
    )
    assert checkpoint == CHECKPOINT
    assert names == ["witness.example/w0", "witness.example/w2"]


def test_a_missed_quorum_is_rejected() -> None:
    verifiers = [w.verifier() for w in WITNESSES]
    # The same witness twice is still one witness, and an unknown witness does not count.
    note = _cosigned(WITNESSES[0], WITNESSES[0], CosignatureSigner.generate("witness.example/stranger"))
    with pytest.raises(CheckpointError, match="1 witnesses cosigned; the quorum is 2"):
        open_checkpoint(note, LOG.verifier(), verifiers, quorum=2)


def test_a_checkpoint_without_the_log_signature_is_rejected() -> None:
    witness = WITNESSES[0]
    note = CHECKPOINT.body() + "\n" + witness.cosign(CHECKPOINT.body(), 1700000000)
    with pytest.raises(NoteError, match="not signed by the log"):
        open_checkpoint(note, LOG.verifier(), [witness.verifier()])
    with pytest.raises(NoteError, match="known key"):
        open_checkpoint(sign_checkpoint(CHECKPOINT, Signer.generate(ORIGIN)), LOG.verifier())


def test_a_bad_cosignature_rejects_the_checkpoint() -> None:
    witness = WITNESSES[0]
    other = Checkpoint(ORIGIN, 20852164, ROOT)
    note = sign_checkpoint(CHECKPOINT, LOG) + witness.cosign(other.body(), 1700000000)
    with pytest.raises(NoteError, match="does not verify"):
        open_checkpoint(note, LOG.verifier(), [witness.verifier()])


def test_the_origin_can_be_required() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    assert open_checkpoint(note, LOG.verifier(), origin=ORIGIN)[0] == CHECKPOINT
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(note, LOG.verifier(), origin="example.com/elsewhere")


def test_a_signed_but_malformed_body_is_rejected() -> None:
    with pytest.raises(CheckpointError, match="leading zeros"):
        open_checkpoint(LOG.sign(SPEC_BODY.replace("20852163", "020852163")), LOG.verifier())


def test_an_unreachable_quorum_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="cannot be met"):
        open_checkpoint(sign_checkpoint(CHECKPOINT, LOG), LOG.verifier(), [WITNESSES[0].verifier()], quorum=2)
