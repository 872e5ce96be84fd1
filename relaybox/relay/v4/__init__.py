"""The v4 RELAY client API (`RelayClient`, `Call`, Actions, `Message`, `RelayEvent`) over the flat dialect."""

from __future__ import annotations

from .call import (
    NOT_ON_PLATFORM,
    Action,
    Call,
    CollectAction,
    DetectAction,
    FaxAction,
    PlayAction,
    RecordAction,
    StandaloneCollectAction,
    TapAction,
)
from .client import RelayClient
from .event import MethodNotSupported, RelayError, RelayEvent
from .message import Message

__all__ = [
    "NOT_ON_PLATFORM",
    "Action",
    "Call",
    "CollectAction",
    "DetectAction",
    "FaxAction",
    "Message",
    "MethodNotSupported",
    "PlayAction",
    "RecordAction",
    "RelayClient",
    "RelayError",
    "RelayEvent",
    "StandaloneCollectAction",
    "TapAction",
]
