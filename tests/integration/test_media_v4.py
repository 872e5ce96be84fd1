"""Call media actions with the official v4 Python client (signalwire-sdk), unmodified: play, play_and_collect,
collect (also partial and continuous results), detect, send_digits, connect/disconnect, hold/unhold, record,
tap, send/receive fax and refer (tests/clients/media/v4_python.py). One server for the module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_media_helpers import MediaFiles, RtpReceiver, fetch, loud_fraction, shared_box, wav_samples

pytestmark = pytest.mark.official
FLAVOR = "v4_python"

ANSWERS, PEER = "+15553330000", "+15554440000"
ANSWER = [{"ring": 0.5}, {"answer": True}]


@pytest.fixture(scope="module")
def relaybox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from shared_box(tmp_path_factory)


@pytest.fixture(scope="module")
def files() -> Iterator[MediaFiles]:
    served = MediaFiles()
    yield served
    served.close()


def run(relaybox: Any, clients: Any, scenario: str, script: list[dict[str, Any]], to: str = ANSWERS, **env: str) -> Any:
    relaybox.set_phone(to, script)
    result = clients.run(FLAVOR, "../media/v4_python", env={"SCENARIO": scenario, "TO": to, **env}, timeout=60)
    assert not result.timed_out, result.describe()
    assert result.find(r"^DIAL True "), result.describe()
    assert not result.find(r"^(ERROR|SCRIPT TIMEOUT)"), result.describe()
    assert "HANGUP hangup" in result.lines, result.describe()
    return result


def heard(relaybox: Any, number: str = ANSWERS) -> list[dict[str, Any]]:
    calls = relaybox.sandbox_calls(number)
    call = relaybox.wait_sandbox_ended(calls[-1]["id"])
    return [e["heard"] for e in call["transcript"] if "heard" in e]


def test_play_controls_and_bad_media(relaybox: Any, clients: Any) -> None:
    result = run(relaybox, clients, "play", ANSWER)
    for expected in ("PLAY_STOPPED finished", "PLAY_TTS finished", "PLAY_RINGTONE finished", "PLAY_BAD 400"):
        assert expected in result.lines, result.describe()
    got = heard(relaybox)
    assert {"type": "tts", "text": "hello from v4"} in got
    assert {"type": "ringtone", "name": "fr", "duration": 1} in got


def test_play_and_collect_and_collect(relaybox: Any, clients: Any) -> None:
    script = [*ANSWER, {"wait_for": "prompt"}, {"press": "55#"}, {"wait_for": "prompt"}, {"say": "yes please"}]
    result = run(relaybox, clients, "prompt", script)
    assert "PROMPT digit 55 #" in result.lines, result.describe()
    assert "COLLECT speech yes please" in result.lines, result.describe()


def test_collect_partial_and_continuous_results(relaybox: Any, clients: Any) -> None:
    script = [*ANSWER, {"wait": 1}, {"press": "12#"}, {"wait": 1}, {"say": "yes please"}]
    result = run(relaybox, clients, "collect_stream", script)
    assert "COLLECT_PARTIALS digit:1|digit:12|speech:yes|speech:yes please" in result.lines, result.describe()
    assert "COLLECT_CONTINUOUS digit:12|speech:yes please" in result.lines, result.describe()
    assert "COLLECT_FINAL finished True speech yes please 1" in result.lines, result.describe()


def test_detect_answering_machine(relaybox: Any, clients: Any) -> None:
    result = run(relaybox, clients, "amd", [*ANSWER, {"machine": {"greeting": "Leave a message", "beep": True}}])
    assert "AMD MACHINE" in result.lines, result.describe()


def test_send_digits(relaybox: Any, clients: Any) -> None:
    result = run(relaybox, clients, "digits", ANSWER)
    assert "SEND_DIGITS 200" in result.lines and "SEND_DIGITS_BAD 400" in result.lines, result.describe()
    assert {"type": "digits", "digits": "1w2#"} in heard(relaybox)


def test_connect_hold_disconnect(relaybox: Any, clients: Any) -> None:
    relaybox.set_phone(PEER, ANSWER)
    result = run(relaybox, clients, "connect", ANSWER, PEER=PEER)
    assert "CONNECT_REPLY 200" in result.lines and "DISCONNECT_REPLY 200" in result.lines, result.describe()
    peer_id = result.find(r"^CONNECTED (\S+)$")
    assert peer_id and peer_id.group(1) in [c["call_id"] for c in relaybox.sandbox_calls(PEER)], result.describe()
    types = [h["type"] for h in heard(relaybox)]
    assert "ringtone" in types and "connected" in types
    assert types.index("hold") < types.index("unhold")


def test_record_wav(relaybox: Any, clients: Any) -> None:
    import urllib.request

    script = [*ANSWER, {"say": "This is the v4 recording"}, {"press": "#"}]
    result = run(relaybox, clients, "record", script)
    m = result.find(r"^RECORD finished (http://\S+\.wav) ([\d.]+) (\d+)$")
    assert m, result.describe()
    with urllib.request.urlopen(m.group(1), timeout=10) as resp:  # no credentials needed
        data = resp.read()
    assert len(data) == int(m.group(3))
    seconds, samples = wav_samples(data)
    assert abs(seconds - float(m.group(2))) <= 0.05 * seconds
    assert 1.0 < seconds < 3.0 and loud_fraction(samples) > 0.1  # "This is the v4 recording", spoken


def test_tap_rtp(relaybox: Any, clients: Any) -> None:
    rtp = RtpReceiver()
    try:
        result = run(relaybox, clients, "tap", ANSWER, TAP_PORT=str(rtp.port))
    finally:
        rtp.close()
    assert f"TAP finished {rtp.port}" in result.lines, result.describe()
    assert len(rtp.packets) > 20 and all(h[1] & 0x7F == 0 and len(p) == 172
                                         for h, p in zip(rtp.headers(), rtp.packets, strict=True))
    assert loud_fraction(rtp.pcm("PCMU")) > 0.05


def test_send_and_receive_fax(relaybox: Any, clients: Any, files: MediaFiles) -> None:
    from relaybox.engines.faxdoc import pdf_pages

    result = run(relaybox, clients, "fax", [*ANSWER, {"fax": {"pages": 4}}], DOC_URL=files.url("/doc.pdf"))
    assert "SEND_FAX finished 3 True" in result.lines, result.describe()
    m = result.find(r"^RECEIVE_FAX finished 4 (http://\S+\.pdf)$")
    assert m, result.describe()
    status, data = fetch(m.group(1))
    assert status == 200 and pdf_pages(data) == 4
    assert {"type": "fax", "pages": 3} in heard(relaybox)


def test_detect_digit_and_fax(relaybox: Any, clients: Any) -> None:
    result = run(relaybox, clients, "detect", [*ANSWER, {"press": "1"}, {"wait": 1}, {"fax": {"pages": 1}}])
    assert result.find(r"^DETECT_DIGIT (1|finished)$"), result.describe()
    assert "DETECT_FAX CED" in result.lines, result.describe()


def test_refer(relaybox: Any, clients: Any) -> None:
    phone, target = "sip:v4-transferee@sandbox.test", "sip:bob@elsewhere.test"
    result = run(relaybox, clients, "refer", ANSWER, to=phone, REFER_TO=target)
    assert "REFER_REPLY 200" in result.lines and "REFER success 200" in result.lines, result.describe()
    assert relaybox.sandbox_calls(target)[0]["state"] == "ended"  # ended with the transferee's call


def test_record_pause_resume_and_collect_input_timers(relaybox: Any, clients: Any) -> None:
    result = run(relaybox, clients, "controls", [*ANSWER, {"say": "talking all along " * 8}])
    m = result.find(r"^RECORD_PAUSED finished ([\d.]+) ([\d.]+) ([\d.]+)$")
    assert m, result.describe()
    duration, total, paused = (float(g) for g in m.groups())
    # the paused span (skip) is cut out of the file: about total - paused (client-side timing: +-0.6 s)
    assert paused > 2 and abs(duration - (total - paused)) < 0.6, (duration, total, paused)
    assert "COLLECT_WAITING False" in result.lines and "COLLECT_TIMED_OUT no_input" in result.lines, result.describe()


def test_conference_join_leave_and_end_on_exit(relaybox: Any, clients: Any) -> None:
    """join_conference/leave_conference with the official client: two calls in one room share its
    conference_id, a call cannot join twice, bad parameters are refused, end_on_exit ends it for the other."""
    relaybox.set_phone(PEER, ANSWER)
    result = run(relaybox, clients, "conference", ANSWER, PEER=PEER)
    for expected in ("CONF_IDS True True", "CONF_TWICE 409", "CONF_BAD 400", "CONF_LEFT 200",
                     "CONF_EVENTS A:joined:standup|B:joined:standup|A:left:standup|B:ended:standup",
                     "CONF_LEAVE_AGAIN {}"):
        assert expected in result.lines, result.describe()
