"""Videos and their renditions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, relationship

from reelm.db import TZ, RealmBase, protected, public, utcnow


class VideoStatus(enum.StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"
    HELD = "held"  # matched a hold list or rule: not published until a reviewer decides (reelm.moderation)
    REMOVED = "removed"  # removed by a moderation decision; its creator sees why


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class RemixKind(enum.StrEnum):
    DUET = "duet"  # side by side with the original
    STITCH = "stitch"  # up to 5 s of the original, then the new clip
    SOUND = "sound"  # the new clip, with a chosen sound mixed in


class CommentPolicy(enum.StrEnum):
    """Who may comment on a video (reelm.videos.permissions). The creator always may."""

    EVERYONE = "everyone"
    FOLLOWED_BACK = "followed_back"  # only accounts the creator follows
    FOLLOWERS = "followers"  # only accounts that follow the creator (reelm.social.comment_controls)
    NO_ONE = "no_one"  # only the creator


# Downloads are the one permission that is off unless the creator turns it on (TikTok has it on for public
# accounts): a downloaded copy leaves the platform for good, so deleting the video or making it private no
# longer takes it back, and sign-up asks no birth date, so the platform cannot tell the teenagers for whom
# TikTok turns downloads off. Duets, stitches, sound reuse and embeds stay on the platform (or play from it)
# and follow the video when it goes; they are on by default, as on TikTok. A creator who wants downloads
# turns them on once, in the defaults for new videos (settings).
ALLOW_DOWNLOAD_DEFAULT = False


class Video(RealmBase):
    __tablename__ = "videos"
    __table_args__ = (
        Index("ix_videos_owner_created", "owner_id", "created_at"),
        Index("ix_videos_published", "published_at"),
        Index("ix_videos_hashtags", "hashtags", postgresql_using="gin"),
        # The worker's sweep of scheduled drafts (reelm.publishing.scheduled) reads only those that are due.
        Index("ix_videos_scheduled", "publish_at", postgresql_where=text("draft AND publish_at IS NOT NULL")),
    )

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = public(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    caption: Mapped[str] = public(Text, default="")
    hashtags: Mapped[list[str]] = public(ARRAY(Text), default=list)
    mentions: Mapped[list[str]] = public(ARRAY(Text), default=list)
    visibility: Mapped[str] = public(String(10), default=Visibility.PUBLIC)
    status: Mapped[str] = public(String(12), default=VideoStatus.PROCESSING)
    status_detail: Mapped[str] = public(Text, default="")  # progress while processing
    reject_code: Mapped[str | None] = public(String(40))
    reject_reason: Mapped[str | None] = public(Text)
    width: Mapped[int | None] = public(Integer)
    height: Mapped[int | None] = public(Integer)
    duration_s: Mapped[float | None] = public(Float)
    poster_key: Mapped[str | None] = public(Text)
    created_at: Mapped[datetime] = public(TZ, default=utcnow)
    published_at: Mapped[datetime | None] = public(TZ)
    like_count: Mapped[int] = public(Integer, default=0)
    comment_count: Mapped[int] = public(Integer, default=0)
    share_count: Mapped[int] = public(Integer, default=0)
    # Reposts of the video (reelm.social.reposts): this realm's counted here, other realms' by their tallies.
    # Shown to its creator only. The server default fills the rows of revision 0025.
    repost_count: Mapped[int] = public(Integer, default=0, server_default=text("0"))
    view_count: Mapped[int] = public(BigInteger, default=0)
    # Set by moderation decisions (reelm.moderation); projected with the video, so every realm applies them.
    # The server defaults are revision 0009's (it added these NOT NULL columns to existing rows): a writer
    # that predates them, such as an older process during a deploy, still inserts videos.
    mod_label: Mapped[str | None] = public(Text)
    age_restricted: Mapped[bool] = public(Boolean, default=False, server_default=text("false"))
    demoted: Mapped[bool] = public(Boolean, default=False, server_default=text("false"))
    restricted_realms: Mapped[list[str]] = public(  # not shown in these realms
        ARRAY(Text), default=list, server_default=text("'{}'")
    )
    # What others may do with the video (reelm.videos.permissions), set at upload and editable later;
    # projected with it, so every realm enforces them. Server defaults fill the rows of revision 0021.
    comment_policy: Mapped[str] = public(
        String(16), default=CommentPolicy.EVERYONE, server_default=CommentPolicy.EVERYONE.value
    )
    allow_duet: Mapped[bool] = public(Boolean, default=True, server_default=text("true"))
    allow_stitch: Mapped[bool] = public(Boolean, default=True, server_default=text("true"))
    allow_sound_reuse: Mapped[bool] = public(Boolean, default=True, server_default=text("true"))
    allow_download: Mapped[bool] = public(
        Boolean, default=ALLOW_DOWNLOAD_DEFAULT, server_default=text(str(ALLOW_DOWNLOAD_DEFAULT).lower())
    )
    allow_embed: Mapped[bool] = public(Boolean, default=True, server_default=text("true"))

    # Sounds and remixes (reelm.sounds). `sound_id` is the sound the video's audio is (its own "original
    # sound", one it matched, or one its creator chose): any realm's, so no foreign key; its realm is in the
    # id (reelm.ids). A remix (duet or stitch) names its original the same way; `remix` holds what the
    # creator chose (levels, the stitched range, the sound's start) until the worker has composed it.
    sound_id: Mapped[int | None] = public(BigInteger, index=True)
    remix_of_id: Mapped[int | None] = public(BigInteger, index=True)
    remix_kind: Mapped[str | None] = public(String(8))  # RemixKind
    remix: Mapped[dict[str, Any] | None] = public(JSONB)
    # The sound was taken down: the video stays, its renditions without audio, with a notice.
    audio_muted: Mapped[bool] = public(Boolean, default=False, server_default=text("false"))

    # Drafts and scheduled posts (reelm.videos.drafts). A draft is transcoded and screened as any upload, but
    # kept private (so nothing public, no projection, feed or search, ever shows it) until its creator
    # publishes it or its `publish_at` comes; then it takes `publish_visibility`. `publish_held_at` is when
    # the realm's upload switch held a due post back: it is published once uploads are restored, and its
    # creator told. The time zone is the one the creator scheduled in, to show the time as they chose it.
    draft: Mapped[bool] = public(Boolean, default=False, server_default=text("false"))
    publish_at: Mapped[datetime | None] = public(TZ)
    publish_visibility: Mapped[str | None] = public(String(10))
    publish_held_at: Mapped[datetime | None] = public(TZ)
    publish_time_zone: Mapped[str | None] = protected(String(64))
    # Labels the creator sets and every viewer sees, projected with the video: made or
    # changed by AI, and a paid partnership (the commercial communication of DSA Art. 26). `cover_alt` is
    # the cover's text alternative (reelm.videos.covers).
    ai_generated: Mapped[bool] = public(Boolean, default=False, server_default=text("false"))
    paid_partnership: Mapped[bool] = public(Boolean, default=False, server_default=text("false"))
    cover_alt: Mapped[str | None] = public(Text)
    caption_edited_at: Mapped[datetime | None] = public(TZ)  # last edit once published (caption_edits)

    # The uploaded file never leaves the home realm; only renditions are public.
    original_key: Mapped[str] = protected(Text)
    original_size: Mapped[int] = protected(BigInteger)

    renditions: Mapped[list[Rendition]] = relationship(
        order_by="Rendition.height", lazy="selectin", cascade="all, delete-orphan"
    )


class Rendition(RealmBase):
    __tablename__ = "renditions"

    video_id: Mapped[int] = public(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = public(String(8), primary_key=True)
    width: Mapped[int] = public(Integer)
    height: Mapped[int] = public(Integer)
    bandwidth: Mapped[int] = public(Integer)
    average_bandwidth: Mapped[int] = public(Integer)
    codecs: Mapped[str] = public(String(60))
    mp4_key: Mapped[str] = public(Text)
    hls_key: Mapped[str] = public(Text)
    size_bytes: Mapped[int] = public(BigInteger)
    created_at: Mapped[datetime] = public(TZ, default=utcnow)


class VideoDefaults(RealmBase):
    """A creator's permissions for new videos: they prefill the upload form, and an upload that leaves a
    permission out gets this one. No row: the platform's defaults (those of `videos`).

    Kept with the videos domain, which owns the permissions and their checks (accounts may not import it);
    protected, as a person's settings are (messages' `message_settings` likewise).
    """

    __tablename__ = "video_defaults"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    comment_policy: Mapped[str] = protected(String(16))
    allow_duet: Mapped[bool] = protected(Boolean)
    allow_stitch: Mapped[bool] = protected(Boolean)
    allow_sound_reuse: Mapped[bool] = protected(Boolean)
    allow_download: Mapped[bool] = protected(Boolean)
    allow_embed: Mapped[bool] = protected(Boolean)
    updated_at: Mapped[datetime] = protected(TZ, default=utcnow)


class DownloadState(enum.StrEnum):
    PREPARING = "preparing"
    READY = "ready"
    FAILED = "failed"


class VideoDownload(RealmBase):
    """The watermarked download of a video (reelm.videos.downloads): made once by the realm's worker from
    one rendition, kept in the realm's bucket and served from there until a better rendition arrives."""

    __tablename__ = "video_downloads"

    video_id: Mapped[int] = public(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = public(String(10))
    rendition: Mapped[str] = public(String(8))  # the rendition it is (being) made from
    size_bytes: Mapped[int | None] = public(BigInteger)
    requested_at: Mapped[datetime] = public(TZ, default=utcnow)
    finished_at: Mapped[datetime | None] = public(TZ)


class SubtitleTrack(RealmBase):
    """A video's captions in one language (reelm.videos.subtitles), uploaded as WebVTT or SRT and kept as
    WebVTT. Public with the video: served beside its renditions, in its HLS master playlist and page player.
    `revision` names the stored files, so an edit gets new addresses and cached copies never go stale."""

    __tablename__ = "subtitle_tracks"

    video_id: Mapped[int] = public(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = public(String(16), primary_key=True)  # a BCP 47 tag: en, pt-BR, zh-Hant
    label: Mapped[str] = public(Text)  # the language's name in itself, as players list it
    revision: Mapped[int] = public(Integer, default=1)
    webvtt: Mapped[str] = public(Text)
    plain_text: Mapped[str] = public(Text)  # the cues' words, for content rules
    updated_at: Mapped[datetime] = public(TZ, default=utcnow)


class CaptionEdit(RealmBase):
    """A caption (description) as it read before its creator edited it (reelm.videos.caption_history): the
    history is public with the video, so viewers can see what a published caption said before."""

    __tablename__ = "caption_edits"
    __table_args__ = (Index("ix_caption_edits_video_edited", "video_id", "edited_at"),)

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    video_id: Mapped[int] = public(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"))
    caption: Mapped[str] = public(Text)  # the text until `edited_at`
    edited_at: Mapped[datetime] = public(TZ, default=utcnow)
