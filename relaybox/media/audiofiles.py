"""Audio files in and out at 8 kHz mono int16: decode WAV (stdlib `wave`, any rate/width/channels)
and MP3 (the Debian `mpg123` decoder), write WAV and MP3 (`lameenc`)."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from relaybox.media import RATE
from relaybox.media.errors import MediaUnavailable, missing

Samples = npt.NDArray[np.int16]
MAX_FETCH_BYTES = 50 * 1024 * 1024


def resample(samples: npt.NDArray[np.float64] | Samples, src: int, dst: int = RATE) -> Samples:
    """Linear-interpolation resampling (telephone quality is all that is needed)."""
    if src == dst or len(samples) == 0:
        return np.asarray(samples, dtype=np.int16)
    n = int(len(samples) * dst / src)
    x = np.arange(n) * (src / dst)
    return np.interp(x, np.arange(len(samples)), np.asarray(samples, dtype=np.float64)).astype(np.int16)


def decode_wav(data: bytes) -> Samples:
    with wave.open(io.BytesIO(data)) as w:
        width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.int32)
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.int64) >> 16
    else:
        raise ValueError(f"unsupported WAV sample width {width}")
    if channels > 1:
        x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
    return resample(np.asarray(x, dtype=np.float64), rate)


def decode_mp3(data: bytes) -> Samples:
    exe = shutil.which("mpg123")
    if exe is None:
        raise missing("the MP3 decoder mpg123", "apt-get install mpg123")
    proc = subprocess.run([exe, "-q", "-s", "-m", "-r", str(RATE), "-e", "s16", "-"], input=data,
                          capture_output=True, timeout=60, check=False)
    if proc.returncode != 0 or not proc.stdout:
        raise ValueError(f"mpg123 could not decode the file: {proc.stderr.decode(errors='replace')[:200]}")
    return np.frombuffer(proc.stdout[: len(proc.stdout) // 2 * 2], dtype="<i2").copy()


def decode(data: bytes) -> Samples:
    """WAV or MP3 bytes -> 8 kHz mono int16; ValueError for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            return decode_wav(data)
        except (wave.Error, EOFError) as exc:
            raise ValueError(f"unreadable WAV: {exc}") from exc
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return decode_mp3(data)
    raise ValueError("not a WAV or MP3 file")


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
