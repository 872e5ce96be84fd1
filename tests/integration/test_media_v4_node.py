"""Call media actions with the official v4 Node client (@signalwire/realtime-api), unmodified: play (every
media, controls, an unknown ringtone), promptTTS and collect (also partial and continuous results, start of
input), amd, detectDigit/detectFax, sendDigits, connectPhone/disconnect, recordAudio (a real WAV, measured) and
tapAudio (PCMA RTP with ptime 30, decoded). v4 Node has no fax.
One server for the module (tests/clients/media/v4_node.js)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_media_helpers import MediaFiles, RtpReceiver, fetch, loud_fraction, phone_heard, shared_box, wav_samples

pytestmark = pytest.mark.official
FLAVOR = "v4_node"

ANSWERS, PEER = "+15553330001", "+15554440001"
ANSWER = [{"ring": 0.5}, {"answer": True}]


@pytest.fixture(scope="module")
def relaybox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from shared_box(tmp_path_factory)


@pytest.fixture(scope="module")
def files() -> Iterator[MediaFiles]:
    served = MediaFiles()
    yield served
    served.close()


def run(relaybox: Any, clients: Any, scenario: str, script: list[dict[str, Any]], **env: str) -> Any:
    relaybox.set_phone(ANSWERS, script)
    result = clients.run(FLAVOR, "../media/v4_node", env={"SCENARIO": scenario, "TO": ANSWERS, **env}, timeout=60)
    assert not result.timed_out, result.describe()
    assert result.find(r"^DIAL True "), result.describe()
    assert not result.find(r"^(ERROR|SCRIPT TIMEOUT)"), result.describe()
    assert "HANGUP ended" in result.lines, result.describe()
    return result


def test_play_every_media_and_controls(relaybox: Any, clients: Any, files: MediaFiles) -> None:
    result = run(relaybox, clients, "play", ANSWER, AUDIO_URL=files.url("/tone.mp3"))
    for expected in ("PLAY_STOPPED finished", "PLAY_TTS finished", "PLAY_RINGTONE finished", "PLAY_AUDIO finished",
                     "PLAY_BAD rejected"):
        assert expected in result.lines, result.describe()
    _, heard = phone_heard(relaybox, ANSWERS)
    assert {"type": "tts", "text": "hello from v4 node"} in heard
    assert {"type": "ringtone", "name": "it", "duration": 1} in heard
    assert {"type": "audio", "url": files.url("/tone.mp3")} in heard
    assert not any(h.get("name") == "xx" for h in heard)


def test_prompt_and_collect(relaybox: Any, clients: Any) -> None:
    script = [*ANSWER, {"wait_for": "prompt"}, {"press": "77#"}, {"wait_for": "prompt"}, {"say": "sounds good"}]
    result = run(relaybox, clients, "prompt", script)
    assert "PROMPT digit 77 #" in result.lines, result.describe()
    assert "COLLECT speech sounds good" in result.lines, result.describe()


def test_collect_partial_and_continuous_results(relaybox: Any, clients: Any) -> None:
    script = [*ANSWER, {"wait": 1}, {"press": "12#"}, {"wait": 1}, {"say": "yes please"}]
    result = run(relaybox, clients, "collect_stream", script)
    m = result.find(r"^COLLECT_UPDATES (.*)$")
    assert m, result.describe()
    assert json.loads(m.group(1)) == [
        ["partial", "digit", "1"], ["partial", "digit", "12"], ["collecting", "digit", "12"],
        ["partial", "speech", "yes"], ["partial", "speech", "yes please"], ["collecting", "speech", "yes please"],
    ], result.describe()
    assert "COLLECT_ENDED_EARLY False" in result.lines, result.describe()
    assert "COLLECT_STARTS 2" in result.lines, result.describe()  # one start of input per round
    assert "COLLECT_FINAL speech yes please finished True" in result.lines, result.describe()


def test_amd_and_detectors(relaybox: Any, clients: Any) -> None:
    result = run(relaybox, clients, "amd", [*ANSWER, {"machine": {"greeting": "Leave a message", "beep": True}}])
    assert result.find(r"^AMD machine (MACHINE|READY)$"), result.describe()
    result = run(relaybox, clients, "detect", [*ANSWER, {"wait": 0.5}, {"press": "2"}, {"wait": 0.5},
                                               {"fax": {"pages": 1}}])
    assert result.find(r"^DETECT_DIGIT digit (2|finished)$"), result.describe()
    assert "DETECT_FAX fax CED" in result.lines, result.describe()


def test_send_digits(relaybox: Any, clients: Any) -> None:
    result = run(relaybox, clients, "digits", ANSWER)
    assert "SEND_DIGITS ok" in result.lines and "SEND_DIGITS_BAD rejected" in result.lines, result.describe()
    _, heard = phone_heard(relaybox, ANSWERS)
    assert [h["digits"] for h in heard if h["type"] == "digits"] == ["1w2#"]


def test_connect_and_disconnect(relaybox: Any, clients: Any) -> None:
    relaybox.set_phone(PEER, ANSWER)
    result = run(relaybox, clients, "connect", ANSWER, PEER=PEER)
    m = result.find(r"^CONNECTED (\S+) answered$")
    assert m, result.describe()
    assert "DISCONNECTED ok" in result.lines, result.describe()
    peers = relaybox.sandbox_calls(PEER)
    assert m.group(1) in [p["call_id"] for p in peers]
    _, heard = phone_heard(relaybox, ANSWERS)
    assert {"type": "ringtone", "name": "us"} in heard
    assert any(h["type"] == "connected" and h["to"] == PEER for h in heard)


def test_record_wav_is_measured(relaybox: Any, clients: Any) -> None:
    script = [*ANSWER, {"say": "This is the v4 node recording test"}, {"press": "#"}]
    result = run(relaybox, clients, "record", script)
    m = result.find(r"^RECORD finished (http://\S+\.wav) ([\d.]+) (\d+)$")
    assert m, result.describe()
    status, data = fetch(m.group(1))
    assert status == 200 and len(data) == int(m.group(3))
    seconds, samples = wav_samples(data)
    # the phone spoke 34 characters (about 2.3 s), then pressed # right after
    assert abs(seconds - float(m.group(2))) <= 0.05 * seconds
    assert 1.8 < seconds < 3.2, seconds
    assert loud_fraction(samples) > 0.1


def test_tap_sends_pcma_with_the_asked_ptime(relaybox: Any, clients: Any) -> None:
    rtp = RtpReceiver()
    try:
        result = run(relaybox, clients, "tap", ANSWER, TAP_PORT=str(rtp.port))
    finally:
        rtp.close()
    assert "TAP finished" in result.lines, result.describe()
    assert len(rtp.packets) > 10, len(rtp.packets)
    headers = rtp.headers()
    assert all(h[0] == 0x80 and h[1] & 0x7F == 8 for h in headers)  # PCMA
    assert all(len(p) == 12 + 240 for p in rtp.packets)  # 30 ms at 8 kHz
    stamps = [h[3] for h in headers]  # in arrival order (loopback keeps it), modulo 2^32
    assert all((b - a) % (1 << 32) == 240 for a, b in itertools.pairwise(stamps))
    assert loud_fraction(rtp.pcm("PCMA")) > 0.05  # the TTS played to the phone is in the stream
