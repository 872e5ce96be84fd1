"""Connect (bridge) a call to new legs, disconnect, hold/unhold (SIP REFER is in refer.py).

Connect tries serial groups of devices rung in parallel. The new legs' state events carry `peer`
and go out before `calling.call.connect` `connected` on the originating call (Py links the peer
only if it already knows that leg). While it tries, the caller hears the ringback media (or the
network's ringback). A peer hanging up sends `disconnected`; the originating call ending first
sends its connect's final event, then ends the peer.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from relaybox.domain.actions.base import CallMedia, MediaService, ok
from relaybox.domain.actions.media import normalize_media
from relaybox.domain.actions.play import Player
from relaybox.domain.calls import Call, CallState
from relaybox.domain.devices import normalize_groups
from relaybox.domain.errors import RelayError, bad_request
from relaybox.domain.routing import Subscriber


def peer_of(call: Call) -> dict[str, Any]:
    return {"call_id": call.call_id, "node_id": call.node_id, "tag": call.tag, "device": call.device}


class Bridge:
    """One `calling.connect` of a call, from `connecting` to `failed` or `disconnected`."""

    def __init__(
        self, service: MediaService, media: CallMedia, sub: Subscriber, groups: list[list[dict[str, Any]]],
        ringback: list[dict[str, Any]] | None, tag: str,
    ) -> None:
        self.service = service
        self.media = media
        self.call = media.call
        self.sub = sub
        self.groups = groups
        self.tag = tag
        self.state = "connecting"
        self.index = -1
        self.trying: list[Call] = []
        self.peer: Call | None = None
        self.ringback = Player(media, ringback, loop=0) if ringback else None

    def emit(self, state: str, peer: Call | None = None) -> None:
        params: dict[str, Any] = {"connect_state": state}
        if peer is not None:
            params["peer"] = peer_of(peer)
        self.service.emit(self.call, "calling.call.connect", params)

    def begin(self) -> None:
        if self.state != "connecting":
            return
        self.emit("connecting")
        if self.ringback is not None:
            self.ringback.start()
        else:
            self.media.hear({"type": "ringback"})
        self._next_group()

    def _next_group(self) -> None:
        self.index += 1
        if self.index >= len(self.groups):
            self._failed()
            return
        peer = {"call_id": self.call.call_id, "node_id": self.call.node_id}
        self.trying = []
        for device in self.groups[self.index]:
            leg = self.service.calling.place_leg(self.sub, device, tag=self.tag, peer=peer)
            leg.waiters.append(self)
            self.trying.append(leg)
            if self.state != "connecting":  # the leg failed at once and the connect is over
                return

    def changed(self, leg: Call) -> None:
        """A leg's state changed (Call.waiters)."""
        if self.state == "connecting" and leg in self.trying:
            if leg.state is CallState.ANSWERED:
                self._connected(leg)
            elif all(other.state is CallState.ENDED for other in self.trying):
                self._next_group()
        elif self.state == "connected" and leg is self.peer and leg.state is CallState.ENDED:
            self._disconnected(end_peer=False)

    def _stop_ringback(self) -> None:
        if self.ringback is not None:
            self.ringback.stop()

    def _connected(self, winner: Call) -> None:
        self.state = "connected"
        self.peer = winner
        self._stop_ringback()
        for other in self.trying:
            if other is not winner:
                self.service.calling.end_call(other, "cancel", "another device answered the connect")
        self.call.peer = peer_of(winner)
        bridge_to = getattr(self.call.leg, "bridge_to", None)  # real-audio legs hear each other
        if bridge_to is not None:
            bridge_to(winner.leg)
        self.media.hear({"type": "connected", "to": winner.to})
        self.emit("connected", winner)

    def _failed(self) -> None:
        self.state = "failed"
        self._stop_ringback()
        self.media.bridge = None
        self.emit("failed")

    def _disconnected(self, *, end_peer: bool) -> None:
        peer = self.peer
        self.state = "disconnected"
        self.call.peer = None
        unbridge = getattr(self.call.leg, "unbridge", None)
        if unbridge is not None:
            unbridge()
        self.media.bridge = None
        if peer is not None:
            peer.peer = None
        self.emit("disconnected", peer)
        if end_peer and peer is not None and not peer.is_over:
            self.service.calling.end_call(peer, "hangup", "the connected call ended")

    def disconnect(self) -> None:
        """`calling.disconnect`: unbridge; the peer leg stays up for the application."""
        if self.state == "connecting":
            for leg in self.trying:
                if self in leg.waiters:
                    leg.waiters.remove(self)
                self.service.calling.end_call(leg, "cancel", "the connect was cancelled")
            self._stop_ringback()
            self.peer = None
        if self.state in ("connecting", "connected"):
            self._disconnected(end_peer=False)

    def call_ending(self) -> None:
        """The originating call is ending: final connect event first, then the other legs go."""
        if self.state == "connecting":
            self.state = "failed"
            self._stop_ringback()
            self.emit("failed")
            for leg in self.trying:
                self.service.calling.end_call(leg, "cancel", "the connecting call ended")
        elif self.state == "connected":
            self._disconnected(end_peer=True)


def handlers(service: MediaService) -> dict[str, Any]:
    def connect(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        call = service.calling.command_target(sub, params)
        if call.state is not CallState.ANSWERED:
            raise RelayError("409", "Only an answered call can be connected")
        defaults: dict[str, Any] = {}
        if call.from_.startswith("+"):
            defaults["from_number"] = call.from_
        if call.device.get("params", {}).get("timeout"):
            defaults["timeout"] = call.device["params"]["timeout"]
        groups = normalize_groups(params.get("devices"), defaults)
        ringback = params.get("ringback")
        items = normalize_media(ringback, "ringback") if ringback else None
        tag = params.get("tag") or str(uuid.uuid4())
        if not isinstance(tag, str):
            raise bad_request("'tag' must be a string")
        media = service.media_for(call)
        if media.bridge is not None:
            raise RelayError("409", "The call is already connecting or connected")
        bridge = Bridge(service, media, sub, groups, items, tag)
        media.bridge = bridge
        asyncio.get_running_loop().call_soon(bridge.begin)
        return ok("Connecting", call_id=call.call_id, tag=tag)

    def disconnect(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        call = service.calling.command_target(sub, params)
        media = service.media_for(call)
        bridge = media.bridge
        if bridge is None:
            raise bad_request("The call is not connected")
        asyncio.get_running_loop().call_soon(bridge.disconnect)
        return ok("Disconnecting", call_id=call.call_id)

    def hold(state: str, message: str) -> Any:
        def handler(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
            call = service.calling.command_target(sub, params)
            media = service.media_for(call)

            def run() -> None:
                if not call.is_over:
                    media.hear({"type": state})
                    service.emit(call, "calling.call.hold", {"state": state})

            asyncio.get_running_loop().call_soon(run)
            return ok(message, call_id=call.call_id)

        return handler

    return {
        "calling.connect": connect,
        "calling.disconnect": disconnect,
        "calling.hold": hold("hold", "Call on hold"),
        "calling.unhold": hold("unhold", "Call off hold"),
    }
