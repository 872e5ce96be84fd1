"""The CLI as a user runs it: `relaybox numbers ...` and `relaybox calls` against a running server."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any


def run_cli(box: Any, *args: str, auth: bool = True) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "relaybox", *args, "--url", box.url]
    if auth:
        argv += ["--project", box.project, "--token", box.token]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_numbers_add_list_remove(relaybox: Any) -> None:
    added = run_cli(relaybox, "numbers", "add", "+15552220000", "--context", "office")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "+15552220000 -> office"
    status, body = relaybox.api("GET", "/api/numbers")
    assert status == 200 and body == {"numbers": [{"number": "+15552220000", "context": "office"}]}

    listed = run_cli(relaybox, "numbers", "list")
    assert listed.returncode == 0 and "+15552220000 -> office" in listed.stdout

    removed = run_cli(relaybox, "numbers", "remove", "+15552220000")
    assert removed.returncode == 0, removed.stderr
    assert relaybox.api("GET", "/api/numbers")[1] == {"numbers": []}


def test_bad_input_is_a_message_not_a_traceback(relaybox: Any) -> None:
    bad = run_cli(relaybox, "numbers", "add", "555-1234", "--context", "office")
    assert bad.returncode != 0
    assert "400" in bad.stderr and "E.164" in bad.stderr
    assert "Traceback" not in bad.stderr

    wrong = subprocess.run(
        [sys.executable, "-m", "relaybox", "numbers", "list", "--url", relaybox.url, "--project", "x", "--token", "y"],
        capture_output=True, text=True, timeout=30,
    )
    assert wrong.returncode != 0 and "401" in wrong.stderr and "Traceback" not in wrong.stderr

    missing = run_cli(relaybox, "numbers", "remove", "+15559990000")
    assert missing.returncode != 0 and "404" in missing.stderr


def test_unreachable_server_and_busy_port(relaybox: Any, tmp_path: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = subprocess.run(
        [sys.executable, "-m", "relaybox", "numbers", "list", "--url", f"http://127.0.0.1:{port}",
         "--project", "p", "--token", "t"],
        capture_output=True, text=True, timeout=30,
    )
    assert down.returncode != 0 and "cannot reach relaybox" in down.stderr and "Traceback" not in down.stderr

    busy = subprocess.run(
        [sys.executable, "-m", "relaybox", "serve", "--port", str(relaybox.port), "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=30,
    )
    assert busy.returncode != 0 and "cannot listen" in busy.stderr and "Traceback" not in busy.stderr


def test_call_history(relaybox: Any) -> None:
    relaybox.add_number("+15552220000", "nobody-listens")
    placed = relaybox.place_call("+15551110000", "+15552220000", [{"wait": 1}, {"hangup": True}])
    relaybox.wait_sandbox_ended(placed["id"])
    out = run_cli(relaybox, "calls")
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if placed["call_id"] in line)
    assert "+15551110000 -> +15552220000" in line and "context=nobody-listens" in line and "cancel" in line
