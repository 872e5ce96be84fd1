"""Voice activity (webrtcvad) and offline speech recognition (pocketsphinx), on 8 kHz int16 audio.

* `Utterances`: segments the far end's speech from 20 ms frames: speech starts after 3 voiced frames
  of 5, ends after `hangover` seconds without voice; it also counts voiced bursts (a rough word count
  that AMD can use before a recogniser has answered).
* `Recognizer`: pocketsphinx with its bundled en-us model (16 kHz only, so 8 kHz audio is upsampled);
  a JSGF grammar of digits and the caller's hints makes keyword recognition exact and fast, the
  general language model does free-form speech (poorly on synthetic voices).
Both raise `MediaUnavailable` naming the PyPI package when it is missing.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME, RATE
from relaybox.media.errors import missing

log = logging.getLogger("relaybox.media")

Samples = npt.NDArray[np.int16]
QUIET_ENERGY = 160 * 60.0**2  # a 20 ms frame below RMS 60 (about -55 dBm0) is not speech
DIGIT_WORDS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_VALUE = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
               "six": "6", "seven": "7", "eight": "8", "nine": "9"}


def _vad_module():  # type: ignore[no-untyped-def]
    try:
        import webrtcvad
    except ImportError:
        raise missing("the voice activity detector webrtcvad", "pip install webrtcvad-wheels") from None
    return webrtcvad


@dataclass(slots=True)
class Utterance:
    start: float  # seconds (the caller's clock: whatever `t` it feeds)
    end: float
    audio: Samples
    bursts: int  # voiced runs separated by short pauses: about one per word


@dataclass
class Utterances:
    """Feed `(t, frame)`; `feed` returns ("start", t) when speech begins and the finished `Utterance`
    when it ends. `t` is the time at the frame's end."""

    hangover: float = 0.6
    mode: int = 2
    max_seconds: float = 30.0
    _vad: object = field(default=None, init=False)
    _recent: deque[bool] = field(default_factory=lambda: deque(maxlen=5), init=False)
    _pre: deque[Samples] = field(default_factory=lambda: deque(maxlen=10), init=False)
    speaking: bool = field(default=False, init=False)
    last_voiced: bool = field(default=False, init=False)
    _frames: list[Samples] = field(default_factory=list, init=False)
    _start: float = field(default=0.0, init=False)
    _last_voice: float = field(default=0.0, init=False)
    _bursts: int = field(default=0, init=False)
    _unvoiced_run: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._vad = _vad_module().Vad(self.mode)

    def voiced(self, frame: Samples) -> bool:
        if not frame.any():
            return False
        return bool(self._vad.is_speech(frame.tobytes(), RATE))  # type: ignore[attr-defined]

    @property
    def started_at(self) -> float | None:
        return self._start if self.speaking else None

    def voiced_seconds(self) -> float:
        return (self._last_voice - self._start) if self.speaking else 0.0

    @property
    def bursts(self) -> int:
        return self._bursts if self.speaking else 0

    def feed(self, t: float, frame: Samples, energy: float | None = None) -> tuple[str, float] | Utterance | None:
        """ENERGY (sum of squares), when the caller has it, skips the VAD on frames too quiet to be speech."""
        if energy is None:
            v = self.voiced(frame)
        else:  # the caller measured the frame: too quiet for speech, or loud enough to ask the VAD
            v = energy >= QUIET_ENERGY and bool(self._vad.is_speech(frame.tobytes(), RATE))  # type: ignore[attr-defined]
        self.last_voiced = v
        self._recent.append(v)
        frame = frame.copy()  # kept past this tick, and a caller may hand in a view of a buffer it reuses
        if not self.speaking:
            self._pre.append(frame)
            if sum(self._recent) >= 3:
                self.speaking = True
                self._frames = list(self._pre)
                self._start = t - len(self._recent) * FRAME / RATE
                self._last_voice = t
                self._bursts = 1
                self._unvoiced_run = 0
                return ("start", self._start)
            return None
        self._frames.append(frame)
        if v:
            if self._unvoiced_run >= 5:  # a pause of 100 ms or more separates bursts
                self._bursts += 1
            self._unvoiced_run = 0
            self._last_voice = t
        else:
            self._unvoiced_run += 1
        if t - self._last_voice >= self.hangover or t - self._start >= self.max_seconds:
            return self._finish(t)
        return None

    def reset(self) -> None:
        """Forget the speech under way (nobody needs voice activity for a while)."""
        self.speaking = self.last_voiced = False
        self._frames = []
        self._recent.clear()
        self._pre.clear()

    def _finish(self, t: float) -> Utterance:
        tail = round((t - self._last_voice) * RATE / FRAME)
        frames = self._frames[:len(self._frames) - max(0, tail - 10)]  # keep 200 ms after the last voice
        utt = Utterance(self._start, self._last_voice, np.concatenate(frames), self._bursts)
        self.speaking = False
        self._frames = []
        self._recent.clear()
        self._pre.clear()
        return utt


