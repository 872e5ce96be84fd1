"""Media actions on the official RELAY v2 Python client (signalwire==2.1.1), unmodified.

Dials $TO from $FROM, runs the scenario named by $SCENARIO on the answered call, prints one line per
result (see tests/integration/test_media_v2.py for what is expected) and hangs up.
Run with .venvs/sw2/bin/python and the shims/py2 environment (tests/clients/README.md).
"""

import asyncio
import os
import sys

from signalwire.relay.client import Client

FROM = os.environ.get("FROM", "+15551110000")
TO = os.environ.get("TO", "+15553330000")
PEER = os.environ.get("PEER", "+15554440000")
AUDIO = os.environ.get("AUDIO_URL", "https://example.invalid/a.mp3")
SCENARIO = os.environ.get("SCENARIO", "play")
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


async def scenario_play(call):
    a = await call.play_async([{"type": "audio", "url": AUDIO}, {"type": "silence", "duration": 1}], volume=2)
    pause, resume, vol = await a.pause(), await a.resume(), await a.volume(-3)
    out("PLAY_ASYNC", a.control_id, pause.successful, resume.successful, vol.successful)
    out("PLAY_STOP", (await a.stop()).successful)
    for _ in range(50):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    out("PLAY_ASYNC_DONE", a.completed, a.state)
    p = await call.play_tts(text="hello", gender="female")
    out("PLAY_TTS", p.successful, p.event.name)
    out("PLAY_SILENCE", (await call.play_silence(1)).successful)
    out("PLAY_RINGTONE", (await call.play_ringtone(name="uk", duration=2)).successful)
    out("PLAY_AUDIO", (await call.play_audio(AUDIO)).successful)
    out("PLAY_BAD", (await call.play_ringtone(name="xx")).successful)
    t = await call.play_tts_async(text="a longer sentence to stop early")
    await asyncio.sleep(0.05)
    await t.stop()
    for _ in range(50):
        if t.completed:
            break
        await asyncio.sleep(0.05)
    out("PLAY_TTS_ASYNC", t.completed, t.result.successful)


async def scenario_prompt(call):
    pr = await call.prompt_tts(prompt_type="digits", text="enter pin", digits_max=4, digits_terminators="#",
                               digits_timeout=5)
    out("PROMPT", pr.successful, pr.prompt_type, pr.result, pr.terminator)
    pr2 = await call.prompt_audio(prompt_type="speech", url=AUDIO, speech_language="en-US", end_silence_timeout=1)
    out("PROMPT2", pr2.successful, pr2.prompt_type, pr2.result, pr2.confidence)
    a = await call.prompt_ringtone_async(prompt_type="both", name="us", duration=10, digits_max=2)
    for _ in range(100):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    out("PROMPT_ASYNC", a.completed, a.result.successful, a.result.prompt_type, a.result.result)
    pr3 = await call.prompt_tts(prompt_type="digits", text="anything?", digits_max=1, initial_timeout=1)
    out("PROMPT_NO_INPUT", pr3.successful, pr3.event.name if pr3.event else None)


async def scenario_detect(call):
    d = await call.detect_digit(digits="123")
    out("DIGITDETECT", d.successful, d.result)
    a = await call.detect_digit_async(digits="123")
    await call.play_tts(text="go")
    await asyncio.sleep(0.3)
    await a.stop()
    for _ in range(50):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    out("DIGITDETECT_ASYNC", a.completed, a.result.result)


async def scenario_amd(call):
    d = await call.detect_answering_machine(wait_for_beep=os.environ.get("BEEP") == "1", initial_timeout=4)
    out("AMD", d.successful, d.result, d.detect_type)
    a = await call.amd_async() if hasattr(call, "amd_async") else await call.detect_answering_machine_async()
    for _ in range(100):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    out("AMD_ASYNC", a.completed, a.result.result)


async def scenario_fax_detect(call):
    d = await call.detect_fax(tone="CED")
    out("FAXDETECT", d.successful, d.result)


async def scenario_digits(call):
    out("SEND_DIGITS", (await call.send_digits("1w2")).successful)
    a = await call.send_digits_async("3#")
    for _ in range(50):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    out("SEND_DIGITS_ASYNC", a.completed, a.result.successful)
    out("SEND_DIGITS_BAD", (await call.send_digits("12x")).successful)


async def scenario_connect(call):
    c = await call.connect([{"to_number": "+15559990000", "timeout": 1}, [{"to_number": PEER}]],
                           ringback_list=[{"type": "ringtone", "name": "us"}])
    out("CONNECT", c.successful, c.call.id if c.call else None, c.call.state if c.call else None)
    out("PEER_LINKED", call.peer is not None and c.call is not None and call.peer.id == c.call.id)
    out("DISCONNECT", (await call.disconnect()).successful)
    a = await call.connect_async([{"to_number": PEER}])
    for _ in range(100):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    out("CONNECT_ASYNC", a.completed, a.result.successful, a.result.call.id if a.result.call else None)


