"""Network failures with the official clients: reconnect, session resume, and re-offered calls.

`POST /api/sandbox/network/drop` closes the clients' WebSockets (close code 1012) the way a network failure
would; relaybox keeps their sessions 60 s for a resume. What each official client does when the socket drops:

* v2 Node (@signalwire/node 2.6.0) reconnects after 3-6 s with its old `sessionid` in blade.connect and asks
  for its old protocol in setup: same session, so contexts and calls are kept and buffered events delivered
  (relay-v2-wire-protocol.md 3.9).
* v4 Python (signalwire-sdk) reconnects under `client.run()` after ~1 s with `protocol` and
  `authorization_state` in signalwire.connect: same session (relay-v4-wire-protocol.md 4, 9).
* v4 Node (@signalwire/realtime-api 4.2.1) reconnects after 1-4 s and sends `protocol` in signalwire.connect
  only if `protocol.split('_')[1]` equals the `authorization.signature` of the previous connect result; then it
  re-sends signalwire.receive for its topics. It never sends `authorization_state` (project/token auth).
* v2 Python (signalwire 2.1.1) reconnects after 5 s with a fresh blade.connect and `setup {}`: a NEW session
  (new protocol), and it re-sends signalwire.receive. Its old calls stay with the old session, whose events it
  never hears (it drops events for other protocols), unless a command it queued during the outage arrives
  carrying the old protocol: then relaybox moves the old session's calls to the new one.

The consumer is tests/clients/<flavor>/answer_wait.*: it answers and waits for the far end to hang up
(`CALL ENDED <id> <reason>`), or with NO_ANSWER=1 only prints the INBOUND line.
"""

from __future__ import annotations

import re
import time
from typing import Any

import official_scenarios as sc
import pytest

pytestmark = pytest.mark.official

CONTEXT = sc.CONTEXT
CALLER, OFFICE = sc.CALLER, sc.OFFICE
SETTLE = 0.3  # relaybox routes to a context 50 ms after acknowledging signalwire.receive
# the virtual phone answers' other side; at --speed 10 these are 6 s and 0.5 s of wall time
HOLD_SCRIPT = [{"wait_for": "answer"}, {"wait": 60}, {"hangup": True}]
SHORT_SCRIPT = [{"wait_for": "answer"}, {"wait": 5}, {"hangup": True}]
# what answer_wait prints after CALL ENDED <id>: the end reason, or the final state where the SDK keeps none
ENDED_WORD = {"v2_python": "hangup", "v2_node": "ended", "v4_python": "hangup", "v4_node": "ended"}
# realtime-api on reconnect when relaybox's signalwire.connect result has no `authorization` (see below)


# -- helpers -------------------------------------------------------------------------------------------------


def drop(box: Any, session: str | None = None) -> int:
    """POST /api/sandbox/network/drop; returns how many sockets were closed."""
    status, body = box.api("POST", "/api/sandbox/network/drop", {"session": session} if session else None)
    assert status == 200 and isinstance(body, dict) and isinstance(body.get("dropped"), int), (status, body)
    return body["dropped"]


def health(box: Any) -> dict[str, Any]:
    status, body = box.api("GET", "/api/health")
    assert status == 200 and isinstance(body, dict), (status, body)
    return body


def start_consumer(box: Any, clients: Any, flavor: str, **env: str) -> tuple[Any, str]:
    """Start answer_wait on CONTEXT; returns it and the protocol it printed with READY."""
    consumer = clients.start(flavor, "answer_wait", env={"CONTEXT": CONTEXT, **env})
    protocol = consumer.wait_for(r"^READY (\S+)$", timeout=20).group(1)
    time.sleep(SETTLE)
    return consumer, protocol


def answered_then_dropped(box: Any, clients: Any, flavor: str) -> tuple[Any, str, dict[str, Any], int]:
    """The consumer answers a call whose phone hangs up 6 s later; the socket is dropped right after the
    answer. Returns (consumer, protocol, placed call, index of the first output line after the drop)."""
    box.add_number(OFFICE, CONTEXT)
    consumer, protocol = start_consumer(box, clients, flavor)
    placed = box.place_call(CALLER, OFFICE, script=HOLD_SCRIPT)
    cid = re.escape(placed["call_id"])
    consumer.wait_for(rf"^INBOUND CALL {cid} {re.escape(CALLER)} {re.escape(OFFICE)}$", timeout=10)
    consumer.wait_for(rf"^ANSWERED {cid} True$", timeout=10)
    mark = len(consumer.lines)
    assert drop(box) == 1, f"expected the consumer's one socket to be dropped; health: {health(box)}"
    return consumer, protocol, placed, mark


