"""The Node equivalents (seed 002, @signalwire/node 2.6.0, run unmodified) of the v2 getting-started examples,
next to relaybox's Python SDK running the Python versions (seed 003) on the same relaybox: the two SDK
families reach the same documented outcome, and they interoperate (a task sent by one reaches the other)."""

from __future__ import annotations

import os
import re
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


@pytest.fixture
def sdks() -> list[str]:
    return ["relaybox"] if h.official_missing() else list(h.SDKS)


@pytest.fixture(autouse=True)
def _need_node(request: pytest.FixtureRequest) -> None:
    why = node_missing()
    if why and "box" in request.fixturenames:
        pytest.skip(why)


def test_task_from_node_to_relaybox_sdk_and_back(box: Any, tmp_path: Path) -> None:
    """Node create-task.js -> relaybox's Python consumer-task.py; Python create-task.py -> Node consumer-task.js."""
    consumer = h.start(box, "relaybox", CONSUMER_TASK, tmp_path, "py-consumer-task")
    try:
        h.wait_receiving(box, consumer)
        node_task = start_node(box, NODE_CREATE_TASK, tmp_path, "node-create-task")
        assert node_task.wait(20) == 0, node_task.describe()
        consumer.wait_for(r"^data for your job$", timeout=20)
    finally:
        h.finish(consumer)
    assert h.printed(consumer) == ["Handle inbound task", "unique id", "data for your job"]

    since = h.receive_count(box)
    node_consumer = start_node(box, NODE_CONSUMER_TASK, tmp_path, "node-consumer-task")
    try:
        h.wait_receiving(box, since=since)
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
        node.stop(2)  # a RelayClient (not a consumer) ignores SIGTERM: killed after 2 s
    py = h.start(box, "relaybox", GS_CLIENT, tmp_path, "py-client-dial")
    try:
        py.wait_for(r"^Your call has been answered\.\.$", timeout=20)
    finally:
        h.finish(py)
    calls = box.sandbox_calls(h.ANSWERS)
    assert len(calls) == 2 and all(c["from"] == h.CALLER for c in calls), calls


# ===========================================================================================================
# seed 002's "Examples" section: the two IVR examples, in Node (run unmodified) and their Python equivalents
# (the 003 API) on relaybox's SDK and on signalwire 2.1.1

NODE_INBOUND_PIN = """
const { RelayConsumer } = require('@signalwire/node')
const consumer = new RelayConsumer({
project: 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX',
token: 'PTXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
contexts: ['home', 'office'],
onIncomingCall: async (call) => {
const { successful } = await call.answer()
if (!successful) {
console.error('Answer Error')
return
}
const collect = {
type: 'digits',
digits_max: 3,
text: 'Welcome to SignalWire! Please, enter your 3 digits PIN'
}
const prompt = await call.promptTTS(collect)
if (prompt.successful) {
await call.playTTS({ text: `You entered: ${prompt.result}. Thanks and good bye!` })
}
await call.hangup()
}
})
consumer.run()
"""

PY_INBOUND_PIN = """
from signalwire.relay.consumer import Consumer

class CustomConsumer(Consumer):
  def setup(self):
    self.project = 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX'
    self.token = 'PTXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'
    self.contexts = ['home', 'office']

  async def on_incoming_call(self, call):
    result = await call.answer()
    if not result.successful:
      print('Answer Error')
      return
    prompt = await call.prompt_tts(prompt_type='digits', digits_max=3,
                                   text='Welcome to SignalWire! Please, enter your 3 digits PIN')
    if prompt.successful:
      await call.play_tts(text=f'You entered: {prompt.result}. Thanks and good bye!')
    await call.hangup()

consumer = CustomConsumer()
consumer.run()
"""

NODE_OUTBOUND_PIN = """
const { RelayConsumer } = require('@signalwire/node')
const consumer = new RelayConsumer({
project: 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX',
token: 'PTXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
contexts: ['home', 'office'],
ready: async (consumer) => {
const dialResult = await consumer.client.calling.dial({
type: 'phone',
from: '+1XXXXXXXXXX', // Must be a number in your SignalWire Space
to: '+1YYYYYYYYYY'
})
const { successful, call } = dialResult
if (!successful) {
console.error('Dial error..')
return
}
const prompt = await call.promptTTS({
type: 'digits',
digits_max: 3,
text: 'Welcome to SignalWire! Enter your 3 digits PIN'
})
if (prompt.successful) {
console.log(`User digits: ${prompt.result}`)
}
}
})
consumer.run()
"""

PY_OUTBOUND_PIN = """
from signalwire.relay.consumer import Consumer

class CustomConsumer(Consumer):
  def setup(self):
    self.project = 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX'
    self.token = 'PTXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'
    self.contexts = ['home', 'office']

  async def ready(self):
    dial_result = await self.client.calling.dial(from_number='+1XXXXXXXXXX', to_number='+1YYYYYYYYYY')
    if not dial_result.successful:
      print('Dial error..')
      return
    call = dial_result.call
    prompt = await call.prompt_tts(prompt_type='digits', digits_max=3,
                                   text='Welcome to SignalWire! Enter your 3 digits PIN')
    if prompt.successful:
      print(f'User digits: {prompt.result}')

consumer = CustomConsumer()
consumer.run()
"""

PIN_SCRIPT = [{"wait_for": "answer"}, {"wait_for": "prompt"}, {"wait": 0.5}, {"press": "123"}, {"wait": 20}]


