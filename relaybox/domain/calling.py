"""Calls: inbound offers to one consumer of a context, outbound dials, answer, end and pass.

Commands return their reply at once; what they cause is scheduled with `call_soon`, so every event
goes out after the reply, as the clients expect.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from relaybox.clock import Clock
from relaybox.domain.calls import END_REASONS, Call, CallState
from relaybox.domain.devices import leg_timeout, normalize_device, normalize_groups
from relaybox.domain.errors import RelayError, bad_request, not_found
from relaybox.domain.legs import CallHistory, LegListener, Network
from relaybox.domain.params import opt_number, opt_str, req_str
from relaybox.domain.routing import Router, Subscriber
from relaybox.protocol.events import Event

log = logging.getLogger("relaybox.calls")

Handler = Callable[[Subscriber, dict[str, Any]], dict[str, Any]]
INBOUND_TIMEOUT = 60.0  # platform seconds an inbound call rings while nobody answers it


def ok(message: str, **extra: Any) -> dict[str, Any]:
    return {"code": "200", "message": message, **extra}


class _DialGroup:
    """Devices rung in parallel: resolves with the first leg to answer, or None when all have ended."""

    def __init__(self, legs: list[Call]) -> None:
        self.legs = legs
        self.result: asyncio.Future[Call | None] = asyncio.get_running_loop().create_future()

    def changed(self, call: Call) -> None:
        if self.result.done():
            return
        if call.state is CallState.ANSWERED:
            self.result.set_result(call)
        elif all(leg.state is CallState.ENDED for leg in self.legs):
            self.result.set_result(None)


class Calling(LegListener):
    def __init__(
        self,
        *,
        clock: Clock,
        router: Router,
        network: Network,
        history: CallHistory,
        node_id: str,
        inbound_timeout: float = INBOUND_TIMEOUT,
    ) -> None:
        self.clock = clock
        self.router = router
        self.network = network
        self.history = history
        self.node_id = node_id
        self.inbound_timeout = inbound_timeout
        self.calls: dict[str, Call] = {}
        self._owned: dict[str, set[str]] = {}
        self._pending: dict[tuple[str, str], list[Call]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # called as a call starts ending, before its `ending` event: running media actions send their
        # final events first, as the clients need
        self.end_hooks: list[Callable[[Call], None]] = []
        router.on_available(self._subscriber_available)

    def handlers(self) -> dict[str, Handler]:
        return {
            "calling.begin": self.begin,
            "calling.dial": self.dial,
            "calling.answer": self.answer,
            "calling.end": self.end,
            "calling.pass": self.pass_,
        }

    # ----------------------------------------------------------------- commands

    def begin(self, sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        """v2 Python's single-device dial; answers with the new leg's ids."""
        device = normalize_device(params.get("device"), "device")
        tag = opt_str(params, "tag") or str(uuid.uuid4())
        legs = self._start_dial(sub, tag, [[device]], max_duration=None)
        return ok("Dialing", call_id=legs[0].call_id, node_id=self.node_id, tag=tag)

    def dial(self, sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        groups = normalize_groups(params.get("devices"))
        tag = opt_str(params, "tag") or str(uuid.uuid4())
        max_duration = opt_number(params, "max_duration", low=1)
        self._start_dial(sub, tag, groups, max_duration=max_duration)
        return ok("Dialing")

    def answer(self, sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        call = self.command_target(sub, params)
        self._soon(self._answer, call)
        return ok("Answering call", call_id=call.call_id)

    def end(self, sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        call = self.command_target(sub, params)
        reason = opt_str(params, "reason", "hangup") or "hangup"
        if reason not in END_REASONS:
            raise bad_request(f"'reason' must be one of {', '.join(sorted(END_REASONS))}")
        self._soon(self.end_call, call, reason, "hung up by the application")
        return ok("Disconnecting call", call_id=call.call_id)

    def pass_(self, sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        call = self.command_target(sub, params, acting=False)
        if call.direction != "inbound" or call.state not in (CallState.CREATED, CallState.RINGING):
            raise RelayError("409", "Only an inbound call that has not been answered can be passed")
        if call.owner != sub.id:
            raise RelayError("409", "This session does not hold the call")
        call.passed_by.add(sub.id)
        self._set_owner(call, None)
        call.acted = False
        log.info("call %s passed by %s", call.call_id, sub.id)
        self._soon(self._offer, call)
        return ok("Passing call", call_id=call.call_id)

    def command_target(self, sub: Subscriber, params: dict[str, Any], *, acting: bool = True) -> Call:
        """The live call a command names; commands on unknown or ended calls get a 404."""
        call_id = req_str(params, "call_id")
        call = self.calls.get(call_id)
        if call is None or call.project != sub.project:
            raise not_found("Call does not exist")
        if call.state is CallState.ENDED:
            raise not_found("Call has ended")
        if acting:
            call.acted = True
            if call.owner is None or (call.owner != sub.id and self.router.get(call.owner) is None):
                self._set_owner(call, sub.id)
        return call

    # ----------------------------------------------------------------- inbound

    def inbound(self, *, project: str, device: dict[str, Any], context: str, leg: Any) -> Call:
        """A call arrives from an engine: offer it to exactly one consumer of its context."""
        call = Call(
            call_id=str(uuid.uuid4()),
            node_id=self.node_id,
            project=project,
            direction="inbound",
            device=device,
            context=context,
            created_at=self.clock.now(),
            leg=leg,
        )
        self.calls[call.call_id] = call
        self.history.call_created(call)
        log.info("call %s inbound %s -> %s context=%s: created", call.call_id, call.from_, call.to, context)
        self._set_state(call, CallState.RINGING)
        call.timer = self.clock.call_later(self.inbound_timeout, lambda: self._inbound_timeout(call))
        self._offer(call)
        return call

    def _offer(self, call: Call, exclude: frozenset[str] = frozenset()) -> None:
        """Give the call to one online consumer of its context; without one, it waits in the queue."""
        if call.state not in (CallState.CREATED, CallState.RINGING):
            return
        holder = self.router.get(call.owner) if call.owner else None
        if holder is not None and holder.online:
            return
        sub = self.router.pick(
            call.project, call.context, event_type="calling.call.receive", exclude=call.passed_by | exclude
        )
        if sub is None:
            pending = self._pending.setdefault((call.project, call.context), [])
            if call not in pending:
                pending.append(call)
                log.info("call %s waits for a consumer of context %r", call.call_id, call.context)
            return
        self._unqueue(call)
        self._set_owner(call, sub.id)
        call.acted = False
        call.offered = True
        log.info("call %s offered to session %s (context %r)", call.call_id, sub.id, call.context)
        sub.deliver(Event("calling.call.receive", call.receive_params(), context=call.context))

    def _subscriber_available(self, sub: Subscriber, contexts: list[str]) -> None:
        for context in contexts:
            for call in list(self._pending.get((sub.project, context), ())):
                if call.owner == sub.id:  # its holder is back: its own events (re)deliver the offer
                    self._unqueue(call)
                else:
                    self._offer(call)

    def _unqueue(self, call: Call) -> None:
        pending = self._pending.get((call.project, call.context))
        if pending and call in pending:
            pending.remove(call)
            if not pending:
                del self._pending[(call.project, call.context)]

    def subscriber_offline(self, sub_id: str) -> None:
        """A session lost its socket: calls it had not acted on go to another consumer now, or to
        whoever comes first (the same session resuming keeps them)."""
        for call_id in list(self._owned.get(sub_id, ())):
            call = self.calls.get(call_id)
            if (
                call
                and call.direction == "inbound"
                and not call.acted
                and call.state in (CallState.CREATED, CallState.RINGING)
            ):
                log.info("call %s: session %s went away before acting, offering again", call_id, sub_id)
                self._offer(call, exclude=frozenset({sub_id}))

    def subscriber_gone(self, sub_id: str) -> None:
        """A session is gone for good: re-offer what it never touched, end what it controlled."""
        for call_id in list(self._owned.get(sub_id, ())):
            call = self.calls.get(call_id)
            if call is None or call.is_over:
                continue
            if call.direction == "inbound" and not call.acted and call.state in (
                CallState.CREATED, CallState.RINGING
            ):
                self._set_owner(call, None)
                self._offer(call)
            else:
                self.end_call(call, "hangup", f"session {sub_id} closed")
        self._owned.pop(sub_id, None)

    def _inbound_timeout(self, call: Call) -> None:
        if call.state in (CallState.CREATED, CallState.RINGING):
            if call.offered:
                self.end_call(call, "noAnswer", "nobody answered")
            else:
                self.end_call(call, "error", f"no consumer is receiving context {call.context!r}")

    # ----------------------------------------------------------------- outbound

    def _start_dial(
        self, sub: Subscriber, tag: str, groups: list[list[dict[str, Any]]], *, max_duration: float | None
    ) -> list[Call]:
        first = [self._new_leg(sub, tag, device, max_duration) for device in groups[0]]
        task = asyncio.get_running_loop().create_task(self._run_dial(sub.id, sub.project, tag, groups, first))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return first

    def _new_leg(self, sub: Subscriber, tag: str, device: dict[str, Any], max_duration: float | None) -> Call:
        call = Call(
            call_id=str(uuid.uuid4()),
            node_id=self.node_id,
            project=sub.project,
            direction="outbound",
            device=device,
            context=next(iter(sorted(self.router.contexts_of(sub.id))), "default"),
            tag=tag,
            created_by="dial",
            created_at=self.clock.now(),
            max_duration=max_duration or device["params"].get("max_duration"),
        )
        call.acted = True
        self.calls[call.call_id] = call
        self._set_owner(call, sub.id)
        return call

    async def _run_dial(
        self, owner: str, project: str, tag: str, groups: list[list[dict[str, Any]]], first: list[Call]
    ) -> None:
        self._emit_to(owner, "calling.call.dial", {"dial_state": "dialing", "tag": tag, "node_id": self.node_id})
        last_reason = "error"
        for index, devices in enumerate(groups):
            if index == 0:
                legs = first
            else:
                sub = self.router.get(owner)
                if sub is None:
                    return
                legs = [self._new_leg(sub, tag, device, first[0].max_duration) for device in devices]
            group = _DialGroup(legs)
            for call in legs:
                call.waiters.append(group)
                self._place(call)
            winner = await group.result
            if winner is not None:
                for call in legs:
                    if call is not winner:
                        self.end_call(call, "cancel", "another device answered")
                info = {**winner.info(), "dial_winner": True}
                self._emit_to(
                    owner,
                    "calling.call.dial",
                    {"dial_state": "answered", "tag": tag, "node_id": self.node_id, "call": info},
                )
                return
            last_reason = legs[-1].end_reason or last_reason
        self._emit_to(
            owner,
            "calling.call.dial",
            {"dial_state": "failed", "tag": tag, "node_id": self.node_id, "reason": last_reason},
        )

    def place_leg(self, sub: Subscriber, device: dict[str, Any], *, tag: str, peer: dict[str, Any]) -> Call:
        """Place one more outbound leg for SUB on behalf of another call (connect): its state events
        carry `peer`, and it rings and ends like a dialed leg."""
        call = self._new_leg(sub, tag, device, None)
        call.peer = peer
        self._place(call)
        return call

    def _place(self, call: Call) -> None:
        self.history.call_created(call)
        log.info("call %s outbound %s -> %s tag=%s: created", call.call_id, call.from_, call.to, call.tag)
        self._emit(call, "calling.call.state", call.state_params())
        call.timer = self.clock.call_later(leg_timeout(call.device), lambda: self._ring_timeout(call))
        call.leg = self.network.place(call, self)

    def _ring_timeout(self, call: Call) -> None:
        if call.state in (CallState.CREATED, CallState.RINGING):
            self.end_call(call, "noAnswer", "the device did not answer in time")

    # ----------------------------------------------------------------- engine callbacks

    def leg_ringing(self, call: Call) -> None:
        if call.state is CallState.CREATED:
            self._set_state(call, CallState.RINGING)

    def leg_answered(self, call: Call) -> None:
        if call.state in (CallState.CREATED, CallState.RINGING):
            self._answered(call)

    def leg_ended(self, call: Call, reason: str, detail: str | None = None) -> None:
        """The far end hung up, refused or failed."""
        if call.is_over:
            return
        log.info("call %s: far end ended the call (%s)", call.call_id, reason)
        self._finish(call, reason, detail)

    # ----------------------------------------------------------------- transitions

    def _answer(self, call: Call) -> None:
        if call.state in (CallState.CREATED, CallState.RINGING):
            if call.leg is not None:
                call.leg.answer()
            self._answered(call)
        elif call.state is CallState.ANSWERED:
            self._emit(call, "calling.call.state", call.state_params())  # let a late answer() resolve

    def _answered(self, call: Call) -> None:
        self._cancel_timer(call)
        self._set_state(call, CallState.ANSWERED)
        if call.max_duration:
            call.timer = self.clock.call_later(
                call.max_duration, lambda: self.end_call(call, "max_duration", "maximum duration reached")
            )

    def end_call(self, call: Call, reason: str, detail: str | None = None) -> None:
        """The platform side ends the call (application hang-up, timeouts, shutdown)."""
        if call.is_over:
            return
        if call.leg is not None:
            call.leg.hangup(reason, detail)
        self._finish(call, reason, detail)

    def _finish(self, call: Call, reason: str, detail: str | None) -> None:
        self._cancel_timer(call)
        for hook in list(self.end_hooks):
            try:
                hook(call)
            except Exception:  # a media action's bug must not keep the call from ending
                log.exception("call %s: end hook failed", call.call_id)
        if detail:
            log.info("call %s ending: %s (%s)", call.call_id, reason, detail)
        self._set_state(call, CallState.ENDING, reason)
        self._set_state(call, CallState.ENDED, reason)

    def _set_state(self, call: Call, state: CallState, reason: str | None = None) -> None:
        call.advance(state, self.clock.now(), reason)
        log.info(
            "call %s %s -> %s%s", call.call_id, call.direction, state.value,
            f" ({call.end_reason})" if state in (CallState.ENDING, CallState.ENDED) else "",
        )
        if state in (CallState.ANSWERED, CallState.ENDED):
            self.history.call_changed(call)
        if call.owner is not None:
            self._emit(call, "calling.call.state", call.state_params())
        for waiter in list(call.waiters):
            waiter.changed(call)
        if state is CallState.ENDED:
            self._forget(call)

    def _forget(self, call: Call) -> None:
        self.calls.pop(call.call_id, None)
        self._set_owner(call, None)
        self._unqueue(call)
        call.waiters.clear()

    # ----------------------------------------------------------------- helpers

    def end_all(self, reason: str, detail: str) -> int:
        calls = [c for c in self.calls.values() if not c.is_over]
        for call in calls:
            self.end_call(call, reason, detail)
        return len(calls)

    def _set_owner(self, call: Call, owner: str | None) -> None:
        if call.owner is not None:
            owned = self._owned.get(call.owner)
            if owned is not None:
                owned.discard(call.call_id)
                if not owned:
                    del self._owned[call.owner]
        call.owner = owner
        if owner is not None:
            self._owned.setdefault(owner, set()).add(call.call_id)

    def owned_by(self, sub_id: str) -> list[Call]:
        return [self.calls[c] for c in self._owned.get(sub_id, ()) if c in self.calls]

    def adopt(self, old_owner: str, new_owner: str) -> int:
        """Move every call of a session that reconnected under a new protocol to the new session."""
        calls = self.owned_by(old_owner)
        for call in calls:
            self._set_owner(call, new_owner)
        return len(calls)

    def _emit(self, call: Call, event_type: str, params: dict[str, Any]) -> None:
        self.router.send(call.owner, Event(event_type, params))

    def _emit_to(self, owner: str, event_type: str, params: dict[str, Any]) -> None:
        self.router.send(owner, Event(event_type, params))

    def _cancel_timer(self, call: Call) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def _soon(self, fn: Callable[..., None], *args: Any) -> None:
        asyncio.get_running_loop().call_soon(fn, *args)
