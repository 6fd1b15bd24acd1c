"""The log with its real neighbours: a witness process, the auditor's command, deployment records."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from reelm.audit.service import KEY_ROTATION, POLICY_CHANGE
from reelm.runtime import Runtime
from reelm.settings import WitnessConfig
from reelm.transparency import tiles
from reelm.transparency.checkpoint import open_checkpoint
from reelm.transparency.log import Sequencer, open_log_store, record_deployment
from reelm.transparency.models import LogCheckpoint
from reelm.transparency.note import CosignatureSigner, CosignatureVerifier, Verifier
from tests import live
from tests.transparency.test_log import add_events


async def test_deployment_facts_are_logged_when_they_change(runtime: Runtime) -> None:
    first = await record_deployment(runtime, policy_hash="aaa", log_vkey="k1")
    assert first == [POLICY_CHANGE, KEY_ROTATION]
    assert await record_deployment(runtime, policy_hash="aaa", log_vkey="k1") == []
    await Sequencer(runtime).run_once()
    assert await record_deployment(runtime, policy_hash="bbb", log_vkey="k1") == [POLICY_CHANGE]


def start_witness(
    signer: CosignatureSigner, log_vkey: str, state: Path, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = live.free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reelm",
                "witness",
                "serve",
                "--log",
                log_vkey,
                "--state",
                str(state),
                "--port",
                str(port),
            ],
            env={**live.external_env_minimal(), "REELM_WITNESS_KEY": signer.skey},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.post(url + "/add-checkpoint", content=b"", timeout=1)
            return process, url
        except httpx.HTTPError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)


async def test_checkpoints_wait_for_the_witness_quorum(runtime: Runtime, tmp_path: Path) -> None:
    witness_key = CosignatureSigner.generate("witness.test")
    sequencer = Sequencer(runtime)
    process, url = start_witness(witness_key, sequencer.signer.vkey, tmp_path / "w.json", tmp_path / "w.log")
    try:
        runtime.settings.log_witnesses = [WitnessConfig(name="witness.test", vkey=witness_key.vkey, url=url)]
        runtime.settings.log_witness_quorum = 1
        sequencer = Sequencer(runtime)
        await add_events(runtime, 3)
        assert await sequencer.run_once() == 3
        served = (await open_log_store(runtime.settings).read("log/checkpoint")).decode()
        checkpoint, cosigners = open_checkpoint(
            served,
            Verifier.from_vkey(sequencer.signer.vkey),
            [CosignatureVerifier.from_vkey(witness_key.vkey)],
            1,
        )
        assert (checkpoint.size, cosigners) == (3, ["witness.test"])
        await add_events(runtime, 2, start=3)
        assert await sequencer.run_once() == 2  # the witness checks consistency from 3 to 5
    finally:
        live.stop(process)

    # Without the witness, new entries are integrated but the checkpoint waits.
    await add_events(runtime, 1, start=5)
    assert await sequencer.run_once() == 1
    async with runtime.databases.sessionmaker(None)() as session:
        latest = await session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))
    assert latest is not None
    assert (latest.size, latest.published) == (6, False)
    served = (await open_log_store(runtime.settings).read("log/checkpoint")).decode()
    assert served.splitlines()[1] == "5"

    # Once it is back, the waiting checkpoint is published without new entries.
    process, url = start_witness(witness_key, sequencer.signer.vkey, tmp_path / "w.json", tmp_path / "w2.log")
    try:
        runtime.settings.log_witnesses = [WitnessConfig(name="witness.test", vkey=witness_key.vkey, url=url)]
        assert await Sequencer(runtime).run_once() == 0
    finally:
        live.stop(process)
    served = (await open_log_store(runtime.settings).read("log/checkpoint")).decode()
    assert served.splitlines()[1] == "6"


async def published_size(http: httpx.AsyncClient, base: str) -> int:
    response = await http.get(f"{base}/log/checkpoint")
    return int(response.text.split("\n")[1]) if response.status_code == 200 else 0


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelm", "audit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=live.external_env_minimal(),
        check=False,
    )


async def test_the_audit_command_verifies_a_served_log_and_catches_tampering(
    runtime: Runtime, tmp_path: Path
) -> None:
    server, base = live.start_server(runtime, tmp_path / "server.log")
    http = httpx.AsyncClient()
    try:
        vkey = (await http.get(f"{base}/log/vkey")).text.strip()
        await add_events(runtime, 300)
        # The server's own sequencer publishes them (after its two deployment records).
        deadline = time.monotonic() + 30
        while await published_size(http, base) < 302:
            assert time.monotonic() < deadline, "the server's sequencer did not publish"
            await asyncio.sleep(0.2)
        state = tmp_path / "state.json"
        first = audit("verify", "--url", f"{base}/log", "--state", str(state), "--vkey", vkey)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "OK" in first.stdout
        assert "staff.access" in first.stdout
        again = audit("verify", "--url", f"{base}/log", "--state", str(state))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "0 new" in again.stdout

        note = tmp_path / "checkpoint.txt"
        note.write_text((await http.get(f"{base}/log/checkpoint")).text)
        signed = audit("verify-note", "--vkey", vkey, str(note))
        assert signed.returncode == 0, signed.stdout + signed.stderr
        other = audit(
            "verify-note",
            "--vkey",
            Verifier.from_vkey(vkey).vkey.replace(vkey.split("+")[1], "00000000"),
            str(note),
        )
        assert other.returncode != 0

        # Change one stored entry: the next run fails and says why, and the state is not advanced.
        store = open_log_store(runtime.settings)
        bundle_path = "log/" + tiles.entries_path(0)
        entries = tiles.decode_bundle(await store.read(bundle_path))
        entries[7] = entries[7].replace(b'"allow"', b'"deny"')
        await store.put_bytes(bundle_path, tiles.encode_bundle(entries))
        fresh_state = tmp_path / "fresh.json"
        tampered = audit("verify", "--url", f"{base}/log", "--state", str(fresh_state), "--vkey", vkey)
        assert tampered.returncode == 1
        assert "FAILED" in tampered.stdout
        assert not fresh_state.exists()
    finally:
        await http.aclose()
        live.stop(server)


@pytest.fixture(autouse=True)
def _fast(runtime: Runtime) -> None:
    runtime.settings.log_sequence_interval_s = 0.2
