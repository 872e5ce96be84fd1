"""Call media actions with the official v4 Python client (signalwire-sdk), unmodified: play, play_and_collect,
collect, detect, send_digits, connect/disconnect and hold/unhold (tests/clients/media/v4_python.py)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.official
FLAVOR = "v4_python"

ANSWERS, PEER = "+15553330000", "+15554440000"
ANSWER = [{"ring": 0.5}, {"answer": True}]


def run(relaybox: Any, clients: Any, scenario: str, script: list[dict[str, Any]], **env: str) -> Any:
    relaybox.set_phone(ANSWERS, script)
    result = clients.run(FLAVOR, "../media/v4_python", env={"SCENARIO": scenario, "TO": ANSWERS, **env}, timeout=60)
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
    assert 1.0 < float(m.group(2)) < 3.0
