"""Prompt and collect: `calling.play_and_collect` (a prompt played while input is collected) and v4's
standalone `calling.collect`. Exactly one final `calling.call.collect` event (`final: true` and a
state other than `collecting`): `digit`, `speech`, `no_input`, `no_match` or `error`.

Input timers (initial_timeout) start when the prompt has been played (or at once without one, or
on `calling.collect.start_input_timers`); the first input stops the prompt (barge-in).

v4 `calling.collect` also streams, as @signalwire/realtime-api reads it (voiceCallCollectWorker):
* `send_start_of_input`: `{type: start_of_input}` with `state: collecting` and no `final` key at the
  first input of each round (a `final: false` event would be a mere `collect.updated`, never
  `collect.startOfInput`);
* `partial_results`: `final: false` events with the input so far (digits pressed, words spoken);
* `continuous`: each result goes out with `final: true, state: collecting` (`collect.updated`, the
  action goes on) and collection restarts with fresh timers; `.stop` or the call's end send the one
  final event, carrying the last result.
`play_and_collect` ignores `partial_results`/`continuous`: the clients that send them there (v2 Node;
v4 Python's raw `collect`) take the first collect event as the result, and v4 Node never sends them.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from relaybox.clock import Timer
from relaybox.domain.actions.base import Action, CallMedia, MediaService, ok, soon
from relaybox.domain.actions.media import normalize_media, volume
from relaybox.domain.actions.play import Player
from relaybox.domain.errors import bad_request
from relaybox.domain.params import opt_dict
from relaybox.domain.routing import Subscriber

DTMF = frozenset("0123456789*#ABCD")
DEFAULT_INITIAL_TIMEOUT = 4.0
DEFAULT_DIGIT_TIMEOUT = 5.0
DEFAULT_END_SILENCE = 1.0
DEFAULT_SPEECH_TIMEOUT = 60.0
MAX_DIGITS = 128


def _seconds(spec: dict[str, Any], key: str, default: float, where: str) -> float:
    value = spec.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise bad_request(f"'{where}.{key}' must be a number of seconds") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise bad_request(f"'{where}.{key}' must be a number of seconds between 0 and 3600")
    return float(value)


def _flag(spec: dict[str, Any], key: str, where: str) -> bool | None:
    value = spec.get(key)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"'{where}{key}' must be true or false")
    return value


def speech_prefixes(text: str, start: float, end: float) -> list[tuple[float, str]]:
    """When each word of TEXT (said from START to END) has been heard: (time, the words so far)."""
    out: list[tuple[float, str]] = []
    length = max(len(text), 1)
    pos = 0
    for word in text.split():
        pos = text.index(word, pos) + len(word)
        out.append((start + (end - start) * pos / length, text[:pos]))
    return out


def confidence(text: str, hints: list[str]) -> float:
    """The recogniser's confidence in the sandbox: certain for an expected phrase, good otherwise."""
    said = text.strip().lower().rstrip(".!?")
    if any(said == h.strip().lower() for h in hints):
        return 97.5
    return 83.2


