"""What Calling, Messaging and Tasking share: context registration and per-context handlers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import blade
from ._emitter import Handler

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("relaybox.relay")


async def receive_contexts(client: Client, contexts: list[str]) -> Any:
    """signalwire.receive for the contexts this connection does not receive yet (wire spec §3.8)."""
    new = [c for c in dict.fromkeys(contexts) if c not in client.contexts]
    if not new:
        return True
    assert client.protocol is not None, "the client is not connected"
    response = await client.execute(blade.execute(client.protocol, "signalwire.receive", {"contexts": new}))
    inner = response.get("result", {}) if isinstance(response, dict) else {}
    log.info("%s", inner.get("message", f"receiving {new}") if isinstance(inner, dict) else new)
    client.contexts = list(dict.fromkeys(client.contexts + new))
    return inner


class BaseRelay:
    service = ""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._receivers: dict[str, Handler] = {}
        self._state_handlers: dict[str, Handler] = {}

    async def receive(self, contexts: list[str], handler: Handler) -> None:
        """Receive inbound events of CONTEXTS and hand each to HANDLER (one handler per context)."""
        try:
            await receive_contexts(self.client, list(contexts))
            for context in contexts:
                self._receivers[context] = handler
        except Exception as error:
            log.error("receive error: %s", error)

    async def state_change(self, contexts: list[str], handler: Handler) -> None:
        """Hand state-change notifications of CONTEXTS to HANDLER."""
        try:
            await receive_contexts(self.client, list(contexts))
            for context in contexts:
                self._state_handlers[context] = handler
        except Exception as error:
            log.error("state_change error: %s", error)

    def _dispatch(self, table: dict[str, Handler], context: Any, arg: Any) -> bool:
        handler = table.get(context) if isinstance(context, str) else None
        if handler is None:
            return False
        from ._emitter import invoke

        invoke(handler, (arg,), self.client._tasks)
        return True
