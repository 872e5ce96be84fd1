"""The sandbox's side of messaging: what a virtual phone does with an SMS/MMS sent to it.

Set per number with `PUT /api/sandbox/phones/{number}` `{"messages": MODE}`:
- `deliver` (default): the message reaches the phone (sent, then delivered);
- `undeliverable`: the carrier takes it but the handset never gets it (sent, then undelivered);
- `fail`: the carrier refuses it (failed, never sent).
"""

from __future__ import annotations

from typing import Protocol

from relaybox.domain.messaging import OUTCOMES

DEFAULT_MODE = "deliver"


class ModeStore(Protocol):
    def save_phone_mode(self, number: str, mode: str) -> None: ...


class Handsets:
    """Implements the messaging domain's `Carrier` for the sandbox."""

    def __init__(self, store: ModeStore, modes: dict[str, str]) -> None:
        self.store = store
        self.modes = dict(modes)

    def mode_for(self, number: str) -> str:
        return self.modes.get(number, DEFAULT_MODE)

    @staticmethod
    def check(mode: object) -> str:
        """A valid mode, or ValueError with the reason a 400 gives."""
        if not isinstance(mode, str) or mode not in OUTCOMES:
            raise ValueError(f"'messages' must be one of {', '.join(repr(o) for o in OUTCOMES)}, got {mode!r}")
        return mode

    def set_mode(self, number: str, mode: object) -> str:
        mode = self.check(mode)
        self.modes[number] = mode
        self.store.save_phone_mode(number, mode)
        return mode

    def message_outcome(self, number: str) -> str:
        return self.mode_for(number)
