"""The official JS workflow SDK (@relaypro/sdk from npm, unmodified) as the workflow server, driven by
relaybox's sandbox devices: the device calling guide's inbound and outbound samples, and a protocol tour.

Needs scripts/setup-relay-sdk.sh (tests/clients/relay/node_modules); skipped without it, except under CI
or RELAYBOX_REQUIRE_CLIENTS=1 where a missing SDK fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / "tests" / "clients" / "relay"
ALICE, BOB, CAROL = "990007560011111", "990007560023456", "990007560034567"
BOB_URN, CAROL_URN = "urn:relay-resource:name:device:Bob", "urn:relay-resource:name:device:Carol"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JsWorkflows:
    """A workflow script (tests/clients/relay/workflows.js by default) in a node process that finds the SDK
    through NODE_PATH; collects its `WF ...` lines."""

    def __init__(self, log_path: Path, script: Path = SDK_DIR / "workflows.js") -> None:
        self.port = _free_port()
        self.log_path = log_path
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["node", str(script)], cwd=SDK_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PORT": str(self.port), "NODE_PATH": str(SDK_DIR / "node_modules")},
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(r"Relay SDK WebSocket Server listening")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with open(self.log_path, "w") as log:
            for raw in self.proc.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                with self._lock:
                    self.lines.append(line)

    def uri(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{path}"

    def marks(self) -> list[str]:
        with self._lock:
            return [line[3:] for line in self.lines if line.startswith("WF ")]

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for line in self.lines:
                    if m := re.search(pattern, line):
                        return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"workflow output never matched {pattern!r}; WF lines: {self.marks()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _require_sdk() -> None:
    if not (SDK_DIR / "node_modules" / "@relaypro" / "sdk").is_dir() or shutil.which("node") is None:
        if os.environ.get("CI") == "true" or os.environ.get("RELAYBOX_REQUIRE_CLIENTS") == "1":
            pytest.fail("@relaypro/sdk is not installed: run scripts/setup-relay-sdk.sh")
        pytest.skip("@relaypro/sdk is not installed: run scripts/setup-relay-sdk.sh")


@pytest.fixture
def js(tmp_path: Path) -> Iterator[JsWorkflows]:
    _require_sdk()
    workflows = JsWorkflows(tmp_path / "workflows-js.log")
    try:
        yield workflows
    finally:
        workflows.stop()


@pytest.fixture
def jsx(tmp_path: Path) -> Iterator[JsWorkflows]:
    """tests/integration/workflow_samples/extras.js: notifications, groups, timers, triggers, absorb."""
    _require_sdk()
    workflows = JsWorkflows(tmp_path / "extras-js.log", Path(__file__).parent / "workflow_samples" / "extras.js")
    try:
        yield workflows
    finally:
        workflows.stop()


def record(name: str, uri: str, trigger: dict[str, Any], install: list[str] | None = None,
           args: dict[str, Any] | None = None) -> dict[str, Any]:
    """A registration as the vendor's CLI posts it."""
    rec: dict[str, Any] = {
        "name": name,
        "options": {"transient": True, "hidden": False},
        "config": {"trigger": {"start": {"workflow": {"uri": uri, "args": args or {}}}, **trigger}},
    }
    if install is None:
        rec["install_rule"] = "urn:relay-resource:all:device"
    else:
        rec["install"] = install
    return rec


def setup_devices(box: Any, carol: bool = False) -> None:
    for name, did in (("Alice", ALICE), ("Bob", BOB), *((("Carol", CAROL),) if carol else ())):
        status, body = box.api("POST", "/api/sandbox/devices", {"name": name, "id": did})
        assert status == 201, body


def front_desk(box: Any) -> None:
    status, body = box.api("POST", "/api/sandbox/groups", {"name": "Front Desk", "members": ["Bob", "Carol"]})
    assert status == 201, body


def register(box: Any, rec: dict[str, Any]) -> None:
    status, body = box.api("POST", "/api/workflows", rec)
    assert status == 201, body


def act(box: Any, name: str, **action: Any) -> dict[str, Any]:
    status, body = box.api("POST", f"/api/sandbox/devices/{name}/actions", action)
    assert status == 200, body
    return body


def device(box: Any, name: str) -> dict[str, Any]:
    status, body = box.api("GET", f"/api/sandbox/devices/{name}")
    assert status == 200, body
    return body


def said(box: Any, name: str) -> list[str]:
    return [e["said"] for e in device(box, name)["transcript"] if "said" in e]


def wait_said(box: Any, name: str, text: str, timeout: float = 15.0) -> None:
    box.wait_until(lambda: text in said(box, name), timeout, message=lambda: f"{name} to say {text!r}: "
                   f"{said(box, name)}")


