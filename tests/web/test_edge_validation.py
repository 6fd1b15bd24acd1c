"""Input is validated at the edge, once: no id, handle, tag, cursor or text gives a 5xx (DESIGN.md 11, 13).

Every route is driven from the OpenAPI document, so a route added later is covered without a change here:
a path segment that breaks its pattern names nothing (404), a query or body value that breaks one is a
422 that says why, and a method a path lacks is a 405 that lists every method it has.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from reelm.ids import new_id
from reelm.inputs import HANDLE_PATTERN, ID_PATTERN, LANGUAGE_PATTERN, REALM_PATTERN, TAG_PATTERN
from reelm.messages.policy import MAX_BODY_CHARS
from reelm.messages.schemas import MessageIn
from reelm.moderation.appeals import MAX_REASON
from reelm.moderation.decisions import MAX_FACTS, MAX_GROUND, MAX_LABEL
from reelm.moderation.reports import MAX_EXPLANATION, MAX_LEGAL_GROUND
from reelm.moderation.schemas import AppealDecisionIn, AppealIn, DecisionIn, ReportIn
from reelm.runtime import Runtime
from tests.conftest import Account, make_account
from tests.factories import assert_problem

API = "/api/v1"
# A well-formed value for each kind of path parameter, and one that only `str.isdigit` or a careless
# regular expression would take.
GOOD = {
    ID_PATTERN: "123456789",
    HANDLE_PATTERN: "nobody",
    TAG_PATTERN: "beach",
    REALM_PATTERN: "us",
    LANGUAGE_PATTERN: "en",
}
BAD = {
    ID_PATTERN: ["²", "١٢٣", "12\x00", "99999999999999999999", "-1", " 1"],
    HANDLE_PATTERN: ["al\x00ice", "a b", "ålice", "x" * 30],
    TAG_PATTERN: ["be\x00ach", "a b", "a.b", "#"],
    REALM_PATTERN: ["u\x00s", "US", "e"],
    LANGUAGE_PATTERN: ["e\x00n", "EN", "en_US", "english", "en-"],
}


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await make_account(client, "alice")


async def _operations(client: httpx.AsyncClient) -> list[tuple[str, str, dict[str, Any]]]:
    document = (await client.get(f"{API}/openapi.json")).json()
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _path_parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p["in"] == "path"]


def _good_value(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    if "$ref" in schema:
        return "upload"  # the one enum in a path: a capability
    return GOOD[schema["pattern"]]


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(values[m[1]], safe=""), path)


async def test_every_path_parameter_states_a_pattern_or_an_enum(client: httpx.AsyncClient) -> None:
    for method, path, operation in await _operations(client):
        for parameter in _path_parameters(operation):
            schema = parameter["schema"]
            assert "enum" in schema or "$ref" in schema or schema.get("pattern") in GOOD, (
                method,
                path,
                parameter,
            )


async def test_a_malformed_path_segment_is_404_on_every_route(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """ "²" passes `str.isdigit` and then int() raised (500); a NUL in a handle reached PostgreSQL (500).

    A route that needs a signed-in viewer (or staff) says so first, whatever the address (401, 403)."""
    not_found = 0
    for method, path, operation in await _operations(client):
        parameters = _path_parameters(operation)
        good = {p["name"]: _good_value(p["schema"]) for p in parameters}
        for parameter in parameters:
            for bad in BAD.get(parameter["schema"].get("pattern", ""), []):
                url = _fill(path, good | {parameter["name"]: bad})
                for headers in (alice.auth, {}):
                    answer = await client.request(method, url, headers=headers, json={})
                    assert answer.status_code in {401, 403, 404}, (
                        method,
                        url,
                        answer.status_code,
                        answer.text,
                    )
                    if answer.status_code == 404:
                        assert_problem(answer, 404, "not-found")
                        not_found += 1
    assert not_found > 150  # the ids, handles, tags and realms of about seventy routes


@pytest.mark.parametrize(
    "path", ["/v/²", "/v/12%00", "/v/99999999999999999999", "/@al%00ice", "/tag/be%00ach", "/inbox/²"]
)
async def test_a_malformed_page_address_is_the_404_page(
    client: httpx.AsyncClient, alice: Account, path: str
) -> None:
    for headers in (alice.auth, {}):
        page = await client.get(path, headers=headers)
        assert page.status_code == 404, (path, page.text)
        assert page.headers["content-type"].startswith("text/html")


NUL = "\x00"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "POST",
            "/accounts",
            {"handle": "bo\x00b", "email": "b@example.org", "password": "x" * 12, "country": "US"},
            "handle",
        ),
        (
            "POST",
            "/accounts",
            {"handle": "bob", "email": "b\x00@example.org", "password": "x" * 12, "country": "US"},
            "email",
        ),
        (
            "POST",
            "/accounts",
            {"handle": "bob", "email": "b@example.org", "password": "x\x00" * 6, "country": "US"},
            "password",
        ),
        (
            "POST",
            "/accounts",
            {"handle": "bob", "email": "b@example.org", "password": "x" * 12, "country": "U\x00"},
            "country",
        ),
        ("POST", "/sessions", {"login": "al\x00ice", "password": "whatever"}, "login"),
        ("PATCH", "/me", {"bio": "hello\x00"}, "bio"),
        ("PATCH", "/me", {"display_name": "Al\x00ice"}, "display_name"),
        ("PATCH", "/me", {"display_name": "Al\x1bice"}, "display_name"),
        ("POST", "/videos/123456789/comments", {"body": "nice\x00"}, "body"),
        ("POST", "/videos/123456789/comments", {"body": "nice", "parent_id": "²"}, "parent_id"),
        ("POST", "/conversations", {"handles": ["bo\x00b"]}, "handles.0"),
        ("POST", "/conversations", {"handles": ["bob"], "message": {"body": "hi\x00"}}, "message.body"),
        (
            "POST",
            "/reports",
            {
                "content_type": "video",
                "content_id": "1\x002",
                "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
                "explanation": "x",
            },
            "content_id",
        ),
        (
            "POST",
            "/reports",
            {
                "content_type": "video",
                "content_id": "1",
                "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
                "explanation": "a\x00",
            },
            "explanation",
        ),
        ("PUT", "/me/interests", {"hashtags": ["be\x00ach"]}, "hashtags.0"),
        (
            "POST",
            "/events",
            {"events": [{"id": "abcdefgh", "video_id": "²", "kind": "play"}]},
            "events.0.video_id",
        ),
    ],
)
async def test_nul_and_other_unstorable_text_in_a_body_is_a_422_that_says_why(
    client: httpx.AsyncClient, alice: Account, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    answer = await client.request(method, API + path, json=body, headers=alice.auth)
    problem = assert_problem(answer, 422, "invalid-request")
    assert [e["field"] for e in problem["errors"]] == [field], problem
    if NUL in json.dumps(body, ensure_ascii=False):
        assert "NUL" in problem["detail"] or "pattern" in problem["detail"], problem


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/feed/for-you", {"cursor": "ab\x00c"}, "cursor"),
        ("/feed/following", {"cursor": "\x1b"}, "cursor"),
        ("/notifications", {"cursor": "a\nb"}, "cursor"),
        ("/conversations", {"cursor": "\x00"}, "cursor"),
        ("/users/alice/videos", {"cursor": "ab\x00"}, "cursor"),
        ("/hashtags/beach/videos", {"cursor": "ab\x00"}, "cursor"),
        ("/videos/123456789/comments", {"parent_id": "²"}, "parent_id"),
        ("/log/proof/inclusion", {"index": "²"}, "index"),
        ("/log/proof/inclusion", {"index": "0", "tree_size": str(2**64)}, "tree_size"),
    ],
)
async def test_a_malformed_query_value_is_a_422(
    client: httpx.AsyncClient, alice: Account, path: str, query: dict[str, str], field: str
) -> None:
    problem = assert_problem(
        await client.get(API + path, params=query, headers=alice.auth), 422, "invalid-request"
    )
    assert [e["field"] for e in problem["errors"]] == [field], problem


async def test_a_sequence_number_beyond_postgresql_integers_is_a_422(
    client: httpx.AsyncClient, runtime: Runtime, alice: Account
) -> None:
    conversation = new_id(runtime.settings.realm(alice.realm).code)  # of her realm: the route looks further
    for query in ({"after_seq": str(2**31)}, {"before_seq": "²"}):
        answer = await client.get(
            f"{API}/conversations/{conversation}/messages", params=query, headers=alice.auth
        )
        problem = assert_problem(answer, 422, "invalid-request")
        assert [e["field"] for e in problem["errors"]] == list(query), problem
    answer = await client.post(
        f"{API}/conversations/{conversation}/read", json={"seq": 2**31}, headers=alice.auth
    )
    assert_problem(answer, 422, "invalid-request")


async def test_a_lone_surrogate_in_json_is_a_422(client: httpx.AsyncClient, alice: Account) -> None:
    """JSON can escape half of a surrogate pair; no encoding can store one (it failed in PostgreSQL)."""
    for path, raw in [
        ("/me", b'{"bio": "a\\ud800b"}'),
        ("/sessions", b'{"login": "alice", "password": "\\udfff-secret"}'),
    ]:
        method = "PATCH" if path == "/me" else "POST"
        answer = await client.request(
            method, API + path, content=raw, headers=alice.auth | {"content-type": "application/json"}
        )
        problem = assert_problem(answer, 422, "invalid-request")
        # Said by the check, or by pydantic for a string it must measure (no length of half a character).
        assert "surrogate" in problem["detail"] or "unicode" in problem["detail"], problem


async def test_line_ends_are_kept_as_lf_and_tabs_stay(client: httpx.AsyncClient, alice: Account) -> None:
    answer = await client.patch(f"{API}/me", json={"bio": "one\r\ntwo\rthree\tfour"}, headers=alice.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["bio"] == "one\ntwo\nthree\tfour"


async def test_a_nul_in_a_page_form_is_the_422_page(client: httpx.AsyncClient) -> None:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = await client.post("/login", data={"login": "al\x00ice", "password": "x", "csrf_token": token[1]})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "NUL" in answer.text


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/videos/123", "DELETE, GET, PATCH"),
        ("PUT", "/api/v1/users/alice/block", "DELETE, GET, POST"),
        ("GET", "/api/v1/users/alice/follow", "DELETE, POST"),
        ("OPTIONS", "/api/v1/me", "DELETE, GET, PATCH"),
        ("DELETE", "/api/v1/conversations", "GET, POST"),
        ("TRACE", "/api/v1/me/interests", "DELETE, GET, PUT"),
        ("POST", "/api/v1/feed/for-you", "GET"),
        ("DELETE", "/v/123", "GET"),
        ("POST", "/static/js/api.js", "GET, HEAD"),
    ],
)
async def test_a_wrong_method_is_405_with_every_allowed_method(
    client: httpx.AsyncClient, alice: Account, method: str, path: str, allow: str
) -> None:
    """Starlette named only the methods of the first route matching the path (PUT /videos/1: `GET`)."""
    answer = await client.request(method, path, headers=alice.auth)
    assert_problem(answer, 405, "http-405")
    assert answer.headers["allow"] == allow


async def test_every_route_answers_405_with_its_allow_header(
    client: httpx.AsyncClient, alice: Account
) -> None:
    paths = (await client.get(f"{API}/openapi.json")).json()["paths"]
    for path, item in paths.items():
        methods = {m.upper() for m in item}
        url = _fill(path, dict.fromkeys(re.findall(r"\{(\w+)\}", path), "x"))
        answer = await client.request("TRACE", url, headers=alice.auth)
        assert answer.status_code == 405, (path, answer.status_code)
        assert set(answer.headers["allow"].split(", ")) == methods, path


def test_body_limits_are_the_services_limits() -> None:
    """A schema that allows more than its service takes promises what is then refused (schemathesis found
    a report's legal ground allowed 1000 characters where the service takes 500)."""

    def limit(model: type[Any], field: str) -> int:
        schema = model.model_json_schema()["properties"][field]
        lengths = [s["maxLength"] for s in [schema, *schema.get("anyOf", [])] if "maxLength" in s]
        return int(lengths[0])

    assert limit(ReportIn, "explanation") == MAX_EXPLANATION
    assert limit(ReportIn, "legal_ground") == MAX_LEGAL_GROUND
    assert limit(AppealIn, "reason") == MAX_REASON
    assert limit(AppealDecisionIn, "explanation") == MAX_REASON
    assert limit(DecisionIn, "facts") == MAX_FACTS
    assert limit(DecisionIn, "legal_ground") == limit(DecisionIn, "terms_ground") == MAX_GROUND
    assert limit(DecisionIn, "label") == MAX_LABEL
    assert limit(MessageIn, "body") == MAX_BODY_CHARS


async def test_text_is_measured_after_nfc(client: httpx.AsyncClient, alice: Account) -> None:
    decomposed = "e\u0301" * 300  # 600 code points, 300 characters once composed: the bio's limit
    answer = await client.patch(f"{API}/me", json={"bio": decomposed}, headers=alice.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["bio"] == "\u00e9" * 300
