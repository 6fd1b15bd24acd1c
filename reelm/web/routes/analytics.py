"""Creator analytics: the JSON API, CSV exports of every chart, and the studio's pages (reelm.analytics).

Only the creator reads their figures: the account's are the signed-in viewer's own, and a video's answer
404 for an unknown video and 403 for someone else's. Figures are read from the creator's realm, where every
realm's aggregates arrive (reelm.analytics.release).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.analytics import charts
from reelm.analytics.queries import MAX_RANGE_DAYS, Window, account_figures, video_figures, window
from reelm.analytics.schemas import AccountFigures, VideoFigures
from reelm.errors import Problem, not_found
from reelm.ids import parse_id
from reelm.runtime import Runtime
from reelm.videos.models import Video
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.params import IdPath
from reelm.web.rendering import error_page, login_redirect, render

router = APIRouter(tags=["analytics"])
pages = APIRouter(include_in_schema=False)

Period = Annotated[
    Literal["7d", "28d", "60d", "custom"], Query(description="the last 7, 28 or 60 days, or start..end")
]
# A day as the calendar writes it: text with a pattern, so that nothing but YYYY-MM-DD (not a number of
# seconds) is taken for one.
DayQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="a custom range's first or last day (YYYY-MM-DD)"
    ),
]
ZoneQuery = Annotated[
    str,
    Query(
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$",
        description="the creator's time zone (IANA name, e.g. Europe/Berlin): days and hours are theirs",
    ),
]
AccountChart = Annotated[
    Literal["days", "followers", "top_videos", "heatmap", "sources", "countries", "realms"],
    Query(description="which chart's data"),
]
VideoChart = Annotated[
    Literal["days", "retention", "sources", "countries", "realms"], Query(description="which chart's data")
]


def _day(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise Problem(
            422,
            "invalid-input",
            "Invalid day",
            f"{value} is not a day of the calendar.",
            errors=[{"field": field, "message": "not a day of the calendar"}],
        ) from error


def _window(period: str, start_text: str | None, end_text: str | None, tz: str) -> Window:
    start, end = _day(start_text, "start"), _day(end_text, "end")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise Problem(
            422,
            "invalid-input",
            "Unknown time zone",
            f"{tz} is not a time zone of the IANA database.",
            errors=[{"field": "tz", "message": "unknown time zone"}],
        ) from error
    if period == "custom" and (
        start is None or end is None or end < start or (end - start).days >= MAX_RANGE_DAYS
    ):
        raise Problem(
            422,
            "invalid-input",
            "Invalid range",
            f"A custom range needs a start and an end, in order, at most {MAX_RANGE_DAYS} days apart.",
            errors=[{"field": "start", "message": "start and end, in order, within a year"}],
        )
    return window(period, start, end, zone)


async def _own_video(session_realm: str, runtime: Runtime, viewer: SignedInViewer, video_id: str) -> Video:
    parsed = parse_id(video_id)
    if parsed is None or runtime.settings.realm_of_id(parsed) != session_realm:
        if parsed is not None and runtime.settings.realm_of_id(parsed) is not None:
            raise Problem(403, "forbidden", "Not your video", "Only its creator sees a video's analytics.")
        raise not_found("Video")
    async with runtime.databases.read(session_realm) as session:
        video = await session.scalar(select(Video).where(Video.id == parsed))
    if video is None:
        raise not_found("Video")
    if video.owner_id != viewer.user.id:
        raise Problem(403, "forbidden", "Not your video", "Only its creator sees a video's analytics.")
    return video


async def read_account(runtime: Runtime, viewer: SignedInViewer, w: Window, period: str) -> AccountFigures:
    async with runtime.databases.read(viewer.realm) as session:
        return await account_figures(session, viewer.user.id, w, period)


async def read_video(
    runtime: Runtime, viewer: SignedInViewer, video_id: str, w: Window, period: str
) -> VideoFigures:
    video = await _own_video(viewer.realm, runtime, viewer, video_id)
    async with runtime.databases.read(viewer.realm) as session:
        return await video_figures(session, viewer.user.id, video, w, period)


@router.get("/studio/analytics", response_model=AccountFigures)
async def get_account_analytics(
    runtime: RuntimeDep,
    viewer: UserViewer,
    period: Period = "28d",
    start: DayQuery = None,
    end: DayQuery = None,
    tz: ZoneQuery = "UTC",
) -> AccountFigures:
    """Your account's figures over a period: views, watch time, likes, follows, followers per day, your top
    videos, when your followers are active (hour x weekday in `tz`), traffic sources, countries and realms.
    Fresh within two minutes of the events; viewers of other realms arrive in groups of ten or more."""
    return await read_account(runtime, viewer, _window(period, start, end, tz), period)


@router.get("/studio/analytics/videos/{video_id}", response_model=VideoFigures)
async def get_video_analytics(
    runtime: RuntimeDep,
    viewer: UserViewer,
    video_id: IdPath,
    period: Period = "28d",
    start: DayQuery = None,
    end: DayQuery = None,
    tz: ZoneQuery = "UTC",
) -> VideoFigures:
    """One of your videos: views, unique viewers, watch time, % watched, watched in full, the retention curve
    (share of views still watching at each second), sources, countries, realms, engagement per day."""
    return await read_video(runtime, viewer, video_id, _window(period, start, end, tz), period)


# How the OpenAPI document describes a chart's CSV export.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the chart's data as CSV"}
}


def _csv(rows: list[list[object]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        # A cell starting with a formula character is quoted as text for spreadsheets (CSV injection).
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@\t\r" else v for v in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get(
    "/studio/analytics/export.csv",
    response_class=Response,
    responses=CSV_RESPONSES,
)
async def export_account_chart(
    runtime: RuntimeDep,
    viewer: UserViewer,
    chart: AccountChart = "days",
    period: Period = "28d",
    start: DayQuery = None,
    end: DayQuery = None,
    tz: ZoneQuery = "UTC",
) -> Response:
    """One chart of your account's analytics as CSV (the same figures as the JSON)."""
    figures = await read_account(runtime, viewer, _window(period, start, end, tz), period)
    return _csv(
        charts.account_table(figures, chart), f"analytics-{chart}-{figures.range.start}-{figures.range.end}"
    )


