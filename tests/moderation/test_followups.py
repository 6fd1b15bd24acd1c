"""What decisions do beyond the content row: suspended accounts, labels and age restrictions where videos
and comments are shown, demotion in the feeds, reporters' appeals and the appeals console, edited captions,
the Transparency Database export on the command line, and the creator's notification."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from reelm.accounts.models import Suspension
from reelm.accounts.viewer import Viewer
from reelm.cli.main import app as cli_app
from reelm.crossrealm.views import public_profiles, public_videos
from reelm.moderation.models import Appeal
from reelm.moderation.suspensions import SUSPENSION_LIFTED, lift_expired_suspensions
from reelm.notifications.models import Notification
from reelm.recommend.candidates import FeedRequest
from reelm.recommend.gravity import GravityRanker
from reelm.runtime import Runtime
from reelm.videos.models import Video
from tests import live
from tests.conftest import PASSWORD, Account, make_account
from tests.factories import app_of, assert_problem, eventually, make_tiny_clip, publish
from tests.moderation.common import (
    API,
    CATEGORY,
    counts,
    decide,
    make_staff,
    moderation_entries,
    queue,
    report,
    video_row,
)
from tests.web.test_security import browser_login

EVIL = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("followups"))


async def reported(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, *, caption: str = "fight"
) -> tuple[Account, Account, Account, str, str, str]:
    """A published video reported by alice: (creator, alice, reviewer, video id, case id, report id)."""
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip, caption=caption)
    alice = await make_account(client, "alice")
    filed = await report(client, alice, video_id)
    assert filed.status_code == 201, filed.text
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    [case] = (await queue(client, reviewer, "us")).json()["items"]
    return creator, alice, reviewer, video_id, case["id"], filed.json()["id"]


async def projected(runtime: Runtime, reader: str, video_id: str) -> bool:
    async with runtime.databases.sessionmaker(reader)() as session:
        row = (
            await session.execute(select(public_videos).where(public_videos.c.id == int(video_id)))
        ).first()
    return row is not None


async def profile_projected(runtime: Runtime, reader: str, user_id: str) -> bool:
    async with runtime.databases.sessionmaker(reader)() as session:
        row = (
            await session.execute(select(public_profiles).where(public_profiles.c.id == int(user_id)))
        ).first()
    return row is not None


async def log_in(client: httpx.AsyncClient, handle: str) -> httpx.Response:
    return await client.post("/api/v1/sessions", json={"login": handle, "password": PASSWORD})


# --- 1. suspended accounts -----------------------------------------------------------------------------


async def test_a_suspension_stops_the_account_until_the_sweep_lifts_it(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, alice, reviewer, video_id, case_id, _ = await reported(client, runtime, clip)
    await eventually(lambda: projected(runtime, "eu", video_id))
    before = await counts(runtime, "us")
    assert_problem(
        await decide(client, reviewer, case_id, action="suspend", suspend_days=0), 422, "invalid-request"
    )
    assert await counts(runtime, "us") == before
    assert (await client.get(f"{API}/me", headers=creator.auth)).status_code == 200

    decided = await decide(client, reviewer, case_id, action="suspend", suspend_days=3)
    assert decided.status_code == 201, decided.text
    statement_url = f"/statements/{decided.json()['id']}"

    # The existing session and a new log-in are refused, saying why and where the statement is.
    refused = assert_problem(await client.get(f"{API}/me", headers=creator.auth), 403, "account-suspended")
    assert refused["statement_url"] == statement_url
    assert refused["ends_at"] is not None
    login = assert_problem(await log_in(client, "creator"), 403, "account-suspended")
    assert login["statement_url"] == statement_url
    # The session still reads the statement and appeals (DSA Art. 17, 20), and does nothing else.
    decision_url = f"{API}/moderation/decisions/{decided.json()['id']}"
    assert (await client.get(f"{decision_url}/statement", headers=creator.auth)).status_code == 200
    upload = await client.post(f"{API}/videos", headers=creator.auth, files={"file": ("a.mp4", b"x")})
    assert_problem(upload, 403, "account-suspended")
    wrong = await client.post("/api/v1/sessions", json={"login": "creator", "password": "wrong password!"})
    assert_problem(wrong, 401, "bad-credentials")  # without the password nobody learns of the suspension
    # Its public content is gone at home and in every other realm.
    assert_problem(await client.get(f"{API}/videos/{video_id}"), 404, "not-found")
    assert_problem(await client.get(f"{API}/users/creator"), 404, "not-found")
    assert (await client.get(f"{API}/users/creator/videos")).json()["items"] == []
    assert not await projected(runtime, "us", video_id)
    await eventually(lambda: _gone(runtime, "eu", video_id))
    assert not await profile_projected(runtime, "us", creator.id)
    # Other people are unaffected.
    assert (await client.get(f"{API}/me", headers=alice.auth)).status_code == 200

    # A suspension not yet over is left alone by the sweep.
    assert await lift_expired_suspensions(runtime, "us") == 0
    async with runtime.databases.transaction("us") as session:
        await session.execute(
            update(Suspension)
            .where(Suspension.user_id == int(creator.id))
            .values(ends_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert await lift_expired_suspensions(runtime, "us") == 1
    assert await lift_expired_suspensions(runtime, "us") == 0
    [lifted] = await moderation_entries(runtime, "us", SUSPENSION_LIFTED)
    assert lifted["actor"] == {"kind": "automated", "system": "suspension-sweep"}
    assert "creator" not in json.dumps(lifted)

    app_of(client).state.session_cache.clear()  # this process's 5-second cache, as it expires
    assert (await client.get(f"{API}/me", headers=creator.auth)).status_code == 200
    assert (await log_in(client, "creator")).status_code == 201
    assert (await client.get(f"{API}/videos/{video_id}")).status_code == 200
    assert await projected(runtime, "us", video_id)
    await eventually(lambda: projected(runtime, "eu", video_id))


async def _gone(runtime: Runtime, reader: str, video_id: str) -> bool:
    return not await projected(runtime, reader, video_id)


async def test_a_suspended_browser_sees_what_a_visitor_sees(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, _, reviewer, _, case_id, _ = await reported(client, runtime, clip)
    await browser_login(client, "creator")
    assert 'data-testid="nav-review"' not in (await client.get("/")).text
    assert (await decide(client, reviewer, case_id, action="suspend")).status_code == 201
    app_of(client).state.session_cache.clear()
    page = await client.get("/")
    assert page.status_code == 200  # the cookie no longer logs anyone in, the public site still shows
    assert (await client.get("/upload")).status_code == 303


# --- 2. labels and age restrictions --------------------------------------------------------------------


async def test_labels_and_age_restrictions_show_on_cards_and_comments(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, alice, reviewer, video_id, case_id, _ = await reported(client, runtime, clip)
    decided = await decide(client, reviewer, case_id, action="label", label=EVIL)
    assert decided.status_code == 201, decided.text
    card = (await client.get(f"{API}/videos/{video_id}", headers=alice.auth)).json()
    assert (card["label"], card["age_restricted"]) == (EVIL, False)

    # A label travels with the projection to another realm's reader.
    bob = await make_account(client, "bob", country="DE")

    async def labelled_in_eu() -> bool:
        answer = await client.get(f"{API}/videos/{video_id}", headers=bob.auth)
        return answer.status_code == 200 and answer.json()["label"] == EVIL

    await eventually(labelled_in_eu)

    # The page renders the label as text only.
    page = await client.get(f"/v/{video_id}")
    assert EVIL not in page.text
    assert "&lt;script&gt;" in page.text

    # Comments: a labelled comment carries its label in every listing.
    comment = await client.post(
        f"{API}/videos/{video_id}/comments", headers=alice.auth, json={"body": "look at this"}
    )
    assert comment.status_code == 201, comment.text
    filed = await report(client, creator, comment.json()["id"], content_type="comment")
    assert filed.status_code == 201, filed.text
    [comment_case] = [
        c for c in (await queue(client, reviewer, "us")).json()["items"] if c["content_type"] == "comment"
    ]
    assert (
        await decide(client, reviewer, comment_case["id"], action="label", label="Off topic")
    ).status_code == 201
    listed = (await client.get(f"{API}/videos/{video_id}/comments")).json()["items"]
    assert [(c["body"], c["label"]) for c in listed] == [("look at this", "Off topic")]


async def test_age_restricted_videos_are_for_logged_in_viewers_only(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, alice, reviewer, video_id, case_id, _ = await reported(client, runtime, clip)
    other = await publish(client, runtime, await make_account(client, "other"), clip, caption="calm")
    assert (await decide(client, reviewer, case_id, action="age_restrict")).status_code == 201

    problem = assert_problem(await client.get(f"{API}/videos/{video_id}"), 403, "age-restricted")
    assert problem["login_url"] == "/login"
    page = await client.get(f"/v/{video_id}")
    assert (page.status_code, page.headers["location"]) == (303, f"/login?next=/v/{video_id}")
    anonymous = (await client.get(f"{API}/feed/for-you")).json()["items"]
    assert [v["id"] for v in anonymous] == [other]
    assert [v["id"] for v in (await client.get(f"{API}/users/creator/videos")).json()["items"]] == []
    assert_problem(await client.post(f"{API}/videos/{video_id}/view"), 403, "age-restricted")

    seen = await client.get(f"{API}/videos/{video_id}", headers=alice.auth)
    assert (seen.status_code, seen.json()["age_restricted"]) == (200, True)
    feed = (await client.get(f"{API}/feed/for-you", headers=alice.auth)).json()["items"]
    assert {v["id"] for v in feed} == {video_id, other}
    assert_problem(await client.get(f"{API}/videos/424242"), 404, "not-found")


# --- 3. demotion ---------------------------------------------------------------------------------------


async def test_a_demoted_video_ranks_below_an_otherwise_equal_one(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    older = await publish(client, runtime, creator, clip, caption="one")
    newer = await publish(client, runtime, creator, clip, caption="two")
    viewer = Viewer(user=None, realm="us")
    request = FeedRequest(viewer=viewer, realm="us", realm_title="US", exclude=set(), limit=10, base_url="")

    async def order() -> list[str]:
        async with runtime.databases.sessionmaker("us")() as session:
            return [c.video.id for c in await GravityRanker().rank(session, request)]

    assert await order() == [newer, older]  # equal engagement: the fresher first
    async with runtime.databases.transaction("us") as session:
        await session.execute(update(Video).where(Video.id == int(newer)).values(demoted=True))
    assert await order() == [older, newer]

    # The For You engine of the app too.
    alice = await make_account(client, "alice")
    items = (await client.get(f"{API}/feed/for-you", headers=alice.auth, params={"mode": "popular"})).json()
    assert [v["id"] for v in items["items"]] == [older, newer]


# --- 4. appeals by reporters, and the appeals console --------------------------------------------------


async def test_a_reporter_appeals_no_action_and_another_reviewer_removes(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, alice, reviewer, video_id, case_id, report_id = await reported(client, runtime, clip)
    appeal_url = f"{API}/reports/{report_id}/appeals"
    assert_problem(
        await client.post(appeal_url, headers=alice.auth, json={"reason": "still violent"}),
        409,
        "not-decided",
    )
    assert (await decide(client, reviewer, case_id, action="no_action")).status_code == 201

    before = await counts(runtime, "us")
    assert_problem(
        await client.post(appeal_url, headers=alice.auth, json={"reason": " "}), 422, "invalid-request"
    )
    assert_problem(
        await client.post(appeal_url, headers=creator.auth, json={"reason": "x"}), 404, "not-found"
    )
    assert_problem(
        await client.post(f"{API}/reports/77/appeals", headers=alice.auth, json={"reason": "x"}), 404, ""
    )
    assert_problem(await client.post(appeal_url, json={"reason": "x"}), 401, "login-required")
    assert await counts(runtime, "us") == before

    filed = await client.post(appeal_url, headers=alice.auth, json={"reason": "It shows a real assault."})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert (appeal["by_reporter"], appeal["state"]) == (True, "open")
    assert_problem(
        await client.post(appeal_url, headers=alice.auth, json={"reason": "again"}), 409, "already-appealed"
    )
    assert (
        await client.get(f"{API}/moderation/appeals/{appeal['id']}", headers=alice.auth)
    ).status_code == 200

    decide_url = f"{API}/moderation/appeals/{appeal['id']}/decision"
    removal = {
        "action": "remove",
        "category": CATEGORY,
        "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "terms_ground": "Terms 4.2",
        "facts": "A real assault, on a second look.",
    }
    body = {"outcome": "reversed", "explanation": "A real assault.", "decision": removal}
    assert_problem(await client.post(decide_url, headers=reviewer.auth, json=body), 403, "access-denied")
    other = await make_staff(client, runtime, "oscar", "reviewer", "us")
    no_decision = {"outcome": "reversed", "explanation": "A real assault."}
    assert_problem(
        await client.post(decide_url, headers=other.auth, json=no_decision), 422, "invalid-request"
    )
    nothing = body | {"decision": removal | {"action": "no_action"}}
    assert_problem(await client.post(decide_url, headers=other.auth, json=nothing), 422, "invalid-request")
    assert (await video_row(runtime, "us", video_id)).status == "ready"

    decided = await client.post(decide_url, headers=other.auth, json=body)
    assert decided.status_code == 200, decided.text
    result = decided.json()
    assert (result["state"], result["result_decision_id"] is not None) == ("reversed", True)
    assert (await video_row(runtime, "us", video_id)).status == "removed"
    # The new decision restricts the creator's video: they get its statement and may appeal it in turn.
    statement = await client.get(
        f"{API}/moderation/decisions/{result['result_decision_id']}/statement", headers=creator.auth
    )
    assert statement.status_code == 200
    assert statement.json()["appeal_url"] is not None
    assert_problem(await client.post(decide_url, headers=other.auth, json=body), 409, "appeal-decided")


async def test_an_owners_appeal_takes_no_new_decision(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, _, reviewer, _, case_id, _ = await reported(client, runtime, clip)
    decision = (await decide(client, reviewer, case_id)).json()
    appeal = (
        await client.post(
            f"{API}/moderation/decisions/{decision['id']}/appeals",
            headers=creator.auth,
            json={"reason": "Fiction"},
        )
    ).json()
    other = await make_staff(client, runtime, "oscar", "reviewer", "us")
    body = {
        "outcome": "reversed",
        "explanation": "Fiction",
        "decision": {"action": "label", "category": CATEGORY, "ground": "x", "facts": "x"},
    }
    url = f"{API}/moderation/appeals/{appeal['id']}/decision"
    assert_problem(await client.post(url, headers=other.auth, json=body), 422, "invalid-request")
    async with runtime.databases.sessionmaker("us")() as session:
        stored = await session.get(Appeal, int(appeal["id"]))
    assert stored is not None
    assert stored.state == "open"


async def test_reporters_cannot_appeal_an_action_taken(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, alice, reviewer, _, case_id, report_id = await reported(client, runtime, clip)
    assert (await decide(client, reviewer, case_id)).status_code == 201
    assert_problem(
        await client.post(f"{API}/reports/{report_id}/appeals", headers=alice.auth, json={"reason": "x"}),
        409,
        "not-appealable",
    )


async def test_the_appeals_console_lists_shows_escaped_and_decides_with_csrf(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, alice, reviewer, _, case_id, report_id = await reported(client, runtime, clip)
    assert (await decide(client, reviewer, case_id, action="no_action")).status_code == 201
    filed = await client.post(f"{API}/reports/{report_id}/appeals", headers=alice.auth, json={"reason": EVIL})
    appeal_id = filed.json()["id"]

    assert (await client.get("/review/appeals")).status_code == 303  # log in first
    await make_account(client, "mallory")
    await browser_login(client, "mallory")
    assert (await client.get("/review/appeals")).status_code == 403
    assert (await client.get(f"/review/appeals/{appeal_id}")).status_code == 403

    await browser_login(client, "rita")  # the reviewer who decided: may read, not decide
    mine = await client.get(f"/review/appeals/{appeal_id}")
    assert mine.status_code == 200
    assert 'data-testid="own-decision"' in mine.text

    await make_staff(client, runtime, "oscar", "reviewer", "us")
    token = await browser_login(client, "oscar")
    listing = await client.get("/review/appeals", params={"realm": "us"})
    assert listing.status_code == 200
    assert appeal_id in listing.text
    assert EVIL not in listing.text  # reasons only on the appeal's own page, whose read is logged
    assert "&lt;script&gt;" not in listing.text
    page = await client.get(f"/review/appeals/{appeal_id}")
    assert page.status_code == 200
    assert EVIL not in page.text
    assert "&lt;script&gt;" in page.text
    assert (await client.get("/review/appeals/123")).status_code == 404

    form = {"outcome": "upheld", "explanation": "Staged, as the first reviewer found."}
    refused = await client.post(f"/review/appeals/{appeal_id}", data=form | {"csrf_token": "nope"})
    assert refused.status_code == 403
    empty = await client.post(
        f"/review/appeals/{appeal_id}", data=form | {"explanation": "", "csrf_token": token}
    )
    assert empty.status_code == 422
    bogus = await client.post(
        f"/review/appeals/{appeal_id}", data=form | {"outcome": "maybe", "csrf_token": token}
    )
    assert bogus.status_code == 422
    async with runtime.databases.sessionmaker("us")() as session:
        appeal = await session.get(Appeal, int(appeal_id))
    assert appeal is not None
    assert appeal.state == "open"

    done = await client.post(f"/review/appeals/{appeal_id}", data=form | {"csrf_token": token})
    assert (done.status_code, done.headers["location"]) == (303, f"/review/appeals/{appeal_id}")
    after = await client.get(done.headers["location"])
    assert 'data-testid="appeal-outcome"' in after.text
    assert (await client.get(f"{API}/moderation/appeals/{appeal_id}", headers=alice.auth)).json()[
        "state"
    ] == "upheld"


# --- 5. edited captions --------------------------------------------------------------------------------


async def test_edited_captions_meet_the_caption_rules(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    operator = await make_staff(client, runtime, "otto", "operator", "us")
    rules_url = f"{API}/moderation/realms/us/rules"
    rule = {
        "name": "scam",
        "scope": "caption",
        "kind": "term",
        "value": "free money",
        "action": "hold",
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    }
    assert (await client.post(rules_url, headers=operator.auth, json=rule)).status_code == 201
    label = rule | {"name": "bet", "value": "sure bet", "action": "label", "label": "Gambling"}
    assert (await client.post(rules_url, headers=operator.auth, json=label)).status_code == 201
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip, caption="a calm walk")
    url = f"{API}/videos/{video_id}"

    assert_problem(
        await client.patch(url, headers=creator.auth, json={"caption": "x" * 2300}), 422, "invalid-request"
    )
    assert (await video_row(runtime, "us", video_id)).caption == "a calm walk"

    labelled = await client.patch(url, headers=creator.auth, json={"caption": "a sure bet for you"})
    assert labelled.status_code == 200, labelled.text
    assert (labelled.json()["label"], labelled.json()["status"]) == ("Gambling", "ready")

    held = await client.patch(url, headers=creator.auth, json={"caption": "FREE money here"})
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "held"
    assert not await projected(runtime, "us", video_id)
    assert_problem(await client.get(url), 404, "not-found")
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    [case] = (await queue(client, reviewer, "us")).json()["items"]
    assert (case["content_id"], case["automated"]) == (video_id, True)
    # Released by a reviewer, it is public again and counted once on the profile.
    assert (await decide(client, reviewer, case["id"], action="no_action")).status_code == 201
    assert (await client.get(url)).status_code == 200
    assert (await client.get(f"{API}/users/creator")).json()["video_count"] == 1


# --- 6. the Transparency Database export on the command line ---------------------------------------------


async def test_review_export_writes_the_transparency_database_json(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, tmp_path: Path
) -> None:
    _, _, reviewer, _, case_id, _ = await reported(client, runtime, clip)
    assert (await decide(client, reviewer, case_id, facts="Fight, ask @alice")).status_code == 201
    env = live.external_env(runtime) | {"COLUMNS": "250"}

    def reelm(*args: str) -> Result:
        return CliRunner().invoke(cli_app, list(args), env=env)

    today = datetime.now(UTC).date().isoformat()
    out = tmp_path / "statements.json"
    result = await asyncio.to_thread(
        reelm, "review", "export", "--realm", "us", "--to", today, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    [record] = json.loads(out.read_text())["statements"]
    assert record["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert "@alice" not in record["decision_facts"]
    printed = await asyncio.to_thread(reelm, "review", "export", "--realm", "eu")
    assert json.loads(printed.output) == {"statements": []}
    for bad in (
        ("--realm", "mars"),
        ("--realm", "us", "--from", "2026-13-01"),
        ("--realm", "us", "--from", "2026-05-01", "--to", "2026-01-01"),
    ):
        refused = await asyncio.to_thread(reelm, "review", "export", *bad)
        assert refused.exit_code == 2, refused.output


# --- 7. notifications ----------------------------------------------------------------------------------


async def test_the_creator_is_notified_of_a_decision_on_their_video(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, _, reviewer, video_id, case_id, _ = await reported(client, runtime, clip)
    assert (await decide(client, reviewer, case_id)).status_code == 201
    async with runtime.databases.sessionmaker("us")() as session:
        found = list(await session.scalars(select(Notification)))
    assert [(n.recipient_id, n.kind, n.object_id) for n in found] == [
        (int(creator.id), "review_outcome", int(video_id))
    ]
    listed = (await client.get(f"{API}/notifications", headers=creator.auth)).json()
    assert "decision" in json.dumps(listed)
