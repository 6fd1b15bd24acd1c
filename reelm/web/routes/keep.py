"""JSON API for what a viewer keeps and shares, and what they choose not to see: favourites and their
collections, reposts, the profile's Favourites, Reposts and Liked tabs, mutes and keyword filters; and
creators' comment controls (held comments, account age, the pinned comment)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, StrictBool
from sqlalchemy import Select, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from reelm import ids
from reelm.accounts.service import resolve_handle
from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.crossrealm.service import reader_realm
from reelm.crossrealm.views import public_videos
from reelm.errors import Problem, not_found
from reelm.ids import MAX_ID
from reelm.inputs import TAG_PATTERN, Line
from reelm.notifications.service import people_out
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.social import comment_controls, favourites, mutes, reposts
from reelm.social.cards import fetch_cards, public_card_select
from reelm.social.models import FavouriteKind, KeywordFilter, ProfileTabs, VideoLike
from reelm.social.schemas import (
    CollectionIn,
    CollectionList,
    CollectionOut,
    CollectionPatch,
    CommentControlsIn,
    CommentControlsOut,
    CommentIds,
    Decided,
    FavouriteIn,
    FavouritePage,
    FavouriteState,
    HeldCommentList,
    PinIn,
    RepostState,
)
from reelm.social.service import comments_out
from reelm.videos.schemas import Creator, VideoPage
from reelm.videos.service import access_own_video
from reelm.web.capabilities import handle_realm_in_path, require_capability
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import Cursor, HandlePath, IdPath, IdQuery
from reelm.web.routes.videos import video_realm

router = APIRouter(tags=["keep"])

Limit = Annotated[int, Query(ge=1, le=50)]
# Spelled out (not the enum's schema), so that the document states the values in place.
KindPath = Annotated[Literal["video", "sound", "hashtag"], Path(description="video, sound or hashtag")]
TargetPath = Annotated[
    str,
    Path(pattern=TAG_PATTERN, max_length=51, description="the video's or sound's id, or the hashtag"),
]


# --- collections ---------------------------------------------------------------------------------------


@router.get("/me/collections", response_model=CollectionList)
async def my_collections(runtime: RuntimeDep, viewer: UserViewer) -> CollectionList:
    """Your collections of favourites, newest first, private and public."""
    async with runtime.databases.read(viewer.realm) as session:
        return CollectionList(
            items=await favourites.collections_of(session, viewer.user_id, public_only=False)
        )


@router.post("/me/collections", status_code=201, response_model=CollectionOut)
async def create_collection(runtime: RuntimeDep, viewer: UserViewer, body: CollectionIn) -> CollectionOut:
    """A new collection: private unless `is_public` (then shown on your profile to everyone)."""
    async with runtime.databases.transaction(viewer.realm) as session:
        made = await favourites.do_create_collection(
            session, viewer.user_id, name=body.name, is_public=body.is_public
        )
        return favourites.collection_out(made, 0)


def own_row_id(text: str, what: str) -> int:
    """The id of one of the viewer's own rows (a collection, a filter); text that cannot be an id (zero, or
    past what a bigint holds) is a 404, as an unknown id is."""
    value = ids.parse_id(text)
    if value is None:
        raise not_found(what)
    return value


def _collection_id(text: str) -> int:
    return own_row_id(text, "Collection")


@router.patch("/me/collections/{collection_id}", response_model=CollectionOut)
async def change_collection(
    runtime: RuntimeDep, viewer: UserViewer, collection_id: IdPath, body: CollectionPatch
) -> CollectionOut:
    """Rename a collection, or make it public or private."""
    async with runtime.databases.transaction(viewer.realm) as session:
        found = await favourites.access_collection(session, viewer.user_id, _collection_id(collection_id))
        await favourites.do_change_collection(session, found, name=body.name, is_public=body.is_public)
        mine = await favourites.collections_of(session, viewer.user_id, public_only=False)
    return next(c for c in mine if c.id == str(found.id))


@router.delete("/me/collections/{collection_id}", status_code=204)
async def delete_collection(runtime: RuntimeDep, viewer: UserViewer, collection_id: IdPath) -> None:
    """Delete a collection; what it held stays among your favourites."""
    async with runtime.databases.transaction(viewer.realm) as session:
        found = await favourites.access_collection(session, viewer.user_id, _collection_id(collection_id))
        await favourites.do_delete_collection(session, found)


# --- favourites ----------------------------------------------------------------------------------------


async def save_favourite(
    runtime: Runtime, viewer: SignedInViewer, kind: FavouriteKind, target: str, collection_id: str | None
) -> FavouriteState:
    realm = video_realm(runtime, target)[0] if kind == FavouriteKind.VIDEO else None
    async with runtime.databases.transaction(viewer.realm) as session:
        return await favourites.do_save(
            session,
            viewer,
            kind,
            target,
            video_realm=realm,
            collection_id=_collection_id(collection_id) if collection_id is not None else None,
        )


@router.put("/me/favourites/{kind}/{target}", response_model=FavouriteState)
async def save(
    runtime: RuntimeDep,
    viewer: UserViewer,
    kind: KindPath,
    target: TargetPath,
    body: FavouriteIn | None = None,
) -> FavouriteState:
    """Keep a video, sound or hashtag among your favourites, in one of your collections or none. Saving it
    again moves it to the collection named (or out of any)."""
    return await save_favourite(
        runtime, viewer, FavouriteKind(kind), target, body.collection_id if body else None
    )


@router.delete("/me/favourites/{kind}/{target}", response_model=FavouriteState)
async def unsave(
    runtime: RuntimeDep, viewer: UserViewer, kind: KindPath, target: TargetPath
) -> FavouriteState:
    async with runtime.databases.transaction(viewer.realm) as session:
        return await favourites.do_unsave(session, viewer.user_id, FavouriteKind(kind), target)


async def favourites_of(
    runtime: Runtime,
    viewer: Viewer,
    handle: str,
    *,
    collection: str | None,
    kind: FavouriteKind | None,
    cursor: str | None,
    limit: int,
) -> FavouritePage:
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    name = f"favourites:{entry.user_id}:{collection}:{kind}"
    before = None
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, name)
        before = (datetime.fromisoformat(state["at"]), state["kind"], state["target"])
    # Favourites are kept at the owner's home, with a copy of every realm's public videos to show them by.
    async with runtime.databases.read(entry.realm) as session:
        items = await favourites.favourites_page(
            session,
            viewer,
            entry.user_id,
            entry.realm,
            collection_id=_collection_id(collection) if collection is not None else None,
            kind=kind,
            before=before,
            limit=limit,
            base_url=runtime.settings.base_url,
        )
        end = favourites.page_end(items) if len(items) == limit else None
    next_cursor = (
        encode_cursor(runtime.settings.secret_key, name, {"at": end[0], "kind": end[1], "target": end[2]})
        if end
        else None
    )
    return FavouritePage(items=items, next_cursor=next_cursor)


@router.get(
    "/users/{handle}/favourites",
    response_model=FavouritePage,
    dependencies=[require_capability(Capability.WATCH, handle_realm_in_path)],
)
async def user_favourites(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: HandlePath,
    collection: IdQuery = None,
    kind: Annotated[FavouriteKind | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 24,
) -> FavouritePage:
    """The account's favourites, the latest saved first: all of them for the account itself, those in its
    public collections for everyone else (a private collection is a 404 for them)."""
    return await favourites_of(
        runtime, viewer, handle, collection=collection, kind=kind, cursor=cursor, limit=limit
    )


@router.get("/users/{handle}/collections", response_model=CollectionList)
async def user_collections(runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath) -> CollectionList:
    """The account's public collections (the account itself sees its private ones too)."""
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    async with runtime.databases.read(entry.realm) as session:
        items = await favourites.collections_of(
            session, entry.user_id, public_only=viewer.user_id != entry.user_id
        )
    return CollectionList(items=items)


