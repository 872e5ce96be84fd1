"""Messaging and tasks on a ManualClock, with the real SQLite message store in a temp dir."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from relaybox.clock import ManualClock
from relaybox.domain.messaging import Messaging
from relaybox.domain.platform import Platform
from relaybox.domain.routing import Router
from relaybox.domain.tasking import Tasking
from relaybox.engines.handsets import Handsets
from relaybox.protocol.events import TASK_EVENT, Event
from relaybox.storage.db import Store
from relaybox.storage.messages import MessageStore

PROJECT = "p"
OFFICE, SHOP, PHONE, OTHER = "+15552220000", "+15556660000", "+15553330000", "+15559990000"


@dataclass(eq=False)
class Sub:
    id: str
    project: str = PROJECT
    online: bool = True
    tasks: bool = True
    got: list[Event] = field(default_factory=list)

    def deliver(self, event: Event) -> None:
        self.got.append(event)

    def accepts(self, event_type: str) -> bool:
        return event_type != TASK_EVENT or self.tasks

    def states(self, message_id: str | None = None) -> list[str]:
        return [
            e.params["message_state"]
            for e in self.got
            if e.event_type == "messaging.state" and (message_id is None or e.params["message_id"] == message_id)
        ]

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [e.params for e in self.got if e.event_type == event_type]


class Box:
    """The messaging half of the platform, rebuilt from the same data dir by `restart()`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._build()

    def _build(self) -> None:
        self.clock = ManualClock()
        self.store = Store(self.data_dir)
        self.messages = MessageStore(self.store)
        self.handsets = Handsets(self.messages, self.messages.phone_modes())
        self.router = Router()
        self.messaging = Messaging(
            clock=self.clock, router=self.router, numbers=self.store, carrier=self.handsets, store=self.messages,
            first_state_delay=0.0,
        )
        self.tasking = Tasking(clock=self.clock, router=self.router, store=self.messages)
        self.platform = Platform(self.router, calling=_NoCalls())  # type: ignore[arg-type]
        self.platform.handlers.update(self.messaging.handlers())

    def restart(self) -> None:
        self.store.close()
        self._build()
        self.messaging.resume()
        self.tasking.resume()

    def send(self, sub: Sub, **params: Any) -> dict[str, Any]:
        return self.platform.execute(sub, "messaging.send", params)


class _NoCalls:
    def handlers(self) -> dict[str, Any]:
        return {}


@pytest.fixture
def box(tmp_path: Path) -> Box:
    b = Box(tmp_path / "data")
    b.store.set_number(OFFICE, "office")
    b.store.set_number(SHOP, "shop")
    return b


async def run(box: Box, seconds: float = 10.0) -> None:
    await asyncio.sleep(0)  # the first state goes out on the event loop, the rest on the platform clock
    await box.clock.advance(seconds)


def send_params(**over: Any) -> dict[str, Any]:
    return {"context": "office", "from_number": OFFICE, "to_number": PHONE, "body": "Hello", **over}


async def test_send_walks_the_states_to_delivered(box: Box) -> None:
    sub = Sub("s1")
    box.router.subscribe(sub, ["office"])
    reply = box.send(sub, **send_params(tags=["t1"]))
    assert reply["code"] == "200" and reply["message"] == "Message accepted" and reply["message_id"]
    assert sub.got == []  # nothing in the same breath as the reply
    await run(box)
    assert sub.states() == ["queued", "initiated", "sent", "delivered"]
    event = sub.got[-1]
    assert event.context == "office"
    p = event.params
    assert (p["context"], p["direction"], p["from_number"], p["to_number"]) == ("office", "outbound", OFFICE, PHONE)
    assert (p["body"], p["media"], p["segments"], p["tags"], p["reason"]) == ("Hello", [], 1, ["t1"], None)
    [stored] = box.messages.messages()
    assert [h["state"] for h in stored.history] == ["queued", "initiated", "sent", "delivered"]
    assert stored.state == "delivered" and not stored.pending


async def test_states_follow_the_platform_clock(box: Box) -> None:
    sub = Sub("s1")
    box.router.subscribe(sub, ["office"])
    box.send(sub, **send_params())
    await run(box, 0)
    assert sub.states() == ["queued"]
    await box.clock.advance(0.5)
    assert sub.states() == ["queued", "initiated"]
    await box.clock.advance(0.5)
    assert sub.states() == ["queued", "initiated", "sent"]
    await box.clock.advance(1.0)
    assert sub.states()[-1] == "delivered"


@pytest.mark.parametrize(
    ("mode", "states", "reason"),
    [
        ("undeliverable", ["queued", "initiated", "sent", "undelivered"], "unreachable"),
        ("fail", ["queued", "initiated", "failed"], "rejected"),
    ],
)
async def test_sandbox_phone_decides_delivery(box: Box, mode: str, states: list[str], reason: str) -> None:
    box.handsets.set_mode(PHONE, mode)
    sub = Sub("s1")
    box.router.subscribe(sub, ["office"])
    box.send(sub, **send_params())
    await run(box)
    assert sub.states() == states
    assert reason in sub.got[-1].params["reason"]


