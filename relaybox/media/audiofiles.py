"""Audio files in and out at 8 kHz int16: decode WAV and MP3 (`miniaudio`, the one decoder of both the
real-audio engine and the sandbox's `AudioFiles`); write WAV and MP3 as a recording goes (`Writer`; MP3 by
`lameenc`)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from relaybox.media import RATE, _spool
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


class Writer:
    """A recording written as it is made, WAV or MP3, into PATH.part, renamed to PATH when closed: the memory
    it takes stays the same however long the call, and a crash leaves the audio up to then. The file is opened,
    written and renamed by the spool's thread (`_spool`, C, never takes the GIL): a slow disk (a create waiting
    on the journal, writeback throttling) never holds the event loop and the calls' 20 ms RTP ticks, and a
    hand-over costs the loop a copy; `close` waits for this file only. A disk error stops the writing and is
    raised by `close`."""

    def __init__(self, path: Path, channels: int, fmt: str) -> None:
        check_encoder(fmt)
        self.channels = channels
        self.spool = _spool.File(str(path.with_suffix(path.suffix + ".part")), str(path))
        self.frames = 0  # samples per channel written
        self.size = 0
        self.result: tuple[float, int] | None = None
        self.encoder: Any = None
        if fmt == "wav":
            self._put(self._wav_header(0))
        else:
            import lameenc

            self.encoder = lameenc.Encoder()
            self.encoder.set_bit_rate(32 if channels == 1 else 64)
            self.encoder.set_in_sample_rate(RATE)
            self.encoder.set_channels(channels)
            self.encoder.set_quality(7)

    def _wav_header(self, data_bytes: int) -> bytes:  # the canonical 44 bytes
        channels = self.channels
        return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels, RATE,
                           RATE * channels * 2, channels * 2, 16, b"data", data_bytes)

    def _put(self, data: bytes | Samples) -> None:
        self.size += data.nbytes if isinstance(data, np.ndarray) else len(data)
        self.spool.write(data)

    def write(self, pcm: Samples) -> None:
        """Interleaved int16 samples (CHANNELS of them per instant), copied to the spool's queue."""
        self.frames += len(pcm) // self.channels
        samples = np.ascontiguousarray(pcm, dtype="<i2")
        if self.encoder is None:
            self._put(samples)
        else:
            self._put(bytes(self.encoder.encode(samples.tobytes())))

    def close(self) -> tuple[float, int]:
        """Finish the file (the WAV header's sizes, the MP3 encoder's last frames) and wait for it; returns
        (seconds, bytes). OSError if the disk failed it (the part file is removed)."""
        if self.result is None:
            if self.encoder is not None:
                self._put(bytes(self.encoder.flush()))
            self.spool.finish(self._wav_header(self.size - 44) if self.encoder is None else None)
            try:
                self.spool.wait()  # the spool works in order: this file's work is done
            except OSError:
                self.discard()
                raise
            self.result = (round(self.frames / RATE, 3), self.size)
        return self.result

    def discard(self) -> None:
        """Drop the recording (its part file is removed)."""
        if self.result is None:
            self.result = (0.0, 0)
            self.spool.drop()


def recover(folder: Path) -> list[Path]:
    """The recordings a stopped server left as NAME.part (a crash, a kill: the audio up to then is on disk),
    made whole under NAME: a WAV's header gets the sizes of the data written; an MP3 is a run of frames and
    only renamed. A NAME that already exists is left alone. Returns the recordings recovered."""
    recovered = []
    for part in sorted(folder.glob("*.part")) if folder.is_dir() else []:
        path = part.with_suffix("")
        if path.suffix not in (".wav", ".mp3") or path.exists():
            continue  # a render's temporary file (NAME.mp3.<thread>.part), or taken
        if path.suffix == ".wav":
            with open(part, "r+b") as f:
                header = f.read(44)
                if len(header) < 44 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                    continue
                align = max(1, struct.unpack_from("<H", header, 32)[0])
                size = f.seek(0, 2)
                data = (size - 44) // align * align
                f.truncate(44 + data)
                f.seek(4)
                f.write(struct.pack("<I", 36 + data))
                f.seek(40)
                f.write(struct.pack("<I", data))
        part.replace(path)
        recovered.append(path)
    return recovered
