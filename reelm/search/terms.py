"""From a person's words to the text-search queries that match them: prefixes, and one typo in long words.

Pure: the words arrive already folded and split by the database (the same `reelm_search_fold` and `simple`
parser that built the documents), so a query and a document never disagree about what a word is.

Without pg_trgm (the embedded PostgreSQL has no contrib modules) typos are matched by asking the full-text
index for every string one edit away from the word: deletions, transpositions, substitutions and
insertions. For a word of n Latin letters that is about 54n + 25 lexemes, each a cheap GIN probe, and the
whole query is capped so that no input makes the index do unbounded work.
"""

from __future__ import annotations

import string

MAX_WORDS = 8  # further words are ignored: eight already narrow any search
TYPO_MIN_LENGTH = 5  # shorter words have too many neighbours one edit away to be worth guessing
MAX_VARIANTS = 1500  # over all the words of one query
_LATIN = string.ascii_lowercase + string.digits


def one_edit_away(word: str) -> set[str]:
    """Every string one edit (Damerau-Levenshtein) from `word`, the word itself excluded.

    Substitutions and insertions draw on a-z and digits for Latin words, and on the word's own letters for
    words of other scripts (their alphabets are large; a typo there is mostly a doubled, dropped or swapped
    letter, which this still covers).
    """
    letters = _LATIN if all(c in _LATIN for c in word) else "".join(sorted(set(word)))
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in letters}
    inserts = {a + c + b for a, b in splits for c in letters}
    return (deletes | transposes | replaces | inserts) - {word}


def _quoted(lexeme: str) -> str:
    # tsquery syntax: a quoted lexeme is taken as it is, whatever operators (& | ! : * ( )) it holds.
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsqueries(words: list[str]) -> tuple[str, str] | None:
    """The strict query (every word, as a prefix) and the loose one (each word may also be one typo off),
    as tsquery text; None when there is no word to look for."""
    words = words[:MAX_WORDS]
    if not words:
        return None
    strict, loose = [], []
    budget = MAX_VARIANTS
    for word in words:
        prefix = _quoted(word) + ":*"
        strict.append(prefix)
        variants: list[str] = []
        if len(word) >= TYPO_MIN_LENGTH and word.isalnum() and budget > 0:
            variants = sorted(one_edit_away(word))[:budget]
            budget -= len(variants)
        loose.append("(" + " | ".join([prefix, *map(_quoted, variants)]) + ")")
    return " & ".join(strict), " & ".join(loose)


def typo_variants(word: str) -> list[str]:
    """The strings one typo from `word`, for exact look-ups in a B-tree; none for short words."""
    if len(word) < TYPO_MIN_LENGTH or not word.isalnum():
        return []
    return sorted(one_edit_away(word))[:MAX_VARIANTS]