# --- reposts -------------------------------------------------------------------------------------------


async def set_repost(runtime: Runtime, viewer: SignedInViewer, video_id: str, *, repost: bool) -> RepostState:
    realm, vid = video_realm(runtime, video_id)
    # Every repost is stored in the reposter's realm.
    async with runtime.databases.transaction(viewer.realm) as session:
        return await reposts.do_set_repost(session, viewer, realm, vid, repost=repost)


@router.post("/videos/{video_id}/repost", response_model=RepostState)
async def repost(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> RepostState:
    """Share another creator's public video with your followers (their Following feed); twice counts once."""
    return await set_repost(runtime, viewer, video_id, repost=True)


@router.delete("/videos/{video_id}/repost", response_model=RepostState)
async def undo_repost(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> RepostState:
    return await set_repost(runtime, viewer, video_id, repost=False)


async def _cards_in_order(runtime: Runtime, viewer: Viewer, owner_realm: str, ids: list[int]) -> list[Any]:
    """Public cards of these videos (of any realm), in this order, read where the viewer reads."""
    if not ids:
        return []
    home = reader_realm(viewer, owner_realm)
    viewer_id = viewer.user_id if viewer.realm == home else None
    query: Select[Any] = public_card_select(viewer_id).where(public_videos.c.id.in_(ids))
    async with runtime.databases.read(home) as session:
        cards = await fetch_cards(
            session, query, realm=home, viewer=viewer, base_url=runtime.settings.base_url
        )
    found = {card.id: card for card in cards}
    return [found[str(i)] for i in ids if str(i) in found]


def _video_cursor_position(runtime: Runtime, cursor: str | None, name: str) -> tuple[datetime, int] | None:
    """Where a page of a profile's reposted or liked videos starts: after (when, video id), or the top."""
    if not cursor:
        return None
    state = decode_cursor(runtime.settings.secret_key, cursor, name)
    return datetime.fromisoformat(state["at"]), int(state["id"])


async def _video_page(
    runtime: Runtime, viewer: Viewer, realm: str, rows: list[tuple[int, datetime]], limit: int, name: str
) -> VideoPage:
    """The cards of (video id, when) rows, newest first, and a cursor after the last when the page is full."""
    items = await _cards_in_order(runtime, viewer, realm, [video_id for video_id, _ in rows])
    next_cursor = None
    if len(rows) == limit:
        last_id, last_at = rows[-1]
        next_cursor = encode_cursor(
            runtime.settings.secret_key, name, {"at": last_at.isoformat(), "id": str(last_id)}
        )
    return VideoPage(items=items, next_cursor=next_cursor)


async def reposts_of(
    runtime: Runtime, viewer: Viewer, handle: str, cursor: str | None, limit: int
) -> VideoPage:
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    name = f"reposts:{entry.user_id}"
    before = _video_cursor_position(runtime, cursor, name)
    async with runtime.databases.read(entry.realm) as session:  # reposts are public, kept at home
        rows = await reposts.reposted_ids(session, entry.user_id, before=before, limit=limit)
    return await _video_page(runtime, viewer, entry.realm, rows, limit, name)


@router.get(
    "/users/{handle}/reposts",
    response_model=VideoPage,
    dependencies=[require_capability(Capability.WATCH, handle_realm_in_path)],
)
async def user_reposts(
    runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath, cursor: Cursor = None, limit: Limit = 24
) -> VideoPage:
    """The videos the account reposted, the latest first (public videos only)."""
    return await reposts_of(runtime, viewer, handle, cursor, limit)


# --- liked videos --------------------------------------------------------------------------------------


class ProfileTabsIn(BaseModel):
    liked_public: StrictBool = Field(description="everyone may see the videos you liked (else only you)")


class ProfileTabsOut(BaseModel):
    liked_public: bool


async def liked_public(runtime: Runtime, realm: str, user_id: int) -> bool:
    async with runtime.databases.read(realm) as session:
        found = await session.scalar(select(ProfileTabs.liked_public).where(ProfileTabs.user_id == user_id))
    return bool(found)


async def set_liked_public(runtime: Runtime, viewer: SignedInViewer, value: bool) -> ProfileTabsOut:
    now = datetime.now(UTC)
    async with runtime.databases.transaction(viewer.realm) as session:
        await session.execute(
            insert(ProfileTabs)
            .values(user_id=viewer.user_id, liked_public=value, updated_at=now)
            .on_conflict_do_update(
                index_elements=["user_id"], set_={"liked_public": value, "updated_at": now}
            )
        )
    return ProfileTabsOut(liked_public=value)


@router.get("/me/profile-tabs", response_model=ProfileTabsOut)
async def my_profile_tabs(runtime: RuntimeDep, viewer: UserViewer) -> ProfileTabsOut:
    return ProfileTabsOut(liked_public=await liked_public(runtime, viewer.realm, viewer.user_id))


@router.put("/me/profile-tabs", response_model=ProfileTabsOut)
async def change_profile_tabs(runtime: RuntimeDep, viewer: UserViewer, body: ProfileTabsIn) -> ProfileTabsOut:
    """Whether others may see your Liked tab (private by default)."""
    return await set_liked_public(runtime, viewer, body.liked_public)


async def liked_of(
    runtime: Runtime, viewer: Viewer, handle: str, cursor: str | None, limit: int
) -> VideoPage:
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    if viewer.user_id != entry.user_id and not await liked_public(runtime, entry.realm, entry.user_id):
        raise Problem(
            403, "liked-private", "Liked videos are private", "This account keeps its liked videos private."
        )
    name = f"liked:{entry.user_id}"
    before = _video_cursor_position(runtime, cursor, name)
    query = select(VideoLike.video_id, VideoLike.created_at).where(VideoLike.user_id == entry.user_id)
    if before is not None:
        query = query.where(tuple_(VideoLike.created_at, VideoLike.video_id) < tuple_(*before))
    query = query.order_by(VideoLike.created_at.desc(), VideoLike.video_id.desc()).limit(limit)
    async with runtime.databases.read(entry.realm) as session:  # likes are kept at the liker's home
        rows = [(row.video_id, row.created_at) for row in await session.execute(query)]
    return await _video_page(runtime, viewer, entry.realm, rows, limit, name)


@router.get(
    "/users/{handle}/liked",
    response_model=VideoPage,
    dependencies=[require_capability(Capability.WATCH, handle_realm_in_path)],
)
async def user_liked(
    runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath, cursor: Cursor = None, limit: Limit = 24
) -> VideoPage:
    """The videos the account liked, the latest first: for the account itself, and for everyone once it
    makes them public (else 403 `liked-private`)."""
    return await liked_of(runtime, viewer, handle, cursor, limit)


# --- mutes ---------------------------------------------------------------------------------------------


class MuteState(BaseModel):
    muted: bool


class MutedList(BaseModel):
    items: list[Creator]


async def set_mute(runtime: Runtime, viewer: SignedInViewer, handle: str, *, mute: bool) -> MuteState:
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    async with runtime.databases.transaction(viewer.realm) as session:
        return MuteState(muted=await mutes.do_mute(session, viewer.user_id, entry.user_id, mute=mute))


@router.post("/users/{handle}/mute", response_model=MuteState)
async def mute(runtime: RuntimeDep, viewer: UserViewer, handle: HandlePath) -> MuteState:
    """Stop seeing the account's videos and comments (in For You, Following, search and comments). It is not
    told, and its follow and yours stay."""
    return await set_mute(runtime, viewer, handle, mute=True)


@router.delete("/users/{handle}/mute", response_model=MuteState)
async def unmute(runtime: RuntimeDep, viewer: UserViewer, handle: HandlePath) -> MuteState:
    return await set_mute(runtime, viewer, handle, mute=False)


async def muted_people(runtime: Runtime, viewer: SignedInViewer) -> list[Creator]:
    async with runtime.databases.read(viewer.realm) as session:
        muted = await mutes.muted_by(session, viewer.user_id)
        people = await people_out(session, viewer.realm, set(muted))
    return [people[m] for m in muted if m in people]


@router.get("/me/mutes", response_model=MutedList)
async def my_mutes(runtime: RuntimeDep, viewer: UserViewer) -> MutedList:
    """The accounts you muted, the latest first."""
    return MutedList(items=await muted_people(runtime, viewer))


# --- keyword filters -----------------------------------------------------------------------------------


class FilterIn(BaseModel):
    phrase: Line = Field(
        min_length=1,
        max_length=60,
        description="a word or phrase (matched as plain text, case aside) or a #hashtag",
    )
    duration: Literal["1d", "7d", "30d", "forever"] = Field(
        default="forever", description="how long it applies: 1, 7 or 30 days, or for ever"
    )


FILTER_DAYS: dict[str, int | None] = {"1d": 1, "7d": 7, "30d": 30, "forever": None}


class FilterOut(BaseModel):
    id: str
    phrase: str
    is_tag: bool
    expires_at: datetime | None


class FilterList(BaseModel):
    items: list[FilterOut]


def filter_out(found: KeywordFilter) -> FilterOut:
    return FilterOut(id=str(found.id), phrase=found.phrase, is_tag=found.is_tag, expires_at=found.expires_at)


@router.get("/me/filters", response_model=FilterList)
async def my_filters(runtime: RuntimeDep, viewer: UserViewer) -> FilterList:
    """Your keyword filters that are in force, the latest first."""
    async with runtime.databases.read(viewer.realm) as session:
        found = await mutes.filters_of(session, viewer.user_id, datetime.now(UTC))
    return FilterList(items=[filter_out(f) for f in found])


@router.post("/me/filters", status_code=201, response_model=FilterOut)
async def add_filter(runtime: RuntimeDep, viewer: UserViewer, body: FilterIn) -> FilterOut:
    """Hide videos and comments with these words (or this #hashtag) from your feeds, search and comments,
    from the next page on."""
    async with runtime.databases.transaction(viewer.realm) as session:
        added = await mutes.do_add_filter(
            session, viewer.user_id, body.phrase, days=FILTER_DAYS[body.duration], now=datetime.now(UTC)
        )
        return filter_out(added)


@router.delete("/me/filters/{filter_id}", status_code=204)
async def remove_filter(runtime: RuntimeDep, viewer: UserViewer, filter_id: IdPath) -> Response:
    async with runtime.databases.transaction(viewer.realm) as session:
        await mutes.do_remove_filter(session, viewer.user_id, own_row_id(filter_id, "Filter"))
    return Response(status_code=204)


# --- comment controls ----------------------------------------------------------------------------------


@router.get("/me/comment-controls", response_model=CommentControlsOut)
async def my_comment_controls(runtime: RuntimeDep, viewer: UserViewer) -> CommentControlsOut:
    """The comment controls your videos have unless one has its own."""
    async with runtime.databases.read(viewer.realm) as session:
        return await comment_controls.controls_for(session, viewer.user_id, comment_controls.DEFAULT)


@router.put("/me/comment-controls", response_model=CommentControlsOut)
async def change_comment_controls(
    runtime: RuntimeDep, viewer: UserViewer, body: CommentControlsIn
) -> CommentControlsOut:
    async with runtime.databases.transaction(viewer.realm) as session:
        return await comment_controls.do_set_controls(session, viewer.user_id, comment_controls.DEFAULT, body)


async def own_video_id(runtime: Runtime, viewer: SignedInViewer, video_id: str) -> int:
    realm, vid = video_realm(runtime, video_id)
    if realm != viewer.realm:  # one's own videos live at home: another realm's is someone else's
        raise Problem(403, "forbidden", "Not your video", "Only the creator can change this video.")
    return vid


@router.get("/videos/{video_id}/comment-controls", response_model=CommentControlsOut)
async def video_comment_controls(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath
) -> CommentControlsOut:
    """A video's comment controls (its own, else your default); the creator only."""
    vid = await own_video_id(runtime, viewer, video_id)
    async with runtime.databases.read(viewer.realm) as session:
        video = await access_own_video(session, viewer, vid)
        return await comment_controls.controls_for(session, viewer.user_id, video.id)


@router.put("/videos/{video_id}/comment-controls", response_model=CommentControlsOut)
async def change_video_comment_controls(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, body: CommentControlsIn
) -> CommentControlsOut:
    """Set this video's own comment controls (its pinned comment stays)."""
    vid = await own_video_id(runtime, viewer, video_id)
    async with runtime.databases.transaction(viewer.realm) as session:
        video = await access_own_video(session, viewer, vid)
        return await comment_controls.do_set_controls(session, viewer.user_id, video.id, body)


@router.put("/videos/{video_id}/pinned-comment", response_model=CommentControlsOut)
async def pin_comment(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, body: PinIn
) -> CommentControlsOut:
    """Pin one shown comment (of any realm) first among the video's comments, or unpin (`comment_id` null)."""
    vid = await own_video_id(runtime, viewer, video_id)
    async with runtime.databases.transaction(viewer.realm) as session:
        video = await access_own_video(session, viewer, vid)
        return await comment_controls.do_pin_comment(
            session,
            video,
            int(body.comment_id) if body.comment_id is not None else None,
            realm_code=runtime.settings.realm(viewer.realm).code,
        )


@router.get("/me/held-comments", response_model=HeldCommentList)
async def held(
    runtime: RuntimeDep, viewer: UserViewer, limit: Annotated[int, Query(ge=1, le=100)] = 100
) -> HeldCommentList:
    """Comments on your videos waiting for your approval, the oldest first."""
    async with runtime.databases.read(viewer.realm) as session:
        found = await comment_controls.held_comments(session, viewer.user_id, limit)
        return HeldCommentList(items=await comments_out(session, found, viewer))


async def decide(runtime: Runtime, viewer: SignedInViewer, ids: list[str], *, approve: bool) -> Decided:
    async with runtime.databases.transaction(viewer.realm) as session:
        done = await comment_controls.do_decide(
            session,
            viewer,
            runtime.settings.realm(viewer.realm).code,
            [int(i) for i in ids if len(i) <= 19 and int(i) <= MAX_ID],
            approve=approve,
        )
    return Decided(done=done)


@router.post("/me/held-comments/approve", response_model=Decided)
async def approve_held(runtime: RuntimeDep, viewer: UserViewer, body: CommentIds) -> Decided:
    """Show these held comments (up to 100 at once); ids that are not held on your videos are ignored."""
    return await decide(runtime, viewer, body.ids, approve=True)


@router.post("/me/held-comments/delete", response_model=Decided)
async def delete_held(runtime: RuntimeDep, viewer: UserViewer, body: CommentIds) -> Decided:
    """Delete these held comments (up to 100 at once)."""
    return await decide(runtime, viewer, body.ids, approve=False)


# --- hiding AI-generated videos --------------------------------------------------------------------------


class ViewingPreferencesBody(BaseModel):
    hide_ai_generated: StrictBool = Field(
        description="hide videos their creators labelled AI-generated (For You, Following, search)"
    )


@router.get("/me/viewing-preferences", response_model=ViewingPreferencesBody)
async def my_viewing_preferences(runtime: RuntimeDep, viewer: UserViewer) -> ViewingPreferencesBody:
    async with runtime.databases.read(viewer.realm) as session:
        return ViewingPreferencesBody(
            hide_ai_generated=await mutes.hides_ai_generated(session, viewer.user_id)
        )


@router.put("/me/viewing-preferences", response_model=ViewingPreferencesBody)
async def change_viewing_preferences(
    runtime: RuntimeDep, viewer: UserViewer, body: ViewingPreferencesBody
) -> ViewingPreferencesBody:
    """From the next page on."""
    async with runtime.databases.transaction(viewer.realm) as session:
        hide = await mutes.do_hide_ai_generated(
            session, viewer.user_id, hide=body.hide_ai_generated, now=datetime.now(UTC)
        )
    return ViewingPreferencesBody(hide_ai_generated=hide)
