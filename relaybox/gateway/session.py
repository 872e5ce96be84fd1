"""A client session: survives socket drops so a reconnecting client keeps its contexts and calls."""

from __future__ import annotations

import itertools
import secrets
from collections import OrderedDict, deque
from types import ModuleType
from typing import TYPE_CHECKING, Any

from relaybox.protocol import blade, flat
from relaybox.protocol.events import TASK_EVENT, Event

if TYPE_CHECKING:
    from relaybox.gateway.link import Link

MAX_BUFFERED = 2000  # events kept for a detached session (oldest dropped first)
MAX_UNACKED = 2000


class Session:
    """Implements the domain's `Subscriber`: events for it go out in its own dialect."""

    def __init__(
        self, *, dialect: ModuleType, project: str, protocol: str, sessionid: str, node_id: str, clock_ts: Any
    ) -> None:
        self.dialect = dialect
        self.project = project
        self.id = protocol
        self.sessionid = sessionid
        self.node_id = node_id
        self._timestamp = clock_ts
        self.link: Link | None = None
        self.buffer: deque[Event] = deque(maxlen=MAX_BUFFERED)
        self.unacked: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._ids = itertools.count(1)
        self._prefix = "ev-" + secrets.token_hex(4) + "-"
        self.expiry: Any = None  # timer handle while detached
        self.agent = ""  # the client's `agent` string (v4: tells realtime-api from the Python SDK)

    @property
    def online(self) -> bool:
        return self.link is not None

    def accepts(self, event_type: str) -> bool:
        """Tasks only go to clients that handle them: v2 and realtime-api (the v4 Python SDK drops them)."""
        return event_type != TASK_EVENT or self.dialect is blade or "realtime-api" in self.agent

    def deliver(self, event: Event) -> None:
        if self.link is None:
            self.buffer.append(event)
            return
        self.link.send(self.frame(event))

    def frame(self, event: Event) -> dict[str, Any]:
        event_id = f"{self._prefix}{next(self._ids)}"
        if self.dialect is flat:
            frame = flat.event_frame(event, event_id=event_id, timestamp=self._timestamp())
            self.unacked[event_id] = frame
            if len(self.unacked) > MAX_UNACKED:
                self.unacked.popitem(last=False)
            return frame
        return blade.event_frame(
            event,
            event_id=event_id,
            protocol=self.id,
            node_id=self.node_id,
            project_id=self.project,
            timestamp=self._timestamp(),
        )

    def acked(self, event_id: Any) -> None:
        if isinstance(event_id, str):
            self.unacked.pop(event_id, None)

    def attach(self, link: Link) -> None:
        """Bind a (new) socket; resend what the client never acknowledged, then what was buffered."""
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        self.link = link
        for frame in list(self.unacked.values()):
            link.send(frame)
        while self.buffer:
            link.send(self.frame(self.buffer.popleft()))

    def detach(self) -> None:
        self.link = None
