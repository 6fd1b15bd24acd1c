"""The HLS master playlist as it ships: an upload transcoded by a real worker, read back as a player would."""

from __future__ import annotations

import math
import re
from pathlib import Path

import av
import httpx

from reelm.runtime import Runtime
from reelm.videos.models import Rendition
from reelm.videos.transcode import master_playlist
from tests import clips
from tests.conftest import make_account, run_jobs
from tests.factories import upload

ATTRIBUTES = {"BANDWIDTH", "AVERAGE-BANDWIDTH", "RESOLUTION", "CODECS", "FRAME-RATE"}
# RFC 8216 4.2: NAME=value pairs separated by commas, where a quoted value may itself hold commas.
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)')


def variants(master: str) -> list[tuple[dict[str, str], str]]:
    """(attributes, URI) of each EXT-X-STREAM-INF entry, in playlist order."""
    lines = master.splitlines()
    return [
        (dict(_ATTRIBUTE.findall(line.removeprefix("#EXT-X-STREAM-INF:"))), lines[index + 1])
        for index, line in enumerate(lines)
        if line.startswith("#EXT-X-STREAM-INF:")
    ]


def segment_bit_rates(media_playlist: str, sizes: dict[str, int]) -> tuple[int, int]:
    """(peak, average) segment bit rate, as RFC 8216 4.3.4.2 defines BANDWIDTH and AVERAGE-BANDWIDTH."""
    rates, total_bits, total_s = [], 0, 0.0
    lines = media_playlist.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("#EXTINF:"):
            duration_s = float(line.removeprefix("#EXTINF:").split(",")[0])
            bits = 8 * sizes[lines[index + 1]]
            rates.append(math.ceil(bits / duration_s))
            total_bits, total_s = total_bits + bits, total_s + duration_s
    return max(rates), math.ceil(total_bits / total_s)


async def test_stored_master_playlist_lists_every_rung_lowest_first_with_every_attribute(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    # 480x854 gets two rungs, published in two passes: the playlist is rewritten after the second.
    video_id = await upload(client, alice, clips.make_clip(tmp_path, width=480, height=854, duration_s=2.5))
    await run_jobs(runtime, "us")
    video = (await client.get(f"/api/v1/videos/{video_id}")).json()
    assert video["status"] == "ready"
    base = video["hls_url"].removesuffix("master.m3u8")

    master = await client.get(video["hls_url"])
    assert master.status_code == 200
    assert master.text.splitlines()[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    listed = variants(master.text)
    assert [uri for _, uri in listed] == ["360p/hls/index.m3u8", "480p/hls/index.m3u8"]

    for attributes, uri in listed:
        assert set(attributes) == ATTRIBUTES
        rung = uri.split("/")[0]
        mp4 = tmp_path / f"{rung}.mp4"
        mp4.write_bytes((await client.get(f"{base}{rung}/video.mp4")).content)
        with av.open(str(mp4)) as container:
            stream = container.streams.video[0]
            frame = next(container.decode(stream))
            level = stream.codec_context.level
            has_audio = bool(container.streams.audio)
        assert attributes["RESOLUTION"] == f"{frame.width}x{frame.height}"
        # High profile (0x64) at the level x264 chose, and AAC-LC since the source has sound.
        assert re.fullmatch(rf'"avc1\.64[0-9a-f]{{2}}{level:02x},mp4a\.40\.2"', attributes["CODECS"])
        assert has_audio
        assert attributes["FRAME-RATE"] == f"{clips.FRAME_RATE:.3f}"

        media_playlist = (await client.get(base + uri)).text
        hls_dir = base + uri.removesuffix("index.m3u8")
        sizes = {
            name: len((await client.get(hls_dir + name)).content)
            for name in media_playlist.splitlines()
            if name.endswith(".m4s")
        }
        peak, average = segment_bit_rates(media_playlist, sizes)
        assert (int(attributes["BANDWIDTH"]), int(attributes["AVERAGE-BANDWIDTH"])) == (peak, average)


def test_rungs_are_listed_lowest_first_whatever_order_they_were_recorded_in() -> None:
    def row(name: str, width: int, height: int) -> Rendition:
        return Rendition(
            name=name,
            width=width,
            height=height,
            bandwidth=width * 1000,
            average_bandwidth=width * 900,
            codecs="avc1.64001f,mp4a.40.2",
        )

    recorded = [
        row("720p", 720, 1280),
        row("360p", 360, 640),
        row("1080p", 1080, 1920),
        row("480p", 480, 854),
    ]
    listed = variants(master_playlist(recorded, 30000 / 1001))
    lowest_first = ("360p", "480p", "720p", "1080p")
    assert [uri for _, uri in listed] == [f"{name}/hls/index.m3u8" for name in lowest_first]
    assert [attributes["FRAME-RATE"] for attributes, _ in listed] == ["29.970"] * 4
