"""The suspend-and-restore drill: switch a busy realm off, bring it back in stages, prove nothing was lost.

    .venv/bin/python bench/suspension_drill.py [--quick] [--servers 3] [--keep]

A fresh data dir (embedded PostgreSQL, local buckets) gets a small demo through the public API: accounts in
every realm, short clips uploaded and transcoded, follows and conversations. Then several `reelm serve`
processes share it, with one `reelm worker` per realm, all real subprocesses. Background load (feed reads,
video reads, likes, comments, follows, searches, messages, profile edits and clip uploads) runs against
every server for the whole drill, and every response is counted by phase.

The drill uses the operator's real command line, `python -m reelm realm …`, as a subprocess:

1. `realm suspend us --capability all` runs while every server is polled with one request per capability
   until it answers 451, and while uploads in realm `us` go on until one is refused: those accepted (202)
   before the switch are still being transcoded when it commits;
2. the realm stays off for a while: uploads there must be refused (451) and leave nothing behind, while the
   other realms go on serving;
3. four `realm restore` commands bring it back in stages (`message,comment,profile_edit`, `watch` for 10 %
   of accounts, `watch`, `upload,signup,search`), each timed until the capability serves (2xx) in every
   server; capabilities not restored yet must still answer 451, and at 10 % only accounts in the rollout's
   buckets may watch.

Timings are reported from the command's start, from the switch's write (its `changed_at`) and from the
command's return, as p50 and max over the server processes, against the 2 s target of the realms issue and
against the round trip of a plain request to the same processes measured in the same run. Workers hold no
switches (no job is gated by one): they must simply finish the work accepted before the switch.

Loss is proven with sets, not just counts: the users, videos, comments, likes, follows and messages of every
realm after the drill must equal those before it plus exactly what the server accepted (2xx) during it; every
snapshot's rows and bucket objects must be contained in the next one; every video must end `ready` with its
original and renditions stored, every original object must belong to a video row (so an upload refused with
451 stored nothing; one that failed with a 5xx may leave its original behind, by the upload's design, and is
allowed for), no upload spool may be left, and every transcode job must have succeeded. Server errors,
transport errors, failed operator commands and deadlocks in PostgreSQL's log fail the drill too.

Exit status 1 on any of those, 0 otherwise; a time above the 2 s target is reported but is not a failure.
Every child and the embedded PostgreSQL are stopped on exit, Ctrl-C and SIGTERM included; the data dir is
removed, except the process and PostgreSQL logs after a failure (all of it with --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text

from reelm.accounts.models import User
from reelm.db import libpq_url
from reelm.demo.clips import generate_demo_clip
from reelm.messages.models import Message
from reelm.realms.models import Capability, RealmCapability
from reelm.realms.switches import CHANNEL, bucket
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.social.models import Comment, Follow, VideoLike
from reelm.startup import start_runtime
from reelm.transparency.log import load_signer
from reelm.videos.models import Rendition, Video, VideoStatus
from reelm.videos.service import original_key

# Wide enough for the timing table when the output is redirected to a file (Rich assumes 80 columns then).
console = Console(width=None if sys.stdout.isatty() else 160)

REALM = "us"  # the realm the drill suspends; the others must not notice
HOST = "127.0.0.1"
API = "/api/v1"
PASSWORD = "drill-password-0123"
NOTICE = "Service in this realm is paused for an operator drill; it comes back within minutes."
REASON = "bench/suspension_drill.py"
TARGET_S = 2.0  # the realms issue: a change takes effect in every process within 2 s
POLL_S = 0.05  # pause between two probes of one capability on one server, once the switch is committed
SLOW_POLL_S = 0.5  # the same before the commit: the command's start-up is not part of the switch
SWITCH_TIMEOUT_S = 30.0  # a process not switched this long after the command returned is not switching
COMMAND_ATTEMPTS = 5  # an operator retries a failed command; the report lists the failures
COMMAND_TIMEOUT_S = 120.0
PARTIAL_PERCENT = 10
# Sign-up picks the home realm from the country, so one country per realm.
COUNTRY = {"us": "US", "eu": "DE", "global": "JP"}
TAG = "drill"
NOT_A_VIDEO = b"this is not a video, so an upload that gets past the switch is rejected unstored\n" * 32
# (capabilities, percent): the staged return, from what costs least to what costs most.
STAGES: tuple[tuple[tuple[Capability, ...], int], ...] = (
    ((Capability.MESSAGE, Capability.COMMENT, Capability.PROFILE_EDIT), 100),
    ((Capability.WATCH,), PARTIAL_PERCENT),
    ((Capability.WATCH,), 100),
    ((Capability.UPLOAD, Capability.SIGNUP, Capability.SEARCH), 100),
)
ROW_KINDS = ("users", "videos", "comments", "likes", "follows", "messages")
# Relative weights of the load's actions.
ACTIONS = {
    "feed": 30,
    "video": 15,
    "like": 12,
    "comment": 10,
    "follow": 5,
    "search": 6,
    "message": 6,
    "profile": 4,
    "upload": 3,
}

Key = int | str | tuple[int, int]
EXCEPTION_LINE = re.compile(r"^[A-Z][a-z]\w*(\.\w+)*: ")


class DrillError(RuntimeError):
    """The drill itself could not go on (a process died, a command failed): no result."""


@dataclass(frozen=True)
class Plan:
    servers: int
    accounts: dict[str, int]  # load accounts per realm
    loops: int  # concurrent load loops
    pause_s: float  # each loop's pause between requests
    steady_s: float  # load before the suspension
    hold_s: float  # time the realm stays fully off
    after_s: float  # load after the last restore
    burst_every_s: float  # pace of the uploads sent while the suspend command starts
    settle_s: float  # how long the workers may take to finish every job at the end


FULL = Plan(
    servers=3,
    accounts={"us": 5, "eu": 3, "global": 2},
    loops=4,
    pause_s=0.1,
    steady_s=6.0,
    hold_s=5.0,
    after_s=5.0,
    burst_every_s=0.8,
    settle_s=180.0,
)
QUICK = Plan(
    servers=3,
    accounts={"us": 3, "eu": 2, "global": 1},
    loops=2,
    pause_s=0.25,
    steady_s=3.0,
    hold_s=3.0,
    after_s=3.0,
    burst_every_s=1.2,
    settle_s=150.0,
)


# --- processes -------------------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""


def child_env(data_dir: Path) -> dict[str, str]:
    """The environment of every child: the same data dir in demo mode, like `reelm demo` and its workers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELM_")}
    env |= {
        "REELM_DATA_DIR": str(data_dir),
        "REELM_DEMO": "true",
        # All drill traffic comes from one address and a few accounts, and each process keeps its own
        # limiter: at the production limits the probes would soon measure the rate limiter, not the switches.
        "REELM_SIGNUPS_PER_HOUR": "100000",
        "REELM_UPLOADS_PER_HOUR": "100000",
        "REELM_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
        "REELM_MESSAGES_MESSAGES_PER_MINUTE": "100000",
    }
    return env


