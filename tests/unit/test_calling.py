"""The calls domain on a ManualClock with the sandbox's virtual phones as far ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from relaybox.clock import ManualClock
from relaybox.domain.calling import Calling
from relaybox.domain.calls import Call, CallState
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

    def receives(self) -> list[str]:
        return [p["call_id"] for p in self.events("calling.call.receive")]

    def states(self, call_id: str | None = None) -> list[str]:
        return [
            p["call_state"] for p in self.events("calling.call.state") if call_id is None or p["call_id"] == call_id
        ]

    def timeline(self) -> list[tuple[str, str]]:
        out = []
        for e in self.got:
            if e.event_type == "calling.call.state":
                out.append(("state", e.params["call_state"]))
            elif e.event_type == "calling.call.dial":
                out.append(("dial", e.params["dial_state"]))
            else:
                out.append((e.event_type, ""))
        return out


class Numbers:
    def __init__(self) -> None:
        self.contexts: dict[str, str] = {}

    def context_for(self, number: str) -> str | None:
        return self.contexts.get(number)


class History:
    def __init__(self) -> None:
        self.created: list[str] = []
        self.changed: list[tuple[str, str, str | None]] = []

    def call_created(self, call: Call) -> None:
        self.created.append(call.call_id)

    def call_changed(self, call: Call) -> None:
        self.changed.append((call.call_id, call.state.value, call.end_reason))


@dataclass
class World:
    clock: ManualClock
    router: Router
    network: VirtualNetwork
    calling: Calling
    platform: Platform
    numbers: Numbers
    history: History

    def sub(self, sub_id: str, *contexts: str) -> Sub:
        sub = Sub(sub_id)
        self.router.register(sub)
        if contexts:
            self.router.subscribe(sub, list(contexts))
        return sub

    def call_in(self, context: str | None = "office", script: list[dict[str, Any]] | None = None,
                to: str = OFFICE) -> PhoneCall:
        return self.network.originate(project=PROJECT, from_=CALLER, to=to, script=script or [], context=context)

    def execute(self, sub: Sub, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.platform.execute(sub, method, params)

    async def settle(self) -> None:
        await self.clock.advance(0)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    clock = ManualClock()
    router = Router()
    numbers = Numbers()
    network = VirtualNetwork(clock, numbers, {})
    history = History()
    calling = Calling(clock=clock, router=router, network=network, history=history, node_id="node-1")
    network.calling = calling
    w = World(clock, router, network, calling, Platform(router, calling), numbers, history)
    yield w
    calling.end_all("hangup", "test over")
    for task in list(calling._tasks):
        task.cancel()
    await network.close()
    await asyncio.sleep(0)


def phone(to: str, **extra: Any) -> dict[str, Any]:
    return {"type": "phone", "params": {"from_number": OFFICE, "to_number": to, **extra}}


def ended_reason(sub: Sub, call_id: str) -> str | None:
    for p in sub.events("calling.call.state"):
        if p["call_id"] == call_id and p["call_state"] == "ended":
            return str(p["end_reason"])
    return None


# ---------------------------------------------------------------------------------------------- inbound


async def test_inbound_call_is_offered_to_exactly_one_subscriber(world: World) -> None:
    a, b = world.sub("a", "office"), world.sub("b", "office")
    phone_call = world.call_in()
    await world.settle()
    assert phone_call.call is not None
    assert len(a.receives()) + len(b.receives()) == 1
    offered = a if a.receives() else b
    receive = offered.events("calling.call.receive")[0]
    assert receive["call_id"] == phone_call.call.call_id
    assert receive["context"] == "office"
    assert receive["direction"] == "inbound"
    assert receive["device"]["params"] == {"from_number": CALLER, "to_number": OFFICE}
    assert offered.got[0].context == "office"
    assert phone_call.call.state is CallState.RINGING
    assert world.history.created == [phone_call.call.call_id]


async def test_round_robin_over_several_calls(world: World) -> None:
    a, b = world.sub("a", "office"), world.sub("b", "office")
    calls = [world.call_in() for _ in range(6)]
    await world.settle()
    assert len(a.receives()) == 3 and len(b.receives()) == 3
    owners = ["a" if c.call and c.call.call_id in a.receives() else "b" for c in calls]
    assert owners in (["a", "b"] * 3, ["b", "a"] * 3)


async def test_only_subscribers_of_the_context_are_offered(world: World) -> None:
    a, b = world.sub("a", "office"), world.sub("b", "home")
    for _ in range(3):
        world.call_in("office")
    await world.settle()
    assert len(a.receives()) == 3
    assert b.receives() == []


async def test_number_routing_and_default_context(world: World) -> None:
    world.numbers.contexts[OFFICE] = "sales"
    sales, default = world.sub("s", "sales"), world.sub("d", "default")
    world.call_in(context=None, to=OFFICE)
    world.call_in(context=None, to=BOB)
    await world.settle()
    assert len(sales.receives()) == 1
    assert len(default.receives()) == 1


async def test_pass_reoffers_to_the_other_subscriber(world: World) -> None:
    a, b = world.sub("a", "office"), world.sub("b", "office")
    world.call_in()
    await world.settle()
    first, second = (a, b) if a.receives() else (b, a)
    call_id = first.receives()[0]
    reply = world.execute(first, "calling.pass", {"call_id": call_id, "node_id": "node-1"})
    assert reply["code"] == "200"
    assert second.receives() == []  # effects come after the reply
    await world.settle()
    assert second.receives() == [call_id]
    assert first.receives() == [call_id]  # not offered back to the one who passed
    assert world.calling.calls[call_id].owner == second.id


async def test_pass_by_the_last_subscriber_leaves_it_waiting(world: World) -> None:
    a, b = world.sub("a", "office"), world.sub("b", "office")
    world.call_in()
    await world.settle()
    first, second = (a, b) if a.receives() else (b, a)
    call_id = first.receives()[0]
    world.execute(first, "calling.pass", {"call_id": call_id})
    await world.settle()
    world.execute(second, "calling.pass", {"call_id": call_id})
    await world.settle()
    assert len(a.receives()) == 1 and len(b.receives()) == 1
    await world.clock.advance(60)
    call = world.history.changed[-1]
    assert call == (call_id, "ended", "noAnswer")


async def test_pass_of_a_call_the_session_does_not_hold_is_refused(world: World) -> None:
    a, b = world.sub("a", "office"), world.sub("b", "office")
    world.call_in()
    await world.settle()
    holder, other = (a, b) if a.receives() else (b, a)
    call_id = holder.receives()[0]
    assert world.execute(other, "calling.pass", {"call_id": call_id})["code"] == "409"


async def test_pass_of_an_answered_call_is_refused(world: World) -> None:
    a = world.sub("a", "office")
    world.call_in()
    await world.settle()
    call_id = a.receives()[0]
    world.execute(a, "calling.answer", {"call_id": call_id})
    await world.settle()
    assert world.execute(a, "calling.pass", {"call_id": call_id})["code"] == "409"


async def test_subscriber_going_offline_before_acting_gets_the_call_reoffered(world: World) -> None:
    a, b = world.sub("a", "office"), world.sub("b", "office")
    world.call_in()
    await world.settle()
    first, second = (a, b) if a.receives() else (b, a)
    call_id = first.receives()[0]
    first.online = False
    world.platform.session_offline(first.id)
    assert second.receives() == [call_id]
    assert world.calling.calls[call_id].owner == second.id


async def test_subscriber_that_acted_keeps_the_call_when_going_offline(world: World) -> None:
    a, b = world.sub("a", "office"), world.sub("b", "office")
    world.call_in()
    await world.settle()
    first, second = (a, b) if a.receives() else (b, a)
    call_id = first.receives()[0]
    world.execute(first, "calling.answer", {"call_id": call_id})
    await world.settle()
    first.online = False
    world.platform.session_offline(first.id)
    assert second.receives() == []
    assert world.calling.calls[call_id].owner == first.id


async def test_session_gone_ends_the_calls_it_controlled(world: World) -> None:
    a = world.sub("a", "office")
    world.call_in()
    await world.settle()
    call_id = a.receives()[0]
    world.execute(a, "calling.answer", {"call_id": call_id})
    await world.settle()
    world.platform.session_gone("a")
    assert call_id not in world.calling.calls
    assert world.history.changed[-1] == (call_id, "ended", "hangup")


async def test_no_consumer_call_rings_and_is_offered_when_one_appears(world: World) -> None:
    phone_call = world.call_in()
    await world.settle()
    assert phone_call.call is not None
    assert phone_call.call.state is CallState.RINGING
    await world.clock.advance(30)
    assert phone_call.call.state is CallState.RINGING
    a = world.sub("a")
    world.router.subscribe(a, ["office"])
    assert a.receives() == [phone_call.call.call_id]


async def test_queued_calls_are_offered_in_order(world: World) -> None:
    first, second = world.call_in(), world.call_in()
    a = world.sub("a", "office")
    assert first.call is not None and second.call is not None
    assert a.receives() == [first.call.call_id, second.call.call_id]


async def test_no_consumer_until_the_inbound_timeout_ends_with_error(world: World) -> None:
    phone_call = world.call_in()
    assert phone_call.call is not None
    call = phone_call.call
    await world.clock.advance(59.9)
    assert call.state is CallState.RINGING
    await world.clock.advance(0.2)
    assert call.state is CallState.ENDED
    assert call.end_reason == "error"
    assert phone_call.over
    late = world.sub("late", "office")
    assert late.receives() == []  # the ended call is no longer queued


async def test_offered_but_unanswered_ends_with_no_answer(world: World) -> None:
    a = world.sub("a", "office")
    world.call_in()
    await world.settle()
    call_id = a.receives()[0]
    await world.clock.advance(60.1)
    assert a.states(call_id) == ["ending", "ended"]
    assert ended_reason(a, call_id) == "noAnswer"
    assert world.history.changed == [(call_id, "ended", "noAnswer")]


async def test_answer_then_end(world: World) -> None:
    a = world.sub("a", "office")
    phone_call = world.call_in(script=[{"wait_for": "answer"}, {"say": "hi"}])
    await world.settle()
    call_id = a.receives()[0]
    reply = world.execute(a, "calling.answer", {"call_id": call_id, "node_id": "node-1"})
    assert reply == {"code": "200", "message": reply["message"], "call_id": call_id}
    assert a.states(call_id) == []  # the state event follows the reply
    await world.settle()
    assert a.states(call_id) == ["answered"]
    assert {"t": 0.0, "did": {"say": "hi"}} in phone_call.transcript
    reply = world.execute(a, "calling.end", {"call_id": call_id, "reason": "busy"})
    assert reply["code"] == "200"
    await world.settle()
    assert a.states(call_id) == ["answered", "ending", "ended"]
    assert ended_reason(a, call_id) == "busy"
    assert phone_call.transcript[-1]["hangup"] == {
        "by": "platform", "reason": "busy", "detail": "hung up by the application"
    }


async def test_caller_hangs_up(world: World) -> None:
    a = world.sub("a", "office")
    world.call_in(script=[{"wait": 3}, {"hangup": True}])
    await world.settle()
    call_id = a.receives()[0]
    await world.clock.advance(3)
    assert a.states(call_id) == ["ending", "ended"]
    assert ended_reason(a, call_id) == "cancel"  # the caller gave up before an answer


async def test_commands_on_unknown_or_ended_calls_are_404(world: World) -> None:
    a = world.sub("a", "office")
    assert world.execute(a, "calling.answer", {"call_id": "nope"})["code"] == "404"
    world.call_in()
    await world.settle()
    call_id = a.receives()[0]
    world.execute(a, "calling.end", {"call_id": call_id})
    await world.settle()
    for method in ("calling.answer", "calling.end", "calling.pass"):
        reply = world.execute(a, method, {"call_id": call_id})
        assert reply["code"] == "404", method
        assert reply["message"]


@pytest.mark.parametrize("params", [{}, {"call_id": ""}, {"call_id": 5}, {"call_id": None}, {"call_id": ["x"]}])
async def test_missing_or_mistyped_call_id_is_400(world: World, params: dict[str, Any]) -> None:
    a = world.sub("a", "office")
    for method in ("calling.answer", "calling.end", "calling.pass"):
        reply = world.execute(a, method, params)
        assert reply["code"] == "400", method
        assert "call_id" in reply["message"]


@pytest.mark.parametrize("reason", ["bye", "", 5, True])
async def test_end_with_a_bad_reason_is_400_and_the_call_lives(world: World, reason: Any) -> None:
    a = world.sub("a", "office")
    world.call_in()
    await world.settle()
    call_id = a.receives()[0]
    reply = world.execute(a, "calling.end", {"call_id": call_id, "reason": reason})
    if reason == "":
        assert reply["code"] == "200"  # an empty reason means the default, hangup
        return
    assert reply["code"] == "400"
    assert "reason" in reply["message"]
    await world.settle()
    assert world.calling.calls[call_id].state is CallState.RINGING


async def test_unknown_method_raises_for_the_dialect(world: World) -> None:
    from relaybox.domain.errors import UnknownMethod

    a = world.sub("a", "office")
    with pytest.raises(UnknownMethod):
        world.execute(a, "calling.nope", {})


# ---------------------------------------------------------------------------------------------- outbound


async def test_dial_to_a_default_phone(world: World) -> None:
    owner = world.sub("a", "office")
    reply = world.execute(owner, "calling.dial", {"tag": "t-1", "devices": [[phone(BOB)]]})
    assert reply == {"code": "200", "message": "Dialing"}
    assert owner.got == []
    await world.settle()
    await world.clock.advance(1)
    assert owner.timeline() == [
        ("dial", "dialing"), ("state", "created"), ("state", "ringing"), ("state", "answered"), ("dial", "answered")
    ]
    states = owner.events("calling.call.state")
    assert {p["tag"] for p in states} == {"t-1"}
    assert {p["created_by"] for p in states} == {"dial"}
    assert {p["direction"] for p in states} == {"outbound"}
    assert states[0]["node_id"] == "node-1"
    dial = owner.events("calling.call.dial")[-1]
    assert dial["tag"] == "t-1"
    assert dial["call"]["call_id"] == states[0]["call_id"]
    assert dial["call"]["dial_winner"] is True
    assert dial["call"]["device"]["params"]["to_number"] == BOB
    legs = world.network.calls_for(BOB)
    assert len(legs) == 1 and legs[0].answered


async def test_begin_answers_with_the_leg_ids(world: World) -> None:
    owner = world.sub("a", "office")
    reply = world.execute(owner, "calling.begin", {"tag": "t-9", "device": phone(BOB)})
    assert reply["code"] == "200"
    assert reply["tag"] == "t-9"
    assert reply["node_id"] == "node-1"
    await world.settle()
    await world.clock.advance(1)
    assert owner.states(reply["call_id"]) == ["created", "ringing", "answered"]


async def test_dial_to_a_busy_phone(world: World) -> None:
    world.network.set_script(BOB, [{"ring": 0.5}, {"reject": "busy"}])
    owner = world.sub("a")
    world.execute(owner, "calling.dial", {"tag": "t", "devices": [[phone(BOB)]]})
    await world.settle()
    await world.clock.advance(0.5)
    assert owner.timeline() == [
        ("dial", "dialing"), ("state", "created"), ("state", "ringing"), ("state", "ending"), ("state", "ended"),
        ("dial", "failed"),
    ]
    states = owner.events("calling.call.state")
    assert states[-2]["end_reason"] == "busy" and states[-1]["end_reason"] == "busy"
    assert owner.events("calling.call.dial")[-1] == {"dial_state": "failed", "tag": "t", "node_id": "node-1",
                                                      "reason": "busy"}


async def test_dial_to_a_no_answer_phone_times_out_after_the_device_timeout(world: World) -> None:
    world.network.set_script(BOB, [{"no_answer": True}])
    owner = world.sub("a")
    world.execute(owner, "calling.dial", {"tag": "t", "devices": [[phone(BOB, timeout=5)]]})
    await world.settle()
    await world.clock.advance(4.9)
    assert owner.states() == ["created", "ringing"]
    await world.clock.advance(0.2)
    assert owner.states() == ["created", "ringing", "ending", "ended"]
    assert owner.events("calling.call.state")[-1]["end_reason"] == "noAnswer"
    assert owner.events("calling.call.dial")[-1]["dial_state"] == "failed"
    leg = world.network.calls_for(BOB)[0]
    assert leg.over and leg.transcript[-1]["hangup"]["reason"] == "noAnswer"


async def test_parallel_dial_first_to_answer_wins_and_the_other_is_cancelled(world: World) -> None:
    world.network.set_script(BOB, [{"ring": 5}, {"answer": True}])
    owner = world.sub("a")
    world.execute(owner, "calling.dial", {"tag": "t", "devices": [[phone(BOB), phone(CAROL)]]})
    await world.settle()
    await world.clock.advance(1)
    created = {p["device"]["params"]["to_number"]: p["call_id"] for p in owner.events("calling.call.state")
               if p["call_state"] == "created"}
    assert set(created) == {BOB, CAROL}
    assert owner.states(created[CAROL]) == ["created", "ringing", "answered"]
    assert owner.states(created[BOB]) == ["created", "ringing", "ending", "ended"]
    assert ended_reason(owner, created[BOB]) == "cancel"
    dial = owner.events("calling.call.dial")[-1]
    assert dial["dial_state"] == "answered"
    assert dial["call"]["call_id"] == created[CAROL]
    assert world.network.calls_for(BOB)[0].over
    await world.clock.advance(10)  # the loser's script must not answer later
    assert owner.states(created[BOB])[-1] == "ended"
    assert len(owner.events("calling.call.dial")) == 2


async def test_serial_dial_moves_to_the_next_group_after_a_failure(world: World) -> None:
    world.network.set_script(BOB, [{"reject": "busy"}])
    owner = world.sub("a")
    world.execute(owner, "calling.dial", {"tag": "t", "devices": [[phone(BOB)], [phone(CAROL)]]})
    await world.settle()
    await world.clock.advance(1)
    created = {p["device"]["params"]["to_number"]: p["call_id"] for p in owner.events("calling.call.state")
               if p["call_state"] == "created"}
    assert ended_reason(owner, created[BOB]) == "busy"
    assert owner.states(created[CAROL]) == ["created", "ringing", "answered"]
    dials = owner.events("calling.call.dial")
    assert [d["dial_state"] for d in dials] == ["dialing", "answered"]
    assert dials[-1]["call"]["call_id"] == created[CAROL]


async def test_flat_device_list_is_tried_one_after_another(world: World) -> None:
    world.network.set_script(BOB, [{"reject": "decline"}])
    world.network.set_script(CAROL, [{"reject": "busy"}])
    owner = world.sub("a")
    world.execute(owner, "calling.dial", {"tag": "t", "devices": [phone(BOB), phone(CAROL)]})
    await world.settle()
    await world.clock.advance(1)
    dials = owner.events("calling.call.dial")
    assert [d["dial_state"] for d in dials] == ["dialing", "failed"]
    assert dials[-1]["reason"] == "busy"
    assert [p["device"]["params"]["to_number"] for p in owner.events("calling.call.state")
            if p["call_state"] == "created"] == [BOB, CAROL]


async def test_max_duration_ends_the_call(world: World) -> None:
    owner = world.sub("a")
    world.execute(owner, "calling.dial", {"tag": "t", "max_duration": 10, "devices": [[phone(BOB)]]})
    await world.settle()
    await world.clock.advance(1)
    call_id = owner.events("calling.call.dial")[-1]["call"]["call_id"]
    await world.clock.advance(9.9)
    assert owner.states(call_id)[-1] == "answered"
    await world.clock.advance(0.2)
    assert owner.states(call_id)[-2:] == ["ending", "ended"]
    assert ended_reason(owner, call_id) == "max_duration"


async def test_far_end_hangup_after_answer(world: World) -> None:
    world.network.set_script(BOB, [{"answer": True}, {"wait": 2}, {"hangup": True}])
    owner = world.sub("a")
    world.execute(owner, "calling.dial", {"tag": "t", "devices": [[phone(BOB)]]})
    await world.settle()
    await world.clock.advance(2)
    assert owner.states()[-2:] == ["ending", "ended"]
    assert owner.events("calling.call.state")[-1]["end_reason"] == "hangup"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"devices": []},
        {"devices": "x"},
        {"devices": [[{"type": "phone", "params": {"to_number": "123"}}]]},
        {"devices": [[phone(BOB)]], "tag": 5},
        {"devices": [[phone(BOB)]], "max_duration": "long"},
        {"devices": [[phone(BOB)]], "max_duration": 0},
        {"devices": [[phone(BOB, timeout=-1)]]},
    ],
)
async def test_bad_dial_is_400_and_places_nothing(world: World, params: dict[str, Any]) -> None:
    owner = world.sub("a")
    reply = world.execute(owner, "calling.dial", params)
    assert reply["code"] == "400"
    assert reply["message"]
    await world.settle()
    assert owner.got == []
    assert world.calling.calls == {}


@pytest.mark.parametrize("params", [{}, {"device": "x"}, {"device": phone("+1")}])
async def test_bad_begin_is_400(world: World, params: dict[str, Any]) -> None:
    owner = world.sub("a")
    assert world.execute(owner, "calling.begin", params)["code"] == "400"
    await world.settle()
    assert owner.got == []
