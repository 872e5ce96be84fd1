"""A restart of relaybox loses no message and no task: progressions resume, waiting deliveries happen.

The first server runs slowly (speed 0.1: a message takes ~20 s to be delivered) so the restart lands between
the send and the delivery; the second runs fast on the same data dir.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import Clients
from messaging_helpers import CONTEXT, OFFICE, PHONE, STATES, history, new_box, sent_id, start_client, wait_state

pytestmark = pytest.mark.official


@pytest.mark.parametrize("consumer_flavor", ["v2_python", "v2_node", "v4_node"])
def test_restart_between_send_and_delivery_and_before_consumers(tmp_path: Path, consumer_flavor: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "clients").mkdir()
    slow = new_box(data, tmp_path / "relaybox-1.log", speed="0.1")
    try:
        slow.add_number(OFFICE, CONTEXT)
        assert slow.api("PUT", f"/api/sandbox/phones/{PHONE}", {"messages": "deliver"})[0] == 200
        runner = Clients(slow, tmp_path / "clients")
        sender = start_client(runner, "v2_python", {"SEND_TO": PHONE, "SEND_BODY": "survive the restart"})
        mid = sent_id(sender, "v2_python")
        wait_state(sender, mid, "queued", timeout=10)
        runner.stop_all()  # nobody consumes "office" any more
        assert slow.api("POST", "/api/relay/rest/tasks", {"context": CONTEXT, "message": {"job": 7}})[0] == 204
        status, inbound = slow.api("POST", "/api/sandbox/messages", {"from": PHONE, "to": OFFICE, "body": "kept"})
        assert status == 201
        assert history(slow, mid) == ["queued"]
    finally:
        assert slow.stop() == 0, slow.log()

    fast = new_box(data, tmp_path / "relaybox-2.log", speed="10")
    runner = Clients(fast, tmp_path / "clients")
    try:
        assert fast.api("GET", f"/api/sandbox/phones/{PHONE}")[1]["messages"] == "deliver"
        consumer = start_client(runner, consumer_flavor)
        wait_state(consumer, mid, "delivered", timeout=20)
        got = [m.group(1) for line in consumer.lines if (m := re.match(rf"^STATE {re.escape(mid)} (\S+)", line))]
        assert got == ["initiated", "sent", "delivered"], consumer.describe()
        task = consumer.wait_for(r"^TASK (\{.*\})$", timeout=10).group(1)
        assert json.loads(task) == {"job": 7}
        consumer.wait_for(rf"^MESSAGE IN {re.escape(inbound['id'])} {re.escape(PHONE)} {re.escape(OFFICE)} ", 10)
        assert history(fast, mid) == STATES
        [kept] = [m for m in fast.api("GET", "/api/messages")[1]["messages"] if m["id"] == inbound["id"]]
        assert kept["body"] == "kept"
    finally:
        runner.stop_all()
        assert fast.stop() == 0, fast.log()
    assert "resumed" in fast.log()
