"""C2SP signed-note (Go sumdb/note vectors) and tlog-cosignature v1."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization

from reelm.transparency.note import (
    MAX_SIGNATURES,
    CosignatureSigner,
    CosignatureVerifier,
    NoteError,
    Signature,
    Signer,
    UnverifiedNoteError,
    Verifier,
    add_signatures,
    open_note,
    sign_note,
    split_note,
    verifier_from_vkey,
)

# golang.org/x/mod/sumdb/note/note_test.go
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_SIGNATURE
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SUM_GOLANG_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def _raw_public(verifier: Verifier | CosignatureVerifier) -> bytes:
    return verifier.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- Go and C2SP vectors --------------------------------------------------------------------------------


def test_signing_from_the_go_skey_reproduces_the_go_note_byte_for_byte() -> None:
    signer = Signer.from_skey(GO_SKEY)
    assert (signer.name, signer.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.vkey == GO_VKEY
    assert signer.skey == GO_SKEY
    assert signer.sign(GO_TEXT) == GO_NOTE


def test_the_go_note_verifies_with_the_go_vkey() -> None:
    note = open_note(GO_NOTE, [Verifier.from_vkey(GO_VKEY)])
    assert note.text == GO_TEXT
    assert [s.line for s in note.verified] == [GO_SIGNATURE]
    assert note.unverified == []
    assert open_note(GO_NOTE.encode(), [Verifier.from_vkey(GO_VKEY)]).text == GO_TEXT


@pytest.mark.parametrize(
    ("vkey", "name", "key_id"),
    [(C2SP_VKEY, "example.com/foo", 0x530D903A), (SUM_GOLANG_VKEY, "sum.golang.org", 0x033DE0AE)],
)
def test_published_vkeys_parse_and_pass_the_key_id_check(vkey: str, name: str, key_id: int) -> None:
    verifier = Verifier.from_vkey(vkey)
    assert (verifier.name, verifier.key_id, verifier.vkey) == (name, key_id, vkey)
    assert isinstance(verifier_from_vkey(vkey), Verifier)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid key ID"),
        ("PeterNeumann+c74f20a3", "<name>"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid key name"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid key name"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "base64"),
        ("PeterNeumann+c74f20a3+AhpjZA==", "type 0x01"),
        ("PeterNeumann+c74f20a3+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "type 0x01"),
    ],
)
def test_malformed_vkeys_are_rejected(vkey: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize(
    ("skey", "message"),
    [
        ("PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "does not match"),
        ("PRIVATE+KEYS+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "PRIVATE\\+KEY"),
        (GO_VKEY, "PRIVATE\\+KEY"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+BIEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "type 0x04"),
    ],
)
def test_malformed_skeys_are_rejected(skey: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Signer.from_skey(skey)


def test_generated_keys_round_trip_through_their_strings() -> None:
    signer = Signer.generate("example.com/log")
    again = Signer.from_skey(signer.skey)
    assert (again.vkey, again.key_id) == (signer.vkey, signer.key_id)
    assert open_note(signer.sign("hello\n"), [Verifier.from_vkey(signer.vkey)]).text == "hello\n"


# --- Opening notes --------------------------------------------------------------------------------------


def test_a_tampered_text_fails_the_known_signature() -> None:
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("answer", "Answer"), [Verifier.from_vkey(GO_VKEY)])


def test_a_signature_by_another_key_of_the_same_name_is_unknown() -> None:
    impostor = Signer.generate("PeterNeumann")
    with pytest.raises(UnverifiedNoteError) as raised:
        open_note(impostor.sign(GO_TEXT), [Verifier.from_vkey(GO_VKEY)])
    assert [s.name for s in raised.value.note.unverified] == ["PeterNeumann"]
    assert raised.value.note.verified == []


def test_a_note_with_only_unknown_signatures_is_rejected() -> None:
    other = Signer.generate("example.com/other")
    with pytest.raises(UnverifiedNoteError, match="known key"):
        open_note(GO_NOTE, [other.verifier()])


def test_unknown_signatures_are_ignored_beside_a_verified_one() -> None:
    other = Signer.generate("example.com/other")
    note = sign_note(GO_TEXT, [other, Signer.from_skey(GO_SKEY)])
    opened = open_note(note, [Verifier.from_vkey(GO_VKEY)])
    assert [s.name for s in opened.verified] == ["PeterNeumann"]
    assert [s.name for s in opened.unverified] == ["example.com/other"]


def test_a_failing_known_signature_rejects_even_beside_a_valid_one() -> None:
    signer = Signer.from_skey(GO_SKEY)
    forged = Signature(signer.name, signer.key_id, bytes(64)).line
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE + forged, [signer.verifier()])


def test_repeated_signatures_are_reported_once() -> None:
    other = Signer.generate("example.com/other")
    note = GO_NOTE + GO_SIGNATURE + other.signature(GO_TEXT).line * 2
    opened = open_note(note, [Verifier.from_vkey(GO_VKEY)])
    assert len(opened.verified) == 1
    assert len(opened.unverified) == 1


def _unknown_lines(count: int) -> str:
    return "".join(Signature(f"unknown{i}", i, b"x" * 64).line for i in range(count))


def test_up_to_100_signatures_are_accepted_and_more_are_rejected() -> None:
    verifier = Verifier.from_vkey(GO_VKEY)
    assert open_note(GO_NOTE + _unknown_lines(MAX_SIGNATURES - 1), [verifier]).text == GO_TEXT
    with pytest.raises(NoteError, match="at most 100"):
        open_note(GO_NOTE + _unknown_lines(MAX_SIGNATURES), [verifier])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (GO_TEXT + GO_SIGNATURE, "blank line"),
        (GO_NOTE[:-1], "newline-terminated"),
        (GO_TEXT + "\n", "newline-terminated"),
        (GO_NOTE.replace("problem,", "problem,\t"), "control characters"),
        (GO_NOTE + "\u2014 PeterNeumann\n", "no signature"),
        (GO_NOTE + "- PeterNeumann x08go/ZJ=\n", "not a signature line"),
        (GO_NOTE + "\u2014 Peter+Neumann x08go/ZJkuBS9UG/Sffc\n", "invalid key name"),
        (GO_NOTE + "\u2014 PeterNeumann AAAA\n", "too short"),
        (GO_NOTE + "\u2014 PeterNeumann x08go/ZJ kuBS9UG/Sffc=\n", "base64"),
        (GO_NOTE + "\n", "newline-terminated"),  # the last blank line is now after the signatures
    ],
)
def test_malformed_notes_are_rejected(note: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        open_note(note, [Verifier.from_vkey(GO_VKEY)])


def test_a_note_must_be_utf8() -> None:
    with pytest.raises(NoteError, match="UTF-8"):
        open_note(b"\xff\n\n" + GO_SIGNATURE.encode(), [Verifier.from_vkey(GO_VKEY)])


def test_texts_with_blank_lines_are_split_at_the_last_one() -> None:
    signer = Signer.generate("example.com/poet")
    text = "Ognuno sta solo sul cuor della terra\n\ned è subito sera.\n\n"
    opened = open_note(signer.sign(text), [signer.verifier()])
    assert opened.text == text


@pytest.mark.parametrize(
    ("text", "message"), [("no newline", "newline"), ("bell\a\n", "control"), ("\ud800\n", "UTF-8")]
)
def test_signing_rejects_texts_that_are_not_valid_note_texts(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Signer.generate("example.com/log").sign(text)


def test_two_different_verifiers_claiming_one_name_and_id_are_a_configuration_error() -> None:
    real = Verifier.from_vkey(GO_VKEY)

    class Clash:
        name = real.name
        key_id = real.key_id

        def verify(self, text: str, signature: bytes) -> bool:
            return True

    with pytest.raises(ValueError, match="share name"):
        open_note(GO_NOTE, [real, Clash()])


def test_add_signatures_appends_new_lines_once() -> None:
    other = Signer.generate("example.com/other")
    line = other.signature(GO_TEXT).line
    combined = add_signatures(GO_NOTE, [line, line, GO_SIGNATURE])
    assert combined == GO_NOTE + line
    opened = open_note(combined, [other.verifier(), Verifier.from_vkey(GO_VKEY)])
    assert len(opened.verified) == 2
    with pytest.raises(NoteError, match="not a signature line"):
        add_signatures(GO_NOTE, ["hello\n"])
    with pytest.raises(NoteError, match="at most 100"):
        add_signatures(GO_NOTE, _unknown_lines(MAX_SIGNATURES).splitlines())


def test_split_note_parses_without_verifying() -> None:
    text, signatures = split_note(GO_NOTE)
    assert text == GO_TEXT
    assert [(s.name, s.key_id) for s in signatures] == [("PeterNeumann", 0xC74F20A3)]


# --- Cosignatures ---------------------------------------------------------------------------------------


def test_cosignature_key_id_and_vkey_use_type_0x04() -> None:
    witness = CosignatureSigner.generate("witness.example/w1")
    public = _raw_public(witness.verifier())
    expected = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert witness.key_id == int.from_bytes(expected, "big")
    name, key_id, key = witness.vkey.split("+", 2)
    assert (name, key_id) == ("witness.example/w1", expected.hex())
    assert base64.b64decode(key) == b"\x04" + public
    assert isinstance(verifier_from_vkey(witness.vkey), CosignatureVerifier)
    assert CosignatureVerifier.from_vkey(witness.vkey).key_id == witness.key_id


def test_a_cosignature_signs_the_v1_message_with_its_timestamp() -> None:
    witness = CosignatureSigner.generate("witness.example/w1")
    line = witness.cosign(BODY, 1679315147)
    raw = base64.b64decode(line.removesuffix("\n").split(" ")[2])
    assert line.startswith("\u2014 witness.example/w1 ")
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == 1679315147
    message = b"cosignature/v1\ntime 1679315147\n" + BODY.encode()
    witness.verifier().public_key.verify(raw[12:], message)  # raises if not
    assert CosignatureVerifier.timestamp(raw[4:]) == 1679315147


def test_cosignatures_verify_in_open_note_beside_the_log_signature() -> None:
    log = Signer.generate("example.com/behind-the-sofa")
    witness = CosignatureSigner.generate("witness.example/w1")
    note = log.sign(BODY) + witness.cosign(BODY, 1700000000)
    opened = open_note(note, [log.verifier(), CosignatureVerifier.from_vkey(witness.vkey)])
    assert [s.name for s in opened.verified] == [log.name, witness.name]
    only_witness = open_note(note, [witness.verifier()])
    assert [s.name for s in only_witness.unverified] == [log.name]


def test_a_cosignature_with_a_changed_timestamp_or_body_fails() -> None:
    witness = CosignatureSigner.generate("witness.example/w1")
    signature = witness.signature(BODY, 1700000000)
    later = Signature(
        signature.name, signature.key_id, (1700000001).to_bytes(8, "big") + signature.signature[8:]
    )
    note = Signer.generate("example.com/behind-the-sofa").sign(BODY)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note + later.line, [witness.verifier()])
    other_body = BODY.replace("20852163", "20852164")
    other_note = Signer.generate("example.com/behind-the-sofa").sign(other_body)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(other_note + signature.line, [witness.verifier()])
    assert not witness.verifier().verify(BODY, signature.signature[:-1])


def test_cosignature_keys_are_not_note_keys() -> None:
    witness = CosignatureSigner.generate("witness.example/w1")
    log_style = Signer.from_skey(witness.skey)
    with pytest.raises(ValueError, match="type 0x01"):
        Verifier.from_vkey(witness.vkey)
    with pytest.raises(ValueError, match="type 0x04"):
        CosignatureVerifier.from_vkey(log_style.vkey)
    # An Ed25519 note signature is not a cosignature, even by the same key.
    with pytest.raises(UnverifiedNoteError):
        open_note(log_style.sign(BODY), [witness.verifier()])


def test_cosigner_skeys_are_go_ed25519_skeys_and_round_trip() -> None:
    witness = CosignatureSigner.generate("witness.example/w1")
    assert Signer.from_skey(witness.skey).name == witness.name
    again = CosignatureSigner.from_skey(witness.skey)
    assert again.vkey == witness.vkey
    assert CosignatureSigner.from_skey(GO_SKEY).name == "PeterNeumann"


def test_cosign_rejects_bad_timestamps_and_bodies() -> None:
    witness = CosignatureSigner.generate("witness.example/w1")
    with pytest.raises(ValueError, match="64-bit"):
        witness.cosign(BODY, -1)
    with pytest.raises(ValueError, match="newline"):
        witness.cosign(BODY.rstrip("\n"), 1)
    with pytest.raises(ValueError, match="bytes"):
        CosignatureVerifier.timestamp(b"short")
