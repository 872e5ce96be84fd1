"""Runs documented RELAY v2 Python examples on relaybox's own SDK and on the official signalwire==2.1.1.

An example's code is used as printed in the seed (tests/seeds/003_*, a copy of ../shared/seeds/003_*), with only:
  * the import line changed (`signalwire.relay` -> `relaybox.relay`) for relaybox's SDK;
  * the host: relaybox's SDK reads it from $RELAYBOX_HOST, the official one is redirected by the
    tests/clients/shims/py2 sitecustomize (RELAY_WS_URL) - so the code itself names no host;
  * placeholder phone numbers (+1XXXXXXXXXX, +1YYYYYYYYYY) replaced by sandbox numbers.
The placeholder project id and token are kept: the server is started with exactly those credentials.

The example file itself is run unchanged through RUNNER, which makes the example's own `asyncio.sleep`
calls (and only those: not the SDK's) run at the server's `--speed`, as every platform timer does. So
"play 60 s of silence, sleep 5 s, stop" keeps its meaning while taking 0.6 s of wall-clock time.
Fragments (a few lines using `call` or `client`) are wrapped in the smallest Consumer / ready handler that
provides that variable (see WRAPPERS).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conftest import CLIENTS_DIR, ROOT, VENVS, Background, Relaybox

DOC_PROJECT = "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"
DOC_TOKEN = "PTXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"

CALLER = "+15551110000"  # +1XXXXXXXXXX: the caller id / the phone that calls in
ANSWERS = "+15553330000"  # +1YYYYYYYYYY: rings 1 s, answers, stays 30 s
OFFICE = "+15552220000"  # routed to context "office"
NUMBERS = {"+1XXXXXXXXXX": CALLER, "+1YYYYYYYYYY": ANSWERS}

SDKS = ("relaybox", "official")
OFFICIAL_PYTHON = VENVS / "sw2" / "bin" / "python"

# wrappers: `{body}` is the fragment, indented into place
WRAPPERS = {
    # an inbound call on "office", answered first when the fragment needs a live call
    "inbound": """
import asyncio
from signalwire.relay.consumer import Consumer

class CustomConsumer(Consumer):
  def setup(self):
    self.project = '{project}'
    self.token = '{token}'
    self.contexts = ['office']

  def ready(self):
    print('READY', flush=True)

  async def on_incoming_call(self, call):
{answer}{body}
    print('FRAGMENT DONE', flush=True)

consumer = CustomConsumer()
consumer.run()
""",
    # a Client whose ready handler runs the fragment (`client` in scope)
    "ready": """
import asyncio
from signalwire.relay.client import Client

async def ready(client):
  print('READY', flush=True)
{body}
  print('FRAGMENT DONE', flush=True)

client = Client(project='{project}', token='{token}')
client.on('ready', ready)
client.connect()
""",
}


# `python -c RUNNER SPEED example.py`: run example.py as __main__, its own asyncio.sleep scaled by 1/SPEED
RUNNER = """
import asyncio, runpy, sys
_speed, _path = float(sys.argv[1]), sys.argv[2]
_sleep = asyncio.sleep
def _scaled(delay, *args, **kwargs):
    if sys._getframe(1).f_globals.get("__name__") == "__main__":
        delay = delay / _speed
    return _sleep(delay, *args, **kwargs)
