"""Data export payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from reelm.exports.models import DataExport


class ExportOut(BaseModel):
    id: str
    status: str
    progress: int
    size_bytes: int | None
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    download_url: str | None


def export_out(export: DataExport, *, expired: bool) -> ExportOut:
    ready = export.status == "ready" and not expired
    return ExportOut(
        id=str(export.id),
        # A ready archive past its time is reported as what it now is, whatever the row still says.
        status="expired" if expired else export.status,
        progress=export.progress,
        size_bytes=export.size_bytes,
        created_at=export.created_at,
        ready_at=export.ready_at,
        expires_at=export.expires_at,
        download_url=f"/api/v1/me/exports/{export.id}/download" if ready else None,
    )
