"""The conference's audio pieces: the mixer's per-listener routing (a coach heard by the coached participant
only), the room's total fed to its recorders, the hold music (looping source, default melody, SWML wait_url),
and the room's recording with and without its silence trimmed."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import numpy as np

from relaybox.media import FRAME, RATE, mixrecording
from relaybox.media.holdmusic import HoldLoop, default_music, swml_urls
from relaybox.media.mixer import Mixer
from relaybox.media.mixrecording import MixRecording


def frame(value: int) -> np.ndarray:
    return np.full(FRAME, value, dtype=np.int16)


def test_a_coach_is_heard_by_the_coached_party_only_and_hears_everyone() -> None:
    m = Mixer()
    for p in "abc":
        m.join(p)
    m.join("coach", heard_by=["a"])
    for p, v in {"a": 1, "b": 10, "c": 100, "coach": 1000}.items():
        m.put(p, frame(v))
    taken = {p: int(m.take(p)[0]) for p in ("a", "b", "c", "coach")}
    assert taken == {"a": 1110, "b": 101, "c": 11, "coach": 111}
    assert {p: int(v[0]) for p, v in m.mix().items()} == taken  # the all-at-once path agrees
    assert int(m.room()[0]) == 1111  # a recording of the room hears everyone
    m.leave("a")  # the coached party gone: the coach reaches nobody
    assert {p: int(m.take(p)[0]) for p in ("b", "c", "coach")} == {"b": 100, "c": 10, "coach": 110}


def test_a_muted_coach_is_heard_by_nobody_and_rejoining_clears_the_routing() -> None:
    m = Mixer()
    m.join("a")
    m.join("coach", gain_db=-200, heard_by=["a"])
    m.put("a", frame(5))
    m.put("coach", frame(1000))
    assert int(m.take("a")[0]) == 0 and int(m.take("coach")[0]) == 5
    m.join("coach")  # joined again without heard_by: everyone hears it
    m.join("b")
    m.put("coach", frame(7))
    assert int(m.take("b")[0]) == 12


def test_hold_loop_repeats_its_samples_frame_by_frame() -> None:
    samples = np.arange(250, dtype=np.int16)  # not a multiple of a frame: the loop wraps inside frames
    loop = HoldLoop(samples)
    out = np.concatenate([loop.next() for _ in range(5)])
    assert np.array_equal(out, np.resize(samples, 5 * FRAME))
    assert not HoldLoop().next().any()  # still loading: silence


def test_default_music_is_a_quiet_melody_of_several_notes() -> None:
    music = default_music()
    assert music.dtype == np.int16 and 5 * RATE <= len(music) <= 10 * RATE
    assert 1000 < np.abs(music).max() < 10000  # audible, well under clipping
    # each 0.4 s note's strongest frequency: more than a few distinct pitches (a melody, not a tone)
    n = int(0.4 * RATE)
    pitches = {int(np.argmax(np.abs(np.fft.rfft(music[i:i + n])))) for i in range(0, len(music) - n + 1, n)}
    assert len(pitches) >= 6
    assert music is default_music() and not music.flags.writeable  # made once, shared read-only


def test_swml_urls_from_the_first_play() -> None:
    doc = {"version": "1.0.0", "sections": {"main": [
        {"answer": {}}, {"play": {"urls": ["https://x/a.mp3", "say:hello", "http://x/b.wav"]}},
        {"play": {"url": "https://x/later.wav"}}]}}
    assert swml_urls(json.dumps(doc).encode()) == ["https://x/a.mp3", "http://x/b.wav"]
    assert swml_urls(b' {"sections": {"main": [{"play": {"url": "https://x/one.wav"}}]}}') == ["https://x/one.wav"]
    assert swml_urls(b'{"sections": {"main": [{"hangup": {}}]}}') == []
    assert swml_urls(b"RIFF\x00\x00WAVEfmt ") is None  # audio: not SWML
    assert swml_urls(b"{not json") is None


def test_the_mixers_recorders_get_the_room_once_per_tick() -> None:
    m = Mixer()
    got: list[int] = []
    m.recorders.append(lambda f: got.append(int(f[0])))
    for p, v in (("a", 1), ("b", 20)):
        m.join(p)
        m.put(p, frame(v))
    for _tick in range(3):
        m.take("b")
        m.take("a")  # the first party: its take is the tick's
    assert got == [21, 21, 21]
    m.leave("a")
    m.take("b")  # b is first now
    assert got[-1] == 20 and len(got) == 4


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, RATE, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def test_mix_recording_trims_leading_and_trailing_silence_only(tmp_path: Path) -> None:
    quiet, loud = frame(3), frame(2000)
    feed = [quiet] * 5 + [loud] * 2 + [quiet] * 3 + [loud] + [quiet] * 4
    for trim, expected in ((True, [2000] * 2 + [3] * 3 + [2000]), (False, [int(f[0]) for f in feed])):
        mixer = Mixer()
        rec = MixRecording(mixer, tmp_path / f"{trim}.wav", trim)
        assert mixer.recorders == [rec.feed]
        for f in feed:
            rec.feed(f)
        seconds, size = rec.finish()
        assert mixer.recorders == []  # finished: out of the mix
        samples = read_wav(tmp_path / f"{trim}.wav")
        assert [int(x) for x in samples[::FRAME]] == expected
        assert seconds == len(expected) * FRAME / RATE and size == 44 + 2 * len(samples)
    mixer = Mixer()
    silent = MixRecording(mixer, tmp_path / "silent.wav", True)
    silent.feed(quiet)
    assert not silent.heard
    silent.discard()
    assert mixer.recorders == [] and not list(tmp_path.glob("silent.wav*"))


def test_mix_recording_holds_a_long_silence_as_zeros_past_its_limit(tmp_path: Path, monkeypatch: Any) -> None:
    """A gap longer than HELD frames costs no more memory: the frames past it are written back as zeros."""
    monkeypatch.setattr(mixrecording, "HELD", 2)
    quiet, loud = frame(3), frame(2000)
    rec = MixRecording(Mixer(), tmp_path / "gap.wav", True)
    for f in [loud] + [quiet] * 5 + [loud] + [quiet] * 7:
        rec.feed(f)
    assert len(rec.held) == 2 and rec.more == 5  # the trailing silence: two frames kept, five counted
    rec.finish()
    samples = read_wav(tmp_path / "gap.wav")
    assert [int(x) for x in samples[::FRAME]] == [2000, 3, 3, 0, 0, 0, 2000]
