"""The domain's front door: one table of command handlers, whatever service owns them."""

from __future__ import annotations

import logging
from typing import Any

from relaybox.domain.calling import Calling, Handler
from relaybox.domain.errors import RelayError, UnknownMethod
from relaybox.domain.routing import Router, Subscriber

log = logging.getLogger("relaybox.domain")


class Platform:
    def __init__(self, router: Router, calling: Calling) -> None:
        self.router = router
        self.calling = calling
        self.handlers: dict[str, Handler] = {**calling.handlers()}

    def execute(self, sub: Subscriber, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run a command; domain failures come back as a RELAY `{code, message}` payload."""
        handler = self.handlers.get(method)
        if handler is None:
            raise UnknownMethod(method)
        try:
            return handler(sub, params)
        except RelayError as exc:
            log.info("%s from %s refused: %s %s", method, sub.id, exc.code, exc.message)
            return exc.payload()

    def session_offline(self, sub_id: str) -> None:
        self.calling.subscriber_offline(sub_id)

    def session_gone(self, sub_id: str) -> None:
        self.calling.subscriber_gone(sub_id)
        self.router.unregister(sub_id)

    def session_resumed(self, old_id: str, new_id: str) -> int:
        """A client came back under a new session: its calls follow it."""
        return self.calling.adopt(old_id, new_id)