async def scenario_record(call):
    rec = await call.record(beep=True, record_format=os.environ.get("FORMAT", "mp3"), direction="both",
                            terminators="#", end_silence_timeout=1)
    out("RECORD", rec.successful, rec.url, rec.duration, rec.size)
    a = await call.record_async(direction="speak", record_format="wav")
    out("RECORD_ASYNC_URL", a.url)
    await call.play_tts(text="thank you, goodbye")
    await asyncio.sleep(0.3)
    await a.stop()
    for _ in range(50):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    out("RECORD_ASYNC", a.completed, a.result.successful, a.result.url, a.result.duration, a.result.size)


async def scenario_tap(call):
    a = await call.tap_async(audio_direction="listen", target_type="rtp", target_addr="127.0.0.1",
                             target_port=int(os.environ["TAP_PORT"]), codec="PCMU")
    out("TAP_SOURCE", a.source_device["type"], a.source_device["params"]["port"])
    await call.play_tts(text="this audio goes to the tap")
    await a.stop()
    for _ in range(50):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    r = a.result
    out("TAP", a.completed, r.successful, r.destination_device["params"]["port"])


async def scenario_fax(call):
    pages = []
    call.on("fax.page", lambda params: pages.append(params["fax"]["params"]["number"]))
    f = await call.fax_send(url=os.environ["DOC_URL"], identity="+15551110000", header="hi")
    out("FAX_SEND", f.successful, f.pages, f.document, f.direction)
    r = await call.fax_receive()
    out("FAX_RECEIVE", r.successful, r.pages, r.document, r.direction, r.remote_identity)
    out("FAX_PAGES", ",".join(map(str, pages)))
    a = await call.fax_receive_async()
    await asyncio.sleep(0.2)
    await a.stop()
    for _ in range(50):
        if a.completed:
            break
        await asyncio.sleep(0.05)
    out("FAX_ASYNC_STOPPED", a.completed, a.result.successful)


async def wait_done(action, tries=100):
    for _ in range(tries):
        if action.completed:
            return
        await asyncio.sleep(0.05)


async def scenario_twins(call):
    """The generic methods and the async twins the other scenarios do not use."""
    p = await call.play([{"type": "tts", "text": "one"}, {"type": "silence", "duration": 0.5}], volume=-6)
    out("PLAY_LIST", p.successful)
    a = await call.play_audio_async(AUDIO, volume=3)
    await wait_done(a)
    out("PLAY_AUDIO_ASYNC", a.completed, a.result.successful)
    a = await call.play_silence_async(0.5)
    await wait_done(a)
    out("PLAY_SILENCE_ASYNC", a.completed, a.result.successful)
    a = await call.play_ringtone_async(name="de", duration=1)
    await wait_done(a)
    out("PLAY_RINGTONE_ASYNC", a.completed, a.result.successful)
    pr = await call.prompt("digits", [{"type": "tts", "text": "pin please"}], digits_max=2)
    out("PROMPT_GENERIC", pr.successful, pr.result)
    a = await call.prompt_async("digits", [{"type": "silence", "duration": 5}], digits_max=1)
    await wait_done(a)
    out("PROMPT_GENERIC_ASYNC", a.completed, a.result.result)
    a = await call.prompt_audio_async("digits", AUDIO, digits_max=1)
    await wait_done(a)
    out("PROMPT_AUDIO_ASYNC", a.completed, a.result.result)
    a = await call.prompt_tts_async("speech", "say something", end_silence_timeout=0.5)
    await wait_done(a)
    out("PROMPT_TTS_ASYNC", a.completed, a.result.prompt_type, a.result.result)
    await call.play_tts_async(text="go")
    d = await call.detect("digit", digits="9")
    out("DETECT_GENERIC", d.successful, d.result)
    await call.play_tts_async(text="go")
    a = await call.detect_async("digit", digits="8", timeout=2)
    await wait_done(a)
    out("DETECT_GENERIC_ASYNC", a.completed, a.result.result)
    await call.play_tts_async(text="go")
    a = await call.detect_fax_async(tone="CED")
    await wait_done(a)
    out("DETECT_FAX_ASYNC", a.completed, a.result.result)
    f = await call.fax_send_async(os.environ["DOC_URL"], header="twins")
    await wait_done(f, 300)
    out("FAX_SEND_ASYNC", f.completed, f.result.successful, f.result.pages)
    a = await call.prompt_tts_async("digits", "a long prompt that will be stopped before anyone answers it",
                                    digits_max=3)
    vol, stop = await a.volume(5), await a.stop()
    await wait_done(a)
    out("PROMPT_CONTROLS", vol.successful, stop.successful, a.completed, a.result.successful)


async def scenario_connect_fail(call):
    c = await call.connect([[{"to_number": os.environ["NOBODY"], "timeout": 1},
                             {"to_number": os.environ["BUSY"]}]])
    out("CONNECT_FAIL", c.successful, c.call)
    out("STILL_UP", (await call.play_tts(text="nobody answered")).successful)


