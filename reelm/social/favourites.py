"""Favourites: videos, sounds and hashtags a person keeps, optionally sorted into named collections.

Kept in the person's home realm (protected), whatever realm the video or sound lives in: a target of another
realm is checked against the public projections this realm holds. A collection is private unless its owner
makes it public; the profile's Favourites tab shows its owner everything and others the public collections
only. Saving a video is a "save" signal for For You (an event the recommender's training reads).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import BigInteger, and_, cast, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.crossrealm.views import public_profiles, public_sounds, public_videos
from reelm.errors import Problem, not_found
from reelm.events.models import EventKind, WatchEvent
from reelm.social.actions import check_video
from reelm.social.cards import fetch_cards, public_card_select
from reelm.social.models import Favourite, FavouriteCollection, FavouriteKind
from reelm.social.schemas import CollectionOut, FavouriteOut, FavouriteState, SavedSound
from reelm.text import clean_text
from reelm.videos.schemas import VideoOut

MAX_COLLECTIONS = 100  # per account: enough to sort anything, bounded so that the list stays one page
MAX_FAVOURITES = 10_000  # per account


def normalised(tag: str) -> str:
    """Hashtags are stored as captions give them (reelm.text.hashtags_of): lower case, without the '#'."""
    return tag.lstrip("#").lower()


def _collection_name(name: str) -> str:
    return clean_text("name", name, max_len=100, allow_empty=False).strip() or _empty_name()


def _empty_name() -> str:
    raise Problem(422, "invalid-request", "The request is not valid", "name: give the collection a name")


async def _lock_owner(session: AsyncSession, user_id: int, what: str) -> None:
    """Serialise one person's changes of a kind, so that two at once cannot both take the last place."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"{what}:{user_id}", 0))))


async def access_collection(session: AsyncSession, owner_id: int, collection_id: int) -> FavouriteCollection:
    """One of this person's collections; 404 for anyone else's (whether it exists is not said)."""
    found = await session.get(FavouriteCollection, collection_id)
    if found is None or found.user_id != owner_id:
        raise not_found("Collection")
    return found


async def do_create_collection(
    session: AsyncSession, user_id: int, *, name: str, is_public: bool
) -> FavouriteCollection:
    await _lock_owner(session, user_id, "favourite_collections")
    count = await session.scalar(
        select(func.count()).select_from(FavouriteCollection).where(FavouriteCollection.user_id == user_id)
    )
    if (count or 0) >= MAX_COLLECTIONS:
        raise Problem(
            409,
            "too-many-collections",
            "Too many collections",
            f"You have {MAX_COLLECTIONS} collections already: delete one first.",
            limit=MAX_COLLECTIONS,
        )
    collection = FavouriteCollection(user_id=user_id, name=_collection_name(name), is_public=is_public)
    session.add(collection)
    await session.flush()
    return collection


async def do_change_collection(
    session: AsyncSession, collection: FavouriteCollection, *, name: str | None, is_public: bool | None
) -> FavouriteCollection:
    if name is not None:
        collection.name = _collection_name(name)
    if is_public is not None:
        collection.is_public = is_public
    await session.flush()
    return collection


async def do_delete_collection(session: AsyncSession, collection: FavouriteCollection) -> None:
    """The collection goes; what it held stays among the owner's favourites (in no collection)."""
    await session.execute(delete(FavouriteCollection).where(FavouriteCollection.id == collection.id))


async def collections_of(session: AsyncSession, user_id: int, *, public_only: bool) -> list[CollectionOut]:
    """A person's collections, newest first, each with how many favourites it holds."""
    held = (
        select(func.count())
        .where(Favourite.collection_id == FavouriteCollection.id)
        .correlate(FavouriteCollection)
        .scalar_subquery()
    )
    query = select(FavouriteCollection, held.label("held")).where(FavouriteCollection.user_id == user_id)
    if public_only:
        query = query.where(FavouriteCollection.is_public.is_(True))
    rows = await session.execute(query.order_by(FavouriteCollection.created_at.desc()))
    return [collection_out(c, held) for c, held in rows]


