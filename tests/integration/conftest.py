"""Integration-test harness: a real `relaybox serve` process, and the OFFICIAL SignalWire clients run against it.

Fixtures
  relaybox  a freshly started server (one per test; see `Relaybox` for its REST helpers)
  clients   runs the official-client scripts of tests/clients/ against that server (see `Clients`)

The official clients are installed by scripts/setup-test-clients.sh (`make test` runs it). When one is
missing, its tests are skipped with a message naming that script, except under CI (CI=true) or with
RELAYBOX_REQUIRE_CLIENTS=1, where they fail instead, so a broken install can't pass silently.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# the test modules `import official_scenarios` (next to this file) whatever pytest's import mode
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("official_scenarios")

ROOT = Path(__file__).resolve().parents[2]
CLIENTS_DIR = ROOT / "tests" / "clients"
VENVS = ROOT / ".venvs"
NODE_MODULES = CLIENTS_DIR / "node_modules"
SETUP_HINT = "run scripts/setup-test-clients.sh (make test does)"

PROJECT = "test-project"
TOKEN = "test-token"
SPEED = "10"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
LOG_TAIL = 30_000  # characters of a log attached to a failure report


# ----------------------------------------------------------------------------------------------------------
# the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, limit: int = LOG_TAIL) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return text if len(text) <= limit else "...\n" + text[-limit:]


class Relaybox:
    """A `relaybox serve` subprocess on 127.0.0.1:<free port>, with helpers for its REST API."""

    def __init__(
        self, data_dir: Path, log_path: Path, project: str = PROJECT, token: str = TOKEN, speed: str = SPEED
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.project = project
        self.token = token
        self.speed = speed
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._auth = "Basic " + base64.b64encode(f"{project}:{token}".encode()).decode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return _tail(self.log_path)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        for _attempt in range(3):  # a free port can be taken between probing and binding: retry
            self.port = _free_port()
            cmd = [
                sys.executable,
                "-m",
                "relaybox",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--project",
                self.project,
                "--token",
                self.token,
                "--speed",
                self.speed,
            ]
            with open(self.log_path, "ab") as log:
                log.write(f"$ {' '.join(cmd)}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    cmd,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                with contextlib.suppress(OSError, ValueError):
                    status, _ = self.api("GET", "/api/health", timeout=1.0)
                    if status == 200:
                        return
                time.sleep(0.1)
            if self.proc.poll() is None:  # up but not healthy in time
                self.stop()
                pytest.fail(
                    f"relaybox did not answer 200 on /api/health within {START_TIMEOUT:.0f} s; log:\n{self.log()}",
                    pytrace=False,
                )
            if "address already in use" not in self.log().lower():
                break
        pytest.fail(
            f"relaybox exited at start-up with status {self.proc.returncode if self.proc else None}; "
            f"log:\n{self.log()}",
            pytrace=False,
        )

    def stop(self) -> int | None:
        """SIGTERM, wait up to 10 s, then kill. Returns the exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with open(self.log_path, "ab") as log:
                    log.write(b"\n[harness] relaybox still running 10 s after SIGTERM: killed\n")
                proc.kill()
                proc.wait()
        return proc.returncode

    # -- REST ------------------------------------------------------------------------------------------

    def api(self, method: str, path: str, json: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
        """One REST request with HTTP Basic auth. Returns (status, body): body is the decoded JSON, else text."""
        data = None
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        if json is not None:
            data = _json_dumps(json).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method.upper(), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        text = raw.decode("utf-8", errors="replace")
        try:
            return status, _json_loads(text) if text else None
        except ValueError:
            return status, text

    def _expect(self, method: str, path: str, json: Any, *ok: int) -> Any:
        status, body = self.api(method, path, json)
        assert status in ok, f"{method} {path} {_json_dumps(json) if json is not None else ''} -> {status}: {body}"
        return body

    def set_phone(self, number: str, script: list[dict[str, Any]]) -> Any:
        """PUT /api/sandbox/phones/{number}: what the virtual phone does when the platform calls it."""
        return self._expect("PUT", f"/api/sandbox/phones/{_q(number)}", {"script": script}, 200, 201, 204)

    def place_call(
        self, from_: str, to: str, script: list[dict[str, Any]] | None = None, context: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """POST /api/sandbox/calls: a virtual phone calls into the platform. Returns {"id", "call_id"}."""
        body: dict[str, Any] = {"from": from_, "to": to}
        if script is not None:
            body["script"] = script
        if context is not None:
            body["context"] = context
        body.update(extra)
        result = self._expect("POST", "/api/sandbox/calls", body, 201, 200)
        assert isinstance(result, dict) and result.get("id") and result.get("call_id"), (
            f"POST /api/sandbox/calls answered {result!r}; expected {{'id', 'call_id'}}"
        )
        return result

    def sandbox_call(self, id: str) -> dict[str, Any]:
        """GET /api/sandbox/calls/{id}: state, end_reason and transcript of one sandbox call."""
        return self._expect("GET", f"/api/sandbox/calls/{_q(id)}", None, 200)

    def sandbox_calls(self, number: str) -> list[dict[str, Any]]:
        """GET /api/sandbox/calls?number=N: the sandbox calls of a virtual phone, oldest first."""
        body = self._expect("GET", "/api/sandbox/calls?" + urllib.parse.urlencode({"number": number}), None, 200)
        assert isinstance(body, dict) and isinstance(body.get("calls"), list), f"expected {{'calls': [...]}}: {body}"
        return body["calls"]

    def add_number(self, number: str, context: str) -> Any:
        """POST /api/numbers: route inbound calls/messages for NUMBER to CONTEXT."""
        return self._expect("POST", "/api/numbers", {"number": number, "context": context}, 200, 201)

    def wait_until(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,
        interval: float = 0.05,
        message: str | Callable[[], str] = "condition",
    ) -> Any:
        """Poll PREDICATE until it returns something truthy (returned); AssertionError after TIMEOUT s.
        Exceptions raised by the predicate count as "not yet" (the last one is reported)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                value = predicate()
                if value:
                    return value
                last = value
            except Exception as exc:
                last = exc
            if time.monotonic() >= deadline:
                text = message() if callable(message) else message
                raise AssertionError(f"timed out after {timeout} s waiting for {text}; last result: {last!r}")
            time.sleep(interval)

    def wait_sandbox_ended(self, id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the sandbox call reaches state `ended`; returns it."""
        return self.wait_until(
            lambda: (c := self.sandbox_call(id))["state"] == "ended" and c,
            timeout,
            message=lambda: f"sandbox call {id} to reach state 'ended' (now: {self._state_of(id)})",
        )

    def _state_of(self, id: str) -> str:
        try:
            return _json_dumps(self.sandbox_call(id))
        except Exception as exc:
            return repr(exc)


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _json_loads(text: str) -> Any:
    return json.loads(text)


@pytest.fixture
def relaybox(tmp_path: Path) -> Any:
    """Start `python -m relaybox serve` on a free port (speed 10) and stop it with SIGTERM afterwards."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    box = Relaybox(data_dir, tmp_path / "relaybox.log")
    box.start()
    try:
        yield box
    finally:
        status = box.stop()
    # relaybox-interface.md: "shuts down cleanly on SIGTERM/SIGINT"
    if status != 0:
        pytest.fail(f"relaybox exited with status {status} after SIGTERM (expected a clean exit 0)", pytrace=False)


# ----------------------------------------------------------------------------------------------------------
# the official clients

FLAVORS = ("v2_python", "v2_node", "v4_python", "v4_node")


def client_missing(flavor: str) -> str | None:
    """Why FLAVOR's official client can't run here, or None if it can."""
    if flavor == "v2_python":
        ok = (VENVS / "sw2" / "bin" / "python").exists() and (VENVS / ".sw2.stamp").exists()
        return None if ok else "signalwire==2.1.1 is not installed in .venvs/sw2"
    if flavor == "v4_python":
        ok = (VENVS / "sw4" / "bin" / "python").exists() and (VENVS / ".sw4.stamp").exists()
        return None if ok else "signalwire-sdk is not installed in .venvs/sw4"
    if flavor in ("v2_node", "v4_node"):
        if shutil.which("node") is None:
            return "node is not on PATH"
        package = "node" if flavor == "v2_node" else "realtime-api"
        if not (NODE_MODULES / "@signalwire" / package / "package.json").exists():
            return f"@signalwire/{package} is not installed in tests/clients/node_modules"
        return None
    raise ValueError(f"unknown client flavor {flavor!r}")


def require_client(flavor: str) -> None:
    why = client_missing(flavor)
    if why is None:
        return
    if os.environ.get("CI") or os.environ.get("RELAYBOX_REQUIRE_CLIENTS") == "1":
        pytest.fail(f"official client {flavor}: {why}; {SETUP_HINT}", pytrace=False)
    pytest.skip(f"official client {flavor}: {why}; {SETUP_HINT}")


def client_command(flavor: str, script: str) -> list[str]:
    """argv that runs tests/clients/<flavor>/<script>.(py|js) with the right interpreter."""
    if flavor == "v2_python":
        return [str(VENVS / "sw2" / "bin" / "python"), "-u", str(CLIENTS_DIR / flavor / f"{script}.py")]
    if flavor == "v4_python":
        return [str(VENVS / "sw4" / "bin" / "python"), "-u", str(CLIENTS_DIR / flavor / f"{script}.py")]
    if flavor == "v2_node":
        return [
            "node",
            "-r",
            str(CLIENTS_DIR / "shims" / "node" / "relay-local.js"),
            str(CLIENTS_DIR / flavor / f"{script}.js"),
        ]
    if flavor == "v4_node":
        return ["node", str(CLIENTS_DIR / flavor / f"{script}.js")]
    raise ValueError(f"unknown client flavor {flavor!r}")


def client_env(flavor: str, box: Relaybox, host_argument: bool = False) -> dict[str, str]:
    """Environment for an official-client script talking to BOX.

    v2 clients get no host by default: the shims (RELAY_WS_URL) redirect the SDK's default host, which is how
    the unmodified documented examples run. host_argument=True passes RELAY_HOST (the SDK's `host`) instead.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NODE_OPTIONS", "RELAY_HOST", "RELAY_WS_URL", "LOG_LEVEL")
    }
    env.update(SW_PROJECT=box.project, SW_TOKEN=box.token, PYTHONUNBUFFERED="1", SCRIPT_TIMEOUT="60")
    if flavor == "v2_python":
        env.update(PYTHONPATH=str(CLIENTS_DIR / "shims" / "py2"), RELAY_WS_URL=box.ws_url)
    elif flavor == "v2_node":
        env.update(NODE_PATH=str(NODE_MODULES), RELAY_WS_URL=box.ws_url)
    elif flavor == "v4_python":
        env.update(
            PYTHONPATH=str(CLIENTS_DIR / "shims" / "py4"),
            RELAY_WS_SCHEME="ws",
            SIGNALWIRE_SPACE=box.hostport,
            SIGNALWIRE_PROJECT_ID=box.project,
            SIGNALWIRE_API_TOKEN=box.token,
        )
    elif flavor == "v4_node":
        env.update(NODE_PATH=str(NODE_MODULES), RELAY_HOST=box.ws_url)
    else:
        raise ValueError(f"unknown client flavor {flavor!r}")
    if host_argument and flavor.startswith("v2_"):
        env.pop("RELAY_WS_URL")
        env["RELAY_HOST"] = box.ws_url
    return env


@dataclass
class RunResult:
    name: str
    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def find(self, pattern: str) -> re.Match[str] | None:
        """First stdout line matching the regex PATTERN (re.search)."""
        rx = re.compile(pattern)
        return next((m for line in self.lines if (m := rx.search(line))), None)

    def describe(self) -> str:
        status = "TIMED OUT" if self.timed_out else f"exit status {self.returncode}"
        return (
            f"--- {self.name}: {' '.join(self.argv)} ({status})\n--- stdout:\n{self.stdout}"
            f"--- stderr:\n{_clip(self.stderr)}"
        )


def _clip(text: str, limit: int = 8000) -> str:
    return text if len(text) <= limit else "...\n" + text[-limit:]


class Background:
    """A client script running in the background; its stdout lines are collected as they arrive."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._stderr_path = log_dir / f"{name}.stderr"
        self._stderr = open(self._stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL
        )
        self._reader = threading.Thread(target=self._read, name=f"reader-{name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self._lines.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def lines(self) -> list[str]:
        with self._cond:
            return list(self._lines)

    @property
    def stdout(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    @property
    def stderr(self) -> str:
        return self._stderr_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 15.0, start: int = 0) -> re.Match[str]:
        """Wait until a stdout line (from index START on) matches the regex PATTERN; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = start
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    if m := rx.search(line):
                        return m
                seen = max(seen, len(self._lines))
                remaining = deadline - time.monotonic()
                exited = self.proc.poll() is not None and not self._reader.is_alive()
                if remaining <= 0 or exited:
                    why = "exited" if exited else f"timed out after {timeout} s"
                    raise AssertionError(
                        f"{self.name} {why} before printing a line matching {pattern!r}\n" + self.describe()
                    )
                self._cond.wait(min(remaining, 0.2))

    def count(self, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for line in self.lines if rx.search(line))

    def wait(self, timeout: float) -> int | None:
        """Wait for the process to exit on its own; returns its status, or None if it is still running."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (if still running), wait, then kill. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        if not self._stderr.closed:
            self._stderr.close()
        return self.proc.returncode

    def result(self) -> RunResult:
        return RunResult(self.name, self.argv, self.proc.poll(), self.stdout, self.stderr)

    def describe(self) -> str:
        return self.result().describe()


@dataclass
class Clients:
    """Runs the official-client scripts of tests/clients/ against one relaybox."""

    box: Relaybox
    log_dir: Path
    started: list[Background] = field(default_factory=list)
    finished: list[RunResult] = field(default_factory=list)
    _n: int = 0

    def _name(self, flavor: str, script: str) -> str:
        self._n += 1
        return f"{flavor}-{script}-{self._n}"

    def run(
        self,
        flavor: str,
        script: str,
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
        host_argument: bool = False,
    ) -> RunResult:
        """Run tests/clients/<flavor>/<script> to completion (killed after TIMEOUT s)."""
        require_client(flavor)
        argv = client_command(flavor, script)
        full_env = {**client_env(flavor, self.box, host_argument), **(env or {})}
        name = self._name(flavor, script)
        try:
            proc = subprocess.run(
                argv, cwd=ROOT, env=full_env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
            result = RunResult(
                name, argv, proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
            )
        except subprocess.TimeoutExpired as exc:
            result = RunResult(
                name,
                argv,
                None,
                (exc.stdout or b"").decode(errors="replace"),
                (exc.stderr or b"").decode(errors="replace"),
                timed_out=True,
            )
        self.finished.append(result)
        return result

    def start(
        self, flavor: str, script: str, env: dict[str, str] | None = None, host_argument: bool = False
    ) -> Background:
        """Start tests/clients/<flavor>/<script> in the background (stopped at teardown at the latest)."""
        require_client(flavor)
        argv = client_command(flavor, script)
        full_env = {**client_env(flavor, self.box, host_argument), **(env or {})}
        bg = Background(self._name(flavor, script), argv, full_env, self.log_dir)
        self.started.append(bg)
        return bg

    def stop_all(self) -> None:
        for bg in self.started:
            bg.stop()

    def describe(self) -> str:
        parts = [r.describe() for r in self.finished] + [bg.describe() for bg in self.started]
        return "\n".join(parts)


@pytest.fixture
def clients(relaybox: Relaybox, tmp_path: Path) -> Any:
    """Runner for the official-client scripts against the `relaybox` fixture's server."""
    log_dir = tmp_path / "clients"
    log_dir.mkdir()
    runner = Clients(relaybox, log_dir)
    try:
        yield runner
    finally:
        runner.stop_all()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, under CI, fail) a test module's tests before starting a server when its client is missing.
    Modules name their client in a module-level FLAVOR."""
    module = getattr(item, "module", None)
    flavor = getattr(module, "FLAVOR", None)
    if flavor in FLAVORS:
        require_client(flavor)


# ----------------------------------------------------------------------------------------------------------
# attach the server log and the clients' output to failure reports


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when not in ("call", "teardown") or not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    runner = funcargs.get("clients")
    if isinstance(runner, Clients) and (text := runner.describe()):
        report.sections.append(("official clients", text))
    box = funcargs.get("relaybox")
    if isinstance(box, Relaybox):
        report.sections.append((f"relaybox log ({box.log_path})", box.log()))
