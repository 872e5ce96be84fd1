"""relaybox.relay.RelayClient (the v4 API of seed 004) against relaybox: the quick-start as written (host
changed), side by side with the official signalwire-sdk RelayClient, and the Call surface in-process."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CLIENTS_DIR, ROOT, VENVS, Background, Relaybox

from relaybox.relay import RelayClient
from relaybox.relay.v4 import NOT_ON_PLATFORM, Call, Message, RelayError

CALLER = "+15551110000"
DEFAULT_NUMBER = "+15552220009"  # routed to context "default"
ANSWERS = "+15553330000"
BUSY = "+15554440000"

QUICK_START = """
from signalwire.relay import RelayClient

client = RelayClient(
    project="your-project-id",
    token="your-api-token",
    host="{host}",
    contexts=["default"],
)

@client.on_call
async def handle_call(call):
    await call.answer()

    # Register an event listener
    call.on("calling.call.play", lambda event: print(f"Play state: {{event.params.get('state')}}"))

    # Play a greeting
    action = await call.play([{{"type": "tts", "text": "Hello from RELAY!"}}])
    await action.wait()

    # Wait for the call to end
    await call.wait_for_ended()
    print(f"Call ended: {{call.call_id}}")

client.run()
"""


def test_quick_start_is_the_seed_example() -> None:
    """QUICK_START is seed 004's example verbatim (line numbers and whitespace aside), host placeholder included."""
    seed = next((ROOT / "tests" / "seeds").glob("004_*.txt"), None)
    assert seed is not None, "tests/seeds/004_*.txt is missing"
    text = seed.read_text()
    example = text[text.index("Example\n") + len("Example\n") : text.index("\nEvents\n")]
    lines = [re.sub(r"^\d+", "", line) for line in example.strip().splitlines()]
    squash = lambda code: re.sub(r"\s+", "", code)  # noqa: E731
    documented = squash("".join(lines))
    ours = QUICK_START.format(host="your-space.signalwire.com")
    assert squash(ours) == documented


@pytest.fixture
def docbox(tmp_path: Path) -> Any:
    server = Relaybox(tmp_path / "data", tmp_path / "relaybox.log", project="your-project-id", token="your-api-token")
    server.start()
    try:
        server.add_number(DEFAULT_NUMBER, "default")
        yield server
    finally:
        server.stop()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RELAYBOX_HOST", "SIGNALWIRE_SPACE")}


def test_quick_start_as_written(docbox: Relaybox, tmp_path: Path) -> None:
    """Seed 004's example with only the import line and the host changed, on both SDKs."""
    runs: dict[str, list[str]] = {}
    flavors = [("relaybox", docbox.ws_url)]
    if (VENVS / "sw4" / "bin" / "python").exists():
        flavors.append(("official", docbox.hostport))  # the official SDK takes a bare host (wss://, shimmed to ws://)
    for flavor, host in flavors:
        code = QUICK_START.format(host=host)
        env = _env()
        env["PYTHONUNBUFFERED"] = "1"
        if flavor == "relaybox":
            code = code.replace("from signalwire.relay import", "from relaybox.relay import")
            argv = [sys.executable, "-u"]
            env["PYTHONPATH"] = str(ROOT)
        else:
            argv = [str(VENVS / "sw4" / "bin" / "python"), "-u"]
            env.update(PYTHONPATH=str(CLIENTS_DIR / "shims" / "py4"), RELAY_WS_SCHEME="ws")
        path = tmp_path / f"quick-start-{flavor}.py"
        path.write_text(code)
        bg = Background(f"quick-start-{flavor}", [*argv, str(path)], env, tmp_path)
        try:
            docbox.wait_until(
                lambda: docbox.api("GET", "/api/health")[1].get("sessions", 0) >= 1,
                timeout=15,
                message="the client's session",
            )
            placed = docbox.place_call(
                CALLER, DEFAULT_NUMBER, script=[{"wait_for": "answer"}, {"wait": 3}, {"hangup": True}]
            )
            bg.wait_for(rf"^Call ended: {placed['call_id']}$", timeout=30)
        finally:
            bg.stop()
        runs[flavor] = [line.replace(placed["call_id"], "<id>") for line in bg.lines]
        docbox.wait_until(
            lambda: docbox.api("GET", "/api/health")[1].get("connections", 1) == 0,
            timeout=10,
            message="the socket closed",
        )
    assert runs["relaybox"] == ["Play state: playing", "Play state: finished", "Call ended: <id>"], runs
    if "official" in runs:
        assert runs["relaybox"] == runs["official"], runs


