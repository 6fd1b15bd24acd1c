"""The export job: gather a user's data and media into one ZIP in the home realm's bucket."""

from __future__ import annotations

import asyncio
import json
import logging
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from reelm.exports.models import DataExport, ExportStatus
from reelm.exports.service import BUILD_TASK, export_key, gather
from reelm.jobs import MEDIA_QUEUE, MEDIA_RETRY, job_app, realm_of, runtime_of
from reelm.runtime import Runtime
from reelm.scratch import scratch
from reelm.storage import ObjectMissingError

log = logging.getLogger(__name__)

# Shares of the progress bar: gathering the rows, copying the media, storing the archive.
GATHERED = 10
MEDIA_DONE = 90


async def _set(runtime: Runtime, realm: str, export_id: int, **values: Any) -> None:
    # Each step commits on its own so the settings page sees progress while the build runs.
    async with runtime.databases.transaction(realm) as session:
        await session.execute(update(DataExport).where(DataExport.id == export_id).values(**values))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    # Deflated: JSON compresses well, unlike the media, which is already compressed and stored as is.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _append_media(path: Path, source: Path, name: str) -> None:
    with zipfile.ZipFile(path, "a") as archive:
        archive.write(source, name, compress_type=zipfile.ZIP_STORED)


async def build(runtime: Runtime, realm: str, export_id: int) -> None:
    """Idempotent: a retry rebuilds the archive from scratch under the same key, overwriting a partial one."""
    async with runtime.databases.transaction(realm) as session:
        export = await session.get(DataExport, export_id, with_for_update=True)
        if export is None or export.status not in (ExportStatus.REQUESTED, ExportStatus.BUILDING):
            return  # already finished (or the account is gone): nothing to redo
        user_id = export.user_id
        export.status, export.progress = ExportStatus.BUILDING, 0
    data, media = await gather(runtime, realm, user_id)
    await _set(runtime, realm, export_id, progress=GATHERED)
    store = runtime.storage.realm(realm)
    with scratch(runtime.settings.data_dir) as tmp:
        archive = tmp / "export.zip"
        await asyncio.to_thread(_write_json, archive, data)
        for done, (key, name) in enumerate(media, start=1):
            source = tmp / "media"
            try:
                await store.download(key, source)
            except ObjectMissingError:
                # A video removed while the archive was built: its row is already in data.json.
                log.info("export %s: %s vanished", export_id, key)
                continue
            await asyncio.to_thread(_append_media, archive, source, name)
            source.unlink()
            progress = GATHERED + (MEDIA_DONE - GATHERED) * done // len(media)
            await _set(runtime, realm, export_id, progress=progress)
        key = export_key(user_id, export_id)
        await store.put_file(key, archive)
        size = archive.stat().st_size
    now = datetime.now(UTC)
    await _set(
        runtime,
        realm,
        export_id,
        status=ExportStatus.READY,
        progress=100,
        object_key=key,
        size_bytes=size,
        ready_at=now,
        expires_at=now + timedelta(days=runtime.settings.export_days),
    )


@job_app.task(name=BUILD_TASK, queue=MEDIA_QUEUE, retry=MEDIA_RETRY, pass_context=True)
async def build_data_export(context: Any, export_id: int) -> None:
    runtime, realm = runtime_of(context), realm_of(context)
    try:
        await build(runtime, realm, export_id)
    except Exception:
        # On the last attempt, say so instead of leaving the export building forever (and the slot taken).
        if context.job.attempts + 1 >= MEDIA_RETRY.max_attempts:
            log.exception("export %s failed for good", export_id)
            await _set(runtime, realm, export_id, status=ExportStatus.FAILED)
            return
        raise
