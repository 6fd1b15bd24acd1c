"""Captions through the JSON API: WebVTT or SRT per language, checked (a broken file is refused naming its
line), kept as WebVTT, served as files, as HLS subtitle renditions in the master playlist, edited with new
addresses, removed; only the creator may change them; their words meet the realm's caption rules."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from reelm.videos.models import Rendition, SubtitleTrack
from reelm.videos.subtitle_files import MAX_BYTES
from reelm.videos.subtitles import with_subtitles
from reelm.videos.transcode import master_playlist
from tests.conftest import Account, make_account
from tests.factories import assert_problem, make_tiny_clip, publish, upload
from tests.moderation.common import API, make_staff

SRT = b"""1
00:00:00,100 --> 00:00:00,600
<i>Hello</i> & welcome

2
00:00:00,700 --> 00:00:00,950
Second line
"""
BROKEN_SRT = b"""1
00:00:00,100 --> 00:00:00,600
Fine

2
00:00:00.700 -> 00:00:00.950
Broken arrow
"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("captions"))


async def put(
    client: httpx.AsyncClient,
    account: Account,
    video_id: str,
    language: str,
    data: bytes,
    name: str = "c.srt",
) -> httpx.Response:
    return await client.put(
        f"/api/v1/videos/{video_id}/subtitles/{language}",
        headers=account.auth,
        files={"file": (name, data, "application/octet-stream")},
    )


async def media(client: httpx.AsyncClient, url: str) -> httpx.Response:
    got = await client.get(url)
    assert got.status_code == 200, (url, got.text)
    return got


