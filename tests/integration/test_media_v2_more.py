"""More call media with the official v2 clients (Python signalwire 2.1.1, Node @signalwire/node), unmodified:
the generic methods and async twins test_media_v2.py leaves out, blocking tap (it returns when the call ends),
bad input (the error the clients expect, the call and server going on), SIP REFER (Node only) against a
sandbox SIP phone, and MP3 audio decoded into a recording. One server for the module."""

from __future__ import annotations

import urllib.parse
from array import array
from collections.abc import Iterator
from typing import Any

import pytest
from test_media_helpers import (
    MediaFiles,
    RtpReceiver,
    WsReceiver,
    fetch,
    g711_decode,
    loud_fraction,
    mp3_samples,
    phone_heard,
    shared_box,
    wav_samples,
)

pytestmark = pytest.mark.official

FLAVORS = ["v2_python", "v2_node"]
ANSWER = [{"ring": 0.5}, {"answer": True}]


@pytest.fixture(scope="module")
def relaybox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from shared_box(tmp_path_factory)


@pytest.fixture(scope="module")
def files() -> Iterator[MediaFiles]:
    served = MediaFiles()
    yield served
    served.close()


def number(flavor: str, n: int) -> str:
    return f"+1555{'7' if flavor == 'v2_python' else '8'}{n:06d}"


def run(clients: Any, flavor: str, scenario: str, to: str, **env: str) -> Any:
    result = clients.run(flavor, f"../media/{flavor}", env={"SCENARIO": scenario, "TO": to, **env}, timeout=60)
    assert not result.timed_out, result.describe()
    assert result.find(r"^DIAL True "), result.describe()
    assert not result.find(r"^(ERROR|SCRIPT TIMEOUT)"), result.describe()
    return result


def line(result: Any, pattern: str) -> Any:
    m = result.find(pattern)
    assert m, f"no line matching {pattern!r}\n" + result.describe()
    return m


@pytest.mark.parametrize("flavor", FLAVORS)
def test_generic_methods_and_async_twins(relaybox: Any, clients: Any, flavor: str, files: MediaFiles) -> None:
    to = number(flavor, 1)
    relaybox.set_phone(to, [
        *ANSWER,
        {"wait_for": "prompt"}, {"wait": 0.3}, {"press": "12"},
        {"wait_for": "prompt"}, {"wait": 0.3}, {"press": "3"},
        {"wait_for": "prompt"}, {"wait": 0.3}, {"press": "4"},
        {"wait_for": "prompt"}, {"wait": 0.3}, {"say": "yes"},
        {"wait_for": "play"}, {"wait": 1}, {"press": "9"},
        {"wait_for": "play"}, {"wait": 1}, {"press": "8"},
        {"wait_for": "play"}, {"fax": {"pages": 1}},
    ])
    doc = files.url("/doc.pdf")
    result = run(clients, flavor, "twins", to, AUDIO_URL=files.url("/tone.wav"), DOC_URL=doc)
    line(result, r"^PLAY_LIST True$")
    line(result, r"^PLAY_AUDIO_ASYNC True True$")
    line(result, r"^PLAY_SILENCE_ASYNC True True$")
    line(result, r"^PLAY_RINGTONE_ASYNC True True$")
    line(result, r"^PROMPT_GENERIC True 12$")
    line(result, r"^PROMPT_GENERIC_ASYNC True 3$")
    line(result, r"^PROMPT_AUDIO_ASYNC True 4$")
    line(result, r"^PROMPT_TTS_ASYNC True speech yes$")
    line(result, r"^DETECT_GENERIC True 9$")
    line(result, r"^DETECT_GENERIC_ASYNC True 8$")
    line(result, r"^DETECT_FAX_ASYNC True CED$")
    line(result, r"^FAX_SEND_ASYNC True True 3$")
    line(result, r"^PROMPT_CONTROLS True True True False$")  # volume and stop work; a stopped prompt got no input
    line(result, r"^HANGUP True hangup$")
    _, heard = phone_heard(relaybox, to)
    for entry in ({"type": "tts", "text": "one"}, {"type": "silence", "duration": 0.5},
                  {"type": "audio", "url": files.url("/tone.wav")}, {"type": "ringtone", "name": "de", "duration": 1},
                  {"type": "tts", "text": "pin please"}, {"type": "tts", "text": "say something"},
                  {"type": "fax", "pages": 3}):
        assert entry in heard, (entry, heard)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_blocking_tap_returns_when_the_call_ends(relaybox: Any, clients: Any, flavor: str) -> None:
    to = number(flavor, 2)
    relaybox.set_phone(to, [*ANSWER, {"wait": 0.5}, {"say": "the phone talks into the tap"}, {"wait": 0.5},
                            {"hangup": True}])
    rtp = RtpReceiver()
    try:
        result = run(clients, flavor, "tap_block", to, TAP_PORT=str(rtp.port))
    finally:
        rtp.close()
    # the tap's final event precedes the call's ending, so the call may still read `answered` here
    line(result, r"^TAP_BLOCK True rtp 40 (answered|ending|ended)$")
    assert len(rtp.packets) > 20
    assert all(h[1] & 0x7F == 8 and len(p) == 12 + 320 for h, p in zip(rtp.headers(), rtp.packets, strict=True))
    assert loud_fraction(rtp.pcm("PCMA")) > 0.1  # what the phone said (direction speak), decoded
    call, _ = phone_heard(relaybox, to)
    assert call["end_reason"] == "hangup"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_websocket_tap_gets_g711_frames(relaybox: Any, clients: Any, flavor: str) -> None:
    to = number(flavor, 5)
    relaybox.set_phone(to, ANSWER)
    ws = WsReceiver()
    try:
        result = run(clients, flavor, "tap_ws", to, TAP_URI=ws.uri)
    finally:
        ws.close()
    line(result, r"^TAP_WS True True ws$")
    assert len(ws.frames) > 20 and all(len(f) == 160 for f in ws.frames)  # 20 ms of 8 kHz µ-law each
    pcm = g711_decode(b"".join(ws.frames), "PCMU")
    assert loud_fraction(pcm) > 0.05  # the TTS played to the phone