def spawn(name: str, args: list[str], env: dict[str, str], logs: Path) -> Child:
    log = logs / f"{name}.log"
    with log.open("ab") as out:
        # A session of its own: Ctrl-C reaches only the drill, which then stops the children in order.
        process = subprocess.Popen(
            [sys.executable, "-m", "reelm", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name=name, process=process, log=log)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def stop_children(children: list[Child]) -> None:
    """SIGTERM to every child (servers are listed first), then wait for each, then kill stragglers."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    for child in children:
        try:
            child.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def check_alive(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is not None:
            tail = child.log.read_text(errors="replace")[-2000:]
            raise DrillError(f"{child.name} exited with status {child.process.returncode}:\n{tail}")


async def wait_healthy(child: Child, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=child.url, timeout=5) as client:
        while time.monotonic() < deadline:
            check_alive([child])
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.25)
    raise DrillError(f"{child.name} did not become healthy within {timeout_s:.0f} s")


def shutdown_postgres(runtime: Runtime) -> None:
    """Stop the embedded PostgreSQL before its folder is removed.

    The drill holds a handle on it like every child; the last handle to go stops it. A child that did not
    run its exit hooks (uvicorn re-raises SIGTERM after shutting down) stays listed, so the server is stopped
    outright once every child is known to be gone.
    """
    server = runtime.server
    if server is None:
        return
    server.cleanup()
    if server.get_pid() is not None:
        try:
            server.stop()
        except Exception as exc:  # reported only: it must not hide the drill's own result
            console.print(f"[yellow]could not stop the embedded PostgreSQL: {exc}[/yellow]")


# --- accounts, clips and the ledger of what the servers accepted ---------------------------------------


@dataclass
class Account:
    handle: str
    realm: str
    user_id: int
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Ledger:
    """Every answer of the drill's requests, and the ids of everything the servers accepted."""

    phase: str = "seed"
    # (phase, action, viewer's realm, status); status 0 is a transport error
    answers: Counter[tuple[str, str, str, int]] = field(default_factory=Counter)
    # kind -> realm -> keys created by accepted (2xx) requests
    created: dict[str, dict[str, set[Key]]] = field(default_factory=lambda: {kind: {} for kind in ROW_KINDS})
    video_phase: dict[int, str] = field(default_factory=dict)  # accepted upload -> the phase it was sent in
    refused_uploads: Counter[str] = field(default_factory=Counter)  # phase -> uploads answered 451
    latency: dict[str, list[float]] = field(default_factory=dict)  # phase -> the load's round trips, s
    failed_uploads: Counter[str] = field(default_factory=Counter)  # realm -> real uploads failed (5xx, lost)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, realm: str, key: Key) -> None:
        self.created[kind].setdefault(realm, set()).add(key)

    def note(self, action: str, realm: str, status: int) -> None:
        self.answers[(self.phase, action, realm, status)] += 1


def realm_of(settings: Settings, an_id: int) -> str:
    realm = settings.realm_of_id(an_id)
    if realm is None:
        raise DrillError(f"id {an_id} names no configured realm")
    return realm


def make_clips(folder: Path, count: int) -> list[bytes]:
    """Small distinct clips (180x320, 2 s): real H.264/AAC that the transcoder processes in about a second."""
    clips = []
    for index in range(count):
        path = folder / f"clip{index}.mp4"
        generate_demo_clip(path, index=index, width=180, height=320, duration_s=2.0, title="")
        clips.append(path.read_bytes())
    return clips


# --- API calls ------------------------------------------------------------------------------------------


def expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise DrillError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


async def sign_up(client: httpx.AsyncClient, handle: str, realm: str) -> Account:
    body = {
        "handle": handle,
        "email": f"{handle}@drill.example",
        "password": PASSWORD,
        "country": COUNTRY[realm],
    }
    created = expect(await client.post(f"{API}/accounts", json=body), 201, f"sign-up of {handle}")
    account = Account(handle=handle, realm=realm, user_id=int(created["id"]))
    session = {"login": handle, "password": PASSWORD}
    account.token = expect(await client.post(f"{API}/sessions", json=session), 201, "log-in")["token"]
    return account


async def upload(client: httpx.AsyncClient, account: Account, clip: bytes) -> httpx.Response:
    return await client.post(
        f"{API}/videos",
        headers=account.headers,
        files={"file": ("clip.mp4", clip, "video/mp4")},
        data={"caption": f"Drill clip #{TAG}"},
    )


async def follow(client: httpx.AsyncClient, who: Account, whom: Account) -> httpx.Response:
    return await client.post(f"{API}/users/{whom.handle}/follow", headers=who.headers)


@dataclass
class Demo:
    """What the load and the probes work with."""

    servers: list[httpx.AsyncClient]
    accounts: list[Account]  # the load's
    videos: dict[str, list[int]]  # realm -> ready videos of the seed
    conversations: dict[str, tuple[int, list[Account]]]  # realm -> (conversation, its members)
    probe_in: Account  # us account inside the partial rollout of `watch`
    probe_out: Account  # us account outside it
    probe_conversation: int
    clips: list[bytes]


async def seed(servers: list[httpx.AsyncClient], plan: Plan, clips: list[bytes]) -> Demo:
    """Accounts in every realm, one upload each, follows and conversations, all through the API."""
    accounts: list[Account] = []
    for realm, count in plan.accounts.items():
        for index in range(count):
            client = servers[len(accounts) % len(servers)]
            accounts.append(await sign_up(client, f"drill_{realm}_{index}", realm))
    # Probe accounts of `us`: one inside the partial rollout's buckets and one outside, so a 10 % restore
    # can be seen to open for the first and stay shut for the second.
    probe_in: Account | None = None
    probe_out: Account | None = None
    for index in range(200):
        if probe_in is not None and probe_out is not None:
            break
        account = await sign_up(servers[index % len(servers)], f"drill_probe_{index}", REALM)
        inside = bucket(REALM, Capability.WATCH, account.user_id) < PARTIAL_PERCENT
        if inside and probe_in is None:
            probe_in = account
        elif not inside and probe_out is None:
            probe_out = account
    if probe_in is None or probe_out is None:
        raise DrillError("no probe account fell inside (or outside) the partial rollout")
    for index, account in enumerate(accounts):
        response = await upload(servers[index % len(servers)], account, clips[index % len(clips)])
        expect(response, 202, f"seed upload of {account.handle}")
    # Conversations need the recipient to follow the sender (new accounts may not message strangers).
    conversations: dict[str, tuple[int, list[Account]]] = {}
    pairs = [(realm, [a for a in accounts if a.realm == realm][:2]) for realm in plan.accounts]
    pairs.append(("probe", [probe_out, probe_in]))
    client = servers[0]
    for realm, members in pairs:
        if len(members) < 2:
            continue
        first, second = members
        for who, whom in ((first, second), (second, first)):
            expect(await follow(client, who, whom), 200, "seed follow")
        opened = {"handles": [second.handle], "message": {"body": "hello 👋"}}
        started = expect(
            await client.post(f"{API}/conversations", headers=first.headers, json=opened), 201, "conversation"
        )
        conversations[realm] = (int(started["id"]), members)
    probe_conversation, _ = conversations.pop("probe")
    return Demo(
        servers=servers,
        accounts=accounts,
        videos={},
        conversations=conversations,
        probe_in=probe_in,
        probe_out=probe_out,
        probe_conversation=probe_conversation,
        clips=clips,
    )


# --- background load ------------------------------------------------------------------------------------


class Load:
    """Loops of random requests against random servers, each answer counted in the ledger by phase."""

    def __init__(self, demo: Demo, ledger: Ledger, settings: Settings, plan: Plan, seed: int = 7) -> None:
        self.demo = demo
        self.ledger = ledger
        self.settings = settings
        self.plan = plan
        self.rng = random.Random(seed)
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._loop(), name=f"load{i}") for i in range(self.plan.loops)]

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.gather(*self.tasks)

    async def _loop(self) -> None:
        names, weights = list(ACTIONS), list(ACTIONS.values())
        while not self.stopping.is_set():
            action = self.rng.choices(names, weights)[0]
            account = self.rng.choice(self.demo.accounts)
            client = self.rng.choice(self.demo.servers)
            phase = self.ledger.phase  # the phase the request is sent in, not the one it returns in
            sent = time.monotonic()
            try:
                status = await self._act(action, account, client, phase)
            except httpx.HTTPError as exc:
                self.ledger.errors.append(f"{phase} {action}: {type(exc).__name__} {exc}")
                status = 0
                if action == "upload":
                    self.ledger.failed_uploads[account.realm] += 1
            self.ledger.latency.setdefault(phase, []).append(time.monotonic() - sent)
            self.ledger.answers[(phase, action, account.realm, status)] += 1
            await asyncio.sleep(self.plan.pause_s)

    async def _act(self, action: str, account: Account, client: httpx.AsyncClient, phase: str) -> int:
        ledger, rng, realm = self.ledger, self.rng, account.realm
        headers = account.headers
        # Each account acts on its own realm's videos: a refusal outside `us` would then be a leak.
        video = rng.choice(self.demo.videos[realm])
        if action == "feed":
            return (await client.get(f"{API}/feed/for-you?limit=10", headers=headers)).status_code
        if action == "video":
            return (await client.get(f"{API}/videos/{video}", headers=headers)).status_code
        if action == "search":
            return (await client.get(f"{API}/hashtags/{TAG}/videos", headers=headers)).status_code
        if action == "profile":
            bio = {"bio": f"drill bio {rng.randrange(1000)}"}
            return (await client.patch(f"{API}/me", headers=headers, json=bio)).status_code
        if action == "like":
            response = await client.post(f"{API}/videos/{video}/like", headers=headers)
            if response.status_code == 200:
                ledger.add("likes", realm, (account.user_id, video))
            return response.status_code
        if action == "follow":
            others = [a for a in self.demo.accounts if a.realm == realm and a is not account]
            if not others:
                return (await client.get(f"{API}/users/{account.handle}", headers=headers)).status_code
            whom = rng.choice(others)
            response = await follow(client, account, whom)
            if response.status_code == 200:
                ledger.add("follows", realm, (account.user_id, whom.user_id))
            return response.status_code
        if action == "comment":
            body = {"body": f"nice one #{rng.randrange(1000)}"}
            response = await client.post(f"{API}/videos/{video}/comments", headers=headers, json=body)
            if response.status_code == 201:
                ledger.add("comments", realm, int(response.json()["id"]))
            return response.status_code
        if action == "message":
            conversation, members = self.demo.conversations.get(realm, (0, []))
            if not members:
                return (await client.get(f"{API}/me", headers=headers)).status_code
            sender = rng.choice(members)
            path = f"{API}/conversations/{conversation}/messages"
            response = await client.post(path, headers=sender.headers, json={"body": "still here?"})
            if response.status_code == 201:
                ledger.add("messages", realm, int(response.json()["id"]))
            return response.status_code
        # upload
        response = await upload(client, account, rng.choice(self.demo.clips))
        record_upload(ledger, self.settings, response, phase, realm)
        return response.status_code


