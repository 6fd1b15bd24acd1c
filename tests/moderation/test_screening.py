"""Automated detection: keyframe PDQ hashes against the realm's lists, caption and comment rules; the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from reelm.audit.service import MODERATION_DECISION
from reelm.cli.main import app as cli_app
from reelm.moderation import lists
from reelm.moderation.hash_lists import HashListError
from reelm.moderation.keyframes import extract_keyframes
from reelm.moderation.lists import ImportResult
from reelm.moderation.models import StoredHashList
from reelm.moderation.rules import do_screen_comment
from reelm.runtime import Runtime
from reelm.social.models import Comment
from tests import live
from tests.conftest import make_account
from tests.factories import assert_problem, make_tiny_clip, publish
from tests.moderation.common import API, counts, decide, make_staff, moderation_entries, queue, video_row

CLI_ACTOR = {"kind": "operator-cli"}
OTHER_HASH = "f" * 64


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("screening"))


@pytest.fixture(scope="module")
async def clip_hash(clip: Path) -> str:
    [first, *_] = await extract_keyframes(clip, width=144, height=256, duration_s=1.0)
    return first.hash.hex


async def import_list(runtime: Runtime, name: str, action: str, text: str) -> ImportResult:
    return await lists.do_import_hash_list(
        runtime, "us", name=name, action=action, data=text.encode(), actor=CLI_ACTOR
    )


async def test_a_hold_list_match_holds_the_video_until_a_reviewer_releases_it(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, clip_hash: str
) -> None:
    await import_list(runtime, "known", "hold", f"# test list\n{OTHER_HASH}\n{clip_hash},90,frame.jpg\n")
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    video = await video_row(runtime, "us", video_id)
    assert (video.status, video.reject_code, video.published_at) == ("held", "held_for_review", None)
    assert video.renditions  # transcoded for the reviewer, not published
    # Nobody else sees it; its creator sees why.
    assert_problem(await client.get(f"{API}/videos/{video_id}"), 404, "not-found")
    mine = (await client.get(f"{API}/videos/{video_id}", headers=creator.auth)).json()
    assert mine["status"] == "held"
    assert "held for review" in mine["reject_reason"]

    [entry] = await moderation_entries(runtime, "us", MODERATION_DECISION)
    assert entry["actor"] == {"kind": "automated", "system": "hash-lists"}
    assert entry["details"]["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert entry["details"]["lists"] == ["known"]

    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    [case] = (await queue(client, reviewer, "us")).json()["items"]
    assert case["automated"] is True
    detail = (await client.get(f"{API}/moderation/cases/{case['id']}", headers=reviewer.auth)).json()
    assert "line 3" in detail["reports"][0]["explanation"]
    [hold] = detail["decisions"]
    statement = (
        await client.get(f"{API}/moderation/decisions/{hold['id']}/statement", headers=creator.auth)
    ).json()
    assert statement["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert statement["automated_detection"] is True

    released = await decide(client, reviewer, case["id"], action="no_action")
    assert released.status_code == 201, released.text
    assert released.json()["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"
    video = await video_row(runtime, "us", video_id)
    assert (video.status, video.reject_code) == ("ready", None)
    assert video.published_at is not None
    assert (await client.get(f"{API}/videos/{video_id}")).status_code == 200


async def test_a_block_list_match_rejects_with_a_stable_code(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, clip_hash: str
) -> None:
    await import_list(runtime, "blocked", "block", f"pdq {clip_hash}\n")
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    video = await video_row(runtime, "us", video_id)
    assert (video.status, video.reject_code) == ("rejected", "hash_match_blocked")
    assert not video.renditions
    assert (await counts(runtime, "us"))["moderation_cases"] == 0


async def test_unmatched_uploads_publish_and_other_realms_lists_do_not_apply(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, clip_hash: str
) -> None:
    await import_list(runtime, "other", "block", f"{OTHER_HASH}\n")
    await lists.do_import_hash_list(
        runtime, "eu", name="eu-list", action="block", data=clip_hash.encode(), actor=CLI_ACTOR
    )
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    assert (await video_row(runtime, "us", video_id)).status == "ready"


async def test_caption_and_comment_rules_label_or_hold(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    operator = await make_staff(client, runtime, "otto", "operator", "us")
    rules_url = f"{API}/moderation/realms/us/rules"
    label_rule = {
        "name": "betting",
        "scope": "both",
        "kind": "term",
        "value": "sure bet",
        "action": "label",
        "label": "Gambling content",
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    }
    assert (await client.post(rules_url, headers=operator.auth, json=label_rule)).status_code == 201
    hold_rule = label_rule | {
        "name": "slur",
        "scope": "comment",
        "kind": "pattern",
        "value": r"\bbad+word\b",
        "action": "hold",
    }
    assert (await client.post(rules_url, headers=operator.auth, json=hold_rule)).status_code == 201
    assert_problem(await client.post(rules_url, headers=operator.auth, json=label_rule), 409, "rule-exists")
    broken = label_rule | {"name": "broken", "kind": "pattern", "value": "(unclosed"}
    assert_problem(await client.post(rules_url, headers=operator.auth, json=broken), 422, "invalid-request")
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    assert_problem(
        await client.post(rules_url, headers=reviewer.auth, json=label_rule | {"name": "x"}),
        403,
        "access-denied",
    )

    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip, caption="A SURE BET tonight")
    video = await video_row(runtime, "us", video_id)
    assert (video.status, video.mod_label) == ("ready", "Gambling content")

    async with runtime.databases.transaction("us") as session:
        comment = Comment(
            id=int(video_id) + 1, video_id=int(video_id), author_id=int(creator.id), body="such a baddddword"
        )
        session.add(comment)
        state = await do_screen_comment(session, runtime, "us", comment)
    assert state == "held"
    async with runtime.databases.sessionmaker("us")() as session:
        stored = await session.get(Comment, int(video_id) + 1)
    assert stored is not None
    assert stored.mod_state == "held"
    items = (await queue(client, reviewer, "us")).json()["items"]
    assert [c["content_type"] for c in items] == ["comment"]


@pytest.fixture
def reelm(runtime: Runtime) -> Callable[..., Result]:
    env = live.external_env(runtime) | {"COLUMNS": "250"}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli_app, list(args), env=env)

    return invoke


def test_cli_imports_a_list_and_refuses_a_bad_file_with_its_line(
    reelm: Callable[..., Result], runtime: Runtime, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(f"signal_type,signal_str,quality\npdq,{OTHER_HASH},100\npdq,{'0f' * 32},10\n")
    result = reelm(
        "review", "hashes", "import", "--realm", "eu", "--list", "ncmec", "--action", "block", str(good)
    )
    assert result.exit_code == 0, result.output
    assert "1 hashes" in result.output
    assert "lines 3" in result.output

    bad = tmp_path / "bad.txt"
    bad.write_text(f"{OTHER_HASH}\nnot-a-hash\n")
    refused = reelm(
        "review", "hashes", "import", "--realm", "eu", "--list", "ncmec", "--action", "hold", str(bad)
    )
    assert refused.exit_code == 2
    assert "line 2" in refused.output
    assert "Nothing was imported" in refused.output
    assert reelm("review", "hashes", "import", "--realm", "mars", "--list", "x", str(good)).exit_code == 2
    assert (
        reelm(
            "review", "hashes", "import", "--realm", "eu", "--list", "x", "--action", "nuke", str(good)
        ).exit_code
        == 2
    )

    report = reelm("review", "report", "--realm", "eu", "--format", "csv")
    assert report.exit_code == 0, report.output
    assert report.output.startswith("realm,start,end,section,key,value")
    assert reelm("review", "report", "--realm", "eu", "--from", "2026-13-01").exit_code == 2


async def test_the_bad_import_left_the_list_as_it_was(runtime: Runtime) -> None:
    await lists.do_import_hash_list(
        runtime, "eu", name="kept", action="hold", data=f"{OTHER_HASH}\n".encode(), actor=CLI_ACTOR
    )
    with pytest.raises(HashListError) as raised:
        await lists.do_import_hash_list(
            runtime,
            "eu",
            name="kept",
            action="block",
            data=f"{OTHER_HASH}\n{OTHER_HASH[:-1]}\n".encode(),
            actor=CLI_ACTOR,
        )
    assert raised.value.line == 2
    async with runtime.databases.sessionmaker("eu")() as session:
        [stored] = (await session.scalars(select(StoredHashList))).all()
    assert (stored.action, stored.entry_count) == ("hold", 1)
