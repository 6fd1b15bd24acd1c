"""C2SP tlog-witness: the request format, every answer of the witness, its state, and the HTTP app."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from reelm.transparency.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from reelm.transparency.merkle import (
    EMPTY_ROOT,
    MemoryHashReader,
    consistency_proof,
    leaf_hash,
    root_of,
)
from reelm.transparency.note import CosignatureSigner, Signer, add_signatures, open_note
from reelm.transparency.witness import (
    SIZE_CONTENT_TYPE,
    FileWitnessState,
    MemoryWitnessState,
    Witness,
    WitnessRequestError,
    WitnessResponse,
    format_add_checkpoint,
    parse_add_checkpoint,
    parse_cosignatures,
    parse_size,
)
from reelm.web.witness import witness_app

ORIGIN = "example.com/log"
LOG = Signer.generate(ORIGIN)
WITNESS_KEY = CosignatureSigner.generate("witness.example/w1")
NOW = 1_700_000_000
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(1100)]

SPEC_REQUEST = """old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

\u2014 example.com/behind-the-sofa \
Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
"""


def _note(size: int, leaves: list[bytes] = LEAVES, signer: Signer = LOG) -> str:
    return sign_checkpoint(Checkpoint(signer.name, size, root_of(leaves[:size])), signer)


def _witness(state: MemoryWitnessState | FileWitnessState | None = None) -> Witness:
    return Witness(WITNESS_KEY, {ORIGIN: LOG.verifier()}, state or MemoryWitnessState())


async def _submit(witness: Witness, old: int, proof: list[bytes], note: str) -> WitnessResponse:
    return await witness.add_checkpoint(format_add_checkpoint(old, proof, note), NOW)


async def _proof(old: int, new: int, leaves: list[bytes] = LEAVES) -> list[bytes]:
    return await consistency_proof(old, new, MemoryHashReader(leaves[:new]))


def _assert_cosigned(answer: WitnessResponse, note: str) -> None:
    assert (answer.status, answer.content_type) == (200, "text/plain; charset=utf-8"), answer.body
    opened = open_note(note + answer.body.decode(), [WITNESS_KEY.verifier()])
    assert [s.name for s in opened.verified] == [WITNESS_KEY.name]


# --- Request format -------------------------------------------------------------------------------------


def test_requests_round_trip() -> None:
    proof = LEAVES[:3]
    body = format_add_checkpoint(5, proof, _note(9))
    assert body.startswith(b"old 5\n" + base64.b64encode(LEAVES[0]) + b"\n")
    assert parse_add_checkpoint(body) == (5, proof, _note(9))
    assert parse_add_checkpoint(format_add_checkpoint(0, [], _note(9))) == (0, [], _note(9))


def test_the_spec_example_request_parses() -> None:
    old, proof, note = parse_add_checkpoint(SPEC_REQUEST.encode())
    assert (old, len(proof)) == (20852014, 4)
    assert note.startswith("example.com/behind-the-sofa\n20852163\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff", "UTF-8"),
        (b"old 5\n", "blank line"),
        (b"old 5\n\n", "blank line"),
        (b"old 05\n\nnote", "old <size>"),
        (b"old -1\n\nnote", "old <size>"),
        (b"old  5\n\nnote", "old <size>"),
        (b"Old 5\n\nnote", "old <size>"),
        (b"old 5 \n\nnote", "old <size>"),
        (b"old 5\nnot base64\n\nnote", "base64"),
        (b"old 5\n" + base64.b64encode(b"x" * 31) + b"\n\nnote", "32 bytes"),
        (b"old 5\n" + (base64.b64encode(LEAVES[0]) + b"\n") * 64 + b"\nnote", "at most 63"),
    ],
)
def test_malformed_requests_are_rejected(body: bytes, message: str) -> None:
    with pytest.raises(WitnessRequestError, match=message):
        parse_add_checkpoint(body)


def test_63_proof_lines_are_allowed_but_not_64() -> None:
    assert len(parse_add_checkpoint(format_add_checkpoint(1, LEAVES[:63], "n"))[1]) == 63
    with pytest.raises(ValueError, match="at most 63"):
        format_add_checkpoint(1, LEAVES[:64], "n")


def test_answer_bodies_parse() -> None:
    assert parse_size(b"42\n") == 42
    for bad in (b"42", b"042\n", b"x\n", b"4 2\n"):
        with pytest.raises(WitnessRequestError):
            parse_size(bad)
    line = WITNESS_KEY.cosign(Checkpoint(ORIGIN, 1, LEAVES[0]).body(), NOW)
    assert parse_cosignatures((line * 2).encode()) == [line, line]
    for bad in (b"", line.encode()[:-1], b"hello\n", b"\xff\n"):
        with pytest.raises(WitnessRequestError):
            parse_cosignatures(bad)


# --- Answers --------------------------------------------------------------------------------------------


async def test_a_first_checkpoint_is_cosigned_and_recorded() -> None:
    witness = _witness()
    note = _note(10)
    _assert_cosigned(await _submit(witness, 0, [], note), note)
    assert await witness.state.get(ORIGIN) == (10, root_of(LEAVES[:10]))


async def test_a_log_growing_through_checkpoints_is_cosigned_each_time() -> None:
    witness = _witness()
    old = 0
    for size in [1, 2, 5, 8, 100, 256, 257, 1000, 1100]:
        note = _note(size)
        answer = await _submit(witness, old, await _proof(old, size), note)
        _assert_cosigned(answer, note)
        cosigned = add_signatures(note, parse_cosignatures(answer.body))
        checkpoint, names = open_checkpoint(cosigned, LOG.verifier(), [WITNESS_KEY.verifier()], quorum=1)
        assert (checkpoint.size, names) == (size, [WITNESS_KEY.name])
        old = size
    assert await witness.state.get(ORIGIN) == (1100, root_of(LEAVES))


async def test_an_unknown_origin_is_404() -> None:
    stranger = Signer.generate("example.com/other")
    answer = await _submit(_witness(), 0, [], _note(3, signer=stranger))
    assert answer.status == 404
    assert b"example.com/other" in answer.body


async def test_a_checkpoint_not_signed_by_the_log_is_403() -> None:
    impostor = Signer.generate(ORIGIN)
    assert (await _submit(_witness(), 0, [], _note(3, signer=impostor))).status == 403
    tampered = _note(3).replace("\n3\n", "\n4\n")
    assert (await _submit(_witness(), 0, [], tampered)).status == 403


async def test_malformed_requests_and_checkpoints_are_400() -> None:
    witness = _witness()
    assert (await witness.add_checkpoint(b"old 1\n", NOW)).status == 400
    assert (await witness.add_checkpoint(b"old 0\n\nnot a note", NOW)).status == 400
    badly_formed = LOG.sign(f"{ORIGIN}\n07\n{base64.b64encode(LEAVES[0]).decode()}\n")
    assert (await _submit(witness, 0, [], badly_formed)).status == 400


async def test_an_old_size_above_the_checkpoint_is_400() -> None:
    answer = await _submit(_witness(), 11, [], _note(10))
    assert answer.status == 400
    assert b"above" in answer.body


async def test_a_stale_old_size_is_409_with_the_recorded_size() -> None:
    witness = _witness()
    await _submit(witness, 0, [], _note(10))
    for old in (0, 5, 11):
        answer = await _submit(witness, old, await _proof(old, 20), _note(20))
        assert answer == WitnessResponse(409, b"10\n", SIZE_CONTENT_TYPE)
    assert await witness.state.get(ORIGIN) == (10, root_of(LEAVES[:10]))


async def test_a_bad_consistency_proof_is_422_and_changes_nothing() -> None:
    witness = _witness()
    await _submit(witness, 0, [], _note(10))
    proof = await _proof(10, 20)
    for bad in ([], proof[:-1], [*proof, LEAVES[0]], [LEAVES[0], *proof[1:]]):
        assert (await _submit(witness, 10, bad, _note(20))).status == 422
    assert await witness.state.get(ORIGIN) == (10, root_of(LEAVES[:10]))


async def test_old_zero_takes_an_empty_proof() -> None:
    assert (await _submit(_witness(), 0, [LEAVES[0]], _note(10))).status == 422


async def test_a_forked_log_is_refused() -> None:
    witness = _witness()
    await _submit(witness, 0, [], _note(10))
    forked = [*LEAVES[:3], leaf_hash(b"rewritten"), *LEAVES[4:]]
    # Same size, another root: the log signed two trees of one size.
    answer = await _submit(witness, 10, [], _note(10, forked))
    assert answer == WitnessResponse(409, b"10\n", SIZE_CONTENT_TYPE)
    # A bigger tree that does not extend the cosigned one, with the fork's own (valid-looking) proof.
    assert (await _submit(witness, 10, await _proof(10, 20, forked), _note(20, forked))).status == 422
    assert await witness.state.get(ORIGIN) == (10, root_of(LEAVES[:10]))


async def test_the_same_checkpoint_again_is_cosigned_without_a_proof() -> None:
    witness = _witness()
    await _submit(witness, 0, [], _note(10))
    _assert_cosigned(await _submit(witness, 10, [], _note(10)), _note(10))
    assert (await _submit(witness, 10, [LEAVES[0]], _note(10))).status == 422


async def test_an_empty_tree_needs_the_empty_root() -> None:
    empty = LOG.sign(Checkpoint(ORIGIN, 0, EMPTY_ROOT).body())
    _assert_cosigned(await _submit(_witness(), 0, [], empty), empty)
    wrong = LOG.sign(Checkpoint(ORIGIN, 0, LEAVES[0]).body())
    assert (await _submit(_witness(), 0, [], wrong)).status == 422


async def test_a_lost_race_is_answered_like_a_stale_request() -> None:
    class Racing(MemoryWitnessState):
        """Another process stores size 15 between the witness's read and its write."""

        async def put(self, origin: str, old_size: int, new_size: int, new_root: bytes) -> bool:
            await super().put(origin, old_size, 15, root_of(LEAVES[:15]))
            return await super().put(origin, old_size, new_size, new_root)

    witness = _witness(Racing())
    assert await _submit(witness, 0, [], _note(20)) == WitnessResponse(409, b"15\n", SIZE_CONTENT_TYPE)


