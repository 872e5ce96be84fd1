"""Message: an SMS/MMS sent or received by a v4 RelayClient."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .event import RelayEvent, wait_done

log = logging.getLogger("relaybox.relay.v4")

TERMINAL_STATES = ("delivered", "undelivered", "failed")


class Message:
    """`message_id`, `context`, `direction`, `from_number`, `to_number`, `body`, `media`, `segments`,
    `state`, `reason`, `tags`; `on(handler)`, `await wait(timeout=None)`, `is_done`, `result`."""

    def __init__(
        self,
        message_id: str = "",
        context: str = "",
        direction: str = "",
        from_number: str = "",
        to_number: str = "",
        body: str = "",
        media: list[str] | None = None,
        segments: int = 0,
        state: str = "",
        reason: str = "",
        tags: list[str] | None = None,
    ) -> None:
        self.message_id = message_id
        self.context = context
        self.direction = direction
        self.from_number = from_number
        self.to_number = to_number
        self.body = body
        self.media: list[str] = media or []
        self.segments = segments
        self.state = state
        self.reason = reason
        self.tags: list[str] = tags or []
        self._done: asyncio.Future[RelayEvent] = asyncio.get_running_loop().create_future()
        self._on_completed: Callable[[RelayEvent], Any] | None = None
        self._listeners: list[Callable[[RelayEvent], Any]] = []

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> Message:
        return cls(
            message_id=str(p.get("message_id", "")),
            context=str(p.get("context", "")),
            direction=str(p.get("direction", "")),
            from_number=str(p.get("from_number", "")),
            to_number=str(p.get("to_number", "")),
            body=str(p.get("body") or ""),
            media=list(p.get("media") or []),
            segments=int(p.get("segments") or 0),
            state=str(p.get("message_state", "")),
            reason=str(p.get("reason") or ""),
            tags=list(p.get("tags") or []),
        )

    @property
    def id(self) -> str:
        return self.message_id

    @property
    def is_done(self) -> bool:
        return self._done.done()

    @property
    def result(self) -> RelayEvent | None:
        return self._done.result() if self._done.done() else None

    def on(self, handler: Callable[[RelayEvent], Any]) -> None:
        """Call HANDLER with every state event of this message."""
        self._listeners.append(handler)

    async def wait(self, timeout: float | None = None) -> RelayEvent:
        """Wait until the message is delivered, undelivered or failed; returns that event."""
        return await wait_done(self._done, timeout)

    async def _dispatch_event(self, payload: dict[str, Any]) -> None:
        event = RelayEvent.from_payload(payload)
        state = event.params.get("message_state")
        if state:
            self.state = str(state)
        if event.params.get("reason"):
            self.reason = str(event.params["reason"])
        for handler in list(self._listeners):
            try:
                res = handler(event)
                if asyncio.iscoroutine(res):
                    await res
            except Exception:
                log.exception("message listener failed")
        if self.state in TERMINAL_STATES and not self._done.done():
            self._done.set_result(event)
            if self._on_completed is not None:
                res = self._on_completed(event)
                if asyncio.iscoroutine(res):
                    await res

    def __repr__(self) -> str:
        return (
            f"Message(id={self.message_id!r}, direction={self.direction!r}, state={self.state!r}, "
            f"from={self.from_number!r}, to={self.to_number!r})"
        )
