"""relaybox.relay (v2 SDK) without a server: the frames it builds, how it judges responses, and how it turns
events into results (a fake client answers every command with code "200")."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from relaybox.relay import blade
from relaybox.relay.calling import Call, Calling
from relaybox.relay.calling.helpers import (
    prepare_collect_params,
    prepare_connect_devices,
    prepare_media_list,
    prepare_record_params,
    prepare_tap_params,
)
from relaybox.relay.client import Client
from relaybox.relay.constants import resolve_host
from relaybox.relay.consumer import Consumer
from relaybox.relay.messaging import Message, Messaging, SendResult, send_params
from relaybox.relay.task import Task

PROTOCOL = "signalwire_sig_abc"


# -- framing ------------------------------------------------------------------------------------------------


def test_connect_frame_matches_the_reference_client() -> None:
    msg = blade.connect("proj", "tok")
    d = json.loads(msg.to_json())
    assert d["jsonrpc"] == "2.0" and d["method"] == "blade.connect" and isinstance(d["id"], str)
    assert d["params"]["version"] == {"major": 2, "minor": 3, "revision": 0}
    assert d["params"]["authentication"] == {"project": "proj", "token": "tok"}
    assert "sessionid" not in d["params"]
    assert d["params"]["agent"]


def test_reconnect_sends_the_old_sessionid_and_asks_for_the_old_protocol() -> None:
    d = blade.connect("p", "t", sessionid="s-1").to_dict()
    assert d["params"]["sessionid"] == "s-1"
    assert list(d["params"]).index("sessionid") < list(d["params"]).index("agent")
    setup = blade.setup("signalwire_sig_old", "sig").to_dict()
    assert setup["params"] == {
        "protocol": "signalwire",
        "method": "setup",
        "params": {"protocol": "signalwire_sig_old"},
    }
    # another signature (other credentials): a fresh protocol
    assert blade.setup("signalwire_other_old", "sig").to_dict()["params"]["params"] == {}
    assert blade.setup(None, None).to_dict()["params"]["params"] == {}


def test_subscription_ping_execute() -> None:
    assert blade.subscription(PROTOCOL).to_dict()["params"] == {
        "command": "add",
        "protocol": PROTOCOL,
        "channels": ["notifications"],
    }
    assert blade.ping().to_dict()["params"] == {}
    ex = blade.execute(PROTOCOL, "calling.answer", {"call_id": "c"}).to_dict()
    assert ex["method"] == "blade.execute"
    assert ex["params"] == {"protocol": PROTOCOL, "method": "calling.answer", "params": {"call_id": "c"}}


def test_protocol_signature() -> None:
    assert blade.protocol_signature("signalwire_abc_123") == "abc"
    assert blade.protocol_signature("other") is None


@pytest.mark.parametrize(
    ("frame", "ok"),
    [
        ({"id": "1", "result": {"result": {"code": "200", "message": "ok"}}}, True),
        ({"id": "1", "result": {"sessionid": "s"}}, True),  # no inner result: success
        ({"id": "1", "result": {"result": {"protocol": "p"}}}, True),  # setup: no code
        ({"id": "1", "result": {"result": {"code": 200, "message": "int"}}}, False),  # integer 200 fails
        ({"id": "1", "result": {"result": {"code": "404", "message": "Call does not exist"}}}, False),
        ({"id": "1", "error": {"code": -32002, "message": "Authentication failed"}}, False),
    ],
)
def test_judge(frame: dict[str, Any], ok: bool) -> None:
    msg = blade.Message.from_json(json.dumps({"jsonrpc": "2.0", **frame}))
    if ok:
        assert blade.judge(msg) == frame["result"]
    else:
        with pytest.raises(blade.RelayError):
            blade.judge(msg)


def test_judge_error_carries_message_and_code() -> None:
    msg = blade.Message.from_json('{"jsonrpc":"2.0","id":"1","result":{"result":{"code":"400","message":"bad"}}}')
    with pytest.raises(blade.RelayError) as info:
        blade.judge(msg)
    assert str(info.value) == "bad" and info.value.code == "400"


def test_urls_follow_the_host() -> None:
    assert blade.ws_url("relay.signalwire.com") == "wss://relay.signalwire.com"
    assert blade.ws_url("ws://127.0.0.1:8080") == "ws://127.0.0.1:8080"
    assert blade.ws_url("wss://x.example:443/relay") == "wss://x.example:443/relay"
    assert blade.http_base("ws://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert blade.http_base("wss://example.com") == "https://example.com"
    assert blade.http_base("example.com:8443") == "https://example.com:8443"
    assert Task("p", "t", host="ws://127.0.0.1:9").url == "http://127.0.0.1:9/api/relay/rest/tasks"
    assert Task("p", "t", host="space.example").url == "https://space.example/api/relay/rest/tasks"


def test_host_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELAYBOX_HOST", raising=False)
    monkeypatch.delenv("SIGNALWIRE_HOST", raising=False)
    assert resolve_host(None) == "relay.signalwire.com"
    monkeypatch.setenv("SIGNALWIRE_HOST", "ws://b:2")
    assert resolve_host(None) == "ws://b:2"
    monkeypatch.setenv("RELAYBOX_HOST", "ws://a:1")
    assert resolve_host(None) == "ws://a:1"
    assert resolve_host("ws://arg:3") == "ws://arg:3"
    # what each entry point connects to: the argument first, then the environment
    assert Client(project="p", token="t").url == "ws://a:1"
    assert Client(project="p", token="t", host="ws://arg:3").url == "ws://arg:3"
    assert Task("p", "t").url == "http://a:1/api/relay/rest/tasks"
    monkeypatch.delenv("RELAYBOX_HOST")
    assert Client(project="p", token="t").url == "ws://b:2"
    assert Task("p", "t").url == "http://b:2/api/relay/rest/tasks"
    monkeypatch.setenv("SIGNALWIRE_HOST", "space.example")
    assert Task("p", "t").url == "https://space.example/api/relay/rest/tasks"

    class Office(Consumer):
        def setup(self) -> None:
            self.project, self.token, self.contexts = "p", "t", ["office"]

    for consumer, url in ((Office(), "wss://space.example"), (Office(host="ws://c:4"), "ws://c:4")):
        consumer.setup()  # run() calls it before building the client
        assert consumer._build_client().url == url


# -- params builders ----------------------------------------------------------------------------------------


def test_connect_devices_serial_and_parallel() -> None:
    devices = [
        {"to_number": "+18991114443", "timeout": 30},
        [{"to_number": "+18991114444", "timeout": 30}, {"to_number": "+18991114445", "from_number": "+1555"}],
    ]
    assert prepare_connect_devices(devices, "+1000", None) == [
        [{"type": "phone", "params": {"from_number": "+1000", "to_number": "+18991114443", "timeout": 30}}],
        [
            {"type": "phone", "params": {"from_number": "+1000", "to_number": "+18991114444", "timeout": 30}},
            {"type": "phone", "params": {"from_number": "+1555", "to_number": "+18991114445"}},
        ],
    ]


def test_media_list_is_converted_without_touching_the_input() -> None:
    media = [{"type": "tts", "text": "hi", "gender": "male"}, {"type": "silence", "duration": 5}]
    assert prepare_media_list(media) == [
        {"type": "tts", "params": {"text": "hi", "gender": "male"}},
        {"type": "silence", "params": {"duration": 5}},
    ]
    assert media[0]["type"] == "tts"  # the reference SDK pops it; this one does not


def test_collect_record_tap_params() -> None:
    assert prepare_collect_params("digits", digits_max=4, digits_terminators="#", initial_timeout=5) == {
        "digits": {"max": 4, "terminators": "#"},
        "initial_timeout": 5,
    }
    assert prepare_collect_params("both", speech_hints=["yes"], digits_timeout=2) == {
        "digits": {"digit_timeout": 2},
        "speech": {"hints": ["yes"]},
    }
    assert prepare_collect_params("speech", digits_max=3) == {"speech": {}, "digits": {"max": 3}}
    assert prepare_record_params("audio", True, "wav", None, "both", None, None, "#") == {
        "audio": {"beep": True, "format": "wav", "direction": "both", "terminators": "#"}
    }
    tap, device = prepare_tap_params("listen", "rtp", target_addr="192.168.1.1", target_port="1234")  # type: ignore[arg-type]
    assert tap == {"type": "audio", "params": {"direction": "listen"}}
    assert device == {"type": "rtp", "params": {"addr": "192.168.1.1", "port": 1234}}


def test_messaging_params_and_results() -> None:
    assert send_params(from_number="+1", to_number="+2", context="office", body="hi", media=[], tags=None) == {
        "from_number": "+1",
        "to_number": "+2",
        "context": "office",
        "body": "hi",
    }
    assert SendResult({"code": "200", "message_id": "m"}).successful
    assert not SendResult({"code": "400"}).successful and SendResult().message_id is None
    m = Message({"message_id": "m", "message_state": "delivered", "context": "office", "segments": 2})
    assert (m.id, m.state, m.context, m.segments, m.reason) == ("m", "delivered", "office", 2, None)


# -- events -> results, with a fake client -------------------------------------------------------------------


class FakeClient(Client):
    """A Client whose execute() records the command and answers code 200 (plus `extra`) without a socket."""

    def __init__(self) -> None:
        super().__init__("p", "t", host="ws://127.0.0.1:1")
        self.protocol = PROTOCOL
        self.sent: list[dict[str, Any]] = []
        self.extra: dict[str, dict[str, Any]] = {}
        self.fail: set[str] = set()

    async def execute(self, message: blade.Message) -> Any:
        params = message.params or {}
        self.sent.append(params)
        method = params.get("method", "")
        if method in self.fail:
            raise blade.RelayError("nope", "400")
        return {"result": {"code": "200", "message": "ok", **self.extra.get(method, {})}}

    def last(self, method: str) -> dict[str, Any]:
        return next(p["params"] for p in reversed(self.sent) if p.get("method") == method)


def event(event_type: str, **params: Any) -> dict[str, Any]:
    return {"event_type": event_type, "params": params}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


def inbound(client: FakeClient, call_id: str = "c-1", state: str = "created") -> Call:
    return Call(
        calling=client.calling,
        call_id=call_id,
        node_id="n-1",
        context="office",
        call_state=state,
        device={"type": "phone", "params": {"from_number": "+1555", "to_number": "+1666"}},
    )


async def test_dial_resolves_on_answered_state_by_tag(client: FakeClient) -> None:
    call = client.calling.new_call(from_number="+1555", to_number="+1777", timeout=30)
    task = asyncio.ensure_future(call.dial())
    await settle()
    begin = client.last("calling.begin")
    assert begin == {
        "tag": call.tag,
        "device": {"type": "phone", "params": {"from_number": "+1555", "to_number": "+1777", "timeout": 30}},
    }
    calling: Calling = client.calling
    calling.notification_handler(
        event("calling.call.state", call_state="created", call_id="c-9", node_id="n", tag=call.tag)
    )
    calling.notification_handler(event("calling.call.state", call_state="ringing", call_id="c-9", node_id="n"))
    calling.notification_handler(event("calling.call.state", call_state="answered", call_id="c-9", node_id="n"))
    result = await asyncio.wait_for(task, 1)
    assert result.successful and result.call is call and call.id == "c-9" and call.answered
    assert result.event is not None and result.event.name == "answered"
    assert call.prev_state == "ringing"


async def test_dial_busy(client: FakeClient) -> None:
    task = asyncio.ensure_future(client.calling.dial(from_number="+1", to_number="+2"))
    await settle()
    tag = client.last("calling.begin")["tag"]
    client.calling.notification_handler(
        event("calling.call.state", call_state="ending", call_id="c", node_id="n", tag=tag, end_reason="busy")
    )
    result = await asyncio.wait_for(task, 1)
    assert not result.successful and result.call.ended
    client.calling.notification_handler(
        event("calling.call.state", call_state="ended", call_id="c", node_id="n", end_reason="busy")
    )
    assert result.call.busy and not result.call.failed and result.call not in client.calling.calls


async def test_answer_hangup_and_state_listeners(client: FakeClient) -> None:
    call = inbound(client)
    seen: list[Any] = []
    call.on("answered", lambda: seen.append("answered"))  # a handler without argument, as documented
    call.on("stateChange", lambda params: seen.append(params["call_state"]))
    task = asyncio.ensure_future(call.answer())
    await settle()
    assert client.last("calling.answer") == {"node_id": "n-1", "call_id": "c-1"}
    client.calling.notification_handler(
        event("calling.call.state", call_state="answered", call_id="c-1", node_id="n-1")
    )
    assert (await asyncio.wait_for(task, 1)).successful
    hang = asyncio.ensure_future(call.hangup())
    await settle()
    assert client.last("calling.end") == {"node_id": "n-1", "call_id": "c-1", "reason": "hangup"}
    for state in ("ending", "ended"):
        client.calling.notification_handler(
            event("calling.call.state", call_state=state, call_id="c-1", end_reason="hangup")
        )
    result = await asyncio.wait_for(hang, 1)
    assert result.successful and result.reason == "hangup"
    # stateChange then the state's own event, for each state; listeners are dropped once the call ended
    assert seen == ["answered", "answered", "ending", "ended"]


async def test_commands_on_an_ended_call_fail_locally(client: FakeClient) -> None:
    call = inbound(client, state="ended")
    result = await call.play_tts(text="x")
    assert not result.successful and client.sent == []


async def test_a_failed_command_is_an_unsuccessful_result(client: FakeClient) -> None:
    client.fail.add("calling.play")
    call = inbound(client, state="answered")
    result = await asyncio.wait_for(call.play_audio("https://x/a.mp3"), 1)
    assert not result.successful


async def test_wait_for(client: FakeClient) -> None:
    call = inbound(client, state="answered")
    assert await call.wait_for_ringing()  # passed it
    assert await call.wait_for("created", "ringing")
    waiter = asyncio.ensure_future(call.wait_for("ending", "ended"))
    await settle()
    assert not waiter.done()
    client.calling.notification_handler(event("calling.call.state", call_state="ending", call_id="c-1"))
    assert await asyncio.wait_for(waiter, 1)
    other = inbound(client, "c-2")
    w2 = asyncio.ensure_future(other.wait_for_answered())
    await settle()
    client.calling.notification_handler(event("calling.call.state", call_state="ended", call_id="c-2"))
    assert await asyncio.wait_for(w2, 1) is False
    assert await other.wait_for_answered() is False


async def test_play_blocking_and_action_controls(client: FakeClient) -> None:
    call = inbound(client, state="answered")
    task = asyncio.ensure_future(call.play([{"type": "tts", "text": "hi"}], volume=5))
    await settle()
    sent = client.last("calling.play")
    assert sent["play"] == [{"type": "tts", "params": {"text": "hi"}}] and sent["volume"] == 5.0
    client.calling.notification_handler(
        event("calling.call.play", call_id="c-1", control_id=sent["control_id"], state="playing")
    )
    assert not task.done()
    client.calling.notification_handler(
        event("calling.call.play", call_id="c-1", control_id=sent["control_id"], state="finished")
    )
    result = await asyncio.wait_for(task, 1)
    assert result.successful and result.event is not None and result.event.name == "finished"

    action = await call.play_ringtone_async(name="us", duration=30)
    assert action.payload is not None and action.payload["play"] == [
        {"type": "ringtone", "params": {"name": "us", "duration": 30.0}}
    ]
    assert "volume" not in action.payload
    assert (await action.pause()).successful
    assert (await action.resume()).successful
    assert (await action.volume(5.0)).successful
    assert client.last("calling.play.volume") == {
        "node_id": "n-1",
        "call_id": "c-1",
        "control_id": action.control_id,
        "volume": 5.0,
    }
    assert (await action.stop()).successful
    assert client.last("calling.play.stop")["control_id"] == action.control_id
    client.calling.notification_handler(
        event("calling.call.play", call_id="c-1", control_id=action.control_id, state="error")
    )
    assert action.completed and not action.result.successful and action.state == "error"


async def test_prompt_digits_and_speech(client: FakeClient) -> None:
    call = inbound(client, state="answered")
    task = asyncio.ensure_future(call.prompt_tts(prompt_type="digits", text="PIN", digits_max=3, gender="male"))
    await settle()
    sent = client.last("calling.play_and_collect")
    assert sent["play"] == [{"type": "tts", "params": {"text": "PIN", "gender": "male"}}]
    assert sent["collect"] == {"digits": {"max": 3}}
    client.calling.notification_handler(
        event(
            "calling.call.collect",
            call_id="c-1",
            control_id=sent["control_id"],
            result={"type": "digit", "params": {"digits": "123", "terminator": "#"}},
        )
    )
    result = await asyncio.wait_for(task, 1)
    assert (result.successful, result.type, result.result, result.terminator) == (True, "digit", "123", "#")
    action = await call.prompt_async(
        prompt_type="speech", media_list=[{"type": "audio", "url": "u"}], speech_language="en-US"
    )
    client.calling.notification_handler(
        event(
            "calling.call.collect",
            call_id="c-1",
            control_id=action.control_id,
            result={"type": "speech", "params": {"text": "yes", "confidence": 83.2}},
        )
    )
    assert action.completed and action.result.result == "yes" and action.result.confidence == 83.2
    assert (await action.volume(-2)).successful


async def test_record_detect_fax_tap_digits(client: FakeClient) -> None:
    call = inbound(client, state="answered")
    client.extra["calling.record"] = {"url": "https://r/1.mp3"}
    rec = await call.record_async(stereo=True, direction="both")
    assert rec.url == "https://r/1.mp3" and client.last("calling.record")["record"] == {
        "audio": {"stereo": True, "direction": "both"}
    }
    client.calling.notification_handler(
        event(
            "calling.call.record",
            call_id="c-1",
            control_id=rec.control_id,
            state="finished",
            url="https://r/1.mp3",
            duration=4,
            size=100,
        )
    )
    assert rec.result.successful and (rec.result.url, rec.result.duration, rec.result.size) == (
        "https://r/1.mp3",
        4,
        100,
    )

    amd = asyncio.ensure_future(call.detect_answering_machine(wait_for_beep=True, initial_timeout=3))
    await settle()
    sent = client.last("calling.detect")
    assert sent["detect"] == {"type": "machine", "params": {"initial_timeout": 3}} and "timeout" not in sent
    for ev in ("MACHINE", "NOT_READY", "READY"):
        client.calling.notification_handler(
            event(
                "calling.call.detect",
                call_id="c-1",
                control_id=sent["control_id"],
                detect={"type": "machine", "params": {"event": ev}},
            )
        )
    result = await asyncio.wait_for(amd, 1)
    assert result.successful and result.result == "MACHINE" and result.type == "machine"

    digits = await call.detect_digit_async(digits="123")
    for ev in ("1", "2", "finished"):
        client.calling.notification_handler(
            event(
                "calling.call.detect",
                call_id="c-1",
                control_id=digits.control_id,
                detect={"type": "digit", "params": {"event": ev}},
            )
        )
    assert digits.completed and digits.result.successful and digits.result.result == "1,2"

    fax = asyncio.ensure_future(call.fax_send(url="https://d.pdf", header="Custom Header"))
    await settle()
    sent = client.last("calling.send_fax")
    assert sent["document"] == "https://d.pdf" and sent["header_info"] == "Custom Header"
    client.calling.notification_handler(
        event("calling.call.fax", call_id="c-1", control_id=sent["control_id"], fax={"type": "page", "params": {}})
    )
    client.calling.notification_handler(
        event(
            "calling.call.fax",
            call_id="c-1",
            control_id=sent["control_id"],
            fax={
                "type": "finished",
                "params": {"success": True, "document": "https://d.pdf", "pages": 2, "direction": "send"},
            },
        )
    )
    result = await asyncio.wait_for(fax, 1)
    assert result.successful and (result.document, result.pages, result.direction) == ("https://d.pdf", 2, "send")

    client.extra["calling.tap"] = {"source_device": {"type": "rtp", "params": {"addr": "10.0.0.1"}}}
    tap = await call.tap_async(audio_direction="listen", target_type="rtp", target_addr="192.168.1.1", target_port=1234)
    assert tap.source_device == {"type": "rtp", "params": {"addr": "10.0.0.1"}}
    client.calling.notification_handler(
        event(
            "calling.call.tap",
            call_id="c-1",
            control_id=tap.control_id,
            state="finished",
            tap={"type": "audio"},
            device={"type": "rtp", "params": {"addr": "192.168.1.1"}},
        )
    )
    assert tap.result.successful and tap.result.destination_device["params"]["addr"] == "192.168.1.1"

    sd = asyncio.ensure_future(call.send_digits("123"))
    await settle()
    sent = client.last("calling.send_digits")
    assert sent["digits"] == "123"
    client.calling.notification_handler(
        event("calling.call.send_digits", call_id="c-1", control_id=sent["control_id"], state="finished")
    )
    assert (await asyncio.wait_for(sd, 1)).successful


async def test_connect_sets_the_peer(client: FakeClient) -> None:
    call = inbound(client, state="answered")
    task = asyncio.ensure_future(call.connect(device_list=[{"to_number": "+18991114444", "timeout": 10}]))
    await settle()
    assert client.last("calling.connect")["devices"] == [
        [{"type": "phone", "params": {"from_number": "+1555", "to_number": "+18991114444", "timeout": 10}}]
    ]
    client.calling.notification_handler(event("calling.call.connect", call_id="c-1", connect_state="connecting"))
    client.calling.notification_handler(
        event(
            "calling.call.state",
            call_state="answered",
            call_id="c-B",
            node_id="n",
            peer={"call_id": "c-1"},
            device={"type": "phone", "params": {"from_number": "+1555", "to_number": "+18991114444"}},
        )
    )
    client.calling.notification_handler(
        event("calling.call.connect", call_id="c-1", connect_state="connected", peer={"call_id": "c-B"})
    )
    result = await asyncio.wait_for(task, 1)
    assert result.successful and result.call is not None and result.call.id == "c-B"
    assert result.call.to_number == "+18991114444"


async def test_call_end_terminates_pending_operations(client: FakeClient) -> None:
    call = inbound(client, state="answered")
    task = asyncio.ensure_future(call.record())
    await settle()
    client.calling.notification_handler(
        event("calling.call.state", call_state="ended", call_id="c-1", end_reason="error")
    )
    result = await asyncio.wait_for(task, 1)
    assert not result.successful and call.failed


async def test_inbound_dispatch_by_context(client: FakeClient) -> None:
    got: list[Call] = []
    await client.calling.receive(["office"], got.append)
    assert client.last("signalwire.receive") == {"contexts": ["office"]} and client.contexts == ["office"]
    await client.calling.receive(["office"], got.append)  # already received: no second command
    assert sum(1 for p in client.sent if p["method"] == "signalwire.receive") == 1
    client.calling.notification_handler(
        event(
            "calling.call.receive",
            call_id="c-5",
            node_id="n",
            context="office",
            call_state="created",
            device={"type": "phone", "params": {"from_number": "+1", "to_number": "+2"}},
        )
    )
    await settle()
    assert [c.id for c in got] == ["c-5"] and got[0].from_number == "+1" and got[0].context == "office"


async def test_messaging_and_tasks_dispatch(client: FakeClient) -> None:
    states: list[str | None] = []
    tasks: list[Any] = []
    messaging: Messaging = client.messaging
    await messaging.state_change(["office"], lambda m: states.append(m.state))
    await client.tasking.receive(["office"], tasks.append)
    messaging.notification_handler(
        {
            "event_type": "messaging.state",
            "context": "office",
            "params": {"message_id": "m", "context": "office", "message_state": "sent"},
        }
    )
    client.tasking.notification_handler({"context": "office", "message": {"uuid": "u"}})
    await settle()
    assert states == ["sent"] and tasks == [{"uuid": "u"}]
    client.extra["messaging.send"] = {"message_id": "m-2"}
    result = await messaging.send(context="office", from_number="+1", to_number="+2", body="hi", tags=["t"])
    assert result.successful and result.message_id == "m-2"
    assert client.last("messaging.send") == {
        "from_number": "+1",
        "to_number": "+2",
        "context": "office",
        "body": "hi",
        "tags": ["t"],
    }


async def test_client_events_on_off() -> None:
    c = FakeClient()
    seen: list[Any] = []

    def handler(x: Any) -> None:
        seen.append(x)

    assert c.on("signalwire.socket.message", handler) is c
    c._trigger("signalwire.socket.message", 1)
    assert c.off("signalwire.socket.message", handler) is c
    c._trigger("signalwire.socket.message", 2)
    assert seen == [1]
    # signalwire 2.1.1 names the parameter `callback`; the seed names it `handler`: both work
    assert c.on("ready", callback=handler) is c
    c._trigger("ready", 3)
    c.off("ready", callback=handler)
    c._trigger("ready", 4)
    assert seen == [1, 3]
    with pytest.raises(TypeError):
        c.on("ready")
