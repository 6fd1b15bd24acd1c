"""The switches of each realm's capabilities, kept in the directory, where every process reads them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, SmallInteger, String, Text
from sqlalchemy.orm import Mapped

from reelm.db import TZ, DirectoryBase, public, utcnow


class Capability(enum.StrEnum):
    """A switchable slice of service. The values are stable: they are stored, logged and sent to clients."""

    SIGNUP = "signup"
    WATCH = "watch"
    UPLOAD = "upload"
    COMMENT = "comment"
    MESSAGE = "message"  # no routes yet: direct messages arrive with their own issue
    PROFILE_EDIT = "profile_edit"
    SEARCH = "search"


class SwitchState(enum.StrEnum):
    ON = "on"
    OFF = "off"
    PERCENT = "percent"  # on for the users whose bucket is below `percent`


def N_(message: str) -> str:
    """gettext's name for "extract this message, translate it where it is shown" (pages do, with `_`)."""
    return message


# What people read in notices, banners and tables.
LABELS: dict[Capability, str] = {
    Capability.SIGNUP: N_("Sign-up"),
    Capability.WATCH: N_("Watching videos"),
    Capability.UPLOAD: N_("Uploading"),
    Capability.COMMENT: N_("Comments"),
    Capability.MESSAGE: N_("Messages"),
    Capability.PROFILE_EDIT: N_("Profile editing"),
    Capability.SEARCH: N_("Search"),
}


class RealmCapability(DirectoryBase):
    """The current switch of one capability in one realm; no row means on.

    Public throughout: which service a realm offers, who changed it and why, is what the transparency
    log publishes anyway (actors are the operator CLI or staff ids). The history lives in that log.
    """

    __tablename__ = "realm_capabilities"
    __table_args__ = (
        # The state and the percentage never disagree, so every reader can trust either one.
        CheckConstraint(
            "(state = 'on' AND percent = 100) OR (state = 'off' AND percent = 0)"
            " OR (state = 'percent' AND percent BETWEEN 1 AND 99)",
            name="state_percent",
        ),
    )

    realm: Mapped[str] = public(String(16), primary_key=True)
    capability: Mapped[str] = public(String(16), primary_key=True)
    state: Mapped[str] = public(String(8))
    percent: Mapped[int] = public(SmallInteger)
    notice: Mapped[str] = public(Text, default="")  # shown to the people refused
    changed_by: Mapped[str] = public(String(64))  # "operator-cli" or "staff:<id>"
    changed_at: Mapped[datetime] = public(TZ, default=utcnow)
    reason: Mapped[str] = public(Text, default="")  # the operator's own words: the order, the incident