# -- in-process ---------------------------------------------------------------------------------------------


async def _client(box: Relaybox, **kw: Any) -> RelayClient:
    client = RelayClient(project=box.project, token=box.token, host=box.ws_url, **kw)
    await client.connect()
    return client


async def test_dial_answered_properties_and_hangup(relaybox: Relaybox) -> None:
    relaybox.set_phone(ANSWERS, [{"ring": 1}, {"answer": True}, {"wait": 30}])
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        call = await client.dial(
            [[{"type": "phone", "params": {"from_number": CALLER, "to_number": ANSWERS}}]], tag="my-tag"
        )
        assert isinstance(call, Call)
        assert call.state == "answered" and call.direction == "outbound" and call.tag == "my-tag"
        assert call.call_id and call.node_id and call.project_id == relaybox.project
        assert call.device["params"]["to_number"] == ANSWERS
        assert call.context == client.relay_protocol and call.segment_id  # the platform's call segment
        await call.hangup()
        ended = await call.wait_for_ended(timeout=10)
        assert ended.params["call_state"] == "ended" and call.state == "ended"


async def test_dial_busy_raises(relaybox: Relaybox) -> None:
    relaybox.set_phone(BUSY, [{"ring": 0.5}, {"reject": "busy"}])
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        with pytest.raises(RelayError, match="Dial failed"):
            await client.dial([[{"type": "phone", "params": {"from_number": CALLER, "to_number": BUSY}}]])


async def test_inbound_answer_and_pass(relaybox: Relaybox) -> None:
    relaybox.add_number("+15552220000", "office")
    first: asyncio.Queue[Call] = asyncio.Queue()
    second: asyncio.Queue[Call] = asyncio.Queue()
    a = await _client(relaybox, contexts=["office"])
    b = await _client(relaybox, contexts=["office"])
    try:

        @a.on_call
        async def pass_it(call: Call) -> None:
            await call.pass_()
            await first.put(call)

        @b.on_call
        async def take_it(call: Call) -> None:
            await call.answer()
            await call.wait_for_answered(timeout=5)
            await second.put(call)

        placed = relaybox.place_call(
            CALLER, "+15552220000", script=[{"wait_for": "answer"}, {"wait": 1}, {"hangup": True}]
        )
        # whichever session was offered it first: a passes, b answers (or b answers directly)
        call = await asyncio.wait_for(second.get(), 15)
        assert call.call_id == placed["call_id"] and call.direction == "inbound" and call.context == "office"
        assert call.device["params"]["from_number"] == CALLER and call.device["type"] == "phone"
        assert call.node_id and call.project_id == relaybox.project and call.segment_id and call.tag == ""
        assert call.state == "answered"
        await call.wait_for_ended(timeout=15)
    finally:
        await a.disconnect()
        await b.disconnect()


async def test_send_message_and_wait(relaybox: Relaybox) -> None:
    relaybox.add_number("+15552220000", "office")
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        message = await client.send_message(from_number="+15552220000", to_number="+15557770000", body="hi", tags=["t"])
        assert isinstance(message, Message) and message.message_id and message.state == "queued"
        event = await message.wait(timeout=15)
        assert message.state == "delivered" and event.params["message_state"] == "delivered"
        with pytest.raises(ValueError):
            await client.send_message(from_number="+15552220000", to_number="+15557770000")
        with pytest.raises(RelayError):
            await client.send_message(from_number="+15550000000", to_number="+15557770000", body="not ours")


async def test_inbound_message(relaybox: Relaybox) -> None:
    relaybox.add_number("+15552220000", "office")
    got: asyncio.Queue[Message] = asyncio.Queue()
    client = await _client(relaybox, contexts=["office"])
    try:
        client.on_message(got.put)
        relaybox.api("POST", "/api/sandbox/messages", {"from": "+15557770000", "to": "+15552220000", "body": "yo"})
        message = await asyncio.wait_for(got.get(), 15)
        assert (message.direction, message.from_number, message.body, message.state) == (
            "inbound",
            "+15557770000",
            "yo",
            "received",
        )
    finally:
        await client.disconnect()


