"""`Relay.Consumer`: a long-running process that handles calls, messages and tasks of its contexts."""

from __future__ import annotations

import logging
from typing import Any

from ._emitter import invoke
from .client import Client

log = logging.getLogger("relaybox.relay")


class Consumer:
    """Relay.Consumer.

    Set `project`, `token` and `contexts` (and optionally `host`) in `setup()`, or pass them as keyword
    arguments; then override the handlers you need and call `run()`.

    | property | type | description |
    | --- | --- | --- |
    | `client` | Relay.Client | The underlying Relay client object. |

    Handlers (plain functions or coroutines): `ready()`, `on_incoming_call(call)`, `on_task(message)`,
    `on_incoming_message(message)`, `on_message_state_change(message)`; `teardown()` runs on shutdown.
    SIGTERM (and SIGINT/SIGHUP) shut the consumer down gracefully: the socket closes, `teardown()` runs and
    `run()` returns.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.project: str | None = kwargs.pop("project", None)
        self.token: str | None = kwargs.pop("token", None)
        self.host: str | None = kwargs.pop("host", None)
        self.contexts: list[str] = list(kwargs.pop("contexts", []) or [])
        self.client: Client | None = None

    def setup(self) -> None:
        """Set project, token, contexts (and any one-off initialisation) here."""

    def ready(self) -> Any:
        """Executed once the consumer is connected to Relay and the session has been established."""

    def teardown(self) -> Any:
        """Executed during the shutdown procedure."""

    def on_incoming_call(self, call: Any) -> Any:
        """Executed with the inbound Call of one of the consumer's contexts."""

    def on_task(self, message: Any) -> Any:
        """Executed with the message of a Relay.Task sent to one of the consumer's contexts."""

    def on_incoming_message(self, message: Any) -> Any:
        """Executed with an inbound SMS/MMS (Relay.Messaging.Message)."""

    def on_message_state_change(self, message: Any) -> Any:
        """Executed when the state of a message sent on one of the consumer's contexts changes."""

    def check_requirements(self) -> None:
        if not self.project or not self.token or not self.contexts:
            raise Exception("project, token and contexts instance attributes are required!")

    def _build_client(self) -> Client:
        assert self.project is not None and self.token is not None
        return Client(project=self.project, token=self.token, host=self.host)

    def run(self) -> None:
        """Set up, connect and handle events until shut down (SIGTERM), then call `teardown()`."""
        self.setup()
        self.check_requirements()
        self.client = self._build_client()
        self.client.on("ready", self._client_ready)
        try:
            self.client.connect()
        finally:
            result = self.teardown()
            if result is not None and hasattr(result, "__await__"):
                self.client.loop.run_until_complete(result)

    async def _client_ready(self, client: Client) -> None:
        await client.calling.receive(self.contexts, self.on_incoming_call)
        await client.tasking.receive(self.contexts, self.on_task)
        await client.messaging.receive(self.contexts, self.on_incoming_message)
        await client.messaging.state_change(self.contexts, self.on_message_state_change)
        invoke(self.ready, (), client._tasks)
