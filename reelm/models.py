"""Every model, imported once so that the metadata of both databases is complete."""

from reelm.accounts.models import AuthSession, HandleEntry, User
from reelm.db import DirectoryBase, RealmBase
from reelm.social.models import Comment, CommentLike, Follow, VideoLike
from reelm.videos.models import Rendition, Video

__all__ = [
    "AuthSession",
    "Comment",
    "CommentLike",
    "DirectoryBase",
    "Follow",
    "HandleEntry",
    "RealmBase",
    "Rendition",
    "User",
    "Video",
    "VideoLike",
]
