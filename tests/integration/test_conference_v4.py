"""join_conference's room options with relaybox's v4 SDK against a relaybox server and sandbox phones:
start_on_enter and wait_url (who waits on hold music, when the room starts), coach, the parameters refused,
and the cXML-style status callbacks received by a local HTTP server."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from conftest import Relaybox

from relaybox.relay import RelayClient
from relaybox.relay.v4 import Call, RelayError

CALLER = "+15551110000"


class Receiver:
    """A local HTTP server noting each callback request: (method, path, parameters)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        form = {} if request.method == "GET" else {k: str(v) for k, v in (await request.post()).items()}
        params = dict(request.query) if request.method == "GET" else form
        self.requests.append((request.method, request.path, params))
        return web.Response(text="<Response/>")

    def events(self, path: str) -> list[dict[str, str]]:
        return sorted((p for _m, pa, p in self.requests if pa == path), key=lambda p: int(p["SequenceNumber"]))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.url = f"http://127.0.0.1:{port}"
    try:
        yield rec
    finally:
        await runner.cleanup()


async def until(cond: Callable[[], Any], timeout: float = 10.0) -> None:
    """Poll COND without blocking the loop (the receiver runs on it)."""
    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def heard(relaybox: Relaybox, number: str, kind: str) -> list[dict[str, Any]]:
    (call,) = relaybox.sandbox_calls(number)[-1:]
    return [e["heard"] for e in call["transcript"] if (e.get("heard") or {}).get("type") == kind]


async def dial(client: RelayClient, relaybox: Relaybox, number: str) -> Call:
    relaybox.set_phone(number, [{"ring": 0.2}, {"answer": True}, {"wait": 60}])
    return await client.dial([[{"type": "phone", "params": {"from_number": CALLER, "to_number": number}}]])


async def test_waiting_room_hold_music_then_start_coach_and_status_callbacks(
        relaybox: Relaybox, receiver: Receiver) -> None:
    """Two participants with start_on_enter=false wait on hold music (the first on its wait_url, the other the
    default) and the room does not start; a third (start_on_enter by default) coaching the first starts it:
    the hold music stops. The status callback (the first participant's, events join leave start end) gets
    each event once, in order, with cXML's parameters."""
    numbers = ("+15553350001", "+15553350002", "+15553350003")
    wait_url = receiver.url + "/wait.wav"
    status = receiver.url + "/status"
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        a, b, c = [await dial(client, relaybox, n) for n in numbers]
        room = await a.join_conference("lobby", start_on_enter=False, wait_url=wait_url, status_callback=status,
                                       status_callback_event="join leave start end")
        await b.join_conference("lobby", start_on_enter=False, status_callback=receiver.url + "/ignored")
        await until(lambda: heard(relaybox, numbers[1], "hold_music"))
        assert heard(relaybox, numbers[0], "hold_music") == [{"type": "hold_music", "url": wait_url}]
        assert heard(relaybox, numbers[1], "hold_music") == [{"type": "hold_music", "url": None}]  # the default music
        await until(lambda: len(receiver.events("/status")) == 2)
        await asyncio.sleep(0.3)
        assert [e["StatusCallbackEvent"] for e in receiver.events("/status")] == ["participant-join"] * 2

        with pytest.raises(RelayError) as unknown:  # a 400: the SDKs' call methods take a 404 for a gone call
            await c.join_conference("lobby", coach="no-such-call")
        assert unknown.value.code == 400 and "coach" in str(unknown.value)
        third = await c.join_conference("lobby", coach=a.call_id, muted=True)
        assert third["conference_id"] == room["conference_id"]
        await until(lambda: heard(relaybox, numbers[1], "hold_music_stop"))
        assert len(heard(relaybox, numbers[0], "hold_music_stop")) == 1
        assert heard(relaybox, numbers[2], "hold_music") == []  # it started the room: never waited

        await c.leave_conference(room["conference_id"])
        await b.hangup()
        await a.leave_conference(room["conference_id"])
        await until(lambda: len(receiver.events("/status")) == 8)
        for call in (a, c):
            await call.hangup()

    events = receiver.events("/status")
    assert [(e["StatusCallbackEvent"], e.get("CallSid")) for e in events] == [
        ("participant-join", a.call_id), ("participant-join", b.call_id), ("participant-join", c.call_id),
        ("conference-start", None), ("participant-leave", c.call_id), ("participant-leave", b.call_id),
        ("participant-leave", a.call_id), ("conference-end", None)]
    assert [e["SequenceNumber"] for e in events] == [str(i) for i in range(1, 9)]
    assert all(e["ConferenceSid"] == room["conference_id"] and e["FriendlyName"] == "lobby"
               and e["AccountSid"] == relaybox.project for e in events)
    assert all(email.utils.parsedate_to_datetime(e["Timestamp"]).tzinfo is not None for e in events)
    joined_c = events[2]
    assert (joined_c["Coaching"], joined_c["CallSidToCoach"], joined_c["Muted"], joined_c["Hold"]) == \
        ("true", a.call_id, "true", "false")
    assert (joined_c["StartConferenceOnEnter"], joined_c["EndConferenceOnExit"]) == ("true", "false")
    assert (events[0]["StartConferenceOnEnter"], events[0]["Coaching"]) == ("false", "false")
    assert "CallSidToCoach" not in events[0]
    assert {m for m, _p, _q in receiver.requests} == {"POST"}
    assert not [r for r in receiver.requests if r[1] == "/ignored"]  # the room's callback is the first one given


