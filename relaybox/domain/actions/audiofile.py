"""How long an audio file plays: WAV from its header, MP3 by walking its frames (no decoder needed),
and a fetcher that gets the file over HTTP(S) to find out."""

from __future__ import annotations

import io
import logging
import wave

log = logging.getLogger("relaybox.media")

MAX_FETCH_BYTES = 50 * 1024 * 1024
FETCH_SECONDS = 10.0  # wall-clock limit of one fetch

_MP3_BITRATES = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / float(w.getframerate())


def mp3_seconds(data: bytes) -> float:
    """Sum of the MPEG audio frames' durations (CBR and VBR alike)."""
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
        pos = 10 + size
    seconds = 0.0
    frames = 0
    n = len(data)
    while pos + 4 <= n:
        b1, b2 = data[pos + 1], data[pos + 2]
        if data[pos] != 0xFF or (b1 & 0xE0) != 0xE0:
            pos += 1
            continue
        version_bits, layer_bits = (b1 >> 3) & 3, (b1 >> 1) & 3
        rate_idx, bitrate_idx, padding = (b2 >> 2) & 3, b2 >> 4, (b2 >> 1) & 1
        if version_bits == 1 or layer_bits == 0 or rate_idx == 3 or bitrate_idx in (0, 15):
            pos += 1
            continue
        layer = 4 - layer_bits
        mpeg1 = version_bits == 3
        bitrate = _MP3_BITRATES[(1 if mpeg1 else 2, layer)][bitrate_idx] * 1000
        rate = _MP3_RATES[version_bits][rate_idx]
        if layer == 1:
            samples, length = 384, (12 * bitrate // rate + padding) * 4
        elif layer == 2 or mpeg1:
            samples, length = 1152, 144 * bitrate // rate + padding
        else:
            samples, length = 576, 72 * bitrate // rate + padding
        if length <= 4:
            pos += 1
            continue
        seconds += samples / rate
        frames += 1
        pos += length
    if not frames:
        raise ValueError("no MPEG audio frames found")
    return seconds


def audio_seconds(data: bytes) -> float:
    """Duration of a WAV or MP3 file's bytes; ValueError for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            return wav_seconds(data)
        except (wave.Error, EOFError) as exc:
            raise ValueError(f"unreadable WAV: {exc}") from exc
    return mp3_seconds(data)


async def fetch_seconds(url: str) -> float:
    """GET the file and measure it. Raises on network errors, oversize files or unknown formats."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=FETCH_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
        if resp.status != 200:
            raise ValueError(f"HTTP {resp.status}")
        data = await resp.content.read(MAX_FETCH_BYTES + 1)
        if len(data) > MAX_FETCH_BYTES:
            raise ValueError("file too large")
    return audio_seconds(data)