def upsample16k(samples: Samples) -> Samples:
    """8 kHz -> 16 kHz by linear interpolation (pocketsphinx's model is 16 kHz only)."""
    x = samples.astype(np.float64)
    out = np.empty(2 * len(x))
    out[0::2] = x
    out[1::2] = np.concatenate([(x[:-1] + x[1:]) / 2, x[-1:]]) if len(x) else x
    return out.astype(np.int16)


def digits_grammar(hints: Sequence[str] = ()) -> str:
    """A JSGF grammar: digit words, in any number, or one of HINTS (lower-cased, in-dictionary words)."""
    phrases = [" ".join(re.findall(r"[a-z']+", h.lower())) for h in hints]
    phrases = [p for p in phrases if p]
    alts = " | ".join(phrases)
    rule = "<digit>+" + (f" | {alts}" if alts else "")
    return ("#JSGF V1.0;\ngrammar relaybox;\n"
            f"<digit> = {' | '.join(DIGIT_WORDS)};\npublic <utterance> = {rule};\n")


def words_to_digits(text: str) -> str:
    """'one two three' -> '123' when every word is a digit, else TEXT unchanged."""
    words = text.split()
    if words and all(w in DIGIT_VALUE for w in words):
        return "".join(DIGIT_VALUE[w] for w in words)
    return text


def trim(samples: Samples, lead: int = 80, tail: int = 800, threshold: int = 300) -> Samples:
    """Cut the quiet before and after the speech: the model (with its cepstral mean reset per utterance)
    misses a first word that follows leading silence."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if not len(loud):
        return samples
    return samples[max(0, int(loud[0]) - lead): int(loud[-1]) + tail]


class Recognizer:
    """One pocketsphinx decoder per process (loading the model takes ~0.3 s; decoders are not thread-safe,
    so calls are serialised). `recognize` is blocking: run it in an executor."""

    _shared: Recognizer | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import pocketsphinx
        except ImportError:
            raise missing("the speech recogniser pocketsphinx", "pip install pocketsphinx") from None
        self._ps = pocketsphinx
        self._decoder = pocketsphinx.Decoder(samprate=16000, loglevel="FATAL")
        self._lock = threading.Lock()
        self._grammars: dict[tuple[str, ...], str] = {}
        self._cmn0 = self._decoder.get_cmn()  # every utterance starts from it: results must not depend on the last

    @classmethod
    def shared(cls) -> Recognizer:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def _in_dictionary(self, phrase: str) -> bool:
        return all(self._decoder.lookup_word(w) is not None for w in phrase.split())

    def recognize(self, samples: Samples, hints: Sequence[str] | None = None) -> str:
        """The words spoken in SAMPLES (8 kHz). With HINTS (possibly empty), a grammar of digits + hints;
        with None, the general language model."""
        audio = upsample16k(trim(samples)).tobytes()
        with self._lock:
            d = self._decoder
            if hints is None:
                d.activate_search("_default")
            else:
                usable = tuple(sorted(h for h in {" ".join(re.findall(r"[a-z']+", x.lower())) for x in hints}
                                      if h and self._in_dictionary(h)))
                name = self._grammars.get(usable)
                if name is None:
                    name = f"g{len(self._grammars)}"
                    d.add_jsgf_string(name, digits_grammar(usable))
                    self._grammars[usable] = name
                d.activate_search(name)
            d.set_cmn(self._cmn0)
            d.start_utt()
            d.process_raw(audio, full_utt=True)
            d.end_utt()
            hyp = d.hyp()
            return hyp.hypstr if hyp is not None else ""
