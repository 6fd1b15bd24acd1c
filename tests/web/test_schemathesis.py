"""Schemathesis against the JSON API, in process: every check, with a bearer token and without one.

The API must answer whatever its OpenAPI document allows, and refuse what it does not, without a 5xx:
`schemathesis run --checks all` against /api/v1/openapi.json, here through its engine and its ASGI
transport, with a fixed seed and a small budget so that a run is short and repeatable. Any failure of any
check, and any error of the run itself, fails the test with every report.

The app runs on schemathesis' own event loop (its ASGI client serves requests from a thread), so it gets
database engines of its own, made on that loop, over the test's emptied databases.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.engine import StopReason, events, from_schema
from schemathesis.python import asgi

from reelm.db import Databases
from reelm.runtime import Runtime
from reelm.web.app import create_app
from tests.conftest import Account, make_account

SEED = 20260601
API = "/api/v1"

# Operations that cannot be fuzzed, each with why (every other one is, in both runs):
EXCLUDED = [
    # Uploads a video: PyAV probes the content, so no generated body is a video, and an accepted one would
    # store an original and start a transcode. tests/videos drive it with real clips.
    ("POST", f"{API}/videos"),
]
# The live WebSocket (/api/v1/live) is not an OpenAPI operation, so schemathesis never sees it.

# Excluded from the run with a bearer token only: it would end the session every later request of that
# run relies on (the run without one drives it, and gets its 401).
LOG_OUT = ("DELETE", f"{API}/sessions/current")

# Refusals of schema-valid requests that no schema can rule out, by operation: positive_data_acceptance
# takes them as correct (besides its defaults: 2xx, 3xx, 401, 403, 404, 409, 429).
SIGNED_CURSOR = "a cursor is signed: only one this API handed out is taken (400 bad-cursor)"
SEMANTIC_REFUSALS: dict[tuple[str, str], tuple[list[str], str]] = {
    **{
        ("GET", f"{API}{path}"): (["400"], SIGNED_CURSOR)
        for path in (
            "/feed/for-you",
            "/feed/following",
            "/conversations",
            "/notifications",
            "/hashtags/{tag}/videos",
            "/users/{handle}/videos",
            "/videos/{video_id}/comments",
            "/search",
            "/search/watch",
        )
    },
    **{
        ("GET", f"{API}/log/proof/{kind}"): (["422"], "proofs exist for the sizes the log has reached")
        for kind in ("inclusion", "consistency")
    },
    ("PUT", f"{API}/me/avatar"): (["422"], "the image's content decides: it must decode, within limits"),
    ("POST", f"{API}/accounts"): (
        ["422"],
        "handles, names and passwords have rules beyond a pattern: reserved and look-alike handles, "
        "invisible or direction-changing characters, passwords too easy to guess (reelm.text)",
    ),
    ("POST", f"{API}/me/email"): (
        ["422"],
        "an address must also match the e-mail pattern, which the schema does not show beside the shared "
        "line type's (as for sign-up)",
    ),
    ("POST", f"{API}/me/email/confirm"): (["400"], "a confirmation token is signed: only a link sent works"),
    ("PATCH", f"{API}/me"): (["422"], "a display name shows what it is: nothing invisible (reelm.text)"),
    **{
        (method, f"{API}/users/{{handle}}/{what}"): (["422"], f"nobody can {what} themself")
        for method in ("POST", "DELETE")
        for what in ("follow", "block")
    },
    **{
        ("POST", f"{API}{path}"): (["422"], "a video shared in a message must be a public one that exists")
        for path in ("/conversations", "/conversations/{conversation_id}/messages")
    },
    ("POST", f"{API}/events"): (["422"], "events are of public videos that exist; a batch is taken whole"),
    **{
        ("GET", f"{API}/studio/analytics{path}"): (
            ["422"],
            "a custom range's days must exist in the calendar (no 31 February), in order, within a year, and "
            "its time zone in the IANA database",
        )
        for path in ("", "/export.csv", "/videos/{video_id}", "/videos/{video_id}/export.csv")
    },
    **{
        ("POST", f"{API}{path}"): (
            ["400"],
            "a passkey's answer is signed by its authenticator over a challenge this server handed out",
        )
        for path in ("/me/passkeys", "/sessions/passkey")
    },
}


def _excluded(headers: dict[str, str]) -> list[tuple[str, str]]:
    return [*EXCLUDED, LOG_OUT] if headers else EXCLUDED


def _config(headers: dict[str, str], *, stateful: bool) -> schemathesis.Config:
    excluded = _excluded(headers)
    # By name ("GET /path"): separate method and path filters would each match on their own.
    operations: list[dict[str, Any]] = [
        {"include-name": f"{method} {path}", "enabled": False} for method, path in excluded
    ]
    for (method, path), (statuses, _) in SEMANTIC_REFUSALS.items():
        operations.append(
            {
                "include-name": f"{method} {path}",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "429", *statuses]
                    }
                },
            }
        )
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": headers,
            "max-failures": 200,  # report everything, do not stop at the first
            "generation": {"max-examples": 3, "database": "none", "deterministic": True},
            "phases": {
                # 405 and its Allow header are asked with one method a path lacks; the others take the
                # same code path.
                "coverage": {"unexpected-methods": ["OPTIONS"]},
                "stateful": {"enabled": stateful, "max-steps": 20},
            },
            "checks": {"enabled": True},
            "operations": operations,
            "cache": {"enabled": False},  # nothing written into the work tree
        }
    )


def _fuzz(
    runtime: Runtime,
    database_urls: dict[str, str],
    config: schemathesis.Config,
    excluded: list[tuple[str, str]],
) -> list[str]:
    """Run every phase against a fresh app; return what any check or the run itself reported, and fail
    unless every operation but the excluded ones was sent requests."""
    databases = Databases(
        directory_url=database_urls[""], realm_urls={k: v for k, v in database_urls.items() if k}
    )
    own = Runtime(settings=runtime.settings, databases=databases, storage=runtime.storage)
    app = create_app(own, own_runtime=True)  # its lifespan's end disposes the engines, on their loop
    reports: list[str] = []
    tested: set[str] = set()
    finished = None
    try:
        schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", app, config=config)
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                reports += _failures(event)
                if event.recorder.interactions:
                    tested.add(event.recorder.label)
            elif isinstance(event, events.NonFatalError):
                reports.append(f"error in {event.label}: {event.info.format()}")
            elif isinstance(event, events.FatalError):
                reports.append(f"fatal: {event.exception!r}")
            elif isinstance(event, events.EngineFinished):
                finished = event
                reports += [f"{f.operation}: {f.title}: {f.message}" for f in event.failures]
    finally:
        asgi.shutdown_lifespans()
    assert finished is not None, "the run did not finish"
    assert finished.stop_reason is StopReason.COMPLETED, finished.stop_reason
    every = {f"{m.upper()} {path}" for path, item in app.openapi()["paths"].items() for m in item}
    assert every - tested == {f"{m} {p}" for m, p in excluded}
    return reports


def _failures(event: events.ScenarioFinished) -> list[str]:
    found = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            failure = check.failure_info.failure
            interaction = event.recorder.interactions.get(case_id)
            exchange = ""
            if interaction is not None:
                request, response = interaction.request, interaction.response
                exchange = f"\n    {request.method} {request.uri} {(request.body or b'')[:300]!r}"
                if response is not None:
                    exchange += f"\n    -> {response.status_code} {(response.content or b'')[:300]!r}"
            title = f"{event.recorder.label} [{check.name}] {failure.title}"
            found.append(f"{title}: {failure.message}{exchange}")
    return found


@pytest.fixture
async def fuzzer(client: httpx.AsyncClient) -> Account:
    return await make_account(client, "fuzzer")


def test_the_api_keeps_its_openapi_promises(
    runtime: Runtime, database_urls: dict[str, str], fuzzer: Account
) -> None:
    reports = _fuzz(runtime, database_urls, _config(fuzzer.auth, stateful=True), _excluded(fuzzer.auth))
    reports += _fuzz(runtime, database_urls, _config({}, stateful=False), _excluded({}))
    assert not reports, "\n".join(dict.fromkeys(reports))
