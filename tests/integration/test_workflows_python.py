"""The device calling guide's Python samples (auto-answer, outbound call) on relaybox's Python workflow SDK
(`relaybox.workflow`), each a separate process that relaybox connects out to."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SAMPLES = Path(__file__).parent / "workflow_samples"
ROOT = Path(__file__).resolve().parents[2]
ALICE, BOB = "990007560011111", "990007560023456"


class Sample:
    def __init__(self, script: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(SAMPLES / script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "PORT": str(self.port), "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("READY")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # READY is printed just before binding
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{script} never listened; output: {self.lines}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            time.sleep(0.05)
        raise AssertionError(f"sample output never matched {pattern!r}: {self.lines}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def sample() -> Iterator[Callable[[str], Sample]]:
    started: list[Sample] = []

    def start(script: str) -> Sample:
        started.append(Sample(script))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def setup(box: Any, name: str, uri: str, trigger: str, install: str) -> None:
    for dev, did in (("Alice", ALICE), ("Bob", BOB)):
        assert box.api("POST", "/api/sandbox/devices", {"name": dev, "id": did})[0] == 201
    rec = {"name": name, "install": [install], "options": {"transient": True},
           "config": {"trigger": {"start": {"workflow": {"uri": uri, "args": {}}}, trigger: ".*"}}}
    assert box.api("POST", "/api/workflows", rec)[0] == 201


def state(box: Any, name: str) -> dict[str, Any]:
    return box.api("GET", f"/api/sandbox/devices/{name}")[1]


def said(box: Any, name: str) -> list[str]:
    return [e["said"] for e in state(box, name)["transcript"] if "said" in e]


state_of = state


def wait_said(box: Any, name: str, text: str) -> None:
    box.wait_until(lambda: text in said(box, name), 15, message=lambda: f"{name} to say {text!r}: {said(box, name)}")


def test_auto_answer_sample(relaybox: Any, sample: Callable[[str], Sample]) -> None:
    wf = sample("auto_answer.py")
    setup(relaybox, "my_auto_answer", f"ws://127.0.0.1:{wf.port}/autoanswerpath", "on_incoming_call", BOB)
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"speak": "call Bob"})
    wait_said(relaybox, "Bob", "Now in call")  # auto-answered, then the CALL_CONNECTED handler spoke
    assert state(relaybox, "Alice")["in_call"] and state(relaybox, "Bob")["in_call"]
    assert "Call from Alice" not in said(relaybox, "Bob")
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"button": "talk", "taps": 1})  # the sample's hang-up
    wait_said(relaybox, "Bob", "hung up")
    # ending the interaction terminates the instance, which leaves no call behind
    wait_said(relaybox, "Alice", "Call ended")
    relaybox.wait_until(lambda: not state(relaybox, "Bob")["in_call"])
    relaybox.wait_until(lambda: relaybox.api("GET", "/api/workflows/instances")[1]["instances"] == [])
    assert state(relaybox, "Bob")["channel"] == "Assistant"


def test_auto_answer_sample_double_tap_hang_up(relaybox: Any, sample: Callable[[str], Sample]) -> None:
    wf = sample("auto_answer.py")
    setup(relaybox, "my_auto_answer", f"ws://127.0.0.1:{wf.port}/autoanswerpath", "on_incoming_call", BOB)
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"speak": "call Bob"})
    wait_said(relaybox, "Bob", "Now in call")
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"button": "assistant", "taps": 2})
    wf.wait_for(r"seconds connected: \d+")
    relaybox.wait_until(lambda: relaybox.api("GET", "/api/workflows/instances")[1]["instances"] == [])
    assert said(relaybox, "Alice")[-1] == "Call ended"


def test_outbound_sample(relaybox: Any, sample: Callable[[str], Sample]) -> None:
    wf = sample("outbound.py")
    setup(relaybox, "outbound", f"ws://127.0.0.1:{wf.port}/outboundpath", "on_call_request", ALICE)
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"speak": "call Bob"})
    wait_said(relaybox, "Alice", "calling from dispatch")
    wait_said(relaybox, "Bob", "Call from Alice")
    wait_said(relaybox, "Alice", "ring ring")
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"button": "talk", "taps": 1})
    wait_said(relaybox, "Alice", "connected")
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"button": "assistant", "taps": 2})
    wf.wait_for(r"seconds connected: \d+")
    relaybox.wait_until(lambda: relaybox.api("GET", "/api/workflows/instances")[1]["instances"] == [])
    assert said(relaybox, "Bob")[-1] == "Call ended"
    assert state(relaybox, "Alice")["channel"] == "Assistant"


def test_outbound_sample_to_an_offline_device(relaybox: Any, sample: Callable[[str], Sample]) -> None:
    wf = sample("outbound.py")
    setup(relaybox, "outbound", f"ws://127.0.0.1:{wf.port}/outboundpath", "on_call_request", ALICE)
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"go_offline": True})
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"speak": "call Bob"})
    wait_said(relaybox, "Alice", "calling from dispatch")
    relaybox.wait_until(lambda: relaybox.api("GET", "/api/workflows/instances")[1]["instances"] == [])
    assert not state(relaybox, "Alice")["in_call"]


# -- groups, notifications, timers, incidents, triggers, group calls (workflow_samples/extras.py) ---------

CAROL = "990007560034567"
BOB_URN, CAROL_URN = "urn:relay-resource:name:device:Bob", "urn:relay-resource:name:device:Carol"


def devices_and_desk(box: Any) -> None:
    for dev, did in (("Alice", ALICE), ("Bob", BOB), ("Carol", CAROL)):
        assert box.api("POST", "/api/sandbox/devices", {"name": dev, "id": did})[0] == 201
    assert box.api("POST", "/api/sandbox/groups", {"name": "Front Desk", "members": ["Bob", "Carol"]})[0] == 201


def register(box: Any, name: str, uri: str, trigger: dict[str, Any], install: list[str] | None = None) -> None:
    rec: dict[str, Any] = {"name": name, "config": {"trigger": {"start": {"workflow": {"uri": uri}}, **trigger}}}
    if install:
        rec["install"] = install
    else:
        rec["install_rule"] = "urn:relay-resource:all:device"
    status, body = box.api("POST", "/api/workflows", rec)
    assert status == 201, body


def test_groups_notifications_and_acks(relaybox: Any, sample: Callable[[str], Sample]) -> None:
    wf = sample("extras.py")
    devices_and_desk(relaybox)
    register(relaybox, "notify", f"ws://127.0.0.1:{wf.port}/notify", {"on_phrases": ["notify"]}, [ALICE])
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"speak": "notify"})
    wf.wait_for(rf"WF MEMBERS {BOB_URN},{CAROL_URN}$")
    wf.wait_for(r"WF IS_MEMBER True False")
    wf.wait_for(r"WF SENT")
    assert said(relaybox, "Bob") == ["Lunch is ready"]
    assert said(relaybox, "Carol") == ["Lunch is ready", "Fire in the kitchen"]
    relaybox.wait_until(lambda: said(relaybox, "Carol").count("Fire in the kitchen") == 2, timeout=6)
    relaybox.api("POST", "/api/sandbox/devices/Carol/actions", {"button": "talk", "taps": 1})
    state = {"created": [BOB_URN, CAROL_URN], "acknowledged": [CAROL_URN], "cancelled": [], "timed_out": []}
    wf.wait_for(r"WF ACK lunch " + re.escape(CAROL_URN + " " + json.dumps(state, separators=(",", ":"))))
    wf.wait_for(r"WF CANCELLED")
    wf.wait_for(r"WF STOP normal")
    fires = said(relaybox, "Carol").count("Fire in the kitchen")
    time.sleep(3.5)
    assert said(relaybox, "Carol").count("Fire in the kitchen") == fires
    cancelled = [e for e in state_of(relaybox, "Carol")["transcript"] if e.get("notification") == "cancelled"]
    assert [e["name"] for e in cancelled] == ["fire"]


def test_timers_and_incidents(relaybox: Any, sample: Callable[[str], Sample]) -> None:
    wf = sample("extras.py")
    devices_and_desk(relaybox)
    register(relaybox, "timers", f"ws://127.0.0.1:{wf.port}/timers", {"on_phrases": ["timers"]})
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"speak": "timers"})
    wf.wait_for(r"WF INCIDENT resolved True all good")
    wf.wait_for(r"WF TIMER 3")
    assert [line for line in wf.lines if line.startswith("WF TIMER_FIRED")] == [
        "WF TIMER_FIRED tick 1", "WF TIMER_FIRED tick 2", "WF TIMER_FIRED tick 3"]
    relaybox.wait_until(lambda: relaybox.api("GET", "/api/workflows/instances")[1]["instances"] == [])


def test_http_and_timer_triggers(relaybox: Any, sample: Callable[[str], Sample]) -> None:
    wf = sample("extras.py")
    devices_and_desk(relaybox)
    uri = f"ws://127.0.0.1:{wf.port}/started"
    register(relaybox, "hook", uri, {"on_http": "POST"})
    status, out = relaybox.api("POST", "/api/workflows/hook?user_id=Carol", {"action_args": {"k": "v"}})
    assert status == 200 and len(out["instances"]) == 1
    wf.wait_for(r'WF START http urn:relay-resource:name:device:Carol \{"k": "v"\}')
    register(relaybox, "now", uri, {"on_timer": {"start_time": "immediately"}}, [BOB])
    wf.wait_for(r"WF START calendar urn:relay-resource:name:device:Bob null")


def test_group_call(relaybox: Any, sample: Callable[[str], Sample]) -> None:
    wf = sample("extras.py")
    devices_and_desk(relaybox)
    register(relaybox, "gc", f"ws://127.0.0.1:{wf.port}/groupcall", {"on_button": "action_button_triple_tap"},
             [ALICE])
    relaybox.api("POST", "/api/sandbox/devices/Alice/actions", {"button": "talk", "taps": 3})
    wf.wait_for(r"WF PLACED True")
    wf.wait_for(r"WF CALL_RINGING Front Desk urn:relay-resource:name:group:Front%20Desk")
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"button": "talk", "taps": 1})
    wf.wait_for(rf"WF CALL_CONNECTED Bob {BOB_URN}")
    assert said(relaybox, "Carol")[-1] == "Call from Alice answered elsewhere"
    relaybox.api("POST", "/api/sandbox/devices/Bob/actions", {"button": "assistant", "taps": 2})
    wf.wait_for(r"WF CALL_DISCONNECTED hangup")
    assert said(relaybox, "Bob")[-1] == "Call ended"
