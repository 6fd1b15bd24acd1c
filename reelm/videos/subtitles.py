"""A video's captions, one track per language: stored as WebVTT in the database and in the realm's bucket,
listed in the video's HLS master playlist as subtitle renditions, and given to the page player as <track>s.

Files are named by the track's revision (`videos/{id}/subtitles/{lang}/{rev}.vtt`), so an edited track gets
new addresses: renditions and their playlists are cached as immutable (reelm.web.media), and only the master
playlist, which is revalidated, changes. The master playlist is rewritten in the transaction that changes the
tracks, the video's row locked, as the transcode's publisher does when it adds rungs (it keeps the tracks).
"""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime

from babel import Locale, UnknownLocaleError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.errors import Problem, not_found
from reelm.storage import ObjectMissingError, RealmStore
from reelm.videos.models import SubtitleTrack, Video, VideoStatus
from reelm.videos.schemas import SubtitleOut
from reelm.videos.subtitle_files import SubtitleFileError, plain_text, read_cues, to_webvtt

MAX_TRACKS = 20  # languages per video
GROUP = "subs"  # the HLS rendition group of every track


def language_label(language: str) -> str:
    """The language's name in itself ("Deutsch", "português (Brasil)"); 422 for a tag no locale has."""
    try:
        locale = Locale.parse(language, sep="-")
        # babel fills in likely subtags ("und" reads as en_US): a tag must name its own language.
        own = locale.language == language.partition("-")[0]
        name = locale.get_display_name() if own else None
    except (UnknownLocaleError, ValueError, KeyError):
        name = None
    if not name:
        raise Problem(
            422,
            "unknown-language",
            "Unknown language",
            f"language: {language} is not a language we know",
            errors=[{"field": "language", "message": "is not a known language tag (such as en or pt-BR)"}],
        )
    return name[:1].upper() + name[1:]


def check_file(data: bytes) -> tuple[str, str]:
    """The WebVTT and the plain words of an uploaded WebVTT or SRT file; a 422 naming the line otherwise."""
    try:
        cues = read_cues(data)
    except SubtitleFileError as exc:
        raise Problem(
            422,
            "subtitles-invalid",
            "The caption file cannot be read",
            f"Line {exc.line}: {exc.message}.",
            line=exc.line,
            errors=[{"field": "file", "message": str(exc)}],
        ) from None
    return to_webvtt(cues), plain_text(cues)


def _prefix(video_id: int, language: str) -> str:
    return f"videos/{video_id}/subtitles/{language}"


def media_playlist(duration_s: float, revision: int) -> str:
    """A one-segment HLS subtitle playlist over the whole video (RFC 8216 allows WebVTT segments)."""
    length = max(duration_s, 0.001)
    return "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{math.ceil(length)}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            f"#EXTINF:{length:.3f},",
            f"{revision}.vtt",
            "#EXT-X-ENDLIST",
            "",
        ]
    )


def with_subtitles(master: str, tracks: list[SubtitleTrack]) -> str:
    """The master playlist with these subtitle renditions (and no others): one EXT-X-MEDIA per track before
    the variants, and every variant naming the group (RFC 8216 4.3.4.1 and 4.3.4.2)."""
    lines = [line for line in master.splitlines() if not line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]
    suffix = f',SUBTITLES="{GROUP}"'
    lines = [line.removesuffix(suffix) if line.startswith("#EXT-X-STREAM-INF:") else line for line in lines]
    if tracks:
        first_variant = next(
            (i for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")), len(lines)
        )
        media = [
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{GROUP}",NAME="{t.label.replace(chr(34), "")}",'
            f'LANGUAGE="{t.language}",DEFAULT=NO,AUTOSELECT=YES,'
            f'URI="subtitles/{t.language}/{t.revision}.m3u8"'
            for t in tracks
        ]
        lines[first_variant:first_variant] = media
        lines = [line + suffix if line.startswith("#EXT-X-STREAM-INF:") else line for line in lines]
    return "\n".join(lines) + "\n"


async def tracks_of(session: AsyncSession, video_id: int) -> list[SubtitleTrack]:
    query = select(SubtitleTrack).where(SubtitleTrack.video_id == video_id).order_by(SubtitleTrack.language)
    return list(await session.scalars(query))


async def _rewrite_master(session: AsyncSession, store: RealmStore, video: Video) -> None:
    key = f"videos/{video.id}/master.m3u8"
    try:
        master = (await store.read(key)).decode()
    except ObjectMissingError:  # no rung published yet: the publisher writes it with the tracks
        return
    await store.put_bytes(key, with_subtitles(master, await tracks_of(session, video.id)).encode())


def check_editable(video: Video) -> None:
    if video.status == VideoStatus.PROCESSING:
        raise Problem(
            409, "video-processing", "Still processing", "Add captions once the video is processed."
        )


async def do_put_track(
    session: AsyncSession, store: RealmStore, video: Video, language: str, data: bytes
) -> SubtitleTrack:
    """Add or replace the captions of one language (the caller holds the video's row lock)."""
    check_editable(video)
    label = language_label(language)
    webvtt, words = check_file(data)
    track = await session.get(SubtitleTrack, (video.id, language))
    if track is None:
        count = await session.scalar(
            select(func.count()).select_from(SubtitleTrack).where(SubtitleTrack.video_id == video.id)
        )
        if (count or 0) >= MAX_TRACKS:
            raise Problem(
                409,
                "too-many-languages",
                "Too many languages",
                f"A video has captions in {MAX_TRACKS} at most.",
            )
        track = SubtitleTrack(video_id=video.id, language=language, revision=0)
        session.add(track)
    track.label = label
    track.revision += 1
    track.webvtt, track.plain_text = webvtt, words
    track.updated_at = datetime.now(UTC)
    await session.flush()  # the master playlist lists the new revision
    prefix = _prefix(video.id, language)
    # Written inside the transaction: if storage fails, the new revision is not recorded either. The
    # previous revision's files stay until the video goes (players may be reading them now).
    await store.put_bytes(f"{prefix}/{track.revision}.vtt", webvtt.encode())
    await store.put_bytes(
        f"{prefix}/{track.revision}.m3u8", media_playlist(video.duration_s or 0.0, track.revision).encode()
    )
    await _rewrite_master(session, store, video)
    return track


async def do_delete_track(session: AsyncSession, store: RealmStore, video: Video, language: str) -> None:
    deleted = await session.execute(
        delete(SubtitleTrack)
        .where(SubtitleTrack.video_id == video.id, SubtitleTrack.language == language)
        .returning(SubtitleTrack.language)
    )
    if deleted.first() is None:
        raise not_found("Captions")
    await _rewrite_master(session, store, video)
    with contextlib.suppress(OSError):  # unreferenced files are harmless; the video's deletion takes them
        await store.delete_prefix(_prefix(video.id, language) + "/")


async def access_track(session: AsyncSession, video: Video, language: str) -> SubtitleTrack:
    track = await session.get(SubtitleTrack, (video.id, language))
    if track is None:
        raise not_found("Captions")
    return track


def track_out(realm: str, track: SubtitleTrack) -> SubtitleOut:
    prefix = f"/media/{realm}/{_prefix(track.video_id, track.language)}"
    return SubtitleOut(
        language=track.language,
        label=track.label,
        url=f"{prefix}/{track.revision}.vtt",
        playlist_url=f"{prefix}/{track.revision}.m3u8",
        updated_at=track.updated_at,
    )