class CollectAction(Action):
    event_type = "calling.call.collect"

    def __init__(self, media: CallMedia, control_id: str, params: dict[str, Any], *, with_prompt: bool) -> None:
        super().__init__(media, control_id)
        collect = opt_dict(params, "collect") if with_prompt else params
        if collect is None:
            raise bad_request("'collect' is required: {digits: {...}} and/or {speech: {...}}")
        digits, speech = collect.get("digits"), collect.get("speech")
        if digits is None and speech is None:
            raise bad_request("'collect' needs 'digits' and/or 'speech'")
        if digits is not None and not isinstance(digits, dict):
            raise bad_request("'collect.digits' must be an object")
        if speech is not None and not isinstance(speech, dict):
            raise bad_request("'collect.speech' must be an object")
        self.digits_spec = digits
        self.speech_spec = speech
        self.initial_timeout = _seconds(collect, "initial_timeout", DEFAULT_INITIAL_TIMEOUT, "collect")
        if digits is not None:
            dmax = digits.get("max", 1)
            if isinstance(dmax, str) and dmax.isdigit():
                dmax = int(dmax)
            if isinstance(dmax, bool) or not isinstance(dmax, int | float) or not 1 <= dmax <= MAX_DIGITS:
                raise bad_request(f"'collect.digits.max' must be a whole number from 1 to {MAX_DIGITS}")
            self.max_digits = int(dmax)
            terminators = digits.get("terminators", "")
            if not isinstance(terminators, str) or not set(terminators) <= DTMF:
                raise bad_request("'collect.digits.terminators' must be DTMF keys (0-9 * # A-D)")
            self.terminators = terminators
            self.digit_timeout = _seconds(digits, "digit_timeout", DEFAULT_DIGIT_TIMEOUT, "collect.digits")
        if speech is not None:
            self.end_silence = _seconds(speech, "end_silence_timeout", DEFAULT_END_SILENCE, "collect.speech")
            self.speech_timeout = _seconds(speech, "speech_timeout", DEFAULT_SPEECH_TIMEOUT, "collect.speech")
            hints = speech.get("hints", [])
            if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
                raise bad_request("'collect.speech.hints' must be a list of phrases")
            self.hints = hints
            language = speech.get("language", "en-US")
            if not isinstance(language, str):
                raise bad_request("'collect.speech.language' must be a string such as en-US")
        self.player: Player | None = None
        if with_prompt:
            items = normalize_media(params.get("play"))
            self.player = Player(media, items, gain=volume(params.get("volume")), on_done=self._prompt_played)
        where = "collect." if with_prompt else ""
        flags = {k: _flag(collect, k, where) for k in
                 ("start_input_timers", "send_start_of_input", "partial_results", "continuous")}
        self.timers_started = False
        self.defer_timers = flags["start_input_timers"] is False
        self.send_start_of_input = flags["send_start_of_input"] is True  # v4: an event at the first input
        self.partial_results = not with_prompt and flags["partial_results"] is True
        self.continuous = not with_prompt and flags["continuous"] is True
        self.last_result: dict[str, Any] | None = None  # continuous: what `.stop` finishes with
        self.collected = ""
        self._initial: Timer | None = None
        self._digit_timer: Timer | None = None
        self._heard_input = False

    # -- lifecycle ---------------------------------------------------------------------------------

    def begin(self) -> None:
        expect = getattr(self.media.leg, "expect_speech", None)  # real audio: a grammar of digits + hints
        if expect is not None and self.speech_spec is not None:
            expect(self.hints)
        self.media.cue("prompt")
        if self.player is not None:
            self.player.start()
        elif not self.defer_timers:
            self.start_timers()

    def _prompt_played(self) -> None:
        if not self.defer_timers:
            self.start_timers()

    def start_timers(self) -> None:
        if self.timers_started or self.done:
            return
        self.timers_started = True
        if not self._heard_input and self.initial_timeout > 0:
            self._initial = self.later(self.initial_timeout, lambda: self._result({"type": "no_input"}))

    def _barge_in(self) -> None:
        if self.send_start_of_input and not self._heard_input:
            self.emit(result={"type": "start_of_input"}, state="collecting")
        self._heard_input = True
        if self._initial is not None:
            self._initial.cancel()
            self._initial = None
        if self.player is not None and not self.player.done:
            self.player.stop()

    def _partial(self, result: dict[str, Any]) -> None:
        if self.partial_results and not self.done:
            self.emit(result=result, state="collecting", final=False)

    def _result(self, result: dict[str, Any]) -> None:
        """A round's result: the final event, or (continuous) an update and a fresh round."""
        if self.done:
            return
        if not self.continuous or result["type"] == "error":
            self._finish(result)
            return
        if result["type"] in ("digit", "speech"):
            self.last_result = result
        self.emit(result=result, state="collecting", final=True)
        self._next_round(rearm=result["type"] != "no_input")  # a quiet caller is reported once

    def _next_round(self, *, rearm: bool) -> None:
        if self._digit_timer is not None:
            self._digit_timer.cancel()
            self._digit_timer = None
        if self._initial is not None:
            self._initial.cancel()
            self._initial = None
        self.collected = ""
        self._heard_input = False
        started, self.timers_started = self.timers_started, False
        if started and rearm:
            self.start_timers()

    def _pending_digits(self) -> dict[str, Any] | None:
        if not self.collected:
            return None
        return {"type": "digit", "params": {"digits": self.collected, "terminator": ""}}

    def _finish(self, result: dict[str, Any]) -> None:
        if self.done:
            return
        if self.player is not None:
            self.player.stop()
        expect = getattr(self.media.leg, "expect_speech", None)
        if expect is not None and self.speech_spec is not None:
            expect(None)
        kind = result["type"]
        state = "finished" if kind in ("digit", "speech") else kind
        self.emit(result=result, state=state, final=True)
        self.close()

    def stop(self) -> None:
        last = (self._pending_digits() or self.last_result) if self.continuous else None
        self._finish(last or {"type": "no_input"})

    def call_ending(self) -> None:
        last = (self._pending_digits() or self.last_result) if self.continuous else None
        self._finish(last or {"type": "error"})

    # -- input -----------------------------------------------------------------------------------

    def on_dtmf(self, digit: str) -> None:
        self._barge_in()
        if self.digits_spec is None:
            self._result({"type": "no_match"})
            return
        if self._digit_timer is not None:
            self._digit_timer.cancel()
        if digit in self.terminators:
            self._result({"type": "digit", "params": {"digits": self.collected, "terminator": digit}})
            return
        self.collected += digit
        if len(self.collected) >= self.max_digits:
            self._result({"type": "digit", "params": {"digits": self.collected, "terminator": ""}})
            return
        self._partial({"type": "digit", "params": {"digits": self.collected}})
        self._digit_timer = self.later(
            self.digit_timeout,
            lambda: self._result({"type": "digit", "params": {"digits": self.collected, "terminator": ""}}),
        )

    def on_speech_start(self, start: float) -> None:
        self._barge_in()  # the prompt stops and the no-input timer ends as soon as the caller talks

    def on_voice(self, text: str, start: float, end: float, machine: bool) -> None:
        now = self.clock.now()
        self._barge_in()
        if self.speech_spec is None:
            self.later(end - now, lambda: self._result({"type": "no_match"}))
            return
        if self._digit_timer is not None or self.collected:
            return  # already collecting keys
        done_at = min(end - now + self.end_silence, self.speech_timeout)
        result = {"type": "speech", "params": {"text": text, "confidence": confidence(text, self.hints)}}
        if self.partial_results:
            self._speech_partials(text, start, end, now)
        self.later(done_at, lambda: self._result(result))

    def _speech_partials(self, text: str, start: float, end: float, now: float) -> None:
        """The words so far as they are said (the sandbox reports an utterance as it starts); what was
        already said (real audio reports it once recognised) goes out at once, before the final."""
        heard = [prefix for at, prefix in speech_prefixes(text, start, end) if at <= now]
        if heard:
            self._partial({"type": "speech", "params": {"text": heard[-1]}})
        for at, prefix in speech_prefixes(text, start, end):
            if at > now and at - now < self.speech_timeout:
                self.later(at - now, partial(self._partial, {"type": "speech", "params": {"text": prefix}}))


