"""relaybox.relay.RelayClient (v4) without a server: result judging, URLs, media normalisation, event routing
and action resolution (a fake execute answers every request)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from relaybox.relay.v4 import NOT_ON_PLATFORM, Call, RelayClient, RelayError, RelayEvent
from relaybox.relay.v4.call import normalize_media
from relaybox.relay.v4.client import judge, ws_url


def test_judge() -> None:
    assert judge("calling.answer", {"id": "1", "result": {"code": "200", "message": "ok"}})["code"] == "200"
    assert judge("calling.answer", {"id": "1", "result": {"code": 204}}) == {"code": 204}
    assert judge("calling.answer", {"id": "1", "result": True}) == {"raw": True}
    assert judge("signalwire.connect", {"id": "1", "result": {"code": "500", "protocol": "p"}})["protocol"] == "p"
    with pytest.raises(RelayError) as info:
        judge("calling.answer", {"id": "1", "result": {"code": "404", "message": "gone"}})
    assert info.value.code == 404
    with pytest.raises(RelayError) as info:
        judge("calling.play", {"id": "1", "error": {"code": -32601, "message": "Method not found"}})
    assert info.value.code == -32601


def test_urls_and_host_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ws_url("space.signalwire.com") == "wss://space.signalwire.com"
    assert ws_url("ws://127.0.0.1:8080") == "ws://127.0.0.1:8080"
    for name in ("RELAYBOX_HOST", "SIGNALWIRE_SPACE", "SIGNALWIRE_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert RelayClient(project="p", token="t").url == "wss://relay.signalwire.com"
    monkeypatch.setenv("SIGNALWIRE_SPACE", "space.example")
    assert RelayClient(project="p", token="t").url == "wss://space.example"
    monkeypatch.setenv("RELAYBOX_HOST", "ws://127.0.0.1:9")
    assert RelayClient(project="p", token="t").url == "ws://127.0.0.1:9"
    with pytest.raises(ValueError, match="project"):
        monkeypatch.delenv("SIGNALWIRE_PROJECT_ID", raising=False)
        RelayClient(token="t")


def test_normalize_media() -> None:
    assert normalize_media([{"type": "tts", "text": "Hello from RELAY!"}]) == [
        {"type": "tts", "params": {"text": "Hello from RELAY!"}}
    ]
    assert normalize_media([{"type": "audio", "params": {"url": "u"}}]) == [{"type": "audio", "params": {"url": "u"}}]


class FakeClient(RelayClient):
    def __init__(self) -> None:
        super().__init__(project="p", token="t", host="ws://127.0.0.1:1")
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.results: dict[str, dict[str, Any]] = {}

    async def execute(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append((method, params))
        if method in self.results:
            return self.results[method]
        return {"code": "200", "message": "ok"}


def ev(event_type: str, **params: Any) -> dict[str, Any]:
    return {"event_type": event_type, "params": params}


async def test_inbound_call_and_actions() -> None:
    client = FakeClient()
    got: asyncio.Queue[Call] = asyncio.Queue()
    client.on_call(got.put)
    await client._handle_event(
        ev(
            "calling.call.receive",
            call_id="c",
            node_id="n",
            context="office",
            call_state="created",
            device={"type": "phone", "params": {"from_number": "+1"}},
            segment_id="s",
        )
    )
    call = await asyncio.wait_for(got.get(), 1)
    assert (call.call_id, call.node_id, call.context, call.direction, call.state, call.segment_id) == (
        "c",
        "n",
        "office",
        "inbound",
        "created",
        "s",
    )
    await call.answer()
    assert client.sent[-1] == ("calling.answer", {"node_id": "n", "call_id": "c"})

    seen: list[str] = []
    call.on("calling.call.play", lambda e: seen.append(e.params["state"]))
    action = await call.play([{"type": "tts", "text": "hi"}], volume=3)
    method, params = client.sent[-1]
    assert method == "calling.play" and params["play"] == [{"type": "tts", "params": {"text": "hi"}}]
    assert params["volume"] == 3 and params["control_id"] == action.control_id
    await client._handle_event(ev("calling.call.play", call_id="c", control_id=action.control_id, state="playing"))
    assert not action.completed
    await action.pause()
    assert client.sent[-1] == ("calling.play.pause", {"node_id": "n", "call_id": "c", "control_id": action.control_id})
    await action.volume(-4)
    await client._handle_event(ev("calling.call.play", call_id="c", control_id=action.control_id, state="finished"))
    assert (await action.wait(1)).params["state"] == "finished" and seen == ["playing", "finished"]

    rec = await call.record({"format": "wav"})
    await client._handle_event(
        ev(
            "calling.call.record",
            call_id="c",
            control_id=rec.control_id,
            state="finished",
            record={"url": "https://r"},
            url="https://r",
        )
    )
    assert rec.completed and rec.url == "https://r"

    standalone = await call.collect(digits={"max": 4}, partial_results=True, continuous=True)
    for streamed in (
        {"final": False, "state": "collecting", "result": {"type": "digit", "params": {"digits": "12"}}},
        {"state": "collecting", "result": {"type": "start_of_input"}},
        {"final": True, "state": "collecting", "result": {"type": "digit", "params": {"digits": "1234"}}},
    ):
        await client._handle_event(
            ev("calling.call.collect", call_id="c", control_id=standalone.control_id, **streamed)
        )
        assert not standalone.completed, streamed  # partial, start of input and continuous results go on
    await client._handle_event(
        ev("calling.call.collect", call_id="c", control_id=standalone.control_id, final=True, state="finished",
           result={"type": "digit", "params": {"digits": "1234"}})
    )
    assert standalone.completed

    col = await call.play_and_collect([{"type": "tts", "text": "PIN"}], {"digits": {"max": 4}})
    await client._handle_event(ev("calling.call.play", call_id="c", control_id=col.control_id, state="finished"))
    assert not col.completed  # play events do not end a collect
    await client._handle_event(
        ev(
            "calling.call.collect",
            call_id="c",
            control_id=col.control_id,
            result={"type": "digit", "params": {"digits": "1234", "terminator": "#"}},
        )
    )
    assert col.completed

    det = await call.detect_answering_machine(initial_timeout=3)
    assert client.sent[-1][1]["detect"] == {"type": "machine", "params": {"initial_timeout": 3}}
    await client._handle_event(
        ev(
            "calling.call.detect",
            call_id="c",
            control_id=det.control_id,
            detect={"type": "machine", "params": {"event": "HUMAN"}},
        )
    )
    assert det.completed

    fax = await call.send_fax("https://doc.pdf", header_info="H")
    await client._handle_event(ev("calling.call.fax", call_id="c", control_id=fax.control_id, fax={"type": "finished"}))
    assert not fax.completed  # the nested fax.type alone does not resolve it (top-level state does)
    await client._handle_event(ev("calling.call.fax", call_id="c", control_id=fax.control_id, state="finished"))
    assert fax.completed
    await fax.stop()
    assert client.sent[-1][0] == "calling.send_fax.stop"

    client.results["calling.tap"] = {}  # an empty result: the call is gone, the action resolves at once
    tap = await call.tap({"type": "audio", "params": {"direction": "listen"}}, {"type": "rtp", "params": {}})
    assert tap.completed

    await client._handle_event(ev("calling.call.state", call_id="c", call_state="ended", end_reason="hangup"))
    assert call.state == "ended" and "c" not in client._calls
    assert (await call.wait_for_ended(1)).params["end_reason"] == "hangup"
    before = len(client.sent)
    after = await call.play_silence(1)  # an ended call resolves actions locally, sending nothing
    assert after.completed and len(client.sent) == before


async def test_dial_routing() -> None:
    client = FakeClient()
    task = asyncio.ensure_future(client.dial([[{"type": "phone", "params": {"to_number": "+2"}}]], tag="t-1"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert client.sent[-1] == (
        "calling.dial",
        {"tag": "t-1", "devices": [[{"type": "phone", "params": {"to_number": "+2"}}]]},
    )
    await client._handle_event(ev("calling.call.state", call_id="c2", node_id="n", tag="t-1", call_state="answered"))
    await client._handle_event(
        ev("calling.call.dial", tag="t-1", dial_state="answered", call={"call_id": "c2", "node_id": "n", "tag": "t-1"})
    )
    call = await asyncio.wait_for(task, 1)
    assert call.call_id == "c2" and call.state == "answered" and call.tag == "t-1"
    failing = asyncio.ensure_future(client.dial([[{"type": "phone", "params": {"to_number": "+3"}}]], tag="t-2"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await client._handle_event(ev("calling.call.dial", tag="t-2", dial_state="failed"))
    with pytest.raises(RelayError, match="Dial failed"):
        await asyncio.wait_for(failing, 1)


def test_not_on_platform_list_names_real_methods() -> None:
    for name in NOT_ON_PLATFORM:
        assert callable(getattr(Call, name)), name


def test_relay_event_arguments_as_the_official_sdk() -> None:
    """RelayEvent(event_type, params, call_id, timestamp), as signalwire-sdk's; from_payload reads the frame."""
    event = RelayEvent("calling.call.play", {"state": "playing"}, "c-9", 12.5)
    assert (event.call_id, event.timestamp, event.state) == ("c-9", 12.5, "playing")
    parsed = RelayEvent.from_payload(
        {"event_type": "calling.call.state", "timestamp": 3.0, "params": {"call_id": "c-1", "call_state": "ended"}}
    )
    assert (parsed.call_id, parsed.timestamp, parsed.state) == ("c-1", 3.0, "ended")
