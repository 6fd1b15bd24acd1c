"""Payloads of the JSON API for account safety: second factors, pending log-ins, the list of sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from reelm.inputs import Line, Secret

# Six digits from the app, or a recovery code as printed ("ABCDE-FGHJK"); spaces and dashes are ignored.
CODE_PATTERN = r"^[0-9A-Za-z \-]{6,14}$"


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


# --- passkeys: what browsers send (PublicKeyCredential.toJSON), bounded before webauthn parses it

B64URL_PATTERN = r"^[A-Za-z0-9_\-]*={0,2}$"


class AuthenticatorResponseIn(BaseModel):
    """WebAuthn's member names, as browsers send them."""

    clientDataJSON: str = Field(min_length=1, max_length=4000, pattern=B64URL_PATTERN)
    attestationObject: str | None = Field(default=None, max_length=20_000, pattern=B64URL_PATTERN)
    authenticatorData: str | None = Field(default=None, max_length=4000, pattern=B64URL_PATTERN)
    signature: str | None = Field(default=None, max_length=2000, pattern=B64URL_PATTERN)
    userHandle: str | None = Field(default=None, max_length=200, pattern=B64URL_PATTERN)
    transports: list[Annotated[str, Field(max_length=20, pattern=r"^[a-z\-]+$")]] = Field(
        default_factory=list, max_length=10
    )


class PasskeyCredentialIn(BaseModel):
    id: str = Field(min_length=1, max_length=1400, pattern=B64URL_PATTERN)
    rawId: str = Field(min_length=1, max_length=1400, pattern=B64URL_PATTERN)
    type: Literal["public-key"]
    response: AuthenticatorResponseIn
    authenticatorAttachment: Literal["platform", "cross-platform"] | None = None


class PasskeyAddIn(BaseModel):
    credential: PasskeyCredentialIn
    name: Line | None = Field(default=None, max_length=50, description="defaults to the browser and system")


class PasskeyLogInIn(BaseModel):
    credential: PasskeyCredentialIn
    pending_token: str | None = Field(
        default=None,
        max_length=80,
        pattern=r"^[a-z0-9]+\.[A-Za-z0-9_\-]+$",
        description="for the second step of a log-in; none for a log-in without a password",
    )


class PasskeyOptionsIn(BaseModel):
    pending_token: str | None = Field(default=None, max_length=80, pattern=r"^[a-z0-9]+\.[A-Za-z0-9_\-]+$")


def credential_dict(credential: PasskeyCredentialIn) -> dict[str, Any]:
    """The credential as the webauthn package parses it (WebAuthn's JSON, absent members left out)."""
    return credential.model_dump(exclude_none=True)
