"""The sandbox: a network of scriptable virtual phones, deterministic on the platform clock.

Every phone call is a `PhoneCall`: the far end of one platform call, running its script step by
step and keeping a transcript of what it did, saw and heard. The engine is symbolic: it knows that
"TTS 'Welcome'" was played without rendering audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

from relaybox.clock import Clock
from relaybox.domain.calls import Call, CallState
from relaybox.domain.devices import is_phone_number
from relaybox.domain.legs import LegListener, MediaSink, NumberDirectory, ReferListener
from relaybox.engines.script import DEFAULT_CALLEE, Role, validate_script

if TYPE_CHECKING:
    from relaybox.domain.calling import Calling

log = logging.getLogger("relaybox.sandbox")

MAX_KEPT_CALLS = 10_000  # finished phone calls kept for GET /api/sandbox/calls
SPEECH_CHARS_PER_SECOND = 15.0  # how fast a virtual phone talks (`say`, a machine's greeting)
DTMF_SECONDS = 0.1  # one key press; the same gap follows it
PAUSES = {"w": 0.5, "W": 1.0}  # DTMF pause characters
BEEP_SECONDS = 0.5
REFER_SECONDS = 0.1  # the phone accepting a REFER (202)
REFER_RING_SECONDS = 30.0  # a referred-to phone that does not answer: noAnswer


def speech_seconds(text: str) -> float:
    """How long a virtual phone takes to say TEXT."""
    return max(0.4, len(text.strip()) / SPEECH_CHARS_PER_SECOND)


class PhoneCall:
    """One virtual phone's side of a call (a `Leg` for the domain)."""

    def __init__(
        self, net: VirtualNetwork, role: Role, number: str, script: list[dict[str, Any]], call: Call | None = None
    ) -> None:
        self.net = net
        self.id = "sbx-" + uuid.uuid4().hex[:16]
        self.role = role
        self.number = number
        self.script = script
        self.call: Call | None = call
        self.listener: LegListener | None = None
        self.transcript: list[dict[str, Any]] = []
        self.t0 = net.clock.now()
        self.answered = False
        self.over = False
        self._signals: Counter[str] = Counter()
        self._used: Counter[str] = Counter()
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.media_sink: MediaSink | None = None
        self._voice: tuple[str, float, float, bool] | None = None  # the last utterance: text, start, end, machine
        self._beeped = False
        self._fax: tuple[str, int] | None = None  # the fax tone it sends and the pages it has
        # a phone called by another phone after a REFER: no platform call, its state is its own
        self.referral: dict[str, Any] | None = None
        self.on_referral: Any = None  # (state, reason) -> None, for the REFER's NOTIFY
        self.end_reason: str | None = None
        self.referred: list[PhoneCall] = []  # the calls this phone placed after a REFER

    # -- what the platform does to the phone (Leg) --------------------------------------------

    def answer(self) -> None:
        self.answered = True
        self.note(saw="answer")
        self.signal("answer")

    def hangup(self, reason: str, detail: str | None = None) -> None:
        self._over("platform", reason, detail)

    # -- media (MediaLeg): the sandbox is symbolic, what is played is noted, not rendered ---------

    def attach_media(self, sink: MediaSink) -> None:
        self.media_sink = sink
        if self._voice is not None:
            text, start, end, machine = self._voice
            if machine or end > self.net.clock.now():  # a machine keeps being one; speech in progress
                sink.voice(text, start, end, machine)
                if self._beeped:
                    sink.beep()
        if self._fax is not None:
            sink.fax_tone(*self._fax)

    def hear(self, entry: dict[str, Any]) -> None:
        if not self.over:
            self.note(heard=entry)

    def cue(self, name: str) -> None:
        if not self.over:
            self.signal(name)

    # -- SIP REFER (ReferLeg): the phone calls the Refer-To target itself --------------------------

    def refer(self, to: str, headers: list[dict[str, str]], listener: ReferListener) -> None:
        self.note(heard={"type": "refer", "to": to})
        self.net.clock.call_later(REFER_SECONDS, lambda: self._refer(to, headers, listener))

    def _refer(self, to: str, headers: list[dict[str, str]], listener: ReferListener) -> None:
        if self.over:
            listener.refer_state("error", "481", "")
            return
        listener.refer_state("inProgress", "202", "100")
        self.net.refer_call(self, to, headers, listener)

    # -- what the phone does ------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def note(self, **entry: Any) -> None:
        self.transcript.append({"t": round(self.net.clock.now() - self.t0, 3), **entry})

    def signal(self, name: str) -> None:
        """Something the phone can `wait_for` happened (answer, hangup, prompt, play, silence)."""
        self._signals[name] += 1
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _wait_for(self, name: str) -> None:
        while not self.over:
            if name == "answer" and self.answered:
                return
            if self._signals[name] > self._used[name]:
                self._used[name] += 1
                return
            self._wake = asyncio.get_running_loop().create_future()
            await self._wake

    async def _run(self) -> None:
        try:
            for step in self.script:
                if self.over:
                    return
                await self._step(step)
            if not self.over and self.role == "callee" and not self.answered:
                self._ringing()  # ran out of steps without answering: ring until the caller gives up
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug in a step must not take the server down
            log.exception("phone %s: script failed", self.number)
            self._ended_by_phone("error", "the virtual phone's script failed")

    async def _step(self, step: dict[str, Any]) -> None:
        (kind, value), = step.items()
        self.note(did=step)
        if kind == "ring":
            self._ringing()
            await self.net.clock.sleep(value)
        elif kind == "answer":
            if not self.answered and self.call is not None and self.listener is not None:
                self.answered = True
                self.listener.leg_answered(self.call)
            elif not self.answered and self.referral is not None:
                self.answered = True
                self.referral["state"] = "answered"
                if self.on_referral is not None:
                    self.on_referral("answered", None)
        elif kind == "reject":
            self._ended_by_phone(value)
        elif kind == "no_answer":
            self._ringing()
            await self._wait_for("hangup")
        elif kind == "wait":
            await self.net.clock.sleep(value)
        elif kind == "wait_for":
            await self._wait_for(value)
        elif kind == "hangup":
            if self.answered:
                self._ended_by_phone("hangup")
            else:
                self._ended_by_phone("cancel" if self.role == "caller" else "decline")
        elif kind == "press":
            await self._press(value)
        elif kind == "say":
            await self._say(value, machine=False)
        elif kind == "machine":
            await self._say(value["greeting"], machine=True)
            if value["beep"] and not self.over:
                self._beeped = True
                if self.media_sink is not None:
                    self.media_sink.beep()
                await self.net.clock.sleep(BEEP_SECONDS)
        elif kind == "fax":
            self._fax = ("CED" if self.role == "callee" else "CNG", value["pages"])
            if self.media_sink is not None:
                self.media_sink.fax_tone(*self._fax)

    async def _press(self, digits: str) -> None:
        for char in digits:
            if self.over:
                return
            if char in PAUSES:
                await self.net.clock.sleep(PAUSES[char])
                continue
            if self.media_sink is not None:
                self.media_sink.dtmf(char.upper())
            await self.net.clock.sleep(2 * DTMF_SECONDS)

    async def _say(self, text: str, machine: bool) -> None:
        start = self.net.clock.now()
        end = start + speech_seconds(text)
        self._voice = (text, start, end, machine)
        self._beeped = False
        if self.media_sink is not None:
            self.media_sink.voice(text, start, end, machine)
        await self.net.clock.sleep(end - start)

    def _ringing(self) -> None:
        if self.call is not None and self.listener is not None and self.call.state is CallState.CREATED:
            self.listener.leg_ringing(self.call)
        elif self.referral is not None and self.referral["state"] == "created":
            self.referral["state"] = "ringing"

    def _ended_by_phone(self, reason: str, detail: str | None = None) -> None:
        if self.over:
            return
        self._over("phone", reason, detail)
        if self.call is not None and self.listener is not None:
            self.listener.leg_ended(self.call, reason, detail)
        elif self.on_referral is not None:
            self.on_referral("ended", reason)

    def _over(self, by: str, reason: str, detail: str | None) -> None:
        if self.over:
            return
        self.over = True
        self.end_reason = reason
        if self.referral is not None:
            self.referral["state"] = "ended"
        entry: dict[str, Any] = {"by": by, "reason": reason}
        if detail:
            entry["detail"] = detail
        self.note(hangup=entry)
        self.signal("hangup")
        for other in self.referred:  # the transferred call has nobody else to hang it up
            other._ended_by_phone("hangup")
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self.net.finished(self)

    # -- the view the sandbox API gives ---------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        if self.referral is not None:
            return {
                "id": self.id, "call_id": None, "from": self.referral["from"], "to": self.number,
                "direction": "inbound", "state": self.referral["state"], "end_reason": self.end_reason,
                "referred_by": self.referral["referred_by"], "headers": self.referral["headers"],
                "transcript": list(self.transcript),
            }
        call = self.call
        params = call.device.get("params", {}) if call else {}
        out: dict[str, Any] = {
            "id": self.id,
            "call_id": call.call_id if call else None,
            "from": call.from_ if call else None,
            "to": call.to if call else self.number,
            "direction": call.direction if call else None,
            "state": call.state.value if call else "ended",
            "end_reason": call.end_reason if call and call.state is CallState.ENDED else None,
            "transcript": list(self.transcript),
        }
        if call and call.device.get("type") == "sip":
            out["headers"] = params.get("headers", [])
            out["codecs"] = params.get("codecs", [])
        return out


