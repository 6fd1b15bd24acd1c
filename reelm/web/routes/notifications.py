"""JSON API of notifications and unread counts, and the notifications page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from reelm import ids
from reelm.accounts.viewer import SignedInViewer
from reelm.errors import Problem, not_found
from reelm.messages.inbox import unread_counts
from reelm.notifications import preferences, service
from reelm.notifications.models import NotificationKind
from reelm.notifications.schemas import NotificationPage, NotificationSettingsIO, UnreadCounts
from reelm.runtime import Runtime
from reelm.security import check_csrf
from reelm.web.deps import CSRF_COOKIE, RuntimeDep, UserViewer, ViewerDep
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import CsrfForm, Cursor, IdPath
from reelm.web.rendering import error_page, render

router = APIRouter(tags=["notifications"])
pages = APIRouter(include_in_schema=False)


async def notification_page(
    runtime: Runtime, viewer: SignedInViewer, cursor: str | None, limit: int
) -> NotificationPage:
    """Shared by the API and the page."""
    user_id = viewer.user_id
    kind = f"notifications:{user_id}"
    before = None
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, kind)
        before = (datetime.fromisoformat(state["at"]), int(state["id"]))
    async with runtime.databases.read(viewer.realm) as session:
        rows = await service.list_notifications(session, user_id, before=before, limit=limit + 1)
        items = await service.notifications_out(session, viewer.realm, rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(
            runtime.settings.secret_key, kind, {"at": last.updated_at.isoformat(), "id": str(last.id)}
        )
    return NotificationPage(items=items, next_cursor=next_cursor)


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    runtime: RuntimeDep,
    viewer: UserViewer,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> NotificationPage:
    """Grouped notifications, latest first: "@alice and 3 others liked your video"."""
    return await notification_page(runtime, viewer, cursor, limit)


@router.post("/notifications/{notification_id}/read", status_code=204)
async def mark_read(runtime: RuntimeDep, viewer: UserViewer, notification_id: IdPath) -> None:
    parsed = ids.parse_id(notification_id)
    if parsed is None:
        raise not_found("Notification")
    async with runtime.databases.transaction(viewer.realm) as session:
        notification = await service.access_notification(session, viewer.user_id, parsed)
        await service.do_mark_read(session, viewer.user_id, notification)


@router.post("/notifications/read-all", status_code=204)
async def mark_all_read(runtime: RuntimeDep, viewer: UserViewer) -> None:
    async with runtime.databases.transaction(viewer.realm) as session:
        await service.do_mark_read(session, viewer.user_id, None)


async def unread(runtime: Runtime, viewer: SignedInViewer) -> UnreadCounts:
    user_id = viewer.user_id
    async with runtime.databases.read(viewer.realm) as session:
        messages, requests = await unread_counts(session, user_id)
        notifications = await service.unread_count(session, user_id)
    return UnreadCounts(notifications=notifications, messages=messages, requests=requests)


@router.get("/me/unread", response_model=UnreadCounts)
async def get_unread(runtime: RuntimeDep, viewer: UserViewer) -> UnreadCounts:
    """The badges: unread notifications, inbox conversations and message requests."""
    return await unread(runtime, viewer)


# --- the page -------------------------------------------------------------------------------------------


@pages.get("/notifications")
async def notifications_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    cursor: Cursor = None,
) -> Response:
    if (me := viewer.signed_in()) is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    try:
        page = await notification_page(runtime, me, cursor, 50)
    except Problem as problem:  # a forged or stale cursor in the address
        return error_page(request, me, problem)
    return render(
        request,
        me,
        "notifications.html",
        notifications=[n.model_dump(mode="json") for n in page.items],
        next_cursor=page.next_cursor,
    )


@pages.post("/notifications/read-all")
async def notifications_read_all_form(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    csrf_token: CsrfForm = "",
) -> Response:
    """The page's "Mark all as read" without JavaScript."""
    if viewer.user is None:
        return RedirectResponse("/login?next=/notifications", status_code=303)
    if not check_csrf(runtime.settings.secret_key, request.cookies.get(CSRF_COOKIE), csrf_token):
        raise Problem(403, "csrf", "CSRF check failed", "Reload the page and try again.")
    async with runtime.databases.transaction(viewer.realm) as session:
        await service.do_mark_read(session, viewer.user.id, None)
    return RedirectResponse("/notifications", status_code=303)


# --- which kinds -----------------------------------------------------------------------------------------


@router.get("/me/notification-settings", response_model=NotificationSettingsIO)
async def get_notification_settings(runtime: RuntimeDep, viewer: UserViewer) -> NotificationSettingsIO:
    async with runtime.databases.read(viewer.realm) as session:
        kinds = await preferences.preferences(session, viewer.user_id)
    return NotificationSettingsIO.model_validate({"kinds": kinds})


@router.put("/me/notification-settings", response_model=NotificationSettingsIO)
async def put_notification_settings(
    runtime: RuntimeDep, viewer: UserViewer, body: NotificationSettingsIO
) -> NotificationSettingsIO:
    """Turn kinds of notification on or off. A kind turned off is no longer recorded for you, and what
    of it is unread no longer counts in the badge or shows in the list."""
    choices = {NotificationKind(kind): on for kind, on in body.kinds.items()}
    async with runtime.databases.transaction(viewer.realm) as session:
        await preferences.do_set_preferences(session, viewer.user_id, choices)
        kinds = await preferences.preferences(session, viewer.user_id)
    return NotificationSettingsIO.model_validate({"kinds": kinds})
