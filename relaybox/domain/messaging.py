"""Messaging: SMS/MMS sent by applications (`messaging.send`) and received from the sandbox phones.

An outbound message is accepted at once (the reply carries its `message_id`), then walks
queued -> initiated -> sent -> delivered (or undelivered / failed with a reason) on the platform
clock; each state goes out as a `messaging.state` event to ONE consumer of the message's context.
Inbound messages go as `messaging.receive` to exactly one consumer of the number's context.
Events that find no consumer wait until one subscribes. Every message and its state history is in
the message log (SQLite), and `resume()` picks unfinished work up again after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from relaybox.clock import Clock, Timer
from relaybox.domain.devices import is_phone_number
from relaybox.domain.errors import RelayError, bad_request
from relaybox.domain.legs import NumberDirectory
from relaybox.domain.params import opt_str
from relaybox.domain.routing import Router, Subscriber
from relaybox.domain.segments import count_segments
from relaybox.protocol.events import Event

log = logging.getLogger("relaybox.messages")

Handler = Callable[[Subscriber, dict[str, Any]], dict[str, Any]]

MAX_BODY_CHARS = 1600  # longest body accepted (characters); more is refused with a 400
MAX_MEDIA = 10  # media URLs per MMS
MAX_URL = 2048
MAX_TAGS = 20
MAX_CONTEXT = 128
FIRST_STATE_DELAY = 0.1  # WALL seconds between the send reply and the first state (v4 drops earlier ones)
STEP_DELAYS = {"queued": 0.5, "initiated": 0.5, "sent": 1.0}  # platform seconds until the next state
PENDING_TTL = 24 * 3600.0  # platform seconds an event (inbound message, state) waits for a consumer
TERMINAL = frozenset({"delivered", "undelivered", "failed"})
OUTCOMES = ("deliver", "undeliverable", "fail")

REASON_FAILED = "the carrier rejected the message (sandbox: the number fails messages)"
REASON_UNDELIVERED = "the destination handset is unreachable (sandbox: the number is undeliverable)"


class Carrier(Protocol):
    """The network a message is handed to; the sandbox decides what becomes of it."""

    def message_outcome(self, number: str) -> str:
        """One of OUTCOMES for a message to `number`."""
        ...


@dataclass(slots=True)
class Message:
    message_id: str
    project: str
    direction: str  # "outbound" | "inbound"
    context: str
    from_: str
    to: str
    body: str = ""
    media: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    region: str | None = None
    segments: int = 1
    encoding: str = "GSM-7"
    state: str = "queued"
    reason: str | None = None
    sender: str | None = None  # session that sent it (outbound)
    consumer: str | None = None  # session that gets its events
    pending: bool = True  # outbound: progression not finished; inbound: not yet handed to a consumer
    created_at: float = 0.0  # epoch (platform clock)
    updated_at: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)

    def event_params(self) -> dict[str, Any]:
        """The inner `messaging.*` body, identical in both dialects."""
        return {
            "message_id": self.message_id,
            "context": self.context,
            "direction": self.direction,
            "from_number": self.from_,
            "to_number": self.to,
            "body": self.body,
            "media": list(self.media),
            "segments": self.segments,
            "tags": list(self.tags),
            "message_state": self.state,
            "reason": self.reason,
        }

    def event(self) -> Event:
        kind = "messaging.receive" if self.direction == "inbound" else "messaging.state"
        return Event(kind, self.event_params(), context=self.context)


class MessageLog(Protocol):
    def message_created(self, message: Message) -> None:
        """Committed before the send is acknowledged."""

    def message_changed(self, message: Message) -> None: ...

    def unfinished_messages(self) -> list[Message]:
        """Outbound messages not in a terminal state and inbound ones no consumer took yet."""
        ...


# ------------------------------------------------------------------------------ validation


def _e164(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise bad_request(f"'{key}' is required: an E.164 number such as +15551230000")
    if not is_phone_number(value):
        raise bad_request(f"'{key}' must be an E.164 number such as +15551230000, got {value!r}")
    return value


def _str_list(params: dict[str, Any], key: str, limit: int) -> list[str]:
    value = params.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"'{key}' must be a list of strings")
    if len(value) > limit:
        raise bad_request(f"'{key}' holds {len(value)} items; at most {limit} are allowed")
    return list(value)


def validate_media(urls: list[str]) -> list[str]:
    for url in urls:
        parts = urlsplit(url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or len(url) > MAX_URL
            or any(ch.isspace() for ch in url)
        ):
            raise bad_request(f"'media' must hold http(s) URLs (at most {MAX_URL} characters), got {url!r}")
    return urls


def validate_content(body: Any, media: Any) -> tuple[str, list[str]]:
    """Body and/or media: at least one, body at most MAX_BODY_CHARS, media a list of http(s) URLs."""
    if body is not None and not isinstance(body, str):
        raise bad_request("'body' must be a string")
    urls = validate_media(_str_list({"media": media}, "media", MAX_MEDIA))
    text = body or ""
    if not text and not urls:
        raise bad_request("a message needs a 'body' or 'media' (or both)")
    if len(text) > MAX_BODY_CHARS:
        raise bad_request(f"'body' is {len(text)} characters long; the limit is {MAX_BODY_CHARS}")
    return text, urls


# ------------------------------------------------------------------------------ the service


class Messaging:
    def __init__(
        self,
        *,
        clock: Clock,
        router: Router,
        numbers: NumberDirectory,
        carrier: Carrier,
        store: MessageLog,
        first_state_delay: float = FIRST_STATE_DELAY,
        pending_ttl: float = PENDING_TTL,
    ) -> None:
        self.clock = clock
        self.router = router
        self.numbers = numbers
        self.carrier = carrier
        self.store = store
        self.first_state_delay = first_state_delay
        self.pending_ttl = pending_ttl
        self.live: dict[str, Message] = {}  # outbound in progress
        self._timers: dict[str, Timer] = {}
        self._waiting: dict[tuple[str, str], deque[tuple[Message, Event]]] = {}
        router.on_available(self._subscriber_available)

    def handlers(self) -> dict[str, Handler]:
        return {"messaging.send": self.send}

    # ----------------------------------------------------------------- outbound

    def send(self, sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        context = opt_str(params, "context") or sub.id  # v4 clients default to their protocol
        if not context.strip() or len(context) > MAX_CONTEXT:
            raise bad_request(f"'context' must be a non-empty name of at most {MAX_CONTEXT} characters")
        from_ = _e164(params, "from_number")
        to = _e164(params, "to_number")
        body, media = validate_content(params.get("body"), params.get("media"))
        tags = _str_list(params, "tags", MAX_TAGS)
        region = opt_str(params, "region")
        if self.numbers.context_for(from_) is None:
            raise RelayError(
                "403", f"'from_number' {from_} is not a number of this project (assign it with `relaybox numbers add`)"
            )
        info = count_segments(body)
        now = self.clock.timestamp()
        msg = Message(
            message_id=str(uuid.uuid4()),
            project=sub.project,
            direction="outbound",
            context=context,
            from_=from_,
            to=to,
            body=body,
            media=media,
            tags=tags,
            region=region,
            segments=info.segments,
            encoding=info.encoding,
            state="queued",
            sender=sub.id,
            created_at=now,
            updated_at=now,
            history=[{"state": "queued", "at": now, "reason": None}],
        )
        self.store.message_created(msg)
        self.live[msg.message_id] = msg
        log.info(
            "message %s outbound %s -> %s context=%r: queued (%d %s segment(s)%s)",
            msg.message_id, from_, to, context, info.segments, info.encoding,
            f", {len(media)} media" if media else "",
        )
        # The first state must trail the reply by a wall-clock gap (v4 registers the message only after
        # the reply); the rest of the progression runs on the platform clock.
        asyncio.get_running_loop().call_later(self.first_state_delay, self._first_state, msg)
        return {"code": "200", "message": "Message accepted", "message_id": msg.message_id}

    def _first_state(self, msg: Message) -> None:
        if msg.message_id not in self.live:
            return
        self._emit(msg)
        self._schedule(msg)

    def _schedule(self, msg: Message) -> None:
        delay = STEP_DELAYS.get(msg.state)
        if delay is not None:
            self._timers[msg.message_id] = self.clock.call_later(delay, lambda: self._advance(msg))

    def _advance(self, msg: Message) -> None:
        self._timers.pop(msg.message_id, None)
        if msg.message_id not in self.live:
            return
        if msg.state == "queued":
            self._set_state(msg, "initiated")
        elif msg.state == "initiated":
            if self.carrier.message_outcome(msg.to) == "fail":
                self._set_state(msg, "failed", REASON_FAILED)
            else:
                self._set_state(msg, "sent")
        elif msg.state == "sent":
            context = self.numbers.context_for(msg.to)
            if context is not None:  # one of the project's own numbers: it arrives as an inbound message
                self._set_state(msg, "delivered")
                self.receive(project=msg.project, from_=msg.from_, to=msg.to, body=msg.body, media=msg.media)
            elif self.carrier.message_outcome(msg.to) == "undeliverable":
                self._set_state(msg, "undelivered", REASON_UNDELIVERED)
            else:
                self._set_state(msg, "delivered")
        if msg.state not in TERMINAL:
            self._schedule(msg)

    def _set_state(self, msg: Message, state: str, reason: str | None = None) -> None:
        now = self.clock.timestamp()
        msg.state, msg.reason, msg.updated_at = state, reason, now
        msg.history.append({"state": state, "at": now, "reason": reason})
        if state in TERMINAL:
            msg.pending = False
            self.live.pop(msg.message_id, None)
        log.info(
            "message %s %s %s -> %s: %s%s",
            msg.message_id, msg.direction, msg.from_, msg.to, state, f" ({reason})" if reason else "",
        )
        self.store.message_changed(msg)
        self._emit(msg)

    # ----------------------------------------------------------------- inbound

    def receive(self, *, project: str, from_: str, to: str, body: Any, media: Any) -> Message:
        """A message from a virtual phone (or from one of the project's numbers) to a platform number."""
        if not isinstance(from_, str) or not is_phone_number(from_):
            raise bad_request(f"'from' must be an E.164 number such as +15551230000, got {from_!r}")
        if not isinstance(to, str) or not is_phone_number(to):
            raise bad_request(f"'to' must be an E.164 number such as +15551230000, got {to!r}")
        text, urls = validate_content(body, media)
        info = count_segments(text)
        context = self.numbers.context_for(to) or "default"
        now = self.clock.timestamp()
        msg = Message(
            message_id=str(uuid.uuid4()),
            project=project,
            direction="inbound",
            context=context,
            from_=from_,
            to=to,
            body=text,
            media=urls,
            segments=info.segments,
            encoding=info.encoding,
            state="received",
            created_at=now,
            updated_at=now,
            history=[{"state": "received", "at": now, "reason": None}],
        )
        self.store.message_created(msg)
        log.info("message %s inbound %s -> %s context=%r: received", msg.message_id, from_, to, context)
        self._emit(msg)
        return msg

    # ----------------------------------------------------------------- event routing

    def _target(self, msg: Message) -> Subscriber | None:
        """Who gets this message's event: its consumer so far, the sender, or one subscriber in turn."""
        event_type = "messaging.receive" if msg.direction == "inbound" else "messaging.state"
        for candidate in (msg.consumer, msg.sender):
            sub = self.router.get(candidate) if candidate else None
            if sub is not None and sub.online and msg.context in self.router.contexts_of(sub.id):
                return sub
        sub = self.router.pick(msg.project, msg.context, event_type=event_type)
        if sub is None:  # a v4 sender's own protocol is its default context: deliver (or buffer) there
            own = self.router.get(msg.context)
            if own is not None and own.project == msg.project:
                return own
        return sub

    def _emit(self, msg: Message) -> None:
        key = (msg.project, msg.context)
        event = msg.event()
        waiting = self._waiting.get(key)
        sub = None if waiting else self._target(msg)  # keep order behind events already waiting
        if sub is None:
            queue = self._waiting.setdefault(key, deque())
            queue.append((msg, event))
            log.info("message %s: %s waits for a consumer of context %r", msg.message_id, msg.state, msg.context)
            expires = msg.created_at + self.pending_ttl - self.clock.timestamp()
            self.clock.call_later(expires, lambda: self._expire(key, msg, event))
            return
        self._hand_over(sub, msg, event)

    def _hand_over(self, sub: Subscriber, msg: Message, event: Event) -> None:
        msg.consumer = sub.id
        sub.deliver(event)
        if msg.direction == "inbound" and msg.pending:
            msg.pending = False
            self.store.message_changed(msg)
            log.info("message %s inbound delivered to session %s (context %r)", msg.message_id, sub.id, msg.context)

    def _expire(self, key: tuple[str, str], msg: Message, event: Event) -> None:
        queue = self._waiting.get(key)
        if not queue:
            return
        for i, (_, waiting) in enumerate(queue):
            if waiting is event:
                del queue[i]
                break
        else:
            return
        if not queue:
            del self._waiting[key]
        state = event.params.get("message_state")
        log.info("message %s: nobody consumed context %r in time; %s event dropped", msg.message_id, key[1], state)
        if msg.direction == "inbound" and msg.pending:
            msg.pending = False
            msg.reason = "expired: no consumer of the context took it"
            self.store.message_changed(msg)

    def _subscriber_available(self, sub: Subscriber, contexts: list[str]) -> None:
        for context in contexts:
            key = (sub.project, context)
            queue = self._waiting.get(key)
            while queue and sub.online:
                msg, event = queue.popleft()
                self._hand_over(sub, msg, event)
            if queue is not None and not queue:
                self._waiting.pop(key, None)

    # ----------------------------------------------------------------- restart

    def resume(self) -> int:
        """After a restart: continue interrupted progressions, queue inbound messages nobody took yet."""
        count = 0
        for msg in self.store.unfinished_messages():
            count += 1
            msg.consumer = None  # sessions did not survive the restart
            if msg.direction == "inbound":
                log.info("message %s inbound: still waiting for a consumer of context %r", msg.message_id,
                         msg.context)
                self._emit(msg)
            else:
                log.info("message %s outbound: resuming from %s", msg.message_id, msg.state)
                self.live[msg.message_id] = msg
                self._schedule(msg)
        return count

    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())