# seed 004's Call methods and the wire method each sends (as the official signalwire-sdk sends it)
WIRE = {
    "answer": "answer",
    "hangup": "end",
    "pass_": "pass",
    "disconnect": "disconnect",
    "transfer": "transfer",
    "connect": "connect",
    "hold": "hold",
    "unhold": "unhold",
    "play": "play",
    "record": "record",
    "play_and_collect": "play_and_collect",
    "collect": "collect",
    "detect": "detect",
    "ai": "ai",
    "amazon_bedrock": "amazon_bedrock",
    "ai_hold": "ai_hold",
    "ai_unhold": "ai_unhold",
    "ai_message": "ai_message",
    "denoise": "denoise",
    "denoise_stop": "denoise.stop",
    "send_digits": "send_digits",
    "echo": "echo",
    "bind_digit": "bind_digit",
    "clear_digit_bindings": "clear_digit_bindings",
    "user_event": "user_event",
    "refer": "refer",
    "tap": "tap",
    "stream": "stream",
    "send_fax": "send_fax",
    "receive_fax": "receive_fax",
    "pay": "pay",
    "transcribe": "transcribe",
    "live_transcribe": "live_transcribe",
    "live_translate": "live_translate",
    "join_conference": "join_conference",
    "leave_conference": "leave_conference",
    "join_room": "join_room",
    "leave_room": "leave_room",
    "queue_enter": "queue.enter",
    "queue_leave": "queue.leave",
}

NOT_ON_PLATFORM_ARGS: dict[str, tuple[Any, ...]] = {
    "transfer": ("https://example.com/swml",),
    "bind_digit": ("*1", "calling.play"),
    "stream": ("wss://example.com",),
    "pay": ("https://example.com/pay",),
    "live_transcribe": ({},),
    "live_translate": ({},),
    "join_room": ("room",),
    "queue_enter": ("q",),
    "queue_leave": ("q",),
}


def test_seed_004_methods_are_all_here() -> None:
    """Every method the seed lists exists on relaybox's Call (WIRE mirrors seed 004's method list)."""
    seed = next((ROOT / "tests" / "seeds").glob("004_*.txt"), None)
    assert seed is not None, "tests/seeds/004_*.txt is missing"
    text = seed.read_text()
    listed = text[text.index("Methods") : text.index("Example\n")]
    for name in WIRE:
        assert f"\n{name}\n" in listed, f"{name} is not in seed 004's method list"
    for name in ("on", "wait_for", "wait_for_ended", *WIRE):
        assert callable(getattr(Call, name)), name
    assert set(NOT_ON_PLATFORM) <= set(WIRE)


@pytest.mark.parametrize("method", NOT_ON_PLATFORM)
async def test_methods_not_on_the_platform_raise(method: str) -> None:
    """The Call methods of seed 004 that relaybox has no platform side for yet (NOT_ON_PLATFORM) raise a
    NotImplementedError naming the method, without sending anything."""
    client = RelayClient(project="p", token="t", host="ws://127.0.0.1:9")
    call = Call(client, "c-1", "n-1", "p", "office")
    with pytest.raises(NotImplementedError, match=rf"Call\.{method}\(\)"):
        await getattr(call, method)(*NOT_ON_PLATFORM_ARGS.get(method, ()))


async def test_not_on_platform_is_current(relaybox: Relaybox) -> None:
    """NOT_ON_PLATFORM is exactly what the running platform does not know: each of its wire methods is answered
    "method not found" (-32601) on a live call, and each other seed 004 method is not."""
    relaybox.set_phone(ANSWERS, [{"ring": 0.2}, {"answer": True}, {"wait": 60}])
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        call = await client.dial([[{"type": "phone", "params": {"from_number": CALLER, "to_number": ANSWERS}}]])
        unknown = []
        for name, wire in WIRE.items():
            if name == "hangup":
                continue
            params = {"node_id": call.node_id, "call_id": call.call_id, "control_id": f"probe-{name}"}
            try:
                await client.execute(f"calling.{wire}", params)
            except RelayError as exc:
                if exc.code == -32601:
                    unknown.append(name)
        await call.hangup()
    assert sorted(unknown) == sorted(NOT_ON_PLATFORM), (
        "update relaybox.relay.v4.call.NOT_ON_PLATFORM (and implement the Call method) to match the platform"
    )


