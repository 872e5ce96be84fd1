"""Audio files in and out at 8 kHz int16: decode WAV and MP3 (`miniaudio`, the one decoder of both the
real-audio engine and the sandbox's `AudioFiles`); write WAV and MP3 as a recording goes (`Writer`; MP3 by
`lameenc`)."""

from __future__ import annotations

import logging
import queue
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

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


log = logging.getLogger("relaybox.media")
_disk: queue.SimpleQueue[Callable[[], None]] | None = None


def _disk_thread() -> queue.SimpleQueue[Callable[[], None]]:
    """The queue of the one thread that touches recording files: in submission order, so each file's writes stay
    in order. A plain queue: every call hands its audio over each second, and an executor's future per write
    cost more than the write."""
    global _disk
    if _disk is None:
        work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        threading.Thread(target=_disk_worker, args=(work,), name="relaybox-recordings", daemon=True).start()
        _disk = work
    return _disk


def _disk_worker(work: queue.SimpleQueue[Callable[[], None]]) -> None:
    while True:
        job = work.get()
        try:
            job()
        except Exception:
            log.exception("recordings thread: a job failed")


class Writer:
    """A recording written as it is made, WAV or MP3, into PATH.part, renamed to PATH when closed: the memory
    it takes stays the same however long the call, and a crash leaves the audio up to then. The file is opened,
    written and renamed in the recordings thread: a slow disk (a create waiting on the journal, writeback
    throttling) never holds the event loop and the calls' 20 ms RTP ticks; `close` waits for this file only.
    A disk error stops the writing and is raised by `close`."""

    def __init__(self, path: Path, channels: int, fmt: str) -> None:
        check_encoder(fmt)
        self.path, self.channels = path, channels
        self.part = path.with_suffix(path.suffix + ".part")
        self.file: BinaryIO | None = None
        self.error: OSError | None = None
        self.frames = 0  # samples per channel written
        self.size = 0
        self.result: tuple[float, int] | None = None
        self.encoder: Any = None
        self._submit(self._open)
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

    # -- the loop's side -------------------------------------------------------------------------------

    def _submit(self, work: Callable[[], None], always: bool = False) -> None:
        def run() -> None:
            if self.error is None or always:
                try:
                    work()
                except OSError as exc:
                    self.error = self.error or exc

        _disk_thread().put(run)

    def _put(self, data: bytes | memoryview) -> None:  # DATA must not change afterwards
        self.size += len(data)
        self._submit(lambda: self._write(data))

    def write(self, pcm: Samples) -> None:
        """Interleaved int16 samples (CHANNELS of them per instant); the recordings thread writes them later, so
        PCM must not change afterwards."""
        self.frames += len(pcm) // self.channels
        samples = np.ascontiguousarray(pcm, dtype="<i2")
        if self.encoder is None:
            self._put(samples.data.cast("B"))
        else:
            self._put(bytes(self.encoder.encode(samples.tobytes())))

    def close(self) -> tuple[float, int]:
        """Finish the file (the WAV header's sizes, the MP3 encoder's last frames) and wait for it; returns
        (seconds, bytes). OSError if the disk failed it (the part file is removed)."""
        if self.result is None:
            if self.encoder is not None:
                self._put(bytes(self.encoder.flush()))
            header = self._wav_header(self.size - 44) if self.encoder is None else None
            self._submit(lambda: self._finish(header))
            done = threading.Event()
            _disk_thread().put(done.set)
            done.wait()  # this file's work is done (the thread works in order)
            if self.error is not None:
                self.discard()
                raise self.error
            self.result = (round(self.frames / RATE, 3), self.size)
        return self.result

    def discard(self) -> None:
        """Drop the recording (its part file is removed)."""
        if self.result is None:
            self.result = (0.0, 0)
            self._submit(self._drop, always=True)

    # -- the thread's side -----------------------------------------------------------------------------

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.part, "wb")  # noqa: SIM115  (closed by _finish or _drop)

    def _write(self, data: bytes | memoryview) -> None:
        assert self.file is not None
        self.file.write(data)

    def _finish(self, header: bytes | None) -> None:
        assert self.file is not None
        if header is not None:
            self.file.seek(0)
            self.file.write(header)
        self.file.close()
        self.part.replace(self.path)

    def _drop(self) -> None:
        if self.file is not None:
            self.file.close()
        self.part.unlink(missing_ok=True)
