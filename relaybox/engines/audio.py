"""Real audio for recordings: speech rendered offline with espeak-ng, tones synthesised, mixed at 8 kHz
and written as WAV (stdlib `wave`) or MP3 (`lameenc`).

The sandbox is symbolic (it knows *that* a phone said "hello"); a recording must still be a real file,
so this renders the timeline the domain hands over (`RecordingSpec`). Missing pieces are reported by
name (`check`), so a server without espeak-ng or lameenc fails the record command with a clear message
instead of producing an empty file.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import math
import shutil
import subprocess
import threading
import warnings
import wave
from array import array
from collections import OrderedDict
from pathlib import Path
from typing import Any

from relaybox.domain.actions.audiofile import FETCH_SECONDS, MAX_FETCH_BYTES, mp3_seconds
from relaybox.domain.actions.record import RecordingSpec, Segment
from relaybox.media.errors import MediaUnavailable  # one class for the whole media stack

log = logging.getLogger("relaybox.media")

_audioop: Any = None
try:  # C-speed mixing and resampling (stdlib up to 3.12; the audioop-lts package on 3.13+)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop as _audioop
except ImportError:  # pure-Python fallbacks below
    pass

RATE = 8000
ESPEAK_RATE = 22050
AMPLITUDE = 9000
DTMF_FREQS = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}
SETUP_HINT = "run scripts/setup-media.sh"


class AudioFiles:
    """`audio` media: fetched over HTTP(S), decoded (WAV, MP3) to 8 kHz mono and kept by URL (LRU, bounded),
    so plays are timed by the real file and recordings and taps carry its sound.

    Decoding is `relaybox.media.audiofiles.decode` (miniaudio, a pip dependency with its own MP3/WAV
    decoders), shared with the real-audio engine; without miniaudio a play fails naming the package.
    """

    def __init__(self, max_samples: int = 8000 * 3600) -> None:
        self.max_samples = max_samples  # one hour of 8 kHz audio, about 57 MB
        self._files: OrderedDict[str, array[int]] = OrderedDict()
        self._size = 0
        self._loading: dict[str, asyncio.Future[array[int]]] = {}

    def get(self, url: str) -> array[int] | None:
        samples = self._files.get(url)
        if samples is not None:
            self._files.move_to_end(url)
        return samples

    async def seconds(self, url: str) -> float:
        """The domain's probe: fetch and decode URL (once), return its duration."""
        return len(await self.load(url)) / RATE

    async def load(self, url: str) -> array[int]:
        cached = self.get(url)
        if cached is not None:
            return cached
        pending = self._loading.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[array[int]] = asyncio.get_running_loop().create_future()
        self._loading[url] = future
        try:
            data = await fetch_bytes(url)
            samples = await asyncio.to_thread(decode_audio, data)
            self._store(url, samples)
            future.set_result(samples)
            return samples
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        finally:
            del self._loading[url]

    def _store(self, url: str, samples: array[int]) -> None:
        self._files[url] = samples
        self._size += len(samples)
        while self._size > self.max_samples and len(self._files) > 1:
            _, old = self._files.popitem(last=False)
            self._size -= len(old)