def collection_out(collection: FavouriteCollection, held: int) -> CollectionOut:
    return CollectionOut(
        id=str(collection.id),
        name=collection.name,
        is_public=collection.is_public,
        item_count=held,
        created_at=collection.created_at,
    )


async def check_target(
    session: AsyncSession,
    viewer: SignedInViewer,
    kind: FavouriteKind,
    target: str,
    *,
    video_realm: str | None,
) -> str:
    """The target as stored, if it exists and this viewer may see it: a video (of any realm, `video_realm`
    being its realm), a public sound, or a hashtag some public video carries or carried."""
    if kind == FavouriteKind.HASHTAG:
        tag = normalised(target)
        found = await session.scalar(
            select(public_videos.c.id).where(public_videos.c.hashtags.contains([tag]))
        )
        if found is None:
            raise not_found("Hashtag")
        return tag
    if not target.isascii() or not target.isdigit():
        raise not_found(kind.value.capitalize())
    if kind == FavouriteKind.VIDEO:
        assert video_realm is not None
        await check_video(session, viewer, video_realm, int(target))
        return str(int(target))
    sound = await session.scalar(select(public_sounds.c.id).where(public_sounds.c.id == int(target)))
    if sound is None:
        raise not_found("Sound")
    return str(sound)


async def do_save(
    session: AsyncSession,
    viewer: SignedInViewer,
    kind: FavouriteKind,
    target: str,
    *,
    video_realm: str | None,
    collection_id: int | None,
) -> FavouriteState:
    """Keep a video, sound or hashtag, in a collection or none; saving again moves it to that collection."""
    user_id = viewer.user_id
    if collection_id is not None:
        await access_collection(session, user_id, collection_id)
    stored = await check_target(session, viewer, kind, target, video_realm=video_realm)
    await _lock_owner(session, user_id, "favourites")
    existing = await session.get(Favourite, (user_id, kind.value, stored))
    if existing is None:
        count = await session.scalar(
            select(func.count()).select_from(Favourite).where(Favourite.user_id == user_id)
        )
        if (count or 0) >= MAX_FAVOURITES:
            raise Problem(
                409,
                "too-many-favourites",
                "Too many favourites",
                f"You keep {MAX_FAVOURITES} favourites already: remove some first.",
                limit=MAX_FAVOURITES,
            )
        await session.execute(
            insert(Favourite)
            .values(user_id=user_id, kind=kind.value, target=stored, collection_id=collection_id)
            .on_conflict_do_nothing()
        )
        if kind == FavouriteKind.VIDEO:
            await _record_save(session, user_id, int(stored))
    else:
        await session.execute(
            update(Favourite)
            .where(Favourite.user_id == user_id, Favourite.kind == kind.value, Favourite.target == stored)
            .values(collection_id=collection_id)
        )
    return FavouriteState(
        kind=kind,
        target=stored,
        saved=True,
        collection_id=str(collection_id) if collection_id is not None else None,
    )


async def _record_save(session: AsyncSession, user_id: int, video_id: int) -> None:
    """A save is a signal for For You: an event as a client would send it, once per video and viewer."""
    owner = await session.scalar(select(public_videos.c.owner_id).where(public_videos.c.id == video_id))
    if owner is None:  # the viewer's own video that is not public: nothing to learn from
        return
    now = datetime.now(UTC)
    await session.execute(
        insert(WatchEvent)
        .values(
            user_id=user_id,
            client_id=f"save-{video_id}",
            video_id=video_id,
            creator_id=owner,
            kind=EventKind.SAVE.value,
            occurred_at=now,
            received_at=now,
        )
        .on_conflict_do_nothing(constraint="uq_watch_events_user_client")
    )


async def do_unsave(session: AsyncSession, user_id: int, kind: FavouriteKind, target: str) -> FavouriteState:
    stored = normalised(target) if kind == FavouriteKind.HASHTAG else target
    await session.execute(
        delete(Favourite).where(
            Favourite.user_id == user_id, Favourite.kind == kind.value, Favourite.target == stored
        )
    )
    return FavouriteState(kind=kind, target=stored, saved=False)


