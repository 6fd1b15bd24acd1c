"""Text that deceives: the rules of reelm.text for free text, names and log-in identifiers, and the UTS #39
look-alike key. Characters are written as escapes, so that this file shows what it tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reelm.errors import Problem
from reelm.text import (
    _prototypes,
    check_handle,
    check_visible,
    clean_name,
    clean_text,
    lookalike_key,
    skeleton,
)

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
ZWSP = "\u200b"  # ZERO WIDTH SPACE
ZWJ = "\u200d"
ZWNJ = "\u200c"
TECHNOLOGIST = f"\U0001f469{ZWJ}\U0001f4bb"  # woman, ZWJ, laptop: one emoji
CYRILLIC_Y = "\u0443"  # looks like a Latin "y"


def refused(rule: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The reason the rule's 422 gives, as the client reads it."""
    with pytest.raises(Problem) as caught:
        rule(*args, **kwargs)
    assert caught.value.status == 422
    return caught.value.detail


# --- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (f"maya.moves{RLO}{ZWSP}", "direction-changing character (U+202E)"),
        ("\u2066maya\u2069", "direction-changing character (U+2066)"),
        (
            "maya\u200f",
            "direction-changing character (U+200F)",
        ),  # RLM: hides nothing visible, reorders neutrals
        (f"maya{ZWSP}moves", "invisible character (U+200B)"),
        ("maya\u2060", "invisible character (U+2060)"),  # word joiner
        ("\u00admaya", "invisible character (U+00AD)"),  # soft hyphen
        (f"ma{ZWJ}ya", "invisible character (U+200D)"),  # a joiner between letters joins nothing
        (f"maya{ZWNJ}moves", "invisible character (U+200C)"),
        ("\u3164", "invisible character"),  # Hangul filler: a name of nothing
        ("maya\x00", "control characters"),
        ("two\nlines", "control characters"),
        ("two\u2028lines", "must be one line"),
        (" \u3000 ", "must not be empty"),
    ],
)
def test_a_name_with_a_hidden_or_reordering_character_is_refused_with_the_reason(
    name: str, reason: str
) -> None:
    detail = refused(clean_name, "display_name", name, max_len=50)
    assert detail.startswith("display_name: ")
    assert reason in detail


@pytest.mark.parametrize(
    "name",
    [
        f"{TECHNOLOGIST} Maya",
        "\u2764\ufe0f\u200d\U0001f525 fire",  # heart, emoji style, ZWJ, fire
        "\U0001f468\U0001f3fd\u200d\U0001f680",  # astronaut with a skin tone
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scot",  # flag of Scotland
        "I \u2764\ufe0f NY",
        "\u0639\u0644\u06cc\u200c\u0631\u0636\u0627",  # Persian, with the ZWNJ it needs
        "\u0915\u094d\u200c\u0937",  # Devanagari: a ZWNJ after a virama asks for the explicit form
        "Am\u00e9lie",
        "\u845b\U000e0100\u98fe",  # an ideographic variation sequence: a glyph of the same character
    ],
)
def test_names_that_need_joiners_or_variation_selectors_are_kept(name: str) -> None:
    assert clean_name("display_name", name, max_len=50) == name


def test_a_name_is_nfkc_with_single_spaces() -> None:
    assert clean_name("display_name", "  Maya \u00a0  Moves\u3000", max_len=50) == "Maya Moves"
    assert clean_name("display_name", "\uff2d\uff41\uff59\uff41", max_len=50) == "Maya"  # fullwidth
    assert clean_name("display_name", "\ufb01ne", max_len=50) == "fine"  # the "fi" ligature
    assert "at most 5" in refused(clean_name, "display_name", "\ufdfa", max_len=5)  # long once NFKC'd


# --- free text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override", ["\u202a", "\u202b", "\u202c", "\u202d", RLO, "\u2066", "\u2067", "\u2068", "\u2069"]
)
def test_free_text_refuses_embedding_override_and_isolate_controls(override: str) -> None:
    detail = refused(clean_text, "caption", f"watch this {override}4pm ot 2pm", max_len=2200)
    assert detail.startswith("caption: contains a direction-changing character (U+")


def test_free_text_keeps_joiners_and_direction_marks() -> None:
    caption = f"{TECHNOLOGIST} coding \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u200eok #dev"
    assert clean_text("caption", caption, max_len=2200) == caption
    assert clean_text("bio", f"  {ZWSP}still here ", max_len=300) == f"{ZWSP}still here"  # as before


# --- identifiers typed to log in -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("maya\x00@example.org", "contains control characters"),
        ("maya\x1b@example.org", "contains control characters"),
        ("maya\t@example.org", "contains control characters"),
        ("maya @example.org", "must not contain spaces"),
        ("maya\u00a0@example.org", "must not contain spaces"),
        (f"maya{RLO}@example.org", "direction-changing character (U+202E)"),
        ("maya\u200e@example.org", "direction-changing character (U+200E)"),
        (f"maya{ZWSP}@example.org", "invisible character (U+200B)"),
        ("maya\ufeff@example.org", "invisible character (U+FEFF)"),
    ],
)
def test_an_identifier_with_a_hidden_character_is_refused(value: str, reason: str) -> None:
    detail = refused(check_visible, "email", value)
    assert detail.startswith("email: ")
    assert reason in detail


def test_a_plain_identifier_passes() -> None:
    check_visible("email", "maya.moves+tag@example.org")
    check_visible("email", "j\u00f6rg@b\u00fccher.example")  # international addresses are visible too


# --- look-alikes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "imitation",
    [
        f"ma{CYRILLIC_Y}a.moves",
        "m\u0430\u0443\u0430.m\u043ev\u0435s",  # every vowel and the "y" Cyrillic
        "rnaya.moves",
        "maya.rnoves",
        "maya.m0ves",
        "MAYA.MOVES",
        "\uff4d\uff41\uff59\uff41.moves",  # fullwidth
        f"maya.moves{ZWSP}",
        "maya.moves\ufe0e",
        "\U0001d426\U0001d41a\U0001d432\U0001d41a.moves",  # mathematical bold
    ],
)
def test_look_alikes_share_the_key(imitation: str) -> None:
    assert lookalike_key(imitation) == lookalike_key("maya.moves")


@pytest.mark.parametrize("other", ["maya.moves2", "maya_moves", "mayamoves", "maia.moves", "Mia"])
def test_different_names_have_different_keys(other: str) -> None:
    assert lookalike_key(other) != lookalike_key("maya.moves")


def test_the_skeleton_is_its_own_skeleton() -> None:
    """UTS #39: skeleton(skeleton(x)) = skeleton(x), for every character confusables.txt maps."""
    table = _prototypes()
    assert len(table) > 6000  # the whole of confusables.txt, not a fragment
    assert table[CYRILLIC_Y] == "y"
    assert table["m"] == "rn"
    assert [source for source in table if skeleton(skeleton(source)) != skeleton(source)] == []


@pytest.mark.parametrize("handle", ["admin", "adrnin", "supp0rt", "1ogin", "ree1m"])
def test_a_handle_that_looks_like_a_reserved_one_is_reserved(handle: str) -> None:
    assert refused(check_handle, handle) == "handle: this handle is reserved"


def test_handles_near_reserved_ones_are_free() -> None:
    assert check_handle("admins") == "admins"
    assert check_handle("@Support_Team") == "support_team"