asyncio.sleep = _scaled
sys.argv = [_path]
runpy.run_path(_path, run_name="__main__")
"""


def adapt(code: str, sdk: str) -> str:
    for placeholder, number in NUMBERS.items():
        code = code.replace(placeholder, number)
    if sdk == "relaybox":
        code = re.sub(r"\bfrom signalwire\.relay\b", "from relaybox.relay", code)
        code = re.sub(r"\bimport signalwire\.relay\b", "import relaybox.relay", code)
    return code


def wrap(kind: str, fragment: str, answer: bool = False) -> str:
    fragment = textwrap.dedent(fragment).strip("\n")
    if kind == "script":
        return fragment
    indent = "    " if kind == "inbound" else "  "
    body = textwrap.indent(fragment, indent)
    answer_line = "    await call.answer()\n" if answer else ""
    return WRAPPERS[kind].format(project=DOC_PROJECT, token=DOC_TOKEN, body=body, answer=answer_line)


def official_missing() -> str | None:
    if not OFFICIAL_PYTHON.exists():
        return f"{OFFICIAL_PYTHON} missing (scripts/setup-test-clients.sh installs signalwire==2.1.1)"
    return None


def start(
    box: Relaybox, sdk: str, code: str, log_dir: Path, name: str, env: dict[str, str] | None = None
) -> Background:
    """Start CODE (already wrapped) on SDK in the background against BOX."""
    path = log_dir / f"{name}-{sdk}.py"
    path.write_text(adapt(code, sdk))
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONPATH",
            "PYTHONHOME",
            "VIRTUAL_ENV",
            "RELAY_HOST",
            "RELAY_WS_URL",
            "RELAYBOX_HOST",
            "SIGNALWIRE_HOST",
            "LOG_LEVEL",
        )
    }
    base["PYTHONUNBUFFERED"] = "1"
    if sdk == "relaybox":
        argv = [sys.executable, "-u", "-c", RUNNER, box.speed, str(path)]
        base.update(RELAYBOX_HOST=box.ws_url, PYTHONPATH=str(ROOT))
    else:
        argv = [str(OFFICIAL_PYTHON), "-u", "-c", RUNNER, box.speed, str(path)]
        base.update(PYTHONPATH=str(CLIENTS_DIR / "shims" / "py2"), RELAY_WS_URL=box.ws_url)
    base.update(env or {})
    mark = receive_count(box)
    bg = Background(f"{name}-{sdk}", argv, base, log_dir)
    _marks[id(bg)] = mark
    return bg


_marks: dict[int, int] = {}


def receive_count(box: Relaybox) -> int:
    """How many times the server has logged a session starting to receive contexts."""
    return box.log_path.read_text(errors="replace").count(" receives contexts ")


def wait_receiving(box: Relaybox, bg: Background | None = None, since: int | None = None, timeout: float = 20) -> None:
    """Wait until a session started after BG (or after SINCE = receive_count()) receives its contexts: the
    example is ready for an inbound call, task or message (instead of sleeping a guessed time)."""
    mark = since if since is not None else _marks.get(id(bg), 0)
    box.wait_until(lambda: receive_count(box) > mark, timeout=timeout, message="the example's contexts registered")
    settle(0.2)


def finish(bg: Background, timeout: float = 10.0) -> int | None:
    """SIGTERM (the documented way to stop a consumer) and wait; returns the exit status."""
    return bg.stop(timeout)


UUID_RX = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
OBJ_RX = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>|\b\w+\(id=[^)]*\)")


def normalize(lines: list[str]) -> list[str]:
    """Lines without ids and object reprs (those differ between the two SDKs by nature)."""
    out = []
    for line in lines:
        line = UUID_RX.sub("<uuid>", line)
        line = OBJ_RX.sub("<object>", line)
        out.append(line)
    return out


def printed(bg: Background, ignore: tuple[str, ...] = ("READY", "FRAGMENT DONE")) -> list[str]:
    return [line for line in normalize(bg.lines) if line not in ignore]


def wait_lines(bg: Background, *patterns: str, timeout: float = 20.0) -> None:
    for pattern in patterns:
        bg.wait_for(pattern, timeout=timeout)


def settle(seconds: float = 0.3) -> None:
    time.sleep(seconds)


def describe(*bgs: Any) -> str:
    return "\n".join(bg.describe() for bg in bgs)


def reset_phones(server: Relaybox) -> None:
    """The examples' called phones: ring 1 s, answer, stay 30 s (platform time), hang up."""
    for number in (ANSWERS, "+18991114443", "+18991114445"):
        server.set_phone(number, [{"ring": 1}, {"answer": True}, {"wait": 30}, {"hangup": True}])


@contextlib.contextmanager
def doc_server(tmp_path: Path) -> Iterator[Relaybox]:
    """relaybox started with the documentation's placeholder credentials, numbers and phones set up."""
    server = Relaybox(tmp_path / "data", tmp_path / "relaybox.log", project=DOC_PROJECT, token=DOC_TOKEN)
    server.start()
    try:
        server.add_number(OFFICE, "office")
        server.add_number("+15552220001", "default")
        server.add_number("+15552220002", "home")
        server.add_number(CALLER, "home")  # messaging.send needs a from_number of the project
        server.add_number("+18991114444", "home")
        reset_phones(server)
        yield server
    finally:
        server.stop()
