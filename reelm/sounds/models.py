"""What sounds keep: the landmark hashes of each sound's audio, which an upload's audio is looked up in."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, PrimaryKeyConstraint, SmallInteger
from sqlalchemy.orm import Mapped

from reelm.db import RealmBase, public

# The `sound_id` of a hash's "full" mark: ids are positive, so no sound has it (reelm.sounds.matching).
FULL_MARK = -1


class SoundLandmark(RealmBase):
    """One landmark of a sound (reelm.sounds.fingerprint): a 24-bit hash and the frame (32 ms) of its anchor.

    A sound keeps each hash at most once and at most MAX_STORED_LANDMARKS of them. The primary key (hash,
    sound_id), with the frame included, is the lookup index: one probe per hash of an upload reads that hash's
    rows and nothing else, from the index alone. A hash is shared by at most HASH_CAPACITY sounds; the row
    (hash, FULL_MARK) says it has reached that (it sorts first, so one probe tells). `sound_id` is the id of
    the sound (the `sounds` table arrives with revision 0021; no foreign key until then); its index serves
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