async def upload_until_refused(
    clients: list[httpx.AsyncClient],
    accounts: list[Account],
    clip: bytes,
    ledger: Ledger,
    settings: Settings,
    accepted: list[int],
    every_s: float,
) -> None:
    """Upload `clip` in turn to each server until one answers 451; the ids answered 202 go to `accepted`."""
    for index in range(10_000):
        response = await upload(clients[index % len(clients)], accounts[index % len(accounts)], clip)
        record_upload(ledger, settings, response, ledger.phase, REALM)
        ledger.note("upload (before the switch)", REALM, response.status_code)
        if response.status_code == 451:
            return
        if response.status_code == 202:
            accepted.append(int(response.json()["id"]))
        await asyncio.sleep(every_s)


def record_upload(
    ledger: Ledger, settings: Settings, response: httpx.Response, phase: str, realm: str
) -> None:
    if response.status_code == 202:
        video = int(response.json()["id"])
        ledger.add("videos", realm_of(settings, video), video)
        ledger.video_phase[video] = phase
    elif response.status_code == 451:
        ledger.refused_uploads[phase] += 1
    elif response.status_code >= 500:
        # A server error part-way may leave the original stored without its row (by design: never a row
        # without its file), so orphans up to this count are the failure's, not a refusal's.
        ledger.failed_uploads[realm] += 1


# --- probes: one request per capability, in two modes ------------------------------------------------------


class Prober:
    """Sends the request a capability gates, as the probe accounts of `us`.

    *Closing* mode (waiting for 451) sends requests that change nothing should the gate let them through:
    an upload that is not a video (422), an empty comment or message (422), a sign-up with a taken handle
    (409). The gate runs before any of those checks, so 451 versus anything else tells the switch apart.
    *Opening* mode (waiting for service) sends real requests, whose success is the measurement; what they
    create is recorded in the ledger like the load's.
    """

    def __init__(self, demo: Demo, ledger: Ledger, settings: Settings) -> None:
        self.demo = demo
        self.ledger = ledger
        self.settings = settings
        self.comment_on = demo.videos[REALM][0]
        self.signups = 0

    async def send(
        self, client: httpx.AsyncClient, capability: Capability, *, opening: bool, viewer: Account
    ) -> int:
        response = await self._request(client, capability, opening=opening, viewer=viewer)
        status = response.status_code
        self.ledger.note(f"probe:{capability.value}", REALM, status)
        if opening and capability is Capability.UPLOAD:
            record_upload(self.ledger, self.settings, response, self.ledger.phase, REALM)
        if not opening or not 200 <= status < 300:
            return status
        # A real request got through: what it made must be found in the end, like everything else.
        if capability is Capability.COMMENT:
            self.ledger.add("comments", REALM, int(response.json()["id"]))
        elif capability is Capability.MESSAGE:
            self.ledger.add("messages", REALM, int(response.json()["id"]))
        elif capability is Capability.SIGNUP:
            self.ledger.add("users", REALM, int(response.json()["id"]))
        return status

    async def _request(
        self, client: httpx.AsyncClient, capability: Capability, *, opening: bool, viewer: Account
    ) -> httpx.Response:
        headers = viewer.headers
        match capability:
            case Capability.WATCH:
                return await client.get(f"{API}/feed/for-you?limit=5", headers=headers)
            case Capability.SEARCH:
                return await client.get(f"{API}/hashtags/{TAG}/videos?limit=5", headers=headers)
            case Capability.PROFILE_EDIT:
                return await client.patch(f"{API}/me", headers=headers, json={"bio": "probing the switches"})
            case Capability.UPLOAD:
                clip = self.demo.clips[0] if opening else NOT_A_VIDEO
                return await upload(client, viewer, clip)
            case Capability.COMMENT:
                body = {"body": "back again" if opening else ""}
                return await client.post(
                    f"{API}/videos/{self.comment_on}/comments", headers=headers, json=body
                )
            case Capability.MESSAGE:
                path = f"{API}/conversations/{self.demo.probe_conversation}/messages"
                return await client.post(
                    path, headers=headers, json={"body": "back again" if opening else ""}
                )
            case Capability.SIGNUP:
                handle = viewer.handle
                if opening:
                    self.signups += 1
                    handle = f"drill_new_{self.signups}"
                body = {
                    "handle": handle,
                    "email": f"{handle}@drill.example",
                    "password": PASSWORD,
                    "country": COUNTRY[REALM],
                }
                return await client.post(f"{API}/accounts", json=body)
        raise AssertionError(f"no probe for {capability}")


