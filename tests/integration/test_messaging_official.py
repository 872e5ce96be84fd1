"""Messaging and tasks with the four official clients, unmodified, against a live relaybox.

v2 Python / Node: `messaging.send` + `on_message_state_change`, `on_incoming_message`, `Task.deliver` + `on_task`
(through the http shims). v4 Python: `send_message` + `msg.wait()`, `@client.on_message`. v4 Node
(realtime-api): `messaging.send` + `messaging.listen`, `task.listen` (tasks posted over REST).
"""

from __future__ import annotations

import json
import re
import time

import pytest
from messaging_helpers import (
    CONTEXT,
    OFFICE,
    PHONE,
    STATES,
    sandbox_messages,
    sent_id,
    start_client,
    states_of,
    wait_state,
)
from messaging_helpers import history as message_history

pytestmark = pytest.mark.official
FLAVORS = ["v2_python", "v2_node", "v4_python", "v4_node"]


def _final(bg, flavor: str, message_id: str, state: str):  # type: ignore[no-untyped-def]
    """Wait for the terminal state as the client reports it (v4 Python: `msg.wait()`)."""
    if flavor == "v4_python":
        return bg.wait_for(rf"^FINAL {re.escape(message_id)} {state} (.*)$", timeout=20)
    return wait_state(bg, message_id, state, timeout=20)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_send_reaches_the_phone_with_every_state(relaybox, clients, flavor: str) -> None:
    relaybox.add_number(OFFICE, CONTEXT)
    body = "Hello from relaybox, " + flavor + " {€}"
    bg = start_client(clients, flavor, {"SEND_TO": PHONE, "SEND_BODY": body})
    mid = sent_id(bg, flavor)
    _final(bg, flavor, mid, "delivered")
    relaybox.wait_until(lambda: states_of(bg, mid)[-1:] == ["delivered"], 5, message="the delivered state line")
    assert states_of(bg, mid) == STATES, bg.describe()
    [seen] = [m for m in sandbox_messages(relaybox, PHONE) if m["id"] == mid]
    assert seen == {"id": mid, "from": OFFICE, "to": PHONE, "body": body, "media": [], "state": "delivered"}
    assert message_history(relaybox, mid) == STATES


@pytest.mark.parametrize("flavor", FLAVORS)
def test_undeliverable_number(relaybox, clients, flavor: str) -> None:
    relaybox.add_number(OFFICE, CONTEXT)
    status, body = relaybox.api("PUT", f"/api/sandbox/phones/{PHONE}", {"messages": "undeliverable"})
    assert status == 200 and body["messages"] == "undeliverable", body
    bg = start_client(clients, flavor, {"SEND_TO": PHONE, "SEND_MEDIA": "https://example.com/cat.jpg"})
    mid = sent_id(bg, flavor)
    reason = _final(bg, flavor, mid, "undelivered").group(1)
    assert "unreachable" in reason, bg.describe()
    relaybox.wait_until(lambda: states_of(bg, mid)[-1:] == ["undelivered"], 5, message="the undelivered line")
    assert states_of(bg, mid) == ["queued", "initiated", "sent", "undelivered"], bg.describe()


@pytest.mark.parametrize("flavor", ["v2_python", "v4_python"])
def test_failing_number(relaybox, clients, flavor: str) -> None:
    relaybox.add_number(OFFICE, CONTEXT)
    relaybox.api("PUT", f"/api/sandbox/phones/{PHONE}", {"messages": "fail"})
    bg = start_client(clients, flavor, {"SEND_TO": PHONE, "SEND_BODY": "x"})
    mid = sent_id(bg, flavor)
    _final(bg, flavor, mid, "failed")
    relaybox.wait_until(lambda: states_of(bg, mid)[-1:] == ["failed"], 5, message="the failed line")
    assert states_of(bg, mid) == ["queued", "initiated", "failed"], bg.describe()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_inbound_message(relaybox, clients, flavor: str) -> None:
    relaybox.add_number(OFFICE, CONTEXT)
    bg = start_client(clients, flavor)
    bg.wait_for(r"^READY\b", timeout=20)
    status, body = relaybox.api(
        "POST", "/api/sandbox/messages",
        {"from": PHONE, "to": OFFICE, "body": "Hi there ✓", "media": ["https://example.com/a.png"]},
    )
    assert status == 201 and body["context"] == CONTEXT, body
    m = bg.wait_for(rf"^MESSAGE IN {re.escape(body['id'])} (.*) (\".*\") (\[.*\])$", timeout=15)
    assert m.group(1) == f"{PHONE} {OFFICE} received inbound 1", bg.describe()
    assert json.loads(m.group(2)) == "Hi there ✓" and json.loads(m.group(3)) == ["https://example.com/a.png"]


