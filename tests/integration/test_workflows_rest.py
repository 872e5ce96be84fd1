"""Devices and workflow registrations over REST and the `relaybox workflow` CLI, against a served relaybox
(the `relaybox` fixture runs it at --speed 10, so platform seconds pass ten times faster here)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from click.testing import CliRunner

from relaybox.cli_workflow import workflow


def said(box: Any, name: str) -> list[str]:
    status, body = box.api("GET", f"/api/sandbox/devices/{name}")
    assert status == 200, body
    return [e["said"] for e in body["transcript"] if "said" in e]


def test_built_in_call_over_rest(relaybox: Any) -> None:
    for name, did in (("Alice", "990007560011111"), ("Bob", "990007560023456")):
        status, body = relaybox.api("POST", "/api/sandbox/devices", {"name": name, "id": did})
        assert status == 201 and body["online"] and body["channel"] == "Assistant" and body["led"] == "off"
    status, body = relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"speak": "call Bob"})
    assert status == 200 and body["in_call"] and body["led"] == "green"
    assert said(relaybox, "Bob") == ["Call from Alice"]
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"button": "talk", "taps": 1})
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"button": "assistant", "taps": 2})
    assert said(relaybox, "Alice") == ["Calling Bob", "Call ended"]
    assert said(relaybox, "Bob") == ["Call from Alice", "Call ended"]


def test_missed_call_reminders_follow_the_speed(relaybox: Any) -> None:
    for name in ("Alice", "Bob"):
        relaybox.api("POST", "/api/sandbox/devices", {"name": name})
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"speak": "call Bob"})
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"button": "assistant", "taps": 2})
    reminder = "You missed a call from Alice 0 minutes ago. Tap the Talk button to clear."
    assert said(relaybox, "Bob") == ["Call from Alice", reminder]
    t0 = time.monotonic()
    relaybox.wait_until(lambda: said(relaybox, "Bob").count(reminder) == 2, timeout=6)
    assert time.monotonic() - t0 > 2.0  # 30 platform seconds at speed 10
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"button": "talk", "taps": 1})
    time.sleep(3.5)
    assert said(relaybox, "Bob").count(reminder) == 2


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/sandbox/devices", {"name": "A:B"}, 400),
        ("/api/sandbox/devices", {"id": "1"}, 400),
        ("/api/sandbox/devices", {"name": "Ann", "colour": "red"}, 400),
        ("/api/sandbox/devices/Nobody/actions", {"button": "talk"}, 404),
        ("/api/sandbox/devices/Alice/actions", {"button": "talk", "taps": 7}, 400),
        ("/api/sandbox/devices/Alice/actions", {"wave": True}, 400),
        ("/api/sandbox/devices/Alice/actions", {"channel": ""}, 400),
        ("/api/sandbox/devices/Alice/actions", {"channel": "Team", "taps": 1}, 400),
        ("/api/sandbox/groups", {"name": "G", "members": "Alice"}, 400),
        ("/api/workflows/nope", {"action": "invoke", "target_device_ids": ["Alice"]}, 404),
        ("/api/workflows", {"name": "x"}, 400),
        ("/api/workflows", {"name": "x", "install_rule": "urn:relay-resource:all:device", "config": {"trigger": {
            "start": {"workflow": {"uri": "http://x"}}, "on_button": "action_button_single_tap"}}}, 400),
    ],
)
def test_bad_requests_get_a_400_with_a_reason(relaybox: Any, path: str, body: dict[str, Any], status: int) -> None:
    relaybox.api("POST", "/api/sandbox/devices", {"name": "Alice"})
    got, answer = relaybox.api("POST", path, body)
    assert got == status and answer["error"]


def test_duplicate_device_is_a_conflict(relaybox: Any) -> None:
    assert relaybox.api("POST", "/api/sandbox/devices", {"name": "Alice"})[0] == 201
    assert relaybox.api("POST", "/api/sandbox/devices", {"name": "Alice"})[0] == 409


def test_workflow_cli_create_list_delete(relaybox: Any) -> None:
    runner = CliRunner()
    conn = ["--url", relaybox.url, "--project", relaybox.project, "--token", relaybox.token]

    def run(*args: str) -> str:
        result = runner.invoke(workflow, [*args, *conn])
        assert result.exit_code == 0, result.output
        return result.output

    run("create", "call", "--trigger", "inbound", "--name", "my_auto_answer", "--uri", "ws://127.0.0.1:1/aa",
        "--install", "990007560045678")
    run("create", "button", "--trigger", "double", "--uri", "wss://h.example/placecallpath", "--name",
        "place-call", "--install-all", "--arg", "greeting=hi", "--boolean", "loud=true", "--number", "n=3")
    run("create", "phrase", "--trigger", "Hello", "--trigger", "hi there", "--uri", "ws://127.0.0.1:1/h",
        "--name", "hello", "--install", "A", "--install", "B")
    status, body = relaybox.api("GET", "/api/workflows")
    assert status == 200
    recs = {r["name"]: r for r in body["workflows"]}
    assert recs["my_auto_answer"]["config"]["trigger"]["on_incoming_call"] == ".*"
    assert recs["my_auto_answer"]["install"] == ["990007560045678"]
    assert recs["place-call"]["install_rule"] == "urn:relay-resource:all:device"
    assert recs["place-call"]["config"]["trigger"]["on_button"] == "action_button_double_tap"
    assert recs["place-call"]["config"]["trigger"]["start"]["workflow"]["args"] == {
        "greeting": "hi", "loud": True, "n": 3}
    assert recs["hello"]["config"]["trigger"]["on_phrases"] == ["hello", "hi there"]
    assert recs["hello"]["options"]["transient"] is True
    listing = run("list")
    assert "my_auto_answer" in listing and "place-call" in listing and "hello" in listing
    run("delete", "place-call")
    assert [r["name"] for r in relaybox.api("GET", "/api/workflows")[1]["workflows"]] == ["my_auto_answer", "hello"]
    result = runner.invoke(workflow, ["delete", "place-call", *conn])
    assert result.exit_code != 0 and "404" in result.output
    result = runner.invoke(workflow, ["create", "call", "--trigger", "outbound", "--name", "o", "--uri", "ws://x/y",
                                      *conn])
    assert result.exit_code != 0 and "--install" in result.output


def test_registrations_survive_a_restart(relaybox: Any) -> None:
    rec = {"name": "w", "install": ["1"], "config": {"trigger": {
        "start": {"workflow": {"uri": "ws://127.0.0.1:1/w"}}, "on_call_request": ".*"}}}
    assert relaybox.api("POST", "/api/workflows", rec)[0] == 201
    relaybox.stop()
    relaybox.start()
    assert [r["name"] for r in relaybox.api("GET", "/api/workflows")[1]["workflows"]] == ["w"]
