"""Device-to-device calls (full duplex): the state machine, free of sockets and of user experience.

Each party has a `CallSide` that turns call progress into what the user hears (the built-in calling
experience) or into workflow events (a call workflow). The service only moves the state and keeps the
ring time-out on the platform clock.

    placing --start--> ringing --answer--> connected --hangup--> ended
       |                  |  (reject, cancel, time-out)            ^
       +--fail------------+----------------------------------------+
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from relaybox.clock import Clock, Timer
from relaybox.devices.model import Device

log = logging.getLogger("relaybox.devices")

RING_SECONDS = 60.0  # an unanswered device call rings this long (platform clock)


class CallState(enum.Enum):
    PLACING = "placing"  # the callee's side is being set up (e.g. its call workflow is connecting)
    RINGING = "ringing"
    CONNECTED = "connected"
    ENDED = "ended"


class CallSide(Protocol):
    """One party's view of call progress."""

    def call_received(self, call: DeviceCall) -> None: ...  # callee: an incoming call
    def call_ringing(self, call: DeviceCall) -> None: ...  # caller: the far end rings
    def call_connected(self, call: DeviceCall) -> None: ...
    def call_ended(self, call: DeviceCall) -> None: ...  # disconnected (was connected) or failed


class CallError(Exception):
    """A request that does not fit the call's state (the workflow gets it as an error response)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(eq=False)
class DeviceCall:
    call_id: str
    caller: Device
    callee_label: str  # what the caller asked for ("Bob"), even when no such device exists
    caller_side: CallSide
    start_time: float
    callee: Device | None = None
    callee_side: CallSide | None = None
    state: CallState = CallState.PLACING
    connect_time: float | None = None
    end_time: float | None = None
    end_reason: str | None = None  # hangup | rejected | cancelled | no_answer | unavailable | error
    ended_by: str | None = None
    timer: Timer | None = field(default=None, repr=False)

    @property
    def was_connected(self) -> bool:
        return self.connect_time is not None

    @property
    def missed(self) -> bool:
        """The callee rang and nobody answered or rejected: the caller gave up or it timed out."""
        return not self.was_connected and self.end_reason in ("cancelled", "no_answer") and self.callee is not None

    def side_of(self, device: Device) -> CallSide | None:
        if device is self.caller:
            return self.caller_side
        if device is self.callee:
            return self.callee_side
        return None

    def other(self, device: Device) -> Device | None:
        return self.callee if device is self.caller else self.caller


class DeviceCalls:
    """All device calls; every transition goes through here."""

    def __init__(self, clock: Clock, ring_seconds: float = RING_SECONDS) -> None:
        self.clock = clock
        self.ring_seconds = ring_seconds
        self.calls: dict[str, DeviceCall] = {}

    def get(self, call_id: str) -> DeviceCall | None:
        return self.calls.get(call_id)

    def place(self, caller: Device, callee_label: str, caller_side: CallSide) -> DeviceCall:
        """A new call in PLACING: the caller is busy from now on; `start` or `fail` follows."""
        if caller.call_id is not None:
            raise CallError("device_busy")
        call = DeviceCall("dc-" + uuid.uuid4().hex[:16], caller, callee_label, caller_side, self.clock.now())
        caller.call_id = call.call_id
        self.calls[call.call_id] = call
        log.info("device call %s: %s -> %s placing", call.call_id, caller.name, callee_label)
        return call

    def start(self, call: DeviceCall, callee: Device, callee_side: CallSide) -> None:
        """The callee rings (or, for a busy/offline callee, the call fails as unavailable)."""
        if call.state is not CallState.PLACING:
            return
        if not callee.online or callee.call_id is not None or callee is call.caller:
            self.fail(call, "unavailable")
            return
        call.callee, call.callee_side = callee, callee_side
        callee.call_id = call.call_id
        call.state = CallState.RINGING
        call.timer = self.clock.call_later(self.ring_seconds, lambda: self._ring_timeout(call))
        log.info("device call %s: ringing %s", call.call_id, callee.name)
        callee_side.call_received(call)
        call.caller_side.call_ringing(call)

    def answer(self, call: DeviceCall, device: Device) -> None:
        if device is not call.callee:
            raise CallError("not_the_callee")
        if call.state is not CallState.RINGING:
            raise CallError("call_not_ringing")
        self._cancel_timer(call)
        call.state = CallState.CONNECTED
        call.connect_time = self.clock.now()
        log.info("device call %s: connected", call.call_id)
        assert call.callee_side is not None
        call.callee_side.call_connected(call)
        call.caller_side.call_connected(call)

    def hangup(self, call: DeviceCall, device: Device, reason: str | None = None) -> None:
        """Either party ends the call: a hang-up when connected, a reject (callee) or cancel (caller) before."""
        if device is not call.caller and device is not call.callee:
            raise CallError("not_a_party")
        if call.state is CallState.ENDED:
            raise CallError("call_ended")
        if reason is None:
            if call.state is CallState.CONNECTED:
                reason = "hangup"
            else:
                reason = "rejected" if device is call.callee else "cancelled"
        self._end(call, reason, device.name)

    def fail(self, call: DeviceCall, reason: str) -> None:
        if call.state is not CallState.ENDED:
            self._end(call, reason, None)

    def end_all(self, reason: str = "hangup") -> int:
        calls = list(self.calls.values())
        for call in calls:
            self.fail(call, reason)
        return len(calls)

    def _ring_timeout(self, call: DeviceCall) -> None:
        call.timer = None
        if call.state is CallState.RINGING:
            self._end(call, "no_answer", None)

    def _cancel_timer(self, call: DeviceCall) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def _end(self, call: DeviceCall, reason: str, by: str | None) -> None:
        self._cancel_timer(call)
        call.state = CallState.ENDED
        call.end_time = self.clock.now()
        call.end_reason, call.ended_by = reason, by
        self.calls.pop(call.call_id, None)
        for device in (call.caller, call.callee):
            if device is not None and device.call_id == call.call_id:
                device.call_id = None
        log.info("device call %s: ended (%s%s)", call.call_id, reason, f" by {by}" if by else "")
        if call.callee_side is not None:
            call.callee_side.call_ended(call)
        call.caller_side.call_ended(call)
