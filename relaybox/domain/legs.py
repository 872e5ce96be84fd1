"""What the domain needs from an engine (sandbox phones, SIP dialogs, devices), and what it offers back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from relaybox.domain.calls import Call


class LegListener(Protocol):
    """Implemented by the domain; engines report what the far end did."""

    def leg_ringing(self, call: Call) -> None: ...

    def leg_answered(self, call: Call) -> None: ...

    def leg_ended(self, call: Call, reason: str, detail: str | None = None) -> None: ...


class Leg(Protocol):
    """The far end of a call, implemented by an engine."""

    def answer(self) -> None:
        """The platform answered the (inbound) call."""

    def hangup(self, reason: str, detail: str | None = None) -> None:
        """The platform ended the call (it will not report `leg_ended` back)."""


class Network(Protocol):
    """Places outbound legs: resolves a device to an engine and starts the far end."""

    def place(self, call: Call, listener: LegListener) -> Leg: ...


class CallHistory(Protocol):
    def call_created(self, call: Call) -> None: ...

    def call_changed(self, call: Call) -> None: ...


class NumberDirectory(Protocol):
    def context_for(self, number: str) -> str | None: ...