def test_inbound_auto_answer_sample(relaybox: Any, js: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("my_auto_answer", js.uri("autoanswer"), {"on_incoming_call": ".*"}, [BOB]))
    act(relaybox, "Alice", speak="call Bob")
    js.wait_for(r"WF START telephony urn:relay-resource:name:device:Bob")
    js.wait_for(r"WF CALL_RECEIVED dc-\w+ inbound Alice urn:relay-resource:name:device:Alice true number")
    js.wait_for(r"WF CALL_CONNECTED dc-\w+ inbound Alice")
    relaybox.wait_until(lambda: device(relaybox, "Bob")["in_call"] and device(relaybox, "Alice")["in_call"])
    assert said(relaybox, "Alice") == ["Calling Bob"]
    assert "Call from Alice" not in said(relaybox, "Bob")  # the workflow owns Bob's side: no built-in ringing
    status, body = relaybox.api("GET", "/api/workflows/instances")
    assert status == 200 and [i["workflow"] for i in body["instances"]] == ["my_auto_answer"]

    act(relaybox, "Alice", button="assistant", taps=2)  # the double-tap hang-up always works
    js.wait_for(r"WF CALL_DISCONNECTED dc-\w+ hangup true")
    js.wait_for(r"WF STOP normal")
    js.wait_for(r"WF TERMINATED")
    assert said(relaybox, "Alice")[-1] == "Call ended"
    assert not device(relaybox, "Bob")["in_call"]
    relaybox.wait_until(lambda: relaybox.api("GET", "/api/workflows/instances")[1]["instances"] == [])


def test_outbound_sample(relaybox: Any, js: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("outbound", js.uri("outbound"), {"on_call_request": ".*"}, [ALICE]))
    act(relaybox, "Alice", speak="call Bob")
    js.wait_for(r"WF CALL_START_REQUEST urn:relay-resource:name:device:Bob")
    wait_said(relaybox, "Alice", "calling from dispatch")
    wait_said(relaybox, "Bob", "Call from Alice")  # Bob has no workflow: the built-in experience rings him
    js.wait_for(r"WF CALL_RINGING dc-\w+ outbound Bob")
    wait_said(relaybox, "Alice", "ring ring")
    assert "Calling Bob" not in said(relaybox, "Alice")  # the workflow replaced the built-in outbound side
    act(relaybox, "Bob", button="talk", taps=1)
    js.wait_for(r"WF CALL_CONNECTED dc-\w+ outbound Bob")
    wait_said(relaybox, "Alice", "connected")
    act(relaybox, "Bob", button="assistant", taps=2)
    js.wait_for(r"WF CALL_DISCONNECTED dc-\w+ hangup")
    js.wait_for(r"WF STOP normal")
    assert said(relaybox, "Bob")[-1] == "Call ended"
    relaybox.wait_until(lambda: not device(relaybox, "Alice")["in_call"])


def test_outbound_sample_callee_rejects(relaybox: Any, js: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("outbound", js.uri("outbound"), {"on_call_request": ".*"}, [ALICE]))
    act(relaybox, "Alice", speak="call Bob")
    wait_said(relaybox, "Bob", "Call from Alice")
    act(relaybox, "Bob", button="talk", taps=2)
    js.wait_for(r"WF CALL_FAILED dc-\w+ rejected")
    js.wait_for(r"WF STOP normal")
    assert said(relaybox, "Bob")[-1] == "Call from Alice ignored"


def test_protocol_tour_with_phrase_trigger(relaybox: Any, js: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("hello", js.uri("hello"), {"on_phrases": ["hello"]}, args={"greeting": "hi"}))
    act(relaybox, "Alice", speak="Hello there")
    js.wait_for(r"WF START phrase urn:relay-resource:name:device:Alice hello")
    js.wait_for(r"WF SAY_ERROR no_interaction_on_target")
    js.wait_for(r"WF INTERACTION_STARTED urn:relay-resource:name:interaction:hello%20interaction\?device=")
    js.wait_for(r"WF NAME Alice")
    js.wait_for(r"WF VARS v hi dflt")
    relaybox.wait_until(lambda: any(e.get("tone") == "listening" for e in device(relaybox, "Alice")["transcript"]))
    alice = device(relaybox, "Alice")
    assert alice["channel"] == "hello interaction"
    assert alice["led"] == "00ff00"
    assert [e["vibrate"] for e in alice["transcript"] if "vibrate" in e] == [[100, 500, 500, 500]]
    assert "hello world" in said(relaybox, "Alice")
    act(relaybox, "Alice", speak="yes")
    js.wait_for(r'WF HEARD \{"text":"yes","lang":"en-US"\}')
    wait_said(relaybox, "Alice", "press the talk button twice")
    act(relaybox, "Alice", button="talk", taps=2)
    js.wait_for(r"WF BUTTON action double true")
    js.wait_for(r"WF ANSWER_ERROR unknown_call")
    js.wait_for(r"WF INTERACTION_ENDED true")
    js.wait_for(r"WF STOP normal")
    js.wait_for(r"WF TERMINATED")
    assert device(relaybox, "Alice")["channel"] == "Assistant"
    assert not any(m.startswith("ERROR") for m in js.marks()), js.marks()


