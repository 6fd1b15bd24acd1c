"""Reading a caption file a creator uploads (WebVTT or SRT) into checked cues, and writing them as WebVTT.

Everything is bounded before it is read (MAX_BYTES, MAX_CUES, MAX_LINE_CHARS), and a file that breaks a rule
is refused with the number of the line where it does, so the creator can find it in their editor. Cue text
is kept as plain text: markup (SRT's <font>, WebVTT's <b> or <v Speaker>) is dropped and `&`, `<` and `>`
are escaped again on output, so no cue can carry anything but words; positioning settings are not kept.
STYLE, REGION and NOTE blocks of a WebVTT file are dropped for the same reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_BYTES = 512 * 1024  # a 10-minute video's captions are a few tens of kilobytes
MAX_CUES = 5000
MAX_LINE_CHARS = 500
MAX_TIME_MS = 24 * 3600 * 1000

_TIME = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s+-->\s+{_TIME}(?:\s+.*)?$")
_TAG = re.compile(r"<[^>\n]{0,200}>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0", "&lrm;": "\u200e", "&rlm;": "\u200f"}
_ENTITY = re.compile("|".join(re.escape(e) for e in _ENTITIES))


class SubtitleFileError(ValueError):
    """A caption file that cannot be read: `line` is 1-based, in the file as uploaded."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str  # plain text, lines joined by "\n"


def _ms(hours: str | None, minutes: str, seconds: str, millis: str) -> int:
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise SubtitleFileError(1, f"the file is larger than {MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubtitleFileError(data.count(b"\n", 0, exc.start) + 1, "is not UTF-8 text") from None
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _plain(line: str, number: int) -> str:
    for ch in line:
        code = ord(ch)
        if (code < 0x20 and ch != "\t") or 0x7F <= code <= 0x9F:
            raise SubtitleFileError(number, f"contains a control character (U+{code:04X})")
    text = _TAG.sub("", line)
    text = _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], text)
    return unicodedata.normalize("NFC", text.replace("\t", " ").strip())


def _timing(line: str, number: int) -> tuple[int, int]:
    match = _TIMING.match(line)
    if match is None:
        raise SubtitleFileError(
            number, "expected a timing such as 00:00:01.000 --> 00:00:03.500, found something else"
        )
    start, end = _ms(*match.groups()[:4]), _ms(*match.groups()[4:])
    if end <= start:
        raise SubtitleFileError(number, "the cue ends before it starts")
    if end > MAX_TIME_MS:
        raise SubtitleFileError(number, "the time is beyond 24 hours")
    return start, end


def _blocks(lines: list[str], first: int) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines from index `first`, each line with its 1-based number."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for index in range(first, len(lines)):
        if lines[index].strip():
            current.append((index + 1, lines[index]))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _cue(block: list[tuple[int, str]], timing_at: int) -> Cue:
    number, line = block[timing_at]
    start, end = _timing(line, number)
    texts = []
    for text_number, text_line in block[timing_at + 1 :]:
        if "-->" in text_line:
            raise SubtitleFileError(text_number, "a cue's text cannot hold “-->” (is a blank line missing?)")
        if len(text_line) > MAX_LINE_CHARS:
            raise SubtitleFileError(text_number, f"the line is longer than {MAX_LINE_CHARS} characters")
        texts.append(_plain(text_line, text_number))
    text = "\n".join(t for t in texts if t)
    if not text:
        raise SubtitleFileError(number, "the cue has no text")
    return Cue(start, end, text)


def _webvtt_cues(lines: list[str]) -> list[Cue]:
    if not re.fullmatch(r"WEBVTT(?:[ \t].*)?", lines[0]):
        raise SubtitleFileError(1, "a WebVTT file starts with the line WEBVTT")
    # The header runs to the first blank line (old files put metadata there); cues come after.
    body = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    for index in range(1, body):
        if "-->" in lines[index]:
            raise SubtitleFileError(
                index + 1, "a blank line must come between the WEBVTT line and the first cue"
            )
    cues = []
    for block in _blocks(lines, body):
        number, first = block[0]
        if first.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in first:
            continue  # comments, styles and regions are not kept
        timing_at = 0 if "-->" in first else 1  # an optional cue identifier first
        if timing_at >= len(block):
            raise SubtitleFileError(number, "a cue identifier without a timing under it")
        cues.append(_cue(block, timing_at))
        if len(cues) > MAX_CUES:
            raise SubtitleFileError(number, f"more than {MAX_CUES} cues")
    return cues


def _srt_cues(lines: list[str]) -> list[Cue]:
    cues = []
    for block in _blocks(lines, 0):
        number, first = block[0]
        if "-->" in first:  # some tools leave the counter out
            timing_at = 0
        elif first.strip().isdigit():
            timing_at = 1
            if len(block) < 2:
                raise SubtitleFileError(number, "a cue number without a timing under it")
        else:
            raise SubtitleFileError(number, "expected a cue number (1, 2, 3…) or a timing")
        cues.append(_cue(block, timing_at))
        if len(cues) > MAX_CUES:
            raise SubtitleFileError(number, f"more than {MAX_CUES} cues")
    return cues


def read_cues(data: bytes) -> list[Cue]:
    """The cues of a WebVTT or SRT file (told apart by WebVTT's first line), in their order."""
    lines = _decode(data).split("\n")
    cues = _webvtt_cues(lines) if lines[0].startswith("WEBVTT") else _srt_cues(lines)
    if not cues:
        raise SubtitleFileError(1, "the file holds no cues")
    return cues


def _stamp(ms: int) -> str:
    hours, rest = divmod(ms, 3600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(cues: list[Cue]) -> str:
    parts = ["WEBVTT", ""]
    for cue in cues:
        parts += [f"{_stamp(cue.start_ms)} --> {_stamp(cue.end_ms)}", _escape(cue.text), ""]
    return "\n".join(parts)


def plain_text(cues: list[Cue]) -> str:
    """What the captions say, for content rules and search."""
    return "\n".join(cue.text for cue in cues)