@dataclass
class Seen:
    """The probe that first showed the awaited state on one server."""

    sent: float
    received: float
    status: int


@dataclass
class Step:
    label: str
    capabilities: tuple[Capability, ...]
    started: float = 0.0
    returned: float = 0.0
    written: float = 0.0  # the switch's changed_at, on this process's monotonic clock
    notified: float = 0.0  # when the drill's own LISTEN connection heard the commit
    deadline: float = float("inf")  # when the probes give up: set once the command has succeeded
    failures: list[str] = field(default_factory=list)  # why earlier attempts of the command failed
    seen: dict[tuple[int, Capability], Seen | None] = field(default_factory=dict)


async def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """`python -m reelm ARGS` as an operator runs it: (exit status, output)."""
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reelm",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(command.communicate(), COMMAND_TIMEOUT_S)
    except TimeoutError:
        command.kill()
        await command.wait()
        return -1, f"no answer within {COMMAND_TIMEOUT_S:g} s"
    except asyncio.CancelledError:  # the drill is being stopped (Ctrl-C): the command goes with it
        command.kill()
        await command.wait()
        raise
    return command.returncode if command.returncode is not None else -1, output.decode(errors="replace")


def last_line(output: str) -> str:
    """The exception line of a failed command (`DeadlockDetected: deadlock detected`), else its last line.

    Rich prints the traceback first and the exception after it, as `Name: message`, followed by any
    DETAIL and HINT lines from PostgreSQL.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    named = [line for line in lines if EXCEPTION_LINE.match(line)]
    return (named or lines or ["(no output)"])[-1][:200]


async def hear_commit(
    listener: psycopg.AsyncConnection[tuple[Any, ...]],
    committed: asyncio.Event,
    step: Step,
    on_commit: Callable[[], Awaitable[None]] | None,
) -> None:
    async for _ in listener.notifies(stop_after=1):
        step.notified = time.monotonic()
    committed.set()
    if on_commit is not None:
        await on_commit()


async def pause(committed: asyncio.Event) -> None:
    """The pause between two probes: short once the switch is committed, long (but cut short by it) before."""
    if committed.is_set():
        await asyncio.sleep(POLL_S)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(committed.wait(), SLOW_POLL_S)


class Drill:
    def __init__(self, demo: Demo, ledger: Ledger, runtime: Runtime, env: dict[str, str]) -> None:
        self.demo = demo
        self.ledger = ledger
        self.runtime = runtime
        self.env = env
        self.prober = Prober(demo, ledger, runtime.settings)
        self.steps: list[Step] = []
        self.anomalies: list[str] = []
        self.idle_command_s = 0.0  # the same command line's start-up and exit, with no load running
        self.logs = Path(env["REELM_DATA_DIR"]) / "logs"  # each command's output is kept there
        self.commands = 0
        # Wall clock minus monotonic clock: turns a stored timestamp into this process's monotonic time.
        self.wall_offset = time.time() - time.monotonic()

    def viewer_for(self, capability: Capability, percent: int) -> Account:
        if capability is Capability.WATCH and percent < 100:
            return self.demo.probe_in
        return self.demo.probe_out

    async def _await_state(
        self,
        server: int,
        capability: Capability,
        *,
        opening: bool,
        viewer: Account,
        step: Step,
        committed: asyncio.Event,
    ) -> Seen | None:
        client = self.demo.servers[server]
        while time.monotonic() < step.deadline:
            sent = time.monotonic()
            try:
                status = await self.prober.send(client, capability, opening=opening, viewer=viewer)
            except httpx.HTTPError as exc:
                self.ledger.errors.append(f"probe {capability.value}@{server}: {type(exc).__name__} {exc}")
                status = 0
            received = time.monotonic()
            if (opening and 200 <= status < 300) or (not opening and status == 451):
                return Seen(sent=sent, received=received, status=status)
            if status >= 500 or status == 0 or (opening and status != 451):
                self.anomalies.append(f"{self.ledger.phase}: {capability.value} on server {server}: {status}")
            await pause(committed)
        return None

    async def run_command(
        self,
        label: str,
        args: list[str],
        capabilities: tuple[Capability, ...],
        percent: int,
        on_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> Step:
        """Run `reelm realm …` while every server is probed for every named capability; time each switch.

        A failed command is retried, as an operator would, up to COMMAND_ATTEMPTS times; the failures are
        kept for the report, and the times still count from the first attempt's start.
        """
        opening = args[0] == "restore"
        step = Step(label=label, capabilities=capabilities)
        # The drill listens on the switches' channel too: it hears the commit as the servers do, and polls
        # slowly until then, so that its own probes do not slow the command's start-up on a small machine.
        listener = await psycopg.AsyncConnection.connect(
            libpq_url(self.runtime.databases.directory_url), autocommit=True
        )
        await listener.execute(f"LISTEN {CHANNEL}")
        committed = asyncio.Event()
        hearing = asyncio.create_task(hear_commit(listener, committed, step, on_commit))
        step.started = time.monotonic()
        probes = {
            (server, capability): asyncio.create_task(
                self._await_state(
                    server,
                    capability,
                    opening=opening,
                    viewer=self.viewer_for(capability, percent),
                    step=step,
                    committed=committed,
                )
            )
            for server in range(len(self.demo.servers))
            for capability in capabilities
        }
        try:
            while True:
                returncode, output = await run_cli(["realm", *args], self.env)
                step.returned = time.monotonic()
                self.commands += 1
                (self.logs / f"command{self.commands}.log").write_text(f"reelm realm {args}\n{output}")
                if returncode == 0:
                    break
                step.failures.append(last_line(output))
                if len(step.failures) >= COMMAND_ATTEMPTS:
                    raise DrillError(
                        f"`reelm realm {args[0]}` failed {len(step.failures)} times: "
                        + "; ".join(step.failures)
                        + f" (output in {self.logs}/command*.log)"
                    )
            # Probes go on until the servers switch, or until SWITCH_TIMEOUT_S after the command returned.
            step.deadline = step.returned + SWITCH_TIMEOUT_S
            for key, task in probes.items():
                step.seen[key] = await task
            if committed.is_set():
                await hearing  # the commit hook's work is part of the step
        finally:
            for task in [*probes.values(), hearing]:
                task.cancel()
            await listener.close()
        step.written = await self.switch_written(capabilities)
        self.steps.append(step)
        return step

    async def switch_written(self, capabilities: tuple[Capability, ...]) -> float:
        async with self.runtime.databases.read(None) as session:
            stamps = list(
                await session.scalars(
                    select(RealmCapability.changed_at).where(
                        RealmCapability.realm == REALM,
                        RealmCapability.capability.in_([c.value for c in capabilities]),
                    )
                )
            )
        if len(stamps) != len(capabilities):
            raise DrillError(f"the switches of {capabilities} were not stored")
        return max(stamps).timestamp() - self.wall_offset

    async def check_states(self, open_caps: set[Capability], percent_watch: int) -> None:
        """One closing-mode probe per server and capability: shut ones must answer 451, open ones must not.

        Watch is probed as the account outside the partial rollout, so at 10 % it must still be refused.
        """
        for server in range(len(self.demo.servers)):
            for capability in Capability:
                viewer = self.demo.probe_out
                status = await self.prober.send(
                    self.demo.servers[server], capability, opening=False, viewer=viewer
                )
                shut = capability not in open_caps or (capability is Capability.WATCH and percent_watch < 100)
                if shut != (status == 451):
                    state = "shut" if shut else "open"
                    self.anomalies.append(
                        f"{self.ledger.phase}: {capability.value} should be {state} on server {server}, "
                        f"answered {status}"
                    )


# --- snapshots -------------------------------------------------------------------------------------------


@dataclass
class RealmState:
    rows: dict[str, set[Key]]
    video_status: dict[int, str]
    jobs: dict[int, tuple[str, str]]  # procrastinate job id -> (task, status)
    media_keys: set[str]  # objects the ready videos refer to: poster, master playlist, renditions
    objects: set[str]


Snapshot = dict[str, RealmState]


def list_objects(root: Path) -> set[str]:
    if not root.exists():
        return set()
    # '#' marks the local store's staging file of an upload in progress, renamed into place when complete.
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "#" not in p.name}


async def snapshot(runtime: Runtime) -> Snapshot:
    state: Snapshot = {}
    for realm in runtime.settings.realm_names:
        async with runtime.databases.read(realm) as session:
            videos = (await session.execute(select(Video.id, Video.status, Video.poster_key))).all()
            likes = (await session.execute(select(VideoLike.user_id, VideoLike.video_id))).all()
            follows = (await session.execute(select(Follow.follower_id, Follow.followee_id))).all()
            renditions = (
                await session.execute(select(Rendition.video_id, Rendition.mp4_key, Rendition.hls_key))
            ).all()
            jobs = (await session.execute(text("SELECT id, task_name, status FROM procrastinate_jobs"))).all()
            rows: dict[str, set[Key]] = {
                "users": set(await session.scalars(select(User.id))),
                "videos": {v.id for v in videos},
                "comments": set(await session.scalars(select(Comment.id))),
                "likes": {(u, v) for u, v in likes},
                "follows": {(a, b) for a, b in follows},
                "messages": set(await session.scalars(select(Message.id))),
            }
        ready = {v.id for v in videos if v.status == VideoStatus.READY}
        media_keys = {f"videos/{v.id}/master.m3u8" for v in videos if v.id in ready}
        media_keys |= {v.poster_key for v in videos if v.id in ready and v.poster_key}
        media_keys |= {key for r in renditions if r.video_id in ready for key in (r.mp4_key, r.hls_key)}
        store = runtime.settings.realm(realm).storage_url
        root = runtime.settings.data_dir.resolve() / "objects" / realm
        if store is not None:
            raise DrillError("the drill counts objects in local buckets only")
        state[realm] = RealmState(
            rows=rows,
            video_status={v.id: str(v.status) for v in videos},
            jobs={j.id: (j.task_name, j.status) for j in jobs},
            media_keys=media_keys,
            objects=list_objects(root),
        )
    return state


async def settle(runtime: Runtime, timeout_s: float) -> Snapshot:
    """Wait until every video is out of processing and no job is queued or running; the final snapshot."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = await snapshot(runtime)
        busy = sum(
            sum(s == VideoStatus.PROCESSING for s in r.video_status.values())
            + sum(status in {"todo", "doing"} for _, status in r.jobs.values())
            for r in state.values()
        )
        if not busy or time.monotonic() > deadline:
            return state
        await asyncio.sleep(1.0)


