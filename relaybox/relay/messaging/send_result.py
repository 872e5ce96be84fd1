"""`Relay.Messaging.SendResult` (also importable from relaybox.relay.messaging)."""

from . import SendResult

__all__ = ["SendResult"]
