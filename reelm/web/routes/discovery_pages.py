"""Pages of discovery: search (results in tabs, and the video results as a feed to swipe), Explore, the
hashtags one follows, and the welcome that offers a new account interests and people to follow.

They render what the JSON API answers (reelm.web.routes.search); the browser's scripts do the rest
(static/js/search.js, typeahead.js, discover.js, and feed.js for the results as a feed).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from reelm.errors import Problem
from reelm.inputs import Line
from reelm.realms.models import Capability
from reelm.recommend.schemas import MAX_PICKED, InterestsIn
from reelm.recommend.service import access_interests, do_pick_interests
from reelm.search.explore import DAYS, explore
from reelm.search.hashtag_follows import followed_hashtags
from reelm.search.schemas import SearchTab
from reelm.web.capabilities import refusal
from reelm.web.deps import RuntimeDep, ViewerDep
from reelm.web.params import CsrfForm, IdQuery, NextForm, NextQuery
from reelm.web.rendering import check_form_csrf, login_redirect, refused_page, render, safe_next
from reelm.web.routes.search import MAX_QUERY_CHARS

router = APIRouter(include_in_schema=False)

SearchQuery = Annotated[Line, Query(max_length=MAX_QUERY_CHARS)]
SPARK_WIDTH, SPARK_HEIGHT = 84, 24
WELCOME_TAGS = 12


def sparkline(daily: list[int]) -> str:
    """The points of an SVG polyline drawing the counts left (oldest) to right, the highest at the top."""
    top = max(max(daily, default=0), 1)
    step = SPARK_WIDTH / max(len(daily) - 1, 1)
    return " ".join(
        f"{round(i * step, 1)},{round(SPARK_HEIGHT - 2 - (n / top) * (SPARK_HEIGHT - 4), 1)}"
        for i, n in enumerate(daily)
    )


@router.get("/search")
async def search_page(
    request: Request, viewer: ViewerDep, q: SearchQuery = "", tab: SearchTab = SearchTab.TOP
) -> Response:
    """The shell of the results; search.js asks the API and fills it (and lists recent searches)."""
    if refused := refused_page(request, viewer, viewer.realm, Capability.SEARCH):
        return refused
    tabs = [t.value for t in SearchTab]
    return render(request, viewer, "search.html", q=q.strip(), tab=tab.value, tabs=tabs)


@router.get("/search/watch")
async def search_watch_page(
    request: Request, viewer: ViewerDep, q: SearchQuery = "", start: IdQuery = None
) -> Response:
    """The video results of a search in the vertical player, from the one tapped on; swipe for the next."""
    if refused := refused_page(request, viewer, viewer.realm, Capability.SEARCH):
        return refused
    if not q.strip():
        return RedirectResponse("/search", status_code=303)
    return render(request, viewer, "search_watch.html", q=q.strip(), start=start)


@router.get("/explore")
async def explore_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    if refused := refused_page(request, viewer, viewer.realm, Capability.SEARCH):
        return refused
    async with runtime.databases.search(viewer.realm) as session:  # as the API reads it
        found = await explore(session, viewer, base_url=runtime.settings.base_url)
    trends: list[dict[str, Any]] = [
        {**trend.model_dump(mode="json"), "points": sparkline(trend.daily)} for trend in found.trending
    ]
    return render(
        request,
        viewer,
        "explore.html",
        days=[d.isoformat() for d in found.days],
        trends=trends,
        rising=[a.model_dump(mode="json") for a in found.rising],
        sounds=[s.model_dump(mode="json") for s in found.sounds],
        spark={"width": SPARK_WIDTH, "height": SPARK_HEIGHT, "days": DAYS},
    )


@router.get("/settings/hashtags")
async def followed_hashtags_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    """The hashtags one follows, each with an unfollow button."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    async with runtime.databases.read(me.realm) as session:
        tags = await followed_hashtags(session, me.user.id)
    return render(request, me, "settings_hashtags.html", hashtags=[t.model_dump(mode="json") for t in tags])


@router.get("/welcome")
async def welcome_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, next: NextQuery = "/"
) -> Response:
    """After sign-up: pick interests (among the trending tags, or typed) and follow a few rising creators."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    trends: list[str] = []
    rising: list[dict[str, Any]] = []
    async with runtime.databases.read(me.realm) as session:
        picked = (await access_interests(session, me.user.id)).picked
        if refusal(request, me.realm, Capability.SEARCH, me.user_id) is None:
            found = await explore(session, me, base_url=runtime.settings.base_url)
            trends = [t.tag for t in found.trending][:WELCOME_TAGS]
            rising = [a.model_dump(mode="json") for a in found.rising]
    return render(
        request,
        me,
        "welcome.html",
        trends=trends,
        picked=picked,
        rising=rising,
        next=safe_next(next),
        max_picked=MAX_PICKED,
        error=None,
    )


@router.post("/welcome")
async def welcome_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    tags: Annotated[list[Line] | None, Form()] = None,
    more: Annotated[Line, Form(max_length=1100)] = "",
    csrf_token: CsrfForm = "",
    next: NextForm = "/",
) -> Response:
    """The interests picked on the welcome page, then on to where the person was going."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    check_form_csrf(request, csrf_token)
    typed = [t.strip().lstrip("#").lower() for t in more.replace(",", " ").split() if t.strip()]
    chosen = list(dict.fromkeys([*(t.lower() for t in tags or []), *typed]))
    try:
        picked = InterestsIn(hashtags=chosen)
    except ValueError:
        problem = Problem(
            422,
            "invalid-request",
            "The request is not valid",
            f"Interests: up to {MAX_PICKED} hashtags of letters, digits or _",
        )
        return render(
            request,
            me,
            "welcome.html",
            422,
            trends=[],
            picked=chosen,
            rising=[],
            next=safe_next(next),
            max_picked=MAX_PICKED,
            error=problem.detail,
        )
    async with runtime.databases.transaction(me.realm) as session:
        await do_pick_interests(session, me.user.id, picked.hashtags)
    return RedirectResponse(safe_next(next), status_code=303)
