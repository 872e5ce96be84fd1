"""relaybox's own RELAY SDKs.

* v2 (Blade dialect), with the module layout of the documented `signalwire` 2.x Python SDK:
  `relaybox.relay.client.Client`, `relaybox.relay.consumer.Consumer`, `relaybox.relay.task.Task`,
  `relaybox.relay.calling` (Calling, Call, actions, results), `relaybox.relay.messaging`, `relaybox.relay.event`.
* v4 (flat dialect): `relaybox.relay.RelayClient`, the `RelayClient`/`Call` API of the v4 Python SDK.

Both talk to any RELAY server: relaybox (`ws://127.0.0.1:8080`) or the vendor's cloud.
"""

from __future__ import annotations

from .client import Client
from .consumer import Consumer
from .event import Event
from .task import Task
from .v4 import Call as RelayCall
from .v4 import RelayClient, RelayError, RelayEvent

__all__ = ["Client", "Consumer", "Event", "RelayCall", "RelayClient", "RelayError", "RelayEvent", "Task"]
