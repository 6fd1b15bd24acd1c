"""Videos as the API shows them ("cards"), read in one query: video, creator, renditions, viewer state.

Every list of videos (feeds, profiles, hashtags, a single video) goes through `card_select`, so a page
costs one round trip whatever its length, and no ORM objects are built on the hot path.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import Suspension, User
from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_profiles, public_sounds, public_videos
from reelm.errors import not_found
from reelm.social.models import Favourite, FavouriteKind, Follow, VideoLike, VideoRepost
from reelm.sounds.catalogue import title_shown
from reelm.sounds.models import SoundStatus
from reelm.videos.models import CommentPolicy, RemixKind, Rendition, Video, VideoStatus, Visibility
from reelm.videos.permissions import comment_refusal, permissions_from
from reelm.videos.schemas import Counts, Creator, RenditionOut, SoundChip, VideoOut
from reelm.videos.service import age_restricted_problem, media_url

# Progressive MP4 for players without HLS: the best rung up to this short edge, to spare mobile data.
MP4_FALLBACK_MAX_SHORT_EDGE = 720


# The viewer is a bound parameter, so each of the two statements is built and compiled once per process.
_VIEWER = bindparam("card_viewer_id", type_=BigInteger)
_BROWSING = bindparam("card_browsing_realm", type_=Text)


# The sound a video uses, for its chip, in both selects: from the public sounds of every realm (the realm's
# own included: its outbound schema is among them), never from `sounds`, so a chip always leads to a sound
# page that shows it. A sound that is not public (its video went private) gives no chip, in every realm.
_chip_sound = public_sounds.alias("chip_sound")
_chip_owner = public_profiles.alias("chip_sound_owner")


def _sound_columns() -> list[Any]:
    return [
        _chip_sound.c.id.label("sound_ref"),
        _chip_sound.c.realm.label("sound_realm"),
        _chip_sound.c.title.label("sound_title"),
        _chip_sound.c.status.label("sound_status"),
        _chip_owner.c.handle.label("sound_owner_handle"),
    ]


def _with_sound(statement: Select[Any], sound_id: Any) -> Select[Any]:
    """LEFT JOINs in the card's own statement: no query per card (tests/test_query_budgets.py)."""
    return statement.outerjoin(_chip_sound, _chip_sound.c.id == sound_id).outerjoin(
        _chip_owner, _chip_owner.c.id == _chip_sound.c.owner_id
    )


def card_select(viewer_id: int | None) -> Select[Any]:
    """Videos joined with their creator; `viewer_id` only for a viewer of the same realm (else None).

    Run it through `fetch_cards`, which binds the viewer.
    """
    return _card_statement(with_viewer=viewer_id is not None)


@functools.cache
def _card_statement(*, with_viewer: bool) -> Select[Any]:
    renditions = (
        select(
            func.coalesce(
                func.json_agg(
                    aggregate_order_by(
                        func.json_build_object(
                            "name",
                            Rendition.name,
                            "width",
                            Rendition.width,
                            "height",
                            Rendition.height,
                            "bandwidth",
                            Rendition.bandwidth,
                            "codecs",
                            Rendition.codecs,
                            "mp4_key",
                            Rendition.mp4_key,
                            "hls_key",
                            Rendition.hls_key,
                        ),
                        Rendition.height,
                    )
                ),
                func.json_build_array(),
            )
        )
        .where(Rendition.video_id == Video.id)
        .scalar_subquery()
    )
    if not with_viewer:
        liked: Any = literal(None)
        following: Any = literal(None)
        followed: Any = literal(None)
    else:
        liked = exists().where(VideoLike.user_id == _VIEWER, VideoLike.video_id == Video.id)
        following = exists().where(Follow.follower_id == _VIEWER, Follow.followee_id == Video.owner_id)
        followed = _followed_by_owner(Video.owner_id)
    kept = _kept_columns(Video.id, with_viewer=with_viewer)
    statement = select(
        *[c for c in Video.__table__.c if c.name not in ("original_key", "original_size")],
        User.handle.label("owner_handle"),
        User.display_name.label("owner_display_name"),
        User.avatar_key.label("owner_avatar_key"),
        User.follower_count.label("owner_follower_count"),
        renditions.label("rendition_list"),
        liked.label("liked"),
        following.label("following"),
        followed.label("followed_by_owner"),
        *kept,
        *_sound_columns(),
    ).join(User, User.id == Video.owner_id)
    return _with_sound(statement, Video.sound_id)