def assert_phone_hung_up(box: Any, placed: dict[str, Any], timeout: float = 15.0) -> None:
    """The sandbox phone (not the platform) ended the call, after it saw the answer."""
    call = box.wait_sandbox_ended(placed["id"], timeout=timeout)
    assert call["end_reason"] == "hangup", call
    assert sc.saw(call, "answer"), f"the phone did not see the answer: {call}"
    assert sc.did(call, {"hangup": True}), f"the phone did not hang up itself: {call}"
    assert not any(h.get("by") == "platform" for h in sc.hangups(call)), f"the platform hung up: {call}"


def new_call_reaches(box: Any, consumer: Any, flavor: str) -> str:
    """A NEW call to the same context reaches CONSUMER, which answers it and sees the phone hang up."""
    placed = box.place_call(CALLER, OFFICE, script=SHORT_SCRIPT)
    cid = re.escape(placed["call_id"])
    consumer.wait_for(rf"^INBOUND CALL {cid} ", timeout=10)
    consumer.wait_for(rf"^ANSWERED {cid} True$", timeout=10)
    consumer.wait_for(rf"^CALL ENDED {cid} {ENDED_WORD[flavor]}$", timeout=10)
    assert_phone_hung_up(box, placed)
    return placed["call_id"]


def assert_no_errors(*bgs: Any) -> None:
    for bg in bgs:
        bad = [line for line in bg.lines if line.startswith(("ERROR", "SCRIPT TIMEOUT"))]
        assert not bad, f"{bg.name} reported errors: {bad}\n" + bg.describe()


def resumed_keeps_call_and_context(box: Any, clients: Any, flavor: str, back: str) -> None:
    """Drop after the answer; the client comes back to the SAME session (BACK: regex of the line it prints
    then, group 1 = its protocol); it sees the call end when the phone hangs up, and a new call reaches it."""
    consumer, protocol, placed, mark = answered_then_dropped(box, clients, flavor)
    cid = placed["call_id"]

    again = consumer.wait_for(back, timeout=10, start=mark).group(1)
    assert again == protocol, f"{flavor} came back with protocol {again}, expected its old {protocol}"
    h = health(box)
    assert (h["sessions"], h["connections"]) == (1, 1), f"expected one resumed session on one socket: {h}"

    # the phone hangs up 6 s after the answer (before or after the reconnect, depending on the client's
    # delay): the client's wait for the end returns either way, from a live or a buffered event
    consumer.wait_for(rf"^CALL ENDED {re.escape(cid)} {ENDED_WORD[flavor]}$", timeout=15, start=mark)
    assert_phone_hung_up(box, placed)

    # the resumed session kept its context
    new_call_reaches(box, consumer, flavor)
    assert consumer.count(r"^INBOUND CALL ") == 2, consumer.describe()
    assert_no_errors(consumer)


# -- drop after the answer: the call survives -----------------------------------------------------------------


def test_v2_node_resumes_its_session(relaybox, clients):
    """v2 Node: blade.connect {sessionid} + setup {protocol: old} -> same protocol; READY is printed again."""
    resumed_keeps_call_and_context(relaybox, clients, "v2_node", r"^READY (\S+)$")


def test_v4_python_resumes_its_session(relaybox, clients):
    """v4 Python under client.run(): signalwire.connect {protocol, authorization_state} -> same protocol."""
    resumed_keeps_call_and_context(relaybox, clients, "v4_python", r"^READY (\S+)$")


def test_v4_node_resumes_its_session(relaybox, clients):
    """v4 Node (realtime-api): reconnects on its own, asks for its protocol back (it checks it against
    the connect result's `authorization.signature` first) and re-sends signalwire.receive for its topics."""
    resumed_keeps_call_and_context(relaybox, clients, "v4_node", r"^CONNECTED (\S+)$")


