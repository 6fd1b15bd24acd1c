"""JSON API for data exports: request one, watch it build, download it while it lasts.

The archive is protected and is served here, to its owner only, never through the public /media route.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from reelm.accounts.viewer import SignedInViewer
from reelm.errors import Problem, not_found
from reelm.exports.models import ExportStatus
from reelm.exports.schemas import ExportOut, export_out
from reelm.exports.service import access_export, do_request_export, is_expired
from reelm.runtime import Runtime
from reelm.storage import ObjectMissingError
from reelm.web.deps import Limiter, RuntimeDep, UserViewer
from reelm.web.params import IdPath

router = APIRouter(tags=["exports"])


async def request_export(runtime: Runtime, limiter: Limiter, viewer: SignedInViewer) -> ExportOut:
    """Shared by the API and the settings page's form."""
    limiter.hit("export", str(viewer.user.id), limit=runtime.settings.exports_per_day, per_seconds=86400)
    async with runtime.databases.transaction(viewer.realm) as session:
        export = await do_request_export(session, runtime, viewer.realm, viewer.user.id)
        return export_out(export, expired=False)


@router.post("/me/exports", status_code=202, response_model=ExportOut)
async def create_export(runtime: RuntimeDep, limiter: Limiter, viewer: UserViewer) -> ExportOut:
    """Ask for an archive of everything held about you; it is built in the background (poll its status)."""
    return await request_export(runtime, limiter, viewer)


@router.get("/me/exports/{export_id}", response_model=ExportOut)
async def get_export(runtime: RuntimeDep, viewer: UserViewer, export_id: IdPath) -> ExportOut:
    async with runtime.databases.read(viewer.realm) as session:
        export = await access_export(session, viewer.user.id, export_id)
    return export_out(export, expired=is_expired(export, datetime.now(UTC)))


@router.get("/me/exports/{export_id}/download", response_class=Response)
async def download_export(runtime: RuntimeDep, viewer: UserViewer, export_id: IdPath) -> Response:
    async with runtime.databases.read(viewer.realm) as session:
        export = await access_export(session, viewer.user.id, export_id)
    if is_expired(export, datetime.now(UTC)):
        raise Problem(410, "export-expired", "Export expired", "This archive has expired; request a new one.")
    if export.status != ExportStatus.READY or export.object_key is None:
        raise Problem(409, "export-not-ready", "Export not ready", "This archive is not ready yet.")
    store = runtime.storage.realm(viewer.realm)
    try:
        info = await store.head(export.object_key)
    except ObjectMissingError:
        raise not_found("Export") from None
    headers = {
        "Content-Disposition": f'attachment; filename="reelm-{viewer.user.handle}-{export.id}.zip"',
        "Content-Length": str(info.size),
        # Personal data: no shared cache may keep a copy.
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(
        store.stream(export.object_key, 0, info.size), headers=headers, media_type="application/zip"
    )
