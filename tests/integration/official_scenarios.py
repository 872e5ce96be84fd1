"""Scenarios shared by the test_official_*.py files: one official client against a live relaybox.

Each function drives the client scripts of tests/clients/<flavor>/ (see tests/clients/README.md for the lines
they print) and checks both what the client reported and what the sandbox's virtual phone saw.
"""

from __future__ import annotations

import re
import time
from typing import Any

CALLER = "+15551110000"  # the virtual phone that calls in / the caller id used when dialing out
OFFICE = "+15552220000"  # number routed to context "office"
ANSWERS = "+15553330000"  # virtual phone that rings 1 s and answers
BUSY = "+15554440000"  # virtual phone that rings 0.5 s and rejects busy
CONTEXT = "office"


# -- transcript helpers -------------------------------------------------------------------------------------


def transcript(call: dict[str, Any]) -> list[dict[str, Any]]:
    entries = call.get("transcript")
    assert isinstance(entries, list), f"sandbox call has no transcript list: {call}"
    for entry in entries:
        assert isinstance(entry, dict) and isinstance(entry.get("t"), int | float), (
            f"transcript entry without a numeric 't': {entry!r} in {call}"
        )
    return entries


def hangups(call: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["hangup"] for e in transcript(call) if "hangup" in e]


def did(call: dict[str, Any], step: dict[str, Any]) -> bool:
    return any(e.get("did") == step for e in transcript(call))


def saw(call: dict[str, Any], what: str) -> bool:
    return any(e.get("saw") == what for e in transcript(call))


def assert_platform_hung_up(call: dict[str, Any], reason: str = "hangup") -> None:
    assert call["state"] == "ended", f"sandbox call not ended: {call}"
    assert call["end_reason"] == reason, f"end_reason {call['end_reason']!r}, expected {reason!r}: {call}"
    hs = hangups(call)
    assert hs, f"no hangup entry in the transcript: {call}"
    assert any(h.get("by") == "platform" and h.get("reason") == reason for h in hs), (
        f"expected a transcript entry {{'hangup': {{'by': 'platform', 'reason': {reason!r}}}}}: {call}"
    )


def line_for(lines: list[str], pattern: str) -> str | None:
    rx = re.compile(pattern)
    return next((line for line in lines if rx.search(line)), None)


# -- scenarios ----------------------------------------------------------------------------------------------


def inbound_answer_hangup(box: Any, clients: Any, flavor: str, hangup_word: str = "hangup") -> None:
    """A virtual phone calls a number routed to `office`; the client's consumer answers and hangs up.

    hangup_word: what the client prints after `HANGUP <id> True` (the end reason; v4 Node prints the state).
    """
    box.add_number(OFFICE, CONTEXT)
    consumer = clients.start(flavor, "consumer", env={"CONTEXT": CONTEXT, "CALLS": "1"})
    consumer.wait_for(r"^READY\b", timeout=20)

    placed = box.place_call(CALLER, OFFICE, script=[{"wait_for": "hangup"}])
    cid = re.escape(placed["call_id"])
    consumer.wait_for(rf"^HANGUP {cid} ", timeout=15)

    lines = consumer.lines
    inbound = [line for line in lines if line.startswith("INBOUND CALL ")]
    assert inbound == [f"INBOUND CALL {placed['call_id']} {CALLER} {OFFICE}"], (
        f"expected one inbound call {placed['call_id']} {CALLER} -> {OFFICE}; client printed:\n" + "\n".join(lines)
    )
    assert f"ANSWERED {placed['call_id']} True" in lines, "answer did not succeed:\n" + "\n".join(lines)
    assert f"HANGUP {placed['call_id']} True {hangup_word}" in lines, (
        f"expected 'HANGUP {placed['call_id']} True {hangup_word}':\n" + "\n".join(lines)
    )
    assert not [line for line in lines if line.startswith(("ERROR", "SCRIPT TIMEOUT"))], "\n".join(lines)

    call = box.wait_sandbox_ended(placed["id"])
    assert call["call_id"] == placed["call_id"], call
    assert call["from"] == CALLER and call["to"] == OFFICE, call
    assert saw(call, "answer"), f"the phone did not see the answer: {call}"
    assert_platform_hung_up(call)

    # CALLS=1: the consumer leaves on its own (else the harness stops it with SIGTERM at teardown)
    status = consumer.wait(10)
    assert status == 0, f"consumer did not exit 0 by itself after CALLS=1 (status {status})\n" + consumer.describe()