async def test_hold_unhold_and_refer(relaybox: Relaybox) -> None:
    """hold/unhold reach the platform (a calling.call.hold event each); refer of a phone call is refused with
    the platform's reason (a SIP REFER needs a SIP call)."""
    relaybox.set_phone(ANSWERS, [{"ring": 0.2}, {"answer": True}, {"wait": 60}])
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        call = await client.dial([[{"type": "phone", "params": {"from_number": CALLER, "to_number": ANSWERS}}]])
        states: list[str] = []
        call.on("calling.call.hold", lambda event: states.append(event.params["state"]))
        held = asyncio.ensure_future(call.wait_for("calling.call.hold", lambda e: e.params["state"] == "unhold", 10))
        assert (await call.hold())["code"] == "200"
        assert (await call.unhold())["code"] == "200"
        await held
        assert states == ["hold", "unhold"]
        with pytest.raises(RelayError, match="SIP") as err:
            await call.refer({"type": "sip", "params": {"to": "sip:bob@example.com"}})
        assert err.value.code == 400
        await call.hangup()


async def test_play_on_the_platform(relaybox: Relaybox) -> None:
    """A media action end to end (the platform implements calling.play): PlayAction.wait() and stop()."""
    relaybox.set_phone(ANSWERS, [{"ring": 0.5}, {"answer": True}, {"wait": 60}])
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        call = await client.dial([[{"type": "phone", "params": {"from_number": CALLER, "to_number": ANSWERS}}]])
        action = await call.play_tts("Hello from relaybox")
        done = await action.wait(timeout=20)
        assert done.params["state"] == "finished" and action.completed
        long = await call.play_silence(60)
        await long.stop()
        stopped = await long.wait(timeout=10)
        assert stopped.params["state"] == "finished"
        await call.hangup()
        await call.wait_for_ended(timeout=10)


# -- the official v4 media scenarios, on relaybox's RelayClient --------------------------------------------

MEDIA_SCRIPT = ROOT / "tests" / "clients" / "media" / "v4_python.py"
PEER = "+15554440000"
ANSWER = [{"ring": 0.5}, {"answer": True}]

# scenario -> (the callee's script, lines the official client prints there: test_media_v4.py)
SCENARIOS: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
    "play": (ANSWER, ["PLAY_STOPPED finished", "PLAY_TTS finished", "PLAY_RINGTONE finished", "PLAY_BAD 400"]),
    "prompt": (
        [*ANSWER, {"wait_for": "prompt"}, {"press": "55#"}, {"wait_for": "prompt"}, {"say": "yes please"}],
        ["PROMPT digit 55 #", "COLLECT speech yes please"],
    ),
    "amd": ([*ANSWER, {"machine": {"greeting": "Leave a message", "beep": True}}], ["AMD MACHINE"]),
    "digits": (ANSWER, ["SEND_DIGITS 200", "SEND_DIGITS_BAD 400"]),
    "connect": (ANSWER, ["CONNECT_REPLY 200", "HOLD ok", "DISCONNECT_REPLY 200"]),
    "detect": ([*ANSWER, {"press": "1"}, {"wait": 1}, {"fax": {"pages": 1}}], ["DETECT_FAX CED"]),
    "controls": ([*ANSWER, {"say": "talking all along " * 8}], ["COLLECT_WAITING False", "COLLECT_TIMED_OUT no_input"]),
    "record": ([*ANSWER, {"say": "This is the v4 recording"}, {"press": "#"}], []),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_official_media_scenarios_on_this_sdk(scenario: str, relaybox: Relaybox, tmp_path: Path) -> None:
    """tests/clients/media/v4_python.py (written for the official signalwire-sdk) with only its imports changed
    to relaybox.relay: record, play/pause/resume/volume/stop, prompt and collect, AMD, send_digits, connect with
    hold/unhold and disconnect, detect digit/fax, record pause/resume and collect input timers print what the
    official client prints (the assertions of test_media_v4.py)."""
    script, expected = SCENARIOS[scenario]
    relaybox.set_phone(ANSWERS, script)
    relaybox.set_phone(PEER, [*ANSWER, {"wait": 60}])
    code = MEDIA_SCRIPT.read_text()
    code = code.replace("from signalwire.relay import RelayClient", "from relaybox.relay import RelayClient")
    code = code.replace("from signalwire.relay.client import RelayError", "from relaybox.relay.v4 import RelayError")
    assert "signalwire" not in code.replace("signalwire-sdk", "")
    path = tmp_path / "v4_media.py"
    path.write_text(code)
    env = _env()
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        SW_PROJECT=relaybox.project,
        SW_TOKEN=relaybox.token,
        SIGNALWIRE_SPACE=relaybox.ws_url,
        SCENARIO=scenario,
        TO=ANSWERS,
        PEER=PEER,
        SCRIPT_TIMEOUT="40",
    )
    bg = Background(f"v4-media-{scenario}", [sys.executable, "-u", str(path)], env, tmp_path)
    try:
        bg.wait_for(r"^HANGUP |^ERROR|^SCRIPT TIMEOUT", timeout=45)
    finally:
        bg.stop()
    lines = bg.lines
    assert lines[0] == "READY" and lines[1].startswith("DIAL True "), bg.describe()
    assert lines[-1] == "HANGUP hangup", bg.describe()
    for line in expected:
        assert line in lines, bg.describe()
    if scenario == "record":
        assert any(re.fullmatch(r"RECORD finished http://\S+\.wav [\d.]+ \d+", x) for x in lines), bg.describe()
    if scenario == "detect":
        assert any(re.fullmatch(r"DETECT_DIGIT (1|finished)", x) for x in lines), bg.describe()


