"""Call and Actions of the v4 RelayClient (seed 004: `signalwire.relay.RelayClient` Call)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .event import MethodNotSupported, RelayError, RelayEvent, wait_done

if TYPE_CHECKING:
    from .client import RelayClient

log = logging.getLogger("relaybox.relay.v4")

EventHandler = Callable[[RelayEvent], Any]
STATES = ("created", "ringing", "answered", "ending", "ended")

#: Call methods of seed 004 whose platform side relaybox has not built yet: they raise NotImplementedError.
NOT_ON_PLATFORM = (
    "transfer",
    "ai",
    "amazon_bedrock",
    "ai_hold",
    "ai_unhold",
    "ai_message",
    "denoise",
    "denoise_stop",
    "echo",
    "bind_digit",
    "clear_digit_bindings",
    "user_event",
    "stream",
    "pay",
    "transcribe",
    "live_transcribe",
    "live_translate",
    "join_room",
    "leave_room",
    "queue_enter",
    "queue_leave",
)


def _not_on_platform(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"Call.{name}() is not implemented: relaybox has no platform side for it yet "
        f"(see relaybox.relay.v4.call.NOT_ON_PLATFORM)"
    )


def normalize_media(media: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat media ({'type': 'tts', 'text': ...}) -> wire media ({'type': 'tts', 'params': {...}})."""
    out: list[dict[str, Any]] = []
    for m in media:
        if "params" in m and set(m) <= {"type", "params"}:
            out.append({"type": m.get("type"), "params": dict(m["params"])})
        else:
            out.append({"type": m.get("type"), "params": {k: v for k, v in m.items() if k != "type"}})
    return out


def _given(params: dict[str, Any], **values: Any) -> dict[str, Any]:
    """PARAMS plus those VALUES that were given (not None), in order: optional fields go out only when set."""
    params.update((key, value) for key, value in values.items() if value is not None)
    return params


def _tts(text: str, language: str | None, gender: str | None, voice: str | None) -> dict[str, Any]:
    return {"type": "tts", "params": _given({"text": text}, language=language, gender=gender, voice=voice)}


