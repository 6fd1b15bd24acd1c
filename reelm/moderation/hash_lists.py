"""Per-realm lists of known PDQ hashes, imported from files that ThreatExchange tools write.

A realm holds any number of lists; each has a name and an action for a match: hold the video for review, or
block it. The file itself carries only hashes (and perhaps their quality). The format is recognised from the
first line that is not blank or a `#` comment:

1. **A table with a header row** (comma-, or tab-separated when the header has a tab), e.g. the CSV that
   `threatexchange dataset --print-signals --csv` writes (`collab,signal_type,signal_str,category,tags`).
   The hash is in the `signal_str`, `hash` or `signal` column; `quality` and `signal_type` are used when
   present; other columns are ignored.
2. **One hash per line, with optional fields after it**:
   - `HASH` alone, or `pdq HASH`: the files of python-threatexchange's local-file exchange
     (`LocalFileSignalExchangeAPI`: one signal per line, prefixed by its signal type when the collaboration
     does not name one);
   - `HASH,QUALITY,FILENAME`: what `pdq-photo-hasher` from ThreatExchange's `pdq/cpp` prints, and what its
     `hashtool256` and `mih-query` read (the text after the first comma is metadata there; here a second field
     that is a whole number is the quality, anything else is ignored);
   - `hash=HASH,quality=Q,...`: the same tools' `--details` key=value form.

These are the formats ThreatExchange's own tools exchange as files; its Graph API and the NCMEC/StopNCII APIs
are services, not file formats, and are out of scope. A signal type other than `pdq` is an error rather
than skipped, so a list never looks complete while silently missing entries.

Hashes are 64 hex digits (either case; stored lowercase). A quality, where given, must be a whole number from
0 to 100; entries below `MIN_QUALITY` are dropped as ThreatExchange recommends, and their line numbers
reported. Any malformed line rejects the whole file with `HashListError(line, reason)`: the file is parsed
completely before anything is returned, so a bad file never leaves a partial list.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reelm.moderation.pdq import HEX_LENGTH, MIN_QUALITY, words_from_hex

_PDQ_SIGNAL_TYPE = "pdq"
_HASH_COLUMNS = ("signal_str", "hash", "signal")
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS = re.compile(r"[0-9]+")
_NO_QUALITY = -1
_MAX_QUALITY = 100
_PREVIEW = 20  # characters of an offending value quoted in an error


class ListAction(enum.StrEnum):
    HOLD = "hold"  # publish nothing until a reviewer decides
    BLOCK = "block"  # reject the video outright


class HashListError(ValueError):
    """A hash list file that cannot be imported; `line` is 1-based."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(line, reason)  # both in args, so the exception survives pickling
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class PdqEntries:
    """The hashes of one list as arrays (a million entries as Python objects would take ~200 MB)."""

    words: npt.NDArray[np.uint64]  # N x 4, see pdq.words_from_hex
    lines: npt.NDArray[np.int32]  # the file line of each hash
    qualities: npt.NDArray[np.int16]  # -1 where the file gave none
    low_quality_lines: tuple[int, ...]  # entries dropped for a quality below MIN_QUALITY

    def __len__(self) -> int:
        return len(self.lines)

    def hex(self, row: int) -> str:
        return bytes(self.words[row].astype(">u8").tobytes()).hex()


@dataclass(frozen=True)
class HashList:
    name: str
    action: ListAction
    entries: PdqEntries


@dataclass(frozen=True)
class _Entry:
    line: int
    hex: str
    quality: int


def parse_hash_list(data: bytes) -> PdqEntries:
    """Parse a whole hash list file; raises HashListError for the first malformed line."""
    text = _decode(data)
    first = _first_meaningful_line(text)
    entries = list(_table_entries(text, first) if first and _is_header(first[1]) else _line_entries(text))
    kept = [e for e in entries if e.quality == _NO_QUALITY or e.quality >= MIN_QUALITY]
    return PdqEntries(
        words=words_from_hex([e.hex for e in kept]),
        lines=np.array([e.line for e in kept], dtype=np.int32),
        qualities=np.array([e.quality for e in kept], dtype=np.int16),
        low_quality_lines=tuple(e.line for e in entries if _NO_QUALITY < e.quality < MIN_QUALITY),
    )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # -sig: spreadsheet exports often start with a byte-order mark
    except UnicodeDecodeError as e:
        raise HashListError(data[: e.start].count(b"\n") + 1, "not UTF-8 text") from None


