"""`audio` media decoded for real: WAV and MP3 to 8 kHz mono (miniaudio), cached by URL, and rendered into
recordings at the play's volume."""

from __future__ import annotations

import io
import math
import wave
from array import array
from pathlib import Path
from typing import Any

import pytest

from relaybox.domain.actions.record import RecordingSpec, Segment
from relaybox.engines import audio
from relaybox.engines.audio import AudioFiles, AudioRenderer, decode_audio, gained


def tone_wav(seconds: float, rate: int = 16000, channels: int = 2, freq: float = 440.0) -> bytes:
    n = int(rate * seconds)
    mono = array("h", (int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))
    frames = array("h", bytes(2 * n * channels))
    for c in range(channels):
        frames[c::channels] = mono
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return buf.getvalue()


def tone_mp3(seconds: float) -> bytes:
    import lameenc

    rate = 16000
    pcm = array("h", (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(rate * seconds))))
    enc = lameenc.Encoder()
    enc.set_bit_rate(32)
    enc.set_in_sample_rate(rate)
    enc.set_channels(1)
    return bytes(enc.encode(pcm.tobytes()) + enc.flush())


def rms(samples: array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def test_wav_and_mp3_decode_to_8k_mono() -> None:
    w = decode_audio(tone_wav(1.5))
    assert abs(len(w) - 12000) <= 8 and rms(w) > 4000
    m = decode_audio(tone_mp3(2.0))
    assert abs(len(m) / 8000 - 2.0) < 0.1 and rms(m) > 3000  # encoder padding aside


@pytest.mark.parametrize("data", [b"", b"hello world" * 100, b"RIFF\x00\x00\x00\x00WAVEjunk"])
def test_anything_else_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"WAV|MP3|decode"):
        decode_audio(data)


async def test_files_are_fetched_once_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        if "missing" in url:
            raise ValueError("HTTP 404")
        return tone_wav(1.0, rate=8000, channels=1)

    monkeypatch.setattr(audio, "fetch_bytes", fetch)
    files = AudioFiles(max_samples=12000)
    assert await files.seconds("http://x/a.wav") == pytest.approx(1.0, abs=0.01)
    assert await files.seconds("http://x/a.wav") == pytest.approx(1.0, abs=0.01)
    assert fetched == ["http://x/a.wav"]
    with pytest.raises(ValueError, match="404"):
        await files.seconds("http://x/missing.wav")
    await files.seconds("http://x/b.wav")  # 2 s in a 1.5 s cache: a.wav is evicted
    assert files.get("http://x/a.wav") is None and files.get("http://x/b.wav") is not None


def test_gain_in_db() -> None:
    base = array("h", [1000, -1000] * 100)
    assert rms(gained(base, 6.0)) == pytest.approx(1995, rel=0.01)
    assert rms(gained(base, -40.0)) == pytest.approx(10, abs=1)
    assert gained(base, 0.0) is base


def test_a_played_file_is_in_the_recording_at_its_volume(tmp_path: Path) -> None:
    files = AudioFiles()
    files._store("http://x/a.wav", decode_audio(tone_wav(1.0)))
    renderer = AudioRenderer(tmp_path, files=files)
    results: list[Any] = []
    for gain in (0.0, -20.0):
        spec = RecordingSpec(tmp_path / f"r{int(gain)}.wav", "wav", False, "listen", 2.0)
        spec.listen.append(Segment(0.5, 1.0, "audio", "http://x/a.wav", gain=gain))
        seconds, size = renderer.render(spec)
        with wave.open(str(spec.path)) as w:
            samples = array("h", w.readframes(w.getnframes()))
        assert seconds == pytest.approx(2.0) and size == spec.path.stat().st_size
        results.append((rms(samples[:3600]), rms(samples[4400:11600]), rms(samples[12400:])))
    (silent0, loud0, after0), (_, loud20, _) = results
    assert silent0 == 0 and after0 == 0 and loud0 > 4000
    assert loud0 / loud20 == pytest.approx(10, rel=0.05)  # -20 dB is a tenth of the amplitude


def goertzel(samples: array[int], freq: float, rate: int = 8000) -> float:
    """Power of FREQ in SAMPLES."""
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v in samples:
        s1, s2 = v + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


@pytest.mark.parametrize(
    ("name", "pattern", "freqs"),
    [
        ("us", [(0.0, 2.0, True), (2.0, 6.0, False)], (440, 480)),
        ("uk", [(0.0, 0.4, True), (0.4, 0.6, False), (0.6, 1.0, True), (1.0, 3.0, False)], (400, 450)),
        ("fr", [(0.0, 1.5, True), (1.5, 5.0, False)], (440,)),
    ],
)
def test_ringtones_are_rendered_with_their_country_cadence(
    tmp_path: Path, name: str, pattern: list[tuple[float, float, bool]], freqs: tuple[int, ...]
) -> None:
    """A recording of a ringtone played to the far end: tone exactly in the cadence's on spans, at its frequencies."""
    from relaybox.domain.actions.record import played_segment

    renderer = AudioRenderer(tmp_path)
    period = pattern[-1][1]
    spec = RecordingSpec(tmp_path / f"{name}.wav", "wav", False, "listen", period)
    segment = played_segment({"type": "ringtone", "params": {"name": name}}, 0.0, period)
    assert segment is not None
    spec.listen.append(segment)
    renderer.render(spec)
    with wave.open(str(spec.path)) as w:
        samples = array("h", w.readframes(w.getnframes()))
    for start, end, on in pattern:
        inner = samples[int((start + 0.02) * 8000):int((end - 0.02) * 8000)]
        if on:
            assert rms(inner) > 2000, (name, start, end)
            window = inner[:1600]
            powers = {f: goertzel(window, f) for f in (*freqs, 350, 1000)}
            assert all(powers[f] > 50 * powers[1000] for f in freqs), powers
        else:
            assert rms(inner) == 0, (name, start, end)
