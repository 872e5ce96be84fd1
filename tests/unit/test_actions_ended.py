"""Every media command on an ended call: a 404 the clients report as unsuccessful; nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest
from mediaworld import World, world  # noqa: F401

COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("calling.play", {"play": [{"type": "tts", "params": {"text": "late"}}]}),
    ("calling.play_and_collect", {"play": [{"type": "silence", "params": {"duration": 1}}],
                                  "collect": {"digits": {"max": 1}}}),
    ("calling.collect", {"digits": {"max": 1}}),
    ("calling.record", {"record": {"audio": {}}}),
    ("calling.detect", {"detect": {"type": "digit", "params": {}}}),
    ("calling.send_digits", {"digits": "1"}),
    ("calling.tap", {"tap": {"type": "audio"}, "device": {"type": "rtp", "params": {"addr": "127.0.0.1", "port": 9}}}),
    ("calling.send_fax", {"document": "https://docs.test/a.pdf"}),
    ("calling.receive_fax", {}),
    ("calling.connect", {"devices": [[{"type": "phone", "params": {"to_number": "+15554440000"}}]]}),
    ("calling.disconnect", {}),
    ("calling.hold", {}),
    ("calling.refer", {"device": {"type": "sip", "params": {"to": "sip:a@b.test"}}}),
    ("calling.play.stop", {"control_id": "x"}),
    ("calling.record.stop", {"control_id": "x"}),
]


@pytest.mark.parametrize(("method", "params"), COMMANDS, ids=[c[0] for c in COMMANDS])
async def test_media_command_on_an_ended_call_is_a_404(world: World, method: str, params: dict[str, Any]) -> None:  # noqa: F811
    phone, cid = await world.answered_call()
    world.execute("calling.end", {"call_id": cid, "reason": "hangup"})
    await world.run(0.1)
    before = len(world.sub.got)
    heard_before = len(phone.transcript)
    reply = world.execute(method, {"call_id": cid, "control_id": "late", **params})
    assert reply["code"] == "404" and "call" in reply["message"].lower()  # "has ended" / "does not exist"
    await world.run(1)
    assert len(world.sub.got) == before and len(phone.transcript) == heard_before
    # the platform goes on: a new call takes media
    _, cid2 = await world.answered_call()
    silence = [{"type": "silence", "duration": 1}]
    assert world.execute("calling.play", {"call_id": cid2, "play": silence})["code"] == "200"