async def test_concurrent_requests_never_roll_the_witness_back() -> None:
    witness = _witness()
    answers = await asyncio.gather(*(_submit(witness, 0, [], _note(size)) for size in (10, 20, 30)))
    assert [a.status for a in answers].count(200) == 1
    winner = next(size for size, a in zip((10, 20, 30), answers, strict=True) if a.status == 200)
    assert await witness.state.get(ORIGIN) == (winner, root_of(LEAVES[:winner]))


# --- State ----------------------------------------------------------------------------------------------


async def test_file_state_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "witness.json"
    first = FileWitnessState(path)
    assert await first.get(ORIGIN) is None
    assert await first.put(ORIGIN, 0, 10, LEAVES[0])
    assert await first.put("example.com/other", 0, 3, LEAVES[1])
    second = FileWitnessState(path)
    assert await second.get(ORIGIN) == (10, LEAVES[0])
    assert not await second.put(ORIGIN, 9, 20, LEAVES[2])  # compare-and-swap on the size
    assert await second.put(ORIGIN, 10, 20, LEAVES[2])
    assert await FileWitnessState(path).get(ORIGIN) == (20, LEAVES[2])
    assert json.loads(path.read_text())["logs"]["example.com/other"]["size"] == 3
    # Atomic replacement leaves no temporary files behind.
    assert sorted(p.name for p in await asyncio.to_thread(lambda: list(tmp_path.iterdir()))) == [
        "witness.json",
        "witness.json.lock",
    ]


