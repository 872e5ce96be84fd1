"""Contexts and one-consumer-per-event routing.

A subscriber is a client session (whatever its dialect). Each inbound call, message or task goes to
exactly one online subscriber of its context, taken in turn; later events of a call go to its owner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from relaybox.protocol.events import Event


class Subscriber(Protocol):
    id: str
    project: str

    @property
    def online(self) -> bool: ...

    def deliver(self, event: Event) -> None: ...

    def accepts(self, event_type: str) -> bool: ...


Key = tuple[str, str]  # (project, context)
AvailableListener = Callable[[Subscriber, list[str]], None]


class Router:
    def __init__(self) -> None:
        self._by_id: dict[str, Subscriber] = {}
        self._contexts: dict[str, set[str]] = {}
        self._members: dict[Key, list[str]] = {}
        self._turn: dict[Key, int] = {}
        self._listeners: list[AvailableListener] = []

    def on_available(self, listener: AvailableListener) -> None:
        """Called when a subscriber becomes able to take work on some contexts (pending work can flow)."""
        self._listeners.append(listener)

    def register(self, sub: Subscriber) -> None:
        self._by_id[sub.id] = sub
        self._contexts.setdefault(sub.id, set())

    def unregister(self, sub_id: str) -> None:
        sub = self._by_id.pop(sub_id, None)
        for context in self._contexts.pop(sub_id, set()):
            if sub is not None:
                self._leave((sub.project, context), sub_id)

    def get(self, sub_id: str) -> Subscriber | None:
        return self._by_id.get(sub_id)

    def contexts_of(self, sub_id: str) -> set[str]:
        return set(self._contexts.get(sub_id, ()))

    def subscribe(self, sub: Subscriber, contexts: Iterable[str]) -> list[str]:
        self.register(sub)
        added = []
        mine = self._contexts[sub.id]
        for context in contexts:
            if context not in mine:
                mine.add(context)
                self._members.setdefault((sub.project, context), []).append(sub.id)
                added.append(context)
        self.announce(sub)
        return added

    def unsubscribe(self, sub: Subscriber, contexts: Iterable[str]) -> None:
        mine = self._contexts.get(sub.id, set())
        for context in contexts:
            if context in mine:
                mine.discard(context)
                self._leave((sub.project, context), sub.id)

    def announce(self, sub: Subscriber) -> None:
        """Tell listeners that `sub` (now online) can take work for all its contexts."""
        contexts = sorted(self._contexts.get(sub.id, ()))
        if sub.online and contexts:
            for listener in list(self._listeners):
                listener(sub, contexts)

    def pick(
        self, project: str, context: str, *, event_type: str, exclude: Iterable[str] = ()
    ) -> Subscriber | None:
        key = (project, context)
        members = self._members.get(key)
        if not members:
            return None
        excluded = set(exclude)
        start = self._turn.get(key, 0)
        n = len(members)
        for i in range(n):
            sub = self._by_id.get(members[(start + i) % n])
            if sub is not None and sub.online and sub.id not in excluded and sub.accepts(event_type):
                self._turn[key] = (start + i + 1) % n
                return sub
        return None

    def send(self, sub_id: str | None, event: Event) -> bool:
        sub = self._by_id.get(sub_id) if sub_id else None
        if sub is None:
            return False
        sub.deliver(event)
        return True

    def _leave(self, key: Key, sub_id: str) -> None:
        members = self._members.get(key)
        if members and sub_id in members:
            members.remove(sub_id)
            if not members:
                del self._members[key]
                self._turn.pop(key, None)
