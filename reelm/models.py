"""Every model, imported once so that the metadata of both databases is complete."""

from reelm.accounts.models import AuthSession, HandleEntry, User
from reelm.audit.models import DirectoryAuditOutbox, RealmAuditOutbox
from reelm.crossrealm.models import RealmFlow  # rows received from other realms
from reelm.crypto.models import UserKey  # users' wrapped data keys
from reelm.db import DirectoryBase, RealmBase
from reelm.exports.models import DataExport  # users' data archives
from reelm.realms.models import RealmCapability  # service switches
from reelm.social.models import Comment, CommentLike, Follow, VideoLike
from reelm.staff.models import AccessJustification, StaffRole  # staff access
from reelm.transparency.models import LogCheckpoint, LogEntry
from reelm.videos.models import Rendition, Video

__all__ = [
    "AccessJustification",
    "AuthSession",
    "Comment",
    "CommentLike",
    "DataExport",
    "DirectoryAuditOutbox",
    "DirectoryBase",
    "Follow",
    "HandleEntry",
    "LogCheckpoint",
    "LogEntry",
    "RealmAuditOutbox",
    "RealmBase",
    "RealmCapability",
    "RealmFlow",
    "Rendition",
    "StaffRole",
    "User",
    "UserKey",
    "Video",
    "VideoLike",
]
