"""A domain event as both dialects carry it: the RELAY event type and its inner params.

The inner bodies (`calling.call.*`, `messaging.*`) are the same in v2 and v4; only the envelope
differs, and that is each dialect's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TASK_EVENT = "relay.task"  # a delivered task: `params` is {"context", "message"}


@dataclass(slots=True)
class Event:
    event_type: str
    params: dict[str, Any]
    context: str | None = None  # repeated at the envelope level where a dialect wants it