def handlers(service: MediaService) -> dict[str, Any]:
    def play_and_collect(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(
            sub, params, lambda media, cid: CollectAction(media, cid, params, with_prompt=True),
            "Playing and collecting",
        )

    def collect(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(
            sub, params, lambda media, cid: CollectAction(media, cid, params, with_prompt=False), "Collecting"
        )

    def stop(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, CollectAction)
        soon(action, action.stop)
        return ok("Stopping", control_id=action.control_id)

    def set_volume(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, CollectAction)
        gain = volume(params.get("volume"))
        if action.player is not None:
            action.player.gain = gain
        return ok("Volume changed", control_id=action.control_id)

    def pause(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, CollectAction)
        if action.player is not None:
            action.player.pause()
        return ok("Paused", control_id=action.control_id)

    def resume(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, CollectAction)
        if action.player is not None:
            action.player.resume()
        return ok("Resumed", control_id=action.control_id)

    def start_input_timers(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, CollectAction)
        soon(action, action.start_timers)
        return ok("Input timers started", control_id=action.control_id)

    return {
        "calling.play_and_collect": play_and_collect,
        "calling.play_and_collect.stop": stop,
        "calling.play_and_collect.volume": set_volume,
        "calling.play_and_collect.pause": pause,
        "calling.play_and_collect.resume": resume,
        "calling.collect": collect,
        "calling.collect.stop": stop,
        "calling.collect.start_input_timers": start_input_timers,
    }
