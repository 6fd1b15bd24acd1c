"""Account payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SignUpIn(BaseModel):
    handle: str = Field(min_length=2, max_length=25)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=10, max_length=200)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2; picks the home realm")
    display_name: str | None = Field(default=None, max_length=50)


class LogInIn(BaseModel):
    login: str = Field(min_length=2, max_length=254, description="handle or e-mail")
    password: str = Field(min_length=1, max_length=200)


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
    password: str = Field(min_length=1, max_length=200, description="the account's password, again")


class DeletionOut(BaseModel):
    deletion_due_at: datetime


class ProfileUpdateIn(BaseModel):
    display_name: str | None = Field(default=None, max_length=50)
    bio: str | None = Field(default=None, max_length=300)