async def test_default_events_get_a_lone_participant_waits_and_bad_parameters(
        relaybox: Relaybox, receiver: Receiver) -> None:
    """Without status_callback_event only conference-start and -end are sent (GET: in the query); a lone
    participant waits on hold music even with start_on_enter (a room starts with two); wrong types and
    values are refused with 400, stream with 501."""
    numbers = ("+15553360001", "+15553360002")
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        a, b = [await dial(client, relaybox, n) for n in numbers]
        bad: list[dict[str, Any]] = [
            {"start_on_enter": "yes"}, {"wait_url": "ftp://x/y.wav"}, {"status_callback_event": "start begin"},
            {"status_callback": status_url(receiver), "status_callback_method": "PUT"}, {"coach": 12},
            {"status_callback": "not a url"}]
        for params in bad:
            with pytest.raises(RelayError) as refused:
                await a.join_conference("room2", **params)
            assert refused.value.code == 400, params
        with pytest.raises(RelayError) as stream:
            await a.join_conference("room2", stream_obj={"url": "wss://example.invalid"})
        assert stream.value.code == 501
        room = await a.join_conference("room2", status_callback=status_url(receiver), status_callback_method="GET",
                                       region="us-east")
        await until(lambda: heard(relaybox, numbers[0], "hold_music"))
        await b.join_conference("room2", start_on_enter=False)
        await until(lambda: heard(relaybox, numbers[0], "hold_music_stop"))
        assert heard(relaybox, numbers[1], "hold_music") == []  # the room had started when it came
        await a.hangup()
        await b.hangup()
        await until(lambda: len(receiver.events("/status")) == 2)
        await asyncio.sleep(0.3)
    assert [(m, e["StatusCallbackEvent"]) for m, _p, e in receiver.requests] == [
        ("GET", "conference-start"), ("GET", "conference-end")]
    assert receiver.requests[0][2]["ConferenceSid"] == room["conference_id"]


def status_url(receiver: Receiver) -> str:
    return receiver.url + "/status"


async def test_record_from_start_of_sandbox_phones_and_the_recording_callbacks(
        relaybox: Relaybox, receiver: Receiver) -> None:
    """record-from-start with do-not-trim: sandbox phones are not mixed, so the room's recording is its silence,
    from its start to its end, a WAV served by relaybox, reported in-progress then completed; with trim-silence
    (the default) nothing is left: absent, no file."""
    import aiohttp

    numbers = ("+15553370001", "+15553370002", "+15553370003", "+15553370004")
    async with RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url) as client:
        a, b, c, d = [await dial(client, relaybox, n) for n in numbers]
        with pytest.raises(RelayError) as bad:
            await a.join_conference("rec", record="always")
        assert bad.value.code == 400
        room = await a.join_conference("rec", record="record-from-start", trim="do-not-trim",
                                       recording_status_callback=receiver.url + "/rec",
                                       recording_status_callback_event="in-progress completed absent")
        await asyncio.sleep(0.2)
        assert receiver.requests == []  # not started: not recording
        await b.join_conference("rec")
        await until(lambda: len(receiver.requests) == 1)
        await asyncio.sleep(0.5)
        await a.hangup()
        await b.hangup()
        await until(lambda: len(receiver.requests) == 2)
        await c.join_conference("quiet", record="record-from-start", recording_status_callback=receiver.url + "/q",
                                recording_status_callback_event="completed absent")
        await d.join_conference("quiet")
        await asyncio.sleep(0.3)
        await c.hangup()
        await d.hangup()
        await until(lambda: len(receiver.requests) == 3)
        (_m, _p, started), (_m2, _p2, done), (_m3, _p3, quiet) = receiver.requests
        assert started["RecordingStatus"] == "in-progress" and started["ConferenceSid"] == room["conference_id"]
        assert done["RecordingStatus"] == "completed" and done["RecordingSid"] == started["RecordingSid"]
        assert done["AccountSid"] == relaybox.project and done["RecordingUrl"] == started["RecordingUrl"]
        async with aiohttp.ClientSession() as session, session.get(done["RecordingUrl"]) as resp:
            assert resp.status == 200
            wav = await resp.read()
        samples = len(wav) - 44
        assert wav[:4] == b"RIFF" and not any(wav[44:])  # nothing was mixed: silence
        assert int(done["RecordingDuration"]) == round(samples / 16000) >= 1  # the room's length (platform x10)
        assert (quiet["RecordingStatus"], quiet.get("RecordingUrl")) == ("absent", None)