# --- verdicts and report ------------------------------------------------------------------------------


@dataclass
class Verdicts:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (what, passed, detail)
    timing: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, what: str, passed: bool, detail: str = "") -> None:
        self.checks.append((what, passed, detail))

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def sample(keys: Iterable[Key], limit: int = 5) -> str:
    items = sorted(map(str, keys))
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def verify(
    verdicts: Verdicts,
    settings: Settings,
    ledger: Ledger,
    snaps: dict[str, Snapshot],
    burst: list[int],
    in_flight: int,
) -> None:
    initial, before, after, final = (
        snaps["initial"],
        snaps["before suspension"],
        snaps["after restore"],
        snaps["final"],
    )
    for realm in settings.realm_names:
        for kind in ROW_KINDS:
            expected = initial[realm].rows[kind] | ledger.created[kind].get(realm, set())
            got = final[realm].rows[kind]
            lost, extra = expected - got, got - expected
            detail = f"lost {sample(lost)}" if lost else (f"unaccounted {sample(extra)}" if extra else "")
            verdicts.check(f"{realm} {kind}: final = initial + accepted", not lost and not extra, detail)
            kept = initial[realm].rows[kind] <= before[realm].rows[kind] <= after[realm].rows[kind] <= got
            verdicts.check(f"{realm} {kind}: every snapshot kept the previous one's rows", kept)
        objects = final[realm].objects
        kept = initial[realm].objects <= before[realm].objects <= after[realm].objects <= objects
        verdicts.check(f"{realm} objects: every snapshot kept the previous one's objects", kept)
        videos = {v for v in final[realm].rows["videos"] if isinstance(v, int)}
        originals = {o for o in objects if o.startswith("videos/") and o.endswith("/original")}
        wanted = {original_key(v) for v in videos}
        missing, orphans = wanted - originals, originals - wanted
        verdicts.check(f"{realm} objects: every video row has its original", not missing, sample(missing))
        failed = ledger.failed_uploads[realm]
        verdicts.check(
            f"{realm} objects: no original without a row, beyond one per upload that failed (5xx)",
            len(orphans) <= failed,
            f"{len(originals)} originals, {len(orphans)} without a row, {failed} uploads failed"
            + (f": {sample(orphans)}" if orphans else ""),
        )
        missing_media = final[realm].media_keys - objects
        verdicts.check(
            f"{realm} objects: renditions, playlists, posters stored",
            not missing_media,
            sample(missing_media),
        )
        not_ready = {v: s for v, s in final[realm].video_status.items() if s != VideoStatus.READY}
        verdicts.check(
            f"{realm} videos: all ready", not not_ready, sample(f"{v}={s}" for v, s in not_ready.items())
        )
        statuses = Counter(status for _, status in final[realm].jobs.values())
        transcoded = sum(
            1
            for task, status in final[realm].jobs.values()
            if task == "transcode_video" and status == "succeeded"
        )
        # A transcode that an upload suspension paused is taken up again by a later job once uploads are back,
        # so a video may have had more than one; each must have ended well.
        verdicts.check(
            f"{realm} jobs: every one succeeded, at least one transcode per video",
            set(statuses) <= {"succeeded"} and transcoded >= len(videos),
            f"{dict(statuses)}; {transcoded} transcodes for {len(videos)} videos",
        )
    by_phase: Counter[str] = Counter()
    unready: Counter[str] = Counter()
    for video, phase in ledger.video_phase.items():
        state = final[realm_of(settings, video)]
        by_phase[phase] += 1
        ready = state.video_status.get(video) == VideoStatus.READY
        stored = original_key(video) in state.objects
        unready[phase] += not (ready and stored)
    verdicts.check(
        "every upload accepted (202) has its row and original and ended ready",
        not sum(unready.values()),
        ", ".join(f"{phase}: {by_phase[phase] - unready[phase]}/{by_phase[phase]}" for phase in by_phase),
    )
    burst_ready = [v for v in burst if final[realm_of(settings, v)].video_status.get(v) == VideoStatus.READY]
    verdicts.check(
        "uploads accepted just before the switch finished",
        len(burst_ready) == len(burst),
        f"{len(burst_ready)}/{len(burst)} ready; {in_flight} were still processing when the switch committed",
    )
    verdicts.check(
        "the drill had transcodes in flight when the switch committed (else it proved nothing about them)",
        in_flight > 0,
        f"{in_flight} of {len(burst)}",
    )
    refused = sum(ledger.refused_uploads.values())
    verdicts.check("uploads were refused (451) during the suspension", refused > 0, f"{refused} refused")
    server_errors = {k: n for k, n in ledger.answers.items() if k[3] >= 500}
    verdicts.check(
        "no server error (5xx)", not server_errors, sample(f"{k} x{n}" for k, n in server_errors.items())
    )
    verdicts.check("no transport error", not ledger.errors, "; ".join(ledger.errors[:3]))
    odd = {
        k: n
        for k, n in ledger.answers.items()
        if not is_probe(k[1]) and not (200 <= k[3] < 300 or k[3] == 451)
    }
    verdicts.check("the load got only 2xx or 451", not odd, sample(f"{k} x{n}" for k, n in odd.items()))
    leaked = {k: n for k, n in ledger.answers.items() if k[3] == 451 and k[2] != REALM}
    verdicts.check(
        f"other realms never refused (451) while {REALM} was off", not leaked, sample(map(str, leaked))
    )
    early = {k: n for k, n in ledger.answers.items() if k[3] == 451 and k[0] in {"seed", "steady", "after"}}
    verdicts.check(
        "no 451 before the suspension or after the last restore", not early, sample(map(str, early))
    )


