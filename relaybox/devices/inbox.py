"""Device inboxes: the text messages workflows send to devices (`sms` requests to a device or group URN).

A delivered message is unread until the device plays its inbox (`play_inbox_messages`); `inbox_count`
counts the unread ones. The sending instance gets `wf_api_sms_event`s with the `message_id` as `id` and
`event` `sent`, then `delivered` (at least one online device got it) or `failed`; an instance whose
interaction the receiving device is on gets `received`.
"""

from __future__ import annotations

from dataclasses import dataclass

from relaybox.devices.model import Device


@dataclass(eq=False)
class Message:
    id: str
    sender: str
    text: str
    kind: str


class Inboxes:
    def __init__(self) -> None:
        self._unread: dict[str, list[Message]] = {}  # device id -> messages, oldest first

    def deliver(self, message: Message, devices: list[Device]) -> list[Device]:
        """Put `message` in the inbox of every online device; the devices that got it."""
        got = [d for d in devices if d.online]
        for device in got:
            self._unread.setdefault(device.id, []).append(message)
            device.tone("message")
            device.note(message={"id": message.id, "from": message.sender, "text": message.text})
        return got

    def unread(self, device: Device) -> list[Message]:
        return list(self._unread.get(device.id, []))

    def take_unread(self, device: Device) -> list[Message]:
        """The unread messages, now read."""
        return self._unread.pop(device.id, [])

    def forget_device(self, device: Device) -> None:
        self._unread.pop(device.id, None)