async def test_conference_full_room_and_a_participant_hanging_up(relaybox: Relaybox) -> None:
    """relaybox's v4 SDK: a room created with max_participants=2 refuses a third call (409); the participant with
    end_on_exit hanging up ends the room for the other ("ended"), and the emptied room is gone (joining again
    opens a new one)."""
    numbers = ("+15553330001", "+15553330002", "+15553330003")
    for number in numbers:
        relaybox.set_phone(number, [{"ring": 0.2}, {"answer": True}, {"wait": 60}])
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        calls = [await client.dial([[{"type": "phone", "params": {"from_number": CALLER, "to_number": n}}]])
                 for n in numbers]
        seen: list[tuple[int, str]] = []
        for i, call in enumerate(calls):
            call.on("calling.conference", lambda ev, i=i: seen.append((i, ev.params["status"])))
        first = await calls[0].join_conference("sales", max_participants=2, end_on_exit=True)
        second = await calls[1].join_conference("sales")
        assert first["conference_id"] == second["conference_id"]
        with pytest.raises(RelayError) as full:
            await calls[2].join_conference("sales")
        assert full.value.code == 409 and "full" in str(full.value)
        with pytest.raises(RelayError) as bad:
            await calls[2].join_conference("sales", max_participants=1)
        assert bad.value.code == 400
        await calls[0].hangup()
        for _ in range(50):
            if (1, "ended") in seen:
                break
            await asyncio.sleep(0.05)
        assert seen == [(0, "joined"), (1, "joined"), (1, "ended")]
        again = await calls[1].join_conference("sales")
        assert again["conference_id"] != first["conference_id"]  # the emptied room was gone
        for call in calls[1:]:
            await call.hangup()


async def test_conference_beeps_when_participants_come_and_go(relaybox: Relaybox) -> None:
    """Each participant's `beep` says whether the others hear one when it joins and when it leaves: "true"
    (the default) both, "onEnter", "onExit", or false; the one coming or going does not hear its own."""
    numbers = ("+15553340001", "+15553340002", "+15553340003")
    for number in numbers:
        relaybox.set_phone(number, [{"ring": 0.2}, {"answer": True}, {"wait": 60}])

    def beeps(number: str) -> int:
        (call,) = relaybox.sandbox_calls(number)[-1:]
        return sum(1 for entry in call["transcript"] if (entry.get("heard") or {}).get("type") == "beep")

    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        a, b, c = [await client.dial([[{"type": "phone", "params": {"from_number": CALLER, "to_number": n}}]])
                   for n in numbers]
        room = await a.join_conference("huddle")  # nobody to hear it
        await b.join_conference("huddle", beep="onExit")  # no beep as it comes
        await c.join_conference("huddle", beep=False)
        assert [beeps(n) for n in numbers] == [0, 0, 0]
        with pytest.raises(RelayError) as bad:
            await a.join_conference("other", beep="sometimes")
        assert bad.value.code == 400
        await b.leave_conference(room["conference_id"])  # a and c hear it go
        relaybox.wait_until(lambda: [beeps(n) for n in numbers] == [1, 0, 1], timeout=5)
        await a.hangup()  # its call ends: c hears it go (beep "true")
        relaybox.wait_until(lambda: beeps(numbers[2]) == 2, timeout=5)
        assert beeps(numbers[1]) == 0  # b had left
        for call in (b, c):
            await call.hangup()
