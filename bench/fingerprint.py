# ruff: noqa: E402 - imports follow the sys.path set-up
"""Sound fingerprints: "same sound" precision and recall on generated songs, lookup time in a large store.

    .venv/bin/python bench/fingerprint.py [--sounds 1000000] [--originals 200] [--negatives 200] [--seed 16]
    .venv/bin/python bench/fingerprint.py --sounds 10000 --originals 20 --negatives 20     # about a minute

1. **Songs and uploads.** `--originals` seeded songs of 15-30 s (tests/sounds/tracks.py: melody, bass, pad and
   drums of random tempo, key, timbres and patterns). Each becomes seven uploads, one per distortion of
   `tracks.DISTORTIONS`: a late start after room noise, gain (-18 or +8 dB, clipped), white noise at 10 dB
   SNR, AAC and MP3 at 64 kbit/s (ffmpeg through reelm.ffmpeg, decoded with PyAV), the first 4-6.5 s cut, and
   the song 6 dB under a generated voice. `--negatives` songs that are never stored, each under one
   distortion, and a tenth as many voice-only clips, are uploads that must match nothing. Everything is
   fingerprinted as the product would (`fingerprint` for a sound, `query_fingerprint` for an upload), on every
   core.
2. **The store.** A fresh embedded PostgreSQL (fsync off), migrated; `--sounds` sounds in `sound_landmarks`:
   the originals, at random places among sounds made up to look like them. A made-up sound has the
   length (buckets, and candidates per bucket) of a random original, and its candidate hashes are drawn from
   the originals' candidates' distribution of anchor bin, bin step and frame step (each drawn on its own, so
   common values are as common as in real candidates but combinations are spread more widely), in random
   order of strength. Every sound, made up or real, chooses its rows by the engine's rule in id order: per
   bucket the STORED_PER_BUCKET candidates whose hashes hold the fewest sounds so far (below HASH_CAPACITY),
   the strongest among equals. Rows go in by binary COPY, then the indexes are built and the table vacuumed
   (as autovacuum would leave an insert-only table). A second database holds a store of
   `--small` sounds built the same way (the same originals): the baseline.
3. **Lookups.** Every upload is looked up with `find_matching_sound` (its own read transaction, as a job
   would): in the large store and in the small one, alternately, and a single primary-key probe through the
   same kind of session as a floor. p50/p95/p99 of each; the ratio large / small says what the store's size
   costs. Precision and recall of "same sound" come from the large store: a positive upload is right when it
   finds its own original; finding another sound, or any sound for a negative upload, is a false match.
4. **fpcalc** (when installed): Chromaprint's decision for each upload against its own original and three
   other originals (best bit error rate under 0.2 over 5 s of overlap, as tests/sounds/test_fpcalc.py), so
   the two schemes can be compared distortion by distortion.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Importing the embedded PostgreSQL creates its lock, which warns when XDG_RUNTIME_DIR is unset (containers,
# CI): harmless, and the tests ignore it too. It fires at import, hence before the reelm imports.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

from benchserver import machine_note

from reelm import embedded, migrate
from reelm.db import Databases
from reelm.sounds import fingerprint as engine
from reelm.sounds.fingerprint import (
    BUCKET_FRAMES,
    HASH_CAPACITY,
    STORE_CANDIDATES_PER_BUCKET,
    STORED_PER_BUCKET,
    Fingerprint,
    fingerprint,
    query_fingerprint,
)
from reelm.sounds.matching import MIN_MATCH_SECONDS, SoundMatch, find_matching_sound
from tests.sounds import tracks

LARGE, SMALL = "us", "small"
TARGET_MS = 50.0
FPCALC_SAME_BER = 0.2
CHROMAPRINT_ITEM_SECONDS = 1365 / 11025
FPCALC_OTHERS = 3
_DF_SHIFT, _BIN_SHIFT = engine.DT_BITS, engine.DT_BITS + 9
_CHUNK = 4096  # made-up sounds drawn at a time
_COPY_ROWS = 1_000_000  # rows per COPY block
# Binary COPY tuple of (sound_id bigint, hash integer, frame smallint): field count, then length and value.
_TUPLE = np.dtype(
    [("n", ">i2"), ("l1", ">i4"), ("sid", ">i8"), ("l2", ">i4"), ("h", ">i4"), ("l3", ">i4"), ("f", ">i2")]
)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)

console = Console(stderr=True)


# --- songs and uploads -----------------------------------------------------------------------------------


@dataclass
class Upload:
    kind: str  # a distortion's name, or "voice"
    original: int | None  # the original's index, None for uploads that must match nothing
    query: Fingerprint
    fingerprint_ms: float
    raw: npt.NDArray[np.uint32] | None  # fpcalc's raw fingerprint


@dataclass
class Original:
    landmarks: Fingerprint  # fingerprint() of the song
    raw: npt.NDArray[np.uint32] | None

    @property
    def candidates(self) -> Fingerprint:
        """What the sound may store."""
        return engine.storage_candidates(self.landmarks)


def _raw(
    fpcalc: str | None, audio: tracks.Floats, directory: Path, name: str
) -> npt.NDArray[np.uint32] | None:
    if fpcalc is None:
        return None
    wav = tracks.write_wav(directory / f"{name}.wav", audio)
    command = [fpcalc, "-raw", "-json", str(wav)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    wav.unlink()
    # fpcalc 1.5.1 exits with 3 at the end of every file, after printing the whole fingerprint.
    if result.returncode not in {0, 3}:
        raise RuntimeError(result.stderr)
    return np.array(json.loads(result.stdout)["fingerprint"], dtype=np.uint32)


def _upload(kind: str, original: int | None, audio: tracks.Floats, fpcalc: str | None, tmp: Path) -> Upload:
    started = time.perf_counter()
    query = query_fingerprint(audio)
    elapsed = (time.perf_counter() - started) * 1000
    return Upload(
        kind, original, query, elapsed, _raw(fpcalc, audio, tmp, f"{kind}-{original}-{os.getpid()}")
    )


def make_original(seed: int, index: int, fpcalc: str | None) -> tuple[Original, list[Upload]]:
    """The song's stored candidates and its seven uploads (run in a worker process)."""
    rng = np.random.default_rng(seed)
    song = tracks.song(seed, float(rng.uniform(15, 30)))
    with tempfile.TemporaryDirectory(prefix="reelm-fp-") as tmp:
        original = Original(fingerprint(song), _raw(fpcalc, song, Path(tmp), "o"))
        uploads = [
            _upload(name, index, tracks.distort(name, song, seed), fpcalc, Path(tmp))
            for name in tracks.DISTORTIONS
        ]
    return original, uploads