def test_handset_modes_are_validated_and_kept(box: Box) -> None:
    with pytest.raises(ValueError, match="'deliver', 'undeliverable', 'fail'"):
        box.handsets.set_mode(PHONE, "explode")
    box.handsets.set_mode(PHONE, "fail")
    assert MessageStore(box.store).phone_modes() == {PHONE: "fail"}


@pytest.mark.parametrize(
    ("over", "code", "fragment"),
    [
        ({"from_number": OTHER}, "403", "not a number of this project"),
        ({"from_number": "5552220000"}, "400", "'from_number' must be an E.164"),
        ({"from_number": None}, "400", "'from_number' is required"),
        ({"to_number": "office"}, "400", "'to_number' must be an E.164"),
        ({"to_number": None}, "400", "'to_number' is required"),
        ({"body": None}, "400", "needs a 'body' or 'media'"),
        ({"body": "x" * 1601}, "400", "limit is 1600"),
        ({"media": ["file:///etc/passwd"]}, "400", "http(s) URLs"),
        ({"tags": "vip"}, "400", "'tags' must be a list of strings"),
        ({"context": 7}, "400", "'context' must be a string"),
        ({"context": "   "}, "400", "'context' must be a non-empty name"),
        ({"context": "c" * 129}, "400", "at most 128 characters"),
    ],
)
async def test_bad_sends_get_a_failure_result_and_no_events(
    box: Box, over: dict[str, Any], code: str, fragment: str
) -> None:
    sub = Sub("s1")
    box.router.subscribe(sub, ["office"])
    reply = box.send(sub, **send_params(**over))
    assert reply["code"] == code and fragment in reply["message"], reply
    assert "message_id" not in reply
    await run(box)
    assert sub.got == [] and box.messages.messages() == []


async def test_sender_number_of_any_context_is_accepted(box: Box) -> None:
    sub = Sub("s1")
    box.router.subscribe(sub, ["office"])
    assert box.send(sub, **send_params(from_number=SHOP))["code"] == "200"


async def test_media_only_mms(box: Box) -> None:
    sub = Sub("s1")
    box.router.subscribe(sub, ["office"])
    box.send(sub, **send_params(body=None, media=["https://example.com/cat.jpg"]))
    await run(box)
    assert sub.got[-1].params["media"] == ["https://example.com/cat.jpg"] and sub.got[-1].params["body"] == ""


async def test_state_events_prefer_the_sender_and_stick_to_one_consumer(box: Box) -> None:
    a, b, c = Sub("a"), Sub("b"), Sub("c")
    for s in (a, b, c):
        box.router.subscribe(s, ["office"])
    box.send(b, **send_params())
    await run(box)
    assert b.states() == ["queued", "initiated", "sent", "delivered"] and a.got == [] and c.got == []
    outsider = Sub("x")  # sends on "office" without receiving it: one subscriber gets every state
    box.router.register(outsider)
    mid = box.send(outsider, **send_params())["message_id"]
    await run(box)
    got = [s for s in (a, b, c) if s.states(mid)]
    assert len(got) == 1 and got[0].states(mid) == ["queued", "initiated", "sent", "delivered"]
    assert outsider.got == []


async def test_v4_default_context_is_the_senders_own_protocol(box: Box) -> None:
    v4 = Sub("signalwire_abc_123")
    box.router.register(v4)  # subscribed to nothing: its protocol is the default context
    reply = box.send(v4, **send_params(context=None))
    await run(box)
    assert v4.states() == ["queued", "initiated", "sent", "delivered"]
    assert v4.got[0].params["context"] == "signalwire_abc_123" and reply["code"] == "200"


async def test_states_wait_for_a_consumer_in_order(box: Box) -> None:
    sender = Sub("sender")
    box.router.register(sender)
    box.send(sender, **send_params())
    await run(box, 1.2)
    late = Sub("late")
    box.router.subscribe(late, ["office"])
    assert late.states() == ["queued", "initiated", "sent"]
    await run(box)
    assert late.states() == ["queued", "initiated", "sent", "delivered"]


async def test_inbound_goes_to_exactly_one_consumer(box: Box) -> None:
    a, b = Sub("a"), Sub("b")
    box.router.subscribe(a, ["office"])
    box.router.subscribe(b, ["office"])
    for i in range(4):
        box.messaging.receive(project=PROJECT, from_=PHONE, to=OFFICE, body=f"m{i}", media=None)
    got_a, got_b = a.of("messaging.receive"), b.of("messaging.receive")
    assert len(got_a) == 2 and len(got_b) == 2
    p = got_a[0]
    assert (p["direction"], p["message_state"], p["context"], p["from_number"], p["to_number"]) == (
        "inbound", "received", "office", PHONE, OFFICE
    )
    assert a.got[0].context == "office"


