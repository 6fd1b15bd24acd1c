"""The viewer's interest profile as they see and control it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from reelm.inputs import Tag

MAX_PICKED = 20


class WeightOut(BaseModel):
    name: str  # a hashtag, or a creator id
    weight: float


class InterestsOut(BaseModel):
    picked: list[str]  # interests the viewer chose
    learned_hashtags: list[WeightOut]  # what the engine learnt from their events, strongest first
    learned_creators: list[WeightOut]
    hidden_creators: list[str]
    not_interested: int  # videos marked "not interested"
    events: int  # events learnt from since the last reset
    updated_at: datetime | None
    reset_at: datetime | None


class InterestsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hashtags: list[Tag] = Field(max_length=MAX_PICKED)
