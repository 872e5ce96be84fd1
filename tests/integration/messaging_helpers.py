"""Helpers for the messaging/task integration tests: run tests/clients/messaging/<flavor>.(py|js).

Built on conftest's harness (server, client environments, background runner); nothing here edits it.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Any

from conftest import CLIENTS_DIR, Background, Clients, Relaybox, client_command, client_env, require_client

MESSAGING_DIR = CLIENTS_DIR / "messaging"
OFFICE = "+15552220000"  # a project number routed to "office": the sender of outbound messages
PHONE = "+15553330000"  # a virtual phone
CONTEXT = "office"
STATES = ["queued", "initiated", "sent", "delivered"]


def start_client(clients: Clients, flavor: str, env: dict[str, str] | None = None) -> Background:
    """Start the messaging script of FLAVOR against `clients.box` (stopped at teardown by `clients`)."""
    require_client(flavor)
    script = MESSAGING_DIR / (f"{flavor}.py" if flavor.endswith("_python") else f"{flavor}.js")
    argv = [*client_command(flavor, "consumer")[:-1], str(script)]
    full_env = {**client_env(flavor, clients.box), "CONTEXT": CONTEXT, **(env or {})}
    clients._n += 1
    bg = Background(f"{flavor}-messaging-{clients._n}", argv, full_env, clients.log_dir)
    clients.started.append(bg)
    return bg


def sent_id(bg: Background, flavor: str, timeout: float = 20.0) -> str:
    """The message id the client printed for its send (v2: `SENT True <id>`, v4: `SENT <id>`)."""
    pattern = r"^SENT True (\S+)$" if flavor.startswith("v2_") else r"^SENT (\S+)"
    return bg.wait_for(pattern, timeout=timeout).group(1)


def states_of(bg: Background, message_id: str) -> list[str]:
    rx = re.compile(rf"^STATE {re.escape(message_id)} (\S+) ")
    return [m.group(1) for line in bg.lines if (m := rx.search(line))]


def wait_state(bg: Background, message_id: str, state: str, timeout: float = 15.0) -> re.Match[str]:
    return bg.wait_for(rf"^STATE {re.escape(message_id)} {state}\b(.*)$", timeout=timeout)


def sandbox_messages(box: Relaybox, to: str) -> list[dict[str, Any]]:
    status, body = box.api("GET", "/api/sandbox/messages?" + urllib.parse.urlencode({"to": to}))
    assert status == 200 and isinstance(body, dict), (status, body)
    return list(body["messages"])


def messages(box: Relaybox, **query: str) -> list[dict[str, Any]]:
    path = "/api/messages" + ("?" + urllib.parse.urlencode(query) if query else "")
    status, body = box.api("GET", path)
    assert status == 200 and isinstance(body, dict), (status, body)
    return list(body["messages"])


def history(box: Relaybox, message_id: str) -> list[str]:
    found = [m for m in messages(box) if m["id"] == message_id]
    assert found, f"message {message_id} not in GET /api/messages"
    return [h["state"] for h in found[0]["history"]]


def new_box(data_dir: Path, log_path: Path, speed: str) -> Relaybox:
    box = Relaybox(data_dir, log_path, speed=speed)
    box.start()
    return box
