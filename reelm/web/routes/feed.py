"""JSON API for the For You and Following feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from reelm.feed.schemas import FeedItemOut, FeedPageOut
from reelm.feed.service import MAX_REMEMBERED, FollowingItem, following_page
from reelm.realms.models import Capability
from reelm.recommend.candidates import FeedMode, FeedRanker, FeedRequest
from reelm.web.capabilities import require_capability
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import FeedCursor
from reelm.web.routes.demo import still_preparing

router = APIRouter(tags=["feed"])

Cursor = FeedCursor
Limit = Annotated[int, Query(ge=1, le=30)]
# The non-personalised switch (DSA Art. 38): regional popular or latest, never using the viewer's profile.
Mode = Annotated[FeedMode, Query()]


def get_ranker(request: Request) -> FeedRanker:
    ranker: FeedRanker = request.app.state.ranker
    return ranker


def _encode_seen(seen: list[int]) -> str:
    return ",".join(format(i, "x") for i in seen[-MAX_REMEMBERED:])


def _decode_seen(text: str) -> list[int]:
    return [int(part, 16) for part in text.split(",") if part]


def json_response(page: FeedPageOut) -> Response:
    """Serialise the page once: returning the model would make FastAPI validate every item again."""
    return Response(page.model_dump_json(), media_type="application/json")


# The feeds show the viewer's realm, so its `watch` switch decides.
@router.get("/feed/for-you", response_model=FeedPageOut, dependencies=[require_capability(Capability.WATCH)])
async def for_you(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    request: Request,
    cursor: Cursor = None,
    limit: Limit = 10,
    mode: Mode = "for_you",
) -> Response:
    """Ranked videos of the viewer's realm; follow `next_cursor` to continue the same scroll.

    `mode=popular` or `mode=latest` gives a feed that is not personalised; `personalized` in the page says
    whether the viewer's profile chose any of its items."""
    secret = runtime.settings.secret_key
    seen = _decode_seen(decode_cursor(secret, cursor, "for_you")["seen"]) if cursor else []
    feed_request = FeedRequest(
        viewer=viewer,
        realm=viewer.realm,
        realm_title=runtime.settings.realm(viewer.realm).title,
        exclude=set(seen),
        limit=limit,
        base_url=runtime.settings.base_url,
        mode=mode,
    )
    async with runtime.databases.transaction(viewer.realm) as session:
        candidates = await get_ranker(request).rank(session, feed_request)
    items = [
        FeedItemOut.model_construct(  # fields already valid
            **dict(c.video), source=c.source, reason=c.reason, reasons=list(c.reasons or (c.reason,))
        )
        for c in candidates
    ]
    seen.extend(int(c.video.id) for c in candidates)
    next_cursor = encode_cursor(secret, "for_you", {"seen": _encode_seen(seen)}) if items else None
    personalized = mode == "for_you" and any(c.personalized for c in candidates)
    # A fresh demo's realm is empty until its videos are transcoded: say so rather than "nothing posted".
    preparing = await still_preparing(runtime) if not items and cursor is None else None
    return json_response(
        FeedPageOut(items=items, next_cursor=next_cursor, personalized=personalized, preparing=preparing)
    )


@router.get(
    "/feed/following", response_model=FeedPageOut, dependencies=[require_capability(Capability.WATCH)]
)
async def following(
    runtime: RuntimeDep, viewer: UserViewer, cursor: Cursor = None, limit: Limit = 10
) -> Response:
    """Newest videos of the creators the viewer follows."""
    before = None
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, "following")
        before = (datetime.fromisoformat(state["at"]), int(state["id"]))
    async with runtime.databases.transaction(viewer.realm) as session:
        videos = await following_page(
            session, viewer, before=before, limit=limit + 1, base_url=runtime.settings.base_url
        )
    items = [_following_item(v) for v in videos[:limit]]
    next_cursor = None
    if len(videos) > limit:
        last = videos[limit - 1]
        next_cursor = encode_cursor(
            runtime.settings.secret_key, "following", {"at": last.at.isoformat(), "id": last.video.id}
        )
    return json_response(FeedPageOut(items=items, next_cursor=next_cursor, personalized=False))


def _following_item(item: FollowingItem) -> FeedItemOut:
    if item.reposted_by is not None:
        reason = f"Reposted by @{item.reposted_by}, whom you follow"
        return FeedItemOut.model_construct(
            **dict(item.video),
            source="repost",
            reason=reason,
            reasons=[reason],
            reposted_by=item.reposted_by,
        )
    return FeedItemOut.model_construct(
        **dict(item.video),
        source="following",
        reason="From an account you follow",
        reasons=["From an account you follow"],
        reposted_by=None,
    )