@router.get(
    "/studio/analytics/videos/{video_id}/export.csv",
    response_class=Response,
    responses=CSV_RESPONSES,
)
async def export_video_chart(
    runtime: RuntimeDep,
    viewer: UserViewer,
    video_id: IdPath,
    chart: VideoChart = "days",
    period: Period = "28d",
    start: DayQuery = None,
    end: DayQuery = None,
    tz: ZoneQuery = "UTC",
) -> Response:
    """One chart of a video's analytics as CSV (its creator only)."""
    figures = await read_video(runtime, viewer, video_id, _window(period, start, end, tz), period)
    return _csv(charts.video_table(figures, chart), f"video-{video_id}-{chart}")


# ---- pages -----------------------------------------------------------------------------------------------

TZ_COOKIE = "reelm_tz"


def _page_zone(request: Request, tz: str | None) -> str:
    for candidate in (tz, request.cookies.get(TZ_COOKIE)):
        if candidate and len(candidate) <= 64:
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return candidate
    return "UTC"


def _period_picker(period: str, start: str | None, end: str | None, zone: str) -> dict[str, Any]:
    """What an analytics page's period picker and CSV links need: the chosen window and today's bounds."""
    return {
        "query": _query(period, start, end, zone),
        "period": period,
        "today": date.today(),
        "default_start": date.today() - timedelta(days=27),
    }


def _query(period: str, start: str | None, end: str | None, tz: str) -> str:
    extra = f"&start={start}&end={end}" if period == "custom" and start and end else ""
    return f"period={period}{extra}&tz={tz}"


@pages.get("/studio/analytics")
async def dashboard_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    period: Period = "28d",
    start: DayQuery = None,
    end: DayQuery = None,
    tz: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The studio's dashboard: the account's charts, each with its table and CSV."""
    me = viewer.signed_in()
    if me is None:
        return login_redirect(request)
    zone = _page_zone(request, tz)
    try:
        figures = await read_account(runtime, me, _window(period, start, end, zone), period)
    except Problem as problem:
        return error_page(request, me, problem)
    return render(
        request,
        me,
        "studio_analytics.html",
        200,
        figures=figures,
        charts=charts.account_charts(figures),
        **_period_picker(period, start, end, zone),
    )


@pages.get("/studio/analytics/videos/{video_id}")
async def video_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: IdPath,
    period: Period = "28d",
    start: DayQuery = None,
    end: DayQuery = None,
    tz: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """One video's analytics: its figures, retention curve, sources and engagement, each with a table and
    CSV."""
    me: Viewer | None = viewer.signed_in()
    if me is None:
        return login_redirect(request)
    zone = _page_zone(request, tz)
    try:
        figures = await read_video(runtime, me, video_id, _window(period, start, end, zone), period)  # type: ignore[arg-type]
    except Problem as problem:
        return error_page(request, me, problem)
    return render(
        request,
        me,
        "studio_video_analytics.html",
        200,
        figures=figures,
        charts=charts.video_charts(figures),
        **_period_picker(period, start, end, zone),
    )
