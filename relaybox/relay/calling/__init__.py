"""`Relay.Calling`: the API of the Calling Relay Service (dial, new_call) and the routing of call events."""

# ruff: noqa: E501  (the docstrings carry the documentation's parameter tables)

from __future__ import annotations

import logging
from typing import Any

from .._base import BaseRelay
from .actions import (
    ConnectAction,
    DetectAction,
    FaxAction,
    PlayAction,
    PromptAction,
    RecordAction,
    SendDigitsAction,
    TapAction,
)
from .call import Call
from .constants import ConnectState, DetectState, Notification
from .results import (
    AnswerResult,
    ConnectResult,
    DetectResult,
    DialResult,
    DisconnectResult,
    FaxResult,
    HangupResult,
    PlayPauseResult,
    PlayResult,
    PlayResumeResult,
    PlayVolumeResult,
    PromptResult,
    PromptVolumeResult,
    RecordResult,
    SendDigitsResult,
    StopResult,
    TapResult,
)

log = logging.getLogger("relaybox.relay")

_MEDIA_EVENTS = {
    Notification.PLAY: "play",
    Notification.RECORD: "record",
    Notification.SEND_DIGITS: "sendDigits",
    Notification.TAP: "tap",
}


class Calling(BaseRelay):
    """Relay.Calling: make outbound calls (`dial`, `new_call`); receives inbound calls for a Consumer."""

    service = "calling"

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.calls: list[Call] = []

    # -- public API ------------------------------------------------------------------------------------

    def new_call(
        self, *, call_type: str = "phone", from_number: str, to_number: str, timeout: int | float | None = None
    ) -> Call:
        """Create a new Call object (not started yet: attach listeners, then `await call.dial()`).

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `call_type` | string | optional | The type of call. Default to `phone` as it is the only supported for now. |
        | `from_number` | string | required | The party the call is coming from. Must be a SignalWire number or SIP endpoint that you own. |
        | `to_number` | string | required | The party you are attempting to call. |
        | `timeout` | number | optional | The time, in seconds, the call will ring before going to voicemail. |
        """
        call = Call(calling=self)
        call.call_type = call_type
        call.from_number = from_number
        call.to_number = to_number
        call.timeout = timeout
        call.direction = "outbound"
        return call

    async def dial(
        self, *, call_type: str = "phone", from_number: str, to_number: str, timeout: int | float | None = None
    ) -> DialResult:
        """Make an outbound Call and wait until it has been answered or hung up (parameters as `new_call`).

        Returns a `Relay.Calling.DialResult` (`successful`, `event`, `call`).
        """
        call = self.new_call(call_type=call_type, from_number=from_number, to_number=to_number, timeout=timeout)
        return await call.dial()

    # -- bookkeeping -----------------------------------------------------------------------------------

    def add_call(self, call: Call) -> None:
        if call not in self.calls:
            self.calls.append(call)

    def remove_call(self, call: Call) -> None:
        if call in self.calls:
            self.calls.remove(call)

    def _get_call_by_id(self, call_id: Any) -> Call | None:
        if call_id is None:
            return None
        return next((c for c in self.calls if c.id == call_id), None)

    def _get_call_by_tag(self, tag: Any) -> Call | None:
        if tag is None:
            return None
        return next((c for c in self.calls if c.tag == tag), None)

    # -- events ----------------------------------------------------------------------------------------

    def notification_handler(self, notification: dict[str, Any]) -> None:
        event_type = notification.get("event_type")
        params = notification.get("params")
        if not isinstance(params, dict) or not isinstance(event_type, str):
            return
        params = {**params, "event_type": event_type}
        if event_type == Notification.STATE:
            self._on_state(params)
        elif event_type == Notification.RECEIVE:
            self._on_receive(params)
        elif event_type == Notification.CONNECT:
            self._on_connect(params)
        else:
            self._on_component_event(event_type, params)

    def _on_state(self, params: dict[str, Any]) -> None:
        if "call_state" not in params:
            return
        call = self._get_call_by_id(params.get("call_id"))
        if call is None:
            call = self._get_call_by_tag(params.get("tag"))
            if call is not None and call.id is None:
                call.id = params.get("call_id")
                call.node_id = params.get("node_id")
        if call is None:
            if params.get("call_id") and "peer" in params:
                # a leg created by calling.connect
                call = Call(calling=self, **{k: v for k, v in params.items() if k != "call_state"})
            else:
                log.debug("state event for an unknown call %s", params.get("call_id"))
                return
        if params.get("node_id"):
            call.node_id = params["node_id"]
        call._route(Notification.STATE, params)
        call._state_changed(params)

    def _on_receive(self, params: dict[str, Any]) -> None:
        call = Call(calling=self, **params)
        if not self._dispatch(self._receivers, call.context, call):
            log.debug("inbound call for context %s without a handler", call.context)

    def _on_connect(self, params: dict[str, Any]) -> None:
        call = self._get_call_by_id(params.get("call_id"))
        if call is None:
            return
        state = params.get("connect_state")
        peer = params.get("peer")
        if state == ConnectState.CONNECTED and isinstance(peer, dict):
            found = self._get_call_by_id(peer.get("call_id"))
            if found is None and peer.get("call_id"):
                found = Call(calling=self, **peer)
            call.peer = found
        elif state is not None:
            call.peer = None
        call._route(Notification.CONNECT, params)
        call._emit("connect.stateChange", params)
        if state:
            call._emit(f"connect.{state}", params)

    def _on_component_event(self, event_type: str, params: dict[str, Any]) -> None:
        call = self._get_call_by_id(params.get("call_id"))
        if call is None:
            return
        call._route(event_type, params)
        if event_type in _MEDIA_EVENTS:
            prefix = _MEDIA_EVENTS[event_type]
            call._emit(f"{prefix}.stateChange", params)
            if params.get("state"):
                call._emit(f"{prefix}.{params['state']}", params)
        elif event_type == Notification.COLLECT:
            call._emit("prompt", params)
        elif event_type == Notification.FAX:
            call._emit("fax.stateChange", params)
            fax = params.get("fax")
            if isinstance(fax, dict) and fax.get("type"):
                call._emit(f"fax.{fax['type']}", params)
        elif event_type == Notification.DETECT:
            detect = params.get("detect")
            if isinstance(detect, dict) and isinstance(detect.get("params"), dict):
                event = detect["params"].get("event")
                suffix = event if event in (DetectState.FINISHED, DetectState.ERROR) else "update"
                call._emit(f"detect.{suffix}", detect)


__all__ = [
    "AnswerResult",
    "Call",
    "Calling",
    "ConnectAction",
    "ConnectResult",
    "DetectAction",
    "DetectResult",
    "DialResult",
    "DisconnectResult",
    "FaxAction",
    "FaxResult",
    "HangupResult",
    "PlayAction",
    "PlayPauseResult",
    "PlayResult",
    "PlayResumeResult",
    "PlayVolumeResult",
    "PromptAction",
    "PromptResult",
    "PromptVolumeResult",
    "RecordAction",
    "RecordResult",
    "SendDigitsAction",
    "SendDigitsResult",
    "StopResult",
    "TapAction",
    "TapResult",
]
