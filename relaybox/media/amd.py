"""Answering-machine detection from voice activity, sans-I/O, with the thresholds of `detect machine`:

* nothing voiced within `initial_timeout` -> UNKNOWN;
* the first utterance lasts `machine_voice_threshold` seconds or reaches `machine_words_threshold`
  words -> MACHINE at once (a person answers with a short "hello?"), then NOT_READY while the
  greeting goes on, and READY at its beep or after `machine_ready_timeout` of silence (default:
  `end_silence_timeout`; the wire spec does not document `machine_ready_timeout`, see the README);
* a shorter utterance followed by `end_silence_timeout` of silence -> HUMAN.
Feed it `voice(t, voiced)` every 20 ms frame, `words(n)` when a recogniser counted more, `beep(t)`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULTS = {"initial_timeout": 4.5, "end_silence_timeout": 1.0, "machine_voice_threshold": 1.25,
            "machine_words_threshold": 6.0, "machine_ready_timeout": None}


@dataclass
class AmdSettings:
    initial_timeout: float = 4.5
    end_silence_timeout: float = 1.0
    machine_voice_threshold: float = 1.25
    machine_words_threshold: float = 6.0
    machine_ready_timeout: float | None = None

    @classmethod
    def from_params(cls, params: dict[str, float | None]) -> AmdSettings:
        known = {k: float(v) for k, v in params.items() if k in DEFAULTS and v is not None}
        return cls(**known)

    @property
    def ready_timeout(self) -> float:
        return self.end_silence_timeout if self.machine_ready_timeout is None else self.machine_ready_timeout


class MachineDetector:
    """Events come out of `voice`/`beep`/`words` as a list of names, in order; `verdict` is the last one."""

    def __init__(self, settings: AmdSettings, t0: float) -> None:
        self.s = settings
        self.t0 = t0
        self.verdict: str | None = None  # MACHINE, HUMAN, UNKNOWN
        self.ready = False
        self.speech_start: float | None = None
        self.last_voice: float | None = None
        self.word_count = 0
        self.done = False

    def _machine(self) -> list[str]:
        self.verdict = "MACHINE"
        return ["MACHINE", "NOT_READY"]

    def voice(self, t: float, voiced: bool, words: int = 0) -> list[str]:
        if self.done:
            return []
        self.word_count = max(self.word_count, words)
        if voiced:
            if self.speech_start is None:
                self.speech_start = t
            self.last_voice = t
        if self.verdict is None:
            if self.speech_start is None:
                if t - self.t0 >= self.s.initial_timeout:
                    self.verdict, self.done = "UNKNOWN", True
                    return ["UNKNOWN"]
                return []
            assert self.last_voice is not None
            if (self.last_voice - self.speech_start >= self.s.machine_voice_threshold
                    or self.word_count >= self.s.machine_words_threshold):
                return self._machine()
            if t - self.last_voice >= self.s.end_silence_timeout:
                self.verdict, self.done = "HUMAN", True
                return ["HUMAN"]
            return []
        if self.verdict == "MACHINE" and not self.ready:
            assert self.last_voice is not None
            if t - self.last_voice >= self.s.ready_timeout:
                self.ready = self.done = True
                return ["READY"]
        return []

    def words(self, n: int) -> list[str]:
        """A recogniser counted N words in the first utterance so far."""
        self.word_count = max(self.word_count, n)
        if not self.done and self.verdict is None and self.speech_start is not None \
                and self.word_count >= self.s.machine_words_threshold:
            return self._machine()
        return []

    def beep(self, t: float) -> list[str]:
        if self.done:
            return []
        if self.verdict is None and self.speech_start is not None:
            self.ready = self.done = True
            self.verdict = "MACHINE"
            return ["MACHINE", "READY"]
        if self.verdict == "MACHINE" and not self.ready:
            self.ready = self.done = True
            return ["READY"]
        return []
