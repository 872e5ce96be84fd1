"""One client connection driven through a real gateway/platform (no sockets), in both dialects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from linkharness import PROJECT, V2, V4, Client, call_in, relaybox, settle

from relaybox.app import RelayBox
from relaybox.gateway import gateway as gateway_module
from relaybox.protocol import jsonrpc

PHONE = {"type": "phone", "params": {"from_number": "+15552220000", "to_number": "+15553330000"}}


@pytest.fixture
async def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RelayBox]:
    # Routing to new contexts waits RECEIVE_SETTLE real seconds; only the test of that delay needs the real one.
    monkeypatch.setattr(gateway_module, "RECEIVE_SETTLE", 0.0)
    async with relaybox(tmp_path) as b:
        yield b


def rpc_error(reply: dict[str, Any], code: int | None = None, req_id: Any = "any") -> dict[str, Any]:
    assert "error" in reply and "result" not in reply, reply
    error = reply["error"]
    assert isinstance(error["code"], int)
    assert error["code"] != -32000
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, reply
    if req_id != "any":
        assert reply["id"] == req_id
    return error


def only_frame(frames: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(frames) == 1, frames
    return frames[0]


async def connected(box: RelayBox, dialect: str, *contexts: str, name: str = "c") -> V2 | V4:
    client: V2 | V4 = V2(box, name) if dialect == "v2" else V4(box, name)
    client.handshake(*contexts)
    if contexts:
        await settle(box)
    return client


# ---------------------------------------------------------------------------------------------- handshakes


async def test_v2_handshake_frames(box: RelayBox) -> None:
    c = V2(box)
    reply = c.connect()
    assert reply["jsonrpc"] == "2.0"
    result = reply["result"]
    assert result["session_restored"] is False
    assert isinstance(result["sessionid"], str) and result["sessionid"]
    auth = result["authorization"]
    assert auth["project"] == PROJECT
    assert auth["expires_at"] is None
    assert isinstance(auth["signature"], str) and auth["signature"] and "_" not in auth["signature"]

    setup = c.setup()
    protocol = setup["result"]["result"]["protocol"]
    assert protocol.startswith("signalwire_")
    assert protocol.split("_")[1] == auth["signature"]  # Node's resume check

    sub = c.request("blade.subscription", {"command": "add", "protocol": protocol, "channels": ["notifications"]})
    assert sub["result"]["protocol"] == protocol
    assert sub["result"]["subscribe_channels"] == ["notifications"]
    assert sub["result"]["failed_channels"] == []

    ping = c.request("blade.ping", {})
    assert isinstance(ping["result"]["timestamp"], float)

    receive = c.execute("signalwire.receive", {"contexts": ["office", "home"]})
    outer = receive["result"]
    assert outer["protocol"] == protocol
    inner = outer["result"]
    assert inner["code"] == "200"
    assert inner["message"]
    assert "result" not in inner
    assert c.event_frames() == []  # nothing is pushed to a v2 session during the handshake


async def test_v2_signature_is_stable_per_project(box: RelayBox) -> None:
    a, b = V2(box, "a"), V2(box, "b")
    sig_a = a.connect()["result"]["authorization"]["signature"]
    sig_b = b.connect()["result"]["authorization"]["signature"]
    assert sig_a == sig_b
    assert a.sessionid != b.sessionid


async def test_v4_connect_frames(box: RelayBox) -> None:
    c = V4(box)
    reply = c.connect(contexts=["office"])
    result = reply["result"]
    assert result["protocol"].startswith("signalwire_")
    assert isinstance(result["sessionid"], str) and "_" not in result["sessionid"]
    assert result["session_restored"] is False
    assert result["identity"].startswith(PROJECT)
    event = only_frame(c.event_frames())  # the resume blob follows the reply
    assert c.sent.index(event) > c.sent.index(reply)
    assert event["method"] == "signalwire.event"
    assert isinstance(event["id"], str) and event["id"]
    assert event["params"]["event_type"] == "signalwire.authorization.state"
    assert isinstance(event["params"]["params"]["authorization_state"], str)
    assert isinstance(event["params"]["timestamp"], float)
    assert "timestamp" in event["params"]["params"]
    assert c.ping()


async def test_v4_receive_and_unreceive(box: RelayBox) -> None:
    c = V4(box)
    c.connect()
    assert c.command("signalwire.receive", {"contexts": ["office"]}) == {"code": "200", "message": "Receiving events"}
    await settle(box)
    call_in(box, "office")
    await settle(box)
    assert len(c.receives()) == 1
    assert c.command("signalwire.unreceive", {"contexts": ["office"]})["code"] == "200"
    call_in(box, "office")
    await settle(box)
    assert len(c.receives()) == 1


async def test_v2_unreceive(box: RelayBox) -> None:
    c = await connected(box, "v2", "office")
    assert c.command("signalwire.unreceive", {"contexts": ["office"]})["code"] == "200"
    call_in(box, "office")
    await settle(box)
    assert c.receives() == []


@pytest.mark.parametrize("dialect", ["v2", "v4"])
async def test_contexts_are_routed_only_after_the_settle_delay(
    box: RelayBox, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "RECEIVE_SETTLE", 0.05)  # the real value
    c: V2 | V4 = V2(box) if dialect == "v2" else V4(box)
    c.handshake("office")
    call_id = call_in(box, "office")
    await asyncio.sleep(0.01)
    assert c.receives() == []  # not in the same burst as the receive acknowledgement
    await asyncio.sleep(0.1)
    await box.clock.advance(0)  # type: ignore[attr-defined]
    assert c.receives() == [call_id]


async def test_v4_event_frames_carry_ids_and_timestamps(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    call_id = call_in(box, "office")
    await settle(box)
    frame = c.event_frames()[-1]
    assert frame["method"] == "signalwire.event"
    params = frame["params"]
    assert params["event_type"] == "calling.call.receive"
    body = params["params"]
    assert body["call_id"] == call_id
    assert body["context"] == "office"
    assert body["call_state"] in ("created", "ringing")
    assert "timestamp" in body
    ids = [f["id"] for f in c.event_frames()]
    assert len(set(ids)) == len(ids)


async def test_v2_broadcast_frames(box: RelayBox) -> None:
    c = await connected(box, "v2", "office")
    call_id = call_in(box, "office")
    await settle(box)
    frame = only_frame(c.event_frames())
    params = frame["params"]
    assert params["protocol"] == c.protocol
    assert params["event"] == "queuing.relay.events"
    assert params["params"]["event_type"] == "calling.call.receive"
    assert params["params"]["context"] == "office"
    assert params["params"]["params"]["call_id"] == call_id
    assert params["params"]["params"]["device"]["params"]["from_number"] == "+15551110000"


# ---------------------------------------------------------------------------------------------- auth


@pytest.mark.parametrize("dialect", ["v2", "v4"])
@pytest.mark.parametrize(("project", "token"), [(PROJECT, "wrong"), ("other", "t"), ("", ""), (PROJECT, "")])
async def test_auth_failure_is_a_json_rpc_error(box: RelayBox, dialect: str, project: str, token: str) -> None:
    c: V2 | V4 = V2(box) if dialect == "v2" else V4(box)
    reply = c.connect(project=project, token=token)
    rpc_error(reply, jsonrpc.AUTH_FAILED)
    assert c.event_frames() == []
    assert box.gateway.sessions == {}
    assert c.link.project is None
    assert c.transport.closed is None
    # the link is still usable: a right pair now succeeds
    assert "result" in c.connect()


@pytest.mark.parametrize(("dialect", "method"), [("v2", "blade.connect"), ("v4", "signalwire.connect")])
@pytest.mark.parametrize("params", [{}, {"authentication": "p:t"}, None])
async def test_connect_without_authentication_object(box: RelayBox, dialect: str, method: str, params: Any) -> None:
    c = Client(box)
    reply = c.request(method, params)
    rpc_error(reply, jsonrpc.INVALID_PARAMS)
    assert c.link.project is None


@pytest.mark.parametrize(
    "first", [("blade.ping", {}), ("signalwire.ping", {}), ("calling.answer", {"call_id": "x"}),
              ("blade.execute", {"protocol": "signalwire", "method": "setup", "params": {}}),
              ("signalwire.receive", {"contexts": ["office"]})]
)
async def test_first_request_must_be_a_connect(box: RelayBox, first: tuple[str, dict[str, Any]]) -> None:
    c = V4(box)
    reply = c.request(first[0], first[1], req_id="first")
    rpc_error(reply, jsonrpc.NOT_CONNECTED, req_id="first")
    assert c.link.dialect is None
    assert "result" in c.connect()  # the same link can still connect


async def test_a_response_before_connect_is_ignored(box: RelayBox) -> None:
    c = Client(box)
    assert c.send({"jsonrpc": "2.0", "id": "x", "result": {}}) == []
    assert c.link.dialect is None


@pytest.mark.parametrize(
    ("method", "params"),
    [("calling.answer", {"call_id": "x"}), ("calling.dial", {"devices": [[PHONE]]}),
     ("signalwire.receive", {"contexts": ["office"]})],
)
async def test_v4_commands_after_a_failed_connect_are_refused(box: RelayBox, method: str, params: Any) -> None:
    c = V4(box)
    rpc_error(c.connect(token="bad"))
    reply = c.request(method, params)
    rpc_error(reply, jsonrpc.NOT_CONNECTED)
    assert box.calling.calls == {}


async def test_v2_commands_before_setup_are_refused(box: RelayBox) -> None:
    c = V2(box)
    c.connect()
    rpc_error(c.execute("calling.answer", {"call_id": "x"}, protocol="signalwire_x_y"), jsonrpc.NOT_CONNECTED)
    rpc_error(c.execute("signalwire.receive", {"contexts": ["a"]}, protocol="signalwire_x_y"), jsonrpc.NOT_CONNECTED)
    rpc_error(c.request("blade.subscription", {"protocol": "signalwire_x_y", "channels": ["notifications"]}))


async def test_v2_commands_after_a_failed_connect_are_refused(box: RelayBox) -> None:
    c = V2(box)
    rpc_error(c.connect(token="bad"))
    rpc_error(c.setup(), jsonrpc.NOT_CONNECTED)
    rpc_error(c.execute("calling.dial", {"devices": [[PHONE]]}, protocol="signalwire_x_y"), jsonrpc.NOT_CONNECTED)
    assert box.gateway.sessions == {}


# ---------------------------------------------------------------------------------------------- bad frames


BAD_FRAMES: list[tuple[str, int]] = [
    ("{not json", jsonrpc.PARSE_ERROR),
    ('{"jsonrpc":"2.0","id":"1","method":"blade.ping"', jsonrpc.PARSE_ERROR),
    ('[{"jsonrpc":"2.0","id":"1","method":"blade.ping"}]', jsonrpc.INVALID_REQUEST),
    ("[]", jsonrpc.INVALID_REQUEST),
    ('"hello"', jsonrpc.INVALID_REQUEST),
    ("42", jsonrpc.INVALID_REQUEST),
    ('{"jsonrpc":"2.0","id":true,"method":"blade.ping"}', jsonrpc.INVALID_REQUEST),
    ('{"jsonrpc":"2.0","id":1.5,"method":"blade.ping"}', jsonrpc.INVALID_REQUEST),
    ('{"jsonrpc":"2.0","id":"x","params":{}}', jsonrpc.INVALID_REQUEST),
    ('{"jsonrpc":"2.0","id":"x","method":7}', jsonrpc.INVALID_REQUEST),
    ('{"jsonrpc":"2.0","id":"x","method":"calling.answer","params":[1]}', jsonrpc.INVALID_PARAMS),
]


@pytest.mark.parametrize(("data", "code"), BAD_FRAMES)
async def test_bad_frames_before_connect(box: RelayBox, data: str, code: int) -> None:
    c = Client(box)
    rpc_error(only_frame(c.send_raw(data)), code)
    assert c.link.dialect is None
    assert c.transport.closed is None


@pytest.mark.parametrize("dialect", ["v2", "v4"])
@pytest.mark.parametrize(("data", "code"), BAD_FRAMES)
async def test_bad_frames_after_connect_keep_the_link_alive(box: RelayBox, dialect: str, data: str, code: int) -> None:
    c = await connected(box, dialect, "office")
    other = await connected(box, "v4" if dialect == "v2" else "v2", "office", name="other")
    rpc_error(only_frame(c.send_raw(data)), code)
    assert c.transport.closed is None
    assert c.ping()
    assert other.ping()
    first = call_in(box, "office")
    second = call_in(box, "office")
    await settle(box)
    assert sorted(c.receives() + other.receives()) == sorted([first, second])
    assert len(c.receives()) == 1  # both sessions still take turns


@pytest.mark.parametrize("dialect", ["v2", "v4", None])
async def test_binary_frame_is_refused_with_an_error(box: RelayBox, dialect: str | None) -> None:
    c: Client = await connected(box, dialect) if dialect else Client(box)
    before = len(c.sent)
    c.link.receive_binary()
    rpc_error(only_frame(c.sent[before:]), jsonrpc.INVALID_REQUEST)
    assert c.transport.closed is None
    if isinstance(c, V2 | V4):
        assert c.ping()


@pytest.mark.parametrize(
    ("dialect", "method", "params"),
    [
        ("v2", "blade.nope", {}),
        ("v2", "blade.reauthenticate", {}),
        ("v2", "signalwire.connect", {"authentication": {"project": PROJECT, "token": "t"}}),
        ("v4", "calling.nope", {}),
        ("v4", "nothing", {}),
        ("v4", "blade.execute", {"protocol": "p", "method": "calling.answer"}),
    ],
)
async def test_unknown_methods(box: RelayBox, dialect: str, method: str, params: Any) -> None:
    c = await connected(box, dialect)
    error = rpc_error(c.request(method, params), jsonrpc.METHOD_NOT_FOUND)
    assert method in error["message"]
    assert c.ping()


@pytest.mark.parametrize("dialect", ["v2", "v4"])
async def test_unknown_relay_method_in_execute(box: RelayBox, dialect: str) -> None:
    c = await connected(box, dialect)
    if isinstance(c, V2):
        reply = c.execute("calling.teleport", {"call_id": "x"})
    else:
        reply = c.request("signalwire.execute", {"method": "calling.teleport", "params": {"call_id": "x"}})
    rpc_error(reply, jsonrpc.METHOD_NOT_FOUND)
    assert c.ping()


async def test_v2_malformed_execute_envelope(box: RelayBox) -> None:
    c = await connected(box, "v2")
    rpc_error(c.request("blade.execute", {"protocol": c.protocol}), jsonrpc.INVALID_PARAMS)
    rpc_error(c.request("blade.execute", {"method": "calling.answer"}), jsonrpc.INVALID_PARAMS)
    rpc_error(c.execute("calling.answer", [1]), jsonrpc.INVALID_PARAMS)
    rpc_error(c.execute("signalwire.receive", {"contexts": "office"}), jsonrpc.INVALID_PARAMS)
    assert c.ping()


# ---------------------------------------------------------------------------------------------- bad commands


@pytest.mark.parametrize("dialect", ["v2", "v4"])
@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("calling.answer", {}, "call_id"),
        ("calling.answer", {"call_id": 12}, "call_id"),
        ("calling.answer", {"call_id": None}, "call_id"),
        ("calling.end", {"node_id": "n"}, "call_id"),
        ("calling.pass", {"call_id": ["x"]}, "call_id"),
        ("calling.dial", {}, "devices"),
        ("calling.dial", {"devices": "+15553330000"}, "devices"),
        ("calling.dial", {"devices": [[{"type": "phone", "params": {"to_number": "555"}}]]}, "number"),
        ("calling.dial", {"devices": [[PHONE]], "max_duration": "forever"}, "max_duration"),
        ("calling.dial", {"devices": [[PHONE]], "tag": {"a": 1}}, "tag"),
        ("calling.begin", {"device": None}, "device"),
    ],
)
async def test_missing_or_mistyped_params_are_400(
    box: RelayBox, dialect: str, method: str, params: dict[str, Any], field: str
) -> None:
    c = await connected(box, dialect)
    result = c.command(method, params)
    assert result["code"] == "400"
    assert field in result["message"]
    assert "result" not in result
    assert c.ping()
    await settle(box)
    assert box.calling.calls == {}


@pytest.mark.parametrize("dialect", ["v2", "v4"])
@pytest.mark.parametrize("method", ["calling.answer", "calling.end", "calling.pass"])
async def test_commands_on_an_unknown_call_are_404(box: RelayBox, dialect: str, method: str) -> None:
    c = await connected(box, dialect)
    result = c.command(method, {"node_id": "n", "call_id": "no-such-call"})
    assert result["code"] == "404"
    assert result["message"]
    assert c.ping()


@pytest.mark.parametrize("dialect", ["v2", "v4"])
async def test_commands_on_an_ended_call_are_404(box: RelayBox, dialect: str) -> None:
    c = await connected(box, dialect, "office")
    call_id = call_in(box, "office")
    await settle(box)
    assert c.receives() == [call_id]
    assert c.command("calling.answer", {"call_id": call_id})["code"] == "200"
    assert c.command("calling.end", {"call_id": call_id, "reason": "hangup"})["code"] == "200"
    await settle(box)
    assert c.states(call_id) == ["answered", "ending", "ended"]
    for method in ("calling.answer", "calling.end", "calling.pass"):
        result = c.command(method, {"call_id": call_id})
        assert result["code"] == "404", method
    assert c.states(call_id) == ["answered", "ending", "ended"]  # nothing more happened
    assert c.ping()


@pytest.mark.parametrize("dialect", ["v2", "v4"])
async def test_end_with_a_bad_reason_is_400(box: RelayBox, dialect: str) -> None:
    c = await connected(box, dialect, "office")
    call_id = call_in(box, "office")
    await settle(box)
    result = c.command("calling.end", {"call_id": call_id, "reason": "vanish"})
    assert result["code"] == "400"
    await settle(box)
    assert c.states(call_id) == []


async def test_v4_mistyped_params_object_is_invalid_params(box: RelayBox) -> None:
    c = await connected(box, "v4")
    rpc_error(c.request("calling.answer", ["call-1"]), jsonrpc.INVALID_PARAMS)
    rpc_error(c.request("signalwire.receive", {"contexts": []}), jsonrpc.INVALID_PARAMS)
    rpc_error(c.request("signalwire.execute", {"method": 5}), jsonrpc.INVALID_PARAMS)
    assert c.ping()


async def test_every_request_gets_exactly_one_reply_with_its_id(box: RelayBox) -> None:
    c = await connected(box, "v4")
    for i, frame in enumerate(
        [
            {"jsonrpc": "2.0", "id": 17, "method": "signalwire.ping"},
            {"jsonrpc": "2.0", "id": "s", "method": "calling.answer", "params": {}},
            {"jsonrpc": "2.0", "id": "u", "method": "calling.nope", "params": {}},
        ]
    ):
        replies = [f for f in c.send(frame) if "result" in f or "error" in f]
        assert len(replies) == 1, i
        assert replies[0]["id"] == frame["id"]
        assert type(replies[0]["id"]) is type(frame["id"])


# ---------------------------------------------------------------------------------------------- calls through a link


@pytest.mark.parametrize("dialect", ["v2", "v4"])
async def test_dial_through_a_link(box: RelayBox, dialect: str) -> None:
    c = await connected(box, dialect, "office")
    assert c.command("calling.dial", {"tag": "tg", "devices": [[PHONE]]}) == {"code": "200", "message": "Dialing"}
    await settle(box)
    await box.clock.advance(1)  # type: ignore[attr-defined]
    events = [(e["event_type"], e["params"].get("call_state") or e["params"].get("dial_state")) for e in c.events()
              if e["event_type"].startswith("calling.")]
    assert events == [
        ("calling.call.dial", "dialing"), ("calling.call.state", "created"), ("calling.call.state", "ringing"),
        ("calling.call.state", "answered"), ("calling.call.dial", "answered"),
    ]


async def test_reply_goes_out_before_the_events_it_causes(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    call_id = call_in(box, "office")
    await settle(box)
    reply = c.request("calling.answer", {"call_id": call_id})
    await settle(box)
    answered = next(f for f in c.event_frames() if f["params"]["event_type"] == "calling.call.state")
    assert c.sent.index(reply) < c.sent.index(answered)


async def test_v4_goodbye_closes_and_ends_the_session(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    call_id = call_in(box, "office")
    await settle(box)
    c.command("calling.answer", {"call_id": call_id})
    await settle(box)
    protocol = c.protocol
    reply = c.request("signalwire.disconnect", {})
    assert reply["result"] == {}
    assert c.transport.closed is not None and c.transport.closed[0] == 1000
    assert protocol not in box.gateway.sessions
    assert call_id not in box.calling.calls  # the calls it controlled ended with it


# ---------------------------------------------------------------------------------------------- isolation


@pytest.mark.parametrize("dialect", ["v2", "v4"])
async def test_a_second_link_is_unaffected_by_a_barrage_of_bad_input(box: RelayBox, dialect: str) -> None:
    good = await connected(box, "v4" if dialect == "v2" else "v2", "office", name="good")
    bad = await connected(box, dialect, name="bad")
    good_frames = len(good.sent)
    for data, _ in BAD_FRAMES:
        bad.send_raw(data)
    bad.link.receive_binary()
    bad.request("calling.nope" if dialect == "v4" else "blade.nope", {})
    bad.command("calling.answer", {})
    bad.command("calling.end", {"call_id": "ghost"})
    assert bad.ping()
    assert good.sent[good_frames:] == []  # nothing of the barrage leaked to the other link
    call_id = call_in(box, "office")
    await settle(box)
    assert good.receives() == [call_id]
    assert good.command("calling.answer", {"call_id": call_id})["code"] == "200"
    await settle(box)
    assert good.states(call_id) == ["answered"]
    assert good.ping()
    assert good.transport.closed is None


async def test_a_lost_link_does_not_disturb_others(box: RelayBox) -> None:
    a = await connected(box, "v4", "office", name="a")
    b = await connected(box, "v2", "office", name="b")
    a.lost()
    assert a.link.closed
    for _ in range(2):
        call_in(box, "office")
    await settle(box)
    assert len(b.receives()) == 2
    assert b.ping()


# ---------------------------------------------------------------------------------------------- resume


async def test_v4_resume_keeps_protocol_contexts_and_resends_unacked_events(box: RelayBox) -> None:
    first = V4(box, "first")
    first.connect(contexts=["office"])
    protocol = first.protocol
    assert first.command("signalwire.receive", {"contexts": ["billing"]})["code"] == "200"
    await settle(box)
    first.ack_all()  # the authorization state is acknowledged
    answered = call_in(box, "office")
    await settle(box)
    first.command("calling.answer", {"call_id": answered})
    await settle(box)
    unacked = [f for f in first.event_frames() if f["params"]["event_type"] != "signalwire.authorization.state"]
    assert [f["params"]["event_type"] for f in unacked] == ["calling.call.receive", "calling.call.state"]
    first.lost()
    assert protocol in box.gateway.sessions

    second = V4(box, "second")
    reply = second.connect(contexts=["office"], protocol=protocol)
    assert reply["result"]["session_restored"] is True
    assert reply["result"]["protocol"] == protocol
    replayed = second.event_frames()
    assert [f["id"] for f in replayed] == [f["id"] for f in unacked]  # same frames, same ids
    assert replayed == unacked
    second.ack_all()
    await settle(box)

    # contexts kept: the constructor one and the one added with receive()
    office, billing = call_in(box, "office"), call_in(box, "billing")
    await settle(box)
    assert office in second.receives() and billing in second.receives()
    # the resumed session still controls its answered call
    assert second.command("calling.end", {"call_id": answered})["code"] == "200"
    await settle(box)
    assert second.states(answered)[-2:] == ["ending", "ended"]
    assert second.ping()

    # acknowledged events are not sent a third time
    for call_id in (office, billing):
        second.command("calling.end", {"call_id": call_id})
    await settle(box)
    second.ack_all()
    second.lost()
    third = V4(box, "third")
    third.connect(protocol=protocol)
    assert third.event_frames() == []


async def test_v4_events_while_away_are_delivered_on_resume(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    call_id = call_in(box, "office", script=[{"wait_for": "answer"}, {"wait": 5}, {"hangup": True}])
    await settle(box)
    c.command("calling.answer", {"call_id": call_id})
    await settle(box)
    c.ack_all()
    c.lost()
    await box.clock.advance(5)  # type: ignore[attr-defined]  # the caller hangs up while the session is away
    assert call_id not in box.calling.calls
    back = V4(box, "back")
    back.connect(protocol=c.protocol)
    assert back.states(call_id) == ["ending", "ended"]


async def test_v4_resume_with_a_forged_authorization_state_is_a_new_session(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    c.lost()
    other = V4(box, "other")
    reply = other.connect(protocol=c.protocol, authorization_state="Zm9v:bad")
    assert reply["result"]["session_restored"] is False
    assert reply["result"]["protocol"] != c.protocol


async def test_v4_resume_with_the_issued_authorization_state(box: RelayBox) -> None:
    c = V4(box)
    c.connect()
    state = c.events("signalwire.authorization.state")[0]["params"]["authorization_state"]
    c.lost()
    back = V4(box, "back")
    reply = back.connect(protocol=c.protocol, authorization_state=state)
    assert reply["result"]["session_restored"] is True


async def test_v4_resume_of_an_unknown_protocol_is_a_new_session(box: RelayBox) -> None:
    c = V4(box)
    reply = c.connect(protocol="signalwire_nope_nope")
    assert reply["result"]["session_restored"] is False
    assert reply["result"]["protocol"] != "signalwire_nope_nope"


async def test_v4_resume_takes_over_a_link_that_has_not_noticed_it_is_dead(box: RelayBox) -> None:
    old = await connected(box, "v4", "office", name="old")
    new = V4(box, "new")
    assert new.connect(protocol=old.protocol)["result"]["session_restored"] is True
    assert old.transport.closed is not None
    call_id = call_in(box, "office")
    await settle(box)
    assert new.receives() == [call_id]
    assert old.receives() == []


async def test_v4_unacked_offer_is_not_offered_twice_after_resume(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    call_id = call_in(box, "office")
    await settle(box)
    assert c.receives() == [call_id]
    c.lost()
    back = V4(box, "back")
    assert back.connect(protocol=c.protocol)["result"]["session_restored"] is True
    await settle(box)
    assert call_id in back.receives()


async def test_v4_resume_offers_an_unacked_call_exactly_once(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    call_id = call_in(box, "office")
    await settle(box)
    c.lost()
    back = V4(box, "back")
    back.connect(protocol=c.protocol)
    await settle(box)
    assert back.receives() == [call_id]


async def test_v4_resume_does_not_reoffer_an_acknowledged_call_to_the_same_session(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    call_id = call_in(box, "office")
    await settle(box)
    c.ack_all()
    c.lost()
    back = V4(box, "back")
    back.connect(protocol=c.protocol)
    await settle(box)
    assert back.receives() == []
    assert back.command("calling.answer", {"call_id": call_id})["code"] == "200"


async def test_session_expires_after_the_grace_period(box: RelayBox) -> None:
    c = await connected(box, "v4", "office")
    c.lost()
    session = box.gateway.sessions[c.protocol]  # type: ignore[index]
    assert session.expiry is not None
    box.gateway.end_session(session)  # what the grace timer does
    back = V4(box, "back")
    reply = back.connect(protocol=c.protocol)
    assert reply["result"]["session_restored"] is False


async def test_v2_resume_with_sessionid_and_protocol(box: RelayBox) -> None:
    first = await connected(box, "v2", "office", name="first")
    call_id = call_in(box, "office")
    await settle(box)
    assert first.command("calling.answer", {"call_id": call_id})["code"] == "200"
    await settle(box)
    first.lost()

    second = V2(box, "second")
    reply = second.connect(sessionid=first.sessionid)
    assert reply["result"]["session_restored"] is True
    assert reply["result"]["sessionid"] == first.sessionid
    setup = second.setup(protocol=first.protocol)
    assert setup["result"]["result"]["protocol"] == first.protocol
    second.request("blade.subscription", {"command": "add", "protocol": first.protocol, "channels": ["notifications"]})
    assert second.execute("signalwire.receive", {"contexts": ["office"]})["result"]["result"]["code"] == "200"
    await settle(box)
    # still controls its call, and still receives its context
    assert second.command("calling.end", {"call_id": call_id})["code"] == "200"
    await settle(box)
    assert second.states(call_id)[-2:] == ["ending", "ended"]
    new_call = call_in(box, "office")
    await settle(box)
    assert second.receives() == [new_call]


async def test_v2_connect_with_an_unknown_sessionid_is_a_new_session(box: RelayBox) -> None:
    c = V2(box)
    reply = c.connect(sessionid="not-a-session")
    assert reply["result"]["session_restored"] is False
    assert reply["result"]["sessionid"] != "not-a-session"


async def test_v2_python_reconnect_adopts_the_old_protocol(box: RelayBox) -> None:
    first = await connected(box, "v2", "office", name="first")
    call_id = call_in(box, "office")
    await settle(box)
    first.command("calling.answer", {"call_id": call_id})
    await settle(box)
    first.lost()
    second = await connected(box, "v2", "office", name="second")  # fresh connect + setup: a new protocol
    assert second.protocol != first.protocol
    # a command queued while disconnected still carries the old protocol
    result = second.execute("calling.end", {"call_id": call_id}, protocol=first.protocol)
    assert result["result"]["result"]["code"] == "200"
    await settle(box)
    assert second.states(call_id)[-2:] == ["ending", "ended"]
    assert first.protocol not in box.gateway.sessions


async def test_v4_connect_cannot_resume_a_v2_session(box: RelayBox) -> None:
    v2 = await connected(box, "v2", "office", name="v2")
    v2.lost()
    v4 = V4(box, "v4")
    reply = v4.connect(protocol=v2.protocol)
    call_in(box, "office")
    await settle(box)
    assert all(f.get("method") != "blade.broadcast" for f in v4.sent)
    assert reply["result"]["session_restored"] is False


async def test_v2_setup_cannot_resume_a_v4_session(box: RelayBox) -> None:
    v4 = await connected(box, "v4", "office", name="v4")
    v4.lost()
    v2 = V2(box, "v2")
    v2.connect()
    setup = v2.setup(protocol=v4.protocol)
    call_in(box, "office")
    await settle(box)
    assert all(f.get("method") != "signalwire.event" for f in v2.sent)
    assert setup["result"]["result"]["protocol"] != v4.protocol
