"""The device calling guide's Python samples (auto-answer, outbound call) on relaybox's Python workflow SDK
(`relaybox.workflow`), each a separate process that relaybox connects out to."""

from __future__ import annotations

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
    return box.api("GET", f"/api/sandbox/devices/{name}")[1]  # type: ignore[no-any-return]


def said(box: Any, name: str) -> list[str]:
    return [e["said"] for e in state(box, name)["transcript"] if "said" in e]


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