async def test_an_srt_file_becomes_webvtt_served_as_file_and_hls_rendition(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "captioner")
    video_id = await publish(client, runtime, creator, clip)
    put_en = await put(client, creator, video_id, "en", SRT)
    assert put_en.status_code == 200, put_en.text
    track = put_en.json()
    assert (track["language"], track["label"]) == ("en", "English")

    vtt = await media(client, track["url"])
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text == (
        "WEBVTT\n\n00:00:00.100 --> 00:00:00.600\nHello &amp; welcome\n\n"
        "00:00:00.700 --> 00:00:00.950\nSecond line\n"
    )
    playlist = (await media(client, track["playlist_url"])).text
    assert "#EXT-X-ENDLIST" in playlist
    assert track["url"].rsplit("/", 1)[1] in playlist
    master = (await media(client, f"/media/us/videos/{video_id}/master.m3u8")).text
    assert 'TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en"' in master
    assert 'URI="subtitles/en/1.m3u8"' in master
    variants = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF:")]
    assert variants
    assert all(line.endswith(',SUBTITLES="subs"') for line in variants)

    listed = await client.get(f"/api/v1/videos/{video_id}/subtitles")
    assert [t["language"] for t in listed.json()["items"]] == ["en"]
    page = await client.get(f"/v/{video_id}")
    assert f'src="{track["url"]}" srclang="en" label="English"' in page.text  # the page's MP4 player

    # Edited: a new revision at a new address, which the master playlist now names; the old one stays valid.
    edited = await put(
        client, creator, video_id, "en", b"WEBVTT\n\n00:00.100 --> 00:00.900\nHi again\n", "c.vtt"
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["url"] != track["url"]
    master = (await media(client, f"/media/us/videos/{video_id}/master.m3u8")).text
    assert 'URI="subtitles/en/2.m3u8"' in master
    assert "subtitles/en/1.m3u8" not in master
    text = (await client.get(f"/api/v1/videos/{video_id}/subtitles/en")).json()
    assert text["webvtt"] == "WEBVTT\n\n00:00:00.100 --> 00:00:00.900\nHi again\n"

    # A second language, then the first removed: the master playlist follows.
    assert (await put(client, creator, video_id, "pt-BR", SRT)).json()["label"] == "Português (Brasil)"
    removed = await client.delete(f"/api/v1/videos/{video_id}/subtitles/en", headers=creator.auth)
    assert removed.status_code == 204
    master = (await media(client, f"/media/us/videos/{video_id}/master.m3u8")).text
    assert 'LANGUAGE="pt-BR"' in master
    assert 'LANGUAGE="en"' not in master
    assert_problem(await client.get(f"/api/v1/videos/{video_id}/subtitles/en"), 404, "not-found")


async def test_a_broken_file_is_refused_naming_its_line(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "sloppy")
    video_id = await publish(client, runtime, creator, clip)

    broken = await put(client, creator, video_id, "en", BROKEN_SRT)
    body = assert_problem(broken, 422, "subtitles-invalid")
    assert body["line"] == 6  # the second cue's timing, with "->" for "-->"
    assert body["detail"].startswith("Line 6: expected a timing")
    not_utf8 = await put(client, creator, video_id, "en", b"1\n00:00:00,100 --> 00:00:00,600\n\xff\xfe bad\n")
    assert assert_problem(not_utf8, 422, "subtitles-invalid")["line"] == 3
    backwards = await put(client, creator, video_id, "en", b"WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nx\n")
    assert "ends before it starts" in assert_problem(backwards, 422, "subtitles-invalid")["detail"]
    no_header = await put(client, creator, video_id, "en", b"WEBVTT\n00:00:01.000 --> 00:00:02.000\nx\n")
    assert assert_problem(no_header, 422, "subtitles-invalid")["line"] == 2
    too_big = await put(client, creator, video_id, "en", b"x" * (MAX_BYTES + 1))
    assert "larger than" in assert_problem(too_big, 422, "subtitles-invalid")["detail"]
    empty = await put(client, creator, video_id, "en", b"WEBVTT\n")
    assert "no cues" in assert_problem(empty, 422, "subtitles-invalid")["detail"]
    unknown = await put(client, creator, video_id, "qq", SRT)
    assert_problem(unknown, 422, "unknown-language")
    malformed = await put(client, creator, video_id, "EN_us", SRT)
    assert_problem(malformed, 404, "not-found")  # a path segment that breaks its pattern names nothing
    # Nothing was stored by any of them.
    assert (await client.get(f"/api/v1/videos/{video_id}/subtitles")).json()["items"] == []


async def test_only_the_creator_changes_captions(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "subowner")
    other = await make_account(client, "subother")
    public_id = await publish(client, runtime, creator, clip)
    private_id = await publish(client, runtime, creator, clip, visibility="private")
    processing_id = await upload(client, creator, clip)

    assert_problem(await put(client, other, public_id, "en", SRT), 403, "forbidden")
    assert_problem(await put(client, other, private_id, "en", SRT), 404, "not-found")
    assert (await put(client, creator, public_id, "en", SRT)).status_code == 200
    deleted = await client.delete(f"/api/v1/videos/{public_id}/subtitles/en", headers=other.auth)
    assert_problem(deleted, 403, "forbidden")
    assert_problem(
        await client.get(f"/api/v1/videos/{private_id}/subtitles", headers=other.auth), 404, "not-found"
    )
    anonymous = await client.put(
        f"/api/v1/videos/{public_id}/subtitles/de", files={"file": ("c.srt", SRT, "application/octet-stream")}
    )
    assert anonymous.status_code == 401
    assert_problem(await put(client, creator, processing_id, "en", SRT), 409, "video-processing")


async def test_caption_words_meet_the_caption_rules(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    operator = await make_staff(client, runtime, "otto", "operator", "us")
    rule = {
        "name": "scam",
        "scope": "caption",
        "kind": "term",
        "value": "free money",
        "action": "hold",
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    }
    created = await client.post(f"{API}/moderation/realms/us/rules", headers=operator.auth, json=rule)
    assert created.status_code == 201, created.text
    creator = await make_account(client, "spammer")
    video_id = await publish(client, runtime, creator, clip, caption="a calm walk")
    clean = await put(client, creator, video_id, "en", SRT)
    assert clean.status_code == 200
    assert (await client.get(f"/api/v1/videos/{video_id}")).json()["status"] == "ready"

    scam = b"1\n00:00:00,100 --> 00:00:00,600\nGet FREE money now\n"
    assert (await put(client, creator, video_id, "es", scam)).status_code == 200
    assert (await client.get(f"/api/v1/videos/{video_id}", headers=creator.auth)).json()["status"] == "held"
    assert_problem(await client.get(f"/api/v1/videos/{video_id}"), 404, "not-found")


def test_the_master_playlist_keeps_its_variants_with_or_without_tracks() -> None:
    rungs = [
        Rendition(
            name="360p",
            width=360,
            height=640,
            bandwidth=1,
            average_bandwidth=1,
            codecs="avc1.64001e",
            mp4_key="k",
            hls_key="h",
            size_bytes=1,
        )
    ]
    plain = master_playlist(rungs, 30.0)
    track = SubtitleTrack(
        video_id=1, language="de", label='Deutsch "x"', revision=3, webvtt="", plain_text=""
    )
    listed = with_subtitles(plain, [track])
    assert listed.index("#EXT-X-MEDIA:") < listed.index("#EXT-X-STREAM-INF:")
    assert 'NAME="Deutsch x"' in listed  # no quote can end the attribute early
    assert with_subtitles(listed, [track]) == listed  # idempotent: rewriting never duplicates
    assert with_subtitles(listed, []) == plain