def test_v2_python_reconnects_with_a_new_session(relaybox, clients):
    """v2 Python: a fresh blade.connect and setup {} give it a NEW protocol; it re-sends signalwire.receive, so
    new calls reach it. The answered call stays with the old (detached) session: the phone's hang-up ends it,
    but the end event is buffered for the old protocol, and the client never hears it (it sends nothing
    naming the old protocol, and it drops events for other protocols anyway)."""
    box = relaybox
    consumer, protocol, placed, mark = answered_then_dropped(box, clients, "v2_python")
    cid = re.escape(placed["call_id"])

    again = consumer.wait_for(r"^READY (\S+)$", timeout=10, start=mark).group(1)
    assert again != protocol, f"v2 Python resumed {protocol}; it was expected to open a new session"
    h = health(box)
    assert (h["sessions"], h["connections"]) == (2, 1), f"expected the new session + the detached old one: {h}"

    assert_phone_hung_up(box, placed)
    time.sleep(1.5)  # room for a (wrongly) forwarded end event to arrive
    assert consumer.count(rf"^CALL ENDED {cid} ") == 0, (
        "the old session's end event reached the new one\n" + consumer.describe()
    )

    new_call_reaches(box, consumer, "v2_python")
    assert consumer.count(rf"^CALL ENDED {cid} ") == 0, consumer.describe()
    assert_no_errors(consumer)


def test_v2_python_command_sent_during_the_outage_moves_the_call(relaybox, clients):
    """v2 Python: a command issued while disconnected is queued and flushed after the new setup, still carrying
    the OLD protocol; relaybox then moves the old session's calls (and buffered events) to the new one, so
    the hang-up completes and the client sees the call end."""
    box = relaybox
    box.add_number(OFFICE, CONTEXT)
    # hang up 2 s after the answer: while the socket is down (v2 Python waits 5 s before reconnecting)
    consumer, protocol = start_consumer(box, clients, "v2_python", HANGUP_AFTER="2")
    placed = box.place_call(CALLER, OFFICE, script=[{"wait_for": "answer"}, {"wait_for": "hangup"}])
    cid = re.escape(placed["call_id"])
    consumer.wait_for(rf"^ANSWERED {cid} True$", timeout=10)
    mark = len(consumer.lines)
    assert drop(box) == 1

    consumer.wait_for(rf"^HANGUP {cid} True hangup$", timeout=12, start=mark)
    consumer.wait_for(rf"^CALL ENDED {cid} hangup$", timeout=5, start=mark)
    again = consumer.wait_for(r"^READY (\S+)$", timeout=5, start=mark).group(1)
    assert again != protocol, consumer.describe()
    sc.assert_platform_hung_up(box.wait_sandbox_ended(placed["id"]))
    h = health(box)
    assert (h["sessions"], h["connections"]) == (1, 1), f"the old session should have been merged away: {h}"

    new_call_reaches(box, consumer, "v2_python")
    assert_no_errors(consumer)


# -- SIGTERM before answering: the call goes to another consumer ------------------------------------------------


@pytest.mark.parametrize("flavor", ["v2_python", "v2_node", "v4_python", "v4_node"])
def test_call_left_unanswered_by_a_stopped_consumer_is_offered_again(relaybox, clients, flavor):
    """Two consumers on one context; the first (NO_ANSWER=1) gets the call and is stopped with SIGTERM before
    answering. relaybox re-offers calls a session never acted on when its socket closes: the second consumer
    receives the same call id, answers it, and sees the phone hang up."""
    box = relaybox
    box.add_number(OFFICE, CONTEXT)
    # routing takes the context's consumers in turn, in subscription order: start them one after the other
    first, _ = start_consumer(box, clients, flavor, NO_ANSWER="1")
    second, _ = start_consumer(box, clients, flavor)

    placed = box.place_call(CALLER, OFFICE, script=SHORT_SCRIPT)
    cid = re.escape(placed["call_id"])
    first.wait_for(rf"^INBOUND CALL {cid} ", timeout=10)
    assert second.count(rf"^INBOUND CALL {cid} ") == 0, "the call was offered to both consumers\n" + second.describe()

    stopped_at = time.monotonic()
    status = first.stop()
    assert status == 0, f"the first consumer did not exit cleanly on SIGTERM (status {status})\n" + first.describe()
    second.wait_for(rf"^INBOUND CALL {cid} {re.escape(CALLER)} {re.escape(OFFICE)}$", timeout=5)
    offered_after = time.monotonic() - stopped_at
    second.wait_for(rf"^ANSWERED {cid} True$", timeout=10)
    second.wait_for(rf"^CALL ENDED {cid} {ENDED_WORD[flavor]}$", timeout=10)
    assert offered_after < 5, f"re-offered {offered_after:.1f} s after the first consumer stopped"

    assert first.count(r"^ANSWERED ") == 0, first.describe()
    assert first.count(r"^INBOUND CALL ") == 1, first.describe()
    assert_phone_hung_up(box, placed)
    assert_no_errors(first, second)
