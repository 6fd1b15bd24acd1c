"""Statement budgets of the hot routes: each reads a page in a fixed number of SQL statements per database,
whatever the page's length, so an N+1 (a statement per item shown) fails here.

Every count is of one warm request (its caches filled by the same request just before), with the server's
short-lived session cache emptied first, so that resolving the bearer token is always counted and the
counts do not depend on how long the test took. The data is made through the API as clients make it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from reelm.runtime import Runtime
from tests.conftest import PASSWORD, Account, make_account, run_jobs
from tests.factories import eventually, make_tiny_clip, upload
from tests.querycount import QueryCount, count_queries

Budget = Mapping[str, int]  # the most statements one request may send to each database; none to another

# Budgets: the statements counted when they were set (a warm request of the viewer in realm us, by
# database, listed after each) plus HEADROOM per database read, so that a small change passes while a
# statement per item does not (that also fails the page-length comparison, whatever the budget).
HEADROOM = 1
# The recommender checks for a newer model at most every 30 s, in whichever request comes then.
MODEL_CHECK = 1
FOR_YOU = {"us": 4 + MODEL_CHECK + HEADROOM}  # session, catalogue delta, viewer state, cards
FOLLOWING = {"us": 2 + HEADROOM}  # session, cards
FEED_PAGE = {"us": 1 + HEADROOM}  # "/" and "/following" (the script asks the API): session
VIDEO = {"us": 2 + HEADROOM}  # session, card (its own realm's, or another realm's from the projections)
VIDEO_PAGE = {"us": 3 + HEADROOM}  # as the API, and the caption tracks its player offers
# A creator's drafts (reelm.videos.drafts): session, drafts (and the drafts page, the same).
DRAFTS = {"us": 2 + HEADROOM}
# Session, video (and its renditions, loaded with it though unused), creator's suspension, comments,
# authors, the viewer's likes of them; on the first page, the creator's pinned comment (comment controls).
COMMENTS = {"us": 8 + HEADROOM}
# Handle; session, user, suspension, whether the viewer follows.
PROFILE = {"directory": 1 + HEADROOM, "us": 4 + HEADROOM}
# Handle, twice (the capability check and the route each look it up); session, cards.
PROFILE_VIDEOS = {"directory": 2 + HEADROOM, "us": 2 + HEADROOM}
PROFILE_PAGE = {"directory": 2 + HEADROOM, "us": 5 + HEADROOM}  # the profile and its videos, as above
# Session, conversations, members, peers of other realms, people, unread counts, latest messages, their
# senders. Measured: 8 whatever the number of conversations (the latest messages in one statement).
INBOX = {"us": 8 + HEADROOM}
INBOX_PAGE = {"us": 1 + HEADROOM}  # the script asks the API: session
# A profile's Liked, Reposts and Favourites tabs (reelm.web.routes.keep): handle, twice (the capability check
# and the route); session, the ids kept, cards (the Liked tab of another account also reads its setting).
KEPT_TAB = {"directory": 2 + HEADROOM, "us": 3 + HEADROOM}

# The account's list of sessions (reelm.accounts.sessions): session, the sessions, the user's data key.
SESSIONS = {"us": 3 + HEADROOM}
SHORT, LONG = 5, 20  # page lengths compared: a route whose count grows between them has an N+1


class OverBudget(AssertionError):
    """A route sent more statements than its budget, or more for a longer page."""


def forget_sessions(client: httpx.AsyncClient) -> None:
    """Empty the server's cache of resolved sessions (kept for a few seconds), so the look-up counts."""
    client.app.state.session_cache.clear()  # type: ignore[attr-defined]  # the app, set by conftest


async def counted_get(
    client: httpx.AsyncClient, runtime: Runtime, account: Account, url: str, **params: Any
) -> tuple[httpx.Response, QueryCount]:
    """The response to a warm request and its statements: the same request is made once before."""
    for _ in range(2):
        forget_sessions(client)
        with count_queries(runtime.databases) as counted:
            response = await client.get(url, params=params, headers=account.auth)
        assert response.status_code == 200, (url, response.text)
    return response, counted


