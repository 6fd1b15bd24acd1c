"""An audio file, or a video file's sound, decoded to what fingerprints are made of: mono PCM at 8000 Hz.

PyAV demuxes the first audio stream only, decodes it and resamples it (libswresample) to mono float32 at
`fingerprint.SAMPLE_RATE`. The work is bounded whatever the file says about itself: the file's size is checked
before it is opened, decoding stops after `max_seconds` of output, and at most MAX_PACKETS_PER_SECOND x
`max_seconds` packets are read (a stream of empty packets cannot keep it busy). Samples are concatenated in
decoding order: gaps in the timestamps are not filled, since fingerprints only need what is heard.
"""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream

from reelm.sounds.fingerprint import MAX_SECONDS, SAMPLE_RATE

# The size uploads are capped at (reelm.videos.media.MediaLimits.max_bytes).
MAX_BYTES = 500 * 1024 * 1024
# Codecs put 10 to 50 packets in a second (AAC at 48 kHz: 47); PCM in small packets may put more.
MAX_PACKETS_PER_SECOND = 400


class AudioUnreadable(Exception):
    """The file has no audio we can decode; `code` is a stable machine id, `reason` a sentence."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


def decode_mono(
    path: Path, *, max_seconds: float = MAX_SECONDS, max_bytes: int = MAX_BYTES
) -> npt.NDArray[np.float32]:
    """The first `max_seconds` of the file's first audio stream, mono float32 at SAMPLE_RATE.

    Raises AudioUnreadable for a missing, empty, oversized or undecodable file, or one without audio.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioUnreadable("unreadable", "The file cannot be read.") from exc
    if size == 0:
        raise AudioUnreadable("empty_file", "The file is empty.")
    if size > max_bytes:
        raise AudioUnreadable("too_large", f"The file is larger than {max_bytes} bytes.")
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioUnreadable("unreadable", "The file is not a media file we can read.") from exc
    with container:
        if not container.streams.audio:
            raise AudioUnreadable("no_audio", "The file has no sound.")
        try:
            return _decode(container.streams.audio[0], container, max_seconds)
        except av.FFmpegError as exc:
            raise AudioUnreadable("corrupt_stream", "The sound is damaged and cannot be decoded.") from exc


def _decode(
    stream: AudioStream, container: av.container.InputContainer, max_seconds: float
) -> npt.NDArray[np.float32]:
    wanted = int(max_seconds * SAMPLE_RATE)
    packets_left = math.ceil(max_seconds * MAX_PACKETS_PER_SECOND)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[npt.NDArray[np.float32]] = []
    have = 0
    for packet in container.demux(stream):
        packets_left -= 1
        if packets_left < 0 or have >= wanted:
            break
        for frame in packet.decode():
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                chunks.append(chunk)
                have += len(chunk)
    else:
        # The whole stream was read: what the resampler still holds belongs to its end.
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    if not chunks:
        raise AudioUnreadable("no_audio", "The file's sound stream holds no samples.")
    return np.concatenate(chunks)[:wanted]
