"""The call leg and its state machine: created -> ringing -> answered -> ending -> ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relaybox.clock import Timer
    from relaybox.domain.legs import Leg


class CallState(StrEnum):
    CREATED = "created"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDING = "ending"
    ENDED = "ended"


# End reasons the SDKs document (v2 and v4).
END_REASONS = frozenset(
    {"hangup", "cancel", "busy", "noAnswer", "decline", "error", "abandoned", "max_duration", "not_found"}
)

_NEXT: dict[CallState, frozenset[CallState]] = {
    CallState.CREATED: frozenset({CallState.RINGING, CallState.ANSWERED, CallState.ENDING}),
    CallState.RINGING: frozenset({CallState.ANSWERED, CallState.ENDING}),
    CallState.ANSWERED: frozenset({CallState.ENDING}),
    CallState.ENDING: frozenset({CallState.ENDED}),
    CallState.ENDED: frozenset(),
}


class InvalidTransition(Exception):
    pass


def can_advance(current: CallState, new: CallState) -> bool:
    return new in _NEXT[current]


@dataclass(eq=False, slots=True)
class Call:
    call_id: str
    node_id: str
    project: str
    direction: str  # "inbound" | "outbound" (from the platform's point of view)
    device: dict[str, Any]
    context: str
    tag: str = ""
    created_by: str | None = None  # "dial" for legs the platform placed for a client
    state: CallState = CallState.CREATED
    end_reason: str | None = None
    owner: str | None = None  # the subscriber (session protocol) that controls the call
    acted: bool = False  # the owner sent a command for it: it is no longer offered elsewhere
    offered: bool = False  # it reached at least one consumer
    passed_by: set[str] = field(default_factory=set)
    peer: dict[str, Any] | None = None
    max_duration: float | None = None
    created_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None
    leg: Leg | None = None
    timer: Timer | None = None
    waiters: list[Any] = field(default_factory=list)  # objects with .changed(call), e.g. a dial group

    @property
    def from_(self) -> str:
        params = self.device.get("params", {})
        return str(params.get("from_number") or params.get("from") or "")

    @property
    def to(self) -> str:
        params = self.device.get("params", {})
        return str(params.get("to_number") or params.get("to") or "")

    @property
    def is_over(self) -> bool:
        return self.state in (CallState.ENDING, CallState.ENDED)

    def advance(self, new: CallState, now: float, end_reason: str | None = None) -> None:
        if not can_advance(self.state, new):
            raise InvalidTransition(f"call {self.call_id}: {self.state} -> {new}")
        self.state = new
        if new is CallState.ANSWERED:
            self.answered_at = now
        elif new is CallState.ENDING:
            self.end_reason = end_reason or self.end_reason or "hangup"
        elif new is CallState.ENDED:
            self.ended_at = now
            self.end_reason = end_reason or self.end_reason or "hangup"

    def state_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "call_state": self.state.value,
            "direction": self.direction,
            "device": self.device,
            "call_id": self.call_id,
            "node_id": self.node_id,
            "segment_id": self.call_id,
        }
        if self.tag:
            params["tag"] = self.tag
        if self.created_by:
            params["created_by"] = self.created_by
        if self.peer:
            params["peer"] = self.peer
        if self.state in (CallState.ENDING, CallState.ENDED):
            params["end_reason"] = self.end_reason or "hangup"
        return params

    def receive_params(self) -> dict[str, Any]:
        return {
            "call_state": CallState.CREATED.value,
            "context": self.context,
            "direction": self.direction,
            "device": self.device,
            "call_id": self.call_id,
            "node_id": self.node_id,
            "segment_id": self.call_id,
            "project_id": self.project,
            "tag": self.tag,
        }

    def info(self) -> dict[str, Any]:
        """The call as `calling.call.dial` and `peer` objects describe it (realtime-api adopts it whole)."""
        return {
            "call_id": self.call_id,
            "node_id": self.node_id,
            "tag": self.tag,
            "device": self.device,
            "call_state": self.state.value,
            "direction": self.direction,
            "segment_id": self.call_id,
            "context": self.context,
        }