async def test_inbound_to_an_unrouted_number_goes_to_default(box: Box) -> None:
    sub = Sub("d")
    box.router.subscribe(sub, ["default"])
    box.messaging.receive(project=PROJECT, from_=PHONE, to=OTHER, body="hi", media=None)
    assert sub.of("messaging.receive")[0]["context"] == "default"


async def test_inbound_waits_for_a_consumer_and_survives_a_restart(box: Box) -> None:
    msg = box.messaging.receive(project=PROJECT, from_=PHONE, to=OFFICE, body="hold", media=None)
    box.restart()
    sub = Sub("s")
    box.router.subscribe(sub, ["office"])
    [p] = sub.of("messaging.receive")
    assert p["message_id"] == msg.message_id and p["body"] == "hold"
    box.restart()  # handed over: not delivered again
    again = Sub("s2")
    box.router.subscribe(again, ["office"])
    assert again.got == []


async def test_message_to_a_project_number_arrives_inbound(box: Box) -> None:
    shop = Sub("shop")
    office = Sub("office")
    box.router.subscribe(shop, ["shop"])
    box.router.subscribe(office, ["office"])
    box.send(office, **send_params(to_number=SHOP, body="internal"))
    await run(box)
    assert office.states()[-1] == "delivered"
    [p] = shop.of("messaging.receive")
    assert (p["from_number"], p["to_number"], p["body"], p["context"]) == (OFFICE, SHOP, "internal", "shop")


async def test_progression_cut_by_a_restart_resumes(box: Box) -> None:
    sub = Sub("s")
    box.router.subscribe(sub, ["office"])
    mid = box.send(sub, **send_params())["message_id"]
    await run(box, 0.6)
    assert sub.states() == ["queued", "initiated"]
    box.restart()
    again = Sub("s-again")
    box.router.subscribe(again, ["office"])
    await run(box)
    assert again.states(mid) == ["sent", "delivered"]
    [stored] = box.messages.messages()
    assert [h["state"] for h in stored.history] == ["queued", "initiated", "sent", "delivered"]


async def test_messages_listing_filters(box: Box) -> None:
    sub = Sub("s")
    box.router.subscribe(sub, ["office", "shop"])
    box.handsets.set_mode(OTHER, "fail")
    box.send(sub, **send_params())
    box.send(sub, **send_params(to_number=OTHER, context="shop"))
    box.messaging.receive(project=PROJECT, from_=PHONE, to=OFFICE, body="in", media=None)
    await run(box)
    assert len(box.messages.messages()) == 3
    assert {m.to for m in box.messages.messages(number=OTHER)} == {OTHER}
    assert [m.state for m in box.messages.messages(context="shop")] == ["failed"]
    assert [m.direction for m in box.messages.messages(state="received")] == ["inbound"]
    assert len(box.messages.messages(number=PHONE)) == 2


# ------------------------------------------------------------------------------------------------ tasks


async def test_task_goes_to_exactly_one_consumer(box: Box) -> None:
    a, b = Sub("a"), Sub("b")
    box.router.subscribe(a, ["office"])
    box.router.subscribe(b, ["office"])
    for i in range(4):
        box.tasking.deliver(PROJECT, "office", {"n": i})
    got = [e.params["message"]["n"] for s in (a, b) for e in s.got if e.event_type == TASK_EVENT]
    assert sorted(got) == [0, 1, 2, 3] and len(a.got) == 2
    assert a.got[0].params["context"] == "office" and a.got[0].context == "office"
    assert box.messages.pending_tasks() == []


async def test_task_skips_consumers_that_cannot_take_tasks(box: Box) -> None:
    py4 = Sub("py4", tasks=False)
    box.router.subscribe(py4, ["office"])
    box.tasking.deliver(PROJECT, "office", "hello")
    assert py4.got == []
    node = Sub("node")
    box.router.subscribe(node, ["office"])
    assert [e.params["message"] for e in node.got] == ["hello"]


async def test_task_waits_survives_a_restart_and_keeps_order(box: Box) -> None:
    box.tasking.deliver(PROJECT, "office", {"n": 1})
    box.tasking.deliver(PROJECT, "office", {"n": 2})
    box.restart()
    box.tasking.deliver(PROJECT, "office", {"n": 3})
    sub = Sub("s")
    box.router.subscribe(sub, ["office"])
    assert [e.params["message"] for e in sub.got] == [{"n": 1}, {"n": 2}, {"n": 3}]
    box.restart()
    assert box.messages.pending_tasks() == []


async def test_task_expires(box: Box) -> None:
    box.tasking.deliver(PROJECT, "office", "old")
    await box.clock.advance(24 * 3600 + 1)
    sub = Sub("s")
    box.router.subscribe(sub, ["office"])
    assert sub.got == [] and box.messages.pending_tasks() == []
