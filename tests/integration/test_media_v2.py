"""Call media actions with the official v2 clients (Python signalwire 2.1.1 and Node @signalwire/node 2.6.0),
unmodified, against scripted virtual phones: every method and its async twin (the rest in test_media_v2_more.py),
checking what the client reported and what the phone heard (tests/clients/media/v2_*.{py,js}).
One server for the module."""

from __future__ import annotations

import http.server
import io
import re
import threading
import wave
from collections.abc import Iterator
from typing import Any

import pytest
from test_media_helpers import mp3_samples, shared_box

pytestmark = pytest.mark.official

CALLER, ANSWERS, PEER, NOBODY = "+15551110000", "+15553330000", "+15554440000", "+15559990000"
FLAVORS = ["v2_python", "v2_node"]
ANSWER = [{"ring": 0.5}, {"answer": True}]


def _wav(seconds: float) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buf.getvalue()


@pytest.fixture(scope="module")
def relaybox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from shared_box(tmp_path_factory)


@pytest.fixture(scope="module")
def audio_url() -> Iterator[str]:
    """A 1.5 s WAV (and, at /doc.pdf, a 3-page PDF) served over plain HTTP on localhost."""
    from relaybox.engines.faxdoc import make_pdf

    wav, pdf = _wav(1.5), make_pdf([["page one"], ["page two"], ["page three"]])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pdf if self.path.endswith(".pdf") else wav
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf" if body is pdf else "audio/wav")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/welcome.wav"
    server.shutdown()


def run(relaybox: Any, clients: Any, flavor: str, scenario: str, script: list[dict[str, Any]], **env: str) -> Any:
    relaybox.set_phone(ANSWERS, script)
    result = clients.run(flavor, f"../media/{flavor}", env={"SCENARIO": scenario, "TO": ANSWERS, **env}, timeout=60)
    assert not result.timed_out, result.describe()
    assert result.find(r"^DIAL True "), result.describe()
    assert not result.find(r"^(ERROR|SCRIPT TIMEOUT)"), result.describe()
    assert result.find(r"^HANGUP True hangup$"), result.describe()
    return result


def phone_call(relaybox: Any, number: str = ANSWERS) -> dict[str, Any]:
    calls = relaybox.sandbox_calls(number)
    assert calls, f"no sandbox call for {number}"
    return relaybox.wait_sandbox_ended(calls[-1]["id"])


def heard(call: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["heard"] for e in call["transcript"] if "heard" in e]


def line(result: Any, pattern: str) -> re.Match[str]:
    m = result.find(pattern)
    assert m, f"no line matching {pattern!r}\n" + result.describe()
    return m


@pytest.mark.parametrize("flavor", FLAVORS)
def test_play_every_media_and_the_controls(relaybox: Any, clients: Any, flavor: str, audio_url: str) -> None:
    result = run(relaybox, clients, flavor, "play", ANSWER, AUDIO_URL=audio_url)
    line(result, r"^PLAY_ASYNC \S+ True True True$")
    line(result, r"^PLAY_STOP True$")
    line(result, r"^PLAY_ASYNC_DONE True finished$")
    line(result, r"^PLAY_TTS True finished$")
    line(result, r"^PLAY_SILENCE True$")
    line(result, r"^PLAY_RINGTONE True$")
    line(result, r"^PLAY_AUDIO True$")
    line(result, r"^PLAY_BAD False$")  # unknown ringtone: a 400, the call goes on
    line(result, r"^PLAY_TTS_ASYNC True True$")
    got = heard(phone_call(relaybox))
    assert {"type": "audio", "url": audio_url} in got
    assert {"type": "tts", "text": "hello"} in got
    assert {"type": "silence", "duration": 1.0} in got
    assert {"type": "ringtone", "name": "uk", "duration": 2.0} in got
    assert {"type": "tts", "text": "a longer sentence to stop early"} in got


