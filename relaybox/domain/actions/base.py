"""The action framework: one state machine per `control_id`, events to the call's owner, and a
`CallMedia` per call that carries what is played to the far end and what it sends back.

Every action sends exactly one final event. Ending a call finishes its running actions first (the
`Calling.end_hooks` hook), so their final events always precede the call's `ending`/`ended`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from relaybox.clock import Clock, Timer
from relaybox.domain.calls import Call
from relaybox.domain.errors import RelayError, bad_request, not_found
from relaybox.domain.legs import MediaLeg, Webhooks
from relaybox.domain.routing import Subscriber
from relaybox.protocol.events import Event

if TYPE_CHECKING:
    from relaybox.domain.actions.fax import FaxDocs
    from relaybox.domain.actions.play import Player
    from relaybox.domain.actions.record import Renderer
    from relaybox.domain.actions.tap import TapOpener
    from relaybox.domain.calling import Calling

log = logging.getLogger("relaybox.media")

Probe = Callable[[str], Awaitable[float]]
A = TypeVar("A", bound="Action")


def ok(message: str, **extra: Any) -> dict[str, Any]:
    return {"code": "200", "message": message, **extra}


def soon(action: Action, fn: Callable[[], None]) -> None:
    """Run FN just after the current command's reply, unless the action has finished meanwhile."""

    def run() -> None:
        if not action.done:
            fn()

    asyncio.get_running_loop().call_soon(run)


class Action:
    """A media operation on one call. Subclasses implement `begin` and the input they care about."""

    event_type: ClassVar[str] = ""

    def __init__(self, media: CallMedia, control_id: str) -> None:
        self.media = media
        self.call = media.call
        self.control_id = control_id
        self.done = False
        self._timers: set[Timer] = set()

    @property
    def clock(self) -> Clock:
        return self.media.service.clock

    # -- lifecycle -------------------------------------------------------------------------------

    def begin(self) -> None:
        """Runs just after the command's reply (call_soon); first events go out here."""

    def stop(self) -> None:
        """The client's `.stop`: the final event, at once."""
        self.call_ending()

    def call_ending(self) -> None:
        """The call is ending: send the final event now (before the call's `ending`)."""
        raise NotImplementedError

    def close(self) -> None:
        """No more events: cancel timers and forget the action."""
        self.done = True
        self.cancel_timers()
        self.media.remove(self)

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def later(self, seconds: float, fn: Callable[[], None]) -> Timer:
        """FN after SECONDS of platform time, unless the action has finished by then."""
        timer: Timer | None = None

        def fire() -> None:
            self._timers.discard(timer)
            if not self.done:
                fn()

        timer = self.clock.call_later(max(0.0, seconds), fire)
        self._timers.add(timer)
        return timer

    def emit(self, **params: Any) -> None:
        self.media.service.emit(self.call, self.event_type, {"control_id": self.control_id, **params})

    # -- what the far end sends (MediaSink, dispatched by CallMedia) --------------------------------

    def on_dtmf(self, digit: str) -> None:
        pass

    def on_voice(self, text: str, start: float, end: float, machine: bool) -> None:
        pass

    def on_speech_start(self, start: float) -> None:
        """The far end started talking (real audio's voice activity); its words come with `on_voice`."""

    def on_beep(self) -> None:
        pass

    def on_fax_tone(self, tone: str, pages: int) -> None:
        pass

    def on_play(self, item: dict[str, Any], seconds: float | None) -> None:
        """The platform started playing ITEM to the far end (SECONDS long, if known yet)."""


class CallMedia:
    """One call's media: its running actions, the players on it, and what its far end did (a MediaSink)."""

    def __init__(self, service: MediaService, call: Call) -> None:
        self.service = service
        self.call = call
        self.actions: dict[str, Action] = {}
        self.players: set[Player] = set()
        self.bridge: Any = None  # the connect of this call (connect.Bridge)
        # what the far end did, for actions that start later and for recordings
        self.voices: list[tuple[str, float, float, bool]] = []
        self.beeped_at: float | None = None
        self.fax: tuple[str, int] | None = None
        self.digits: list[tuple[str, float]] = []
        self.played: list[tuple[dict[str, Any], float, float]] = []  # what the platform played, when
        self.leg: MediaLeg | None = call.leg if isinstance(call.leg, MediaLeg) else None
        if self.leg is not None:
            self.leg.attach_media(self)

    # -- toward the far end --------------------------------------------------------------------

    def hear(self, entry: dict[str, Any]) -> None:
        if self.leg is not None:
            self.leg.hear(entry)

    def cue(self, name: str) -> None:
        if self.leg is not None:
            self.leg.cue(name)

    def playing(self, item: dict[str, Any], seconds: float | None) -> None:
        for action in self._each():
            action.on_play(item, seconds)

    def player_started(self, player: Player) -> None:
        self.players.add(player)

    def player_stopped(self, player: Player) -> None:
        if player in self.players:
            self.players.discard(player)
            if not self.players:
                self.cue("silence")

    # -- actions ----------------------------------------------------------------------------------

    def add(self, action: Action) -> None:
        if action.control_id in self.actions:
            raise bad_request(f"control_id {action.control_id!r} is already running on this call")
        self.actions[action.control_id] = action

    def remove(self, action: Action) -> None:
        if self.actions.get(action.control_id) is action:
            del self.actions[action.control_id]

    def _each(self) -> list[Action]:
        return [a for a in self.actions.values() if not a.done]

    # -- MediaSink: the far end's input ---------------------------------------------------------------

    def dtmf(self, digit: str) -> None:
        self.digits.append((digit, self.service.clock.now()))
        for action in self._each():
            action.on_dtmf(digit)

    def voice(self, text: str, start: float, end: float, machine: bool) -> None:
        self.voices.append((text, start, end, machine))
        self.beeped_at = None
        for action in self._each():
            action.on_voice(text, start, end, machine)

    def speech_started(self, start: float) -> None:
        """Optional MediaSink hook (real-audio legs): speech began at START, before the utterance ends."""
        for action in self._each():
            action.on_speech_start(start)

    def beep(self) -> None:
        self.beeped_at = self.service.clock.now()
        for action in self._each():
            action.on_beep()

    def fax_tone(self, tone: str, pages: int) -> None:
        self.fax = (tone, pages)
        for action in self._each():
            action.on_fax_tone(tone, pages)

    def ending(self) -> None:
        """The call is ending: every running action sends its final event, then the players stop."""
        for action in list(self.actions.values()):
            if not action.done:
                try:
                    action.call_ending()
                except Exception:
                    log.exception("call %s: action %s failed to finish", self.call.call_id, action.control_id)
                    action.close()
        if self.bridge is not None:
            self.bridge.call_ending()
        for player in list(self.players):
            player.stop()


