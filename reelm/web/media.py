"""Media from the realm's object store, with HTTP Range requests, ETags and cache headers.

In production a CDN or the bucket serves these paths; in embedded mode this route does.
"""

from __future__ import annotations

import re
from email.utils import format_datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from reelm.errors import Problem, not_found
from reelm.realms.models import Capability
from reelm.sounds.catalogue import playable
from reelm.storage import ObjectMissingError
from reelm.videos.models import VideoStatus, Visibility
from reelm.videos.service import access_video
from reelm.web.capabilities import check_capability
from reelm.web.deps import RuntimeDep, ViewerDep

router = APIRouter(include_in_schema=False)

# Only what may be public: renditions, HLS parts, posters, master playlists, avatars and sounds' audio. The
# original upload is protected and never matches.
# ASCII digits only ([0-9], not \d, which takes every script's digits).
_SERVABLE = re.compile(
    r"^videos/(?P<video>[0-9]{1,19})/(?:poster\.jpg|master\.m3u8|[0-9]{3,4}p/video\.mp4"
    r"|[0-9]{3,4}p/hls/(?:index\.m3u8|init\.mp4|seg_[0-9]{1,6}\.m4s)"
    r"|subtitles/[A-Za-z0-9-]{2,16}/[0-9]{1,9}\.(?:vtt|m3u8)|covers/[0-9]{1,19}\.jpg)"
    r"|avatars/[0-9]{1,19}/[0-9]{1,19}\.jpg"
    r"|sounds/(?P<sound>[0-9]{1,19})/audio\.m4a$"
)
# Renditions, segments, posters and caption files never change once written (new content gets new keys),
# except the master playlist, which gains rungs while the video is finishing (and caption tracks).
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "public, max-age=5, must-revalidate"


def _cache_control(key: str, *, public: bool) -> str:
    if not public:
        return "private, no-store"
    return _REVALIDATE if key.endswith("master.m3u8") else _IMMUTABLE


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single-range `bytes=` header, or None when it cannot be satisfied."""
    match = re.fullmatch(r"bytes=([0-9]*)-([0-9]*)", header.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if not match[1]:  # suffix range: the last N bytes
        length = int(match[2])
        return (max(0, size - length), size) if length > 0 else None
    start = int(match[1])
    end = min(int(match[2]) + 1, size) if match[2] else size
    return (start, end) if start < end and start < size else None


@router.api_route("/media/{realm}/{key:path}", methods=["GET", "HEAD"])
async def serve_media(
    runtime: RuntimeDep, viewer: ViewerDep, request: Request, realm: str, key: str
) -> Response:
    servable = _SERVABLE.fullmatch(key)
    if realm not in runtime.databases.realm_urls or servable is None:
        raise not_found("File")
    public = True
    if servable["video"] is not None:
        check_capability(request, realm, Capability.WATCH, viewer.user_id)  # the content's realm decides
        # Media of private or unpublished videos is for their creator only, as in the API.
        async with runtime.databases.read(realm) as session:
            video = await access_video(session, viewer, int(servable["video"]))
            public = video.visibility == Visibility.PUBLIC and video.status == VideoStatus.READY
            public = public and not video.age_restricted  # no shared cache may hand it to a visitor
    if servable["sound"] is not None:
        check_capability(request, realm, Capability.WATCH, viewer.user_id)
        # A sound plays while it is public and available: taken down, its audio is withheld (reelm.sounds).
        async with runtime.databases.read(realm) as session:
            if not await playable(session, int(servable["sound"])):
                raise not_found("File")
    store = runtime.storage.realm(realm)
    try:
        info = await store.head(key)
    except ObjectMissingError:
        raise not_found("File") from None
    etag = f'"{info.etag}"'
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(info.last_modified, usegmt=True),
        "Cache-Control": _cache_control(key, public=public),
        "Accept-Ranges": "bytes",
    }
    if public:  # players on other sites may fetch public renditions (HLS needs CORS); nothing else
        headers["Access-Control-Allow-Origin"] = "*"
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    start, end, status = 0, info.size, 200
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if range_header and (if_range is None or if_range == etag):
        parsed = _parse_range(range_header, info.size)
        if parsed is None:
            raise Problem(
                416,
                "range",
                "Range not satisfiable",
                "The requested range is outside the file.",
                headers={"Content-Range": f"bytes */{info.size}"},
            )
        (start, end), status = parsed, 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=info.content_type)
    return StreamingResponse(
        store.stream(key, start, end), status_code=status, headers=headers, media_type=info.content_type
    )
