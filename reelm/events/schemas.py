"""Event batches as the client sends them: validated whole, before anything is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from reelm.events.models import EventKind, TrafficSource

MAX_BATCH = 100
MAX_WATCHED_S = 3600.0  # longer than any video times its loops a viewer plausibly sits through
MAX_LOOPS = 100

ClientId = Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
VideoId = Annotated[str, StringConstraints(min_length=1, max_length=19, pattern=r"^[0-9]+$")]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ClientId  # chosen by the client (a random id per event): a resent event counts once
    video_id: VideoId
    kind: EventKind
    watched_s: float = Field(default=0.0, ge=0.0, le=MAX_WATCHED_S)
    loops: int = Field(default=0, ge=0, le=MAX_LOOPS)
    at: datetime | None = None  # when it happened on the client; the receiving time when absent
    source: TrafficSource | None = None  # where the viewer found the video (the creator's analytics)


class EventBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _distinct_ids(self) -> EventBatchIn:
        ids = [e.id for e in self.events]
        if len(set(ids)) != len(ids):
            raise ValueError("event ids must be distinct within a batch")
        return self


class EventBatchOut(BaseModel):
    accepted: int  # events stored by this request
    duplicates: int  # events already stored by an earlier request (same client id): ignored