def _meaningful(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _lines(text: str) -> list[str]:
    """Lines as editors number them (only line feeds end a line; a carriage return before one is dropped)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _first_meaningful_line(text: str) -> tuple[int, str] | None:
    for number, line in enumerate(_lines(text), start=1):
        if _meaningful(line):
            return number, line
    return None


def _delimiter(header: str) -> str:
    return "\t" if "\t" in header else ","


def _is_header(line: str) -> bool:
    names = [name.strip().lower() for name in line.split(_delimiter(line))]
    return any(name in _HASH_COLUMNS for name in names)


# --- a table with a header --------------------------------------------------------------------------------


def _table_entries(text: str, header: tuple[int, str]) -> Iterator[_Entry]:
    header_line, header_text = header
    # Line ends put back, so that a quoted field spanning lines stays one field.
    lines = [line + "\n" for line in _lines(text)[header_line - 1 :]]
    reader = csv.reader(lines, delimiter=_delimiter(header_text), strict=True)
    try:
        names = [name.strip().lower() for name in next(reader)]
        hash_column = next(names.index(c) for c in _HASH_COLUMNS if c in names)
        quality_column = names.index("quality") if "quality" in names else None
        type_column = names.index("signal_type") if "signal_type" in names else None
        for row in reader:
            line = header_line + reader.line_num - 1
            if not any(field.strip() for field in row):
                continue
            if len(row) != len(names):
                raise HashListError(line, f"expected {len(names)} fields as in the header, found {len(row)}")
            if type_column is not None:
                _check_signal_type(line, row[type_column])
            quality = _NO_QUALITY if quality_column is None else _quality(line, row[quality_column])
            yield _Entry(line, _hash(line, row[hash_column]), quality)
    except csv.Error as e:
        raise HashListError(header_line + reader.line_num - 1, f"malformed CSV ({e})") from None


# --- one hash per line --------------------------------------------------------------------------------------


def _line_entries(text: str) -> Iterator[_Entry]:
    for number, line in enumerate(_lines(text), start=1):
        if _meaningful(line):
            yield _line_entry(number, line.strip())


def _line_entry(number: int, line: str) -> _Entry:
    if line.startswith("hash="):
        return _key_value_entry(number, line)
    first, _, rest = line.partition(",")
    words = first.split()
    if not 1 <= len(words) <= 2:
        raise HashListError(number, f"expected a hash, or a signal type and a hash, found {_preview(first)}")
    if len(words) == 2:
        _check_signal_type(number, words[0])
    hex_digits = _hash(number, words[-1])
    second = rest.partition(",")[0].strip()
    quality = _quality(number, second) if _DIGITS.fullmatch(second) else _NO_QUALITY
    return _Entry(number, hex_digits, quality)


def _key_value_entry(number: int, line: str) -> _Entry:
    fields = {}
    for pair in line.split(","):
        key, equals, value = pair.partition("=")
        if not equals:
            raise HashListError(number, f"expected key=value pairs, found {_preview(pair)}")
        fields[key.strip()] = value
    quality = _quality(number, fields["quality"]) if "quality" in fields else _NO_QUALITY
    return _Entry(number, _hash(number, fields["hash"]), quality)


# --- fields -------------------------------------------------------------------------------------------------


def _hash(line: int, value: str) -> str:
    value = value.strip()
    if not _HEX.fullmatch(value):
        raise HashListError(
            line, f"not a PDQ hash of {HEX_LENGTH} hex digits: {_preview(value)} ({len(value)} characters)"
        )
    return value.lower()


def _quality(line: int, value: str) -> int:
    value = value.strip()
    if not _DIGITS.fullmatch(value) or int(value) > _MAX_QUALITY:
        raise HashListError(
            line, f"quality must be a whole number from 0 to {_MAX_QUALITY}: {_preview(value)}"
        )
    return int(value)


def _check_signal_type(line: int, value: str) -> None:
    if value.strip().lower() != _PDQ_SIGNAL_TYPE:
        raise HashListError(
            line, f"signal type {_preview(value)} is not {_PDQ_SIGNAL_TYPE!r}: export only PDQ signals"
        )


def _preview(value: str) -> str:
    return repr(value if len(value) <= _PREVIEW else value[:_PREVIEW] + "…")
