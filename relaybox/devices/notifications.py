"""Workflow notifications on devices: broadcast, notify, alert, cancel, and the user's acknowledgement.

A `notification` request puts a notice on every targeted device: it plays a notification tone and
announces the text. Broadcasts and notifies are announced once, alerts again every 30 s (platform clock)
until acknowledged or cancelled. A single Talk tap acknowledges the oldest notice on the device; the
workflow that sent it then gets `wf_api_notification_event` with `event: "ack_event"`, the notice's
`name`, its `notification_state` (device URNs per state) and `source_uri` (the acknowledging device).
A notice nobody acknowledged within `TIMEOUT_SECONDS` (platform clock) times out on that device: it stops
repeating, the device moves to `timed_out` and the workflow gets `event: "timeout_event"` for it. The spec
lists the `timed_out` state but gives no duration: 5 minutes is relaybox's choice (ten alert repeats).
Devices that are offline when it is sent time out at once (same event) and never hear it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Protocol

from relaybox.clock import Clock, Timer
from relaybox.devices.model import Device
from relaybox.protocol.workflow import device_name_urn

REPEAT_SECONDS = 30.0
TIMEOUT_SECONDS = 300.0
KINDS = ("broadcast", "alert", "notify")


class NoticeOwner(Protocol):
    """The workflow instance that sent a notice (it gets the acknowledgement events)."""

    def emit(self, kind: str, /, **fields: Any) -> None: ...


@dataclass(eq=False)
class Notice:
    owner: NoticeOwner
    kind: str
    name: str
    text: str
    originator: str | None
    created: list[Device] = field(default_factory=list)
    acknowledged: list[Device] = field(default_factory=list)
    cancelled: list[Device] = field(default_factory=list)
    timed_out: list[Device] = field(default_factory=list)

    def state(self) -> dict[str, list[str]]:
        def urns(devices: list[Device]) -> list[str]:
            return [device_name_urn(d.name) for d in devices]

        return {"created": urns(self.created), "acknowledged": urns(self.acknowledged),
                "cancelled": urns(self.cancelled), "timed_out": urns(self.timed_out)}


class Notices:
    """Pending notices per device, oldest first, and the alert repeat timers."""

    def __init__(self, clock: Clock, every: float = REPEAT_SECONDS, timeout: float = TIMEOUT_SECONDS) -> None:
        self.clock = clock
        self.every = every
        self.timeout = timeout
        self._pending: dict[str, list[Notice]] = {}  # device id -> notices
        self._timers: dict[tuple[int, str], Timer] = {}
        self._expiry: dict[tuple[int, str], Timer] = {}

    def pending(self, device: Device) -> list[Notice]:
        return list(self._pending.get(device.id, []))

    def send(self, owner: NoticeOwner, kind: str, name: str, text: str, originator: str | None,
             devices: list[Device]) -> Notice:
        # a notice of the same name from the same workflow replaces the one still pending
        self.cancel(owner, name, devices, quiet=True)
        notice = Notice(owner, kind, name, text, originator)
        offline = [d for d in devices if not d.online]
        for device in devices:
            if not device.online:
                notice.timed_out.append(device)
                continue
            notice.created.append(device)
            self._pending.setdefault(device.id, []).append(notice)
            device.note(notification=kind, name=name)
            device.tone("notification")
            device.say(text)
            if kind == "alert":
                self._repeat(notice, device)
            self._expiry[(id(notice), device.id)] = self.clock.call_later(
                self.timeout, functools.partial(self._time_out, notice, device))
        for device in offline:
            self._tell(notice, "timeout_event", device)
        return notice

    def _tell(self, notice: Notice, event: str, device: Device) -> None:
        notice.owner.emit("notification", event=event, name=notice.name, notification_state=notice.state(),
                          source_uri=device_name_urn(device.name))

    def _time_out(self, notice: Notice, device: Device) -> None:
        self._expiry.pop((id(notice), device.id), None)
        queue = self._pending.get(device.id, [])
        if notice not in queue:
            return
        queue.remove(notice)
        if not queue:
            self._pending.pop(device.id, None)
        self._stop_timer(notice, device)
        notice.timed_out.append(device)
        device.note(notification="timed_out", name=notice.name)
        self._tell(notice, "timeout_event", device)

    def ack(self, device: Device) -> bool:
        """A Talk tap: acknowledge the oldest notice; True when there was one."""
        queue = self._pending.get(device.id)
        if not queue:
            return False
        notice = queue.pop(0)
        if not queue:
            del self._pending[device.id]
        self._stop_timer(notice, device)
        notice.acknowledged.append(device)
        device.note(notification="acknowledged", name=notice.name)
        device.tone("acknowledged")
        self._tell(notice, "ack_event", device)
        return True

    def cancel(self, owner: NoticeOwner, name: str, devices: list[Device], quiet: bool = False) -> int:
        """Withdraw `owner`'s notices called `name` from `devices`; how many were pending."""
        count = 0
        for device in devices:
            queue = self._pending.get(device.id, [])
            for notice in [n for n in queue if n.owner is owner and n.name == name]:
                queue.remove(notice)
                self._stop_timer(notice, device)
                notice.cancelled.append(device)
                if not quiet:
                    device.note(notification="cancelled", name=name)
                count += 1
            if not queue:
                self._pending.pop(device.id, None)
        return count

    def forget_device(self, device: Device) -> None:
        for notice in self._pending.pop(device.id, []):
            self._stop_timer(notice, device)

    def close(self) -> None:
        for timer in (*self._timers.values(), *self._expiry.values()):
            timer.cancel()
        self._timers.clear()
        self._expiry.clear()

    def _repeat(self, notice: Notice, device: Device) -> None:
        def again() -> None:
            self._timers.pop((id(notice), device.id), None)
            if notice in self._pending.get(device.id, []) and device.online:
                device.say(notice.text)
            if notice in self._pending.get(device.id, []):
                self._repeat(notice, device)

        self._timers[(id(notice), device.id)] = self.clock.call_later(self.every, again)

    def _stop_timer(self, notice: Notice, device: Device) -> None:
        """Stop the repeats (and, unless it is what fires, the time-out) of `notice` on `device`."""
        for timers in (self._timers, self._expiry):
            timer = timers.pop((id(notice), device.id), None)
            if timer is not None:
                timer.cancel()
