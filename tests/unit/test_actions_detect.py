"""calling.detect (machine, fax, digit) and calling.send_digits against scripted virtual phones."""

from __future__ import annotations

from typing import Any

import pytest
from mediaworld import World, heard, world

__all__ = ["world"]


def detected(world: World, control_id: str) -> list[str]:
    return [e["detect"]["params"]["event"] for e in world.sub.of(control_id)]


def amd(**params: Any) -> dict[str, Any]:
    return {"type": "machine", "params": params}


async def test_machine_with_beep(world: World) -> None:
    _, cid = await world.answered_call(
        [{"machine": {"greeting": "Hi, you reached Bob. Leave a message.", "beep": True}}]
    )
    assert world.execute("calling.detect", {"call_id": cid, "control_id": "d", "detect": amd()})["code"] == "200"
    await world.run(1.3)
    assert detected(world, "d") == ["MACHINE", "NOT_READY"]
    await world.run(10)
    assert detected(world, "d") == ["MACHINE", "NOT_READY", "READY", "finished"]
    assert world.sub.of("d")[0]["detect"]["type"] == "machine"


async def test_machine_greeting_already_over_is_still_a_machine(world: World) -> None:
    _, cid = await world.answered_call([{"machine": {"greeting": "Leave a message", "beep": True}}])
    await world.run(5)
    world.execute("calling.detect", {"call_id": cid, "control_id": "d", "detect": amd()})
    await world.run(2)
    assert detected(world, "d") == ["MACHINE", "NOT_READY", "READY", "finished"]


async def test_short_hello_is_human(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 0.2}, {"say": "Hello?"}])
    world.execute("calling.detect", {"call_id": cid, "control_id": "d", "detect": amd(end_silence_timeout=0.5)})
    await world.run(1.0)
    assert detected(world, "d") == []
    await world.run(0.2)
    assert detected(world, "d") == ["HUMAN", "finished"]


async def test_long_speech_is_a_machine_by_the_thresholds(world: World) -> None:
    _, cid = await world.answered_call([{"say": "Hello this is Bob speaking who is calling please"}])
    world.execute("calling.detect", {"call_id": cid, "control_id": "d", "detect": amd()})
    await world.run(10)
    assert detected(world, "d")[:1] == ["MACHINE"]
    assert detected(world, "d")[-1] == "finished"


async def test_silence_is_unknown_after_initial_timeout(world: World) -> None:
    _, cid = await world.answered_call()
    world.execute("calling.detect", {"call_id": cid, "control_id": "d", "detect": amd(initial_timeout=3)})
    await world.run(2.9)
    assert detected(world, "d") == []
    await world.run(0.2)
    assert detected(world, "d") == ["UNKNOWN", "finished"]


async def test_fax_tone(world: World) -> None:
    _, cid = await world.answered_call([{"fax": {"pages": 2}}])
    world.execute(
        "calling.detect", {"call_id": cid, "control_id": "f", "detect": {"type": "fax", "params": {"tone": "CNG"}}}
    )
    await world.run(1)
    # a phone calling in sends CNG
    assert detected(world, "f") == ["CNG", "finished"]


async def test_digit_detector_until_timeout_or_stop(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"press": "1w5#"}])
    world.execute(
        "calling.detect",
        {"call_id": cid, "control_id": "g", "detect": {"type": "digit", "params": {"digits": "123#"}}, "timeout": 10},
    )
    await world.run(5)
    assert detected(world, "g") == ["1", "#"]
    assert world.execute("calling.detect.stop", {"call_id": cid, "control_id": "g"})["code"] == "200"
    await world.run(0)
    assert detected(world, "g") == ["1", "#", "finished"]


async def test_detect_timeout_and_hangup_end_with_finished(world: World) -> None:
    _, cid = await world.answered_call()
    world.execute("calling.detect", {"call_id": cid, "control_id": "t", "detect": {"type": "digit"}, "timeout": 2})
    world.execute("calling.detect", {"call_id": cid, "control_id": "h", "detect": {"type": "fax"}})
    await world.run(2.1)
    assert detected(world, "t") == ["finished"]
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    assert world.sub.kinds()[-3:] == ["detect:finished", "state:ending", "state:ended"]


@pytest.mark.parametrize(
    "detect",
    [
        None,
        {"type": "voice"},
        {"type": "fax", "params": {"tone": "XYZ"}},
        {"type": "digit", "params": {"digits": "12x"}},
        {"type": "machine", "params": {"initial_timeout": -2}},
    ],
)
async def test_bad_detect_is_a_400(world: World, detect: Any) -> None:
    _, cid = await world.answered_call()
    assert world.execute("calling.detect", {"call_id": cid, "detect": detect})["code"] == "400"


async def test_send_digits(world: World) -> None:
    phone, cid = await world.answered_call()
    reply = world.execute("calling.send_digits", {"call_id": cid, "control_id": "s", "digits": "12w#W*AD"})
    assert reply["code"] == "200"
    await world.run(0)
    assert world.sub.of("s") == []
    await world.run(2.8)  # 6 keys x 0.2 + 0.5 + 1
    assert [e["state"] for e in world.sub.of("s")] == ["finished"]
    assert {"type": "digits", "digits": "12w#W*AD"} in heard(phone)


@pytest.mark.parametrize("digits", ["", "12x", "1 2", "abc", None, 5])
async def test_send_digits_rejects_anything_else(world: World, digits: Any) -> None:
    phone, cid = await world.answered_call()
    assert world.execute("calling.send_digits", {"call_id": cid, "digits": digits})["code"] == "400"
    await world.run(1)
    assert not any(h.get("type") == "digits" for h in heard(phone))


async def test_send_digits_stop_finishes_at_once(world: World) -> None:
    _, cid = await world.answered_call()
    world.execute("calling.send_digits", {"call_id": cid, "control_id": "s", "digits": "1W2W3W4W"})
    await world.run(0.5)
    reply = world.execute("calling.send_digits.stop", {"call_id": cid, "control_id": "s"})
    assert reply["code"] == "200"
    await world.run(0)
    assert [e["state"] for e in world.sub.of("s")] == ["finished"]
    await world.run(5)
    assert [e["state"] for e in world.sub.of("s")] == ["finished"]  # exactly one final event
    assert world.execute("calling.send_digits.stop", {"call_id": cid, "control_id": "s"})["code"] == "404"
