"""`Relay.Messaging.Message` (also importable from relaybox.relay.messaging)."""

from . import Message

__all__ = ["Message"]
