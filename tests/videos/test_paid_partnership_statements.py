"""A paid partnership (DSA Art. 26) in what review publishes about a decision on the video: the statement of
reasons says so, and so does the Transparency Database record; a video without the label says nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.factories import make_tiny_clip, publish
from tests.moderation.common import API, decide, make_staff, queue, report


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("paid"))


async def test_statements_and_exports_say_when_the_video_is_a_paid_partnership(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "brandpartner")
    reporter = await make_account(client, "watchful")
    paid_id = await publish(client, runtime, creator, clip, caption="sponsored")
    plain_id = await publish(client, runtime, creator, clip, caption="my own")
    labelled = await client.patch(
        f"/api/v1/videos/{paid_id}", headers=creator.auth, json={"paid_partnership": True}
    )
    assert labelled.status_code == 200, labelled.text
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    decisions = {}
    for video_id in (paid_id, plain_id):
        assert (await report(client, reporter, video_id)).status_code == 201
    for case in (await queue(client, reviewer, "us")).json()["items"]:
        decided = await decide(client, reviewer, case["id"])
        assert decided.status_code == 201, decided.text
        decisions[case["content_id"]] = decided.json()["id"]

    paid = await client.get(
        f"{API}/moderation/decisions/{decisions[paid_id]}/statement", headers=creator.auth
    )
    plain = await client.get(
        f"{API}/moderation/decisions/{decisions[plain_id]}/statement", headers=creator.auth
    )
    assert paid.status_code == 200, paid.text
    assert (paid.json()["commercial_communication"], plain.json()["commercial_communication"]) == (
        True,
        False,
    )
    page = await client.get(f"/statements/{decisions[paid_id]}", headers=creator.auth)
    assert "labelled by its creator as a paid partnership" in page.text

    auditor = await make_staff(client, runtime, "audrey", "auditor", "us")
    export = await client.get(f"{API}/moderation/realms/us/transparency-db", headers=auditor.auth)
    assert export.status_code == 200, export.text
    facts = {r["puid"]: r["decision_facts"] for r in export.json()["statements"]}
    assert "paid partnership" in facts[f"reelm-us-{decisions[paid_id]}"]
    assert "paid partnership" not in facts[f"reelm-us-{decisions[plain_id]}"]
