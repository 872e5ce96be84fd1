"""Audio durations from file bytes (WAV header, MP3 frames), used to time `audio` media."""

from __future__ import annotations

import io
import wave

import pytest

from relaybox.domain.actions.audiofile import audio_seconds, mp3_seconds


def wav(seconds: float, rate: int = 8000, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * channels * int(rate * seconds))
    return buf.getvalue()


def test_wav_duration() -> None:
    assert audio_seconds(wav(2.5)) == pytest.approx(2.5)
    assert audio_seconds(wav(1.0, rate=44100, channels=2)) == pytest.approx(1.0)


def test_mp3_duration_cbr_with_id3() -> None:
    lameenc = pytest.importorskip("lameenc")
    enc = lameenc.Encoder()
    enc.set_bit_rate(64)
    enc.set_in_sample_rate(44100)
    enc.set_channels(1)
    data = bytes(enc.encode(b"\x00\x01" * 44100 * 3) + enc.flush())
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    assert mp3_seconds(data) == pytest.approx(3.0, abs=0.1)
    assert audio_seconds(id3 + data) == pytest.approx(mp3_seconds(data))


def test_unknown_bytes_are_rejected() -> None:
    with pytest.raises(ValueError):
        audio_seconds(b"<html>not audio</html>" * 10)
    with pytest.raises(ValueError):
        audio_seconds(b"RIFF\x00\x00\x00\x00WAVEjunk")