def make_negative(seed: int, voice: bool) -> Upload:
    """An upload of a song that is never stored (under one distortion), or of a voice alone."""
    rng = np.random.default_rng(seed)
    seconds = float(rng.uniform(15, 30))
    with tempfile.TemporaryDirectory(prefix="reelm-fp-") as tmp:
        if voice:
            return _upload("voice", None, tracks.speech(seed, seconds), None, Path(tmp))
        name = sorted(tracks.DISTORTIONS)[seed % len(tracks.DISTORTIONS)]
        return _upload(
            f"unstored, {name}", None, tracks.distort(name, tracks.song(seed, seconds), seed), None, Path(tmp)
        )


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def analysis_digest() -> str:
    """Changes when the generated audio or its analysis would: the generator's source, and the landmarks of a
    short song (selection and storage rules are applied later, so they may change without it)."""
    digest = hashlib.sha256(Path(tracks.__file__).read_bytes())
    song = tracks.song(1, 4.0)
    for landmarks in (fingerprint(song), query_fingerprint(song)):
        for array in (landmarks.hashes, landmarks.frames, landmarks.strengths, landmarks.ranks):
            digest.update(array.tobytes())
    return digest.hexdigest()


def cached_audio(options: argparse.Namespace, fpcalc: str | None) -> tuple[list[Original], list[Upload]]:
    """make_audio, kept in --data-dir (it is the slowest step and deterministic)."""
    if options.data_dir is None:
        return make_audio(options, fpcalc)
    key = {
        "originals": options.originals,
        "negatives": options.negatives,
        "seed": options.seed,
        "fpcalc": fpcalc is not None,
        "analysis": analysis_digest(),
    }
    path = options.data_dir / "audio.pickle"
    if path.exists():
        with path.open("rb") as kept:
            kept_key, originals, uploads = pickle.load(kept)  # our own file, written below
        if kept_key == key:
            console.print(f"songs and uploads as kept in {path}")
            return originals, uploads
    originals, uploads = make_audio(options, fpcalc)
    options.data_dir.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        pickle.dump((key, originals, uploads), out)
    return originals, uploads


