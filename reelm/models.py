"""Every model, imported once so that the metadata of both databases is complete."""

from reelm.accounts.factor_models import (  # second factors of log-in
    Passkey,
    PendingLogin,
    RecoveryCode,
    TotpFactor,
    WebAuthnChallenge,
)
from reelm.accounts.models import AuthSession, EmailChange, HandleEntry, Suspension, User
from reelm.analytics.models import (  # creator analytics: rollups, what waits to cross, cells
    AnalyticsActive,
    AnalyticsCell,
    AnalyticsDim,
    AnalyticsFollowerDay,
    AnalyticsPending,
    AnalyticsPendingActive,
    AnalyticsProgress,
    AnalyticsViewer,
)
from reelm.audit.models import DirectoryAuditOutbox, RealmAuditOutbox
from reelm.crossrealm.models import RealmFlow  # rows received from other realms
from reelm.crypto.models import UserKey  # users' wrapped data keys
from reelm.db import DirectoryBase, RealmBase
from reelm.events.models import WatchEvent  # viewers' watch events (protected)
from reelm.exports.models import DataExport  # users' data archives
from reelm.messages.models import (  # direct messages
    Conversation,
    ConversationMember,
    HiddenMessage,
    Message,
    MessageSettings,
)
from reelm.moderation.models import (  # content review
    Appeal,
    Case,
    ContentRule,
    Decision,
    LegalOrder,
    LegalOrderTarget,
    Report,
    StoredHashEntry,
    StoredHashList,
    TrustedFlagger,
)
from reelm.notifications.models import Notification, NotificationActor, NotificationMute
from reelm.realms.models import RealmCapability  # service switches
from reelm.recommend.models import RecommenderModel, VideoSignal, ViewerProfile  # the For You engine
from reelm.safety.models import UserBlock
from reelm.search.models import (  # search and discovery
    HashtagFollow,
    SearchHashtag,
    SearchHashtagDay,
    SearchQuery,
    SearchSettings,
    SearchWord,
)
from reelm.social.models import (  # activity; favourites, reposts, mutes and filters
    Comment,
    CommentLike,
    Favourite,
    FavouriteCollection,
    Follow,
    KeywordFilter,
    PinnedVideo,
    ProfileTabs,
    UserMute,
    VideoLike,
    VideoRepost,
    ViewingPreferences,
)
from reelm.sounds.models import Sound, SoundLandmark  # sounds and their landmark hashes
from reelm.staff.models import AccessJustification, StaffRole  # staff access
from reelm.transparency.models import LogCheckpoint, LogEntry
from reelm.videos.models import Rendition, Video, VideoDefaults, VideoDownload

__all__ = [
    "AccessJustification",
    "AnalyticsActive",
    "AnalyticsCell",
    "AnalyticsDim",
    "AnalyticsFollowerDay",
    "AnalyticsPending",
    "AnalyticsPendingActive",
    "AnalyticsProgress",
    "AnalyticsViewer",
    "Appeal",
    "AuthSession",
    "Case",
    "Comment",
    "CommentLike",
    "ContentRule",
    "Conversation",
    "ConversationMember",
    "DataExport",
    "Decision",
    "DirectoryAuditOutbox",
    "DirectoryBase",
    "EmailChange",
    "Favourite",
    "FavouriteCollection",
    "Follow",
    "HandleEntry",
    "HashtagFollow",
    "HiddenMessage",
    "KeywordFilter",
    "LegalOrder",
    "LegalOrderTarget",
    "LogCheckpoint",
    "LogEntry",
    "Message",
    "MessageSettings",
    "Notification",
    "NotificationActor",
    "NotificationMute",
    "Passkey",
    "PendingLogin",
    "PinnedVideo",
    "ProfileTabs",
    "RealmAuditOutbox",
    "RealmBase",
    "RealmCapability",
    "RealmFlow",
    "RecommenderModel",
    "RecoveryCode",
    "Rendition",
    "Report",
    "SearchHashtag",
    "SearchHashtagDay",
    "SearchQuery",
    "SearchSettings",
    "SearchWord",
    "Sound",
    "SoundLandmark",
    "StaffRole",
    "StoredHashEntry",
    "StoredHashList",
    "Suspension",
    "TotpFactor",
    "TrustedFlagger",
    "User",
    "UserBlock",
    "UserKey",
    "UserMute",
    "Video",
    "VideoDefaults",
    "VideoDownload",
    "VideoLike",
    "VideoRepost",
    "VideoSignal",
    "ViewerProfile",
    "ViewingPreferences",
    "WatchEvent",
    "WebAuthnChallenge",
]
