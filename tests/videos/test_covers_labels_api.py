"""Covers and labels through the JSON API: the cover from a chosen frame (taken by ffmpeg from the best
rendition) or from an uploaded image (checked by decoding, re-encoded), its text alternative; the creator's
labels (AI-generated, paid partnership) set at upload or later, shown on cards in the video's realm and in
other realms through the projection; only the creator may change them. A published caption's edits are kept
and shown."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
import pytest

from reelm import ffmpeg
from reelm.runtime import Runtime
from tests.clips import make_clip
from tests.conftest import make_account, run_jobs
from tests.factories import assert_problem, eventually, publish, upload


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Two seconds, so that the frame at 1.5 s differs from the poster taken near the start.
    return make_clip(tmp_path_factory.mktemp("covers"), width=144, height=256, duration_s=2.0, audio=False)


def jpeg_size(data: bytes, tmp_path: Path) -> tuple[int, int]:
    path = tmp_path / "got.jpg"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "mjpeg"
        return stream.codec_context.width, stream.codec_context.height


async def test_a_cover_from_a_frame_or_an_image_with_its_alt_text(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, tmp_path: Path
) -> None:
    creator = await make_account(client, "coverer")
    video_id = await publish(client, runtime, creator, clip)
    url = f"/api/v1/videos/{video_id}/cover"
    before = (await client.get(f"/api/v1/videos/{video_id}")).json()["poster_url"]

    framed = await client.put(url, headers=creator.auth, data={"at_s": "1.5", "alt": "A dancer mid-jump"})
    assert framed.status_code == 200, framed.text
    card = framed.json()
    assert card["poster_url"] != before
    assert "/covers/" in card["poster_url"]
    assert card["cover_alt"] == "A dancer mid-jump"
    cover = await client.get(card["poster_url"])
    assert cover.status_code == 200
    assert cover.headers["content-type"] == "image/jpeg"
    assert jpeg_size(cover.content, tmp_path) == (144, 256)  # the rendition's frame, its own size

    # An uploaded image: decoded, re-encoded to fit 1080 x 1920.
    image = tmp_path / "cover.png"
    made = ffmpeg.run_sync(
        ["-f", "lavfi", "-i", "color=c=orange:s=1200x2400", "-frames:v", "1", str(image)], timeout_s=30
    )
    assert made.returncode == 0
    uploaded = await client.put(
        url, headers=creator.auth, files={"file": ("cover.png", image.read_bytes(), "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["poster_url"] != card["poster_url"]
    assert uploaded.json()["cover_alt"] == "A dancer mid-jump"  # kept when not given
    got = await client.get(uploaded.json()["poster_url"])
    assert jpeg_size(got.content, tmp_path) == (960, 1920)

    # The alt text alone; an empty one (PATCH, JSON) removes it.
    alone = await client.put(url, headers=creator.auth, data={"alt": "Orange, as a placeholder"})
    assert alone.json()["cover_alt"] == "Orange, as a placeholder"
    removed = await client.patch(f"/api/v1/videos/{video_id}", headers=creator.auth, json={"cover_alt": ""})
    assert removed.json()["cover_alt"] is None


async def test_bad_covers_are_refused(client: httpx.AsyncClient, runtime: Runtime, clip: Path) -> None:
    creator = await make_account(client, "badcover")
    other = await make_account(client, "coverthief")
    video_id = await publish(client, runtime, creator, clip)
    processing_id = await upload(client, creator, clip)
    url = f"/api/v1/videos/{video_id}/cover"

    assert_problem(await client.put(url, headers=creator.auth, data={"at_s": "9"}), 422, "invalid-request")
    assert_problem(await client.put(url, headers=creator.auth, data={"at_s": "-1"}), 422, "invalid-request")
    not_image = {"file": ("x.png", b"not an image at all", "image/png")}
    assert_problem(await client.put(url, headers=creator.auth, files=not_image), 422, "image-rejected")
    both = await client.put(url, headers=creator.auth, data={"at_s": "0.5"}, files=not_image)
    assert_problem(both, 422, "invalid-request")
    long_alt = await client.put(url, headers=creator.auth, data={"alt": "x" * 251})
    assert_problem(long_alt, 422, "invalid-request")
    assert_problem(await client.put(url, headers=other.auth, data={"at_s": "0.5"}), 403, "forbidden")
    processing = await client.put(
        f"/api/v1/videos/{processing_id}/cover", headers=creator.auth, data={"at_s": "0.5"}
    )
    assert_problem(processing, 409, "video-processing")


async def test_labels_are_set_by_the_creator_and_shown_in_every_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "labeller")
    other = await make_account(client, "labelviewer")
    european = await make_account(client, "eulabelviewer", country="DE")
    with clip.open("rb") as f:
        accepted = await client.post(
            "/api/v1/videos",
            headers=creator.auth,
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"paid_partnership": "true"},
        )
    assert accepted.status_code == 202, accepted.text
    video_id = accepted.json()["id"]
    await run_jobs(runtime, creator.realm)
    card = (await client.get(f"/api/v1/videos/{video_id}", headers=other.auth)).json()
    assert (card["paid_partnership"], card["ai_generated"]) == (True, False)

    edited = await client.patch(
        f"/api/v1/videos/{video_id}", headers=creator.auth, json={"ai_generated": True}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["paid_partnership"], edited.json()["ai_generated"]) == (True, True)
    refused = await client.patch(
        f"/api/v1/videos/{video_id}", headers=other.auth, json={"ai_generated": False}
    )
    assert_problem(refused, 403, "forbidden")
    listed = (await client.get(f"/api/v1/users/{creator.handle}/videos", headers=other.auth)).json()["items"]
    assert [(v["id"], v["ai_generated"], v["paid_partnership"]) for v in listed] == [(video_id, True, True)]
    page = await client.get(f"/v/{video_id}")
    assert "Paid partnership" in page.text

    # Another realm reads the video from its projection, labels included.
    async def labelled_there() -> bool:
        got = await client.get(f"/api/v1/videos/{video_id}", headers=european.auth)
        return got.status_code == 200 and got.json()["ai_generated"] is True

    await eventually(labelled_there)
    there = (await client.get(f"/api/v1/videos/{video_id}", headers=european.auth)).json()
    assert there["paid_partnership"] is True


async def test_caption_edits_keep_their_history(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "historian")
    viewer = await make_account(client, "reader")
    video_id = await publish(client, runtime, creator, clip, caption="first words")
    url = f"/api/v1/videos/{video_id}"
    unedited = (await client.get(url, headers=viewer.auth)).json()
    assert unedited["caption_edited_at"] is None

    for caption in ("second words", "third words"):
        edited = await client.patch(url, headers=creator.auth, json={"caption": caption})
        assert edited.status_code == 200, edited.text
    # Changing something else is no caption edit.
    await client.patch(url, headers=creator.auth, json={"ai_generated": True})
    history = await client.get(f"{url}/caption-history", headers=viewer.auth)
    assert history.status_code == 200, history.text
    assert history.json()["caption"] == "third words"
    assert [e["caption"] for e in history.json()["edits"]] == ["second words", "first words"]
    assert (await client.get(url, headers=viewer.auth)).json()["caption_edited_at"] is not None
    page = await client.get(f"/v/{video_id}/caption-history")
    assert page.status_code == 200
    assert page.text.index("third words") < page.text.index("second words") < page.text.index("first words")

    # Edits before the video is out are not history; a private video's history is its creator's.
    draft_id = await upload(client, creator, clip)
    await client.patch(f"/api/v1/videos/{draft_id}", headers=creator.auth, json={"caption": "changed early"})
    early = await client.get(f"/api/v1/videos/{draft_id}/caption-history", headers=creator.auth)
    assert early.json()["edits"] == []
    private_id = await publish(client, runtime, creator, clip, visibility="private")
    hidden = await client.get(f"/api/v1/videos/{private_id}/caption-history", headers=viewer.auth)
    assert_problem(hidden, 404, "not-found")