def make_audio(options: argparse.Namespace, fpcalc: str | None) -> tuple[list[Original], list[Upload]]:
    originals: list[Original] = []
    uploads: list[Upload] = []
    seeds = [options.seed * 1_000_000 + i for i in range(options.originals)]
    negatives = [options.seed * 1_000_000 + 500_000 + i for i in range(options.negatives)]
    voices = [options.seed * 1_000_000 + 900_000 + i for i in range(max(1, options.negatives // 10))]
    with progress() as bar, ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        task = bar.add_task("songs and their uploads", total=len(seeds))
        for original, song_uploads in pool.map(
            make_original, seeds, range(len(seeds)), [fpcalc] * len(seeds)
        ):
            originals.append(original)
            uploads.extend(song_uploads)
            bar.advance(task)
        task = bar.add_task("uploads of nothing stored", total=len(negatives) + len(voices))
        flags = [False] * len(negatives) + [True] * len(voices)
        for upload in pool.map(make_negative, negatives + voices, flags):
            uploads.append(upload)
            bar.advance(task)
    return originals, uploads


# --- the store -------------------------------------------------------------------------------------------


@dataclass
class Model:
    """What made-up sounds are drawn from: the originals' candidates."""

    bins: npt.NDArray[np.float64]  # cumulative distributions of the three parts of a hash
    steps: npt.NDArray[np.float64]
    dts: npt.NDArray[np.float64]
    profiles: list[npt.NDArray[np.intp]]  # per original: candidates in each bucket


def model_of(originals: list[Original]) -> Model:
    hashes = np.concatenate([o.candidates.hashes for o in originals])

    def cumulative(values: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.float64]:
        counts = np.bincount(values, minlength=size).astype(np.float64)
        distribution = np.cumsum(counts / counts.sum())
        distribution[-1] = 1.0
        return distribution

    profiles = []
    for original in originals:
        buckets = original.candidates.frames // BUCKET_FRAMES
        profiles.append(np.bincount(buckets, minlength=int(buckets.max()) + 1 if len(buckets) else 1))
    return Model(
        cumulative(hashes >> _BIN_SHIFT, 512),
        cumulative((hashes >> _DF_SHIFT) & 511, 512),
        cumulative(hashes & engine.MAX_DT, engine.MAX_DT + 1),
        profiles,
    )


@dataclass
class Store:
    sound_ids: list[int]  # the originals' ids, by index
    rows: int = 0
    hashes_used: int = 0
    load_mean: float = 0.0
    load_p99: float = 0.0
    load_max: int = 0
    landmarks_per_sound: float = 0.0
    originals_landmarks: float = 0.0


Int64s = npt.NDArray[np.int64]
Rows = tuple[Int64s, Int64s, Int64s]  # sound ids, hashes, frames


def build_rows(
    model: Model, originals: list[Original], store: Store, sounds: int, rng: np.random.Generator, label: str
) -> Iterator[Rows]:
    """Blocks of rows in id order, each sound's chosen by the engine's rule; the totals go into `store`. The
    originals are at `store.sound_ids`."""
    counts = np.zeros(1 << engine.HASH_BITS, np.int32)
    original_at = {sound_id: index for index, sound_id in enumerate(store.sound_ids)}
    ids: list[Int64s] = []
    hashes: list[Int64s] = []
    frames: list[Int64s] = []
    pending = 0
    made_up: Iterator[tuple[Int64s, npt.NDArray[np.intp]]] = iter(())
    with progress() as bar:
        task = bar.add_task(label, total=sounds)
        for sound_id in range(1, sounds + 1):
            index = original_at.get(sound_id)
            if index is not None:
                candidates = originals[index].candidates
                chosen = engine.choose_stored(candidates, counts[candidates.hashes])
                chosen_hashes, chosen_frames = chosen.hashes, chosen.frames.astype(np.int64)
            else:
                drawn = next(made_up, None)
                if drawn is None:
                    made_up = _draw(model, rng)
                    drawn = next(made_up)
                chosen_hashes, chosen_frames = _choose_made_up(*drawn, counts, rng)
            counts[chosen_hashes] += 1
            ids.append(np.full(len(chosen_hashes), sound_id, np.int64))
            hashes.append(chosen_hashes)
            frames.append(chosen_frames)
            pending += len(chosen_hashes)
            if pending >= _COPY_ROWS:
                yield np.concatenate(ids), np.concatenate(hashes), np.concatenate(frames)
                ids, hashes, frames, pending = [], [], [], 0
            if sound_id % 1000 == 0:
                bar.update(task, completed=sound_id)
        bar.update(task, completed=sounds)
    if ids:
        yield np.concatenate(ids), np.concatenate(hashes), np.concatenate(frames)
    loads = counts[counts > 0]
    store.rows = int(counts.sum())
    store.hashes_used = len(loads)
    store.load_mean, store.load_p99 = float(loads.mean()), float(np.percentile(loads, 99))
    store.load_max = int(loads.max())
    store.landmarks_per_sound = store.rows / sounds


def _draw(
    model: Model, rng: np.random.Generator
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]]:
    """Made-up sounds' candidates, _CHUNK at a time: (buckets x STORE_CANDIDATES_PER_BUCKET) hashes, in the
    order a sound would try them, and the candidates per bucket of the original whose length it takes."""
    longest = max(len(p) for p in model.profiles)
    shape = (_CHUNK, longest, STORE_CANDIDATES_PER_BUCKET)
    bins = np.searchsorted(model.bins, rng.random(shape)).astype(np.int64)
    steps = np.searchsorted(model.steps, rng.random(shape)).astype(np.int64)
    dts = np.searchsorted(model.dts, rng.random(shape)).astype(np.int64)
    candidates = bins << _BIN_SHIFT | steps << _DF_SHIFT | dts
    for row, choice in enumerate(rng.integers(len(model.profiles), size=_CHUNK)):
        yield candidates[row], model.profiles[choice]


def _choose_made_up(
    candidates: npt.NDArray[np.int64],
    profile: npt.NDArray[np.intp],
    counts: npt.NDArray[np.int32],
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The engine's rule on drawn candidates (in order of strength): per bucket the STORED_PER_BUCKET whose
    hashes hold the fewest sounds, below HASH_CAPACITY, the strongest among equals; each hash once."""
    buckets = len(profile)
    tried = candidates[:buckets]
    loads = counts[tried]
    column = np.arange(STORE_CANDIDATES_PER_BUCKET)
    usable = (column < profile[:, None]) & (loads < HASH_CAPACITY)
    preference = np.where(usable, loads, HASH_CAPACITY) * STORE_CANDIDATES_PER_BUCKET + column
    best = np.argsort(preference, axis=1)[:, :STORED_PER_BUCKET]
    bucket = np.repeat(np.arange(buckets), best.shape[1])
    taken = best.reshape(-1)
    keep = usable[bucket, taken]
    bucket, chosen = bucket[keep], tried[bucket[keep], taken[keep]]
    chosen, first = np.unique(chosen, return_index=True)
    frames = bucket[first] * BUCKET_FRAMES + rng.integers(BUCKET_FRAMES, size=len(first))
    return chosen, frames.astype(np.int64)


def load(url: str, store: Store, blocks: Iterator[Rows]) -> None:
    """COPY the rows into a table without indexes, then build them and vacuum."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE sound_landmarks DROP CONSTRAINT pk_sound_landmarks")
        conn.execute("DROP INDEX ix_sound_landmarks_sound_id")
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY sound_landmarks (sound_id, hash, frame) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.write(_COPY_HEADER)
            for ids, hashes, frames in blocks:
                tuples = np.zeros(len(ids), _TUPLE)
                tuples["n"], tuples["l1"], tuples["l2"], tuples["l3"] = 3, 8, 4, 2
                tuples["sid"], tuples["h"], tuples["f"] = ids, hashes, frames
                copy.write(tuples.tobytes())
            copy.write(_COPY_TRAILER)
        with console.status("building the indexes"):
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute("SET max_parallel_maintenance_workers = 2")
            conn.execute(
                "ALTER TABLE sound_landmarks ADD CONSTRAINT pk_sound_landmarks "
                "PRIMARY KEY (hash, sound_id) INCLUDE (frame)"
            )
            conn.execute("CREATE INDEX ix_sound_landmarks_sound_id ON sound_landmarks (sound_id)")
        with console.status("vacuuming"):
            conn.execute("VACUUM (ANALYZE) sound_landmarks")
        row = conn.execute(
            "SELECT count(*) FROM sound_landmarks WHERE sound_id = ANY(%s)", (store.sound_ids,)
        ).fetchone()
        assert row is not None
        store.originals_landmarks = row[0] / max(1, len(store.sound_ids))


def sizes(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT relname, pg_relation_size(oid) FROM pg_class "
            "WHERE relname IN ('sound_landmarks', 'pk_sound_landmarks', 'ix_sound_landmarks_sound_id')"
        ).fetchall()
    return dict(rows)


# --- lookups ---------------------------------------------------------------------------------------------


async def lookups(
    databases: Databases, uploads: list[Upload], probe: tuple[int, int]
) -> tuple[dict[str, list[float]], list[SoundMatch | None]]:
    times: dict[str, list[float]] = defaultdict(list)
    found: list[SoundMatch | None] = []
    pk_probe = text("SELECT frame FROM sound_landmarks WHERE hash = :hash AND sound_id = :sound_id")
    with progress() as bar:
        task = bar.add_task("lookups (large, small, probe)", total=len(uploads))
        for upload in uploads:
            for realm in (LARGE, SMALL):
                started = time.perf_counter()
                async with databases.read(realm) as session:
                    match = await find_matching_sound(session, upload.query)
                times[realm].append((time.perf_counter() - started) * 1000)
                if realm == LARGE:
                    found.append(match)
            started = time.perf_counter()
            async with databases.read(LARGE) as session:
                await session.execute(pk_probe, {"hash": probe[0], "sound_id": probe[1]})
            times["probe"].append((time.perf_counter() - started) * 1000)
            bar.advance(task)
    return times, found


def chromaprint_same(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> bool:
    overlap = round(MIN_MATCH_SECONDS / CHROMAPRINT_ITEM_SECONDS)
    best = 1.0
    for shift in range(overlap - len(b), len(a) - overlap + 1):
        x, y = a[max(shift, 0) :], b[max(-shift, 0) :]
        n = min(len(x), len(y))
        best = min(best, int(np.bitwise_count(x[:n] ^ y[:n]).sum()) / (32 * n))
    return best < FPCALC_SAME_BER


# --- report ----------------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> tuple[float, float, float]:
    quantiles = statistics.quantiles(values, n=100, method="inclusive")
    return quantiles[49], quantiles[94], quantiles[98]


@dataclass
class Row:
    """One line of the quality table: the uploads of one kind."""

    uploads: int = 0
    right: int = 0
    false_matches: int = 0
    fpcalc_same_own: int = 0
    fpcalc_same_other: int = 0
    fpcalc_other_pairs: int = 0


def quality(
    uploads: list[Upload],
    originals: list[Original],
    ids: list[int],
    found: list[SoundMatch | None],
    seed: int,
) -> dict[str, Row]:
    rows: dict[str, Row] = defaultdict(Row)
    rng = np.random.default_rng(seed)
    for upload, match in zip(uploads, found, strict=True):
        row = rows[upload.kind if upload.original is not None else "never stored (songs, voices)"]
        row.uploads += 1
        own = ids[upload.original] if upload.original is not None else None
        if match is not None and match.sound_id == own:
            row.right += 1
        elif match is not None:
            row.false_matches += 1
        if upload.raw is None or upload.original is None:
            continue
        own_raw = originals[upload.original].raw
        assert own_raw is not None
        row.fpcalc_same_own += chromaprint_same(upload.raw, own_raw)
        others = [
            j for j in rng.choice(len(originals), FPCALC_OTHERS + 1, replace=False) if j != upload.original
        ]
        for other in others[:FPCALC_OTHERS]:
            other_raw = originals[other].raw
            assert other_raw is not None
            row.fpcalc_same_other += chromaprint_same(upload.raw, other_raw)
            row.fpcalc_other_pairs += 1
    return rows


def report(
    options: argparse.Namespace,
    originals: list[Original],
    uploads: list[Upload],
    stores: tuple[Store, Store],
    found: list[SoundMatch | None],
    times: dict[str, list[float]],
    table_sizes: dict[str, int],
    build_s: float,
    load_before: float,
) -> None:
    out = Console(width=120)
    store, small = stores
    rows = quality(uploads, originals, store.sound_ids, found, options.seed)
    table = Table(title=f'"Same sound" (>= {MIN_MATCH_SECONDS:g} s) against {options.sounds:,} stored sounds')
    for column in ("uploads", "count", "recall", "false matches", "fpcalc recall", "fpcalc false / pairs"):
        table.add_column(column, justify="left" if column == "uploads" else "right")
    positives = true_positives = false_matches = 0
    for kind, row in rows.items():
        is_positive = not kind.startswith("never")
        positives += row.uploads if is_positive else 0
        true_positives += row.right
        false_matches += row.false_matches
        with_fpcalc = row.fpcalc_other_pairs > 0
        table.add_row(
            kind,
            str(row.uploads),
            f"{row.right / row.uploads:.3f}" if is_positive else "-",
            str(row.false_matches),
            f"{row.fpcalc_same_own / row.uploads:.3f}" if with_fpcalc else "-",
            f"{row.fpcalc_same_other} / {row.fpcalc_other_pairs}" if with_fpcalc else "-",
        )
    out.print(table)
    precision = true_positives / max(1, true_positives + false_matches)
    out.print(
        f"precision {precision:.4f} ({true_positives} right, {false_matches} false matches); "
        f"recall {true_positives / max(1, positives):.4f} ({true_positives} of {positives} copies found)"
    )
    latency = Table(title="Lookup per upload: find_matching_sound in its own read transaction (ms)")
    for column in ("store", "p50", "p95", "p99", "max"):
        latency.add_column(column, justify="left" if column == "store" else "right")
    labels = {
        LARGE: f"{options.sounds:,} sounds",
        SMALL: f"{options.small:,} sounds (baseline)",
        "probe": "one primary-key probe (floor)",
    }
    for name, label in labels.items():
        p50, p95, p99 = percentiles(times[name])
        latency.add_row(label, f"{p50:.2f}", f"{p95:.2f}", f"{p99:.2f}", f"{max(times[name]):.2f}")
    out.print(latency)
    large50, small50, probe50 = (percentiles(times[n])[0] for n in (LARGE, SMALL, "probe"))
    out.print(
        f"large / small store, p50: {large50 / small50:.2f}; large / primary-key probe, p50: "
        f"{large50 / probe50:.1f}; large p99 {percentiles(times[LARGE])[2]:.1f} ms "
        f"(target <= {TARGET_MS:.0f} ms per upload)"
    )
    fingerprint_ms = statistics.median(u.fingerprint_ms for u in uploads)
    looked_up = statistics.median(len(engine.query_landmarks(u.query)) for u in uploads)
    out.print(
        f"uploads: {len(uploads)}, 15-30 s each; query_fingerprint p50 {fingerprint_ms:.0f} ms per upload "
        f"(not in the lookup times); {looked_up:.0f} landmarks looked up per upload (p50)"
    )
    heap, key, by_sound = (
        table_sizes.get(name, 0) / 2**20
        for name in ("sound_landmarks", "pk_sound_landmarks", "ix_sound_landmarks_sound_id")
    )
    out.print(
        f"store: {options.sounds:,} sounds, {len(originals)} of them the real originals at random places and "
        f"the rest made up from the originals' hash distribution; {store.rows:,} rows over "
        f"{store.hashes_used:,} hashes, sounds per hash: mean {store.load_mean:.1f}, "
        f"p99 {store.load_p99:.0f}, max {store.load_max}; {store.landmarks_per_sound:.1f} landmarks a sound "
        f"(the originals: {store.originals_landmarks:.1f}); table {heap:,.0f} MiB, primary key "
        f"{key:,.0f} MiB, sound_id index {by_sound:,.0f} MiB; built in {build_s:.0f} s"
    )
    seconds_per_bucket = BUCKET_FRAMES * engine.FRAME_SECONDS
    out.print(
        f"baseline store: {options.small:,} sounds, {small.rows:,} rows. Hash capacity {HASH_CAPACITY}; a "
        f"sound keeps {STORED_PER_BUCKET} landmarks per {seconds_per_bucket:.3f} s"
    )
    out.print(machine_note(f"numpy {np.__version__}", load_before=load_before))


def build(url: str, model: Model, originals: list[Original], sounds: int, seed: int, label: str) -> Store:
    # Its own stream: a store is the same whatever was built before it.
    rng = np.random.default_rng([seed, sounds])
    places = np.sort(rng.choice(np.arange(1, sounds + 1), size=len(originals), replace=False))
    store = Store([int(p) for p in places])
    load(url, store, build_rows(model, originals, store, sounds, rng, label))
    return store


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sounds", type=int, default=1_000_000, help="sounds in the large store")
    parser.add_argument("--small", type=int, default=10_000, help="sounds in the baseline store")
    parser.add_argument("--originals", type=int, default=200, help="generated songs, stored and uploaded")
    parser.add_argument("--negatives", type=int, default=200, help="generated songs never stored, uploaded")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--no-fpcalc", action="store_true", help="skip Chromaprint's decisions")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the songs' fingerprints and the stores here, and measure them again without making them "
        "again while the sizes, seed, generator, analysis and storage rules are the same",
    )
    options = parser.parse_args()
    if options.small > options.sounds or options.originals > options.small:
        parser.error("need originals <= small <= sounds")
    load_before = os.getloadavg()[0]
    fpcalc = None if options.no_fpcalc else shutil.which("fpcalc")
    if fpcalc is None and not options.no_fpcalc:
        console.print("fpcalc not found: Chromaprint's columns are left out")
    originals, uploads = cached_audio(options, fpcalc)
    model = model_of(originals)
    root = options.data_dir or Path(tempfile.mkdtemp(prefix="reelm-bench-fp-"))
    server = embedded.start_server(root)
    built = root / "stores.json"
    # A store is rebuilt when its sizes, its songs or the rules that chose its rows change.
    wanted = {
        **{k: getattr(options, k) for k in ("sounds", "small", "originals", "seed")},
        "analysis": analysis_digest(),
        "rules": [
            HASH_CAPACITY,
            STORED_PER_BUCKET,
            STORE_CANDIDATES_PER_BUCKET,
            engine.FAN_OUT,
            BUCKET_FRAMES,
        ],
    }
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("SELECT pg_reload_conf()")
        kept = json.loads(built.read_text()) if built.exists() else None
        if kept is not None and kept["options"] == wanted:
            console.print(f"measuring the stores kept in {root}")
            urls = embedded.ensure_databases(server, [LARGE, SMALL])
            store, small, build_s = Store(**kept["large"]), Store(**kept["small"]), kept["build_s"]
        else:
            built.unlink(missing_ok=True)
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                for realm in (LARGE, SMALL):
                    conn.execute(f"DROP DATABASE IF EXISTS {embedded.realm_database(realm)} WITH (FORCE)")
            urls = embedded.ensure_databases(server, [LARGE, SMALL])
            for realm in (LARGE, SMALL):
                migrate.upgrade(urls[realm], "realm")
            started = time.perf_counter()
            store = build(urls[LARGE], model, originals, options.sounds, options.seed, "large store")
            build_s = time.perf_counter() - started
            small = build(urls[SMALL], model, originals, options.small, options.seed, "small store")
            if options.data_dir is not None:
                stores = {"large": store.__dict__, "small": small.__dict__}
                built.write_text(json.dumps({"options": wanted, "build_s": build_s, **stores}))
        table_sizes = sizes(urls[LARGE])
        with psycopg.connect(urls[LARGE]) as conn:
            probe = conn.execute(
                "SELECT hash, sound_id FROM sound_landmarks WHERE sound_id > 0 LIMIT 1"
            ).fetchone()
        assert probe is not None
        databases = Databases(directory_url=urls[""], realm_urls={LARGE: urls[LARGE], SMALL: urls[SMALL]})

        async def run() -> tuple[dict[str, list[float]], list[SoundMatch | None]]:
            try:
                return await lookups(databases, uploads, (probe[0], probe[1]))
            finally:
                await databases.dispose()

        times, found = asyncio.run(run())
        report(options, originals, uploads, (store, small), found, times, table_sizes, build_s, load_before)
    finally:
        server.cleanup()
        if options.data_dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
