"""Components: one running RELAY operation on a call (a command plus the events that complete it).

Actions and Results are views on a component. Every component is registered on its Call, which routes the
call's events to it (by `control_id` for media operations) and terminates it when the call ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from .._base import inner_result, relay_execute
from ..event import Event
from .constants import (
    CallFaxState,
    CallPlayState,
    CallRecordState,
    CallSendDigitsState,
    CallState,
    CallTapState,
    ConnectState,
    DetectState,
    DetectType,
    Method,
    Notification,
    PromptState,
)
from .helpers import (
    prepare_collect_params,
    prepare_connect_devices,
    prepare_media_list,
    prepare_record_params,
    prepare_tap_params,
)

if TYPE_CHECKING:
    from .call import Call

log = logging.getLogger("relaybox.relay")


class BaseComponent:
    event_type: str = ""
    method: str | None = None
    #: True when events are matched by control_id (media operations), False for call-level ones
    by_control_id = True

    def __init__(self, call: Call) -> None:
        self.call = call
        self.control_id = str(uuid4())
        self.state = ""
        self.completed = False
        self.successful = False
        self.event: Event | None = None
        self._future: asyncio.Future[bool] | None = None
        self._execute_result: dict[str, Any] | None = None
        self._events_to_await: tuple[str, ...] = ()

    # -- to override -----------------------------------------------------------------------------------

    @property
    def payload(self) -> dict[str, Any] | None:
        return None

    def notification_handler(self, params: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- plumbing --------------------------------------------------------------------------------------

    def _call_params(self) -> dict[str, Any]:
        return {"node_id": self.call.node_id, "call_id": self.call.id}

    def _base_params(self) -> dict[str, Any]:
        return {**self._call_params(), "control_id": self.control_id}

    def register(self) -> None:
        self.call._register_component(self)

    def unregister(self) -> None:
        self.call._unregister_component(self)

    async def execute(self) -> dict[str, Any] | None:
        """Send the command (if any); the inner `result.result` of the response, None on failure."""
        if self.call.ended:
            self.terminate()
            return None
        self.register()
        if self.method is None:
            return None
        client = self.call.calling.client
        try:
            self._execute_result = inner_result(await relay_execute(client, self.method, self.payload or {}))
            return self._execute_result
        except Exception as error:
            log.error("Relay command %s failed: %s", self.method, error)
            self.terminate()
            return None

    async def wait_for(self, *events: str) -> None:
        self._events_to_await = events
        self._future = asyncio.get_running_loop().create_future()
        await self.execute()
        try:
            await self._future
        except asyncio.CancelledError:
            if not self.completed:
                raise

    def _complete(self, successful: bool, event: Event | None) -> None:
        self.unregister()
        self.completed = True
        self.successful = successful
        self.event = event
        if self._future is not None and not self._future.done():
            self._future.set_result(True)

    def terminate(self, params: dict[str, Any] | None = None) -> None:
        """The call ended (or the command failed): finish as unsuccessful."""
        self.unregister()
        self.completed = True
        self.successful = False
        self.state = "failed"
        if params and "call_state" in params:
            self.event = Event(params["call_state"], params)
        if self._future is not None and not self._future.done():
            self._future.set_result(False)

    async def _control(self, suffix: str, extra: dict[str, Any] | None = None) -> bool:
        """calling.<method>.<suffix> (stop, pause, resume, volume): True unless the server said no."""
        params = self._base_params()
        if extra:
            params.update(extra)
        try:
            await relay_execute(self.call.calling.client, f"{self.method}.{suffix}", params)
            return True
        except Exception as error:
            log.error("%s.%s failed: %s", self.method, suffix, error)
            return False

    async def stop(self) -> bool:
        return await self._control("stop")

    async def pause(self) -> bool:
        return await self._control("pause")

    async def resume(self) -> bool:
        return await self._control("resume")

    async def volume(self, volume: float) -> bool:
        return await self._control("volume", {"volume": float(volume)})


class _EndsOnState(BaseComponent):
    """Completes on the first `state_key` state of its events that is not `running` (any state if None),
    successfully if that state is `success`."""

    state_key = "state"
    running: str | None = None
    success = ""

    def _finishing(self, params: dict[str, Any]) -> None:
        """Take what the final event carries (before completing)."""

    def notification_handler(self, params: dict[str, Any]) -> None:
        state = params.get(self.state_key)
        if state is None:
            return
        self.state = state
        if state != self.running:
            self._finishing(params)
            self._complete(state == self.success, Event(state, params))


# -- call-level components (matched by the call, not by control_id) ------------------------------------


class _StateComponent(BaseComponent):
    event_type = Notification.STATE
    by_control_id = False

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.control_id = call.tag

    def _successful_for(self, state: str) -> bool:
        return True

    def notification_handler(self, params: dict[str, Any]) -> None:
        state = params.get("call_state")
        if state is None:
            return
        self.state = state
        if state in self._events_to_await:
            self._complete(self._successful_for(state), Event(state, params))


class Awaiter(_StateComponent):
    """Waits for call states (wait_for)."""

    method = None


class Dial(_StateComponent):
    method = Method.BEGIN

    @property
    def payload(self) -> dict[str, Any]:
        return {"tag": self.call.tag, "device": self.call.device}

    def _successful_for(self, state: str) -> bool:
        return state == CallState.ANSWERED

    async def execute(self) -> dict[str, Any] | None:
        self.call.calling.add_call(self.call)
        return await super().execute()


class Answer(_StateComponent):
    method = Method.ANSWER

    @property
    def payload(self) -> dict[str, Any]:
        return self._call_params()


class Hangup(_StateComponent):
    method = Method.END

    def __init__(self, call: Call, reason: str = "hangup") -> None:
        super().__init__(call)
        self.reason = reason

    @property
    def payload(self) -> dict[str, Any]:
        return {**self._call_params(), "reason": self.reason}

    def _successful_for(self, state: str) -> bool:
        return state == CallState.ENDED

    def notification_handler(self, params: dict[str, Any]) -> None:
        if params.get("call_state") in self._events_to_await and "end_reason" in params:
            self.reason = params["end_reason"]
        super().notification_handler(params)


class Connect(_EndsOnState):
    event_type = Notification.CONNECT
    method = Method.CONNECT
    by_control_id = False
    state_key = "connect_state"
    running = ConnectState.CONNECTING
    success = ConnectState.CONNECTED

    def __init__(self, call: Call, devices: list[Any], ringback: list[dict[str, Any]] | None = None) -> None:
        super().__init__(call)
        self.control_id = call.tag
        self.devices = prepare_connect_devices(devices, call.from_number, call.timeout)
        self.ringback = prepare_media_list(ringback or [])

    @property
    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self._call_params(), "devices": self.devices}
        if self.ringback:
            out["ringback"] = self.ringback
        return out


class Disconnect(Connect):
    method = Method.DISCONNECT
    success = ConnectState.DISCONNECTED

    def __init__(self, call: Call) -> None:
        super().__init__(call, [])

    @property
    def payload(self) -> dict[str, Any]:
        return self._call_params()


# -- media components (matched by control_id) ----------------------------------------------------------


class Play(_EndsOnState):
    event_type = Notification.PLAY
    method = Method.PLAY
    running = CallPlayState.PLAYING
    success = CallPlayState.FINISHED

    def __init__(self, call: Call, media_list: list[dict[str, Any]], volume: float = 0) -> None:
        super().__init__(call)
        self.play = prepare_media_list(media_list)
        self.volume_value = float(volume or 0)

    @property
    def payload(self) -> dict[str, Any]:
        out = {**self._base_params(), "play": self.play}
        if self.volume_value != 0:
            out["volume"] = self.volume_value
        return out


class Prompt(BaseComponent):
    event_type = Notification.COLLECT
    method = Method.PLAY_AND_COLLECT

    def __init__(
        self,
        call: Call,
        prompt_type: str,
        media_list: list[dict[str, Any]],
        volume: float | None = None,
        **collect: Any,
    ) -> None:
        super().__init__(call)
        self.collect = prepare_collect_params(prompt_type, **collect)
        self.play = prepare_media_list(media_list)
        self.volume_value = volume
        self.prompt_type = prompt_type
        self.confidence: float | None = None
        self.input: str | None = None
        self.terminator: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        out = {**self._base_params(), "play": self.play, "collect": self.collect}
        if self.volume_value is not None:
            out["volume"] = float(self.volume_value)
        return out

    def notification_handler(self, params: dict[str, Any]) -> None:
        result = params.get("result")
        if not isinstance(result, dict):
            return
        kind = result.get("type", PromptState.ERROR)
        rparams = result.get("params") or {}
        successful = kind in (PromptState.DIGIT, PromptState.SPEECH)
        if kind == PromptState.SPEECH:
            self.input = rparams.get("text")
            self.confidence = rparams.get("confidence")
        elif kind == PromptState.DIGIT:
            self.input = rparams.get("digits")
            self.terminator = rparams.get("terminator")
        self.state = "successful" if successful else kind
        self.prompt_type = kind
        self._complete(successful, Event(kind, result))


class Record(_EndsOnState):
    event_type = Notification.RECORD
    method = Method.RECORD
    running = CallRecordState.RECORDING
    success = CallRecordState.FINISHED

    def __init__(self, call: Call, record: dict[str, Any]) -> None:
        super().__init__(call)
        self.url: str = ""
        self.duration: float = 0
        self.size: int = 0
        self.record = record

    @property
    def payload(self) -> dict[str, Any]:
        return {**self._base_params(), "record": self.record}

    def _finishing(self, params: dict[str, Any]) -> None:
        self.url = params.get("url", self.url or "")
        self.duration = params.get("duration", 0)
        self.size = params.get("size", 0)

    @staticmethod
    def params(**kwargs: Any) -> dict[str, Any]:
        return prepare_record_params(**kwargs)


class Detect(BaseComponent):
    event_type = Notification.DETECT
    method = Method.DETECT

    def __init__(
        self,
        call: Call,
        detect_type: str,
        wait_for_beep: bool = False,
        timeout: float | None = None,
        **detector: Any,
    ) -> None:
        """`detector`: the detector parameters of `Call.detect` (those left None are not sent)."""
        super().__init__(call)
        self.detect_type = detect_type
        params = {key: value for key, value in detector.items() if value is not None}
        self.detect = {"type": detect_type, "params": params}
        self.timeout = timeout
        self._wait_for_beep = wait_for_beep
        self._waiting_for_ready = False
        self.result: str | None = None
        self._results: list[str] = []

    @property
    def payload(self) -> dict[str, Any]:
        out = {**self._base_params(), "detect": self.detect}
        if self.timeout:
            out["timeout"] = self.timeout
        return out

    def notification_handler(self, params: dict[str, Any]) -> None:
        detect = params.get("detect")
        if not isinstance(detect, dict) or not isinstance(detect.get("params"), dict):
            return
        event = detect["params"].get("event")
        if event is None:
            return
        self.detect_type = detect.get("type", self.detect_type)
        self.state = event
        blocking = self._future is not None
        if event in (DetectState.FINISHED, DetectState.ERROR):
            if blocking:
                self.result = event
                self._complete(False, Event(event, detect))
            else:
                self.result = ",".join(self._results)
                self._complete(event != DetectState.ERROR, Event(event, detect))
            return
        if not blocking:
            self._results.append(event)
            return
        if self.detect_type == DetectType.DIGIT:
            self.result = event
            self._complete(True, Event(event, detect))
        elif self._waiting_for_ready:
            if event == DetectState.READY:
                self.result = DetectState.MACHINE
                self._complete(True, Event(event, detect))
        elif self._wait_for_beep and event == DetectState.MACHINE:
            self._waiting_for_ready = True
        elif event in self._events_to_await:
            self.result = DetectState.MACHINE if event in (DetectState.READY, DetectState.NOT_READY) else event
            self._complete(True, Event(event, detect))


class _Fax(BaseComponent):
    event_type = Notification.FAX

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.direction: str | None = None
        self.identity: str | None = None
        self.remote_identity: str | None = None
        self.document: str | None = None
        self.pages: int | None = None

    def notification_handler(self, params: dict[str, Any]) -> None:
        fax = params.get("fax")
        if not isinstance(fax, dict) or "type" not in fax:
            return
        self.state = fax["type"]
        if self.state == CallFaxState.PAGE:
            return
        fparams = fax.get("params") or {}
        successful = bool(fparams.get("success", False))
        if successful:
            self.direction = fparams.get("direction")
            self.identity = fparams.get("identity")
            self.remote_identity = fparams.get("remote_identity")
            self.document = fparams.get("document")
            self.pages = fparams.get("pages")
        self._complete(successful, Event(self.state, fax))


class FaxReceive(_Fax):
    method = Method.RECEIVE_FAX

    @property
    def payload(self) -> dict[str, Any]:
        return self._base_params()


class FaxSend(_Fax):
    method = Method.SEND_FAX

    def __init__(self, call: Call, document: str, identity: str | None = None, header: str | None = None) -> None:
        super().__init__(call)
        self._document = document
        self._identity = identity
        self._header = header

    @property
    def payload(self) -> dict[str, Any]:
        out = {**self._base_params(), "document": self._document}
        if self._identity:
            out["identity"] = self._identity
        if self._header is not None:
            out["header_info"] = self._header
        return out


class SendDigits(_EndsOnState):
    event_type = Notification.SEND_DIGITS
    method = Method.SEND_DIGITS
    success = CallSendDigitsState.FINISHED

    def __init__(self, call: Call, digits: str) -> None:
        super().__init__(call)
        self.digits = digits

    @property
    def payload(self) -> dict[str, Any]:
        return {**self._base_params(), "digits": self.digits}


class Tap(BaseComponent):
    event_type = Notification.TAP
    method = Method.TAP

    def __init__(self, call: Call, **kwargs: Any) -> None:
        super().__init__(call)
        self.tap, self.device = prepare_tap_params(**kwargs)

    @property
    def payload(self) -> dict[str, Any]:
        return {**self._base_params(), "tap": self.tap, "device": self.device}

    @property
    def source_device(self) -> dict[str, Any]:
        value = (self._execute_result or {}).get("source_device")
        return value if isinstance(value, dict) else {}

    def notification_handler(self, params: dict[str, Any]) -> None:
        state = params.get("state")
        if state is None:
            return
        self.state = state
        if isinstance(params.get("tap"), dict):
            self.tap = params["tap"]
        if isinstance(params.get("device"), dict):
            self.device = params["device"]
        if state == CallTapState.FINISHED:
            self._complete(True, Event(state, params))


DETECT_FINAL = (DetectState.MACHINE, DetectState.HUMAN, DetectState.UNKNOWN, DetectState.CED, DetectState.CNG)
PROMPT_FINAL = (
    PromptState.ERROR,
    PromptState.NO_INPUT,
    PromptState.NO_MATCH,
    PromptState.DIGIT,
    PromptState.SPEECH,
)
CONNECT_FINAL = (ConnectState.FAILED, ConnectState.DISCONNECTED, ConnectState.CONNECTED)
PLAY_FINAL = (CallPlayState.ERROR, CallPlayState.FINISHED)
