"""`Relay.Tasking`: receives the jobs sent with `Relay.Task` to the client's contexts."""

from __future__ import annotations

import logging
from typing import Any

from .._base import BaseRelay

log = logging.getLogger("relaybox.relay")


class Tasking(BaseRelay):
    service = "tasking"

    def notification_handler(self, notification: dict[str, Any]) -> None:
        context = notification.get("context")
        log.info("task received in context %s", context)
        self._dispatch(self._receivers, context, notification.get("message"))


__all__ = ["Tasking"]
