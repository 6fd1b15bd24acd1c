"""One typed settings object, validated at start-up (REELM_* environment variables)."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from reelm import ids

DEMO_SECRET = "demo-secret-not-for-production-use-0000000000"  # noqa: S105 - refused outside demo mode


class RealmConfig(BaseModel):
    """One jurisdiction's data plane."""

    name: str = Field(pattern=r"^[a-z][a-z0-9]{1,15}$")
    # Stable small number embedded in every id created in the realm, so an id alone says where it lives.
    code: int = Field(ge=1, le=63)
    title: str
    countries: list[str] = Field(default_factory=list)  # ISO 3166-1 alpha-2; empty = catch-all
    database_url: str | None = None  # None: a database in the embedded server
    # How the other realms' PostgreSQL servers reach this realm's to subscribe to its public projections
    # (reelm.crossrealm); None: the same URL as database_url.
    replication_url: str | None = None
    # A read replica of database_url (PostgreSQL streaming replication) that search reads from, so that
    # search scales past one server without touching the primary; None: search reads database_url.
    search_database_url: str | None = None
    # The realm's KEK in Vault/OpenBao Transit (the key's name) instead of key files; see reelm.crypto.vault.
    vault_key: str | None = None
    storage_url: str | None = None  # None: a folder under the data dir


DEFAULT_REALMS: list[RealmConfig] = [
    RealmConfig(name="us", code=1, title="United States", countries=["US", "PR", "GU", "VI", "AS", "MP"]),
    RealmConfig(
        name="eu",
        code=2,
        title="European Union",
        countries=(
            [
                "AT",
                "BE",
                "BG",
                "HR",
                "CY",
                "CZ",
                "DK",
                "EE",
                "FI",
                "FR",
                "DE",
                "GR",
                "HU",
                "IE",
                "IT",
                "LV",
                "LT",
                "LU",
                "MT",
                "NL",
                "PL",
                "PT",
                "RO",
                "SK",
                "SI",
                "ES",
                "SE",
                "IS",
                "LI",
                "NO",
            ]
        ),
    ),
    RealmConfig(name="global", code=3, title="Rest of the world", countries=[]),
]


