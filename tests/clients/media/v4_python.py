"""Media actions on the official RELAY v4 Python client (signalwire-sdk RelayClient), unmodified.

Dials $TO, runs $SCENARIO on the answered call, prints one line per result, hangs up (see
tests/integration/test_media_v4.py). Run with .venvs/sw4/bin/python and the shims/py4 environment.
"""

import asyncio
import os
import sys

from signalwire.relay import RelayClient
from signalwire.relay.client import RelayError

FROM = os.environ.get("FROM", "+15551110000")
TO = os.environ.get("TO", "+15553330000")
PEER = os.environ.get("PEER", "+15554440000")
SCENARIO = os.environ.get("SCENARIO", "play")
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))
CLIENT = None  # the RelayClient, for scenarios that dial a second call


def out(*args):
    print(*args, flush=True)


async def scenario_play(call):
    a = await call.play([{"type": "silence", "params": {"duration": 30}}], volume=2)
    await a.pause()
    await a.resume()
    await a.volume(-3)
    await a.stop()
    ev = await a.wait(timeout=10)
    out("PLAY_STOPPED", ev.params.get("state"))
    t = await call.play_tts("hello from v4")
    ev = await t.wait(timeout=10)
    out("PLAY_TTS", ev.params.get("state"))
    r = await call.play_ringtone("fr", duration=1)
    out("PLAY_RINGTONE", (await r.wait(timeout=10)).params.get("state"))
    try:
        await call.play([{"type": "ringtone", "params": {"name": "xx"}}])
        out("PLAY_BAD", "accepted")
    except RelayError as exc:
        out("PLAY_BAD", exc.code)


async def scenario_prompt(call):
    c = await call.prompt_tts("enter pin", {"digits": {"max": 4, "terminators": "#"}, "initial_timeout": 5})
    ev = await c.wait(timeout=15)
    result = ev.params.get("result", {})
    params = result.get("params", {})
    out("PROMPT", result.get("type"), params.get("digits"), params.get("terminator"))
    s = await call.collect(speech={"end_silence_timeout": 1}, initial_timeout=5)
    ev = await s.wait(timeout=15)
    result = ev.params.get("result", {})
    out("COLLECT", result.get("type"), result.get("params", {}).get("text"))


async def scenario_collect_stream(call):
    """partial_results + continuous: the action resolves on the first result it sees (the client's rule),
    so the stream is read with call.on; stop() brings the one final event."""
    seen = []
    final = asyncio.get_running_loop().create_future()

    def on_collect(event):
        p = event.params
        result = p.get("result", {})
        value = result.get("params", {}).get("digits", result.get("params", {}).get("text"))
        seen.append((p.get("state"), p.get("final"), result.get("type"), value))
        if p.get("final") is True and p.get("state") != "collecting" and not final.done():
            final.set_result(seen[-1])

    call.on("calling.call.collect", on_collect)
    c = await call.collect(digits={"max": 3, "terminators": "#", "digit_timeout": 5},
                           speech={"end_silence_timeout": 0.5}, initial_timeout=10,
                           partial_results=True, continuous=True)
    while sum(1 for s in seen if s[0] == "collecting" and s[1] is True) < 2:
        await asyncio.sleep(0.05)
    await c.stop()
    last = await asyncio.wait_for(final, 10)
    await asyncio.sleep(0.3)
    out("COLLECT_PARTIALS", "|".join(f"{s[2]}:{s[3]}" for s in seen if s[1] is False))
    out("COLLECT_CONTINUOUS", "|".join(f"{s[2]}:{s[3]}" for s in seen if s[0] == "collecting" and s[1] is True))
    out("COLLECT_FINAL", *last, sum(1 for s in seen if s[1] is True and s[0] != "collecting"))


async def scenario_conference(call):
    """Two calls in one ad-hoc conference; the first leaves with end_on_exit, which ends it for the other."""
    events = []
    call.on("calling.conference", lambda ev: events.append(("A", ev.params.get("status"), ev.params.get("name"))))
    peer = await CLIENT.dial([[{"type": "phone", "params": {"to_number": PEER, "from_number": FROM}}]],
                             dial_timeout=30)
    peer.on("calling.conference", lambda ev: events.append(("B", ev.params.get("status"), ev.params.get("name"))))
    a = await call.join_conference("standup", beep="onEnter", end_on_exit=True)
    b = await peer.join_conference("standup", muted=True, max_participants=5)
    out("CONF_IDS", bool(a.get("conference_id")), a.get("conference_id") == b.get("conference_id"))
    try:
        await peer.join_conference("standup")
        out("CONF_TWICE accepted")
    except RelayError as exc:
        out("CONF_TWICE", exc.code)
    try:
        await call.join_conference("", muted="loud")
        out("CONF_BAD accepted")
    except RelayError as exc:
        out("CONF_BAD", exc.code)
    left = await call.leave_conference(a["conference_id"])
    out("CONF_LEFT", left.get("code"))
    for _ in range(50):
        if len(events) >= 4:
            break
        await asyncio.sleep(0.1)
    out("CONF_EVENTS", "|".join(f"{who}:{status}:{name}" for who, status, name in events))
    out("CONF_LEAVE_AGAIN", await peer.leave_conference(a["conference_id"]))  # not in it: 404, a no-op for the client
    await peer.hangup()


async def scenario_amd(call):
    d = await call.detect_answering_machine(initial_timeout=4)
    ev = await d.wait(timeout=15)
    out("AMD", ev.params.get("detect", {}).get("params", {}).get("event"))


