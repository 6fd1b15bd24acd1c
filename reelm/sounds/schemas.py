"""Sound payloads of the JSON API: a sound's page, the sounds that search and Explore list, a rename."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, Field

from reelm.inputs import Line

MAX_TITLE_CHARS = 80


class SoundRefusal(enum.StrEnum):
    """Why a viewer may not use a sound: stable values a client words in its own language."""

    UNAVAILABLE = "unavailable"  # taken down
    ORIGINAL_GONE = "original_gone"  # the video it comes from is no longer public
    NOT_ALLOWED = "not_allowed"  # its creator does not allow others to use it


class SoundCreator(BaseModel):
    id: str
    handle: str
    display_name: str
    avatar_url: str | None


class SoundSummary(BaseModel):
    """A sound as lists show it (search results, typeahead, Explore)."""

    id: str
    realm: str = Field(description="the realm that holds the sound (its creator's)")
    title: str = Field(
        description='its title, or "original sound - @handle" while its creator has not named it'
    )
    named: bool = Field(
        description="its creator named it (else a client may word the default in its language)"
    )
    creator: SoundCreator
    cover_url: str | None = Field(description="the poster of the video the sound comes from")
    duration_s: float
    video_count: int = Field(
        description="public videos using it, of every realm, as this viewer may see them"
    )
    available: bool = Field(description="false once taken down")


class SoundOriginal(BaseModel):
    """The video whose audio the sound is."""

    id: str
    realm: str
    poster_url: str | None


class SoundOut(SoundSummary):
    """A sound's page."""

    status: str = Field(description="available, or unavailable once taken down")
    message: str | None = Field(description="why it cannot be played or used, when it cannot")
    original: SoundOriginal
    waveform: list[int] = Field(description="peaks from start to end, 0 (silence) to 100")
    audio_url: str | None = Field(description="the sound alone (AAC, -14 LUFS); withheld once taken down")
    created_at: datetime
    can_use: bool = Field(
        description="this viewer may make a video with it: it is available and its creator allows reuse (the "
        "creator always may); a visitor must log in first"
    )
    use_refusal: SoundRefusal | None = Field(description="why this viewer may not use it, when they may not")
    can_rename: bool = Field(description="this viewer is its creator")


class SoundTitleIn(BaseModel):
    title: Line = Field(min_length=1, max_length=MAX_TITLE_CHARS, description="one line, 1-80 characters")