class WitnessConfig(BaseModel):
    """A witness that cosigns the log's checkpoints (C2SP tlog-witness)."""

    name: str
    vkey: str  # its cosignature verifier key
    url: str  # the witness's prefix; the log POSTs to <url>/add-checkpoint


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELM_", extra="ignore")

    data_dir: Path = Path(".data")
    demo: bool = False
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    realms: Annotated[list[RealmConfig], NoDecode] = Field(default_factory=lambda: list(DEFAULT_REALMS))
    directory_url: str | None = None  # None: the embedded server
    default_realm: str = "global"  # where anonymous visitors browse

    max_upload_bytes: int = 500 * 1024 * 1024
    max_duration_s: float = 600.0
    min_side_px: int = 144
    max_side_px: int = 4096
    # The CPU time one ffmpeg run of a transcode may use: this much, plus the next figure per megapixel of
    # every frame it decodes or encodes (reelm.videos.media.cpu_budget_s). A run over it is killed, and the
    # video rejected.
    transcode_cpu_base_s: float = Field(default=60.0, ge=0)
    transcode_cpu_s_per_megapixel_frame: float = Field(default=0.1, ge=0)

    session_days: int = 30
    login_attempts_per_minute: int = 10  # per client address, across all server processes
    login_attempts_per_account_per_minute: int = 10  # per login name, from any address
    signups_per_hour: int = 20
    # Two-factor log-in (reelm.accounts.two_factor): codes tried per account and minute, across processes;
    # how long a password-checked log-in waits for its second factor; whether staff must have used one.
    second_factor_attempts_per_minute: int = Field(default=5, ge=1)
    pending_login_minutes: int = Field(default=5, ge=1, le=30)
    # None: on, except in demo mode (whose seeded reviewers log in with a password to show the review pages).
    staff_second_factor: bool | None = None
    sessions_listed: int = Field(default=50, ge=1, le=500)  # the newest sessions an account's list shows
    # Passkeys (WebAuthn): the relying party's id (a registrable domain) and the origin browsers report;
    # None takes both from base_url.
    webauthn_rp_id: str | None = None
    webauthn_origin: str | None = None
    uploads_per_hour: int = 30
    # Watermarked downloads served or started, per account: the first one of a video costs an encode.
    downloads_per_hour: int = 60
    # An archive holds every original upload, so building one is costly: a few a day are plenty.
    exports_per_day: int = 5
    searches_per_minute: int = 120  # per account, or per client address for anonymous visitors
    # How long a finished data export can be downloaded before it is refused (and may be removed).
    export_days: float = Field(default=7.0, gt=0, le=30)
    # Forced on when base_url is https (cookies then never travel over plain http).
    cookie_secure: bool = False
    # The bearer token Prometheus presents to /metrics; without one, /metrics exists only in demo mode.
    metrics_token: str | None = None

    # Transparency log. The signing key is a note signer key (PRIVATE+KEY+name+id+key); demo mode
    # generates one in the data dir on first start.
    log_signing_key: str | None = None
    log_origin: str | None = None  # default: "<host of base_url>/log"
    log_storage_url: str | None = None  # default: a folder under the data dir
    log_witnesses: Annotated[list[WitnessConfig], NoDecode] = Field(default_factory=list)
    log_witness_quorum: int = 0  # cosignatures required before a checkpoint is published
    log_sequence_interval_s: float = 1.0  # 0 turns the server's own sequencer off
    # How long an approved break-glass justification for staff access stays usable.
    staff_justification_hours: float = Field(default=24.0, gt=0, le=24 * 30)

    # Realm key-encryption keys live in files outside the databases (see reelm.crypto.keys); None:
    # <data_dir>/keys/realms, one folder per realm. Missing keys are created on first use only in demo
    # mode or where `create_missing_keys` says so (tests); elsewhere `reelm keys init` makes them.
    key_dir: Path | None = None
    create_missing_keys: bool = False
    # For realms whose `vault_key` is set: where Vault (or OpenBao) listens, and a token allowed to use
    # the Transit keys. Shred secrets and the e-mail index key stay in key_dir either way.
    vault_address: str | None = None
    vault_token: SecretStr | None = None
    vault_mount: str = "transit"
    # How long a deleted account waits before its data key is destroyed and its rows are removed.
    deletion_grace_days: float = Field(default=7.0, ge=0, le=90)
    # Outgoing mail (reelm.mail): smtp://[user:password@]host[:port], or smtps:// for TLS from the start;
    # without one (the demo) every message is written as an .eml file under <data_dir>/outbox instead.
    smtp_url: SecretStr | None = None
    mail_from: str = "Reelm <no-reply@reelm.invalid>"
    # How long the link that confirms a new e-mail address works.
    email_change_hours: float = Field(default=24.0, gt=0, le=24 * 7)

    @field_validator("realms", "log_witnesses", mode="before")
    @classmethod
    def _parse_realms(cls, value: object) -> object:
        # From the environment the list arrives as JSON text.
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not self.secret_key:
            if not self.demo:
                raise ValueError("REELM_SECRET_KEY must be set outside demo mode")
            self.secret_key = DEMO_SECRET
        elif self.secret_key == DEMO_SECRET and not self.demo:
            raise ValueError("the demo secret key may not be used outside demo mode")
        if len(self.secret_key) < 32:
            raise ValueError("REELM_SECRET_KEY must be at least 32 characters")
        names = [r.name for r in self.realms]
        codes = [r.code for r in self.realms]
        if len(set(names)) != len(names) or len(set(codes)) != len(codes):
            raise ValueError("realm names and codes must be unique")
        if self.default_realm not in names:
            raise ValueError(f"default_realm {self.default_realm!r} is not a configured realm")
        if sum(1 for r in self.realms if not r.countries) > 1:
            raise ValueError("at most one realm may be the catch-all (no countries)")
        if self.log_signing_key is None and not self.demo:
            raise ValueError("REELM_LOG_SIGNING_KEY must be set outside demo mode (see `reelm audit keygen`)")
        if any(r.vault_key for r in self.realms) and not (self.vault_address and self.vault_token):
            raise ValueError(
                "REELM_VAULT_ADDRESS and REELM_VAULT_TOKEN are needed for realms with a vault_key"
            )
        if self.log_witness_quorum > len(self.log_witnesses):
            raise ValueError("log_witness_quorum exceeds the number of configured witnesses")
        if self.base_url.startswith("https://"):
            self.cookie_secure = True
        return self

    @property
    def realm_key_root(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys" / "realms"

    @property
    def may_create_keys(self) -> bool:
        return self.demo or self.create_missing_keys

    @property
    def staff_need_second_factor(self) -> bool:
        return self.staff_second_factor if self.staff_second_factor is not None else not self.demo

    @property
    def webauthn_party(self) -> tuple[str, str]:
        """The relying party's id and the origin passkeys are bound to (base_url's unless set)."""
        parsed = urlsplit(self.base_url)
        origin = self.webauthn_origin or f"{parsed.scheme}://{parsed.netloc}"
        return self.webauthn_rp_id or (parsed.hostname or "localhost"), origin

    @cached_property
    def realm_names(self) -> list[str]:
        return [r.name for r in self.realms]

    def realm(self, name: str) -> RealmConfig:
        for realm in self.realms:
            if realm.name == name:
                return realm
        raise KeyError(name)

    def realm_for_country(self, country: str) -> str:
        """The home realm for a sign-up from this country."""
        country = country.upper()
        fallback = self.default_realm
        for realm in self.realms:
            if country in realm.countries:
                return realm.name
            if not realm.countries:
                fallback = realm.name
        return fallback

    def realm_of_id(self, an_id: int) -> str | None:
        """The realm that minted an id (see reelm.ids), or None for an id no configured realm made."""
        code = ids.realm_code_of(an_id)
        return next((r.name for r in self.realms if r.code == code), None)