@pytest.mark.parametrize("flavor", FLAVORS)
def test_prompt_digits_speech_async_and_no_input(relaybox: Any, clients: Any, flavor: str) -> None:
    script = [*ANSWER, {"wait_for": "prompt"}, {"wait": 0.2}, {"press": "987#"}, {"wait_for": "prompt"},
              {"say": "hello world"}, {"wait_for": "prompt"}, {"press": "42"}]
    result = run(relaybox, clients, flavor, "prompt", script)
    line(result, r"^PROMPT True digits? 987 #$")
    line(result, r"^PROMPT2 True speech hello world 83\.2$")
    line(result, r"^PROMPT_ASYNC True True digits? 42$")
    line(result, r"^PROMPT_NO_INPUT False no_input$")
    call = phone_call(relaybox)
    assert {"type": "tts", "text": "enter pin"} in heard(call)
    assert {"type": "ringtone", "name": "us", "duration": 10.0} in heard(call)
    assert any(e.get("did") == {"press": "987#"} for e in call["transcript"])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_detect_digits_blocking_and_async(relaybox: Any, clients: Any, flavor: str) -> None:
    script = [*ANSWER, {"wait": 2}, {"press": "1"}, {"wait_for": "play"}, {"press": "3"}]
    result = run(relaybox, clients, flavor, "detect", script)
    line(result, r"^DIGITDETECT True 1$")
    line(result, r"^DIGITDETECT_ASYNC True 3")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_amd_machine_waits_for_the_beep(relaybox: Any, clients: Any, flavor: str) -> None:
    greeting = "Hi, this is Bob. Please leave a message after the tone."
    script = [*ANSWER, {"machine": {"greeting": greeting, "beep": True}}]
    result = run(relaybox, clients, flavor, "amd", script, BEEP="1")
    line(result, r"^AMD True MACHINE machine$")
    line(result, r"^AMD_ASYNC True MACHINE,NOT_READY,READY")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_amd_short_hello_is_human(relaybox: Any, clients: Any, flavor: str) -> None:
    result = run(relaybox, clients, flavor, "amd", [*ANSWER, {"say": "Hello?"}])
    line(result, r"^AMD True HUMAN machine$")
    line(result, r"^AMD_ASYNC True UNKNOWN")  # nothing more said: unknown after initial_timeout


@pytest.mark.parametrize("flavor", FLAVORS)
def test_fax_tone_detection(relaybox: Any, clients: Any, flavor: str) -> None:
    result = run(relaybox, clients, flavor, "fax_detect", [*ANSWER, {"fax": {"pages": 2}}])
    line(result, r"^FAXDETECT True CED$")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_send_digits(relaybox: Any, clients: Any, flavor: str) -> None:
    result = run(relaybox, clients, flavor, "digits", ANSWER)
    line(result, r"^SEND_DIGITS True$")
    line(result, r"^SEND_DIGITS_ASYNC True True$")
    line(result, r"^SEND_DIGITS_BAD False$")
    got = heard(phone_call(relaybox))
    assert [h["digits"] for h in got if h["type"] == "digits"] == ["1w2", "3#"]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_connect_series_disconnect_and_async(relaybox: Any, clients: Any, flavor: str) -> None:
    relaybox.set_phone(NOBODY, [{"no_answer": True}])
    relaybox.set_phone(PEER, ANSWER)
    result = run(relaybox, clients, flavor, "connect", ANSWER, PEER=PEER)
    m = line(result, r"^CONNECT True (\S+) answered$")
    # the peer is linked both ways (Py 2.1.1 links only the originating call: it builds the peer Call from a
    # state event and never sets its `peer`)
    line(result, r"^PEER_LINKED True True$" if flavor == "v2_node" else r"^PEER_LINKED True$")
    line(result, r"^DISCONNECT True$")
    line(result, r"^CONNECT_ASYNC True True \S+$")
    first_try = phone_call(relaybox, NOBODY)
    assert first_try["end_reason"] == "noAnswer", first_try
    peers = relaybox.sandbox_calls(PEER)
    assert m.group(1) in [p["call_id"] for p in peers]
    assert all(p["from"] == CALLER for p in peers)  # from defaults to the connected call's
    got = heard(phone_call(relaybox))
    assert {"type": "ringtone", "name": "us"} in got
    assert any(h["type"] == "connected" and h["to"] == PEER for h in got)