def outbound_answered(box: Any, clients: Any, flavor: str, host_argument: bool = False) -> Any:
    """The client dials a virtual phone that rings 1 s and answers; the client then hangs up."""
    box.set_phone(ANSWERS, [{"ring": 1}, {"answer": True}])
    result = clients.run(flavor, "dial", env={"FROM": CALLER, "TO": ANSWERS}, host_argument=host_argument)
    assert not result.timed_out, result.describe()
    assert "DIAL successful: True" in result.lines, result.describe()
    assert result.find(r"^HANGUP True\b"), result.describe()
    assert result.returncode == 0, result.describe()

    calls = box.sandbox_calls(ANSWERS)
    assert len(calls) == 1, f"expected one sandbox call for {ANSWERS}: {calls}"
    call = box.wait_sandbox_ended(calls[0]["id"])
    assert call["direction"] == "outbound", call
    assert call["from"] == CALLER and call["to"] == ANSWERS, call
    assert did(call, {"answer": True}), f"transcript lacks {{'did': {{'answer': true}}}}: {call}"
    assert_platform_hung_up(call)
    m = result.find(r"^CALL (\S+) ")
    assert m and m.group(1) == call["call_id"], (
        f"client's call id {m and m.group(1)!r} != sandbox call_id {call['call_id']!r}\n{result.describe()}"
    )
    return result


def outbound_busy(box: Any, clients: Any, flavor: str) -> Any:
    """The client dials a virtual phone that rings 0.5 s and rejects busy: the dial fails."""
    box.set_phone(BUSY, [{"ring": 0.5}, {"reject": "busy"}])
    result = clients.run(flavor, "dial", env={"FROM": CALLER, "TO": BUSY})
    assert not result.timed_out, result.describe()
    assert "DIAL successful: False" in result.lines, result.describe()
    assert result.returncode == 0, result.describe()

    calls = box.sandbox_calls(BUSY)
    assert len(calls) == 1, f"expected one sandbox call for {BUSY}: {calls}"
    call = box.wait_sandbox_ended(calls[0]["id"])
    assert call["direction"] == "outbound", call
    assert call["end_reason"] == "busy", call
    assert did(call, {"reject": "busy"}), f"transcript lacks {{'did': {{'reject': 'busy'}}}}: {call}"
    assert not did(call, {"answer": True}), call
    return result


def two_consumers(box: Any, clients: Any, flavor: str, n_calls: int = 4) -> None:
    """Two consumer processes on one context: every call goes to exactly one of them, and both get some."""
    box.add_number(OFFICE, CONTEXT)
    env = {"CONTEXT": CONTEXT, "HOLD": "0.3"}
    a = clients.start(flavor, "consumer", env=env)
    b = clients.start(flavor, "consumer", env=env)
    a.wait_for(r"^READY\b", timeout=20)
    b.wait_for(r"^READY\b", timeout=20)
    # relaybox starts routing to a context a moment (50 ms) after acknowledging the subscription, because
    # the v2 clients register their handlers only after the acknowledgement; calls placed inside that window
    # wait and then all go to whichever session subscribed first. Let both subscriptions settle.
    time.sleep(0.3)

    placed = [box.place_call(CALLER, OFFICE, script=[{"wait_for": "hangup"}]) for _ in range(n_calls)]
    ids = [p["call_id"] for p in placed]
    assert len(set(ids)) == n_calls, f"duplicate call ids: {placed}"

    def all_hung_up() -> bool:
        lines = a.lines + b.lines
        return all(line_for(lines, rf"^HANGUP {re.escape(cid)} ") for cid in ids)

    box.wait_until(
        all_hung_up,
        timeout=20,
        message=lambda: "both consumers to hang up all calls\n" + a.describe() + "\n" + b.describe(),
    )

    per_consumer = {}
    for bg in (a, b):
        per_consumer[bg.name] = [line.split()[2] for line in bg.lines if line.startswith("INBOUND CALL ")]
    outputs = "\n" + a.describe() + "\n" + b.describe()
    for cid in ids:
        n = sum(got.count(cid) for got in per_consumer.values())
        assert n == 1, f"call {cid} was offered {n} times across the two consumers (expected exactly 1)" + outputs
    stray = [c for got in per_consumer.values() for c in got if c not in ids]
    assert not stray, f"consumers were offered calls nobody placed: {stray}" + outputs
    assert all(per_consumer.values()), f"calls were not spread over both consumers: {per_consumer}" + outputs
    for cid in ids:
        assert line_for(a.lines + b.lines, rf"^ANSWERED {re.escape(cid)} True$"), f"{cid} not answered" + outputs

    for p in placed:
        assert_platform_hung_up(box.wait_sandbox_ended(p["id"]))
