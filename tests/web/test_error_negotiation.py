"""Errors are answered in the form the client reads: a browser's navigation outside /api/ gets the styled
error page, API clients (and anything that asks for JSON as much as for HTML) get problem+json."""

from __future__ import annotations

import httpx
import pytest

from reelm.i18n import translations
from reelm.web.problems import PROBLEM_JSON

# What Chromium and Firefox send for a navigation.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"}
API_CLIENTS = [{"Accept": "application/json"}, {"Accept": PROBLEM_JSON}, {"Accept": "*/*"}, {}]


def assert_page(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<p class="error-status">{status}</p>' in answer.text
    assert "Content-Security-Policy" in answer.headers  # the page's own headers, as every page has them


def assert_problem(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = answer.json()
    assert body["status"] == status
    return body


async def test_an_unknown_page_is_the_404_page_for_a_browser(client: httpx.AsyncClient) -> None:
    answer = await client.get("/no-such-page", headers=BROWSER)
    assert_page(answer, 404)
    assert "Not Found" in answer.text
    # In another language, a heading in it.
    client.cookies.set("reelm_locale", "fr")
    french = await client.get("/no-such-page", headers=BROWSER)
    heading = translations("fr").gettext("This page does not exist")
    assert heading != "This page does not exist"
    assert heading in french.text


@pytest.mark.parametrize("headers", API_CLIENTS)
async def test_an_unknown_page_is_problem_json_for_an_api_client(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_problem(await client.get("/no-such-page", headers=headers), 404)


async def test_an_unknown_api_path_is_problem_json_even_for_a_browser(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/no-such-thing", headers=BROWSER), 404)
    assert_problem(await client.get("/api/v1/videos/123", headers=BROWSER), 404)


async def test_json_preferred_over_html_is_problem_json(client: httpx.AsyncClient) -> None:
    headers = {"Accept": "text/html;q=0.5, application/problem+json"}
    assert_problem(await client.get("/no-such-page", headers=headers), 404)
    headers = {"Accept": "application/json;q=0.2, text/html;q=0.9"}
    assert_page(await client.get("/no-such-page", headers=headers), 404)


async def test_a_wrong_method_on_a_page_is_the_405_page_with_allow(client: httpx.AsyncClient) -> None:
    page = await client.delete("/login", headers=BROWSER)
    assert_page(page, 405)
    assert page.headers["allow"] == "GET, POST"
    problem = await client.delete("/login", headers={"Accept": "application/json"})
    assert_problem(problem, 405)
    assert problem.headers["allow"] == "GET, POST"


async def test_a_wrong_method_on_the_api_stays_problem_json(client: httpx.AsyncClient) -> None:
    answer = await client.put("/api/v1/videos/123", headers=BROWSER)
    assert_problem(answer, 405)
    assert answer.headers["allow"] == "DELETE, GET, PATCH"


async def test_an_invalid_page_parameter_is_the_422_page_unless_json_is_asked_for(
    client: httpx.AsyncClient,
) -> None:
    assert_page(await client.get("/login", params={"next": "/\x00"}, headers=BROWSER), 422)
    assert_page(await client.get("/login", params={"next": "/\x00"}), 422)  # no preference: it is a page
    problem = assert_problem(
        await client.get("/login", params={"next": "/\x00"}, headers={"Accept": "application/json"}), 422
    )
    assert problem["errors"] == [{"field": "next", "message": problem["errors"][0]["message"]}]  # type: ignore[index]


async def test_an_invalid_api_parameter_stays_problem_json_for_a_browser(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/feed/for-you", params={"limit": "many"}, headers=BROWSER)
    assert_problem(answer, 422)


async def test_malformed_accept_headers_answer_without_a_server_error(client: httpx.AsyncClient) -> None:
    for accept in ("text/html;q=abc", ";;;,", "text/html;q=", "*/*;q=2", "text/html;q=-1, */*"):
        answer = await client.get("/no-such-page", headers={"Accept": accept})
        assert answer.status_code == 404, (accept, answer.text)