class Budgets:
    """Checks of many requests, reported together: which routes went over budget or grew, with their SQL."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def within(self, name: str, counted: QueryCount, budget: Budget) -> None:
        over = {db: n for db, n in counted.per_database().items() if n > budget.get(db, 0)}
        if over:
            self.problems.append(f"{name}: over its budget {dict(budget)} with {over}\n{counted.report()}")

    def flat(self, name: str, short: QueryCount, long: QueryCount) -> None:
        """The longer page (or the busier item) costs no more statements, in any database."""
        grew = {db: (short[db], n) for db, n in long.per_database().items() if n > short[db]}
        if grew:
            self.problems.append(
                f"{name}: statements grow with the page, (short, long) {grew}\n"
                f"short:\n{short.report()}\nlong:\n{long.report()}"
            )

    def check(self) -> None:
        if self.problems:
            raise OverBudget("\n\n".join(self.problems))


# --- a platform with some life in it, made through the API ----------------------------------------------


async def post(client: httpx.AsyncClient, account: Account, url: str, **json: Any) -> dict[str, Any]:
    response = await client.post(url, headers=account.auth, json=json or None)
    assert response.status_code in (200, 201, 204), (url, response.text)
    body: dict[str, Any] = response.json() if response.content else {}
    return body


async def follow(client: httpx.AsyncClient, account: Account, handle: str) -> None:
    await post(client, account, f"/api/v1/users/{handle}/follow")


async def comment(
    client: httpx.AsyncClient, account: Account, video_id: str, body: str, parent_id: str | None = None
) -> str:
    created = await post(
        client, account, f"/api/v1/videos/{video_id}/comments", body=body, parent_id=parent_id
    )
    comment_id: str = created["id"]
    return comment_id


async def item_ids(client: httpx.AsyncClient, account: Account, url: str, **params: Any) -> list[str]:
    response = await client.get(url, params=params, headers=account.auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_feeds_videos_and_profiles_read_a_page_in_fixed_statements(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    clip = make_tiny_clip(tmp_path)
    viewer = await make_account(client, "viewer")
    fans = [await make_account(client, f"fan{i}") for i in range(3)]
    # One prolific creator (a long profile), two occasional ones and one of another realm: 26 videos.
    prolific = await make_account(client, "prolific")
    occasional = [await make_account(client, f"maker{i}") for i in range(2)]
    abroad = await make_account(client, "abroad", country="JP")
    videos = [await upload(client, prolific, clip, caption=f"clip {i} #daily") for i in range(20)]
    for creator in [*occasional, abroad]:
        videos += [await upload(client, creator, clip, caption=f"{creator.handle} {i}") for i in range(2)]
    await run_jobs(runtime, prolific.realm)
    await run_jobs(runtime, abroad.realm)

    for creator in [prolific, *occasional, abroad]:
        await follow(client, viewer, creator.handle)
    await follow(client, fans[0], prolific.handle)
    for n, video_id in enumerate(videos):  # 0 to 4 likes each, the viewer's among them
        for liker in [viewer, *fans][: n % 5]:
            await post(client, liker, f"/api/v1/videos/{video_id}/like")
    busy, quiet, foreign = videos[0], videos[20], videos[-1]  # quiet: no like, no comment
    comment_ids = [
        await comment(client, [viewer, *fans, prolific, abroad][n % 6], busy, f"comment {n}")
        for n in range(22)
    ]
    for n, comment_id in enumerate(comment_ids[:6]):
        await comment(client, fans[n % 3], busy, "a reply", parent_id=comment_id)
        await post(client, viewer, f"/api/v1/videos/{busy}/comments/{comment_id}/like")
    await comment(client, fans[1], foreign, "from abroad")
    for video_id in videos:  # the viewer's favourites, and their reposts of others' videos
        await client.put(f"/api/v1/me/favourites/video/{video_id}", headers=viewer.auth)
        await post(client, viewer, f"/api/v1/videos/{video_id}/repost")

    async def everything_arrived() -> bool:  # the other realm's videos come by replication
        return len(await item_ids(client, viewer, "/api/v1/feed/following", limit=30)) == len(videos)

    await eventually(everything_arrived)

    budgets = Budgets()
    page_lengths: dict[str, list[int]] = {}

    async def short_and_long(name: str, url: str, budget: Budget) -> None:
        short, counted_short = await counted_get(client, runtime, viewer, url, limit=SHORT)
        long, counted_long = await counted_get(client, runtime, viewer, url, limit=LONG)
        page_lengths[name] = [len(short.json()["items"]), len(long.json()["items"])]
        budgets.within(f"{name}, {LONG} items", counted_long, budget)
        budgets.flat(name, counted_short, counted_long)

    async def one(name: str, url: str, budget: Budget) -> QueryCount:
        _, counted = await counted_get(client, runtime, viewer, url)
        budgets.within(name, counted, budget)
        return counted

    # The recommender's catalogue is loaded by the first request of the pair, before anything is counted.
    await short_and_long("For You API", "/api/v1/feed/for-you", FOR_YOU)
    await short_and_long("Following API", "/api/v1/feed/following", FOLLOWING)
    await one("For You page", "/", FEED_PAGE)
    await one("Following page", "/following", FEED_PAGE)
    await one("inbox page", "/inbox", INBOX_PAGE)

    budgets.flat(
        "video API",
        await one("video API, quiet", f"/api/v1/videos/{quiet}", VIDEO),
        await one("video API, busy", f"/api/v1/videos/{busy}", VIDEO),
    )
    await one("video API, another realm's", f"/api/v1/videos/{foreign}", VIDEO)
    budgets.flat(
        "video page",
        await one("video page, quiet", f"/v/{quiet}", VIDEO_PAGE),
        await one("video page, busy", f"/v/{busy}", VIDEO_PAGE),
    )
    await one("video page, another realm's", f"/v/{foreign}", VIDEO_PAGE)
    await short_and_long("comments API", f"/api/v1/videos/{busy}/comments", COMMENTS)

    await one("profile API", f"/api/v1/users/{prolific.handle}", PROFILE)
    await one("profile API, another realm's", f"/api/v1/users/{abroad.handle}", PROFILE)
    await short_and_long("profile videos API", f"/api/v1/users/{prolific.handle}/videos", PROFILE_VIDEOS)
    budgets.flat(
        "profile page",
        await one("profile page, 2 videos", f"/@{occasional[0].handle}", PROFILE_PAGE),
        await one("profile page, 20 videos", f"/@{prolific.handle}", PROFILE_PAGE),
    )
    await one("profile page, another realm's", f"/@{abroad.handle}", PROFILE_PAGE)
    await short_and_long("Liked tab API", f"/api/v1/users/{viewer.handle}/liked", KEPT_TAB)
    await short_and_long("Reposts tab API", f"/api/v1/users/{viewer.handle}/reposts", KEPT_TAB)
    await short_and_long("Favourites tab API", f"/api/v1/users/{viewer.handle}/favourites", KEPT_TAB)

    assert page_lengths == {name: [SHORT, LONG] for name in page_lengths}, "a page compared was not full"
    budgets.check()


async def test_inbox_reads_a_page_of_conversations_in_fixed_statements(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    viewer = await make_account(client, "viewer")
    # Eight friends: with the viewer, as many log-ins as the server allows one client per minute, but one.
    friends = [await make_account(client, f"friend{i}") for i in range(8)]
    for friend in friends:  # new accounts may message only their followers
        await follow(client, viewer, friend.handle)
        await follow(client, friend, viewer.handle)
    for n, friend in enumerate(friends):  # eight direct conversations, some answered
        started = await post(
            client, viewer, "/api/v1/conversations", handles=[friend.handle], message={"body": f"hi {n}"}
        )
        for reply in range(n % 3):
            await post(client, friend, f"/api/v1/conversations/{started['id']}/messages", body=f"re {reply}")
    group = await post(
        client,
        viewer,
        "/api/v1/conversations",
        handles=[f.handle for f in friends[:3]],
        message={"body": "all"},
    )
    for friend in friends[:3]:
        await post(client, friend, f"/api/v1/conversations/{group['id']}/messages", body="here")
    await post(client, viewer, f"/api/v1/conversations/{group['id']}/read", seq=group["last_seq"])

    budgets = Budgets()
    short, counted_short = await counted_get(client, runtime, viewer, "/api/v1/conversations", limit=2)
    long, counted_long = await counted_get(client, runtime, viewer, "/api/v1/conversations", limit=8)
    assert [len(short.json()["items"]), len(long.json()["items"])] == [2, 8]
    budgets.within("inbox API, 8 conversations", counted_long, INBOX)
    budgets.flat("inbox API", counted_short, counted_long)
    budgets.check()


async def test_the_list_of_sessions_reads_in_fixed_statements(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    viewer = await make_account(client, "viewer")
    log_in = {"login": "viewer", "password": PASSWORD}
    assert (await client.post("/api/v1/sessions", json=log_in)).status_code == 201
    budgets = Budgets()
    short, counted_short = await counted_get(client, runtime, viewer, "/api/v1/me/sessions")
    for _ in range(6):  # with the limit of log-ins per account and minute in mind
        assert (await client.post("/api/v1/sessions", json=log_in)).status_code == 201
    long, counted_long = await counted_get(client, runtime, viewer, "/api/v1/me/sessions")
    assert [len(short.json()["items"]), len(long.json()["items"])] == [2, 8]
    budgets.within("sessions list, 8 sessions", counted_long, SESSIONS)
    budgets.flat("sessions list", counted_short, counted_long)
    budgets.check()


async def test_the_drafts_list_reads_in_fixed_statements(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    creator = await make_account(client, "drafter")
    clip = make_tiny_clip(tmp_path)

    async def draft() -> None:
        with clip.open("rb") as f:
            accepted = await client.post(
                "/api/v1/videos",
                headers=creator.auth,
                files={"file": ("clip.mp4", f, "video/mp4")},
                data={"draft": "true"},
            )
        assert accepted.status_code == 202, accepted.text

    budgets = Budgets()
    counted: dict[str, list[QueryCount]] = {"/api/v1/me/drafts": [], "/studio/drafts": []}
    for size in (2, 8):
        while len((await client.get("/api/v1/me/drafts", headers=creator.auth)).json()["items"]) < size:
            await draft()
        for url, counts in counted.items():
            counts.append((await counted_get(client, runtime, creator, url))[1])
    for url, (short, long) in counted.items():
        budgets.within(f"{url}, 8 drafts", long, DRAFTS)
        budgets.flat(url, short, long)
    budgets.check()


# Creator analytics (reelm.analytics.queries): session; the account's hour cells, its top videos, their
# captions, follower growth, the follower count, the breakdowns. A video's: session, the video, its hour
# cells, its retention, its breakdowns.
ANALYTICS = {"us": 7 + HEADROOM}
VIDEO_ANALYTICS = {"us": 5 + HEADROOM}


async def test_analytics_read_in_fixed_statements_whatever_the_creators_videos_and_views(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    from reelm.analytics.release import roll_up  # noqa: PLC0415
    from tests.analytics.sessions import events_of, generate  # noqa: PLC0415

    clip = make_tiny_clip(tmp_path)
    creator = await make_account(client, "studio")
    fans = [await make_account(client, f"fan{i}") for i in range(3)]
    videos = [await upload(client, creator, clip, caption=f"clip {i}") for i in range(6)]
    await run_jobs(runtime, creator.realm)

    async def watched(video_ids: list[str]) -> None:
        for video_id in video_ids:
            for viewer in generate(fans, seed=int(video_id) % 1000):
                response = await client.post(
                    "/api/v1/events",
                    json={"events": events_of(viewer, video_id)},
                    headers=viewer.account.auth,
                )
                assert response.status_code == 200, response.text
        await roll_up(runtime, creator.realm)

    budgets = Budgets()
    counted: dict[str, list[QueryCount]] = {
        "/api/v1/studio/analytics": [],
        f"/api/v1/studio/analytics/videos/{videos[0]}": [],
    }
    for watched_now in (videos[:1], videos[1:]):  # one video watched, then six
        await watched(watched_now)
        for url, counts in counted.items():
            counts.append((await counted_get(client, runtime, creator, url, period="60d"))[1])
    for (url, (short, long)), budget in zip(counted.items(), (ANALYTICS, VIDEO_ANALYTICS), strict=True):
        budgets.within(f"{url}, six videos watched", long, budget)
        budgets.flat(url, short, long)
    budgets.check()
