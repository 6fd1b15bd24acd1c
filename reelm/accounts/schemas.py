"""Account payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from reelm.inputs import COUNTRY_PATTERN, EMAIL_PATTERN, Handle, Line, Secret, Text


class SignUpIn(BaseModel):
    handle: Handle = Field(min_length=2, max_length=25)
    email: Line = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    password: Secret = Field(min_length=10, max_length=200)
    country: str = Field(pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2; picks the home realm")
    display_name: Line | None = Field(default=None, max_length=50)


class LogInIn(BaseModel):
    login: Line = Field(min_length=2, max_length=254, description="handle or e-mail")
    password: Secret = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    user: ProfileOut


class ProfileOut(BaseModel):
    id: str
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    realm: str
    follower_count: int
    following_count: int
    video_count: int
    likes_received: int
    created_at: datetime
    is_following: bool | None = None  # None when the viewer is anonymous or is this user


class MeOut(ProfileOut):
    email: str
    country: str
    deletion_due_at: datetime | None = None  # set while a deletion is pending


class DeletionIn(BaseModel):
    password: Secret = Field(min_length=1, max_length=200, description="the account's password, again")


class DeletionOut(BaseModel):
    deletion_due_at: datetime


class ProfileUpdateIn(BaseModel):
    display_name: Line | None = Field(default=None, min_length=1, max_length=50)
    bio: Text | None = Field(default=None, max_length=300)


class PasswordChangeIn(BaseModel):
    current_password: Secret = Field(min_length=1, max_length=200)
    new_password: Secret = Field(min_length=10, max_length=200)


class EmailChangeIn(BaseModel):
    email: Line = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN, description="the new address")
    password: Secret = Field(min_length=1, max_length=200, description="the account's current password")


class EmailChangeOut(BaseModel):
    pending_email: str = Field(description="where the confirmation link was sent")
    expires_at: datetime = Field(description="the link works until then")


class EmailConfirmIn(BaseModel):
    token: Line = Field(min_length=10, max_length=200, description="the token of the confirmation link")
