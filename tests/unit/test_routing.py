"""Contexts and one-consumer-per-event routing."""

from __future__ import annotations

from dataclasses import dataclass, field

from relaybox.domain.routing import Router
from relaybox.protocol.events import TASK_EVENT, Event

RECEIVE = "calling.call.receive"


@dataclass(eq=False)
class Sub:
    id: str
    project: str = "p"
    online: bool = True
    refuses: set[str] = field(default_factory=set)
    got: list[Event] = field(default_factory=list)

    def deliver(self, event: Event) -> None:
        self.got.append(event)

    def accepts(self, event_type: str) -> bool:
        return event_type not in self.refuses


def picks(router: Router, n: int, context: str = "office", **kw: object) -> list[str | None]:
    out = []
    for _ in range(n):
        sub = router.pick("p", context, event_type=RECEIVE, **kw)  # type: ignore[arg-type]
        out.append(sub.id if sub else None)
    return out


def test_no_subscribers() -> None:
    router = Router()
    assert router.pick("p", "office", event_type=RECEIVE) is None


def test_round_robin_across_subscribers_of_a_context() -> None:
    router = Router()
    a, b, c = Sub("a"), Sub("b"), Sub("c")
    for s in (a, b, c):
        router.subscribe(s, ["office"])
    assert picks(router, 6) == ["a", "b", "c", "a", "b", "c"]


def test_contexts_are_separate() -> None:
    router = Router()
    a, b = Sub("a"), Sub("b")
    router.subscribe(a, ["office"])
    router.subscribe(b, ["home"])
    assert picks(router, 3, "office") == ["a"] * 3
    assert picks(router, 2, "home") == ["b"] * 2
    assert picks(router, 1, "nowhere") == [None]


def test_projects_are_separate() -> None:
    router = Router()
    router.subscribe(Sub("a", project="p1"), ["office"])
    assert router.pick("p2", "office", event_type=RECEIVE) is None
    picked = router.pick("p1", "office", event_type=RECEIVE)
    assert picked is not None and picked.id == "a"


def test_offline_subscribers_are_skipped() -> None:
    router = Router()
    a, b = Sub("a"), Sub("b")
    router.subscribe(a, ["office"])
    router.subscribe(b, ["office"])
    a.online = False
    assert picks(router, 3) == ["b", "b", "b"]
    b.online = False
    assert picks(router, 1) == [None]
    a.online = True
    assert picks(router, 2) == ["a", "a"]


def test_exclusion() -> None:
    router = Router()
    a, b = Sub("a"), Sub("b")
    router.subscribe(a, ["office"])
    router.subscribe(b, ["office"])
    assert picks(router, 3, exclude={"a"}) == ["b", "b", "b"]
    assert picks(router, 1, exclude=["a", "b"]) == [None]


def test_accepts_filters_by_event_type() -> None:
    router = Router()
    a, b = Sub("a", refuses={TASK_EVENT}), Sub("b")
    router.subscribe(a, ["jobs"])
    router.subscribe(b, ["jobs"])
    tasks = [router.pick("p", "jobs", event_type=TASK_EVENT) for _ in range(3)]
    assert [s.id for s in tasks if s] == ["b", "b", "b"]
    b.online = False
    assert router.pick("p", "jobs", event_type=TASK_EVENT) is None
    picked = router.pick("p", "jobs", event_type=RECEIVE)
    assert picked is a


def test_subscribe_is_idempotent_and_reports_additions() -> None:
    router = Router()
    a, b = Sub("a"), Sub("b")
    assert router.subscribe(a, ["office", "home"]) == ["office", "home"]
    assert router.subscribe(a, ["office", "sales"]) == ["sales"]
    assert router.contexts_of("a") == {"office", "home", "sales"}
    router.subscribe(b, ["office"])
    assert picks(router, 4) == ["a", "b", "a", "b"]  # a is a member once, not twice


def test_unsubscribe() -> None:
    router = Router()
    a, b = Sub("a"), Sub("b")
    router.subscribe(a, ["office", "home"])
    router.subscribe(b, ["office"])
    router.unsubscribe(a, ["office", "never-subscribed"])
    assert router.contexts_of("a") == {"home"}
    assert picks(router, 3) == ["b", "b", "b"]
    router.unsubscribe(b, ["office"])
    assert picks(router, 1) == [None]
    assert picks(router, 1, "home") == ["a"]


def test_unregister_removes_from_every_context() -> None:
    router = Router()
    a, b = Sub("a"), Sub("b")
    router.subscribe(a, ["office", "home"])
    router.subscribe(b, ["office"])
    router.unregister("a")
    assert router.get("a") is None
    assert router.contexts_of("a") == set()
    assert picks(router, 2) == ["b", "b"]
    assert picks(router, 1, "home") == [None]
    router.unregister("nobody")  # harmless


def test_round_robin_survives_a_member_leaving() -> None:
    router = Router()
    subs = [Sub(x) for x in "abc"]
    for s in subs:
        router.subscribe(s, ["office"])
    assert picks(router, 2) == ["a", "b"]
    router.unsubscribe(subs[2], ["office"])
    result = picks(router, 4)
    assert None not in result
    assert sorted(result) == ["a", "a", "b", "b"]


def test_send_to_a_registered_subscriber() -> None:
    router = Router()
    a = Sub("a")
    router.register(a)
    event = Event("calling.call.state", {"call_id": "c"})
    assert router.send("a", event) is True
    assert a.got == [event]
    assert router.send("b", event) is False
    assert router.send(None, event) is False


def test_announce_listeners() -> None:
    router = Router()
    heard: list[tuple[str, list[str]]] = []
    router.on_available(lambda sub, contexts: heard.append((sub.id, contexts)))
    a = Sub("a")
    router.subscribe(a, ["office", "home"])
    assert heard == [("a", ["home", "office"])]
    heard.clear()
    router.announce(a)
    assert heard == [("a", ["home", "office"])]


def test_announce_is_silent_when_offline_or_without_contexts() -> None:
    router = Router()
    heard: list[str] = []
    router.on_available(lambda sub, contexts: heard.append(sub.id))
    a, b = Sub("a", online=False), Sub("b")
    router.subscribe(a, ["office"])
    router.register(b)
    router.announce(a)
    router.announce(b)
    assert heard == []


def test_several_listeners_all_hear() -> None:
    router = Router()
    first: list[str] = []
    second: list[str] = []
    router.on_available(lambda sub, contexts: first.append(sub.id))
    router.on_available(lambda sub, contexts: second.append(sub.id))
    router.subscribe(Sub("a"), ["office"])
    assert first == ["a"] and second == ["a"]
