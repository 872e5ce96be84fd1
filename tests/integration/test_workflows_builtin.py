"""The built-in calling experience of the device calling guide, asserted on the sandbox device transcripts
of a served relaybox (the `relaybox` fixture runs at --speed 10), plus group calls, HTTP and timer triggers
and devices kept across a restart."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner

from relaybox.cli_workflow import workflow

ALICE, BOB, CAROL = "990007560011111", "990007560023456", "990007560034567"


def create(box: Any, *names: str) -> None:
    ids = {"Alice": ALICE, "Bob": BOB, "Carol": CAROL}
    for name in names:
        status, body = box.api("POST", "/api/sandbox/devices", {"name": name, "id": ids[name]})
        assert status == 201, body


def act(box: Any, name: str, **action: Any) -> dict[str, Any]:
    status, body = box.api("POST", f"/api/sandbox/devices/{name}/actions", action)
    assert status == 200, body
    return body


def device(box: Any, name: str) -> dict[str, Any]:
    status, body = box.api("GET", f"/api/sandbox/devices/{name}")
    assert status == 200, body
    return body


def log(box: Any, name: str) -> list[dict[str, Any]]:
    """The transcript without the times."""
    return [{k: v for k, v in e.items() if k != "t"} for e in device(box, name)["transcript"]]


def said(box: Any, name: str) -> list[str]:
    return [e["said"] for e in log(box, name) if "said" in e]


RINGER = {"vibrate": [1000, 1000, 1000, 1000, 1000, 1000]}


def test_call_answer_and_hang_up_transcripts(relaybox: Any) -> None:
    create(relaybox, "Alice", "Bob")
    act(relaybox, "Alice", button="assistant", taps=1)  # the device announces its name and channel
    alice = act(relaybox, "Alice", speak="call Bob")
    assert alice["led"] == "green" and alice["in_call"]
    bob = device(relaybox, "Bob")
    assert bob["led"] == "green" and bob["in_call"] and bob["call_id"] == alice["call_id"]
    act(relaybox, "Bob", button="talk", taps=1)  # a Talk tap answers
    time.sleep(1.0)  # 10 platform seconds: no time limit, still connected
    assert device(relaybox, "Alice")["in_call"] and device(relaybox, "Bob")["in_call"]
    act(relaybox, "Bob", button="assistant", taps=2)  # either side double-taps the Assistant button
    assert log(relaybox, "Alice") == [
        {"did": {"button": "assistant", "taps": 1}}, {"said": "Alice, Assistant channel"},
        {"did": {"speak": "call Bob"}}, {"tone": "confirm"}, {"led": "green"}, {"said": "Calling Bob"},
        {"tone": "ringing"}, {"tone": "connected"}, {"led": "off"}, {"said": "Call ended"},
    ]
    assert log(relaybox, "Bob") == [
        {"led": "green"}, {"tone": "ringer"}, RINGER, {"said": "Call from Alice"},
        {"did": {"button": "talk", "taps": 1}}, {"tone": "connected"},
        {"did": {"button": "assistant", "taps": 2}}, {"led": "off"}, {"said": "Call ended"},
    ]
    assert not device(relaybox, "Alice")["in_call"] and device(relaybox, "Bob")["led"] == "off"


def test_reject_while_ringing(relaybox: Any) -> None:
    create(relaybox, "Alice", "Bob")
    for button in ("talk", "assistant"):  # a double tap of either button rejects
        act(relaybox, "Alice", speak="call Bob")
        act(relaybox, "Bob", button=button, taps=2)
        assert said(relaybox, "Bob")[-2:] == ["Call from Alice", "Call from Alice ignored"]
        assert said(relaybox, "Alice")[-2:] == ["Calling Bob", "Bob is not available"]
        assert not device(relaybox, "Bob")["in_call"] and not device(relaybox, "Alice")["in_call"]
    assert device(relaybox, "Alice")["led"] == device(relaybox, "Bob")["led"] == "off"


def test_missed_call_reminder_every_30_s_until_a_talk_tap(relaybox: Any) -> None:
    create(relaybox, "Alice", "Bob")
    act(relaybox, "Alice", speak="call Bob")
    time.sleep(0.7)  # 7 platform seconds of ringing
    act(relaybox, "Alice", button="assistant", taps=2)  # Alice gives up
    assert said(relaybox, "Alice")[-1] == "Call ended"
    first = "You missed a call from Alice 0 minutes ago. Tap the Talk button to clear."
    assert said(relaybox, "Bob") == ["Call from Alice", first]
    relaybox.wait_until(lambda: len(said(relaybox, "Bob")) == 3, timeout=6)  # 30 platform s = 3 s here
    relaybox.wait_until(lambda: len(said(relaybox, "Bob")) == 4, timeout=6)
    reminders = said(relaybox, "Bob")[1:]
    assert reminders[1] == first
    assert reminders[2] == "You missed a call from Alice 1 minute ago. Tap the Talk button to clear."
    stamps = [e["t"] for e in device(relaybox, "Bob")["transcript"] if e.get("said", "").startswith("You missed")]
    assert [round(b - a) for a, b in itertools.pairwise(stamps)] == [30, 30]
    act(relaybox, "Bob", button="talk", taps=1)
    assert log(relaybox, "Bob")[-1] == {"tone": "cleared"}
    time.sleep(3.5)
    assert len(said(relaybox, "Bob")) == 4  # no reminder after the Talk tap


def test_unanswered_call_rings_60_s(relaybox: Any) -> None:
    create(relaybox, "Alice", "Bob")
    act(relaybox, "Alice", speak="call Bob")
    time.sleep(4.0)  # 40 platform seconds: still ringing
    assert device(relaybox, "Bob")["in_call"]
    relaybox.wait_until(lambda: not device(relaybox, "Bob")["in_call"], timeout=4)
    assert said(relaybox, "Alice")[-1] == "Bob is not available"
    assert said(relaybox, "Bob")[-1].startswith("You missed a call from Alice 1 minute ago.")


def test_not_available_cases(relaybox: Any) -> None:
    create(relaybox, "Alice", "Bob", "Carol")
    act(relaybox, "Alice", speak="call Zed")  # no such device
    assert said(relaybox, "Alice")[-1] == "Zed is not available"
    act(relaybox, "Bob", go_offline=True)
    act(relaybox, "Alice", speak="call Bob")
    assert said(relaybox, "Alice")[-1] == "Bob is not available"
    act(relaybox, "Bob", go_online=True)
    # a registered inbound workflow whose server is unreachable: "X is not available", X not ringing
    rec = {"name": "gone", "install": [CAROL], "config": {"trigger": {
        "start": {"workflow": {"uri": "ws://127.0.0.1:9/gone"}}, "on_incoming_call": ".*"}}}
    assert relaybox.api("POST", "/api/workflows", rec)[0] == 201
    act(relaybox, "Alice", speak="call Carol")
    relaybox.wait_until(lambda: said(relaybox, "Alice")[-1] == "Carol is not available")
    assert said(relaybox, "Carol") == [] and not device(relaybox, "Alice")["in_call"]
    # and an unreachable outbound workflow on the caller
    rec = {"name": "gone-out", "install": [ALICE], "config": {"trigger": {
        "start": {"workflow": {"uri": "ws://127.0.0.1:9/out"}}, "on_call_request": ".*"}}}
    assert relaybox.api("POST", "/api/workflows", rec)[0] == 201
    act(relaybox, "Alice", speak="call Bob")
    relaybox.wait_until(lambda: said(relaybox, "Alice")[-1] == "Bob is not available")
    assert said(relaybox, "Bob") == [] and not device(relaybox, "Bob")["in_call"]


def test_group_call_over_rest(relaybox: Any) -> None:
    create(relaybox, "Alice", "Bob", "Carol")
    status, group = relaybox.api("POST", "/api/sandbox/groups", {"name": "Front Desk", "members": ["Bob", CAROL]})
    assert status == 201 and group["members"] == ["Bob", "Carol"]
    assert group["uri"] == "urn:relay-resource:name:group:Front%20Desk"
    act(relaybox, "Alice", speak="call front desk")
    assert said(relaybox, "Bob") == said(relaybox, "Carol") == ["Call from Alice"]
    act(relaybox, "Carol", button="talk", taps=1)
    assert said(relaybox, "Bob")[-1] == "Call from Alice answered elsewhere"
    assert device(relaybox, "Carol")["in_call"] and not device(relaybox, "Bob")["in_call"]
    act(relaybox, "Carol", button="assistant", taps=2)
    assert said(relaybox, "Alice")[-1] == said(relaybox, "Carol")[-1] == "Call ended"
    status, body = relaybox.api("PATCH", "/api/sandbox/groups/Front%20Desk", {"remove": ["Carol"]})
    assert status == 200 and body["members"] == ["Bob"]
    assert relaybox.api("POST", "/api/sandbox/groups", {"name": "Front Desk"})[0] == 409
    assert relaybox.api("POST", "/api/sandbox/groups", {"name": "X", "members": ["Nobody"]})[0] == 400
    assert relaybox.api("GET", "/api/sandbox/groups/Nope")[0] == 404
    assert relaybox.api("DELETE", "/api/sandbox/groups/Front%20Desk")[0] == 200
    assert relaybox.api("GET", "/api/sandbox/groups")[1] == {"groups": []}


def test_devices_and_groups_survive_a_restart(relaybox: Any) -> None:
    create(relaybox, "Alice", "Bob", "Carol")
    act(relaybox, "Bob", go_offline=True)
    assert relaybox.api("DELETE", "/api/sandbox/devices/Carol")[0] == 200
    assert relaybox.api("POST", "/api/sandbox/groups", {"name": "Desk", "id": "g1", "members": ["Alice", "Bob"]})[0] \
        == 201
    assert relaybox.stop() == 0
    relaybox.start()
    devices = relaybox.api("GET", "/api/sandbox/devices")[1]["devices"]
    assert [(d["name"], d["id"], d["online"], d["channel"]) for d in devices] == [
        ("Alice", ALICE, True, "Assistant"), ("Bob", BOB, False, "Assistant")]
    assert relaybox.api("GET", "/api/sandbox/groups/Desk")[1] == {
        "name": "Desk", "id": "g1", "members": ["Alice", "Bob"], "uri": "urn:relay-resource:name:group:Desk"}
    assert relaybox.api("POST", "/api/sandbox/devices", {"name": "Alice"})[0] == 409
    act(relaybox, "Bob", go_online=True)
    assert act(relaybox, "Bob", channel="Team")["channel"] == "Team"
    act(relaybox, "Alice", speak="call Bob")  # the kept devices work as before
    assert said(relaybox, "Bob") == ["Call from Alice"]


def test_http_and_timer_registrations_over_the_cli(relaybox: Any) -> None:
    create(relaybox, "Alice")
    runner = CliRunner()
    conn = ["--url", relaybox.url, "--project", relaybox.project, "--token", relaybox.token]

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(workflow, [*args, *conn])
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    run("create", "http", "--uri", "ws://127.0.0.1:9/hook", "--name", "hook", "--install", ALICE)
    start = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
    run("create", "timer", "--trigger", "repeat", "--start-time", start, "--frequency", "daily", "--count", "3",
        "--byweekday", "1", "--byweekday", "5", "--uri", "ws://127.0.0.1:9/tick", "--name", "tick", "--install-all")
    recs = {r["name"]: r for r in relaybox.api("GET", "/api/workflows")[1]["workflows"]}
    assert recs["hook"]["config"]["trigger"]["on_http"] == "POST"
    assert recs["tick"]["config"]["trigger"]["on_timer"] == {
        "start_time": start, "frequency": "daily", "count": 3, "byweekday": [1, 5]}
    assert "needs --start-time" in run("create", "timer", "--trigger", "schedule", "--uri", "ws://h/x", "--name",
                                       "t", "--install-all", ok=False)
    # the HTTP trigger fires, but the workflow's server is not there: a clear 502
    out = run("trigger", "hook", "--target", ALICE, "--arg", "ticket=42", ok=False)
    assert "502" in out and "cannot connect to the workflow" in out
    assert "404" in run("trigger", "hook", "--target", "Nobody", ok=False)
    assert "409" in run("trigger", "tick", "--target", ALICE, ok=False)
    bad = {"name": "t2", "install_rule": "urn:relay-resource:all:device", "config": {"trigger": {
        "start": {"workflow": {"uri": "ws://h/x"}}, "on_timer": {"start_time": "soon"}}}}
    status, body = relaybox.api("POST", "/api/workflows", bad)
    assert status == 400 and "ISO time" in body["error"]
