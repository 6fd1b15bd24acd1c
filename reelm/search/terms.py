"""From a person's words to the text-search queries that match them: prefixes, and one typo in long words.

Pure: the words arrive already folded and split by the database (the same `reelm_search_fold` and `simple`
parser that built the documents), so a query and a document never disagree about what a word is.

Without pg_trgm (the embedded PostgreSQL has no contrib modules) typos are matched through the strings one
edit away from a word (deletions, transpositions, substitutions, insertions: about 54n + 25 for n Latin
letters). Those are first looked up in the vocabulary of words the documents hold (reelm.search.models.
SearchWord, one B-tree probe each), and only the few real words among them join the full-text query: a
query of hundreds of lexemes made the planner drop the index for a scan of every document. The candidates
are capped, so no input makes either step do unbounded work.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

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


def typo_candidates(words: Sequence[str]) -> dict[str, list[str]]:
    """For each word long enough to be guessed at, the strings one typo away, to look up among the real
    words; `MAX_VARIANTS` over all the words."""
    candidates: dict[str, list[str]] = {}
    budget = MAX_VARIANTS
    for word in words[:MAX_WORDS]:
        if budget > 0 and len(word) >= TYPO_MIN_LENGTH and word.isalnum():
            candidates[word] = sorted(one_edit_away(word))[:budget]
            budget -= len(candidates[word])
    return candidates


def tsqueries(words: Sequence[str], typos: Mapping[str, Sequence[str]]) -> tuple[str, str] | None:
    """The strict query (every word, as a prefix) and the loose one (each word may also be one of its
    `typos`: real words one edit away), as tsquery text; None when there is no word to look for."""
    words = words[:MAX_WORDS]
    if not words:
        return None
    strict, loose = [], []
    for word in words:
        prefix = _quoted(word) + ":*"
        strict.append(prefix)
        loose.append("(" + " | ".join([prefix, *map(_quoted, typos.get(word, ()))]) + ")")
    return " & ".join(strict), " & ".join(loose)


def typo_variants(word: str) -> list[str]:
    """The strings one typo from `word`, for exact look-ups in a B-tree; none for short words."""
    if len(word) < TYPO_MIN_LENGTH or not word.isalnum():
        return []
    return sorted(one_edit_away(word))[:MAX_VARIANTS]