class VirtualNetwork:
    """Virtual phones: scripts per number, calls placed to them, calls they place into the platform."""

    def __init__(self, clock: Clock, numbers: NumberDirectory, scripts: dict[str, list[dict[str, Any]]]) -> None:
        self.clock = clock
        self.numbers = numbers
        self.scripts = scripts  # number -> validated callee script (custom ones only)
        self.calling: Calling | None = None
        self.calls: dict[str, PhoneCall] = {}
        self._done: deque[str] = deque()

    def script_for(self, number: str) -> list[dict[str, Any]]:
        return self.scripts.get(number, DEFAULT_CALLEE)

    def set_script(self, number: str, script: Any) -> list[dict[str, Any]]:
        steps = validate_script(script, "callee")
        self.scripts[number] = steps
        return steps

    # Network: the platform calls a phone
    def place(self, call: Call, listener: LegListener) -> PhoneCall:
        number = call.to
        phone = PhoneCall(self, "callee", number, self.script_for(number), call)
        phone.listener = listener
        self.calls[phone.id] = phone
        log.info("phone %s: incoming call %s from %s", number, call.call_id, call.from_)
        phone.start()
        return phone

    def originate(
        self,
        *,
        project: str,
        from_: str,
        to: str,
        script: Any,
        context: str | None = None,
        headers: list[dict[str, str]] | None = None,
    ) -> PhoneCall:
        """A phone calls into the platform."""
        assert self.calling is not None, "the sandbox is not attached to the calling domain"
        steps = validate_script(script if script is not None else [], "caller")
        device: dict[str, Any]
        if is_phone_number(to) and is_phone_number(from_):
            device = {"type": "phone", "params": {"from_number": from_, "to_number": to}}
        else:
            device = {"type": "sip", "params": {"from": from_, "to": to, "headers": headers or []}}
        phone = PhoneCall(self, "caller", from_, steps)
        self.calls[phone.id] = phone
        routed = context or self.numbers.context_for(to) or "default"
        phone.listener = self.calling
        phone.call = self.calling.inbound(project=project, device=device, context=routed, leg=phone)
        if phone.call.state is CallState.RINGING:
            phone.note(heard={"type": "ringback"})
        if not phone.over:
            phone.start()
        return phone

    def refer_call(self, by: PhoneCall, to: str, headers: list[dict[str, str]], listener: ReferListener) -> None:
        """BY was REFERred to TO: it calls the virtual phone there; the outcome is the REFER's NOTIFY."""
        target = PhoneCall(self, "callee", to, self.script_for(to))
        frm = by.number if by.call is None else (by.call.to if by.role == "callee" else by.call.from_)
        target.referral = {"from": frm, "referred_by": by.id, "headers": headers, "state": "created"}
        self.calls[target.id] = target
        outcomes = {"busy": ("busy", "486"), "decline": ("error", "603"), "noAnswer": ("noAnswer", "408")}

        def outcome(state: str, reason: str | None) -> None:
            if done.is_set():
                return
            done.set()
            timer.cancel()
            if state == "answered":
                listener.refer_state("success", "202", "200")
            else:
                state, notify = outcomes.get(reason or "", ("cancel", "487"))
                listener.refer_state(state, "202", notify)

        def ring_out() -> None:
            if not target.over:
                target._over("platform", "noAnswer", None)
                outcome("ended", "noAnswer")

        done = asyncio.Event()
        timer = self.clock.call_later(REFER_RING_SECONDS, ring_out)
        target.on_referral = outcome
        by.referred.append(target)
        log.info("phone %s: referred to %s", by.number, to)
        target.start()

    def finished(self, phone: PhoneCall) -> None:
        self._done.append(phone.id)
        while len(self.calls) > MAX_KEPT_CALLS and self._done:
            self.calls.pop(self._done.popleft(), None)

    def get(self, sandbox_id: str) -> PhoneCall | None:
        return self.calls.get(sandbox_id)

    def calls_for(self, number: str) -> list[PhoneCall]:
        return [
            p for p in self.calls.values()
            if (p.call is not None and number in (p.call.to, p.call.from_))
            or (p.referral is not None and number in (p.number, p.referral["from"]))
        ]

    async def close(self) -> None:
        tasks = [p._task for p in self.calls.values() if p._task is not None and not p._task.done()]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
