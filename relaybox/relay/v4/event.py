"""RelayEvent: one `signalwire.event` of the v4 dialect."""

from __future__ import annotations

import asyncio
from typing import Any


class RelayEvent:
    """An event: `event_type`, `params` (the event body), `timestamp`, and shortcuts to common fields."""

    def __init__(
        self, event_type: str, params: dict[str, Any] | None = None, call_id: str = "", timestamp: float | None = None
    ) -> None:
        # the argument order of the official signalwire-sdk RelayEvent (event_type, params, call_id, timestamp)
        self.event_type = event_type
        self.params: dict[str, Any] = params or {}
        self._call_id = call_id
        self.timestamp = timestamp if timestamp is not None else self.params.get("timestamp")

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> RelayEvent:
        params = payload.get("params")
        return cls(
            str(payload.get("event_type", "")),
            params if isinstance(params, dict) else {},
            timestamp=payload.get("timestamp"),
        )

    @property
    def call_id(self) -> str:
        return self._call_id or str(self.params.get("call_id", ""))

    @property
    def control_id(self) -> str:
        return str(self.params.get("control_id", ""))

    @property
    def state(self) -> str:
        return str(self.params.get("state", self.params.get("call_state", "")))

    def __repr__(self) -> str:
        return f"RelayEvent({self.event_type!r}, {self.params!r})"


async def wait_done(done: asyncio.Future[RelayEvent], timeout: float | None) -> RelayEvent:
    """The terminal event of DONE (an action's or a message's); a timeout leaves DONE itself pending."""
    if timeout is not None:
        return await asyncio.wait_for(asyncio.shield(done), timeout)
    return await done


class RelayError(Exception):
    """A failed v4 request: `code` and `message`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"RELAY error {code}: {message}")
        self.code = code
        self.message = message


class MethodNotSupported(RelayError, NotImplementedError):
    """The server answered "method not found" (-32601): it does not implement this RELAY method."""