def _followed_by_owner(owner_id: Any) -> Any:
    """Whether the creator follows the viewer, for a followed_back comment policy. A follow is stored in the
    follower's realm, so this finds the follows of creators of the database's own realm only; another
    realm's creator reads as not following, and the comment check refuses in the same way
    (reelm.videos.permissions.comment_refusal)."""
    return exists().where(Follow.follower_id == owner_id, Follow.followee_id == _VIEWER)


def _kept_columns(video_id: Any, *, with_viewer: bool) -> list[Any]:
    """Whether the viewer saved the video among their favourites, and reposted it (reelm.social.favourites,
    reelm.social.reposts): both kept in the viewer's realm, as likes are."""
    if not with_viewer:
        return [literal(None).label("saved"), literal(None).label("reposted")]
    saved = exists().where(
        Favourite.user_id == _VIEWER,
        Favourite.kind == FavouriteKind.VIDEO.value,
        Favourite.target == cast(video_id, Text),
    )
    reposted = exists().where(VideoRepost.user_id == _VIEWER, VideoRepost.video_id == video_id)
    return [saved.label("saved"), reposted.label("reposted")]


def public_card_select(viewer_id: int | None) -> Select[Any]:
    """Public videos of every realm, from the reader's database (reelm.crossrealm): the same columns as
    `card_select`, plus the video's `realm`. Likes and follows are the viewer's, stored in the same database.
    Videos that moderation restricted in the viewer's realm are left out (`fetch_cards` binds the realm),
    and so are age-restricted ones for anonymous visitors (`viewer_id` None).
    """
    return _public_card_statement(with_viewer=viewer_id is not None)


@functools.cache
def _public_card_statement(*, with_viewer: bool) -> Select[Any]:
    pv, pp = public_videos, public_profiles
    if not with_viewer:
        liked: Any = literal(None)
        following: Any = literal(None)
        followed: Any = literal(None)
    else:
        liked = exists().where(VideoLike.user_id == _VIEWER, VideoLike.video_id == pv.c.id)
        following = exists().where(Follow.follower_id == _VIEWER, Follow.followee_id == pv.c.owner_id)
        followed = _followed_by_owner(pv.c.owner_id)
    kept = _kept_columns(pv.c.id, with_viewer=with_viewer)
    statement = (
        select(
            pv.c.realm,
            *[pv.c[name] for name in _PROJECTED_CARD_COLUMNS],
            pv.c.label.label("mod_label"),  # named as in `videos`, so both selects give the same row
            pv.c.age_restricted,
            pv.c.demoted,  # for the recommender's ranking (reelm.recommend.ranker)
            literal(Visibility.PUBLIC.value).label("visibility"),
            literal(VideoStatus.READY.value).label("status"),
            literal("").label("status_detail"),
            literal(None).label("reject_code"),
            literal(None).label("reject_reason"),
            pp.c.handle.label("owner_handle"),
            pp.c.display_name.label("owner_display_name"),
            pp.c.avatar_key.label("owner_avatar_key"),
            pp.c.follower_count.label("owner_follower_count"),
            pv.c.renditions.label("rendition_list"),
            liked.label("liked"),
            following.label("following"),
            followed.label("followed_by_owner"),
            *kept,
            *_sound_columns(),
        )
        .join(pp, pp.c.id == pv.c.owner_id)
        .outerjoin(_chip_sound, _chip_sound.c.id == pv.c.sound_id)
        .outerjoin(_chip_owner, _chip_owner.c.id == _chip_sound.c.owner_id)
        # Moderation may restrict a video in some realms only (geo-restriction): not shown there.
        .where(func.array_position(pv.c.restricted_realms, _BROWSING).is_(None))
    )
    # Shown to adults only: an anonymous visitor never gets an age-restricted video in a list.
    return statement if with_viewer else statement.where(pv.c.age_restricted.is_(False))


