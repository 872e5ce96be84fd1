"""Audio files in and out at 8 kHz mono int16: decode WAV and MP3 (`miniaudio`, the one decoder of both
the real-audio engine and the sandbox's `AudioFiles`), write WAV and MP3 (`lameenc`)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from relaybox.media import RATE
from relaybox.media.errors import MediaUnavailable, missing

Samples = npt.NDArray[np.int16]
MAX_FETCH_BYTES = 50 * 1024 * 1024
DECODER = "the audio decoder miniaudio"


def decode(data: bytes) -> Samples:
    """WAV or MP3 bytes (any rate, width, channels) -> 8 kHz mono int16, decoded and resampled by miniaudio;
    ValueError for anything it cannot decode, MediaUnavailable naming the package if it is missing."""
    try:
        import miniaudio
    except ImportError:
        raise missing(DECODER, "pip install miniaudio") from None
    try:
        decoded = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1,
                                   sample_rate=RATE)
    except miniaudio.MiniaudioError as exc:
        raise ValueError(f"not a WAV or MP3 file miniaudio can decode ({exc})") from None
    return np.frombuffer(decoded.samples, dtype=np.int16)


async def fetch(url: str) -> Samples:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
        if resp.status != 200:
            raise ValueError(f"HTTP {resp.status}")
        data = await resp.content.read(MAX_FETCH_BYTES + 1)
    if len(data) > MAX_FETCH_BYTES:
        raise ValueError("file too large")
    return decode(data)


def check_encoder(fmt: str) -> None:
    if fmt == "mp3":
        try:
            import lameenc  # noqa: F401
        except ImportError:
            raise missing("the MP3 encoder lameenc", "pip install lameenc; or record wav") from None
    elif fmt != "wav":
        raise MediaUnavailable(f"unknown recording format {fmt!r}")


def write(path: Path, pcm: Samples, channels: int, fmt: str) -> tuple[float, int]:
    """Write interleaved PCM as WAV or MP3 (atomically); returns (seconds, bytes)."""
    frames = len(pcm) // channels
    if fmt == "wav":  # a canonical 44-byte header, then the samples as they are (no intermediate copies)
        samples = np.ascontiguousarray(pcm.astype("<i2", copy=False))
        header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + samples.nbytes, b"WAVE", b"fmt ", 16, 1, channels,
                             RATE, RATE * channels * 2, channels * 2, 16, b"data", samples.nbytes)
        parts: list[bytes | memoryview] = [header, memoryview(samples.data).cast("B")]
    else:
        check_encoder("mp3")
        import lameenc

        enc = lameenc.Encoder()
        enc.set_bit_rate(32 if channels == 1 else 64)
        enc.set_in_sample_rate(RATE)
        enc.set_channels(channels)
        enc.set_quality(7)
        parts = [bytes(enc.encode(pcm.astype("<i2").tobytes()) + enc.flush())]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with open(tmp, "wb") as f:
        for part in parts:
            f.write(part)
    tmp.replace(path)
    return round(frames / RATE, 3), sum(len(part) for part in parts)
