"""The reviewer console, statement and transparency pages: access, escaping, forms with CSRF."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.factories import make_tiny_clip, publish
from tests.moderation.common import decide, make_staff, queue, report
from tests.web.test_security import browser_login

EVIL = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("pages"))


async def test_console_shows_the_case_escaped_and_decides_through_the_form(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip, caption=EVIL)
    alice = await make_account(client, "alice")
    assert (await report(client, alice, video_id, explanation=EVIL)).status_code == 201
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    [case] = (await queue(client, reviewer, "us")).json()["items"]

    assert (await client.get("/review")).status_code == 303  # to the log-in page
    token = await browser_login(client, "rita")
    listing = await client.get("/review")
    assert listing.status_code == 200
    assert case["id"] in listing.text
    assert 'data-testid="nav-review"' in listing.text
    page = await client.get(f"/review/cases/{case['id']}")
    assert page.status_code == 200
    assert EVIL not in page.text
    assert "&lt;script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    media = await client.get(f"/review/media/us/{video_id}/video.mp4")
    assert (media.status_code, media.headers["content-type"]) == (200, "video/mp4")

    form = {
        "action": "label",
        "category": "STATEMENT_CATEGORY_VIOLENCE",
        "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "terms_ground": "Terms 4.2",
        "facts": "Graphic",
        "label": "Graphic content",
    }
    refused = await client.post(f"/review/cases/{case['id']}", data=form | {"csrf_token": "nope"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    done = await client.post(f"/review/cases/{case['id']}", data=form | {"csrf_token": token})
    assert done.status_code == 303, done.text
    statement = await client.get(done.headers["location"])
    assert statement.status_code == 200
    assert "Graphic content" in statement.text
    assert "decided by a person" in statement.text


async def test_statement_page_lets_the_creator_appeal(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    alice = await make_account(client, "alice")
    await report(client, alice, video_id)
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    [case] = (await queue(client, reviewer, "us")).json()["items"]
    decision = (await decide(client, reviewer, case["id"])).json()
    token = await browser_login(client, "creator")
    page = await client.get(f"/statements/{decision['id']}")
    assert page.status_code == 200
    assert 'action="/statements/' in page.text
    appealed = await client.post(
        f"/statements/{decision['id']}/appeal", data={"reason": "Please look again", "csrf_token": token}
    )
    assert appealed.status_code == 303
    after = await client.get(appealed.headers["location"])
    assert 'data-testid="appeal-state"' in after.text


async def test_others_cannot_open_the_console_or_statements(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    await make_account(client, "mallory")
    await browser_login(client, "mallory")
    assert (await client.get("/review")).status_code == 403
    assert (await client.get("/statements/123")).status_code == 404


async def test_transparency_page_has_charts_and_downloads(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    await report(client, await make_account(client, "alice"), video_id)
    page = await client.get("/transparency/us")
    assert page.status_code == 200
    assert 'data-testid="download-csv"' in page.text
    assert 'data-testid="chart-categories"' in page.text
    assert "Violence" in page.text
    assert 'data-testid="chart-actions"' not in page.text  # nothing decided yet: no empty chart
    assert (await client.get("/transparency/mars")).status_code == 404
    assert (
        await client.get("/transparency/us", params={"from": "2026-05-01", "to": "2026-01-01"})
    ).status_code == 422
