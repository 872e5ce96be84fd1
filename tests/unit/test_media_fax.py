"""T.30 fax between two spandsp sessions over a simulated G.711 channel, and the document conversions."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest

from relaybox.engines.faxdoc import make_pdf, pdf_pages
from relaybox.media import audiofiles, g711
from relaybox.media.fax import FaxSession, pdf_to_tiff, tiff_pages, tiff_to_pdf
from relaybox.media.recorder import CallRecording


def run(a: FaxSession, b: FaxSession, codec: str, seconds: float = 120) -> None:
    for _ in range(int(seconds * 50)):
        if a.result is not None and b.result is not None:
            return
        to_b = g711.decode(g711.encode(a.tx(), codec), codec)
        to_a = g711.decode(g711.encode(b.tx(), codec), codec)
        b.rx(to_b)
        a.rx(to_a)


@pytest.mark.parametrize("codec,ecm", [("PCMA", False), ("PCMU", True)])
def test_t30_over_g711_delivers_every_page(tmp_path: Path, codec: str, ecm: bool) -> None:
    pdf = make_pdf([["relaybox", "page one"], ["page two"], ["page three"]])
    assert pdf_to_tiff(pdf, tmp_path / "tx.tif") == 3
    tx = FaxSession(tmp_path / "tx.tif", sending=True, calling=True, identity="+15551112222", ecm=ecm)
    rx = FaxSession(tmp_path / "rx.tif", sending=False, calling=False, identity="+15553334444", ecm=ecm)
    run(tx, rx, codec)
    assert tx.result is not None and rx.result is not None
    assert tx.result.success and rx.result.success, (tx.result, rx.result)
    assert tx.result.pages == rx.result.pages == 3
    assert tx.result.bit_rate == 14400
    assert rx.result.remote_identity == "+15551112222"
    tx.close()
    rx.close()
    assert tiff_pages(tmp_path / "rx.tif") == 3
    assert pdf_pages(tiff_to_pdf(tmp_path / "rx.tif")) == 3


def test_fax_to_nobody_fails_with_a_reason(tmp_path: Path) -> None:
    pdf_to_tiff(make_pdf([["x"]]), tmp_path / "tx.tif")
    tx = FaxSession(tmp_path / "tx.tif", sending=True, calling=True)
    for _ in range(50 * 60):  # silence back: no answering fax machine
        tx.tx()
        tx.rx(np.zeros(160, np.int16))
        if tx.result is not None:
            break
    assert tx.result is not None and not tx.result.success and tx.result.text
    tx.close()


def test_pdf_that_is_not_a_pdf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017 - pypdfium2 raises its own error type
        pdf_to_tiff(b"not a pdf", tmp_path / "x.tif")


# -- audio files and recordings -------------------------------------------------------------------

def wav_bytes(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def test_wav_at_other_rates_and_stereo_decodes_to_8k_mono() -> None:
    t = np.arange(44100)
    x = (8000 * np.sin(2 * np.pi * 440 * t / 44100)).astype(np.int16)
    stereo = np.repeat(x, 2)
    y = audiofiles.decode(wav_bytes(stereo, 44100, channels=2))
    assert abs(len(y) - 8000) <= 1
    spec = np.abs(np.fft.rfft(y.astype(float)))
    assert int(np.argmax(spec)) * 8000 / len(y) == pytest.approx(440, abs=5)
    with pytest.raises(ValueError, match="not a WAV or MP3"):
        audiofiles.decode(b"hello")


def test_mp3_written_as_it_goes_and_decoded_back(tmp_path: Path) -> None:
    x = (8000 * np.sin(2 * np.pi * 500 * np.arange(16000) / 8000)).astype(np.int16)
    writer = audiofiles.Writer(tmp_path / "a.mp3", 1, "mp3")
    for block in np.split(x, 4):  # written as the recording goes
        writer.write(block)
    seconds, size = writer.close()
    assert seconds == 2.0 and size == (tmp_path / "a.mp3").stat().st_size > 1000
    assert not (tmp_path / "a.mp3.part").exists()
    y = audiofiles.decode((tmp_path / "a.mp3").read_bytes())
    assert abs(len(y) - 16000) < 2000
    spec = np.abs(np.fft.rfft(y.astype(float)))
    assert int(np.argmax(spec)) * 8000 / len(y) == pytest.approx(500, abs=10)


def test_a_recording_the_disk_refuses_fails_at_close_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the recording's folder should be")
    writer = audiofiles.Writer(tmp_path / "taken" / "r.wav", 1, "wav")
    writer.write(np.zeros(1600, np.int16))  # handed to the spool: no error here
    with pytest.raises(OSError):
        writer.close()
    writer.close()  # once failed, closed: nothing more to do
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_recording_pauses_skip_or_mute_and_track_activity(tmp_path: Path) -> None:
    rec = CallRecording(tmp_path / "r.wav", "wav", False, "speak", 0.0)
    pending: list[np.ndarray] = []  # the call's capture, handed over when the recording flushes

    def flush() -> None:
        speak = np.concatenate(pending) if pending else np.zeros(0, np.int16)
        rec.add(np.column_stack((speak, np.zeros_like(speak))).ravel())  # interleaved: (speak, listen)
        pending.clear()

    rec.flush = flush
    loud = np.full(160, 1000, np.int16)
    quiet = np.zeros(160, np.int16)
    t = 0.0

    def tick(voiced: bool) -> None:
        nonlocal t
        t += 0.02
        pending.append(loud)
        rec.observe(t, quiet, voiced)

    for _ in range(10):
        tick(True)
    rec.pause("skip")
    for _ in range(10):
        tick(True)
    rec.resume()
    rec.pause("silence")
    for _ in range(5):
        tick(False)
    rec.resume()
    heard, active, last = rec.activity(t)
    assert heard and not active and last == pytest.approx(0.4)
    seconds, _ = rec.finish()
    assert seconds == pytest.approx(0.3)
    pcm = audiofiles.decode((tmp_path / "r.wav").read_bytes())
    assert (pcm[:1600] == 1000).all() and (pcm[1600:] == 0).all()
    with pytest.raises(ValueError):
        CallRecording(tmp_path / "x.wav", "wav", False, "sideways", 0.0)


@pytest.mark.parametrize(("stereo", "direction", "expected"), [
    (True, "both", [[100, 7], [200, 8]]),
    (True, "speak", [[100, 100], [200, 200]]),  # one direction: on both sides
    (True, "listen", [[7, 7], [8, 8]]),
    (False, "speak", [100, 200]),
    (False, "listen", [7, 8]),
    (False, "both", [107, 208]),  # mixed
])
def test_a_recording_takes_its_channels_from_the_interleaved_capture(
        tmp_path: Path, stereo: bool, direction: str, expected: list[object]) -> None:
    rec = CallRecording(tmp_path / "r.wav", "wav", stereo, direction, 0.0, timed=False)
    rec.add(np.array([100, 7, 200, 8], np.int16))  # (speak, listen) per instant
    rec.finish()
    with wave.open(str(tmp_path / "r.wav")) as w:
        assert w.getnchannels() == (2 if stereo else 1)
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert pcm.reshape(-1, 2).tolist() == expected if stereo else pcm.tolist() == expected


def test_recordings_a_stopped_server_left_unfinished_are_recovered(tmp_path: Path) -> None:
    x = (8000 * np.sin(2 * np.pi * 400 * np.arange(8000) / 8000)).astype(np.int16)
    wav = audiofiles.Writer(tmp_path / "a.wav", 2, "wav")
    wav.write(np.repeat(x, 2))
    mp3 = audiofiles.Writer(tmp_path / "b.mp3", 1, "mp3")
    mp3.write(x)
    mp3._put(bytes(mp3.encoder.flush()))
    for writer in (wav, mp3):
        writer.spool.wait()  # on disk, never closed: as a crash leaves them
    with open(tmp_path / "a.wav.part", "ab") as f:
        f.write(b"\x01\x02")  # half an instant: cut
    (tmp_path / "c.mp3.12345.part").write_bytes(b"a render's temporary file")
    (tmp_path / "d.wav.part").write_bytes(b"not a WAV")
    (tmp_path / "e.wav.part").write_bytes(b"newer")
    (tmp_path / "e.wav").write_bytes(b"finished")
    assert [p.name for p in audiofiles.recover(tmp_path)] == ["a.wav", "b.mp3"]
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert w.getnchannels() == 2 and w.getnframes() == 8000
        pcm = np.frombuffer(w.readframes(8000), np.int16).reshape(-1, 2)
    assert np.array_equal(pcm[:, 0], x) and np.array_equal(pcm[:, 1], x)
    assert abs(len(audiofiles.decode((tmp_path / "b.mp3").read_bytes())) - 8000) < 2000
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.wav", "b.mp3", "c.mp3.12345.part", "d.wav.part", "e.wav", "e.wav.part"]
    assert audiofiles.recover(tmp_path / "missing") == []
