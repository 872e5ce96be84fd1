"""Detectors on synthetic audio: in-band DTMF, fax tones and beeps, voice activity, answering-machine
detection with the documented thresholds, and offline recognition of digit words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from relaybox.engines.audio import AudioRenderer
from relaybox.media import g711
from relaybox.media.amd import AmdSettings, MachineDetector
from relaybox.media.speech import Recognizer, Utterance, Utterances, digits_grammar, upsample16k, words_to_digits
from relaybox.media.tones import DtmfDetector, ToneDetector, dtmf_tone, tone

GAP = np.zeros(800, dtype=np.int16)


def frames(x: np.ndarray) -> np.ndarray:
    x = np.concatenate([x, np.zeros((-len(x)) % 160, dtype=np.int16)])
    return x.reshape(-1, 160)


def keys_in(x: np.ndarray) -> str:
    d = DtmfDetector()
    return "".join(k for f in frames(x) if (k := d.feed(f)))


def tones_in(x: np.ndarray) -> list[str]:
    t = ToneDetector()
    return [k for f in frames(x) if (k := t.feed(f))]


def test_inband_dtmf_every_key_through_alaw() -> None:
    keys = "1234567890*#ABCD"
    sig = np.concatenate([GAP, *[np.concatenate([dtmf_tone(k, 0.07), np.zeros(480, np.int16)]) for k in keys], GAP])
    assert keys_in(g711.decode(g711.encode(sig, "PCMA"), "PCMA")) == keys


def test_inband_dtmf_held_key_is_one_press_and_repeats_need_a_gap() -> None:
    assert keys_in(np.concatenate([GAP, dtmf_tone("5", 1.0), GAP])) == "5"
    assert keys_in(np.concatenate([dtmf_tone("5", 0.1), GAP[:400], dtmf_tone("5", 0.1), GAP])) == "55"


def test_inband_dtmf_ignores_speech_like_noise_music_and_quiet_keys() -> None:
    rng = np.random.default_rng(3)
    assert keys_in(rng.normal(0, 4000, 16000).astype(np.int16)) == ""
    assert keys_in(tone((440.0, 480.0), 2.0)) == ""  # ringback
    assert keys_in(tone((697.0,), 0.5)) == ""  # a row tone alone
    assert keys_in(dtmf_tone("3", 0.2, amplitude=80.0)) == ""  # far below -50 dBm0


def test_fax_tones_and_beeps() -> None:
    assert tones_in(np.concatenate([GAP, tone((1100.0,), 0.5), GAP])) == ["CNG"]
    assert tones_in(np.concatenate([GAP, tone((2100.0,), 3.0), GAP])) == ["CED"]
    assert tones_in(np.concatenate([GAP, tone((1000.0,), 0.3), GAP])) == ["beep"]
    assert tones_in(np.concatenate([GAP, tone((850.0,), 0.8), GAP])) == ["beep"]


def test_no_beep_for_short_blips_long_tones_dual_tones_or_noise() -> None:
    assert tones_in(np.concatenate([GAP, tone((1000.0,), 0.06), GAP])) == []
    assert tones_in(np.concatenate([GAP, tone((1000.0,), 4.0), GAP])) == []
    assert tones_in(tone((440.0, 480.0), 2.0)) == []
    assert tones_in(np.random.default_rng(0).normal(0, 3000, 8000).astype(np.int16)) == []


# -- answering-machine detection -------------------------------------------------------------------

def run_amd(pattern: list[tuple[float, bool]], settings: AmdSettings, beep_at: float | None = None) -> list[str]:
    """Feed (seconds, voiced) spans 20 ms at a time; returns the events."""
    amd = MachineDetector(settings, 0.0)
    events: list[str] = []
    t = 0.0
    for seconds, voiced in pattern:
        for _ in range(round(seconds / 0.02)):
            t += 0.02
            if beep_at is not None and abs(t - beep_at) < 0.01:
                events += amd.beep(t)
            events += amd.voice(t, voiced)
    return events


def test_amd_human_short_hello() -> None:
    assert run_amd([(0.5, False), (0.6, True), (2.0, False)], AmdSettings()) == ["HUMAN"]


def test_amd_machine_after_the_voice_threshold_ready_after_silence() -> None:
    s = AmdSettings(machine_voice_threshold=1.25, end_silence_timeout=1.0)
    assert run_amd([(0.3, False), (3.0, True), (0.5, False)], s) == ["MACHINE", "NOT_READY"]
    assert run_amd([(0.3, False), (3.0, True), (1.2, False)], s) == ["MACHINE", "NOT_READY", "READY"]
    assert run_amd([(0.3, False), (3.0, True), (1.2, False)], AmdSettings(machine_ready_timeout=2.0)) == \
        ["MACHINE", "NOT_READY"]


def test_amd_thresholds_are_honoured() -> None:
    speech = [(0.2, False), (1.0, True), (2.0, False)]
    assert run_amd(speech, AmdSettings(machine_voice_threshold=1.25)) == ["HUMAN"]
    assert run_amd(speech, AmdSettings(machine_voice_threshold=0.8))[:1] == ["MACHINE"]
    assert run_amd([(5.0, False)], AmdSettings(initial_timeout=4.5)) == ["UNKNOWN"]
    assert run_amd([(5.0, False)], AmdSettings(initial_timeout=6.0)) == []
    # a pause shorter than end_silence_timeout does not end the first utterance
    assert run_amd([(0.7, True), (0.5, False), (0.7, True), (0.2, False)], AmdSettings())[:1] == ["MACHINE"]


def test_amd_words_threshold_and_beep() -> None:
    amd = MachineDetector(AmdSettings(machine_words_threshold=6), 0.0)
    assert amd.voice(0.02, True) == []
    assert amd.words(5) == []
    assert amd.words(6) == ["MACHINE", "NOT_READY"]
    assert amd.beep(0.9) == ["READY"]
    assert run_amd([(0.2, False), (0.6, True), (0.2, False)], AmdSettings(), beep_at=0.9) == ["MACHINE", "READY"]
    assert AmdSettings.from_params({"initial_timeout": 2, "bogus": 1, "machine_ready_timeout": None}) == \
        AmdSettings(initial_timeout=2.0)


# -- speech --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def renderer() -> AudioRenderer:
    r = AudioRenderer(Path("."))
    try:
        r.check("wav")
    except Exception as exc:
        pytest.fail(f"espeak-ng is required for the media tests: {exc}")
    return r


def speech(renderer: AudioRenderer, text: str, voice: str = "en-us+klatt4") -> np.ndarray:
    return np.frombuffer(renderer.speech(text, voice).tobytes(), dtype=np.int16).copy()


def test_utterances_are_segmented_with_start_and_end(renderer: AudioRenderer) -> None:
    a, b = speech(renderer, "one two three"), speech(renderer, "seven eight nine")
    sig = np.concatenate([np.zeros(4000, np.int16), a, np.zeros(8000, np.int16), b, np.zeros(8000, np.int16)])
    seg = Utterances(hangover=0.6)
    events = []
    for i, f in enumerate(frames(sig)):
        e = seg.feed((i + 1) * 0.02, f)
        if e is not None:
            events.append(e)
    starts = [e for e in events if isinstance(e, tuple)]
    utts = [e for e in events if isinstance(e, Utterance)]
    assert len(starts) == 2 and len(utts) == 2
    loud_a = np.flatnonzero(np.abs(a) > 1000)  # espeak-ng pads its speech with silence
    loud_b = np.flatnonzero(np.abs(b) > 1000)
    assert abs(utts[0].start - (0.5 + loud_a[0] / 8000)) < 0.1
    assert abs(utts[0].end - (0.5 + loud_a[-1] / 8000)) < 0.1
    assert abs(utts[1].start - (1.5 + (len(a) + loud_b[0]) / 8000)) < 0.1
    assert seg.voiced(np.zeros(160, np.int16)) is False


def test_recogniser_digit_grammar_and_hints(renderer: AudioRenderer) -> None:
    rec = Recognizer.shared()
    assert rec.recognize(speech(renderer, "one two three four"), []) == "one two three four"
    assert rec.recognize(speech(renderer, "hello"), ["Hello", "sales"]) == "hello"
    assert words_to_digits("one two oh") == "120" and words_to_digits("hello there") == "hello there"
    assert "<digit>+ | sales | customer care" in digits_grammar(["Sales", "customer care!"])
    assert len(upsample16k(np.ones(80, np.int16))) == 160
