"""Validation and parsing of user-written text: handles, captions, comments, bios."""

from __future__ import annotations

import re
import unicodedata

from reelm.errors import Problem

HANDLE_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_.]{0,22}[a-z0-9_])?$")
RESERVED_HANDLES = frozenset(
    [
        "admin",
        "api",
        "log",
        "media",
        "static",
        "upload",
        "inbox",
        "following",
        "login",
        "logout",
        "signup",
        "settings",
        "healthz",
        "metrics",
        "reelm",
        "root",
        "support",
        "help",
        "about",
        "v",
        "u",
        "explore",
        "search",
    ]
)
HASHTAG_RE = re.compile(r"(?<![\w#])#(\w{1,50})", re.UNICODE)
MENTION_RE = re.compile(r"(?<![\w@])@([a-z0-9_](?:[a-z0-9_.]{0,22}[a-z0-9_])?)", re.IGNORECASE)
# Control characters other than newline and tab have no place in user text and can hide content.
_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\n\t"} | {"\x7f"}


def invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        "invalid-request",
        "The request is not valid",
        f"{field}: {message}",
        errors=[{"field": field, "message": message}],
    )


def clean_text(
    field: str, value: str, *, max_len: int, allow_empty: bool = True, multiline: bool = True
) -> str:
    """NFC-normalised, trimmed text without control characters, or a 422 explaining what is wrong."""
    text = unicodedata.normalize("NFC", value).strip()
    if any(ch in _CONTROL for ch in text) or (not multiline and "\n" in text):
        raise invalid(field, "contains control characters")
    if not text and not allow_empty:
        raise invalid(field, "must not be empty")
    if len(text) > max_len:
        raise invalid(field, f"must be at most {max_len} characters")
    return text


def check_handle(value: str) -> str:
    handle = value.strip().lower().lstrip("@")
    if not HANDLE_RE.match(handle) or len(handle) < 2:
        raise invalid("handle", "use 2-24 letters, digits, '_' or '.', not starting or ending with '.'")
    if handle in RESERVED_HANDLES:
        raise invalid("handle", "this handle is reserved")
    return handle


def hashtags_of(text: str) -> list[str]:
    """Distinct hashtags in order of appearance, lower-cased."""
    return list(dict.fromkeys(tag.lower() for tag in HASHTAG_RE.findall(text)))[:30]


def mentions_of(text: str) -> list[str]:
    return list(dict.fromkeys(m.lower() for m in MENTION_RE.findall(text)))[:30]