def latency_cells(values: list[float]) -> tuple[str, str, str]:
    if not values:
        return "-", "-", "-"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered) * 1000:.0f}", f"{p99 * 1000:.0f}", f"{ordered[-1] * 1000:.0f}"


def deadlocks_logged(log: Path) -> tuple[int, list[str]]:
    """How many deadlocks the embedded server's log reports, and the statements they were between."""
    if not log.exists():
        return 0, []
    lines = log.read_text(errors="replace").splitlines()
    count = sum("ERROR:  deadlock detected" in line for line in lines)
    # The DETAIL lists each process as "Process N: STATEMENT"; the statement's head says enough.
    heads = [line.split(": ", 1)[1][:60] for line in lines if line.startswith("\tProcess ") and ": " in line]
    return count, sorted(set(heads))


def is_probe(action: str) -> bool:
    return action.startswith("probe:")


def judge_timing(drill: Drill, verdicts: Verdicts) -> None:
    """Each switch against the 2 s target, from its write to the answer showing it in the slowest server."""
    for step in drill.steps:
        for capability in step.capabilities:
            times = [v.received for (_, c), v in step.seen.items() if c is capability and v is not None]
            worst = max(times) - step.written if times else float("inf")
            verdicts.timing.append(
                (f"{step.label}: {capability.value}", worst <= TARGET_S, f"{worst:.3f} s after the write")
            )


def percentile_row(values: list[float]) -> tuple[str, str]:
    if not values:
        return "-", "-"
    return f"{statistics.median(values):.3f}", f"{max(values):.3f}"