async def favourites_page(
    session: AsyncSession,
    viewer: Viewer,
    owner_id: int,
    realm: str,
    *,
    collection_id: int | None,
    kind: FavouriteKind | None,
    before: tuple[datetime, str, str] | None,
    limit: int,
    base_url: str,
) -> list[FavouriteOut]:
    """The owner's favourites, latest saved first, read in the owner's realm (`realm`): all of them for the
    owner, those in public collections for anyone else. Targets no longer public are left out."""
    is_owner = viewer.user_id == owner_id
    query = select(Favourite).where(Favourite.user_id == owner_id)
    if collection_id is not None:
        collection = await access_collection(session, owner_id, collection_id)
        if not is_owner and not collection.is_public:
            raise not_found("Collection")
        query = query.where(Favourite.collection_id == collection_id)
    elif not is_owner:
        query = query.join(
            FavouriteCollection,
            and_(FavouriteCollection.id == Favourite.collection_id, FavouriteCollection.is_public.is_(True)),
        )
    if kind is not None:
        query = query.where(Favourite.kind == kind.value)
    if before is not None:
        query = query.where(tuple_(Favourite.created_at, Favourite.kind, Favourite.target) < tuple_(*before))
    query = query.order_by(Favourite.created_at.desc(), Favourite.kind.desc(), Favourite.target.desc())
    rows = list(await session.scalars(query.limit(limit)))
    videos = await _videos(
        session, viewer, realm, [r for r in rows if r.kind == FavouriteKind.VIDEO], base_url
    )
    sounds = await _sounds(session, [r for r in rows if r.kind == FavouriteKind.SOUND])
    out = []
    for row in rows:
        item = FavouriteOut(
            kind=FavouriteKind(row.kind),
            target=row.target,
            collection_id=str(row.collection_id) if row.collection_id is not None else None,
            saved_at=row.created_at,
        )
        if row.kind == FavouriteKind.VIDEO:
            if (video := videos.get(row.target)) is None:
                continue
            item.video = video
        elif row.kind == FavouriteKind.SOUND:
            if (sound := sounds.get(row.target)) is None:
                continue
            item.sound = sound
        else:
            item.hashtag = row.target
        out.append(item)
    return out


def page_end(rows: Sequence[Favourite | FavouriteOut]) -> tuple[str, str, str] | None:
    """The keyset a next page starts after."""
    if not rows:
        return None
    last = rows[-1]
    at = last.created_at if isinstance(last, Favourite) else last.saved_at
    return at.isoformat(), str(last.kind), last.target


async def _videos(
    session: AsyncSession, viewer: Viewer, realm: str, rows: list[Favourite], base_url: str
) -> dict[str, VideoOut]:
    if not rows:
        return {}
    viewer_id = viewer.user_id if viewer.realm == realm else None
    query = public_card_select(viewer_id).where(
        public_videos.c.id.in_([cast(r.target, BigInteger) for r in rows])
    )
    cards = await fetch_cards(session, query, realm=realm, viewer=viewer, base_url=base_url)
    return {card.id: card for card in cards}


async def _sounds(session: AsyncSession, rows: list[Favourite]) -> dict[str, SavedSound]:
    if not rows:
        return {}
    found = (
        await session.execute(
            select(public_sounds.c.id, public_sounds.c.realm, public_sounds.c.title, public_profiles.c.handle)
            .join(public_profiles, public_profiles.c.id == public_sounds.c.owner_id)
            .where(public_sounds.c.id.in_([int(r.target) for r in rows]))
        )
    ).all()
    return {
        str(s.id): SavedSound(id=str(s.id), realm=s.realm, title=s.title, creator_handle=s.handle)
        for s in found
    }


async def saved_state(
    session: AsyncSession, user_id: int, kind: FavouriteKind, target: str
) -> Favourite | None:
    return await session.get(Favourite, (user_id, kind.value, target))