def test_button_trigger(relaybox: Any, js: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("place-call", js.uri("hello"), {"on_button": "action_button_double_tap"}))
    act(relaybox, "Bob", button="talk", taps=2)
    js.wait_for(r"WF START button urn:relay-resource:name:device:Bob action_button_double_tap")


def test_workflow_dying_mid_call_leaves_no_call(relaybox: Any, js: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("my_auto_answer", js.uri("autoanswer"), {"on_incoming_call": ".*"}, [BOB]))
    act(relaybox, "Alice", speak="call Bob")
    js.wait_for(r"WF CALL_CONNECTED")
    js.stop()
    wait_said(relaybox, "Alice", "Call ended")
    assert not device(relaybox, "Alice")["in_call"] and not device(relaybox, "Bob")["in_call"]


def test_unreachable_workflow_means_not_available(relaybox: Any) -> None:
    setup_devices(relaybox)
    register(relaybox, record("gone", f"ws://127.0.0.1:{_free_port()}/x", {"on_incoming_call": ".*"}, [BOB]))
    act(relaybox, "Alice", speak="call Bob")
    wait_said(relaybox, "Alice", "Bob is not available")
    assert not device(relaybox, "Alice")["in_call"]


def test_shutdown_stops_running_instances(relaybox: Any, js: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("hello", js.uri("hello"), {"on_phrases": ["hello"]}))
    act(relaybox, "Alice", speak="hello")
    js.wait_for(r"WF VARS")  # the instance is now listening
    assert relaybox.stop() == 0
    # the SDK's own log of each frame (its STOP handler waits behind the pending listen: JS runs handlers
    # one at a time), then its log of the socket closing
    js.wait_for(r"onMessage \{ _type: 'wf_api_stop_event', reason: 'shutdown' \}")
    js.wait_for(r"Workflow closed =>")


# -- notifications, groups, timers, incidents, HTTP/timer triggers, group calls, absorb_triggers --------


def test_groups_broadcast_alert_ack_and_cancel(relaybox: Any, jsx: JsWorkflows) -> None:
    setup_devices(relaybox, carol=True)
    front_desk(relaybox)
    register(relaybox, record("notify", jsx.uri("notify"), {"on_phrases": ["notify"]}, [ALICE]))
    act(relaybox, "Alice", speak="notify")
    jsx.wait_for(rf"WF MEMBERS {BOB_URN},{CAROL_URN}$")
    jsx.wait_for(r"WF IS_MEMBER true false")
    jsx.wait_for(r"WF SENT")
    assert said(relaybox, "Bob") == ["Lunch is ready"]
    assert said(relaybox, "Carol") == ["Lunch is ready", "Fire in the kitchen"]
    relaybox.wait_until(lambda: said(relaybox, "Carol").count("Fire in the kitchen") == 2, timeout=6)  # 30 s
    act(relaybox, "Bob", button="talk", taps=1)  # Bob acknowledges the broadcast
    # relaybox sends [] for the empty states; the SDK's old-server workaround turns every all-integer array,
    # the empty one included, into a string, so the workflow sees ""
    state = {"created": [BOB_URN, CAROL_URN], "acknowledged": [BOB_URN], "cancelled": "", "timed_out": ""}
    jsx.wait_for(r"WF NOTIFICATION ack_event lunch " + re.escape(BOB_URN + " " + json.dumps(state).replace(" ", "")))
    jsx.wait_for(r"WF CANCELLED")
    jsx.wait_for(r"WF STOP normal")
    fires = said(relaybox, "Carol").count("Fire in the kitchen")
    time.sleep(3.5)
    assert said(relaybox, "Carol").count("Fire in the kitchen") == fires  # the alert was cancelled
    assert not any(m.startswith("ERROR") for m in jsx.marks()), jsx.marks()


def test_timers_and_incidents(relaybox: Any, jsx: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("timers", jsx.uri("timers"), {"on_phrases": ["timers"]}))
    act(relaybox, "Alice", speak="timers")
    jsx.wait_for(r"WF INCIDENT_CREATED string")
    jsx.wait_for(r"WF INCIDENT resolved all good")
    jsx.wait_for(r"WF TIMER_FIRED tick 3")
    jsx.wait_for(r"WF TIMER 3")
    jsx.wait_for(r"WF STOP normal")
    assert [m for m in jsx.marks() if m.startswith("TIMER_FIRED")] == [
        "TIMER_FIRED tick 1", "TIMER_FIRED tick 2", "TIMER_FIRED tick 3"]  # cleared after 3