def report(
    drill: Drill,
    ledger: Ledger,
    snaps: dict[str, Snapshot],
    baseline: dict[int, float],
    verdicts: Verdicts,
    settings: Settings,
    loads: tuple[tuple[float, ...], tuple[float, ...]],
) -> None:
    rtt = statistics.median(baseline.values())
    table = Table(
        title=f"Switch timings: seconds until the new state holds in all {len(baseline)} servers",
        caption="start / write / return: from the command's start, the switch's changed_at and the command's "
        "return to the answer that showed the new state (p50 and max over the servers); sent max: when the "
        "slowest server's first such request was sent, after the write; last two: write max over the 2 s "
        "target and over the baseline round trip",
    )
    for column in (
        "step",
        "capability",
        "start p50",
        "start max",
        "write p50",
        "write max",
        "sent max",
        "return p50",
        "return max",
        "write max / 2 s",
        "write max / RTT",
    ):
        table.add_column(column, justify="left" if column in {"step", "capability"} else "right")
    for step in drill.steps:
        for capability in step.capabilities:
            seen = [v for (_, c), v in step.seen.items() if c is capability and v is not None]
            times = [v.received for v in seen]
            from_write = [t - step.written for t in times]
            worst = max(from_write) if from_write else float("inf")
            table.add_row(
                step.label,
                capability.value,
                *percentile_row([t - step.started for t in times]),
                *percentile_row(from_write),
                f"{max(v.sent for v in seen) - step.written:.3f}" if seen else "-",
                *percentile_row([t - step.returned for t in times]),
                f"{worst / TARGET_S:.2f}",
                f"{worst / rtt:.1f}",
            )
    console.print(table)

    figures = Table(title="Absolute figures")
    figures.add_column("what")
    figures.add_column("value", justify="right")
    figures.add_row(
        "idle `reelm realm status us` before the load: start → return", f"{drill.idle_command_s:.3f} s"
    )
    for step in drill.steps:
        figures.add_row(f"{step.label}: command start → return", f"{step.returned - step.started:.3f} s")
        if step.failures:
            figures.add_row(f"{step.label}: failed attempts before it succeeded", "; ".join(step.failures))
        figures.add_row(
            f"{step.label}: command start → switch written", f"{step.written - step.started:.3f} s"
        )
        heard = f"{step.notified - step.written:.3f} s" if step.notified else "never"
        figures.add_row(f"{step.label}: switch written → NOTIFY heard by the drill", heard)
    for server, value in baseline.items():
        figures.add_row(f"baseline RTT, server {server} (GET feed, p50 of 20)", f"{value * 1000:.1f} ms")
    figures.add_row("probe interval", f"{POLL_S * 1000:.0f} ms + one round trip")
    figures.add_row("load average at start / end", f"{loads[0][0]:.2f} / {loads[1][0]:.2f}")
    figures.add_row("CPUs", str(os.cpu_count()))
    console.print(figures)

    phases = Table(
        title=f"Load answers by phase, by the viewer's realm ({REALM} / the others), and probes sent"
    )
    for column in (
        "phase",
        f"{REALM} 2xx",
        f"{REALM} 451",
        f"{REALM} other",
        "others 2xx",
        "others 451",
        "others other",
        "uploads refused",
        "load p50 ms",
        "p99 ms",
        "max ms",
        "probes",
    ):
        phases.add_column(column, justify="left" if column == "phase" else "right")
    for phase in dict.fromkeys(k[0] for k in ledger.answers):
        cells: list[str] = []
        for home in (True, False):
            picked = [
                (k[3], n)
                for k, n in ledger.answers.items()
                if k[0] == phase and (k[2] == REALM) == home and not is_probe(k[1])
            ]
            ok = sum(n for s, n in picked if 200 <= s < 300)
            off = sum(n for s, n in picked if s == 451)
            cells += [str(ok), str(off), str(sum(n for _, n in picked) - ok - off)]
        probes = sum(n for k, n in ledger.answers.items() if k[0] == phase and is_probe(k[1]))
        spread = latency_cells(ledger.latency.get(phase, []))
        phases.add_row(phase, *cells, str(ledger.refused_uploads.get(phase, 0)), *spread, str(probes))
    console.print(phases)
    others: Counter[tuple[str, int]] = Counter()
    for (_, action, _, status), count in ledger.answers.items():
        if not 200 <= status < 300 and status != 451:
            others[(action, status)] += count
    if others:
        listed = ", ".join(f"{action} {status} x{n}" for (action, status), n in sorted(others.items()))
        console.print(f"Answers other than 2xx and 451 (probes expect 409/422 from an open gate): {listed}")

    counts = Table(title="Rows and objects per realm")
    for column in ("realm", "kind", "initial", "before suspension", "after restore", "final", "expected"):
        counts.add_column(column, justify="left" if column in {"realm", "kind"} else "right")
    for realm in settings.realm_names:
        for kind in (*ROW_KINDS, "objects", "jobs"):
            values = []
            for name in ("initial", "before suspension", "after restore", "final"):
                state = snaps[name][realm]
                size = (
                    len(state.objects)
                    if kind == "objects"
                    else len(state.jobs)
                    if kind == "jobs"
                    else len(state.rows[kind])
                )
                values.append(str(size))
            expected = "-"
            if kind in ROW_KINDS:
                expected = str(
                    len(snaps["initial"][realm].rows[kind] | ledger.created[kind].get(realm, set()))
                )
            counts.add_row(realm, kind, *values, expected)
    console.print(counts)

    for what, ok, detail in verdicts.checks:
        mark = "[green]PASS[/green]" if ok else "[red]FAIL[/red]"
        console.print(f"{mark} {what}" + (f" — {detail}" if detail else ""))
    for what, ok, detail in verdicts.timing:
        mark = "[green]≤2 s[/green]" if ok else "[yellow]SLOW[/yellow]"
        if not ok:
            console.print(f"{mark} {what}: {detail}")
    if drill.anomalies:
        console.print(f"[yellow]{len(drill.anomalies)} unexpected probe answers:[/yellow]")
        for line in drill.anomalies[:20]:
            console.print(f"  {line}")
    slow = sum(not ok for _, ok, _ in verdicts.timing)
    console.print(
        f"\n[bold]{'PASS' if verdicts.passed else 'FAIL'}[/bold]: "
        f"{sum(ok for _, ok, _ in verdicts.checks)}/{len(verdicts.checks)} checks; "
        f"{len(verdicts.timing) - slow}/{len(verdicts.timing)} switches within {TARGET_S:g} s of the write"
    )


# --- the drill ----------------------------------------------------------------------------------------------


async def measure_baseline(demo: Demo, samples: int = 20) -> dict[int, float]:
    """Median round trip of a plain feed request per server, under the same load as the probes."""
    result = {}
    for index, client in enumerate(demo.servers):
        times = []
        for _ in range(samples):
            started = time.monotonic()
            response = await client.get(f"{API}/feed/for-you?limit=5", headers=demo.probe_out.headers)
            times.append(time.monotonic() - started)
            if response.status_code != 200:
                raise DrillError(f"baseline request answered {response.status_code}")
            await asyncio.sleep(POLL_S)
        result[index] = statistics.median(times)
    return result


