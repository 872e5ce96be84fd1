"""Audio files in and out at 8 kHz mono int16: decode WAV and MP3 (`miniaudio`, the one decoder of both
the real-audio engine and the sandbox's `AudioFiles`), write WAV and MP3 (`lameenc`)."""

from __future__ import annotations

import io
import wave
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
    if fmt == "wav":
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(pcm.astype("<i2").tobytes())
        data = buf.getvalue()
    else:
        check_encoder("mp3")
        import lameenc

        enc = lameenc.Encoder()
        enc.set_bit_rate(32 if channels == 1 else 64)
        enc.set_in_sample_rate(RATE)
        enc.set_channels(channels)
        enc.set_quality(7)
        data = bytes(enc.encode(pcm.astype("<i2").tobytes()) + enc.flush())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return round(frames / RATE, 3), len(data)