BAD = ("BAD_TYPE", "BAD_URL", "MISSING_URL", "JUNK_AUDIO", "BAD_RINGTONE", "BAD_VOLUME", "BAD_PROMPT_TIMEOUT",
       "BAD_RECORD_TIMEOUT", "BAD_DIGITS", "BAD_TONE", "BAD_TAP", "AFTER_END_PLAY", "AFTER_END_DIGITS")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_bad_input_fails_the_action_and_the_call_goes_on(
    relaybox: Any, clients: Any, flavor: str, files: MediaFiles
) -> None:
    to = number(flavor, 3)
    relaybox.set_phone(to, ANSWER)
    result = run(clients, flavor, "bad", to, AUDIO_URL=files.url("/tone.wav"))
    for label in BAD:
        line(result, rf"^{label} False$")  # successful false, never an exception or a hang
    line(result, r"^STILL_PLAYS True$")
    line(result, r"^HANGUP True hangup$")
    call, heard = phone_heard(relaybox, to)
    assert call["end_reason"] == "hangup"
    # neither malformed media nor files that cannot be fetched or decoded reached the phone
    assert {"type": "tts", "text": "still here"} in heard
    assert not any(h.get("text") in ("too loud", "too late") or h.get("name") == "zz" for h in heard)
    assert not any(h["type"] == "audio" for h in heard)
    assert relaybox.api("GET", "/api/health")[0] == 200


def test_refer_with_node(relaybox: Any, clients: Any) -> None:
    """A SIP call to an unregistered URI reaches a sandbox SIP phone; REFER makes it call the target."""
    phone, target, busy = "sip:transferee@sandbox.test", "sip:alice@elsewhere.test", "sip:busy@elsewhere.test"
    relaybox.set_phone(phone, ANSWER)
    relaybox.set_phone(busy, [{"ring": 0.5}, {"reject": "busy"}])
    result = run(clients, "v2_node", "refer", phone, REFER_TO=target, REFER_BUSY=busy)
    line(result, rf"^REFER True {target} 202 200$")
    line(result, r"^REFER_ASYNC True False 486$")
    line(result, r"^HANGUP True hangup$")
    mine = [c for c in relaybox.sandbox_calls(phone) if c["to"] == phone]  # its own call, not those it placed
    assert len(mine) == 1
    call = relaybox.wait_sandbox_ended(mine[0]["id"])
    heard = [e["heard"] for e in call["transcript"] if "heard" in e]
    assert {"type": "refer", "to": target} in heard and {"type": "refer", "to": busy} in heard
    calls = relaybox.sandbox_calls(target)
    assert len(calls) == 1 and calls[0]["from"] == phone and calls[0]["to"] == target
    assert calls[0]["headers"] == [{"name": "X-Transfer", "value": "yes"}]
    assert relaybox.sandbox_calls(busy)[0]["end_reason"] == "busy"
    assert urllib.parse.quote(target, safe="")  # the sandbox paths take URL-encoded sip: URIs


