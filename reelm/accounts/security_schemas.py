"""Payloads of the JSON API for account safety: second factors, pending log-ins, the list of sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from reelm.inputs import Secret

# Six digits from the app, or a recovery code as printed ("ABCDE-FGHJK"); spaces and dashes are ignored.
CODE_PATTERN = r"^[0-9A-Za-z \-]{6,14}$"
SESSION_ID_PATTERN = r"^[0-9a-f]{64}$"


class CodeIn(BaseModel):
    code: str = Field(
        pattern=CODE_PATTERN, description="a code from the authenticator app, or a recovery code"
    )


class TotpDisableIn(CodeIn):
    password: Secret = Field(min_length=1, max_length=200, description="the account's password, again")


class SecondStepIn(CodeIn):
    pending_token: str = Field(min_length=10, max_length=80, pattern=r"^[a-z0-9]+\.[A-Za-z0-9_\-]+$")


class TotpEnrolmentOut(BaseModel):
    secret: str = Field(description="base32, to type into an authenticator app")
    otpauth_uri: str
    qr_svg: str = Field(description="the URI as a QR code: an SVG element")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="shown this once; each works for one log-in")


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


class TwoFactorOut(BaseModel):
    totp: bool
    totp_pending: bool = Field(description="an app is being set up: a code from it still has to confirm it")
    recovery_codes_left: int
    passkeys: list[PasskeyOut]


class SecondFactorOut(BaseModel):
    """The password was right; send a code (or use a passkey) with this token to finish logging in."""

    second_factor_required: Literal[True] = True
    pending_token: str
    methods: list[str]
    expires_at: datetime


class SessionItemOut(BaseModel):
    id: str = Field(description="names the session for logging it out; not its token")
    current: bool
    kind: str
    device: str
    place: str | None = Field(description="the network the log-in came from (a coarse prefix, no look-up)")
    second_factor: str | None
    created_at: datetime
    last_seen_at: datetime | None


class SessionsOut(BaseModel):
    items: list[SessionItemOut]
