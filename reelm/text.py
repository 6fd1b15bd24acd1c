"""Validation and parsing of user-written text: handles, names, captions, comments, bios.

Three strengths of rule, for three kinds of text:
- free text (captions, comments, bios, messages, titles; `clean_text`): NFC, no control characters, and no
  bidi embedding, override or isolate controls, which reorder what follows them so that text reads other
  than it is. Joiners stay: Persian needs ZWNJ, emoji sequences ZWJ.
- names (display names; `clean_name`): NFKC, one line with single spaces, and nothing invisible or
  direction-changing, so that a name shows what it is; the only invisible characters kept are those that
  join what they stand between (ZWJ inside an emoji sequence, ZWNJ inside Arabic-script words or after a
  virama, variation selectors after a visible character, the tags of a subdivision flag).
- identifiers typed to log in (e-mail addresses; `check_visible`): nothing hidden at all.
A new name is also compared with the names already taken by its UTS #39 skeleton (`lookalike_digest`), so
that "maya.moves" spelt with a Cyrillic U+0443 for its "y" cannot pose as "maya.moves".
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import unicodedata
from pathlib import Path

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


# Bidi embedding, override and isolate controls (UAX #9): they reorder the characters after them, so that
# "\u202esevom.ayam" shows as "maya.moves" and a caption can show other than it says.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Direction marks (LRM, RLM, ALM) reorder nothing themselves; free text keeps them, names and e-mail do not.
BIDI_MARKS = frozenset("\u200e\u200f\u061c")
ZWJ = "\u200d"
ZWNJ = "\u200c"
# Default_Ignorable_Code_Point of Unicode's DerivedCoreProperties.txt (15.1), which unicodedata lacks:
# characters renderers show as nothing when they do not support them.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_IGNORABLE = frozenset(chr(code) for low, high in _DEFAULT_IGNORABLE for code in range(low, high + 1))
# Variation selectors pick a glyph of the character before them (emoji or text style, CJK and Mongolian
# variants): invisible, but only ever with a visible character.
_VARIATION_SELECTORS = ((0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
_SKIN_TONES = (0x1F3FB, 0x1F3FF)  # emoji modifiers (category Sk)
_KEYCAP = "\u20e3"
_VS16 = "\ufe0f"
# A subdivision flag: U+1F3F4 WAVING BLACK FLAG, tag letters, U+E007F CANCEL TAG.
_FLAG_BASE = "\U0001f3f4"
_TAGS = (0xE0020, 0xE007E)
_CANCEL_TAG = "\U000e007f"
_VIRAMA = 9  # canonical combining class of a virama: ZWNJ after one asks for the explicit form (Indic)


def _within(ch: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in ranges)


def is_invisible(ch: str) -> bool:
    """A format character (category Cf) or a default-ignorable code point: nothing to see."""
    return ch in _IGNORABLE or unicodedata.category(ch) == "Cf"


def _u(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _direction_change(field: str, ch: str) -> Problem:
    return invalid(
        field, f"contains a direction-changing character ({_u(ch)}), which can make it read other than it is"
    )


def clean_text(
    field: str, value: str, *, max_len: int, allow_empty: bool = True, multiline: bool = True
) -> str:
    """NFC-normalised, trimmed text without control characters or bidi embedding, override and isolate
    controls, or a 422 explaining what is wrong."""
    text = unicodedata.normalize("NFC", value).strip()
    if any(ch in _CONTROL for ch in text) or (not multiline and "\n" in text):
        raise invalid(field, "contains control characters")
    if overrides := [ch for ch in text if ch in BIDI_CONTROLS]:
        raise _direction_change(field, overrides[0])
    if not text and not allow_empty:
        raise invalid(field, "must not be empty")
    if len(text) > max_len:
        raise invalid(field, f"must be at most {max_len} characters")
    return text


def clean_name(field: str, value: str, *, max_len: int) -> str:
    """A display name as it will show: NFKC, trimmed, single spaces, one line, nothing invisible or
    direction-changing (or a 422 that names the character)."""
    text = unicodedata.normalize("NFKC", value)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise invalid(field, "contains control characters")
    if any(unicodedata.category(ch) in {"Zl", "Zp"} for ch in text):
        raise invalid(field, "must be one line")
    text = " ".join(text.split())  # no space at either end, and one between words
    for i, ch in enumerate(text):
        if ch in BIDI_CONTROLS or ch in BIDI_MARKS:
            raise _direction_change(field, ch)
        if is_invisible(ch) and not _joins(text, i):
            raise invalid(field, f"contains an invisible character ({_u(ch)})")
    if not text:
        raise invalid(field, "must not be empty")
    if len(text) > max_len:
        raise invalid(field, f"must be at most {max_len} characters")
    return text


def _joins(text: str, i: int) -> bool:
    """Whether the invisible character at `i` does visible work where it stands (see the module's note)."""
    ch = text[i]
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if ch == ZWJ:
        return _ends_emoji(before) and after != "" and unicodedata.category(after) == "So"
    if ch == ZWNJ:
        return before != "" and (
            unicodedata.combining(before) == _VIRAMA or (_arabic_letter(before) and _arabic_letter(after))
        )
    if _within(ch, _VARIATION_SELECTORS):
        return before != "" and not before.isspace() and not is_invisible(before)
    if _within(ch, ((_TAGS[0], ord(_CANCEL_TAG)),)):
        return _in_flag(text, i)
    return False


def _ends_emoji(ch: str) -> bool:
    return ch != "" and (
        unicodedata.category(ch) == "So" or ch in {_VS16, _KEYCAP} or _within(ch, (_SKIN_TONES,))
    )


def _arabic_letter(ch: str) -> bool:
    return ch != "" and unicodedata.category(ch)[0] in "LM" and unicodedata.name(ch, "").startswith("ARABIC")


def _in_flag(text: str, i: int) -> bool:
    """Whether position `i` lies in U+1F3F4, one or more tag letters, U+E007F."""
    start = i if text[i] != _CANCEL_TAG else i - 1
    while start >= 0 and _within(text[start], (_TAGS,)):
        start -= 1
    end = i
    while end < len(text) and _within(text[end], (_TAGS,)):
        end += 1
    letters = end - start - 1
    return start >= 0 and text[start] == _FLAG_BASE and letters > 0 and text[end : end + 1] == _CANCEL_TAG


def check_visible(field: str, value: str) -> None:
    """Refuse, with the reason, an identifier (an e-mail address, a log-in) that holds a character one
    cannot see: control characters, spaces, direction controls and marks, invisible format characters."""
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc":
            raise invalid(field, "contains control characters")
        if ch.isspace() or category[0] == "Z":
            raise invalid(field, "must not contain spaces")
        if ch in BIDI_CONTROLS or ch in BIDI_MARKS:
            raise _direction_change(field, ch)
        if is_invisible(ch):
            raise invalid(field, f"contains an invisible character ({_u(ch)})")


def check_handle(value: str) -> str:
    handle = value.strip().lower().lstrip("@")
    if not HANDLE_RE.match(handle) or len(handle) < 2:
        raise invalid("handle", "use 2-24 letters, digits, '_' or '.', not starting or ending with '.'")
    if handle in RESERVED_HANDLES or lookalike_key(handle) in _reserved_keys():
        raise invalid("handle", "this handle is reserved")  # or looks like one: "adrnin", "supp0rt"
    return handle


@functools.cache
def _reserved_keys() -> frozenset[str]:
    return frozenset(lookalike_key(handle) for handle in RESERVED_HANDLES)


def hashtags_of(text: str) -> list[str]:
    """Distinct hashtags in order of appearance, lower-cased."""
    return list(dict.fromkeys(tag.lower() for tag in HASHTAG_RE.findall(text)))[:30]


def mentions_of(text: str) -> list[str]:
    return list(dict.fromkeys(m.lower() for m in MENTION_RE.findall(text)))[:30]


# --- Look-alikes: UTS #39 skeletons ------------------------------------------------------------------


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable code point → the prototype of its class, from Unicode's confusables.txt as the
    `confusable-homoglyphs` package ships it (its `confusables.json`).

    That file keeps each line "source → target" in both directions, parsed from the line's comment, with
    right-to-left characters wrapped in U+200E. So the pairs are joined into classes, and each class gets
    one prototype: the member longer than one code point if there is one (only targets are: "m" → "rn"),
    else an ASCII member, else the member the most others point to (the target of a class of three or
    more). Which member of a class stands for it changes no equality, except for those longer targets,
    which the mapping of single code points must produce. The prototypes' own characters are mapped in
    turn until nothing changes, so that a skeleton is its own skeleton.
    """
    spec = importlib.util.find_spec("confusable_homoglyphs")  # the data file only: none of its code runs
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the confusable-homoglyphs package (Unicode's confusables) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "confusables.json"
    pairs: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))

    parent: dict[str, str] = {}

    def root(member: str) -> str:
        while (up := parent.setdefault(member, member)) != member:
            parent[member] = parent.setdefault(up, up)
            member = up
        return member

    degree: dict[str, int] = {}
    for source, entries in pairs.items():
        for entry in entries:
            a, b = source.strip("\u200e"), entry["c"].strip("\u200e")
            degree[a] = degree.get(a, 0) + 1
            parent[root(a)] = root(b)
    classes: dict[str, list[str]] = {}
    for member in parent:
        classes.setdefault(root(member), []).append(member)

    table: dict[str, str] = {}
    for members in classes.values():
        prototype = max(members, key=lambda m: (len(m) > 1, m.isascii(), degree.get(m, 0), -ord(m[0])))
        table.update({m: prototype for m in members if len(m) == 1 and m != prototype})
    for _ in range(8):  # mapping prototypes' characters settles in two or three rounds
        settled = {source: _mapped(target, table) for source, target in table.items()}
        if settled == table:
            break
        table = settled
    return table


def _mapped(text: str, table: dict[str, str]) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFD", "".join(table.get(ch, ch) for ch in decomposed if ch not in _IGNORABLE)
    )


def skeleton(text: str) -> str:
    """The UTS #39 skeleton: NFD, default-ignorable code points removed, each code point replaced by its
    confusables prototype, NFD again. Two strings that look alike have the same skeleton."""
    return _mapped(text, _prototypes())


def lookalike_key(name: str) -> str:
    """What two names that look alike share, case aside: the skeleton of the NFKC form (names are stored in
    it; confusables.txt leaves some compatibility forms out, as it does fullwidth "m"), case-folded and
    mapped again (so a capital whose lower case is another script's look-alike, like Cyrillic U+041A,
    still meets "k")."""
    return skeleton(skeleton(unicodedata.normalize("NFKC", name)).casefold())


def lookalike_digest(name: str) -> bytes:
    """SHA-256 of `lookalike_key`: a fixed-size key to index and compare names by."""
    return hashlib.sha256(lookalike_key(name).encode()).digest()


def spelling_digest(name: str) -> bytes:
    """SHA-256 of the name as spelled, case aside (NFKC, case-folded): two names with one look-alike digest
    and different spellings are confusable (UTS #39); with one spelling they are simply the same name."""
    return hashlib.sha256(unicodedata.normalize("NFKC", name).casefold().encode()).digest()
