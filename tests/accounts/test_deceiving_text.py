"""Text that deceives, through the API: hidden characters in e-mail addresses and names, direction overrides
in captions, and handles or display names that look like another account's (UTS #39 skeletons,
reelm.accounts.names). Characters are written as escapes, so that this file shows what it tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, select, update

from reelm.accounts import names
from reelm.accounts.models import NameSkeleton
from reelm.accounts.service import check_email
from reelm.departures.move import move_account
from reelm.departures.purge import purge_due_accounts
from reelm.errors import Problem
from reelm.messages.models import Conversation
from reelm.runtime import Runtime
from reelm.text import lookalike_digest
from tests.accounts.test_accounts_api import realm_users, row_counts, sign_up
from tests.conftest import PASSWORD, make_account
from tests.factories import assert_problem, delivered, make_tiny_clip
from tests.messages.common import folder, history, send, start
from tests.messages.test_across_realms import people_of_two_realms

RLO = "\u202e"
ZWSP = "\u200b"
TECHNOLOGIST = "\U0001f469\u200d\U0001f4bb"  # woman, ZWJ, laptop: one emoji
CYRILLIC_A, CYRILLIC_E, CYRILLIC_Y = "\u0430", "\u0435", "\u0443"


async def skeleton_rows(runtime: Runtime) -> dict[tuple[int, str], bytes]:
    async with runtime.databases.read(None) as directory:
        rows = await directory.scalars(select(NameSkeleton))
        return {(row.user_id, row.kind): row.digest for row in rows}


def looks_like(response: httpx.Response, field: str, handle: str) -> None:
    problem = assert_problem(response, 409, "name-looks-alike")
    assert problem["errors"] == [{"field": field, "message": f"looks like @{handle}"}]
    assert problem["detail"].startswith(f"{field}: looks like @{handle}")


# --- e-mail addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("maya\x00@example.org", "contains control characters"),
        ("maya\x07@example.org", "contains control characters"),
        ("ma ya@example.org", "must not contain spaces"),
        (f"maya{RLO}@example.org", "direction-changing character (U+202E)"),
        (f"maya{ZWSP}@example.org", "invisible character (U+200B)"),
    ],
)
async def test_an_email_with_a_hidden_character_is_refused_at_sign_up_and_log_in(
    client: httpx.AsyncClient, runtime: Runtime, email: str, reason: str
) -> None:
    # The service's rule, whichever caller (the API's edge may already refuse control characters and spaces).
    with pytest.raises(Problem) as caught:
        check_email(email)
    assert caught.value.status == 422
    assert caught.value.detail.startswith("email: ")
    assert reason in caught.value.detail

    problem = assert_problem(await sign_up(client, "maya", email=email), 422, "invalid-request")
    assert problem["errors"][0]["field"] == "email"
    assert set((await row_counts(runtime)).values()) == {0}

    # Before this rule such an address could be stored; whatever is stored, it is no way in now.
    login = await client.post("/api/v1/sessions", json={"login": email, "password": PASSWORD})
    assert assert_problem(login, 422, "invalid-request")["errors"][0]["field"] == "login"


# --- names and captions ----------------------------------------------------------------------------


async def test_names_with_overrides_or_invisible_characters_are_refused_with_the_reason(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    for display_name, reason in [
        (f"maya.moves{RLO}{ZWSP}", "direction-changing character (U+202E)"),
        (f"maya{ZWSP}moves", "invisible character (U+200B)"),
    ]:
        refused = await sign_up(client, "posing", display_name=display_name)
        problem = assert_problem(refused, 422, "invalid-request")
        assert problem["errors"][0]["field"] == "display_name"
        assert reason in problem["detail"]
    assert set((await row_counts(runtime)).values()) == {0}

    maya = await make_account(client, "maya")
    for display_name in (f"Maya{RLO}", "Maya\u2066x\u2069", f"Ma{ZWSP}ya"):
        refused = await client.patch("/api/v1/me", headers=maya.auth, json={"display_name": display_name})
        assert assert_problem(refused, 422, "invalid-request")["errors"][0]["field"] == "display_name"
    (user,) = await realm_users(runtime, "us")
    assert user.display_name == "maya"


async def test_an_emoji_joined_by_zwj_is_a_valid_name(client: httpx.AsyncClient, runtime: Runtime) -> None:
    created = await sign_up(client, "maya", display_name=f"{TECHNOLOGIST} Maya")
    assert created.status_code == 201, created.text
    assert created.json()["display_name"] == f"{TECHNOLOGIST} Maya"
    bob = await make_account(client, "bob")
    renamed = await client.patch(
        "/api/v1/me", headers=bob.auth, json={"display_name": f"  Bob  {TECHNOLOGIST}  "}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["display_name"] == f"Bob {TECHNOLOGIST}"  # trimmed, one space between words


async def test_captions_refuse_overrides_and_keep_emoji_joiners(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    maya = await make_account(client, "maya")
    clip = make_tiny_clip(tmp_path)

    async def upload(caption: str) -> httpx.Response:
        with clip.open("rb") as f:
            return await client.post(
                "/api/v1/videos",
                headers=maya.auth,
                files={"file": ("clip.mp4", f, "video/mp4")},
                data={"caption": caption},
            )

    refused = await upload(f"free gift {RLO}kcilc")
    problem = assert_problem(refused, 422, "invalid-request")
    assert problem["errors"][0]["field"] == "caption"
    assert problem["errors"][0]["message"].startswith("contains a direction-changing character (U+202E)")
    accepted = await upload(f"{TECHNOLOGIST} late-night coding #dev")
    assert accepted.status_code == 202, accepted.text
    video = await client.get(f"/api/v1/videos/{accepted.json()['id']}", headers=maya.auth)
    assert video.json()["caption"] == f"{TECHNOLOGIST} late-night coding #dev"

    edited = await client.patch(
        f"/api/v1/videos/{accepted.json()['id']}", headers=maya.auth, json={"caption": f"{RLO}edited"}
    )
    assert_problem(edited, 422, "invalid-request")


# --- look-alikes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("imitation", ["rnaya.moves", "maya.rnoves", "maya.m0ves", "rnaya.m0ves"])
async def test_a_handle_that_looks_like_another_is_refused_naming_it(
    client: httpx.AsyncClient, runtime: Runtime, imitation: str
) -> None:
    await make_account(client, "maya.moves")
    before = await row_counts(runtime)
    looks_like(await sign_up(client, imitation), "handle", "maya.moves")
    assert await row_counts(runtime) == before  # nothing written, in the directory or a realm


@pytest.mark.parametrize(
    "imitation",
    [
        f"ma{CYRILLIC_Y}a.moves",  # a Cyrillic letter
        f"m{CYRILLIC_A}y{CYRILLIC_A} Moves",  # Cyrillic letters, other case and a space: "Maya Moves"
        "maya.moves\ufe0e",  # an invisible variation selector after a visible letter
        "MAYA.RNOVES",  # "rn" for "m", in another case
    ],
)
async def test_a_display_name_that_looks_like_another_accounts_name_is_refused_naming_it(
    client: httpx.AsyncClient, runtime: Runtime, imitation: str
) -> None:
    maya = await make_account(client, "maya.moves")
    renamed = await client.patch("/api/v1/me", headers=maya.auth, json={"display_name": "Maya Moves"})
    assert renamed.status_code == 200, renamed.text
    # At sign-up, against the handle or the display name of an account of another realm: one directory.
    refused = await sign_up(client, "newcomer", country="DE", display_name=imitation)
    looks_like(refused, "display_name", "maya.moves")
    assert await realm_users(runtime, "eu") == []

    # At a profile edit.
    bob = await make_account(client, "bob")
    looks_like(
        await client.patch("/api/v1/me", headers=bob.auth, json={"display_name": imitation}),
        "display_name",
        "maya.moves",
    )
    assert {u.handle: u.display_name for u in await realm_users(runtime, "us")}["bob"] == "bob"
    rows = await skeleton_rows(runtime)
    assert rows[(int(bob.id), names.DISPLAY_NAME)] == lookalike_digest("bob")  # the refused name left nothing


async def test_the_same_name_spelled_the_same_is_no_imitation(client: httpx.AsyncClient) -> None:
    """Display names are not unique: two people may both be called Alex, and one may be called what another's
    handle says; the @handle beside the name tells the accounts apart. A look-alike spelling is refused."""
    alex = await make_account(client, "alex")
    renamed = await client.patch("/api/v1/me", headers=alex.auth, json={"display_name": "Alex"})
    assert renamed.status_code == 200, renamed.text
    other = await make_account(client, "alex.b")
    for same in ("Alex", "ALEX", "alex"):
        saved = await client.patch("/api/v1/me", headers=other.auth, json={"display_name": same})
        assert saved.status_code == 200, (same, saved.text)
    looks_like(
        await client.patch("/api/v1/me", headers=other.auth, json={"display_name": f"Al{CYRILLIC_E}x"}),
        "display_name",
        "alex",
    )


async def test_keeping_ones_own_name_is_not_imitating_oneself(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    maya = await make_account(client, "maya.moves")
    await make_account(client, "bob")  # someone else's names are there too
    # The unchanged name with a new bio, the same name in another case, a name like one's own handle.
    for body in (
        {"display_name": "maya.moves", "bio": "new"},
        {"display_name": "MAYA.MOVES"},
        {"display_name": "maya.rnoves"},
        {"display_name": "Maya"},
        {"display_name": "Maya", "bio": "newer"},
    ):
        saved = await client.patch("/api/v1/me", headers=maya.auth, json=body)
        assert saved.status_code == 200, (body, saved.text)
    rows = await skeleton_rows(runtime)
    assert rows[(int(maya.id), names.DISPLAY_NAME)] == lookalike_digest("Maya")


async def test_a_renamed_account_frees_its_old_name(client: httpx.AsyncClient) -> None:
    maya = await make_account(client, "maya.moves")
    bob = await make_account(client, "bob")
    assert (
        await client.patch("/api/v1/me", headers=maya.auth, json={"display_name": "Maya"})
    ).status_code == 200
    looks_like(
        await client.patch("/api/v1/me", headers=bob.auth, json={"display_name": "M" + CYRILLIC_A + "ya"}),
        "display_name",
        "maya.moves",
    )
    assert (
        await client.patch("/api/v1/me", headers=maya.auth, json={"display_name": "Maya M."})
    ).status_code == 200
    taken = await client.patch("/api/v1/me", headers=bob.auth, json={"display_name": "Maya"})
    assert taken.status_code == 200, taken.text


async def test_a_deleted_account_frees_its_names(client: httpx.AsyncClient, runtime: Runtime) -> None:
    maya = await make_account(client, "maya.moves")
    deleted = await client.request("DELETE", "/api/v1/me", headers=maya.auth, json={"password": PASSWORD})
    assert deleted.status_code == 202, deleted.text
    # During the grace period the account may come back: its names stay its own.
    looks_like(await sign_up(client, "rnaya.moves"), "handle", "maya.moves")

    assert await purge_due_accounts(runtime, "us", now=datetime.now(UTC) + timedelta(days=8)) == 1
    assert await skeleton_rows(runtime) == {}
    assert (await sign_up(client, "rnaya.moves", display_name="maya.moves")).status_code == 201


async def test_a_moved_account_keeps_its_names(client: httpx.AsyncClient, runtime: Runtime) -> None:
    maya = await make_account(client, "maya.moves")
    report = await move_account(runtime, "maya.moves", "eu", reason="test")
    rows = await skeleton_rows(runtime)
    assert set(rows) == {(report.plan.new_user, names.HANDLE), (report.plan.new_user, names.DISPLAY_NAME)}
    assert int(maya.id) != report.plan.new_user
    looks_like(await sign_up(client, "rnaya.moves"), "handle", "maya.moves")


async def test_two_look_alike_sign_ups_at_once_cannot_both_pass(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    first, second = await asyncio.gather(
        sign_up(client, "maya.moves"), sign_up(client, "rnaya.moves", country="DE")
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    assert len(await skeleton_rows(runtime)) == 2  # one account's handle and display name


async def test_accounts_made_before_the_check_get_their_names_recorded(
    client: httpx.AsyncClient, runtime: Runtime, database_urls: dict[str, str]
) -> None:
    await make_account(client, "maya.moves")
    await make_account(client, "dora", country="DE")
    recorded = await skeleton_rows(runtime)
    async with runtime.databases.transaction(None) as directory:
        await directory.execute(delete(NameSkeleton))

    assert await asyncio.to_thread(names.backfill, database_urls) == 2
    assert await skeleton_rows(runtime) == recorded
    assert await asyncio.to_thread(names.backfill, database_urls) == 0
    # An account with one of its two rows (a display name edited before the backfill ran) gets the other.
    async with runtime.databases.transaction(None) as directory:
        await directory.execute(delete(NameSkeleton).where(NameSkeleton.kind == names.HANDLE))
    assert await asyncio.to_thread(names.backfill, database_urls) == 2
    assert await skeleton_rows(runtime) == recorded
    looks_like(await sign_up(client, "rnaya.moves"), "handle", "maya.moves")


async def test_a_group_title_stored_under_older_rules_does_not_hold_its_messages(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A title with a bidi override, stored before the rule, crosses with every message of its group: the
    receiving realm keeps its own title instead and takes the message in (refusing would hold it forever)."""
    alice, erik = await people_of_two_realms(client, runtime)
    bob = await make_account(client, "bob")
    group = await start(client, alice, "bob", "erik", body="first")

    async def erik_has(count: int) -> bool:
        items = await folder(client, erik, "requests")
        return bool(items) and len((await history(client, erik, items[0]["id"]))["items"]) == count

    await delivered(runtime, lambda: erik_has(1))
    async with runtime.databases.transaction("us") as session:
        await session.execute(
            update(Conversation).where(Conversation.id == int(group["id"])).values(title=f"{RLO}evil")
        )
    await send(client, bob, group["id"], "second")
    await delivered(runtime, lambda: erik_has(2))
    (theirs,) = await folder(client, erik, "requests")
    assert theirs["title"] is None