def _fetch(url: str) -> tuple[int, bytes]:
    """GET without credentials."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def _loud_fraction(data: bytes) -> tuple[float, float]:
    """(seconds, fraction of samples above a whisper) of a mono/stereo 16-bit WAV."""
    from array import array

    with wave.open(io.BytesIO(data)) as w:
        frames = w.readframes(w.getnframes())
        seconds = w.getnframes() / w.getframerate()
    samples = array("h", frames)
    return seconds, sum(1 for s in samples if abs(s) > 500) / max(1, len(samples))


@pytest.mark.parametrize("fmt", ["mp3", "wav"])
@pytest.mark.parametrize("flavor", FLAVORS)
def test_record_makes_a_real_file(relaybox: Any, clients: Any, flavor: str, fmt: str) -> None:
    script = [*ANSWER, {"wait": 1}, {"say": "Hello, this is a message for the recording test."}, {"wait": 0.5},
              {"press": "#"}, {"wait": 1}, {"say": "second message here"}]
    result = run(relaybox, clients, flavor, "record", script, FORMAT=fmt)
    m = line(result, rf"^RECORD True (http://\S+/media/recordings/[\w-]{{24,}}\.{fmt}) ([\d.]+) (\d+)$")
    url, duration, size = m.group(1), float(m.group(2)), int(m.group(3))
    status, data = _fetch(url)
    assert status == 200 and len(data) == size, (status, len(data), size)
    # the phone waited 1 s after the answer, spoke 48 characters (3.2 s), waited 0.5 s and pressed the
    # terminator: the recording lasts from its start to that key, as the phone's transcript times them
    # (an MP3 file is up to two frames, 0.15 s, longer than its audio)
    transcript = phone_call(relaybox)["transcript"]
    began = next(e["t"] for e in transcript if e.get("heard", {}).get("type") == "recording")
    pressed = next(e["t"] for e in transcript if e.get("did") == {"press": "#"})
    expected = pressed - began + (0.1 if fmt == "mp3" else 0.0)
    assert 4.0 < expected < 4.9, expected
    assert abs(duration - expected) <= 0.05 * expected, (duration, expected)
    if fmt == "wav":
        seconds, loud = _loud_fraction(data)
    else:
        assert data[:2] == b"\xff\xe3" or data[:3] == b"ID3"
        assert abs(len(data) * 8 / 32000 - duration) <= 0.05 * duration  # 32 kbit/s CBR
        seconds, samples = mp3_samples(data)
        loud = sum(1 for v in samples if abs(v) > 500) / max(1, len(samples))
    assert abs(seconds - duration) <= 0.05 * duration, (seconds, duration)
    assert loud > 0.1, loud  # the phone's speech was rendered, not silence
    m2 = line(result, r"^RECORD_ASYNC True True (\S+\.wav) ([\d.]+) (\d+)$")
    assert m2.group(1) == line(result, r"^RECORD_ASYNC_URL (\S+)$").group(1)
    status, data = _fetch(m2.group(1))
    seconds, loud = _loud_fraction(data)
    assert status == 200 and abs(seconds - float(m2.group(2))) <= 0.05 * seconds and loud > 0.05
    assert _fetch(url.rsplit("/", 1)[0] + "/" + "A" * 32 + "." + fmt)[0] == 404
    got = heard(phone_call(relaybox))
    assert {"type": "beep"} in got and {"type": "tts", "text": "thank you, goodbye"} in got


@pytest.mark.parametrize("flavor", FLAVORS)
def test_tap_sends_g711_rtp_of_the_call(relaybox: Any, clients: Any, flavor: str) -> None:
    import socket
    import struct

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    got: list[bytes] = []
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                got.append(sock.recv(2048))
            except OSError:
                continue

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    try:
        result = run(relaybox, clients, flavor, "tap", ANSWER, TAP_PORT=str(sock.getsockname()[1]))
    finally:
        stop.set()
        thread.join(2)
        sock.close()
    m = line(result, r"^TAP_SOURCE rtp (\d+)$")
    line(result, r"^TAP True True \d+$")
    assert len(got) > 20, len(got)
    headers = [struct.unpack("!BBHII", p[:12]) for p in got]
    assert all(h[0] == 0x80 and h[1] & 0x7F == 0 and len(p) == 172 for h, p in zip(headers, got, strict=True))
    # µ-law: 0xFF/0x7F are silence; the TTS played to the phone must be in the stream
    loud = sum(1 for p in got if sum(1 for b in p[12:] if b & 0x7F < 0x50) > 20)
    assert loud > 5, loud
    assert int(m.group(1)) > 0


@pytest.mark.parametrize("flavor", FLAVORS)
def test_fax_send_receive_and_stop(relaybox: Any, clients: Any, flavor: str, audio_url: str) -> None:
    from relaybox.engines.faxdoc import pdf_pages

    doc = audio_url.rsplit("/", 1)[0] + "/doc.pdf"
    result = run(relaybox, clients, flavor, "fax", [*ANSWER, {"fax": {"pages": 2}}], DOC_URL=doc)
    line(result, rf"^FAX_SEND True 3 {re.escape(doc)} send$")
    m = line(result, rf"^FAX_RECEIVE True 2 (http://\S+/media/faxes/[\w-]+\.pdf) receive {re.escape(ANSWERS)}$")
    status, data = _fetch(m.group(1))
    assert status == 200 and pdf_pages(data) == 2
    line(result, r"^FAX_PAGES 1,2,3,1,2$")  # page events: the 3 sent, then the 2 received
    line(result, r"^FAX_ASYNC_STOPPED True False$")
    assert {"type": "fax", "pages": 3} in heard(phone_call(relaybox))
