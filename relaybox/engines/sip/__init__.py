"""Real SIP calls: asyncio UDP/TCP transports over the sans-I/O `relaybox.sip` stack, SIP legs whose
media is `relaybox.media`, and the network dispatcher that picks SIP or the sandbox for a dial."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relaybox.engines.sip.engine import SipEngine
from relaybox.engines.sip.leg import SipLeg, Target

if TYPE_CHECKING:
    from relaybox.domain.calls import Call
    from relaybox.domain.legs import Leg, LegListener, Network

__all__ = ["RoutingNetwork", "SipEngine", "SipLeg", "Target"]


class RoutingNetwork:
    """The `Network` Calling uses: registered SIP users, trunk hosts and trunk-routed numbers go to the
    SIP engine; everything else (unregistered sip: URIs included) to the sandbox's virtual phones."""

    def __init__(self, sip: SipEngine | None, sandbox: Network) -> None:
        self.sip = sip
        self.sandbox = sandbox

    def place(self, call: Call, listener: LegListener) -> Leg:
        if self.sip is not None and self.sip.loop is not None:
            target = self.sip.route(call.device)
            if target is not None:
                return self.sip.place(call, listener, target)
        return self.sandbox.place(call, listener)

    def __getattr__(self, name: str) -> Any:  # the sandbox's extras (originate, calls, ...) stay reachable
        return getattr(self.sandbox, name)
