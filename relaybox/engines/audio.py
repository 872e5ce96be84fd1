"""Real audio for recordings: speech rendered offline with espeak-ng, tones synthesised, mixed at 8 kHz
and written as WAV (stdlib `wave`) or MP3 (`lameenc`).

The sandbox is symbolic (it knows *that* a phone said "hello"); a recording must still be a real file,
so this renders the timeline the domain hands over (`RecordingSpec`). Missing pieces are reported by
name (`check`), so a server without espeak-ng or lameenc fails the record command with a clear message
instead of producing an empty file.
"""

from __future__ import annotations

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
from pathlib import Path
from typing import Any

from relaybox.domain.actions.audiofile import mp3_seconds
from relaybox.domain.actions.record import RecordingSpec, Segment

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


class MediaUnavailable(RuntimeError):
    """A piece of the media stack is missing; the message names it and how to install it."""


class AudioRenderer:
    """Renders recordings into DIRECTORY; caches synthesised speech (the same prompts recur)."""

    def __init__(self, directory: Path, espeak: str | None = None) -> None:
        self.directory = directory
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
        tmp = spec.path.with_suffix(spec.path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(spec.path)
        return round(seconds, 3), len(data)

    def _track(self, segments: list[Segment], n: int) -> array[int]:
        track = array("h", bytes(2 * n))
        for seg in segments:
            at = max(0, round(seg.start * RATE))
            end = min(n, round((seg.start + seg.seconds) * RATE))
            if at >= n or end <= at:
                continue
            if seg.kind == "speech":
                samples = self.speech(seg.text, seg.voice)
                _add(track, samples, at, n)  # speech runs its natural length (clipped at the end)
            elif seg.kind == "tone":
                _add(track, cadence_samples(seg.freqs, seg.cadence, end - at), at, n)
            elif seg.kind == "dtmf":
                _add(track, tone_samples(DTMF_FREQS.get(seg.text, (1000,)), min(end - at, 800)), at, n)
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
