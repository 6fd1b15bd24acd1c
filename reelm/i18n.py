"""Languages of the interface: which locales ship, which one a visitor gets, their messages and formats.

Messages are gettext catalogues in `reelm/locale/<lang>/LC_MESSAGES/messages.po`, English being the message
ids themselves. The .po files are compiled in memory when a locale is first used, so no binary .mo is kept in
the repository (a .mo that drifted from its .po would be invisible in review). The browser's scripts get only
the messages extracted from scripts (`script_catalogue`): a page carries a few kilobytes, not every page's
text.

Framework-free on purpose: the web layer wires these into Jinja and the page (reelm.web.rendering).
"""

from __future__ import annotations

import gettext
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_decimal, format_percent

DEFAULT = "en"
# English first: the message ids are English, so it needs no catalogue.
SUPPORTED: tuple[str, ...] = ("en", "de", "fr", "es", "ar")
# Scripts written right to left among the shipped locales (and the ones likely next), for <html dir>.
RIGHT_TO_LEFT = frozenset({"ar", "he", "fa", "ur"})
# Each language named in itself, for the picker: a reader who cannot read the current language still finds
# theirs.
NAMES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "ar": "العربية",
}
# The gettext plural forms of each locale in the order of their index, named as CLDR (and Intl.PluralRules)
# names them, so the browser can pick a catalogue's form from `Intl.PluralRules(locale).select(n)` (French and
# Spanish have a "many" form for round millions: "1 million de vues"). A category a catalogue has no form for
# takes the last form.
PLURAL_CATEGORIES: dict[str, tuple[str, ...]] = {
    "en": ("one", "other"),
    "de": ("one", "other"),
    "fr": ("one", "many", "other"),
    "es": ("one", "many", "other"),
    "ar": ("zero", "one", "two", "few", "many", "other"),
}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SCRIPT_SUFFIXES = (".js", ".mjs")


def is_supported(locale: str | None) -> bool:
    return locale in SUPPORTED


def direction(locale: str) -> str:
    """The direction of the locale's script: "rtl" (Arabic, Hebrew...) or "ltr"."""
    return "rtl" if locale.split("-", maxsplit=1)[0].lower() in RIGHT_TO_LEFT else "ltr"


def parse_accept_language(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (q=0 means "not this one").

    A malformed entry is skipped rather than refused: the header is a wish, and a garbled wish still leaves
    English.
    """
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):  # bounded: a header is not a work list
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or len(tag) > 35:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        if 0.0 < quality <= 1.0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The locale to use: `preferred` (a cookie's or a saved choice) when it is shipped, else the first
    shipped language of the Accept-Language header (a region is dropped: de-CH reads German), else English."""
    if preferred is not None and is_supported(preferred):
        return preferred
    for tag in parse_accept_language(accept_language or ""):
        if tag == "*":
            break
        language = tag.replace("_", "-").split("-", maxsplit=1)[0].lower()
        if is_supported(language):
            return language
    return DEFAULT


def _catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled messages of a shipped locale; English (and a locale without a catalogue) translates to
    the message ids. Compiled once per process: catalogues change only with a new release."""
    path = _catalogue_path(locale)
    if locale == DEFAULT or not is_supported(locale) or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalogue = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)  # a fuzzy guess shows English until a person checks it
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def script_catalogue(locale: str) -> dict[str, Any]:
    """What the browser's i18n.js needs: the locale's plural categories and the translations of messages
    extracted from scripts (`{msgid: msgstr}`, or `{singular: [forms...]}` for plurals). Untranslated and
    fuzzy messages are left out, so the script falls back to the English it holds."""
    messages: dict[str, str | list[str]] = {}
    path = _catalogue_path(locale)
    if locale != DEFAULT and is_supported(locale) and path.is_file():
        with path.open("rb") as po:
            catalogue = read_po(po, locale=locale)
        for message in catalogue:
            if not message.id or message.fuzzy or not message.string:
                continue
            if not any(file.endswith(SCRIPT_SUFFIXES) for file, _ in message.locations):
                continue
            if isinstance(message.id, tuple | list):
                forms = list(message.string)
                if all(forms):
                    messages[message.id[0]] = forms
            elif isinstance(message.string, str):
                messages[message.id] = message.string
    return {
        "locale": locale,
        "plural_categories": list(PLURAL_CATEGORIES.get(locale, ("one", "other"))),
        "messages": messages,
    }


def _babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def country_names(locale: str, codes: list[str]) -> list[tuple[str, str]]:
    """(code, name) of each country in the locale's language, ordered by name as its readers would look for
    it (accents and case aside); a code CLDR does not name keeps the code."""
    territories = _babel_locale(locale).territories

    def sort_key(pair: tuple[str, str]) -> str:
        return "".join(
            c for c in unicodedata.normalize("NFKD", pair[1]) if not unicodedata.combining(c)
        ).casefold()

    return sorted(((code, territories.get(code, code)) for code in codes), key=sort_key)


def format_number(value: float | Decimal, locale: str) -> str:
    """1234567 → "1,234,567" (en), "1.234.567" (de), "1 234 567" (fr)."""
    return str(format_decimal(value, locale=_babel_locale(locale)))


def format_compact(value: float | Decimal, locale: str) -> str:
    """1234 → "1.2K" (en), "1234" (de keeps thousands whole), "1,2 k" (fr): counts on cards and profiles.

    Floored to a tenth of the unit shown, so that 999 999 never reads as a million (static/js/i18n.js does
    the same)."""
    number = int(value)
    if number >= 1000:
        step = 10 ** (3 * ((len(str(number)) - 1) // 3) - 1)
        number = number // step * step
    return str(format_compact_decimal(number, locale=_babel_locale(locale), fraction_digits=1))


def format_share(value: float | Decimal, locale: str) -> str:
    """0.125 → "12.5%" (en), "12,5 %" (fr): as precise as the value, in the locale's own pattern."""
    return str(format_percent(value, locale=_babel_locale(locale), decimal_quantization=False))


def format_day(value: date | datetime, locale: str, length: str = "medium") -> str:
    """A calendar day: "Dec 7, 2026" (en), "07.12.2026" (de), "7 déc. 2026" (fr)."""
    return str(babel_format_date(value, format=length, locale=_babel_locale(locale)))


def format_moment(value: datetime, locale: str, length: str = "medium") -> str:
    """A day and time of day, in the value's own time zone (UTC from the database: the server knows no
    viewer's time zone, scripts show local times)."""
    return str(babel_format_datetime(value, format=length, tzinfo=None, locale=_babel_locale(locale)))


def format_ago(elapsed: timedelta, locale: str) -> str:
    """How long ago, in words: "3 hours ago" (en), "vor 3 Stunden" (de), "il y a 3 heures" (fr)."""
    return str(format_timedelta(-elapsed, add_direction=True, threshold=1.0, locale=_babel_locale(locale)))
