"""Video payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, StrictBool

from reelm.inputs import Text, TimeZoneName
from reelm.videos.models import CommentPolicy, RemixKind


class Creator(BaseModel):
    id: str
    handle: str
    display_name: str
    avatar_url: str | None
    follower_count: int
    is_following: bool | None = None  # None when anonymous, the viewer themself, or another realm


class RenditionOut(BaseModel):
    name: str
    width: int
    height: int
    bandwidth: int
    codecs: str
    mp4_url: str
    hls_url: str


class Counts(BaseModel):
    likes: int
    comments: int
    shares: int
    views: int


class VideoPermissions(BaseModel):
    """What others may do with a video; also a creator's defaults for new videos (PUT replaces them all)."""

    comment_policy: CommentPolicy = Field(
        description="who may comment: everyone, followed_back (accounts the creator follows), followers "
        "(accounts that follow the creator) or no_one (the creator only)"
    )
    allow_duet: StrictBool
    allow_stitch: StrictBool
    allow_sound_reuse: StrictBool = Field(description="others may use the video's sound in theirs")
    allow_download: StrictBool = Field(description="viewers may download it, watermarked")
    allow_embed: StrictBool = Field(description="other sites may embed it")


class SoundChip(BaseModel):
    """The sound a video uses, as its card shows it (the chip that links to the sound's page)."""

    id: str
    realm: str
    title: str = Field(
        description='its title, or "original sound - @handle" while its creator has not named it'
    )
    named: bool = Field(
        description="its creator named it (else a client may word the default in its language)"
    )
    creator_handle: str
    available: bool = Field(description="false once taken down: it can no longer be used")


class VideoOut(BaseModel):
    id: str
    realm: str
    creator: Creator
    caption: str
    hashtags: list[str]
    mentions: list[str]
    visibility: str
    status: str
    status_detail: str
    reject_code: str | None
    reject_reason: str | None
    width: int | None
    height: int | None
    duration_s: float | None
    poster_url: str | None
    hls_url: str | None = Field(description="HLS master playlist with every rendition")
    mp4_url: str | None = Field(description="progressive MP4 for players without HLS")
    renditions: list[RenditionOut]
    counts: Counts
    liked_by_me: bool | None
    saved_by_me: bool | None = Field(default=None, description="among your favourites (signed in only)")
    reposted_by_me: bool | None = Field(default=None, description="you reposted it (signed in only)")
    repost_count: int | None = Field(default=None, description="how often it was reposted; creator only")
    created_at: datetime
    published_at: datetime | None
    share_url: str
    label: str | None = Field(default=None, description="a moderation label shown with the video")
    ai_generated: bool = Field(default=False, description="its creator labels it made or changed by AI")
    paid_partnership: bool = Field(
        default=False, description="a paid partnership: its creator was paid to post it (DSA Art. 26)"
    )
    cover_alt: str | None = Field(default=None, description="the cover's text alternative")
    caption_edited_at: datetime | None = Field(
        default=None, description="when the published caption was last edited (its history: /caption-history)"
    )
    age_restricted: bool = Field(default=False, description="shown to logged-in (adult) viewers only")
    comment_policy: CommentPolicy = Field(
        default=CommentPolicy.EVERYONE, description="who may comment (so a client can say why it cannot)"
    )
    permissions: VideoPermissions | None = Field(
        default=None, description="the creator's settings; creator only"
    )
    # What this viewer may do, the creator's permissions applied (the creator may do everything).
    can_comment: bool = Field(
        default=False, description="this viewer may comment (never a visitor not logged in)"
    )
    can_duet: bool = False
    can_stitch: bool = False
    can_use_sound: bool = False
    can_download: bool = Field(default=False, description="downloads allowed (a visitor must log in first)")
    can_embed: bool = False
    sound: SoundChip | None = Field(
        default=None,
        description="the public sound the video uses (its own or another's); none when it has none",
    )
    audio_muted: bool = Field(default=False, description="its sound was taken down: it plays without audio")
    remix_kind: RemixKind | None = Field(default=None, description="duet, stitch or sound: what it remixes")
    remix_of: str | None = Field(default=None, description="the id of the video a duet or stitch remixes")


class VideoAccepted(BaseModel):
    id: str
    status: str
    status_url: str


class PermissionChoices(BaseModel):
    """Permissions to set; one left out (None) keeps what it was (an upload: the creator's default)."""

    comment_policy: CommentPolicy | None = None
    allow_duet: StrictBool | None = None
    allow_stitch: StrictBool | None = None
    allow_sound_reuse: StrictBool | None = None
    allow_download: StrictBool | None = None
    allow_embed: StrictBool | None = None


class VideoUpdateIn(PermissionChoices):
    """What to change; a field left out stays as it is."""

    caption: Text | None = Field(default=None, max_length=2200)
    visibility: str | None = Field(default=None, pattern="^(public|private)$")
    ai_generated: StrictBool | None = None
    paid_partnership: StrictBool | None = None
    cover_alt: Text | None = Field(default=None, max_length=250, description="the cover's text alternative")


class DownloadOut(BaseModel):
    """Where a video's watermarked download stands (the file itself comes from `url` once ready)."""

    status: str = Field(description="preparing, or ready")
    url: str = Field(description="GET it: the MP4 once ready, this status (202) while it is prepared")
    retry_after_s: int | None = Field(default=None, description="when to ask again, while preparing")


class VideoPage(BaseModel):
    items: list[VideoOut]
    next_cursor: str | None


class HashtagOut(BaseModel):
    name: str
    video_count: int = Field(description="public videos carrying it, as the viewer may see them")


class DraftOut(BaseModel):
    """A draft, as its creator sees it in their drafts list (reelm.videos.drafts)."""

    id: str
    caption: str
    status: str = Field(description="processing, ready, held or rejected, as any upload's")
    status_detail: str
    reject_reason: str | None
    poster_url: str | None
    duration_s: float | None
    created_at: datetime
    visibility: str = Field(description="who may watch it once published: public or private")
    publish_at: datetime | None = Field(description="when it is published (UTC); none: not scheduled")
    time_zone: str | None = Field(description="the IANA time zone it was scheduled in")
    publish_at_local: str | None = Field(
        description="the scheduled time in that zone, as YYYY-MM-DDTHH:MM (what the creator chose)"
    )
    held: bool = Field(description="due, but held while the realm's uploads are suspended for its creator")
    page_url: str


class DraftPage(BaseModel):
    items: list[DraftOut]


class ScheduleIn(BaseModel):
    """When to publish a draft: a time with an offset, or a local time and the IANA zone it is in."""

    publish_at: datetime
    time_zone: TimeZoneName | None = None


class SubtitleOut(BaseModel):
    """A video's captions in one language."""

    language: str = Field(description="BCP 47 tag (en, pt-BR)")
    label: str = Field(description="the language's name in itself")
    url: str = Field(description="the WebVTT file (for a <track>)")
    playlist_url: str = Field(description="its HLS subtitle playlist (also listed in the master playlist)")
    updated_at: datetime


class SubtitleList(BaseModel):
    items: list[SubtitleOut]


class SubtitleText(SubtitleOut):
    """One language's captions with their WebVTT text, to edit."""

    webvtt: str


class CaptionEditOut(BaseModel):
    caption: str = Field(description="what the caption said")
    replaced_at: datetime = Field(description="when its creator edited it")


class CaptionHistory(BaseModel):
    """A video's caption now, and what it said before (newest first, at most 50)."""

    caption: str
    edits: list[CaptionEditOut]