async def fetch_bytes(url: str) -> bytes:
    """GET URL (status 200, at most MAX_FETCH_BYTES, FETCH_SECONDS); ValueError naming what went wrong."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=FETCH_SECONDS)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            data = await resp.content.read(MAX_FETCH_BYTES + 1)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ValueError(f"fetch failed: {exc.__class__.__name__} {exc}") from None
    if len(data) > MAX_FETCH_BYTES:
        raise ValueError("file larger than 50 MB")
    return data


def decode_audio(data: bytes) -> array[int]:
    """WAV or MP3 bytes as 8 kHz mono 16-bit samples, by the media stack's one decoder (miniaudio);
    ValueError for anything else, MediaUnavailable naming the package if miniaudio is missing."""
    from relaybox.media import audiofiles  # numpy loads with the first decoded file, not at server start

    return array("h", audiofiles.decode(data).tobytes())


def gained(samples: array[int], db: float) -> array[int]:
    """SAMPLES at DB of gain (a new array; cached sounds stay untouched)."""
    if not db:
        return samples
    factor = 10 ** (db / 20)
    if _audioop is not None:
        return array("h", _audioop.mul(samples.tobytes(), 2, factor))
    return array("h", (_clip(int(v * factor)) for v in samples))


class AudioRenderer:
    """Renders recordings into DIRECTORY; caches synthesised speech (the same prompts recur)."""

    def __init__(self, directory: Path, espeak: str | None = None, files: AudioFiles | None = None) -> None:
        self.directory = directory
        self.files = files or AudioFiles()
        self.espeak = espeak or shutil.which("espeak-ng")
        self._speech: dict[tuple[str, str], array[int]] = {}
        self._lock = threading.Lock()

    def check(self, fmt: str) -> None:
        """Raise MediaUnavailable naming what a recording in FMT needs and is missing."""
        if self.espeak is None:
            raise MediaUnavailable(
                f"espeak-ng (offline TTS) is not installed: {SETUP_HINT} (apt-get install espeak-ng)"
            )
        if fmt == "mp3":
            try:
                import lameenc  # noqa: F401
            except ImportError:
                raise MediaUnavailable(
                    f"the MP3 encoder lameenc is not installed: {SETUP_HINT} (pip install lameenc), or record wav"
                ) from None

    # -- synthesis ---------------------------------------------------------------------------------

    def speech(self, text: str, voice: str) -> array[int]:
        """8 kHz 16-bit samples of TEXT spoken by espeak-ng VOICE (cached)."""
        key = (text, voice)
        with self._lock:
            cached = self._speech.get(key)
        if cached is not None:
            return cached
        if self.espeak is None:
            raise MediaUnavailable(f"espeak-ng is not installed: {SETUP_HINT}")
        proc = subprocess.run(
            [self.espeak, "--stdout", "-v", voice, "-s", "165", text[:2000]],
            capture_output=True, timeout=30, check=False,
        )
        if proc.returncode != 0 or not proc.stdout.startswith(b"RIFF"):
            detail = proc.stderr.decode(errors="replace")[:200]
            raise MediaUnavailable(f"espeak-ng failed ({proc.returncode}): {detail}")
        pcm = _wav_payload(proc.stdout)
        samples = _resample(array("h", pcm), ESPEAK_RATE, RATE)
        with self._lock:
            if len(self._speech) > 2000:
                self._speech.clear()
            self._speech[key] = samples
        return samples

    # -- rendering ---------------------------------------------------------------------------------

    async def render_async(self, spec: RecordingSpec) -> tuple[float, int]:
        """`render` in a worker thread: synthesis and MP3 encoding stay off the event loop."""
        return await asyncio.to_thread(self.render, spec)

    def render(self, spec: RecordingSpec) -> tuple[float, int]:
        """Write the recording; returns (duration in seconds, size in bytes) of the file written."""
        self.check(spec.fmt)
        n = max(1, round(spec.seconds * RATE))
        speak = _edit(self._track(spec.speak, n), spec)
        listen = _edit(self._track(spec.listen, n), spec)
        n = len(speak)
        if spec.stereo:
            left = speak if spec.direction != "listen" else listen
            right = listen if spec.direction != "speak" else speak
            channels = 2
            if _audioop is not None:
                pcm = array("h", _audioop.add(
                    _audioop.tostereo(left.tobytes(), 2, 1, 0), _audioop.tostereo(right.tobytes(), 2, 0, 1), 2
                ))
            else:
                pcm = array("h", bytes(4 * n))
                pcm[0::2] = left
                pcm[1::2] = right
        else:
            channels = 1
            if spec.direction == "speak":
                pcm = speak
            elif spec.direction == "listen":
                pcm = listen
            elif _audioop is not None:
                pcm = array("h", _audioop.add(speak.tobytes(), listen.tobytes(), 2))
            else:
                pcm = array("h", (_clip(a + b) for a, b in zip(speak, listen, strict=True)))
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        if spec.fmt == "wav":
            buf = io.BytesIO()
            with wave.open(buf, "wb") as w:
                w.setnchannels(channels)
                w.setsampwidth(2)
                w.setframerate(RATE)
                w.writeframes(pcm.tobytes())
            data = buf.getvalue()
            seconds = n / RATE
        else:
            import lameenc

            enc = lameenc.Encoder()
            enc.set_bit_rate(32 if channels == 1 else 64)
            enc.set_in_sample_rate(RATE)
            enc.set_channels(channels)
            enc.set_quality(7)
            data = bytes(enc.encode(pcm.tobytes()) + enc.flush())
            seconds = mp3_seconds(data)
        tmp = spec.path.with_suffix(f"{spec.path.suffix}.{threading.get_ident()}.part")  # a render per thread
        tmp.write_bytes(data)
        tmp.replace(spec.path)
        return round(seconds, 3), len(data)

    def sound(self, seg: Segment) -> array[int]:
        """The samples of one segment, its gain applied (speech runs its natural length)."""
        count = max(0, round(seg.seconds * RATE))
        skip = max(0, round(seg.offset * RATE))
        if seg.kind == "speech":
            samples = self.speech(seg.text, seg.voice)[skip:]
        elif seg.kind == "tone":
            samples = cadence_samples(seg.freqs, seg.cadence, skip + count)[skip:]
        elif seg.kind == "dtmf":
            samples = tone_samples(DTMF_FREQS.get(seg.text, (1000,)), min(count, 800))
        elif seg.kind == "audio":
            decoded = self.files.get(seg.text)
            samples = decoded[skip:skip + count] if decoded is not None else array("h")
        else:
            samples = array("h")
        return gained(samples, seg.gain)

    def _track(self, segments: list[Segment], n: int) -> array[int]:
        track = array("h", bytes(2 * n))
        for seg in segments:
            at = max(0, round(seg.start * RATE))
            end = min(n, round((seg.start + seg.seconds) * RATE))
            if at >= n or end <= at:
                continue
            _add(track, self.sound(seg), at, n)
        return track


def _edit(track: array[int], spec: RecordingSpec) -> array[int]:
    """Mute the `mute` spans and cut the `skip` spans (a paused recording)."""
    n = len(track)
    for start, end in spec.mute:
        a, b = max(0, round(start * RATE)), min(n, round(end * RATE))
        if b > a:
            track[a:b] = array("h", bytes(2 * (b - a)))
    if not spec.skip:
        return track
    kept = array("h")
    at = 0
    for start, end in sorted(spec.skip):
        a, b = max(at, round(start * RATE)), min(n, round(end * RATE))
        if b > a:
            kept.extend(track[at:a])
            at = b
    kept.extend(track[at:])
    return kept if kept else array("h", bytes(2))


def _wav_payload(data: bytes) -> bytes:
    """PCM of a WAV whose header may carry a bogus length (espeak-ng writing to a pipe)."""
    pos = data.find(b"data", 12)
    if pos < 0:
        raise MediaUnavailable("espeak-ng wrote no WAV data chunk")
    payload = data[pos + 8:]
    return payload[: len(payload) // 2 * 2]


def _resample(src: array[int], src_rate: int, dst_rate: int) -> array[int]:
    if not src:
        return array("h")
    if _audioop is not None:
        return array("h", _audioop.ratecv(src.tobytes(), 2, 1, src_rate, dst_rate, None)[0])
    n = int(len(src) * dst_rate / src_rate)
    step = src_rate / dst_rate
    last = len(src) - 1
    out = array("h", bytes(2 * n))
    for i in range(n):
        pos = i * step
        j = int(pos)
        frac = pos - j
        a = src[j]
        b = src[j + 1] if j < last else a
        out[i] = int(a + (b - a) * frac)
    return out


@functools.lru_cache(maxsize=256)
def tone_samples(freqs: tuple[float, ...], count: int) -> array[int]:
    """COUNT samples of the FREQS summed (cached: callers must not modify the result)."""
    amp = AMPLITUDE / max(1, len(freqs))
    w = [2 * math.pi * f / RATE for f in freqs]
    return array("h", (int(sum(amp * math.sin(k * i) for k in w)) for i in range(count)))


def cadence_samples(freqs: tuple[float, ...], cadence: tuple[tuple[float, float], ...], count: int) -> array[int]:
    out = array("h", bytes(2 * count))
    period = sum(on + off for on, off in cadence) or 1.0
    on_tone: dict[int, array[int]] = {}
    t = 0.0
    while round(t * RATE) < count:
        for on, off in cadence:
            start = round(t * RATE)
            length = min(round(on * RATE), count - start)
            if length > 0:
                tone = on_tone.get(length) or on_tone.setdefault(length, tone_samples(freqs, length))
                out[start:start + length] = tone
            t += on + off
        if period <= 0:
            break
    return out


def _add(track: array[int], samples: array[int], at: int, n: int) -> None:
    stop = min(n, at + len(samples))
    if stop <= at:
        return
    if _audioop is not None:
        track[at:stop] = array("h", _audioop.add(track[at:stop].tobytes(), samples[: stop - at].tobytes(), 2))
        return
    for i in range(at, stop):
        track[i] = _clip(track[i] + samples[i - at])


def _clip(value: int) -> int:
    return 32767 if value > 32767 else -32768 if value < -32768 else value