async def test_file_state_serialises_concurrent_writers(tmp_path: Path) -> None:
    states = [FileWitnessState(tmp_path / "witness.json") for _ in range(4)]
    results = await asyncio.gather(*(s.put(ORIGIN, 0, i + 1, LEAVES[i]) for i, s in enumerate(states)))
    assert results.count(True) == 1
    winner = results.index(True)
    assert await states[0].get(ORIGIN) == (winner + 1, LEAVES[winner])


async def test_a_restarted_witness_remembers_what_it_cosigned(tmp_path: Path) -> None:
    path = tmp_path / "witness.json"
    await _submit(_witness(FileWitnessState(path)), 0, [], _note(10))
    restarted = _witness(FileWitnessState(path))
    assert await _submit(restarted, 0, [], _note(20)) == WitnessResponse(409, b"10\n", SIZE_CONTENT_TYPE)
    _assert_cosigned(await _submit(restarted, 10, await _proof(10, 20), _note(20)), _note(20))


# --- HTTP -----------------------------------------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = witness_app(_witness(), clock=lambda: NOW, max_body=64 * 1024)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://witness.example"
    ) as client:
        yield client


async def test_the_app_cosigns_over_http(http: httpx.AsyncClient) -> None:
    response = await http.post("/add-checkpoint", content=format_add_checkpoint(0, [], _note(10)))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    [line] = parse_cosignatures(response.content)
    opened = open_note(_note(10) + line, [WITNESS_KEY.verifier()])
    assert WITNESS_KEY.verifier().timestamp(opened.verified[0].signature) == NOW


async def test_the_app_answers_conflicts_with_the_size_media_type(http: httpx.AsyncClient) -> None:
    await http.post("/add-checkpoint", content=format_add_checkpoint(0, [], _note(10)))
    response = await http.post("/add-checkpoint", content=format_add_checkpoint(0, [], _note(20)))
    assert response.status_code == 409
    assert response.headers["content-type"] == SIZE_CONTENT_TYPE
    assert parse_size(response.content) == 10


async def test_the_app_refuses_other_methods_and_huge_bodies(http: httpx.AsyncClient) -> None:
    assert (await http.get("/add-checkpoint")).status_code == 405
    assert (await http.post("/add-checkpoint", content=b"x" * (64 * 1024 + 1))).status_code == 413
    assert (await http.post("/add-checkpoint", content=b"old 0\n")).status_code == 400
