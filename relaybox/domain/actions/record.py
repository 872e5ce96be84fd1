"""Record: `calling.record` turns what was said on the call into a real audio file served by relaybox.

The action follows the call's media on the platform clock (the far end's speech and keys for
`speak`, what the platform played for `listen`, both for `both`) and stops on a terminator key,
`end_silence_timeout` after the last sound, `.stop`, or the call ending; nothing heard within
`initial_timeout` is `no_input`. An engine-side `Renderer` then writes the file (the sandbox
synthesises the symbolic timeline). Events: `recording`, then `finished` (url, duration, size true to
the file) or `no_input`; never `error`, which Node's blocking record would wait past.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from relaybox.domain.actions.base import Action, CallMedia, MediaService, ok, soon
from relaybox.domain.actions.media import RINGTONES
from relaybox.domain.errors import RelayError, bad_request
from relaybox.domain.routing import Subscriber

log = logging.getLogger("relaybox.media")

TICK = 0.25  # platform seconds between silence checks
BEEP_SECONDS = 0.25
DTMF = frozenset("0123456789*#ABCD")
DEFAULTS: dict[str, Any] = {
    "beep": False, "format": "mp3", "stereo": False, "direction": "speak",
    "initial_timeout": 5.0, "end_silence_timeout": 1.0, "terminators": "#*",
}
PHONE_VOICE = "en-us"


@dataclass(slots=True)
class Segment:
    """A sound on a track: speech (text, voice), a tone cadence, one DTMF key, or an audio file (text = URL)."""

    start: float  # seconds from the start of the recording
    seconds: float
    kind: str  # "speech" | "tone" | "dtmf" | "audio"
    text: str = ""
    voice: str = ""
    freqs: tuple[float, ...] = ()
    cadence: tuple[tuple[float, float], ...] = ()
    gain: float = 0.0  # dB (a play's volume)
    offset: float = 0.0  # seconds into the sound where this segment starts (a play begun before a recording)


def played_segment(item: dict[str, Any], at: float, seconds: float, offset: float = 0.0) -> Segment | None:
    """The segment a played media item makes on the `listen` track (None for silence)."""
    params, gain = item["params"], float(item.get("gain") or 0.0)
    if item["type"] == "tts":
        return Segment(at, seconds, "speech", params["text"], tts_voice(params), gain=gain, offset=offset)
    if item["type"] == "ringtone":
        cadence, freqs = RINGTONES[params["name"]]
        return Segment(at, seconds, "tone", freqs=tuple(map(float, freqs)), cadence=cadence, gain=gain, offset=offset)
    if item["type"] == "audio":
        return Segment(at, seconds, "audio", params["url"], gain=gain, offset=offset)
    return None


@dataclass(slots=True)
class RecordingSpec:
    path: Path
    fmt: str  # "mp3" | "wav"
    stereo: bool
    direction: str  # "speak" | "listen" | "both"
    seconds: float
    speak: list[Segment] = field(default_factory=list)  # what the far end said
    listen: list[Segment] = field(default_factory=list)  # what the platform played to it
    # paused spans (seconds from the start): `skip` ones are cut out of the file, `silence` ones muted
    skip: list[tuple[float, float]] = field(default_factory=list)
    mute: list[tuple[float, float]] = field(default_factory=list)


class Renderer(Protocol):
    """Writes recordings (implemented by an engine: relaybox.engines.audio)."""

    def check(self, fmt: str) -> None:
        """Raise an exception naming the missing piece when FMT cannot be produced."""

    def render(self, spec: RecordingSpec) -> tuple[float, int]:
        """Write SPEC.path; returns the file's (duration, size)."""
        ...


def tts_voice(params: dict[str, Any]) -> str:
    language = str(params.get("language") or "en-US").lower()
    base = "en-us" if language.startswith("en") else language.split("-")[0]
    return base + ("+m3" if params.get("gender") == "male" else "+f3")


