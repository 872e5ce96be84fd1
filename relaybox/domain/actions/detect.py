"""Detect: answering machine (AMD), fax tones and DTMF, as `calling.call.detect` events ending with
`finished` (the async clients complete only on it).

AMD decides from the far end's first utterance: a machine's greeting, or speech of at least
`machine_voice_threshold` seconds or `machine_words_threshold` words, is MACHINE (then NOT_READY
while it talks, READY at the beep or after `end_silence_timeout` of silence); shorter speech is
HUMAN once it has stopped for `end_silence_timeout`; nothing heard in `initial_timeout` is UNKNOWN.
`wait_for_beep` is the clients' business: they wait for READY after MACHINE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relaybox.domain.actions.base import Action, CallMedia, MediaService, ok, soon
from relaybox.domain.errors import bad_request
from relaybox.domain.params import opt_dict, opt_number
from relaybox.domain.routing import Subscriber

DEFAULT_TIMEOUT = 30.0
MACHINE_DEFAULTS = {
    "initial_timeout": 4.5,
    "end_silence_timeout": 1.0,
    "machine_voice_threshold": 1.25,
    "machine_words_threshold": 6,
}
DIGITS = "0123456789#*"
DTMF = frozenset("0123456789*#ABCD")


class DetectAction(Action):
    event_type = "calling.call.detect"

    def __init__(self, media: CallMedia, control_id: str, params: dict[str, Any]) -> None:
        super().__init__(media, control_id)
        detect = opt_dict(params, "detect")
        if detect is None:
            raise bad_request("'detect' is required: {type: machine|fax|digit, params: {...}}")
        self.kind = detect.get("type")
        if self.kind not in ("machine", "fax", "digit"):
            raise bad_request(f"'detect.type' must be machine, fax or digit, got {self.kind!r}")
        dparams = detect.get("params") or {}
        if not isinstance(dparams, dict):
            raise bad_request("'detect.params' must be an object")
        self.timeout = opt_number(params, "timeout", DEFAULT_TIMEOUT, low=0.1, high=3600) or DEFAULT_TIMEOUT
        self.settings: dict[str, float] = {}
        if self.kind == "machine":
            for key, default in MACHINE_DEFAULTS.items():
                value = opt_number(dparams, key, float(default), low=0, high=3600)
                self.settings[key] = float(default if value is None else value)
        elif self.kind == "fax":
            self.tone = dparams.get("tone", "CED")
            if self.tone not in ("CED", "CNG"):
                raise bad_request("'detect.params.tone' must be CED or CNG")
        else:
            digits = dparams.get("digits", DIGITS)
            if not isinstance(digits, str) or not digits or not set(digits) <= DTMF:
                raise bad_request("'detect.params.digits' must be DTMF keys (0-9 * # A-D)")
            self.digits = digits
        self.verdict: str | None = None
        self.ready = False
        self.real: Any = None  # a real-audio leg's AMD session
        self._unwatch: Callable[[], None] | None = None  # a real-audio leg listening for fax tones for us

    def begin(self) -> None:
        self.later(self.timeout, self.stop)
        detect = getattr(self.media.leg, "detect_machine", None)  # real audio: AMD on what is heard
        if self.kind == "machine" and detect is not None:
            self.real = detect(self.settings, self._real_event)
            return
        if self.kind == "machine":
            self.later(self.settings["initial_timeout"], self._initial_timeout)
            voice = self._current_voice()
            if voice is not None:
                self.on_voice(*voice)
                if self.media.beeped_at is not None:
                    self.on_beep()
        elif self.kind == "fax":
            watch = getattr(self.media.leg, "watch_tones", None)  # real audio: tone analysis while we wait
            if watch is not None:
                watch(True)
                self._unwatch = lambda: watch(False)
            if self.media.fax is not None:
                self.on_fax_tone(*self.media.fax)

    def close(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        super().close()

    def _current_voice(self) -> tuple[str, float, float, bool] | None:
        """An utterance in progress, or a machine that has spoken: AMD started late still hears it."""
        if not self.media.voices:
            return None
        voice = self.media.voices[-1]
        return voice if voice[3] or voice[2] > self.clock.now() else None

    def event(self, name: str) -> None:
        self.emit(detect={"type": self.kind, "params": {"event": name}})

    def stop(self) -> None:
        if self.real is not None:
            self.real.close()
        self.event("finished")
        self.close()

    def _real_event(self, name: str) -> None:
        """An event of the leg's AMD (MACHINE, HUMAN, UNKNOWN, NOT_READY, READY)."""
        if self.done:
            return
        if name in ("MACHINE", "HUMAN", "UNKNOWN"):
            self.verdict = name
        self.ready = self.ready or name == "READY"
        self.event(name)
        if name in ("HUMAN", "UNKNOWN", "READY"):
            self.stop()

    def call_ending(self) -> None:
        self.stop()

    # -- AMD --------------------------------------------------------------------------------------

    def _initial_timeout(self) -> None:
        if self.verdict is None:
            self.verdict = "UNKNOWN"
            self.event("UNKNOWN")
            self.stop()

    def on_voice(self, text: str, start: float, end: float, machine: bool) -> None:
        if self.kind != "machine" or self.verdict is not None or self.real is not None:
            return
        now = self.clock.now()
        s = self.settings
        self.verdict = "pending"
        long_speech = end - start >= s["machine_voice_threshold"] or len(text.split()) >= s["machine_words_threshold"]
        if machine or long_speech:
            decide_at = start + min(s["machine_voice_threshold"], end - start)

            def machine_verdict() -> None:
                self.verdict = "MACHINE"
                self.event("MACHINE")
                if not self.ready:
                    self.event("NOT_READY")
                    # ready at the beep, else once the greeting has been followed by end_silence_timeout
                    self.later(end + s["end_silence_timeout"] - self.clock.now(), self._ready)

            self.later(decide_at - now, machine_verdict)
        else:

            def human() -> None:
                self.verdict = "HUMAN"
                self.event("HUMAN")
                self.stop()

            self.later(end + s["end_silence_timeout"] - now, human)

    def on_beep(self) -> None:
        if self.kind == "machine" and self.real is None and self.verdict in ("pending", "MACHINE"):
            if self.verdict == "MACHINE":
                self._ready()
            else:  # the verdict is due first; READY right after it
                self.later(0, self._ready)

    def _ready(self) -> None:
        if self.ready or self.done:
            return
        if self.verdict != "MACHINE":
            self.later(0.05, self._ready)
            return
        self.ready = True
        self.event("READY")
        self.stop()

    # -- fax and digits --------------------------------------------------------------------------------

    def on_fax_tone(self, tone: str, pages: int) -> None:
        if self.kind == "fax" and tone == self.tone:
            self.event(tone)
            self.stop()

    def on_dtmf(self, digit: str) -> None:
        if self.kind == "digit" and digit in self.digits:
            self.event(digit)


def handlers(service: MediaService) -> dict[str, Any]:
    def detect(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(sub, params, lambda media, cid: DetectAction(media, cid, params), "Detecting")

    def stop(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, DetectAction)
        soon(action, action.stop)
        return ok("Stopping", control_id=action.control_id)

    return {"calling.detect": detect, "calling.detect.stop": stop}
