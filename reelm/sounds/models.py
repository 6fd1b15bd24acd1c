"""What sounds keep: the landmark hashes of each sound's audio, which an upload's audio is looked up in."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, public, utcnow


class SoundLandmark(RealmBase):
    """One landmark of a sound (reelm.sounds.fingerprint): a 24-bit hash and the frame (32 ms) of its anchor.

    A sound keeps each hash at most once and at most MAX_STORED_LANDMARKS of them, and a hash is shared by at
    most HASH_CAPACITY sounds (sounds choose the least shared of their strong hashes). The primary key (hash,
    sound_id), with the frame included, is the lookup index: one probe per hash of an upload reads that hash's
    rows and nothing else, from the index alone. `sound_id` is the id of the sound, without a foreign key (the
    table predates `sounds`; `matching.forget_sound_landmarks` removes a sound's rows); its index serves
    replacing or forgetting one sound's rows.

    Public: a few numbers derived from the audio of a video that others may reuse, from which the audio cannot
    be rebuilt.
    """

    __tablename__ = "sound_landmarks"
    __table_args__ = (
        PrimaryKeyConstraint("hash", "sound_id", name="pk_sound_landmarks", postgresql_include=["frame"]),
        Index("ix_sound_landmarks_sound_id", "sound_id"),
    )

    # Widest first, so that a row has no padding (sound_id 8 + hash 4 + frame 2 bytes).
    sound_id: Mapped[int] = public(BigInteger)
    hash: Mapped[int] = public(Integer)
    frame: Mapped[int] = public(SmallInteger)


class SoundStatus(enum.StrEnum):
    AVAILABLE = "available"
    # Taken down (a legal order or a review decision): no new uses, and muted in every video that uses it.
    UNAVAILABLE = "unavailable"


class Sound(RealmBase):
    """The audio of one published video ("original sound - @handle" until its creator names it), stored as
    its own loudness-normalised rendition. Other videos use it by id, in any realm (videos.sound_id)."""

    __tablename__ = "sounds"

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = public(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The video whose audio it is; the sound goes with it.
    video_id: Mapped[int] = public(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str | None] = public(Text)
    audio_key: Mapped[str] = public(Text)  # AAC at -14 LUFS integrated (reelm.videos.remix_audio)
    duration_s: Mapped[float] = public(Float)
    loudness_lufs: Mapped[float] = public(Float)
    waveform: Mapped[list[int]] = public(ARRAY(SmallInteger))  # peaks, 0..100
    status: Mapped[str] = public(String(12), default=SoundStatus.AVAILABLE)
    status_reason: Mapped[str | None] = public(Text)
    created_at: Mapped[datetime] = public(TZ, default=utcnow)
