"""What clients send, typed once: ids, handles, hashtags, cursors and free text (DESIGN.md, convention 13).

JSON bodies use these pydantic types; the web layer's path, query and form parameters (reelm.web.params)
use the same types and patterns. Each states its pattern and length in the OpenAPI document, and a value
that breaks one is refused before any service or database sees it, with a 422 that says why:
- ids are 1-19 ASCII digits ("²" is a digit to `str.isdigit`, not to int());
- text never holds NUL (PostgreSQL text cannot), another control character but tab and line ends, or a
  lone surrogate (JSON can escape one; no encoding can store it). Line ends arrive as CR LF from HTML
  forms and are kept as LF; one-line text (names, titles, log-in names) holds no line end at all.
- free text is NFC before its length is measured, as the services measure it (reelm.text.clean_text),
  so a field's maxLength is the services' limit whichever way a client composed its accents.

Domain rules that need more than a pattern (reserved handles, look-alike names, bidi controls) stay with
the services (reelm.text), which these types spare from ever seeing unstorable characters.
"""

from __future__ import annotations

import functools
import unicodedata
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from reelm.ids import ID_PATTERN, MAX_ID

__all__ = [
    "COUNTRY_PATTERN",
    "CURSOR_PATTERN",
    "EMAIL_PATTERN",
    "HANDLE_PATTERN",
    "ID_PATTERN",
    "LANGUAGE_PATTERN",
    "LINE_PATTERN",
    "MAX_ID",
    "REALM_PATTERN",
    "TAG_PATTERN",
    "TAG_WORD_PATTERN",
    "TEXT_PATTERN",
    "TIME_ZONE_PATTERN",
    "CursorText",
    "Handle",
    "Id",
    "IdRef",
    "Line",
    "Secret",
    "Tag",
    "Text",
    "TimeZoneName",
    "check_line",
    "check_secret",
    "check_text",
    "check_time_zone",
]

# A handle as a client names someone: the stored form is lower case without "@" (reelm.text.HANDLE_RE),
# and look-ups accept either.
HANDLE_PATTERN = r"^@?[A-Za-z0-9_.]{1,24}$"
# A hashtag: up to 50 characters, no space, control character or ASCII punctuation but "_", which is what
# a caption's #word can hold (reelm.text.HASHTAG_RE). Look-ups take it with its "#" too.
_TAG = r"[^\x00-\x2F\x3A-\x40\x5B-\x5E\x60\x7B-\x9F]{1,50}"
TAG_PATTERN = rf"^#?{_TAG}$"
TAG_WORD_PATTERN = rf"^{_TAG}$"
# Cursors are URL-safe base64 without padding (reelm.web.pagination); an empty one is no cursor.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
REALM_PATTERN = r"^[a-z][a-z0-9]{1,15}$"  # as reelm.settings.RealmConfig.name
# What sign-up takes as an e-mail address (reelm.accounts.service.EMAIL_RE) and a country (ISO 3166-1).
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,}$"
COUNTRY_PATTERN = r"^[A-Za-z]{2}$"
# Free text: no control character but tab, LF and CR (C0, DEL and C1 are all Unicode's category Cc).
TEXT_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
# One line: no control character at all.
LINE_PATTERN = r"^[^\x00-\x1F\x7F-\x9F]*$"
# An IANA time zone name ("Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC"); the check also asks
# the zone database, so only zones that exist pass.
TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"
# A BCP 47 language tag as players and HLS take it: language, then optional script and region (en, pt-BR,
# zh-Hant-TW); the captions' service also asks the locale data whether the language exists.
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"

_KEPT_IN_TEXT = frozenset("\t\n\r")


def _u(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _refuse(ch: str) -> None:
    code = ord(ch)
    if code == 0:
        raise ValueError("contains a NUL character (U+0000), which text cannot hold")
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError(f"contains a lone surrogate ({_u(ch)}), which is not a character")
    if ch in "\n\r":
        raise ValueError("must be one line")
    raise ValueError(f"contains a control character ({_u(ch)})")


def _is_control(code: int) -> bool:
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def check_text(value: Any) -> Any:
    """Free text: refuse NUL, control characters other than tab and line ends, and lone surrogates;
    CR LF and lone CR become LF, and the whole NFC. (Anything but a string is the str schema's to refuse.)"""
    if not isinstance(value, str):
        return value
    for ch in value:
        if _is_control(ord(ch)) and ch not in _KEPT_IN_TEXT:
            _refuse(ch)
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", value)


def check_line(value: Any) -> Any:
    """One line of text: no control character at all (tab and line ends included), no lone surrogate."""
    if isinstance(value, str):
        for ch in value:
            if _is_control(ord(ch)):
                _refuse(ch)
    return value


def check_secret(value: Any) -> Any:
    """A password: any character may be in it, but it must be encodable (it is hashed as UTF-8)."""
    if isinstance(value, str):
        for ch in value:
            if 0xD800 <= ord(ch) <= 0xDFFF or ch == "\x00":
                _refuse(ch)
    return value


@dataclass(frozen=True)
class Checked:
    """A pydantic annotation: run `check` before the string's own constraints (so that lengths are those
    of the checked, normalised text), and state `pattern` in the JSON schema. The check, not the pattern,
    decides, so that the 422 says which character is wrong."""

    check: Callable[[Any], Any]
    pattern: str | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if self.pattern is not None:
            json_schema["pattern"] = self.pattern
        return json_schema


# Each is used with a length at its field: `body: Text = Field(max_length=1000)`.
Text = Annotated[str, Checked(check_text, TEXT_PATTERN)]
Line = Annotated[str, Checked(check_line, LINE_PATTERN)]
Secret = Annotated[str, Checked(check_secret)]
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
# An id of something a route looks up and answers 404 for when it names nothing, malformed or not (as a
# path's id): the pattern is stated, text that cannot be stored is refused here, the route does the rest.
IdRef = Annotated[str, StringConstraints(max_length=32), Checked(check_line, ID_PATTERN)]
# A cursor: the route answers 400 bad-cursor for any it did not sign, malformed or not (reelm.web.pagination
# decodes any string safely); the pattern is stated, and text that cannot be stored is refused here.
CursorText = Annotated[str, Checked(check_line, CURSOR_PATTERN)]
Handle = Annotated[str, StringConstraints(pattern=HANDLE_PATTERN)]
Tag = Annotated[str, StringConstraints(pattern=TAG_WORD_PATTERN)]


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: Any) -> Any:
    """A zone of the IANA database, by its name (`Europe/Berlin`); names are short, so any longer is refused
    before the database is asked."""
    if isinstance(value, str) and (len(value) > 64 or value not in _time_zones()):
        raise ValueError("is not a time zone of the IANA database (such as Europe/Berlin)")
    return value


TimeZoneName = Annotated[str, Checked(check_time_zone, TIME_ZONE_PATTERN), StringConstraints(max_length=64)]
