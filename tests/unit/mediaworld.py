"""A calls domain with the media actions on a ManualClock, for tests/unit/test_actions_*.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from relaybox.clock import ManualClock
from relaybox.domain.actions import MediaService
from relaybox.domain.calling import Calling
from relaybox.domain.calls import Call
from relaybox.domain.platform import Platform
from relaybox.domain.routing import Router
from relaybox.engines.sandbox import PhoneCall, VirtualNetwork
from relaybox.protocol.events import Event

PROJECT = "p"
CALLER, OFFICE, BOB, CAROL = "+15551110000", "+15552220000", "+15553330000", "+15554440000"


@dataclass(eq=False)
class Sub:
    id: str
    project: str = PROJECT
    online: bool = True
    got: list[Event] = field(default_factory=list)

    def deliver(self, event: Event) -> None:
        self.got.append(event)

    def accepts(self, event_type: str) -> bool:
        return True

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return [e.params for e in self.got if event_type is None or e.event_type == event_type]

    def of(self, control_id: str) -> list[dict[str, Any]]:
        return [e.params for e in self.got if e.params.get("control_id") == control_id]

    def kinds(self) -> list[str]:
        """Event types with their state, in order: 'play:playing', 'state:ended', ..."""
        out = []
        for e in self.got:
            p = e.params
            kind = e.event_type.removeprefix("calling.call.")
            val = (
                p.get("state")
                or p.get("call_state")
                or p.get("connect_state")
                or (p.get("result") or {}).get("type")
                or (p.get("detect") or {}).get("params", {}).get("event")
            )
            out.append(f"{kind}:{val}")
        return out


class Numbers:
    def context_for(self, number: str) -> str | None:
        return None


class History:
    def call_created(self, call: Call) -> None:
        pass

    def call_changed(self, call: Call) -> None:
        pass


@dataclass
class World:
    clock: ManualClock
    router: Router
    network: VirtualNetwork
    calling: Calling
    platform: Platform
    media: MediaService
    sub: Sub
    durations: dict[str, float]

    async def answered_call(self, script: list[dict[str, Any]] | None = None) -> tuple[PhoneCall, str]:
        """A virtual phone calls in with SCRIPT (run after the answer); the subscriber answers it."""
        phone = self.network.originate(
            project=PROJECT,
            from_=CALLER,
            to=OFFICE,
            script=[{"wait_for": "answer"}, *(script or [])],
            context="office",
        )
        await self.clock.advance(0)
        assert phone.call is not None
        call_id = phone.call.call_id
        assert self.execute("calling.answer", {"call_id": call_id})["code"] == "200"
        await self.clock.advance(0)
        return phone, call_id

    def execute(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.platform.execute(self.sub, method, {"node_id": "node-1", **params})

    async def run(self, seconds: float = 0) -> None:
        await self.clock.advance(seconds)


def heard(phone: PhoneCall) -> list[dict[str, Any]]:
    """What the phone heard after it was answered."""
    answered = next(i for i, e in enumerate(phone.transcript) if e.get("saw") == "answer")
    return [e["heard"] for e in phone.transcript[answered:] if "heard" in e]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    clock = ManualClock()
    router = Router()
    network = VirtualNetwork(clock, Numbers(), {})
    calling = Calling(clock=clock, router=router, network=network, history=History(), node_id="node-1")
    network.calling = calling
    durations: dict[str, float] = {}

    async def probe(url: str) -> float:
        if url in durations:
            return durations[url]
        raise ValueError("not found")

    media = MediaService(calling, probe=probe)
    platform = Platform(router, calling)
    platform.handlers.update(media.handlers())
    sub = Sub("app")
    router.register(sub)
    router.subscribe(sub, ["office"])
    w = World(clock, router, network, calling, platform, media, sub, durations)
    yield w
    calling.end_all("hangup", "test over")
    for task in list(calling._tasks) + list(media._tasks):
        task.cancel()
    await network.close()
    await asyncio.sleep(0)
