"""Every shipped language translates every message the templates and scripts use, keeping their placeholders.

The messages are extracted from the sources here (with babel.cfg, as `make i18n-extract` does), so a new
string that nobody translated fails this test, not a user's screen.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from reelm.i18n import DEFAULT, LOCALE_DIR, PLURAL_CATEGORIES, SUPPORTED

ROOT = Path(__file__).resolve().parents[2]
# The scripts' keywords (reelm/static/js/i18n.js), beside gettext's own.
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None, "tn": (1, 2)}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\w+\}")
TRANSLATED = [locale for locale in SUPPORTED if locale != DEFAULT]


@cache
def extracted() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """Each message id the sources use (a plural's singular) with its forms, and the ids that templates or
    Python use (Jinja's new-style gettext %-formats those)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    used: dict[str, tuple[str, ...]] = {}
    formatted: set[str] = set()
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        forms = (message,) if isinstance(message, str) else tuple(m for m in message if m)
        if forms and forms[0]:
            used.setdefault(forms[0], forms)
            if not filename.endswith(".js"):
                formatted.add(forms[0])
    return used, frozenset(formatted)


def used_messages() -> dict[str, tuple[str, ...]]:
    return extracted()[0]


@cache
def catalogue(locale: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_the_sources_use_messages() -> None:
    # Guards the test itself: an extraction that found nothing would pass every check below.
    assert len(used_messages()) > 300
    assert "Log in" in used_messages()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated(locale: str) -> None:
    messages = catalogue(locale)
    missing = [msgid for msgid in used_messages() if msgid not in messages]
    assert not missing, f"{locale}: {len(missing)} messages missing, e.g. {missing[:5]}"
    untranslated = [
        m.id
        for msgid in used_messages()
        if (m := messages[msgid]) is not None
        and (m.fuzzy or not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert not untranslated, f"{locale}: {len(untranslated)} untranslated or fuzzy, e.g. {untranslated[:5]}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_the_placeholders(locale: str) -> None:
    messages = catalogue(locale)
    broken = []
    for msgid, forms in used_messages().items():
        message = messages[msgid]
        if message is None or not message.string:
            continue
        wanted = placeholders(forms[-1])  # a plural's "%(num)d videos" names what every form may use
        strings = (message.string,) if isinstance(message.string, str) else tuple(message.string)
        for string in strings:
            # A singular may spell out "one" instead of the count; no form may invent or rename one.
            if not placeholders(string) <= wanted | placeholders(forms[0]):
                broken.append((msgid, string))
    assert not broken, f"{locale}: placeholders changed in {broken[:5]}"


def test_template_messages_survive_percent_formatting() -> None:
    # New-style gettext applies % to every message, so a bare "%" (as in "(%)") breaks the page: "%%" it is.
    broken = []
    for msgid in extracted()[1]:
        for form in used_messages()[msgid]:
            try:
                form % dict.fromkeys(re.findall(r"%\((\w+)\)", form), 1)
            except (ValueError, TypeError) as error:
                broken.append((form, str(error)))
    assert not broken


@pytest.mark.parametrize("locale", TRANSLATED)
def test_plural_forms_match_the_locale(locale: str) -> None:
    assert catalogue(locale).num_plurals == len(PLURAL_CATEGORIES[locale])
