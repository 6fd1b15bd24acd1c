"""Embedding: a public video shown in another site's page (an iframe), where its creator allows it.

The page is rendered for an anonymous visitor whatever cookies the browser sends (a third-party frame must
not show what the signed-in viewer may see), and it is the only page another origin may frame
(`frame-ancestors *`). It carries no script. A video that is not public, not ready, not allowed to be
embedded or not watchable in its realm now (a realm switch) shows why, in the frame, with the status a page
would have.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from reelm import ids
from reelm.accounts.viewer import Viewer
from reelm.errors import Problem
from reelm.realms.models import Capability
from reelm.web.capabilities import refusal
from reelm.web.deps import RuntimeDep
from reelm.web.params import IdPath
from reelm.web.rendering import render
from reelm.web.routes.videos import get_video

router = APIRouter(include_in_schema=False)

# Any site may frame it; it loads only our own style sheet, poster and video.
EMBED_POLICY = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; "
    "frame-ancestors *; base-uri 'none'; form-action 'none'"
)


# Why a frame shows no video (the page words them); a realm switch's refusal shows the operator's notice.
UNAVAILABLE, NOT_ALLOWED = "unavailable", "not-allowed"


def embed_code(base_url: str, video_id: str) -> str:
    """The HTML a site pastes to embed a video: a 9:16 frame of phone width."""
    return (
        f'<iframe src="{base_url.rstrip("/")}/embed/{video_id}" width="325" height="578" '
        'style="border:0" allow="fullscreen; picture-in-picture" allowfullscreen></iframe>'
    )


@router.get("/embed/{video_id}")
async def embed_page(request: Request, runtime: RuntimeDep, video_id: IdPath) -> HTMLResponse:
    visitor = Viewer(user=None, realm=runtime.settings.default_realm)
    parsed = ids.parse_id(video_id)
    realm = runtime.settings.realm_of_id(parsed) if parsed is not None else None
    if realm is None:
        return _page(request, visitor, None, 404, UNAVAILABLE)
    if (switched_off := refusal(request, realm, Capability.WATCH, None)) is not None:
        return _page(request, visitor, None, switched_off.status, switched_off.detail or switched_off.title)
    try:
        card = await get_video(runtime, visitor, video_id)
    except Problem as problem:
        if problem.status >= 500:
            raise
        return _page(request, visitor, None, problem.status, UNAVAILABLE)
    if not card.can_embed:
        return _page(request, visitor, None, 403, NOT_ALLOWED)
    return _page(request, visitor, card.model_dump(mode="json"), 200, None)


def _page(
    request: Request, visitor: Viewer, video: dict[str, object] | None, status: int, reason: str | None
) -> HTMLResponse:
    response = render(request, visitor, "embed.html", status_code=status, video=video, reason=reason)
    response.headers["Content-Security-Policy"] = EMBED_POLICY
    return response
