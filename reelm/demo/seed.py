"""Demo data: creators in every realm, short vertical videos made locally, a few follows and comments."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.table import Table
from sqlalchemy import func, select

from reelm import ids
from reelm.accounts.models import HandleEntry, User
from reelm.demo.accounts import demo_account
from reelm.demo.clips import generate_demo_clip
from reelm.demo.conversations import converse
from reelm.demo.showcase import PEOPLE, STEPS, Showcase, showcase
from reelm.notifications.models import NotificationKind
from reelm.runtime import Runtime
from reelm.social.notify import notify, notify_comment
from reelm.social.service import count_like, do_comment, do_follow, do_set_follow, do_set_video_like
from reelm.videos import media
from reelm.videos.models import Video, VideoStatus
from reelm.videos.service import do_create_video, media_limits, original_key

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - printed for the demo; demo mode refuses production use

# handle, display name, country (decides the home realm), bio
CREATORS = [
    ("maya.moves", "Maya", "US", "Dance every day 💃 NYC"),
    ("chef_tom", "Tom Cooks", "US", "60-second recipes"),
    ("skate.sam", "Sam", "US", "Skateboarding & sunsets"),
    ("retro.rita", "Rita", "CA", "Retro tech and pixel art"),
    ("lena.berlin", "Lena", "DE", "Street photography in Berlin"),
    ("paolo_eats", "Paolo", "IT", "Pasta fatta in casa 🍝"),
    ("amelie.art", "Amélie", "FR", "Aquarelle et croquis"),
    ("jonas.climbs", "Jonas", "SE", "Bouldering beta"),
    ("kenji.codes", "Kenji", "JP", "Tiny programs, big ideas"),
    ("ada.builds", "Ada", "NG", "Maker. Robots. Lagos."),
    ("lucas.surf", "Lucas", "BR", "Surf diaries from Floripa"),
    ("priya.sings", "Priya", "IN", "Covers and originals 🎤"),
]

CAPTIONS = [
    "Morning warm-up routine #dance #fitness",
    "3-ingredient pasta that changed my life #food #recipe",
    "Golden hour kickflips #skate #sunset",
    "Pixel art in 60 seconds #pixelart #retro",
    "Kreuzberg at night #berlin #photography",
    "Nonna's secret for gnocchi #food #italy",
    "Watercolour sky study #art #watercolor",
    "Crimpy V5 beta, try it! #climbing #bouldering",
    "A clock in 20 lines of code #coding #tutorial",
    "My robot learned to wave #robotics #maker",
    "Glassy waves at dawn #surf #ocean",
    "Chorus of my new song #music #singing",
    "Learn this 8-count with me @maya.moves #dance",
    "Knife skills 101 #food #tips",
    "Fell 20 times, landed once #skate #fail",
    "CRT glow appreciation post #retro #tech",
    "Rainy tram ride #berlin #cinematic",
    "Espresso the Italian way #coffee #italy",
    "Sketching strangers at the café #art #sketch",
    "Rest day stretching #climbing #fitness",
    "Refactoring live, no cuts #coding",
    "Soldering at 2am #maker #electronics",
    "Wipeout compilation #surf #fail",
    "Harmonies in one take #music",
]


async def is_seeded(runtime: Runtime) -> bool:
    async with runtime.databases.read(None) as directory:
        return bool(await directory.scalar(select(func.count()).select_from(HandleEntry)))


async def _upload(runtime: Runtime, realm: str, owner: User, clip: Path, caption: str) -> None:
    probe = await asyncio.to_thread(media.probe, clip, media_limits(runtime.settings))
    size = await asyncio.to_thread(lambda: clip.stat().st_size)
    video_id = ids.new_id(runtime.settings.realm(realm).code)
    await runtime.storage.realm(realm).put_file(original_key(video_id), clip)
    async with runtime.databases.transaction(realm) as session:
        await do_create_video(
            session,
            video_id=video_id,
            owner=owner,
            caption=caption,
            visibility="public",
            size=size,
            width=probe.width,
            height=probe.height,
            duration_s=probe.duration_s,
        )


async def seed(runtime: Runtime, advance: Callable[[str], None], *, videos: int = len(CAPTIONS)) -> Showcase:
    """Create the demo creators and upload their first `videos` videos; `advance` is called once per step
    (one per creator, one per video and SHOWCASE_STEPS more: 42 in all)."""
    users: list[tuple[str, User]] = []
    for handle, name, country, bio in CREATORS:
        users.append(
            await demo_account(
                runtime, handle=handle, name=name, country=country, bio=bio, password=DEMO_PASSWORD
            )
        )
        advance(f"creator @{handle}")
    with tempfile.TemporaryDirectory() as tmp:
        for index, caption in enumerate(CAPTIONS[:videos]):
            realm, owner = users[index % len(users)]
            clip = Path(tmp) / f"clip{index}.mp4"
            await asyncio.to_thread(
                generate_demo_clip, clip, index=index, title=caption.split("#")[0].strip()
            )
            await _upload(runtime, realm, owner, clip, caption)
            advance(f"video {index + 1}")
    await _socialise(runtime, users)
    people = {user.handle: (realm, user) for realm, user in users}
    await converse(runtime, people)
    return await showcase(runtime, people, DEMO_PASSWORD, advance)


async def _socialise(runtime: Runtime, users: list[tuple[str, User]]) -> None:
    """Follows between all creators (across realms too); likes and comments within each realm.

    Videos are still transcoding here, so only the realm's own (not yet public) videos can be liked. What
    happens within a realm is notified, as the actions of the pages would, so notification pages are not
    empty; follows across realms are not (their notices need transit keys, published later).
    """
    for realm in runtime.settings.realm_names:
        members = [u for r, u in users if r == realm]
        code = runtime.settings.realm(realm).code
        async with runtime.databases.transaction(realm) as session:
            videos = list(await session.scalars(select(Video).where(Video.status != VideoStatus.REJECTED)))
            for i, follower in enumerate(members):
                for followee_realm, followee in users:
                    if followee.id == follower.id:
                        continue
                    if followee_realm == realm:
                        await do_set_follow(
                            session,
                            realm,
                            follower.id,
                            followee.id,
                            same_realm=True,
                            realm_code=code,
                            follow=True,
                        )
                    else:
                        await do_follow(session, follower.id, followee.id, realm_code=code, follow=True)
                for j, video in enumerate(videos):
                    liked = (i + j) % 2 == 0 and video.owner_id != follower.id
                    if liked and await do_set_video_like(session, follower.id, video.id, like=True):
                        await count_like(session, video, 1)
                        await notify(
                            session, realm, video.owner_id, NotificationKind.LIKE, follower.id, video.id
                        )
                if videos:
                    commented = videos[i % len(videos)]
                    comment = await do_comment(
                        session,
                        realm_code=code,
                        author=follower,
                        video_id=commented.id,
                        body="Love this! 🔥",
                        parent_id=None,
                    )
                    if commented.owner_id != follower.id:
                        await notify_comment(session, realm, comment, commented.owner_id)


SHOWCASE_STEPS = STEPS  # the accounts and actions of reelm.demo.showcase


def accounts_table(runtime: Runtime, shown: Showcase) -> Table:
    """Every demo account with its realm and what to look at, to print once when seeding ends."""
    table = Table("handle", "realm", "what to look at", title="Demo accounts")
    statement = f" (statement: {shown.statement_path})" if shown.statement_path else ""
    notes = {
        CREATORS[0][0]: "creator: notifications, a message request, a report's outcome in Settings",
        shown.fan: f"a fan: a comment of theirs was removed{statement}",
        shown.reviewer: f"reviewer of the {shown.reviewer_realm} realm: /review",
    }
    for handle, _, country, _ in [*CREATORS, *PEOPLE]:
        realm = runtime.settings.realm_for_country(country)
        table.add_row(f"@{handle}", realm, notes.get(handle, "creator"))
    table.caption = f"Password of every account: {DEMO_PASSWORD} · staff actions and switches: /log"
    return table


async def transcode_progress(runtime: Runtime) -> tuple[int, int]:
    """(finished, total) videos over all realms."""
    finished = total = 0
    for realm in runtime.settings.realm_names:
        async with runtime.databases.read(realm) as session:
            rows = (await session.execute(select(Video.status, func.count()).group_by(Video.status))).all()
        for status, count in rows:
            total += count
            finished += count if status != VideoStatus.PROCESSING else 0
    return finished, total
