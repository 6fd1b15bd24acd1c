"""Interface languages: which locale a page gets (picker cookie, saved choice, Accept-Language, English), the
picker's form, and the direction of right-to-left scripts."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from reelm import i18n
from reelm.accounts.models import User
from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.web.test_security import browser_login, login_page_csrf

HTML_TAG = re.compile(r'<html lang="([^"]*)" dir="([^"]*)"')


def page_language(page: httpx.Response) -> tuple[str, str]:
    assert page.status_code == 200, page.text
    match = HTML_TAG.search(page.text)
    assert match, "the page's <html> names no language"
    return match.group(1), match.group(2)


async def saved_locale(runtime: Runtime, handle: str) -> str | None:
    async with runtime.databases.read("us") as session:
        return await session.scalar(select(User.locale).where(User.handle == handle))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-CH", "de"),
        ("de-CH,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR,fr;q=0.9", "fr"),
        ("es_MX", "es"),
        ("ar-EG", "ar"),
        ("xx-YY, tlh", "en"),  # nothing shipped
        ("en;q=0.1, fr;q=0.5", "fr"),  # quality, not order
        ("de;q=0, fr", "fr"),  # q=0: "not this one"
        ("*", "en"),
        ("de;q=banana", "en"),  # a garbled weight counts as not wanted, and breaks nothing
        ("", "en"),
        (None, "en"),
    ],
)
def test_accept_language_picks_the_first_shipped_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header, None) == expected


def test_a_preference_beats_the_header_unless_it_is_not_shipped() -> None:
    assert i18n.negotiate("de", "es") == "es"
    assert i18n.negotiate("de", "xx") == "de"
    assert i18n.negotiate(None, None) == "en"


def test_right_to_left_scripts() -> None:
    assert i18n.direction("ar") == "rtl"
    assert i18n.direction("he") == "rtl"
    assert all(i18n.direction(code) == "ltr" for code in ("en", "de", "fr", "es"))


async def test_pages_follow_accept_language_and_say_so(client: httpx.AsyncClient) -> None:
    assert page_language(await client.get("/login", headers={"Accept-Language": "de-CH"})) == ("de", "ltr")
    assert page_language(await client.get("/login", headers={"Accept-Language": "tlh"})) == ("en", "ltr")
    arabic = await client.get("/login", headers={"Accept-Language": "ar"})
    assert page_language(arabic) == ("ar", "rtl")
    assert arabic.headers["content-language"] == "ar"


async def test_the_picker_cookie_beats_the_header(client: httpx.AsyncClient) -> None:
    token = await login_page_csrf(client)
    chosen = await client.post("/language", data={"locale": "fr", "next": "/login", "csrf_token": token})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/login"
    assert client.cookies["reelm_locale"] == "fr"
    assert page_language(await client.get("/login", headers={"Accept-Language": "de"})) == ("fr", "ltr")


async def test_a_saved_choice_follows_the_account_and_beats_the_header(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "alice")
    token = await browser_login(client, "alice")
    chosen = await client.post("/language", data={"locale": "es", "next": "/settings", "csrf_token": token})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/settings"
    assert await saved_locale(runtime, "alice") == "es"

    # Another browser of the same account: no picker cookie, a German browser, still Spanish.
    del client.cookies["reelm_locale"]
    assert page_language(await client.get("/", headers={"Accept-Language": "de"})) == ("es", "ltr")
    # The cookie of this browser still wins over the account's choice.
    client.cookies.set("reelm_locale", "ar")
    assert page_language(await client.get("/", headers={"Accept-Language": "de"})) == ("ar", "rtl")


async def test_an_unknown_language_is_a_400_page_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "alice")
    token = await browser_login(client, "alice")
    refused = await client.post("/language", data={"locale": "xx", "next": "/", "csrf_token": token})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert "Unknown language" in refused.text
    assert "reelm_locale" not in client.cookies
    assert await saved_locale(runtime, "alice") is None
    # A value longer than any language tag is refused at the edge, also as a page.
    too_long = await client.post("/language", data={"locale": "x" * 40, "csrf_token": token})
    assert too_long.status_code == 422
    assert too_long.headers["content-type"].startswith("text/html")
    assert "reelm_locale" not in client.cookies


async def test_the_picker_needs_the_csrf_field(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await login_page_csrf(client)
    anonymous = await client.post("/language", data={"locale": "de"})
    assert anonymous.status_code == 403
    assert "reelm_locale" not in client.cookies

    await make_account(client, "alice")
    await browser_login(client, "alice")
    signed_in = await client.post("/language", data={"locale": "de", "csrf_token": "forged"})
    assert signed_in.status_code == 403
    assert "reelm_locale" not in client.cookies
    assert await saved_locale(runtime, "alice") is None


async def test_the_picker_redirects_only_to_local_paths(client: httpx.AsyncClient) -> None:
    token = await login_page_csrf(client)
    chosen = await client.post(
        "/language", data={"locale": "de", "next": "//evil.example/", "csrf_token": token}
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/"


async def test_the_page_carries_the_script_catalogue_as_data(client: httpx.AsyncClient) -> None:
    page = await client.get("/login", headers={"Accept-Language": "fr"})
    match = re.search(r'<script type="application/json" id="i18n-catalogue">(.*?)</script>', page.text, re.S)
    assert match, "no catalogue for the page's scripts"
    assert '"locale": "fr"' in match.group(1)
    # The CSP forbids inline scripts; a JSON block is data, so the policy stays as strict as it was.
    assert "script-src 'self';" in page.headers["content-security-policy"]