class RecordAction(Action):
    event_type = "calling.call.record"

    def __init__(self, media: CallMedia, control_id: str, params: dict[str, Any]) -> None:
        super().__init__(media, control_id)
        record = params.get("record", {"audio": {}})
        if not isinstance(record, dict) or not isinstance(record.get("audio", {}), dict):
            raise bad_request("'record' must be {audio: {...}}")
        audio = dict(record.get("audio") or {})
        # v4 sends the audio keys at the top of `record` too
        audio.update({k: v for k, v in record.items() if k in DEFAULTS})
        self.audio = audio
        self.settings = {**DEFAULTS, **{k: v for k, v in audio.items() if v is not None}}
        s = self.settings
        for key in ("beep", "stereo"):
            if not isinstance(s[key], bool):
                raise bad_request(f"'record.audio.{key}' must be true or false")
        if s["format"] not in ("mp3", "wav"):
            raise bad_request("'record.audio.format' must be mp3 or wav")
        if s["direction"] not in ("speak", "listen", "both"):
            raise bad_request("'record.audio.direction' must be listen, speak or both")
        for key in ("initial_timeout", "end_silence_timeout"):
            value = s[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
                raise bad_request(f"'record.audio.{key}' must be a number of seconds from 0 (off) to 3600")
        if not isinstance(s["terminators"], str) or not set(s["terminators"]) <= DTMF:
            raise bad_request("'record.audio.terminators' must be DTMF keys (0-9 * # A-D)")
        service = media.service
        if service.renderer is None or service.recordings_dir is None:
            raise RelayError("500", "recording is not available on this server")
        try:
            service.renderer.check(s["format"])
        except Exception as exc:
            raise RelayError("500", f"cannot record: {exc}") from None
        name = f"{secrets.token_urlsafe(24)}.{s['format']}"
        self.path = service.recordings_dir / name
        self.url = service.public_url(f"/media/recordings/{name}")
        self.t0 = 0.0
        self.pauses: list[tuple[float, float | None, str]] = []  # (start, end, behavior)
        self.real: Any = None  # a real-audio leg's recording of what is really heard and sent
        self.rendering: RecordingSpec | None = None  # stopped, the file being written off the event loop

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    def pause(self, behavior: str) -> None:
        if not self.paused:
            self.pauses.append((self.clock.now(), None, behavior))
            if self.real is not None:
                self.real.pause(behavior)
            self.emit(state="paused", url=self.url, record={"audio": self.audio})

    def resume(self) -> None:
        if self.paused:
            start, _, behavior = self.pauses[-1]
            self.pauses[-1] = (start, self.clock.now(), behavior)
            if self.real is not None:
                self.real.resume()
            self.emit(state="recording", url=self.url, record={"audio": self.audio})

    # -- lifecycle ---------------------------------------------------------------------------------

    def begin(self) -> None:
        self.t0 = self.clock.now()
        start = getattr(self.media.leg, "start_recording", None)  # real audio: record it, not the timeline
        s = self.settings
        if start is not None:
            self.real = start(self.path, s["format"], s["stereo"], s["direction"],
                              timed=bool(s["initial_timeout"] or s["end_silence_timeout"]))
        if self.settings["beep"]:
            self.media.hear({"type": "beep"})
        self.media.hear({"type": "recording", "direction": self.settings["direction"]})
        self.emit(state="recording", url=self.url, record={"audio": self.audio})
        if s["initial_timeout"] or s["end_silence_timeout"]:  # else it ends by stop, a key or the call's end
            self.later(TICK, self._tick)

    def _tick(self) -> None:
        now = self.clock.now()
        s = self.settings
        heard, active, last = self._activity(now)
        if self.paused:
            pass  # timeouts do not run while paused
        elif not heard:
            if s["initial_timeout"] and now - self.t0 >= s["initial_timeout"]:
                self._no_input()
                return
        elif not active and s["end_silence_timeout"] and now - last >= s["end_silence_timeout"]:
            self._finish_soon()
            return
        self.later(TICK, self._tick)

    def _activity(self, now: float) -> tuple[bool, bool, float]:
        """(something heard since the start, sound right now, when the last sound ended)."""
        if self.real is not None:  # voice activity on the real audio, keys included
            heard, active, last = self.real.activity(now)
            for _digit, at in self.media.digits:
                if at >= self.t0 and self.settings["direction"] != "listen":
                    heard, last = True, max(last, at + 0.1)
            return heard, active, last
        heard = active = False
        last = self.t0
        direction = self.settings["direction"]
        if direction in ("speak", "both"):
            for _text, start, end, _m in self.media.voices:
                if end > self.t0 and start <= now:
                    heard = True
                    active = active or end > now
                    last = max(last, min(end, now))
            for _digit, at in self.media.digits:
                if at >= self.t0:
                    heard = True
                    last = max(last, at + 0.1)
        if direction in ("listen", "both"):
            for item, _start, end in self.media.played:
                if end > self.t0 and item["type"] != "silence":
                    heard = True
                    last = max(last, end)
            for player in self.media.players:
                current = player.current()
                if current is not None and current["type"] != "silence":
                    heard = active = True
                    last = now
        return heard, active, last

    def on_dtmf(self, digit: str) -> None:
        if digit in self.settings["terminators"]:
            self._finish_soon()

    def stop(self) -> None:
        self._finish_soon()

    def _finish_soon(self) -> None:
        """Stop recording now; write the file off the event loop when the engine can (`render_async`), then
        `finished`. The call ending meanwhile writes it at once (`_finished`): the final event comes first."""
        render_async = getattr(self.media.service.renderer, "render_async", None)
        if self.real is not None or render_async is None:
            self._finished()
            return
        if self.rendering is not None:
            return
        self.cancel_timers()
        self.rendering = self._spec(self.clock.now())
        self.media.service.spawn(self._render(render_async, self.rendering))

    async def _render(self, render_async: Any, spec: RecordingSpec) -> None:
        try:
            duration, size = await render_async(spec)
        except Exception:
            log.exception("call %s: recording %s could not be written", self.call.call_id, self.control_id)
            if not self.done:
                self._no_input()
            return
        if not self.done:  # else the call ended meanwhile and `_finished` already sent the final event
            self._send_finished(duration, size)

    def call_ending(self) -> None:
        self._finished()

    def _no_input(self) -> None:
        if self.real is not None:
            self.real.cancel()
        self.emit(state="no_input", url=self.url, duration=0, size=0,
                  record={"audio": self.audio, "url": self.url, "duration": 0, "size": 0})
        self.close()

    def _finished(self) -> None:
        now = self.clock.now()
        spec = self.rendering or self._spec(now)
        try:
            assert self.media.service.renderer is not None
            if self.real is not None:
                duration, size = self.real.finish()
            else:
                duration, size = self.media.service.renderer.render(spec)
        except Exception:
            log.exception("call %s: recording %s could not be written", self.call.call_id, self.control_id)
            self._no_input()
            return
        self._send_finished(duration, size)

    def _send_finished(self, duration: float, size: int) -> None:
        self.emit(state="finished", url=self.url, duration=duration, size=size,
                  record={"audio": self.audio, "url": self.url, "duration": duration, "size": size})
        self.close()

    # -- the timeline to render ---------------------------------------------------------------------

    def _spec(self, now: float) -> RecordingSpec:
        t0 = self.t0
        s = self.settings
        spec = RecordingSpec(self.path, s["format"], s["stereo"], s["direction"], max(0.1, now - t0))
        for start, end, behavior in self.pauses:
            span = (start - t0, (now if end is None else end) - t0)
            (spec.skip if behavior == "skip" else spec.mute).append(span)
        for text, start, end, _m in self.media.voices:
            if end > t0 and start < now:
                spec.speak.append(Segment(max(0.0, start - t0), end - max(start, t0), "speech", text, PHONE_VOICE))
        for digit, at in self.media.digits:
            if t0 <= at < now:
                spec.speak.append(Segment(at - t0, 0.1, "dtmf", digit))
        if s["beep"]:
            spec.listen.append(Segment(0.0, BEEP_SECONDS, "tone", freqs=(1000.0,), cadence=((BEEP_SECONDS, 0.0),)))
        played = list(self.media.played)
        for player in self.media.players:
            current = player.current()
            if current is not None:
                played.append((current, player._item_start, now))
        for item, start, end in played:
            if end <= t0 or start >= now:
                continue
            at, seconds = max(0.0, start - t0), min(end, now) - max(start, t0)
            segment = played_segment(item, at, seconds, offset=max(0.0, t0 - start))
            if segment is not None:
                spec.listen.append(segment)
        return spec


def handlers(service: MediaService) -> dict[str, Any]:
    def record(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(
            sub, params, lambda media, cid: RecordAction(media, cid, params), "Recording",
            url=lambda action: action.url,
        )

    def stop(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, RecordAction)
        soon(action, action.stop)
        return ok("Stopping", control_id=action.control_id)

    def pause(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, RecordAction)
        behavior = params.get("behavior") or "silence"
        if behavior not in ("skip", "silence", "continuous"):
            raise bad_request("'behavior' must be skip or silence")
        soon(action, lambda: action.pause("skip" if behavior == "skip" else "silence"))
        return ok("Paused", control_id=action.control_id)

    def resume(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, RecordAction)
        soon(action, action.resume)
        return ok("Resumed", control_id=action.control_id)

    return {
        "calling.record": record,
        "calling.record.stop": stop,
        "calling.record.pause": pause,
        "calling.record.resume": resume,
    }
