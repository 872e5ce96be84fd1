"""The Node equivalents (seed 002, @signalwire/node 2.6.0, run unmodified) of the v2 getting-started examples,
next to relaybox's Python SDK running the Python versions (seed 003) on the same relaybox: the two SDK
families reach the same documented outcome, and they interoperate (a task sent by one reaches the other)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sdk_harness as h
from conftest import CLIENTS_DIR, NODE_MODULES, Background, Relaybox
from test_sdk_v2_examples import CONSUMER_TASK, CREATE_TASK, GS_CLIENT

NODE_CREATE_TASK = """
// create-task.js
const { Task } = require('@signalwire/node')
async function main() {
const yourTask = new Task('XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX', 'PTXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX')
const context = 'office'
const data = {
uuid: 'unique id',
data: 'data for your job'
}
try {
await yourTask.deliver(context, data)
} catch (error) {
console.log('Error creating task!', error)
}
}
main().catch(console.error)
"""

NODE_CONSUMER_TASK = """
// consumer-task.js
const { RelayConsumer } = require('@signalwire/node')
const consumer = new RelayConsumer({
project: 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX',
token: 'PTXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
contexts: ['office'],
onTask: (message) => {
console.log('Inbound task', message)
// Retrieve your custom properties from 'message'..
const { uuid, data } = message
}
})
consumer.run()
"""

NODE_CLIENT_DIAL = """
const { RelayClient } = require('@signalwire/node')
const client = new RelayClient({
project: 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX',
token: 'PTXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'
})
client.on('signalwire.ready', async (client) => {
const dialResult = await client.calling.dial({
type: 'phone',
from: '+1XXXXXXXXXX',
to: '+1YYYYYYYYYY'
})
if (dialResult.successful) {
const { call } = dialResult
// Your call has been answered..
console.log('answered')  // probe
await call.hangup()  // probe
}
})
client.connect()
"""


def node_missing() -> str | None:
    if not (NODE_MODULES / "@signalwire" / "node").exists():
        return "@signalwire/node missing (scripts/setup-test-clients.sh installs it)"
    return None


def start_node(box: Relaybox, code: str, tmp_path: Path, name: str) -> Background:
    path = tmp_path / f"{name}.js"
    path.write_text(h.adapt(code, "official"))
    env = {k: v for k, v in os.environ.items() if k not in ("NODE_OPTIONS", "RELAY_WS_URL")}
    env.update(NODE_PATH=str(NODE_MODULES), RELAY_WS_URL=box.ws_url)
    argv = ["node", "-r", str(CLIENTS_DIR / "shims" / "node" / "relay-local.js"), str(path)]
    return Background(name, argv, env, tmp_path)


@pytest.fixture
def box(tmp_path: Path) -> Any:
    with h.doc_server(tmp_path) as server:
        yield server


@pytest.fixture(autouse=True)
def _need_node() -> None:
    why = node_missing()
    if why:
        pytest.skip(why)


def test_task_from_node_to_relaybox_sdk_and_back(box: Any, tmp_path: Path) -> None:
    """Node create-task.js -> relaybox's Python consumer-task.py; Python create-task.py -> Node consumer-task.js."""
    consumer = h.start(box, "relaybox", CONSUMER_TASK, tmp_path, "py-consumer-task")
    try:
        h.settle(1.5)
        node_task = start_node(box, NODE_CREATE_TASK, tmp_path, "node-create-task")
        assert node_task.wait(20) == 0, node_task.describe()
        consumer.wait_for(r"^data for your job$", timeout=20)
    finally:
        h.finish(consumer)
    assert h.printed(consumer) == ["Handle inbound task", "unique id", "data for your job"]

    node_consumer = start_node(box, NODE_CONSUMER_TASK, tmp_path, "node-consumer-task")
    try:
        h.settle(2.0)
        py_task = h.start(box, "relaybox", CREATE_TASK, tmp_path, "py-create-task")
        py_task.wait_for(r"^Task delivered$", timeout=20)
        node_consumer.wait_for(r"Inbound task", timeout=20)
        box.wait_until(lambda: "data for your job" in node_consumer.stdout, timeout=5, message="the task data")
    finally:
        node_consumer.stop()


def test_client_dial_node_and_relaybox_sdk(box: Any, tmp_path: Path) -> None:
    """The Relay Client getting-started example: both SDK families dial, the phone answers."""
    node = start_node(box, NODE_CLIENT_DIAL, tmp_path, "node-client-dial")
    try:
        node.wait_for(r"^answered$", timeout=20)
    finally:
        node.stop()
    py = h.start(box, "relaybox", GS_CLIENT, tmp_path, "py-client-dial")
    try:
        py.wait_for(r"^Your call has been answered\.\.$", timeout=20)
    finally:
        h.finish(py)
    calls = box.sandbox_calls(h.ANSWERS)
    assert len(calls) == 2 and all(c["from"] == h.CALLER for c in calls), calls
