"""What Calling, Messaging and Tasking share: context registration and per-context handlers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import blade
from ._emitter import Handler

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("relaybox.relay")


async def relay_execute(client: Client, method: str, params: dict[str, Any]) -> Any:
    """Send the RELAY command METHOD as a blade.execute of the client's protocol; the response (RelayError)."""
    assert client.protocol is not None, "the client is not connected"
    return await client.execute(blade.execute(client.protocol, method, params))


def inner_result(response: Any) -> dict[str, Any]:
    """The command's own result (`result.result`) in a blade.execute response, {} if it has none."""
    inner = response.get("result", {}) if isinstance(response, dict) else {}
    return inner if isinstance(inner, dict) else {}


async def receive_contexts(client: Client, contexts: list[str]) -> Any:
    """signalwire.receive for the contexts this connection does not receive yet (wire spec §3.8)."""
    new = [c for c in dict.fromkeys(contexts) if c not in client.contexts]
    if not new:
        return True
    response = await relay_execute(client, "signalwire.receive", {"contexts": new})
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
        await self._subscribe("receive", self._receivers, contexts, handler)

    async def state_change(self, contexts: list[str], handler: Handler) -> None:
        """Hand state-change notifications of CONTEXTS to HANDLER."""
        await self._subscribe("state_change", self._state_handlers, contexts, handler)

    async def _subscribe(self, what: str, table: dict[str, Handler], contexts: list[str], handler: Handler) -> None:
        try:
            await receive_contexts(self.client, list(contexts))
            for context in contexts:
                table[context] = handler
        except Exception as error:
            log.error("%s error: %s", what, error)

    def _dispatch(self, table: dict[str, Handler], context: Any, arg: Any) -> bool:
        handler = table.get(context) if isinstance(context, str) else None
        if handler is None:
            return False
        from ._emitter import invoke

        invoke(handler, (arg,), self.client._tasks)
        return True