class MediaService:
    """Owns the CallMedia of live calls and the command handlers of every action family."""

    def __init__(
        self, calling: Calling, *, probe: Probe | None = None, renderer: Renderer | None = None,
        recordings_dir: Path | None = None, public_url: Callable[[str], str] | None = None,
        tapper: TapOpener | None = None, fax_docs: FaxDocs | None = None, webhooks: Webhooks | None = None,
    ) -> None:
        from relaybox.domain.actions.audiofile import fetch_seconds

        self.calling = calling
        self.clock = calling.clock
        self.probe: Probe = probe or fetch_seconds
        self.renderer = renderer  # writes recordings (an engine's); None: calling.record answers 500
        self.recordings_dir = recordings_dir
        self.public_url: Callable[[str], str] = public_url or (lambda path: path)
        self.tapper = tapper  # opens RTP tap streams (an engine's); None: calling.tap answers 500
        self.fax_docs = fax_docs  # counts sent PDFs' pages and stores received faxes; None: fax answers 500
        self.webhooks = webhooks  # the customer's callback URLs (conference status); None: not sent, logged
        self.durations: dict[str, float] = {}  # audio URL -> seconds, once probed (bounded: see Player)
        self._media: dict[str, CallMedia] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        calling.end_hooks.append(self._call_ending)

    def handlers(self) -> dict[str, Callable[[Subscriber, dict[str, Any]], dict[str, Any]]]:
        from relaybox.domain.actions import collect, conference, connect, detect, digits, fax, play, record, refer, tap

        table: dict[str, Callable[[Subscriber, dict[str, Any]], dict[str, Any]]] = {}
        for module in (play, collect, detect, digits, connect, record, tap, fax, refer, conference):
            table.update(module.handlers(self))
        return table

    # -- helpers for the handlers ------------------------------------------------------------------

    def media_for(self, call: Call) -> CallMedia:
        media = self._media.get(call.call_id)
        if media is None:
            media = self._media[call.call_id] = CallMedia(self, call)
        return media

    def start(
        self, sub: Subscriber, params: dict[str, Any], factory: Callable[[CallMedia, str], Action], message: str,
        **extra: Any,
    ) -> dict[str, Any]:
        """Validate and register a new action, reply at once, and begin it just after the reply."""
        call = self.calling.command_target(sub, params)
        control_id = params.get("control_id") or str(uuid.uuid4())
        if not isinstance(control_id, str):
            raise bad_request("'control_id' must be a string")
        media = self.media_for(call)
        action = factory(media, control_id)  # validates: a RelayError leaves nothing behind
        media.add(action)
        asyncio.get_running_loop().call_soon(self._begin, action)
        reply = ok(message, call_id=call.call_id, control_id=control_id)
        for key, value in extra.items():
            reply[key] = value(action) if callable(value) else value
        return reply

    def _begin(self, action: Action) -> None:
        if action.done:
            return
        try:
            action.begin()
        except Exception:
            log.exception("call %s: action %s failed to start", action.call.call_id, action.control_id)
            if not action.done:
                action.call_ending()

    def control(self, sub: Subscriber, params: dict[str, Any], kind: type[A]) -> A:
        """The running action a control command (`.stop`, `.pause`...) names; 404 if none."""
        call = self.calling.command_target(sub, params)
        control_id = params.get("control_id")
        if not isinstance(control_id, str) or not control_id:
            raise bad_request("'control_id' is required and must be a non-empty string")
        media = self._media.get(call.call_id)
        action = media.actions.get(control_id) if media else None
        if action is None or action.done or not isinstance(action, kind):
            raise not_found(f"no running {kind.__name__.removesuffix('Action').lower()} with control_id {control_id!r}")
        return action

    def emit(self, call: Call, event_type: str, params: dict[str, Any]) -> None:
        body = {"call_id": call.call_id, "node_id": call.node_id, **params}
        self.calling.router.send(call.owner, Event(event_type, body))

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _call_ending(self, call: Call) -> None:
        media = self._media.pop(call.call_id, None)
        if media is not None:
            media.ending()


__all__ = ["Action", "CallMedia", "MediaService", "RelayError", "ok", "soon"]