def _heard(call: dict[str, Any]) -> list[Any]:
    return [e["heard"] for e in call["transcript"] if "heard" in e]


def test_inbound_pin_example_node_and_python(box: Any, sdks: list[str], tmp_path: Path) -> None:
    """Inbound Calls: the caller is asked for a PIN, presses 123 and hears it played back, then the call ends."""
    for who in ["node", *sdks]:  # one consumer at a time: each call must reach the consumer under test
        since = h.receive_count(box)
        if who == "node":
            bg = start_node(box, NODE_INBOUND_PIN, tmp_path, "node-inbound-pin")
        else:
            bg = h.start(box, who, PY_INBOUND_PIN, tmp_path, "py-inbound-pin")
        try:
            h.wait_receiving(box, since=since)
            placed = box.place_call(h.CALLER, h.OFFICE, script=PIN_SCRIPT)
            ended = box.wait_sandbox_ended(placed["id"], timeout=30)
        finally:
            bg.stop()
        heard = _heard(ended)
        assert {"type": "tts", "text": "Welcome to SignalWire! Please, enter your 3 digits PIN"} in heard, (who, ended)
        assert {"type": "tts", "text": "You entered: 123. Thanks and good bye!"} in heard, (who, ended)


def test_outbound_pin_example_node_and_python(box: Any, sdks: list[str], tmp_path: Path) -> None:
    """Outbound Calls: dial, ask for a PIN, log what the callee pressed."""
    box.set_phone(h.ANSWERS, [{"ring": 1}, {"answer": True}, *PIN_SCRIPT[1:], {"hangup": True}])
    node = start_node(box, NODE_OUTBOUND_PIN, tmp_path, "node-outbound-pin")
    try:
        node.wait_for(r"^User digits: 123$", timeout=30)
    finally:
        node.stop()
    for sdk in sdks:
        bg = h.start(box, sdk, PY_OUTBOUND_PIN, tmp_path, "py-outbound-pin")
        try:
            bg.wait_for(r"^User digits: 123$", timeout=30)
        finally:
            h.finish(bg)


# ===========================================================================================================
# every example of seed 002 has its equivalent tested

NODE_CALL = re.compile(r"\b(?:call|calling|messaging|[tT]ask|consumer|client|detectAction|\w+Action)\.(\w+)\(")

# Node methods whose Python name is not the snake_case of the Node name
PY_NAME = {"newCall": "new_call", "playTTS": "play_tts", "playTTSAsync": "play_tts_async",
           "promptTTS": "prompt_tts", "promptTTSAsync": "prompt_tts_async"}

# Node-only methods (not in seed 003 nor in signalwire 2.1.1) and the Python test that covers their equivalent
NODE_ONLY = {
    "detectHuman": ("detect_answering_machine(", "deprecated in 002 for detectAnsweringMachine"),
    "detectHumanAsync": ("detect_answering_machine_async(", "deprecated in 002 for detectAnsweringMachineAsync"),
    "detectMachine": ("detect_answering_machine(", "deprecated in 002 for detectAnsweringMachine"),
    "detectMachineAsync": ("detect_answering_machine_async(", "deprecated in 002 for detectAnsweringMachineAsync"),
    "refer": ("call.refer(", "no v2 Python refer: relaybox.relay's v4 Call.refer (test_sdk_v4.py)"),
    "referAsync": ("call.refer(", "no v2 Python refer: relaybox.relay's v4 Call.refer (test_sdk_v4.py)"),
}

# the SDK's plumbing, run by every example
PLUMBING = {"run", "connect", "on", "off", "then", "catch", "log", "error", "stop", "disconnect", "deliver"}


def _snake(name: str) -> str:
    return PY_NAME.get(name) or re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def test_every_node_example_has_a_python_equivalent() -> None:
    """Each code example of seed 002 uses only methods whose Python equivalent a test of test_sdk_v2_examples
    (or of this module / test_sdk_v4) runs; Node-only deprecated names map to their documented replacement."""
    seed = next((h.ROOT / "tests" / "seeds").glob("002_*.txt"), None)
    assert seed is not None, "tests/seeds/002_*.txt is missing"
    import test_sdk_v2_examples as py

    here = Path(__file__).read_text()
    sources = "\n".join(["\n".join(c) for c in py.example_fragments()]) + here
    v4 = (Path(__file__).parent / "test_sdk_v4.py").read_text()
    methods = set(NODE_CALL.findall(seed.read_text()))
    assert {"playTTS", "promptTTSAsync", "detectHuman", "faxSendAsync", "waitForRinging"} <= methods
    missing = []
    for name in sorted(methods - PLUMBING):
        if name in NODE_ONLY:
            needle, _why = NODE_ONLY[name]
            if needle not in sources.replace(" ", "") and needle not in v4:
                missing.append(f"{name} -> {needle}")
        elif f".{_snake(name)}(" not in sources.replace(" ", ""):
            missing.append(f"{name} -> .{_snake(name)}(")
    # the Consumer handlers of the Node examples (onTask: ..., teardown: ...) -> the Python consumer methods
    handlers = set(re.findall(r"^(on[A-Z]\w+|ready|setup|teardown): ", seed.read_text(), re.M))
    assert {"onIncomingCall", "onTask", "onIncomingMessage", "onMessageStateChange", "teardown"} <= handlers
    missing += [f"{n} -> def {_snake(n)}(" for n in sorted(handlers) if f"def{_snake(n)}(self" not in sources]
    assert not missing, missing