@pytest.mark.parametrize("flavor", ["v2_python", "v2_node"])
def test_task_deliver_to_on_task(relaybox, clients, flavor: str) -> None:
    """The client's own `Task.deliver` (through the http shim) reaches its `on_task`."""
    message = {"action": "call", "n": 1, "to": "+18881113333"}
    bg = start_client(clients, flavor, {"TASK_MESSAGE": json.dumps(message)})
    bg.wait_for(r"^TASK DELIVERED True$", timeout=20)
    line = bg.wait_for(r"^TASK (\{.*\})$", timeout=10).group(1)
    assert json.loads(line) == message


@pytest.mark.parametrize("flavor", ["v2_python", "v2_node", "v4_node"])
def test_task_posted_before_the_consumer_connects(relaybox, clients, flavor: str) -> None:
    status, _ = relaybox.api("POST", "/api/relay/rest/tasks", {"context": CONTEXT, "message": {"early": True}})
    assert status == 204
    bg = start_client(clients, flavor)
    line = bg.wait_for(r"^TASK (\{.*\})$", timeout=20).group(1)
    assert json.loads(line) == {"early": True}


@pytest.mark.parametrize("flavor", FLAVORS)
def test_bad_send_gets_the_documented_failure(relaybox, clients, flavor: str) -> None:
    relaybox.add_number(OFFICE, CONTEXT)
    bg = start_client(clients, flavor, {"SEND_TO": PHONE, "SEND_BODY": "x", "SEND_FROM": "+15550001111"})
    if flavor.startswith("v2_"):
        bg.wait_for(r"^SENT False None$", timeout=20)
    else:
        line = bg.wait_for(r"^SEND ERROR (.*)$", timeout=20).group(1)
        assert line.startswith("403 ") and "not a number of this project" in line, line
    assert sandbox_messages(relaybox, PHONE) == []


def test_v4_python_default_context_is_its_protocol(relaybox, clients) -> None:
    """No context given: the SDK uses its protocol; the states still reach the sending session."""
    relaybox.add_number(OFFICE, CONTEXT)
    bg = start_client(clients, "v4_python", {"SEND_TO": PHONE, "SEND_BODY": "x", "SEND_CONTEXT": "-"})
    mid = sent_id(bg, "v4_python")
    _final(bg, "v4_python", mid, "delivered")


def test_one_consumer_per_inbound_message(relaybox, clients) -> None:
    """Two consumers of the same context (v2 Python and v4 Node): each message goes to exactly one of them."""
    relaybox.add_number(OFFICE, CONTEXT)
    a = start_client(clients, "v2_python")
    b = start_client(clients, "v4_node")
    a.wait_for(r"^READY\b", timeout=20)
    b.wait_for(r"^READY\b", timeout=20)
    time.sleep(0.5)  # the platform routes to a context a moment after acknowledging the subscription
    ids = []
    for i in range(6):
        status, body = relaybox.api("POST", "/api/sandbox/messages", {"from": PHONE, "to": OFFICE, "body": f"m{i}"})
        assert status == 201
        ids.append(body["id"])

    def got() -> list[str]:
        return [line.split()[2] for bg in (a, b) for line in bg.lines if line.startswith("MESSAGE IN ")]

    relaybox.wait_until(lambda: len(got()) >= 6, 15, message="six inbound messages")
    assert sorted(got()) == sorted(ids), a.describe() + b.describe()
    assert a.count(r"^MESSAGE IN ") == 3 and b.count(r"^MESSAGE IN ") == 3