async def scenario_digits(call):
    r = await call.send_digits("1w2#")
    out("SEND_DIGITS", r.get("code"))
    try:
        await call.send_digits("12x")
        out("SEND_DIGITS_BAD", "accepted")
    except RelayError as exc:
        out("SEND_DIGITS_BAD", exc.code)
    await asyncio.sleep(0.5)


async def scenario_connect(call):
    r = await call.connect([[{"type": "phone", "params": {"to_number": PEER, "from_number": FROM}}]],
                           ringback=[{"type": "ringtone", "params": {"name": "us"}}])
    out("CONNECT_REPLY", r.get("code"))
    ev = await call.wait_for("calling.call.connect", predicate=lambda e: e.params.get("connect_state") == "connected",
                             timeout=10)
    out("CONNECTED", ev.params.get("peer", {}).get("call_id"))
    await call.hold()
    await call.unhold()
    out("HOLD", "ok")
    r = await call.disconnect()
    out("DISCONNECT_REPLY", r.get("code"))
    await asyncio.sleep(0.3)


async def scenario_record(call):
    r = await call.record({"format": "wav", "direction": "speak", "terminators": "#"})
    ev = await r.wait(timeout=20)
    rec = ev.params.get("record", {})
    out("RECORD", ev.params.get("state"), rec.get("url"), rec.get("duration"), rec.get("size"))


async def scenario_tap(call):
    t = await call.tap({"type": "audio", "params": {"direction": "listen"}},
                       {"type": "rtp", "params": {"addr": "127.0.0.1", "port": int(os.environ["TAP_PORT"]),
                                                  "codec": "PCMU", "ptime": 20}})
    p = await call.play_tts("tapped by the v4 python client")
    await p.wait(timeout=15)
    await t.stop()
    ev = await t.wait(timeout=10)
    out("TAP", ev.params.get("state"), ev.params.get("device", {}).get("params", {}).get("port"))


async def scenario_fax(call):
    s = await call.send_fax(os.environ["DOC_URL"], identity="+15551110000", header_info="v4 fax")
    ev = await s.wait(timeout=30)
    fax = ev.params.get("fax", {}).get("params", {})
    out("SEND_FAX", ev.params.get("fax", {}).get("type"), fax.get("pages"), fax.get("success"))
    r = await call.receive_fax()
    ev = await r.wait(timeout=30)
    fax = ev.params.get("fax", {}).get("params", {})
    out("RECEIVE_FAX", ev.params.get("fax", {}).get("type"), fax.get("pages"), fax.get("document"))


async def scenario_detect(call):
    d = await call.detect_digit(digits="12")
    await asyncio.sleep(0.3)
    await d.stop()
    ev = await d.wait(timeout=10)
    out("DETECT_DIGIT", ev.params.get("detect", {}).get("params", {}).get("event"))
    f = await call.detect_fax(tone="CED")
    ev = await f.wait(timeout=10)
    out("DETECT_FAX", ev.params.get("detect", {}).get("params", {}).get("event"))


async def scenario_refer(call):
    r = await call.refer({"type": "sip", "params": {"to": os.environ["REFER_TO"]}})
    out("REFER_REPLY", r.get("code"))
    ev = await call.wait_for("calling.call.refer", predicate=lambda e: e.params.get("state") != "inProgress",
                             timeout=10)
    out("REFER", ev.params.get("state"), ev.params.get("sip_notify_response_code"))


async def scenario_controls(call):
    """record pause(skip)/resume/stop, and collect whose input timers start only when asked."""
    speed = float(os.environ.get("SPEED", "10"))
    loop = asyncio.get_running_loop()
    r = await call.record({"format": "wav", "direction": "speak", "end_silence_timeout": 0, "initial_timeout": 0})
    t0 = loop.time()
    await asyncio.sleep(0.3)
    await r.pause(behavior="skip")
    p0 = loop.time()
    await asyncio.sleep(0.3)
    await r.resume()
    paused = loop.time() - p0
    await asyncio.sleep(0.2)
    await r.stop()
    total = loop.time() - t0
    ev = await r.wait(timeout=10)
    out("RECORD_PAUSED", ev.params.get("state"), ev.params["record"]["duration"], round(total * speed, 2),
        round(paused * speed, 2))
    c = await call.collect(digits={"max": 1}, initial_timeout=1, start_input_timers=False)
    await asyncio.sleep(0.4)  # 4 platform seconds: no no_input, the timers have not started
    out("COLLECT_WAITING", c.completed)
    await c.start_input_timers()
    ev = await c.wait(timeout=10)
    out("COLLECT_TIMED_OUT", ev.params.get("result", {}).get("type"))


SCENARIOS = {name.removeprefix("scenario_"): fn for name, fn in globals().items() if name.startswith("scenario_")}


async def main():
    def timeout():
        out("SCRIPT TIMEOUT")
        os._exit(3)

    asyncio.get_running_loop().call_later(SCRIPT_TIMEOUT, timeout)
    status = 0
    async with RelayClient(
        project=os.environ.get("SW_PROJECT") or None,
        token=os.environ.get("SW_TOKEN") or None,
        host=os.environ.get("SIGNALWIRE_SPACE", "127.0.0.1:8080"),
    ) as client:
        global CLIENT
        CLIENT = client
        out("READY")
        try:
            device = ({"type": "sip", "params": {"to": TO, "from": "sip:app@relaybox.test"}} if TO.startswith("sip:")
                      else {"type": "phone", "params": {"to_number": TO, "from_number": FROM}})
            call = await client.dial([[device]], dial_timeout=30)
            out("DIAL True", call.call_id)
            await SCENARIOS[SCENARIO](call)
            await call.hangup()
            ended = await call.wait_for_ended(timeout=10)
            out("HANGUP", ended.params.get("end_reason"))
        except Exception as exc:
            out("ERROR", repr(exc))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
