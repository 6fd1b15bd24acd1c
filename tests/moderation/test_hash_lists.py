"""Importing hash list files: the accepted formats, quality, and errors that name the line."""

from __future__ import annotations

import pytest

from reelm.moderation.hash_lists import HashListError, PdqEntries, parse_hash_list

# Hashes from ThreatExchange's pdq/data samples (as listed in python-threatexchange's PdqSignal examples).
BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MISC = "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064"
OCTOCAT = "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c"


def parse(text: str) -> PdqEntries:
    return parse_hash_list(text.encode())


def hexes(entries: PdqEntries) -> list[str]:
    return [entries.hex(row) for row in range(len(entries))]


def test_one_hash_per_line() -> None:
    entries = parse(f"{BRIDGE}\n\n# a comment\n{MISC.upper()}\n")
    assert hexes(entries) == [BRIDGE, MISC]
    assert entries.lines.tolist() == [1, 4]
    assert entries.qualities.tolist() == [-1, -1]


def test_signal_type_prefix_of_threatexchange_local_files() -> None:
    assert hexes(parse(f"pdq {BRIDGE}\npdq {MISC}\n")) == [BRIDGE, MISC]


def test_pdq_photo_hasher_output_gives_quality() -> None:
    entries = parse(f"{BRIDGE},100,reg_test/bridge-1-original.jpg\n{MISC},87,misc/a.png\n")
    assert hexes(entries) == [BRIDGE, MISC]
    assert entries.qualities.tolist() == [100, 87]


def test_pdq_tool_details_key_value_form() -> None:
    line = f"hash={OCTOCAT},norm=128,delta=0,quality=95,filename=octocat.png"
    entries = parse(line)
    assert hexes(entries) == [OCTOCAT]
    assert entries.qualities.tolist() == [95]


def test_free_metadata_after_the_hash_is_ignored() -> None:
    entries = parse(f"{BRIDGE},idx=1\n")
    assert hexes(entries) == [BRIDGE]
    assert entries.qualities.tolist() == [-1]


def test_threatexchange_dataset_csv_export() -> None:
    text = (
        "collab,signal_type,signal_str,category,tags\n"
        f"Sample Data,pdq,{BRIDGE},POSITIVE_CLASS,media_priority_samples\n"
        f'"Other, Ltd",pdq,{OCTOCAT},POSITIVE_CLASS,\n'
    )
    entries = parse(text)
    assert hexes(entries) == [BRIDGE, OCTOCAT]
    assert entries.lines.tolist() == [2, 3]


def test_tab_separated_table_with_quality() -> None:
    entries = parse(f"hash\tquality\tnote\r\n{BRIDGE}\t90\tx\r\n{MISC}\t80\ty\r\n")
    assert hexes(entries) == [BRIDGE, MISC]
    assert entries.qualities.tolist() == [90, 80]


def test_byte_order_mark_and_crlf_are_accepted() -> None:
    assert hexes(parse_hash_list(f"\ufeff{BRIDGE}\r\n{MISC}\r\n".encode())) == [BRIDGE, MISC]


def test_hashes_below_minimum_quality_are_dropped_and_reported() -> None:
    entries = parse(f"{BRIDGE},49,a.jpg\n{MISC},50,b.jpg\n{OCTOCAT},0,c.jpg\n")
    assert hexes(entries) == [MISC]
    assert entries.low_quality_lines == (1, 3)


def test_empty_file_is_an_empty_list() -> None:
    entries = parse("")
    assert len(entries) == 0
    assert entries.words.shape == (0, 4)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (f"{BRIDGE}\n{BRIDGE[:-1]}\n", 2, "not a PDQ hash of 64 hex digits: '"),
        (f"{BRIDGE}\n\n{BRIDGE[:-1]}g\n", 3, "not a PDQ hash"),
        (f"video_md5 {BRIDGE}\n", 1, "signal type 'video_md5' is not 'pdq'"),
        (f"pdq {BRIDGE} extra\n", 1, "expected a hash, or a signal type and a hash"),
        (f"{BRIDGE}\n,100,a.jpg\n", 2, "expected a hash, or a signal type and a hash"),
        (f"{BRIDGE},101,a.jpg\n", 1, "quality must be a whole number from 0 to 100"),
        (f"hash={BRIDGE},quality=high\n", 1, "quality must be a whole number"),
        (f"hash={BRIDGE},oops\n", 1, "expected key=value pairs"),
        (f"signal_type,signal_str\npdq,{BRIDGE}\nvideo_md5,{BRIDGE}\n", 3, "is not 'pdq'"),
        (f"hash,quality\n{BRIDGE},90\n{MISC}\n", 3, "expected 2 fields as in the header, found 1"),
        (f'hash,quality\n"{BRIDGE}"x,90\n', 2, "malformed CSV"),
    ],
)
def test_malformed_input_names_the_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(HashListError) as caught:
        parse(text)
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"line {line}: ")


def test_invalid_utf8_names_the_line() -> None:
    with pytest.raises(HashListError) as caught:
        parse_hash_list(f"{BRIDGE}\n".encode() + b"\xff\xfe\n")
    assert (caught.value.line, caught.value.reason) == (2, "not UTF-8 text")


def test_a_bad_last_line_rejects_the_whole_file() -> None:
    text = "".join(f"{BRIDGE}\n" for _ in range(1000)) + "not a hash\n"
    with pytest.raises(HashListError) as caught:
        parse(text)
    assert caught.value.line == 1001