async def during(seconds: float, children: list[Child]) -> None:
    """Let the load run, watching that no child died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check_alive(children)
        await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


async def run_drill(runtime: Runtime, data_dir: Path, plan: Plan, children: list[Child]) -> bool:
    settings = runtime.settings
    env = child_env(data_dir)
    logs = data_dir / "logs"
    logs.mkdir()
    load_start = os.getloadavg()
    for index in range(plan.servers):
        port = free_port()
        child = spawn(
            f"server{index}",
            ["serve", "--host", HOST, "--port", str(port)],
            env | {"REELM_BASE_URL": f"http://{HOST}:{port}"},
            logs,
        )
        child.url = f"http://{HOST}:{port}"
        children.append(child)
    for realm in settings.realm_names:
        worker = ["worker", "--realm", realm, "--concurrency", "1", "--log-level", "warning"]
        children.append(spawn(f"worker-{realm}", worker, env, logs))
    servers = [c for c in children if c.url]
    (data_dir / "clips").mkdir()
    with console.status("Generating clips while the servers start…"):
        clips = await asyncio.to_thread(make_clips, data_dir / "clips", 4)
        heavy_path = data_dir / "clips" / "heavy.mp4"
        # 360x640 for 6 s: two rungs and a few seconds of transcoding, against about one for the small clips.
        await asyncio.to_thread(
            generate_demo_clip, heavy_path, index=5, width=360, height=640, duration_s=6.0
        )
        heavy = heavy_path.read_bytes()
        for server in servers:
            await wait_healthy(server)
    console.print(f"{len(servers)} servers and {len(settings.realm_names)} workers are up.")

    ledger = Ledger()
    # uvicorn closes a connection idle for 5 s; a request sent on it at that instant fails with ReadError.
    # Dropping idle connections sooner on this side keeps that race out of the figures.
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=2.0)
    clients = [httpx.AsyncClient(base_url=s.url, timeout=60, limits=limits) for s in servers]
    load: Load | None = None
    try:
        with console.status("Seeding accounts, uploads, follows and conversations through the API…"):
            demo = await seed(clients, plan, clips)
            ready = await settle(runtime, plan.settle_s)
            demo.videos = {
                realm: sorted(v for v, s in state.video_status.items() if s == VideoStatus.READY)
                for realm, state in ready.items()
            }
            if not all(demo.videos[realm] for realm in plan.accounts):
                counts = {realm: len(videos) for realm, videos in demo.videos.items()}
                raise DrillError(f"seed videos did not become ready in every realm: {counts}")
        snaps: dict[str, Snapshot] = {"initial": await snapshot(runtime)}
        drill = Drill(demo, ledger, runtime, env)
        # The cost of the operator's command line itself (start-up, database attach, exit) on an idle demo.
        started = time.monotonic()
        returncode, output = await run_cli(["realm", "status", REALM], env)
        drill.idle_command_s = time.monotonic() - started
        if returncode != 0:
            raise DrillError(f"`reelm realm status` failed: {output}")
        load = Load(demo, ledger, settings, plan)

        ledger.phase = "steady"
        load.start()
        console.print(f"Steady load for {plan.steady_s:g} s…")
        baseline = await measure_baseline(demo)
        await during(plan.steady_s, children)

        snaps["before suspension"] = await snapshot(runtime)
        ledger.phase = "suspending"
        console.print(f"Suspending every capability of {REALM}…")
        # Work accepted before the switch: while the command starts, uploads of a heavier clip go on until
        # one is refused; those accepted queue on the realm's one worker, so some are still being
        # transcoded when the switch commits (counted at that moment by the commit hook).
        burst: list[int] = []
        in_flight: list[int] = []
        us_accounts = [a for a in demo.accounts if a.realm == REALM]
        uploading = asyncio.create_task(
            upload_until_refused(clients, us_accounts, heavy, ledger, settings, burst, plan.burst_every_s)
        )

        async def count_in_flight() -> None:
            async with runtime.databases.read(REALM) as session:
                processing = select(Video.id).where(
                    Video.id.in_(list(burst)), Video.status == VideoStatus.PROCESSING
                )
                in_flight.extend(await session.scalars(processing))

        try:
            await drill.run_command(
                "suspend all",
                ["suspend", REALM, "--capability", "all", "--notice", NOTICE, "--reason", REASON],
                tuple(Capability),
                0,
                on_commit=count_in_flight,
            )
            await asyncio.wait_for(uploading, SWITCH_TIMEOUT_S)
        finally:
            uploading.cancel()

        ledger.phase = "suspended"
        await drill.check_states(set(), 0)
        # Real uploads to every server while the realm is off: each must be refused and leave nothing; the
        # same upload in another realm must go through.
        eu = next(a for a in demo.accounts if a.realm != REALM)
        for index, client in enumerate(clients):
            refused = await upload(client, us_accounts[index % len(us_accounts)], clips[index % len(clips)])
            record_upload(ledger, settings, refused, "suspended", REALM)
            ledger.note("upload (drill)", REALM, refused.status_code)
            elsewhere = await upload(client, eu, clips[index % len(clips)])
            record_upload(ledger, settings, elsewhere, "suspended", eu.realm)
            ledger.note("upload (drill)", eu.realm, elsewhere.status_code)
        await during(plan.hold_s, children)

        open_caps: set[Capability] = set()
        for number, (capabilities, percent) in enumerate(STAGES, start=1):
            names = ",".join(c.value for c in capabilities)
            label = f"restore {names}" + (f" {percent} %" if percent < 100 else "")
            ledger.phase = f"{number}. {label}"
            console.print(f"Restoring {names} at {percent} %…")
            args = ["restore", REALM, "--capability", names, "--reason", REASON]
            if percent < 100:
                args += ["--percent", str(percent)]
            await drill.run_command(label, args, capabilities, percent)
            open_caps |= set(capabilities)
            await drill.check_states(open_caps, percent if Capability.WATCH in capabilities else 100)
            await during(1.5, children)
        snaps["after restore"] = await snapshot(runtime)

        ledger.phase = "after"
        await during(plan.after_s, children)
        await load.stop()
        with console.status("Waiting for the workers to finish every job…"):
            snaps["final"] = await settle(runtime, plan.settle_s)
        check_alive(children)
    finally:
        if load is not None:  # stopped already unless something failed on the way
            for task in load.tasks:
                task.cancel()
        for client in clients:
            await client.aclose()

    verdicts = Verdicts()
    failed = [f"{step.label}: {'; '.join(step.failures)}" for step in drill.steps if step.failures]
    verdicts.check("every operator command succeeded at its first attempt", not failed, " | ".join(failed))
    verdicts.check(
        "every probe answered as expected",
        not drill.anomalies,
        f"{len(drill.anomalies)} unexpected" if drill.anomalies else "",
    )
    switched = [
        f"{step.label}: {capability.value} @ server {server}"
        for step in drill.steps
        for (server, capability), seen in step.seen.items()
        if seen is None
    ]
    verdicts.check(
        f"every server switched every capability within {SWITCH_TIMEOUT_S:g} s of the command",
        not switched,
        sample(switched),
    )
    deadlocks, statements = deadlocks_logged(data_dir / "pg" / "log")
    verdicts.check(
        "PostgreSQL logged no deadlock",
        not deadlocks,
        f"{deadlocks} deadlocks, between: {'; '.join(statements)}" if deadlocks else "",
    )
    leftovers = (
        [p for p in (data_dir / "tmp").rglob("*") if p.is_file()] if (data_dir / "tmp").exists() else []
    )
    verdicts.check("no upload spool or scratch file left behind", not leftovers, sample(map(str, leftovers)))
    verify(verdicts, settings, ledger, snaps, burst, len(in_flight))
    judge_timing(drill, verdicts)
    report(drill, ledger, snaps, baseline, verdicts, settings, (load_start, os.getloadavg()))
    return verdicts.passed


def keep_logs_only(data_dir: Path) -> None:
    """After a failure: the children's logs and PostgreSQL's, without the data (a hundred MB and more)."""
    logs = data_dir / "logs"
    if not data_dir.exists():
        return
    logs.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        shutil.copyfile(data_dir / "pg" / "log", logs / "postgresql.log")
    for path in data_dir.iterdir():
        if path != logs:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer accounts and a lighter load")
    parser.add_argument("--servers", type=int, default=None, help="server processes (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs for inspection")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.servers is not None:
        plan = replace(plan, servers=max(1, args.servers))
    # SIGTERM unwinds like Ctrl-C, so the children and PostgreSQL are stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="reelm-drill-"))
    data_dir = root / "data"
    settings = Settings(demo=True, data_dir=data_dir)
    children: list[Child] = []
    runtime: Runtime | None = None
    passed = False
    try:
        with console.status("Starting embedded PostgreSQL and applying migrations…"):
            runtime = start_runtime(settings)
        load_signer(settings)  # made once here: several servers starting at once would each make one
        passed = asyncio.run(drive(runtime, data_dir, plan, children))
    except DrillError as exc:
        console.print(f"[red]The drill could not complete:[/red] {exc}")
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted: stopping the servers, workers and PostgreSQL…[/yellow]")
    finally:
        stop_children(children)
        if runtime is not None:
            shutdown_postgres(runtime)
        if args.keep:
            console.print(f"Data dir and logs kept in {root}")
        elif not passed:
            keep_logs_only(data_dir)
            console.print(f"Logs kept in {data_dir / 'logs'}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    sys.exit(0 if passed else 1)


async def drive(runtime: Runtime, data_dir: Path, plan: Plan, children: list[Child]) -> bool:
    """The drill inside one event loop, whose engines are disposed of before the loop ends."""
    try:
        return await run_drill(runtime, data_dir, plan, children)
    finally:
        await runtime.close()


if __name__ == "__main__":
    main()
