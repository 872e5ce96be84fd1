"""The official v2 Python media scenarios (tests/clients/media/v2_python.py, written for signalwire==2.1.1 and
run unmodified by test_media_v2*.py) on relaybox's own v2 SDK, with only the import line changed: every media
method, its `_async` twin and the Action controls print what the official client prints there."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Background, Relaybox
from test_media_helpers import MediaFiles, shared_box

SCRIPT = ROOT / "tests" / "clients" / "media" / "v2_python.py"
ANSWERS, PEER, NOBODY = "+15553330000", "+15554440000", "+15559990000"
ANSWER = [{"ring": 0.5}, {"answer": True}]
TWINS = [
    *ANSWER,
    {"wait_for": "prompt"}, {"wait": 0.3}, {"press": "12"},
    {"wait_for": "prompt"}, {"wait": 0.3}, {"press": "3"},
    {"wait_for": "prompt"}, {"wait": 0.3}, {"press": "4"},
    {"wait_for": "prompt"}, {"wait": 0.3}, {"say": "yes"},
    {"wait_for": "play"}, {"wait": 1}, {"press": "9"},
    {"wait_for": "play"}, {"wait": 1}, {"press": "8"},
    {"wait_for": "play"}, {"fax": {"pages": 1}},
]
BAD_LABELS = ("BAD_TYPE", "BAD_URL", "MISSING_URL", "JUNK_AUDIO", "BAD_RINGTONE", "BAD_VOLUME", "BAD_PROMPT_TIMEOUT",
              "BAD_RECORD_TIMEOUT", "BAD_DIGITS", "BAD_TONE", "BAD_TAP", "AFTER_END_PLAY", "AFTER_END_DIGITS")

# scenario -> (the callee's script, regexes of lines the official client prints: test_media_v2*.py)
SCENARIOS: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
    "play": (ANSWER, [r"PLAY_ASYNC \S+ True True True", "PLAY_STOP True", "PLAY_ASYNC_DONE True finished",
                      "PLAY_TTS True finished", "PLAY_SILENCE True", "PLAY_RINGTONE True", "PLAY_AUDIO True",
                      "PLAY_BAD False", "PLAY_TTS_ASYNC True True"]),
    "prompt": ([*ANSWER, {"wait_for": "prompt"}, {"wait": 0.2}, {"press": "987#"}, {"wait_for": "prompt"},
                {"say": "hello world"}, {"wait_for": "prompt"}, {"press": "42"}],
               ["PROMPT True digits? 987 #", r"PROMPT2 True speech hello world 83\.2",
                "PROMPT_ASYNC True True digits? 42", "PROMPT_NO_INPUT False no_input"]),
    "detect": ([*ANSWER, {"wait": 2}, {"press": "1"}, {"wait_for": "play"}, {"press": "3"}],
               ["DIGITDETECT True 1", "DIGITDETECT_ASYNC True 3.*"]),
    "amd": ([*ANSWER, {"machine": {"greeting": "Hi, this is Bob. Please leave a message after the tone.",
                                   "beep": True}}],
            ["AMD True MACHINE machine", "AMD_ASYNC True MACHINE,NOT_READY,READY.*"]),
    "fax_detect": ([*ANSWER, {"fax": {"pages": 2}}], ["FAXDETECT True CED"]),
    "digits": (ANSWER, ["SEND_DIGITS True", "SEND_DIGITS_ASYNC True True", "SEND_DIGITS_BAD False"]),
    "connect": (ANSWER, [r"CONNECT True \S+ answered", "PEER_LINKED True", "DISCONNECT True",
                         r"CONNECT_ASYNC True True \S+"]),
    "record": ([*ANSWER, {"wait": 1}, {"say": "Hello, this is a message for the recording test."}, {"wait": 0.5},
                {"press": "#"}, {"wait": 1}, {"say": "second message here"}],
               [r"RECORD True http://\S+/media/recordings/[\w-]{24,}\.wav [\d.]+ \d+"]),
    "twins": (TWINS, ["PLAY_LIST True", "PLAY_AUDIO_ASYNC True True", "PLAY_SILENCE_ASYNC True True",
                      "PLAY_RINGTONE_ASYNC True True", "PROMPT_GENERIC True 12", "PROMPT_GENERIC_ASYNC True 3",
                      "PROMPT_AUDIO_ASYNC True 4", "PROMPT_TTS_ASYNC True speech yes"]),
    "bad": (ANSWER, [f"{label} False" for label in BAD_LABELS] + ["STILL_PLAYS True", "HANGUP True hangup"]),
}


@pytest.fixture(scope="module")
def relaybox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from shared_box(tmp_path_factory)


@pytest.fixture(scope="module")
def files() -> Iterator[MediaFiles]:
    served = MediaFiles()
    yield served
    served.close()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_official_media_scenarios_on_this_sdk(
    scenario: str, relaybox: Relaybox, files: MediaFiles, tmp_path: Path
) -> None:
    script, expected = SCENARIOS[scenario]
    relaybox.set_phone(ANSWERS, script)
    relaybox.set_phone(PEER, ANSWER)
    relaybox.set_phone(NOBODY, [{"no_answer": True}])
    code = SCRIPT.read_text()
    code = code.replace("from signalwire.relay.client import Client", "from relaybox.relay.client import Client")
    assert "from signalwire" not in code
    path = tmp_path / "v2_media.py"
    path.write_text(code)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RELAYBOX_HOST")}
    env.update(
        PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", SW_PROJECT=relaybox.project, SW_TOKEN=relaybox.token,
        RELAY_HOST=relaybox.ws_url, SCENARIO=scenario, TO=ANSWERS, PEER=PEER, NOBODY=NOBODY, FORMAT="wav",
        AUDIO_URL=files.url("/tone.wav"), DOC_URL=files.url("/doc.pdf"), BEEP="1", SCRIPT_TIMEOUT="50",
    )
    bg = Background(f"v2-media-{scenario}", [sys.executable, "-u", str(path)], env, tmp_path)
    try:
        assert bg.wait(55) is not None, bg.describe()
    finally:
        bg.stop()
    lines = bg.lines
    assert lines[0] == "READY" and lines[1].startswith("DIAL True "), bg.describe()
    assert not any(re.match(r"ERROR|SCRIPT TIMEOUT", x) for x in lines), bg.describe()
    for rx in expected:
        assert any(re.fullmatch(rx, x) for x in lines), f"no line {rx!r}\n" + bg.describe()
