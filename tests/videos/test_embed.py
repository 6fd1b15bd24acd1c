"""Embedding: /embed/{id} shows a public video in other sites' frames where its creator allows it, as an
anonymous visitor sees it, and says why not otherwise; the video page gives the code to paste."""

from __future__ import annotations

import html
from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.factories import make_tiny_clip, publish


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("embed"))


def frameable_by_anyone(response: httpx.Response) -> bool:
    return "frame-ancestors *" in response.headers["content-security-policy"]


async def test_an_embeddable_video_plays_in_any_frame_without_scripts(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    ada = await make_account(client, "ada")
    video_id = await publish(client, runtime, ada, clip, caption="waves <b>at dawn</b>")
    card = (await client.get(f"/api/v1/videos/{video_id}")).json()

    embedded = await client.get(f"/embed/{video_id}")
    assert embedded.status_code == 200
    assert frameable_by_anyone(embedded)
    assert "<script" not in embedded.text
    assert f'src="{card["mp4_url"]}"' in embedded.text
    assert f'/v/{video_id}" target="_blank" rel="noopener"' in embedded.text
    assert "waves &lt;b&gt;at dawn&lt;/b&gt;" in embedded.text  # the caption escaped

    # Its page is not frameable, and offers the code that frames the embed page.
    page = await client.get(f"/v/{video_id}")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert f'<iframe src="{runtime.settings.base_url.rstrip("/")}/embed/{video_id}"' in html.unescape(
        page.text
    )
    assert "<iframe" not in page.text  # shown as text, not framed


async def test_a_video_its_creator_keeps_off_other_sites_or_private_is_refused_in_the_frame(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    ada = await make_account(client, "ada")
    kept = await publish(client, runtime, ada, clip)
    edited = await client.patch(f"/api/v1/videos/{kept}", headers=ada.auth, json={"allow_embed": False})
    assert edited.status_code == 200, edited.text
    private = await publish(client, runtime, ada, clip, visibility="private")

    refused = await client.get(f"/embed/{kept}")
    assert refused.status_code == 403
    assert frameable_by_anyone(refused)  # the frame shows why, rather than the browser's blank refusal
    assert "allow it to be shown on other sites" in html.unescape(refused.text)
    assert "<video" not in refused.text
    assert 'data-testid="embed-code"' not in (await client.get(f"/v/{kept}", headers=ada.auth)).text

    # A private video is unknown to the frame, even with its creator's credentials: it renders for a visitor.
    for headers in ({}, ada.auth):
        hidden = await client.get(f"/embed/{private}", headers=headers)
        assert hidden.status_code == 404
        assert "isn't available" in html.unescape(hidden.text)
        assert "<video" not in hidden.text
    assert (await client.get("/embed/123456789")).status_code == 404
    assert (await client.get("/embed/not-an-id")).status_code == 404