def test_http_trigger(relaybox: Any, jsx: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("hook", jsx.uri("started"), {"on_http": "POST"}, [BOB]))
    body = {"action": "invoke", "action_args": {"ticket": "42"}, "target_device_ids": [BOB]}
    status, out = relaybox.api("POST", "/api/workflows/hook", body)
    assert status == 200 and out["workflow"] == "hook" and len(out["instances"]) == 1
    jsx.wait_for(r'WF START http urn:relay-resource:name:device:Bob \{"ticket":"42"\}')
    status, out = relaybox.api("POST", "/api/workflows/hook", {**body, "target_device_ids": [ALICE]})
    assert status == 409 and "not installed" in out["error"]


def test_timer_triggers(relaybox: Any, jsx: JsWorkflows) -> None:
    setup_devices(relaybox)
    register(relaybox, record("now", jsx.uri("started"), {"on_timer": {"start_time": "immediately"}}, [ALICE]))
    jsx.wait_for(r"WF START calendar urn:relay-resource:name:device:Alice null")
    # every platform minute (6 s here at --speed 10) from a start in the past
    start = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None, microsecond=0).isoformat()
    register(relaybox, record("tick", jsx.uri("started"), {"on_timer": {"start_time": start,
                                                                        "frequency": "minutely"}}, [BOB]))
    jsx.wait_for(r"WF START calendar urn:relay-resource:name:device:Bob null", timeout=10)
    assert relaybox.api("DELETE", "/api/workflows/tick")[0] == 200


def test_group_call_from_a_workflow(relaybox: Any, jsx: JsWorkflows) -> None:
    setup_devices(relaybox, carol=True)
    front_desk(relaybox)
    register(relaybox, record("gc", jsx.uri("groupcall"), {"on_button": "action_button_single_tap"}, [ALICE]))
    act(relaybox, "Alice", button="talk", taps=1)
    jsx.wait_for(r"WF CALL_RINGING Front Desk urn:relay-resource:name:group:Front%20Desk")
    assert said(relaybox, "Bob") == said(relaybox, "Carol") == ["Call from Alice"]
    act(relaybox, "Carol", button="talk", taps=1)
    jsx.wait_for(rf"WF CALL_CONNECTED Carol {CAROL_URN}")
    assert said(relaybox, "Bob")[-1] == "Call from Alice answered elsewhere"
    act(relaybox, "Alice", button="assistant", taps=2)
    jsx.wait_for(r"WF CALL_DISCONNECTED hangup")
    jsx.wait_for(r"WF STOP normal")
    assert said(relaybox, "Carol")[-1] == "Call ended"


def test_absorb_triggers(relaybox: Any, jsx: JsWorkflows) -> None:
    setup_devices(relaybox, carol=True)
    rec = record("desk", jsx.uri("absorb"), {"on_incoming_call": ".*"}, [BOB])
    rec["options"]["absorb_triggers"] = ["on_incoming_call"]
    register(relaybox, rec)
    act(relaybox, "Alice", speak="call Bob")
    jsx.wait_for(r"WF CALL_RECEIVED Alice")
    relaybox.wait_until(lambda: device(relaybox, "Alice")["in_call"] and device(relaybox, "Bob")["in_call"])
    act(relaybox, "Alice", button="assistant", taps=2)
    jsx.wait_for(r"WF CALL_DISCONNECTED Alice")
    act(relaybox, "Carol", speak="call Bob")
    jsx.wait_for(r"WF CALL_RECEIVED Carol")
    relaybox.wait_until(lambda: device(relaybox, "Carol")["in_call"])
    assert [m for m in jsx.marks() if m.startswith("START")] == [f"START {BOB_URN}"]  # one instance took both
    assert len(relaybox.api("GET", "/api/workflows/instances")[1]["instances"]) == 1


def test_location_power_off_and_restart(relaybox: Any, jsx: JsWorkflows) -> None:
    setup_devices(relaybox, carol=True)
    register(relaybox, record("power", jsx.uri("power"), {"on_phrases": ["power"]}, [ALICE]))
    act(relaybox, "Bob", speak="call Alice")  # Bob is in a call when the workflow powers him off
    act(relaybox, "Alice", speak="power")
    jsx.wait_for(r"WF LOCATION true \[35.7796,-78.6382\]")
    jsx.wait_for(r"WF POWERED")
    assert not device(relaybox, "Bob")["online"] and not device(relaybox, "Bob")["in_call"]
    assert said(relaybox, "Alice")[-1] == "Call from Bob"  # Alice was rung: the call ended with Bob's power
    assert device(relaybox, "Carol")["online"]
    assert [e["power"] for e in device(relaybox, "Carol")["transcript"] if "power" in e] == ["restart"]
    assert [e["power"] for e in device(relaybox, "Bob")["transcript"] if "power" in e] == ["off"]