class Action:
    """A running operation: `control_id`, `completed`, `result` (the terminal event), `await wait()`."""

    command = ""
    terminal_states: tuple[str, ...] = ("finished", "error")

    def __init__(self, call: Call, control_id: str) -> None:
        self.call = call
        self.control_id = control_id
        self.result: RelayEvent | None = None
        self.completed = False
        self._done: asyncio.Future[RelayEvent] = asyncio.get_running_loop().create_future()
        self._on_completed: Callable[[RelayEvent], Any] | None = None

    def _check_event(self, event: RelayEvent) -> None:
        if event.params.get("state") in self.terminal_states:
            self._resolve(event)

    def _resolve(self, event: RelayEvent) -> None:
        if self._done.done():
            return
        self.result = event
        self.completed = True
        self._done.set_result(event)
        if self._on_completed is not None:
            try:
                res = self._on_completed(event)
                if asyncio.iscoroutine(res):
                    self.call._client._spawn(res)
            except Exception:
                log.exception("on_completed callback failed")

    def _fail(self, exc: BaseException) -> None:
        if not self._done.done():
            self._done.set_exception(exc)
            self._done.exception()  # the starting call raises it; wait() re-raises it

    async def wait(self, timeout: float | None = None) -> RelayEvent:
        """Wait for the operation to finish; returns its terminal RelayEvent."""
        return await wait_done(self._done, timeout)

    @property
    def is_done(self) -> bool:
        return self._done.done()

    async def _sub(self, verb: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"control_id": self.control_id}
        if extra:
            params.update(extra)
        return await self.call._execute(f"{self.command}.{verb}", params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(control_id={self.control_id!r}, completed={self.completed})"


class StoppableAction(Action):
    async def stop(self) -> dict[str, Any]:
        """Stop the operation (`calling.<command>.stop`)."""
        return await self._sub("stop")


class PausableAction(StoppableAction):
    async def pause(self, behavior: str | None = None) -> dict[str, Any]:
        """Pause the operation (`calling.<command>.pause`)."""
        return await self._sub("pause", {"behavior": behavior} if behavior else None)

    async def resume(self) -> dict[str, Any]:
        """Resume the operation (`calling.<command>.resume`)."""
        return await self._sub("resume")


class PlayAction(PausableAction):
    command = "play"

    async def volume(self, volume: float) -> dict[str, Any]:
        """Set the playback volume in dB (-40..+40)."""
        return await self._sub("volume", {"volume": volume})


class RecordAction(PausableAction):
    command = "record"
    terminal_states = ("finished", "no_input")

    @property
    def url(self) -> str:
        p = self.result.params if self.result else {}
        rec: dict[str, Any] = p["record"] if isinstance(p.get("record"), dict) else {}
        return str(rec.get("url") or p.get("url") or "")


class DetectAction(StoppableAction):
    command = "detect"

    def _check_event(self, event: RelayEvent) -> None:
        if event.params.get("detect") or event.params.get("state") in ("finished", "error"):
            self._resolve(event)


class CollectAction(PlayAction):
    command = "play_and_collect"

    def _check_event(self, event: RelayEvent) -> None:
        if event.event_type != "calling.call.collect":
            return
        params = event.params
        # partial results (`final: false`), start_of_input and continuous results (`state: collecting`) go on
        if params.get("final") is False or params.get("state") == "collecting":
            return
        if params.get("result") or params.get("state") in ("finished", "error", "no_input", "no_match"):
            self._resolve(event)

    async def start_input_timers(self) -> dict[str, Any]:
        return await self.call._execute("collect.start_input_timers", {"control_id": self.control_id})


class StandaloneCollectAction(StoppableAction):
    command = "collect"

    def _check_event(self, event: RelayEvent) -> None:
        CollectAction._check_event(self, event)  # type: ignore[arg-type]

    async def start_input_timers(self) -> dict[str, Any]:
        return await self._sub("start_input_timers")


class FaxAction(StoppableAction):
    def __init__(self, call: Call, control_id: str, command: str) -> None:
        super().__init__(call, control_id)
        self.command = command


class TapAction(StoppableAction):
    command = "tap"
    terminal_states = ("finished",)


_A = TypeVar("_A", bound=Action)


class Call:
    """A live RELAY call of a v4 RelayClient.

    | property | type | description |
    | --- | --- | --- |
    | `call_id` | str | Unique identifier for this call, assigned by SignalWire. |
    | `node_id` | str | Identifier of the RELAY node handling this call. |
    | `project_id` | str | SignalWire project ID that owns this call. |
    | `context` | str | The context (routing label) the call is associated with. |
    | `tag` | str | Correlation tag for tracking related calls. Empty string if not set. |
    | `direction` | str | "inbound" or "outbound". |
    | `device` | dict | Device information: `type` (e.g. "phone") and `params` (from_number, to_number). |
    | `state` | str | created, ringing, answered, ending or ended. |
    | `segment_id` | str | Call segment identifier for tracking call legs. |

    Methods whose platform side relaybox has not built yet raise NotImplementedError (NOT_ON_PLATFORM).
    """

    def __init__(
        self,
        client: RelayClient,
        call_id: str,
        node_id: str,
        project_id: str,
        context: str,
        *,
        tag: str = "",
        direction: str = "",
        device: dict[str, Any] | None = None,
        state: str = "",
        segment_id: str = "",
    ) -> None:
        self._client = client
        self.call_id = call_id
        self.node_id = node_id
        self.project_id = project_id
        self.context = context
        self.tag = tag
        self.direction = direction
        self.device: dict[str, Any] = device or {}
        self.state = state
        self.segment_id = segment_id
        self.end_reason = ""
        self._listeners: dict[str, list[EventHandler]] = {}
        self._actions: dict[str, Action] = {}
        self._ended: asyncio.Future[RelayEvent] = asyncio.get_running_loop().create_future()

    def __repr__(self) -> str:
        return f"Call(call_id={self.call_id!r}, state={self.state!r}, direction={self.direction!r})"

    # -- plumbing --------------------------------------------------------------------------------------

    async def _execute(self, method: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"node_id": self.node_id, "call_id": self.call_id}
        if extra:
            params.update(extra)
        try:
            return await self._client.execute(f"calling.{method}", params)
        except RelayError as exc:
            if exc.code in (404, 410):  # the call is gone: a no-op
                log.warning("call %s gone during %s: %s", self.call_id, method, exc)
                return {}
            if exc.code == -32601:  # the server does not know the method
                raise MethodNotSupported(exc.code, f"calling.{method} is not supported by this server") from exc
            raise

    def on(self, event_type: str, handler: EventHandler) -> None:
        """Register HANDLER for EVENT_TYPE (e.g. "calling.call.play") on this call."""
        self._listeners.setdefault(event_type, []).append(handler)

    async def _dispatch_event(self, payload: dict[str, Any]) -> None:
        event = RelayEvent.from_payload(payload)
        if event.event_type == "calling.call.state":
            self.state = str(event.params.get("call_state", self.state))
            if event.params.get("end_reason"):
                self.end_reason = str(event.params["end_reason"])
            if self.state == "ended" and not self._ended.done():
                self._ended.set_result(event)
        cid = event.params.get("control_id")
        if cid and cid in self._actions:
            action = self._actions[cid]
            action._check_event(event)
            if action.completed:
                self._actions.pop(cid, None)
        for handler in list(self._listeners.get(event.event_type, ())):
            try:
                res = handler(event)
                if asyncio.iscoroutine(res):
                    self._client._spawn(res)
            except Exception:
                log.exception("call listener for %s failed", event.event_type)

    async def wait_for(
        self, event_type: str, predicate: Callable[[RelayEvent], bool] | None = None, timeout: float | None = None
    ) -> RelayEvent:
        """Wait for the next EVENT_TYPE event on this call (matching PREDICATE, if given)."""
        fut: asyncio.Future[RelayEvent] = asyncio.get_running_loop().create_future()

        def handler(event: RelayEvent) -> None:
            if not fut.done() and (predicate is None or predicate(event)):
                fut.set_result(event)

        self.on(event_type, handler)
        try:
            return await (asyncio.wait_for(fut, timeout) if timeout is not None else fut)
        finally:
            with contextlib.suppress(ValueError, KeyError):
                self._listeners[event_type].remove(handler)

    async def wait_for_ended(self, timeout: float | None = None) -> RelayEvent:
        """Wait for the call to reach the ended state."""
        shielded = asyncio.shield(self._ended)
        return await (asyncio.wait_for(shielded, timeout) if timeout is not None else shielded)

    async def _wait_for_state(self, target: str, timeout: float | None) -> RelayEvent:
        if self.state in STATES and STATES.index(self.state) >= STATES.index(target):
            return RelayEvent("calling.call.state", {"call_id": self.call_id, "call_state": self.state})
        return await self.wait_for(
            "calling.call.state",
            lambda e: e.params.get("call_state") in STATES[STATES.index(target) :],
            timeout,
        )

    async def wait_for_answered(self, timeout: float | None = None) -> RelayEvent:
        return await self._wait_for_state("answered", timeout)

    async def wait_for_ringing(self, timeout: float | None = None) -> RelayEvent:
        return await self._wait_for_state("ringing", timeout)

    async def wait_for_ending(self, timeout: float | None = None) -> RelayEvent:
        return await self._wait_for_state("ending", timeout)

    async def _start(
        self, action: _A, method: str, params: dict[str, Any], on_completed: Callable[[RelayEvent], Any] | None
    ) -> _A:
        if self.state == "ended":
            action._resolve(RelayEvent("", {}))
            return action
        action._on_completed = on_completed
        self._actions[action.control_id] = action
        try:
            result = await self._execute(method, params)
        except Exception as exc:
            self._actions.pop(action.control_id, None)
            action._fail(exc)
            raise
        if not result:  # the call is gone
            self._actions.pop(action.control_id, None)
            action._resolve(RelayEvent("", {}))
        return action

    @staticmethod
    def _cid(control_id: str | None) -> str:
        return control_id or str(uuid.uuid4())

    # -- lifecycle -------------------------------------------------------------------------------------

    async def answer(self, **kwargs: Any) -> dict[str, Any]:
        """Answer an inbound call (`calling.answer`)."""
        return await self._execute("answer", kwargs or None)

    async def hangup(self, reason: str = "hangup") -> dict[str, Any]:
        """End the call (`calling.end`)."""
        return await self._execute("end", {"reason": reason})

    async def pass_(self) -> dict[str, Any]:
        """Decline control of an inbound call and return it to routing (`calling.pass`)."""
        return await self._execute("pass")

    async def connect(
        self,
        devices: list[list[dict[str, Any]]],
        *,
        ringback: list[dict[str, Any]] | None = None,
        tag: str | None = None,
        max_duration: int | None = None,
        max_price_per_minute: float | None = None,
        status_url: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Bridge the call to one or more destinations (`calling.connect`; serial list of parallel lists)."""
        params: dict[str, Any] = {"devices": devices}
        if ringback:
            params["ringback"] = normalize_media(ringback)
        _given(
            params, tag=tag, max_duration=max_duration, max_price_per_minute=max_price_per_minute, status_url=status_url
        )
        params.update(kwargs)
        return await self._execute("connect", params)

    async def disconnect(self) -> dict[str, Any]:
        """Disconnect (unbridge) a connected call (`calling.disconnect`)."""
        return await self._execute("disconnect")

    # -- play ------------------------------------------------------------------------------------------

    async def play(
        self,
        media: list[dict[str, Any]],
        *,
        volume: float | None = None,
        direction: str | None = None,
        loop: int | None = None,
        control_id: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
        **kwargs: Any,
    ) -> PlayAction:
        """Play audio content (`calling.play`); returns a PlayAction (wait, stop, pause, resume, volume)."""
        cid = self._cid(control_id)
        play = normalize_media(media)
        params = _given({"control_id": cid, "play": play}, volume=volume, direction=direction, loop=loop)
        params.update(kwargs)
        return await self._start(PlayAction(self, cid), "play", params, on_completed)

    async def play_tts(
        self,
        text: str,
        *,
        language: str | None = None,
        gender: str | None = None,
        voice: str | None = None,
        volume: float | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
    ) -> PlayAction:
        return await self.play([_tts(text, language, gender, voice)], volume=volume, on_completed=on_completed)

    async def play_audio(
        self, url: str, *, volume: float | None = None, on_completed: Callable[[RelayEvent], Any] | None = None
    ) -> PlayAction:
        return await self.play([{"type": "audio", "params": {"url": url}}], volume=volume, on_completed=on_completed)

    async def play_silence(
        self, duration: float, *, on_completed: Callable[[RelayEvent], Any] | None = None
    ) -> PlayAction:
        return await self.play([{"type": "silence", "params": {"duration": duration}}], on_completed=on_completed)

    async def play_ringtone(
        self,
        name: str,
        *,
        duration: float | None = None,
        volume: float | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
    ) -> PlayAction:
        rt = _given({"name": name}, duration=duration)
        return await self.play([{"type": "ringtone", "params": rt}], volume=volume, on_completed=on_completed)

    # -- record, collect, detect -----------------------------------------------------------------------

    async def record(
        self,
        audio: dict[str, Any] | None = None,
        *,
        control_id: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
        **kwargs: Any,
    ) -> RecordAction:
        """Record audio from the call (`calling.record`); returns a RecordAction."""
        cid = self._cid(control_id)
        params: dict[str, Any] = {"control_id": cid, "record": {"audio": dict(audio or {})}, **kwargs}
        return await self._start(RecordAction(self, cid), "record", params, on_completed)

    async def play_and_collect(
        self,
        media: list[dict[str, Any]],
        collect: dict[str, Any],
        *,
        volume: float | None = None,
        control_id: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
        **kwargs: Any,
    ) -> CollectAction:
        """Play audio and collect DTMF or speech (`calling.play_and_collect`); returns a CollectAction."""
        cid = self._cid(control_id)
        params = _given({"control_id": cid, "play": normalize_media(media), "collect": collect}, volume=volume)
        params.update(kwargs)
        return await self._start(CollectAction(self, cid), "play_and_collect", params, on_completed)

    async def prompt_tts(
        self,
        text: str,
        collect: dict[str, Any],
        *,
        language: str | None = None,
        gender: str | None = None,
        voice: str | None = None,
        volume: float | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
    ) -> CollectAction:
        return await self.play_and_collect(
            [_tts(text, language, gender, voice)], collect, volume=volume, on_completed=on_completed
        )

    async def prompt_audio(
        self,
        url: str,
        collect: dict[str, Any],
        *,
        volume: float | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
    ) -> CollectAction:
        return await self.play_and_collect(
            [{"type": "audio", "params": {"url": url}}], collect, volume=volume, on_completed=on_completed
        )

    async def collect(
        self,
        *,
        digits: dict[str, Any] | None = None,
        speech: dict[str, Any] | None = None,
        initial_timeout: float | None = None,
        partial_results: bool | None = None,
        continuous: bool | None = None,
        send_start_of_input: bool | None = None,
        start_input_timers: bool | None = None,
        control_id: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
        **kwargs: Any,
    ) -> StandaloneCollectAction:
        """Collect DTMF or speech without playing media (`calling.collect`)."""
        cid = self._cid(control_id)
        params = _given(
            {"control_id": cid},
            digits=digits,
            speech=speech,
            initial_timeout=initial_timeout,
            partial_results=partial_results,
            continuous=continuous,
            send_start_of_input=send_start_of_input,
            start_input_timers=start_input_timers,
        )
        params.update(kwargs)
        return await self._start(StandaloneCollectAction(self, cid), "collect", params, on_completed)

    async def detect(
        self,
        detect: dict[str, Any],
        *,
        timeout: float | None = None,
        control_id: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
        **kwargs: Any,
    ) -> DetectAction:
        """Detect answering machines, fax tones or digits (`calling.detect`)."""
        cid = self._cid(control_id)
        params = _given({"control_id": cid, "detect": detect}, timeout=timeout)
        params.update(kwargs)
        return await self._start(DetectAction(self, cid), "detect", params, on_completed)

    async def detect_digit(
        self,
        *,
        digits: str | None = None,
        timeout: float | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
    ) -> DetectAction:
        p = _given({}, digits=digits)
        return await self.detect({"type": "digit", "params": p}, timeout=timeout, on_completed=on_completed)

    async def detect_answering_machine(
        self,
        *,
        initial_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        machine_voice_threshold: float | None = None,
        machine_words_threshold: int | None = None,
        detect_interruptions: bool | None = None,
        detect_message_end: bool | None = None,
        timeout: float | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
    ) -> DetectAction:
        p = _given(
            {},
            initial_timeout=initial_timeout,
            end_silence_timeout=end_silence_timeout,
            machine_voice_threshold=machine_voice_threshold,
            machine_words_threshold=machine_words_threshold,
            detect_interruptions=detect_interruptions,
            detect_message_end=detect_message_end,
        )
        return await self.detect({"type": "machine", "params": p}, timeout=timeout, on_completed=on_completed)

    async def detect_fax(
        self,
        *,
        tone: str | None = None,
        timeout: float | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
    ) -> DetectAction:
        p = _given({}, tone=tone)
        return await self.detect({"type": "fax", "params": p}, timeout=timeout, on_completed=on_completed)

    # -- digits, tap, fax ------------------------------------------------------------------------------

    async def send_digits(self, digits: str, *, control_id: str | None = None) -> dict[str, Any]:
        """Send DTMF digits (`calling.send_digits`)."""
        return await self._execute("send_digits", {"control_id": self._cid(control_id), "digits": digits})

    async def tap(
        self,
        tap: dict[str, Any],
        device: dict[str, Any],
        *,
        control_id: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
        **kwargs: Any,
    ) -> TapAction:
        """Stream call media to an RTP or WebSocket endpoint (`calling.tap`)."""
        cid = self._cid(control_id)
        params: dict[str, Any] = {"control_id": cid, "tap": tap, "device": device, **kwargs}
        return await self._start(TapAction(self, cid), "tap", params, on_completed)

    async def send_fax(
        self,
        document: str,
        *,
        identity: str | None = None,
        header_info: str | None = None,
        control_id: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
        **kwargs: Any,
    ) -> FaxAction:
        """Send a fax document (`calling.send_fax`)."""
        cid = self._cid(control_id)
        params = _given({"control_id": cid, "document": document}, identity=identity, header_info=header_info)
        params.update(kwargs)
        return await self._start(FaxAction(self, cid, "send_fax"), "send_fax", params, on_completed)

    async def receive_fax(
        self,
        *,
        control_id: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
        **kwargs: Any,
    ) -> FaxAction:
        """Receive a fax (`calling.receive_fax`)."""
        cid = self._cid(control_id)
        params: dict[str, Any] = {"control_id": cid, **kwargs}
        return await self._start(FaxAction(self, cid, "receive_fax"), "receive_fax", params, on_completed)

    # -- hold, refer -----------------------------------------------------------------------------------

    async def hold(self) -> dict[str, Any]:
        """Put the call on hold (`calling.hold`; the far end hears hold music, a `calling.call.hold` event)."""
        return await self._execute("hold")

    async def unhold(self) -> dict[str, Any]:
        """Resume a held call (`calling.unhold`)."""
        return await self._execute("unhold")

    async def refer(self, device: dict[str, Any], *, status_url: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Transfer a SIP call to an external endpoint via SIP REFER (`calling.refer`).

        | parameter | type | description |
        | --- | --- | --- |
        | `device` | dict | `{"type": "sip", "params": {"to": "sip:...", ...}}`: where to refer the call. |
        | `status_url` | str | optional: URL that receives the REFER progress. |

        Progress arrives as `calling.call.refer` events; a call that is not a SIP call is refused (RelayError 400).
        """
        params = _given({"device": device}, status_url=status_url)
        params.update(kwargs)
        return await self._execute("refer", params)

    # -- not on the platform yet -----------------------------------------------------------------------

    async def transfer(self, dest: str, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("transfer")

    async def ai(self, **kwargs: Any) -> Action:
        raise _not_on_platform("ai")

    async def amazon_bedrock(self, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("amazon_bedrock")

    async def ai_hold(self, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("ai_hold")

    async def ai_unhold(self, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("ai_unhold")

    async def ai_message(self, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("ai_message")

    async def denoise(self) -> dict[str, Any]:
        raise _not_on_platform("denoise")

    async def denoise_stop(self) -> dict[str, Any]:
        raise _not_on_platform("denoise_stop")

    async def echo(self, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("echo")

    async def bind_digit(self, digits: str, bind_method: str, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("bind_digit")

    async def clear_digit_bindings(self, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("clear_digit_bindings")

    async def user_event(self, event: str | None = None, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("user_event")

    async def stream(self, url: str, **kwargs: Any) -> Action:
        raise _not_on_platform("stream")

    async def pay(self, payment_connector_url: str, **kwargs: Any) -> Action:
        raise _not_on_platform("pay")

    async def transcribe(self, **kwargs: Any) -> Action:
        raise _not_on_platform("transcribe")

    async def live_transcribe(self, action: dict[str, Any]) -> dict[str, Any]:
        raise _not_on_platform("live_transcribe")

    async def live_translate(self, action: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("live_translate")

    async def join_conference(
        self, name: str, *, muted: bool | None = None, beep: str | None = None, start_on_enter: bool | None = None,
        end_on_exit: bool | None = None, wait_url: str | None = None, max_participants: int | None = None,
        record: str | None = None, region: str | None = None, trim: str | None = None, coach: str | None = None,
        status_callback: str | None = None, status_callback_event: str | None = None,
        status_callback_event_type: str | None = None, status_callback_method: str | None = None,
        recording_status_callback: str | None = None, recording_status_callback_event: str | None = None,
        recording_status_callback_event_type: str | None = None, recording_status_callback_method: str | None = None,
        stream_obj: dict[str, Any] | None = None, **kwargs: Any,
    ) -> dict[str, Any]:
        """Join the ad-hoc audio conference NAME (`calling.join_conference`); the result carries its
        `conference_id`, and `calling.conference` events (status `joined`/`left`/`ended`) follow.

        | parameter | type | description |
        |---|---|---|
        | name | str | the room; created by its first participant |
        | muted | bool | the others do not hear this call |
        | end_on_exit | bool | when this call leaves, everyone is taken out |
        | max_participants | int | 2..250 (default 250) |
        | beep | str | "true", "false", "onEnter", "onExit": when the others hear a beep |
        | start_on_enter | bool | (default True) the room starts with two participants, one with it |
        | wait_url | str | hold music (WAV/MP3 or SWML) until the room starts; default melody else |
        | coach | str | the call_id this call coaches (only that participant hears it) |
        | record, trim | str | "record-from-start"; "trim-silence" (default) or "do-not-trim" |
        | status_callback*, recording_status_callback* | str | cXML-style HTTP callbacks |
        | region | str | accepted, no effect (one host) |
        | stream_obj | dict | refused by relaybox (501) |
        """
        given = {"muted": muted, "beep": beep, "start_on_enter": start_on_enter, "end_on_exit": end_on_exit,
                 "wait_url": wait_url, "max_participants": max_participants, "record": record, "region": region,
                 "trim": trim, "coach": coach, "status_callback": status_callback,
                 "status_callback_event": status_callback_event,
                 "status_callback_event_type": status_callback_event_type,
                 "status_callback_method": status_callback_method,
                 "recording_status_callback": recording_status_callback,
                 "recording_status_callback_event": recording_status_callback_event,
                 "recording_status_callback_event_type": recording_status_callback_event_type,
                 "recording_status_callback_method": recording_status_callback_method, "stream": stream_obj}
        params: dict[str, Any] = {"name": name, **{k: v for k, v in given.items() if v is not None}, **kwargs}
        return await self._execute("join_conference", params)

    async def leave_conference(self, conference_id: str, **kwargs: Any) -> dict[str, Any]:
        """Leave the conference CONFERENCE_ID (`calling.leave_conference`)."""
        return await self._execute("leave_conference", {"conference_id": conference_id, **kwargs})

    async def join_room(self, name: str, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("join_room")

    async def leave_room(self, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("leave_room")

    async def queue_enter(self, queue_name: str, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("queue_enter")

    async def queue_leave(self, queue_name: str, **kwargs: Any) -> dict[str, Any]:
        raise _not_on_platform("queue_leave")