_PROJECTED_CARD_COLUMNS = (
    "id",
    "owner_id",
    "caption",
    "hashtags",
    "mentions",
    "width",
    "height",
    "duration_s",
    "poster_key",
    "created_at",
    "published_at",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    # Permissions (reelm.videos.permissions), named as in `videos`.
    "comment_policy",
    "allow_duet",
    "allow_stitch",
    "allow_sound_reuse",
    "allow_download",
    "allow_embed",
    # Sounds and remixes (reelm.sounds), named as in `videos`.
    "sound_id",
    "remix_of_id",
    "remix_kind",
    "audio_muted",
    # Labels the creator sets and the cover's text alternative (reelm.videos.covers for the alt text).
    "ai_generated",
    "paid_partnership",
    "cover_alt",
    "caption_edited_at",
)


def _mp4_fallback(renditions: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    fitting = [r for r in renditions if min(r["width"], r["height"]) <= MP4_FALLBACK_MAX_SHORT_EDGE]
    pool = fitting or list(renditions)
    return max(pool, key=lambda r: r["height"] * r["width"]) if pool else None


def card_from_row(row: Row[Any], realm: str, viewer_id: int | None, base_url: str) -> VideoOut:
    v = row._mapping
    realm = v.get("realm", realm)  # rows of public_card_select say which realm holds the media
    renditions: list[dict[str, Any]] = v["rendition_list"]
    fallback = _mp4_fallback(renditions)
    is_owner = viewer_id is not None and viewer_id == v["owner_id"]
    ready = v["status"] == VideoStatus.READY
    policy = v["comment_policy"]
    refusal = comment_refusal(
        policy,
        is_creator=is_owner,
        followed_by_creator=bool(v["followed_by_owner"]),
        follows_creator=bool(v["following"]),
    )
    # Built without validation: every field comes typed from our own columns, and validating ten cards
    # per feed page was a tenth of the request's CPU.
    return VideoOut.model_construct(
        id=str(v["id"]),
        realm=realm,
        creator=Creator.model_construct(
            id=str(v["owner_id"]),
            handle=v["owner_handle"],
            display_name=v["owner_display_name"],
            avatar_url=media_url(realm, v["owner_avatar_key"]) if v["owner_avatar_key"] else None,
            follower_count=v["owner_follower_count"],
            is_following=None if is_owner else v["following"],
        ),
        caption=v["caption"],
        hashtags=v["hashtags"],
        mentions=v["mentions"],
        visibility=v["visibility"],
        status=v["status"],
        status_detail=v["status_detail"],
        reject_code=v["reject_code"],
        reject_reason=v["reject_reason"],
        width=v["width"],
        height=v["height"],
        duration_s=v["duration_s"],
        poster_url=media_url(realm, v["poster_key"]) if v["poster_key"] else None,
        hls_url=media_url(realm, f"videos/{v['id']}/master.m3u8") if renditions else None,
        mp4_url=media_url(realm, fallback["mp4_key"]) if fallback else None,
        renditions=[
            RenditionOut.model_construct(
                name=r["name"],
                width=r["width"],
                height=r["height"],
                bandwidth=r["bandwidth"],
                codecs=r["codecs"],
                mp4_url=media_url(realm, r["mp4_key"]),
                hls_url=media_url(realm, r["hls_key"]),
            )
            for r in renditions
        ],
        counts=Counts.model_construct(
            likes=v["like_count"], comments=v["comment_count"], shares=v["share_count"], views=v["view_count"]
        ),
        liked_by_me=v["liked"],
        saved_by_me=v["saved"],
        reposted_by_me=v["reposted"],
        # Reposts are counted in the video's own realm only (other realms' reach it as tallies).
        repost_count=v.get("repost_count") if is_owner else None,
        created_at=v["created_at"],
        published_at=v["published_at"],
        share_url=f"{base_url.rstrip('/')}/v/{v['id']}",
        label=v["mod_label"],
        ai_generated=v["ai_generated"],
        paid_partnership=v["paid_partnership"],
        cover_alt=v["cover_alt"],
        caption_edited_at=v["caption_edited_at"],
        age_restricted=v["age_restricted"],
        comment_policy=CommentPolicy(policy),
        permissions=permissions_from(v) if is_owner else None,
        can_comment=viewer_id is not None and ready and refusal is None,
        can_duet=ready and (is_owner or v["allow_duet"]),
        can_stitch=ready and (is_owner or v["allow_stitch"]),
        can_use_sound=ready and (is_owner or v["allow_sound_reuse"]),
        can_download=ready and (is_owner or v["allow_download"]),
        # Another site shows what anyone may watch: a published public video, never a private one.
        can_embed=ready and v["visibility"] == Visibility.PUBLIC and v["allow_embed"],
        sound=_sound_chip(v),
        audio_muted=v["audio_muted"],
        remix_kind=RemixKind(v["remix_kind"]) if v["remix_kind"] is not None else None,
        remix_of=str(v["remix_of_id"]) if v["remix_of_id"] is not None else None,
    )


def _sound_chip(v: Any) -> SoundChip | None:
    if v["sound_ref"] is None or v["sound_owner_handle"] is None:  # not public (yet, or any more)
        return None
    return SoundChip.model_construct(
        id=str(v["sound_ref"]),
        realm=v["sound_realm"],
        title=title_shown(v["sound_title"], v["sound_owner_handle"]),
        named=v["sound_title"] is not None,
        creator_handle=v["sound_owner_handle"],
        available=v["sound_status"] == SoundStatus.AVAILABLE,
    )


def card_viewer(viewer: Viewer, realm: str) -> int | None:
    """The viewer whose likes and follows a card shows: only a viewer of the realm has any there."""
    return viewer.user_id if viewer.realm == realm else None


def _public_in(realm: str) -> ColumnElement[bool]:
    return and_(
        Video.status == VideoStatus.READY,
        Video.visibility == Visibility.PUBLIC,
        ~Video.restricted_realms.contains([realm]),
        ~exists().where(Suspension.user_id == Video.owner_id),
    )


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Published public videos not geo-restricted in the viewer's realm, whose creator is not suspended
    (and, for anonymous visitors, not age-restricted), and all of the viewer's own."""
    public = _public_in(viewer.realm)
    if viewer.user_id is None:
        return and_(public, Video.age_restricted.is_(False))
    return or_(public, Video.owner_id == viewer.user_id)


def card_params(viewer: Viewer, realm: str) -> dict[str, object]:
    """The bound parameters of `card_select` / `public_card_select` for this viewer."""
    viewer_id = card_viewer(viewer, realm)
    params: dict[str, object] = {"card_browsing_realm": viewer.realm}
    if viewer_id is not None:
        params["card_viewer_id"] = viewer_id
    return params


async def fetch_cards(
    session: AsyncSession, query: Select[Any], *, realm: str, viewer: Viewer, base_url: str
) -> list[VideoOut]:
    """Run a query built on `card_select(card_viewer(viewer, realm))` in `realm`'s database, or on
    `public_card_select(viewer.user_id)` in the viewer's (then `realm` is the viewer's)."""
    viewer_id = card_viewer(viewer, realm)
    rows = await session.execute(query, card_params(viewer, realm))
    return [card_from_row(row, realm, viewer_id, base_url) for row in rows]


async def access_card(
    session: AsyncSession, viewer: Viewer, realm: str, video_id: int, base_url: str
) -> VideoOut:
    """One video as its card, if this viewer may see it; 404 otherwise."""
    query = card_select(card_viewer(viewer, realm)).where(Video.id == video_id, visible_to(viewer))
    cards = await fetch_cards(session, query, realm=realm, viewer=viewer, base_url=base_url)
    if not cards:
        if viewer.user is None and await _hidden_for_age(session, viewer, video_id):
            raise age_restricted_problem()
        raise not_found("Video")
    return cards[0]


async def _hidden_for_age(session: AsyncSession, viewer: Viewer, video_id: int) -> bool:
    """Whether the video would be shown to this anonymous visitor but for its age restriction."""
    found = await session.scalar(
        select(Video.id).where(Video.id == video_id, Video.age_restricted.is_(True), _public_in(viewer.realm))
    )
    return found is not None


async def access_public_card(session: AsyncSession, viewer: Viewer, video_id: int, base_url: str) -> VideoOut:
    """Another realm's video as its card, from the viewer's database; 404 unless it is public."""
    query = public_card_select(viewer.user_id).where(public_videos.c.id == video_id)
    cards = await fetch_cards(session, query, realm=viewer.realm, viewer=viewer, base_url=base_url)
    if not cards:
        raise not_found("Video")
    return cards[0]