async def scenario_amd_thresholds(call):
    d = await call.detect_answering_machine(initial_timeout=5)
    out("AMD_DEFAULT", d.successful, d.result)
    await call.play_tts_async(text="again")
    d = await call.detect_answering_machine(initial_timeout=5, machine_words_threshold=2)
    out("AMD_WORDS_2", d.successful, d.result)


async def scenario_record_listen(call):
    a = await call.record_async(direction="listen", record_format="wav", end_silence_timeout=1)
    p = await call.play_audio(AUDIO)
    await wait_done(a, 200)
    out("RECORD_LISTEN", p.successful and a.result.successful, a.result.url, a.result.duration, a.result.size)


async def scenario_record_stereo(call):
    a = await call.record_async(stereo=True, direction="both", record_format="wav", end_silence_timeout=1)
    await call.play_tts(text="this is the platform talking")
    await wait_done(a, 200)
    out("RECORD_STEREO", a.result.successful, a.result.url, a.result.duration)


async def scenario_tap_ws(call):
    a = await call.tap_async(audio_direction="listen", target_type="ws", target_uri=os.environ["TAP_URI"],
                             codec="PCMU", rate=8000)
    await call.play_tts(text="this audio goes to the websocket tap")
    await a.stop()
    await wait_done(a)
    out("TAP_WS", a.completed, a.result.successful, a.source_device["type"])


async def scenario_tap_block(call):
    t = await call.tap(audio_direction="speak", target_type="rtp", target_addr="127.0.0.1",
                       target_port=int(os.environ["TAP_PORT"]), target_ptime=40, codec="PCMA")
    out("TAP_BLOCK", t.successful, t.source_device["type"], t.destination_device["params"]["ptime"], call.state)


async def attempt(label, coro):
    try:
        result = await coro
        if hasattr(result, "successful"):
            out(label, result.successful)
        else:  # an Action: its result
            out(label, result.completed and result.result.successful)
    except Exception as exc:
        out(label, "raised", type(exc).__name__)


async def scenario_bad(call):
    await attempt("BAD_TYPE", call.play([{"type": "video", "url": AUDIO}]))
    await attempt("BAD_URL", call.play_audio("ftp://example.com/a.mp3"))
    await attempt("MISSING_URL", call.play_audio(AUDIO.rsplit("/", 1)[0] + "/missing.mp3"))
    await attempt("JUNK_AUDIO", call.play_audio(AUDIO.rsplit("/", 1)[0] + "/junk.mp3"))
    await attempt("BAD_RINGTONE", call.play_ringtone(name="zz"))
    await attempt("BAD_VOLUME", call.play_tts(text="too loud", volume=41))
    await attempt("BAD_PROMPT_TIMEOUT", call.prompt_tts("digits", "x", digits_max=1, initial_timeout=-1))
    await attempt("BAD_RECORD_TIMEOUT", call.record(end_silence_timeout=99999))
    await attempt("BAD_DIGITS", call.send_digits("1!2"))
    await attempt("BAD_TONE", call.detect_fax(tone="XYZ"))
    await attempt("BAD_TAP", call.tap_async(audio_direction="listen", target_type="rtp", target_addr="127.0.0.1",
                                            target_port=70000))
    await attempt("STILL_PLAYS", call.play_tts(text="still here"))
    h = await call.hangup()
    out("HANGUP", h.successful, h.reason)
    await attempt("AFTER_END_PLAY", call.play_tts(text="too late"))
    await attempt("AFTER_END_DIGITS", call.send_digits("1"))


SCENARIOS = {name.removeprefix("scenario_"): fn for name, fn in globals().items() if name.startswith("scenario_")}

kwargs = {}
if os.environ.get("RELAY_HOST"):
    kwargs["host"] = os.environ["RELAY_HOST"]
client = Client(
    project=os.environ.get("SW_PROJECT", "test-project"), token=os.environ.get("SW_TOKEN", "test-token"), **kwargs
)
started = False
status = 0


def _timeout():
    out("SCRIPT TIMEOUT")
    os._exit(3)


async def ready(client):
    global started, status
    if started:
        out("ERROR reconnected")
        return
    started = True
    out("READY")
    try:
        result = await client.calling.dial(from_number=FROM, to_number=TO)
        out("DIAL", result.successful, result.call.id)
        if result.successful:
            await SCENARIOS[SCENARIO](result.call)
            if result.call.state not in ("ending", "ended"):
                h = await result.call.hangup()
                out("HANGUP", h.successful, h.reason)
    except Exception as exc:
        out("ERROR", repr(exc))
        status = 1
    await client.disconnect()


client.on("ready", ready)
client.loop.call_later(SCRIPT_TIMEOUT, _timeout)
try:
    client.connect()
except RuntimeError as exc:
    if "Event loop stopped" not in str(exc):
        raise
sys.exit(status)
