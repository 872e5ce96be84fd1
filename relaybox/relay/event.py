"""`Relay.Event`: the last RELAY event that completed an operation."""

from __future__ import annotations

from typing import Any


class Event:
    """The last Relay event that completed an operation on the Call.

    | property | type | description |
    | --- | --- | --- |
    | `name` | string | The event name. |
    | `payload` | dict | Raw JSON object of the Relay event. |
    """

    def __init__(self, name: str, payload: dict[str, Any]) -> None:
        self.name = name
        self.payload = payload

    def __repr__(self) -> str:
        return f"Event(name={self.name!r}, payload={self.payload!r})"
