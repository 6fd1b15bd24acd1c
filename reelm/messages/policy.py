"""The operator's limits on messaging (REELM_MESSAGES_* environment variables), validated at start-up.

Kept beside the feature until it joins `reelm.settings.Settings`; the app builds one at start
(`create_app`) and workers build their own for the retention sweep.
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MAX_MEMBERS = 32  # a group, the sender included
MAX_BODY_CHARS = 2000
MAX_TITLE_CHARS = 80  # a group's name


class MessagingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELM_MESSAGES_", extra="ignore")

    # Per realm, how many days messages are kept; a realm not named keeps them until deleted.
    # From the environment as JSON: REELM_MESSAGES_RETENTION_DAYS='{"eu": 365}'.
    retention_days: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)
    # An account younger than this may message only people who follow it: throwaway accounts are how
    # spam and harassment usually arrive.
    min_account_age_hours: float = Field(default=24.0, ge=0)
    messages_per_minute: int = Field(default=60, ge=1)
    new_conversations_per_hour: int = Field(default=30, ge=1)

    @field_validator("retention_days", mode="before")
    @classmethod
    def _parse_retention(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("retention_days")
    @classmethod
    def _check_retention(cls, value: dict[str, float]) -> dict[str, float]:
        if any(days <= 0 for days in value.values()):
            raise ValueError("retention days must be positive")
        return value