@pytest.mark.parametrize("flavor", FLAVORS)
def test_mp3_audio_is_decoded_into_the_recording(relaybox: Any, clients: Any, flavor: str, files: MediaFiles) -> None:
    """record(direction=listen) while an MP3 plays: the file carries the tone, as long as the MP3 played."""
    to = number(flavor, 4)
    relaybox.set_phone(to, ANSWER)
    result = run(clients, flavor, "record_listen", to, AUDIO_URL=files.url("/tone.mp3"))
    m = line(result, r"^RECORD_LISTEN True (http://\S+\.(wav|mp3)) ([\d.]+) (\d+)$")
    status, data = fetch(m.group(1))
    assert status == 200 and len(data) == int(m.group(4))
    seconds, samples = wav_samples(data) if m.group(2) == "wav" else mp3_samples(data)
    assert abs(seconds - float(m.group(3))) <= 0.05 * seconds
    # the tone is in the file for as long as the 2 s MP3 played, then the 1 s end-silence timeout
    loud = [i for i, s in enumerate(samples) if abs(s) > 2000]
    assert loud, "the recording is silent"
    span = (loud[-1] - loud[0]) / 8000
    assert abs(span - 2.0) <= 0.05 * 2.0, span
    assert 2.9 < seconds < 3.5, seconds


@pytest.mark.parametrize("flavor", FLAVORS)
def test_stereo_recording_keeps_each_side_on_its_channel(relaybox: Any, clients: Any, flavor: str) -> None:
    """stereo + both: the phone (speak) on the left, what the platform played (listen) on the right."""
    import io
    import wave

    to = number(flavor, 6)
    relaybox.set_phone(to, [*ANSWER, {"wait_for": "play"}, {"wait": 2.5}, {"say": "and now the phone is talking"}])
    result = run(clients, flavor, "record_stereo", to)
    m = line(result, r"^RECORD_STEREO True (http://\S+\.wav) ([\d.]+)$")
    status, data = fetch(m.group(1))
    assert status == 200
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 2
        frames = array("h", w.readframes(w.getnframes()))
    left, right = frames[0::2], frames[1::2]
    seconds = len(left) / 8000
    # TTS from 0 to ~1.9 s; the phone from 2.5 s for 1.9 s; then 1 s of silence ends the recording
    assert abs(seconds - float(m.group(2))) <= 0.05 * seconds and 4.8 < seconds < 6.5, seconds

    def window(track: array[int], a: float, b: float) -> array[int]:
        return track[int(a * 8000):int(b * 8000)]

    # where the TTS and the phone's words are, from the phone's transcript (relative to the record's start)
    transcript = phone_heard(relaybox, to)[0]["transcript"]
    began = next(e["t"] for e in transcript if e.get("heard", {}).get("type") == "recording")
    tts = next(e["t"] for e in transcript if e.get("heard", {}).get("type") == "tts") - began
    said = next(e["t"] for e in transcript if "say" in e.get("did", {})) - began
    assert loud_fraction(window(right, tts + 0.2, tts + 1.4)) > 0.1
    assert loud_fraction(window(left, tts + 0.2, tts + 1.4)) == 0
    assert loud_fraction(window(left, said + 0.2, said + 1.4)) > 0.1
    assert loud_fraction(window(right, said + 0.2, said + 1.4)) == 0


@pytest.mark.parametrize("flavor", FLAVORS)
def test_connect_fails_when_nobody_answers(relaybox: Any, clients: Any, flavor: str) -> None:
    """Two devices rung in parallel, one never answers (its 1 s timeout), one is busy: the connect fails."""
    to, nobody, busy = number(flavor, 7), number(flavor, 8), number(flavor, 9)
    relaybox.set_phone(to, ANSWER)
    relaybox.set_phone(nobody, [{"no_answer": True}])
    relaybox.set_phone(busy, [{"ring": 0.3}, {"reject": "busy"}])
    result = run(clients, flavor, "connect_fail", to, NOBODY=nobody, BUSY=busy)
    line(result, r"^CONNECT_FAIL False None$")
    line(result, r"^STILL_UP True$")
    line(result, r"^HANGUP True hangup$")
    assert phone_heard(relaybox, nobody)[0]["end_reason"] == "noAnswer"
    assert phone_heard(relaybox, busy)[0]["end_reason"] == "busy"
    _, heard = phone_heard(relaybox, to)
    assert {"type": "ringback"} in heard and {"type": "tts", "text": "nobody answered"} in heard


@pytest.mark.parametrize("flavor", FLAVORS)
def test_amd_words_threshold_from_the_client(relaybox: Any, clients: Any, flavor: str) -> None:
    """Three short words are a HUMAN by the defaults (6 words, 1.25 s) and a MACHINE with a 2-word threshold."""
    to = number(flavor, 10)
    relaybox.set_phone(to, [*ANSWER, {"wait": 1}, {"say": "hello there friend"},
                            {"wait_for": "play"}, {"wait": 0.5}, {"say": "hello there friend"}])
    result = run(clients, flavor, "amd_thresholds", to)
    line(result, r"^AMD_DEFAULT True HUMAN$")
    line(result, r"^AMD_WORDS_2 True MACHINE$")
