"""calling.play_and_collect / calling.collect against virtual phones that press keys and speak."""

from __future__ import annotations

from typing import Any

import pytest
from mediaworld import World, heard, world

__all__ = ["world"]

PROMPT = [{"type": "tts", "params": {"text": "Enter your PIN"}}]  # 14 chars: 0.93 s


def collects(world: World, control_id: str) -> list[dict[str, Any]]:
    return [e for e in world.sub.of(control_id) if "result" in e]


async def prompt(world: World, cid: str, collect: dict[str, Any], control_id: str = "c", **extra: Any) -> None:
    reply = world.execute(
        "calling.play_and_collect",
        {"call_id": cid, "control_id": control_id, "play": PROMPT, "collect": collect, **extra},
    )
    assert reply["code"] == "200", reply


async def test_digits_with_terminator(world: World) -> None:
    phone, cid = await world.answered_call([{"wait_for": "prompt"}, {"wait": 1}, {"press": "1234#"}])
    await prompt(world, cid, {"initial_timeout": 5, "digits": {"max": 6, "terminators": "#", "digit_timeout": 5}})
    await world.run(3)
    (event,) = collects(world, "c")
    assert event["result"] == {"type": "digit", "params": {"digits": "1234", "terminator": "#"}}
    assert event["call_id"] == cid and event["control_id"] == "c"
    assert heard(phone) == [{"type": "tts", "text": "Enter your PIN"}]
    await world.run(10)
    assert len(collects(world, "c")) == 1  # exactly one collect event


async def test_digits_max_and_digit_timeout(world: World) -> None:
    _, cid = await world.answered_call([{"wait_for": "prompt"}, {"press": "12"}, {"wait": 6}, {"press": "345"}])
    await prompt(world, cid, {"digits": {"max": 3, "digit_timeout": 2}}, control_id="a")
    await world.run(5)
    assert collects(world, "a")[0]["result"] == {"type": "digit", "params": {"digits": "12", "terminator": ""}}
    await prompt(world, cid, {"digits": {"max": 3}}, control_id="b")
    await world.run(10)
    assert collects(world, "b")[0]["result"] == {"type": "digit", "params": {"digits": "345", "terminator": ""}}


async def test_no_input_after_initial_timeout_counted_from_the_prompt_end(world: World) -> None:
    _, cid = await world.answered_call()
    await prompt(world, cid, {"initial_timeout": 3, "digits": {"max": 1}})
    await world.run(3.8)  # prompt 0.93 s + 3 s
    assert collects(world, "c") == []
    await world.run(0.2)
    assert collects(world, "c")[0]["result"] == {"type": "no_input"}


async def test_speech_with_confidence(world: World) -> None:
    phone, cid = await world.answered_call([{"wait_for": "prompt"}, {"say": "check my balance"}])
    await prompt(world, cid, {"speech": {"end_silence_timeout": 1, "hints": ["yes", "no"]}})
    await world.run(5)
    (event,) = collects(world, "c")
    assert event["result"]["type"] == "speech"
    assert event["result"]["params"]["text"] == "check my balance"
    assert 0 < event["result"]["params"]["confidence"] <= 100
    assert {"did": {"say": "check my balance"}} in [
        {k: v for k, v in e.items() if k == "did"} for e in phone.transcript
    ]


async def test_keys_during_a_speech_only_collect_do_not_match(world: World) -> None:
    _, cid = await world.answered_call([{"wait_for": "prompt"}, {"press": "5"}])
    await prompt(world, cid, {"speech": {}})
    await world.run(3)
    assert collects(world, "c")[0]["result"] == {"type": "no_match"}


async def test_both_takes_whichever_comes(world: World) -> None:
    _, cid = await world.answered_call([{"wait_for": "prompt"}, {"say": "yes"}])
    await prompt(world, cid, {"digits": {"max": 1}, "speech": {}})
    await world.run(3)
    assert collects(world, "c")[0]["result"]["params"]["text"] == "yes"


async def test_barge_in_stops_the_prompt(world: World) -> None:
    long_prompt = [{"type": "silence", "params": {"duration": 30}}]
    phone, cid = await world.answered_call(
        [{"wait_for": "prompt"}, {"press": "7"}, {"wait_for": "silence"}, {"say": "ok"}]
    )
    world.execute(
        "calling.play_and_collect",
        {"call_id": cid, "control_id": "c", "play": long_prompt, "collect": {"digits": {"max": 1}}},
    )
    await world.run(1)
    assert collects(world, "c")[0]["result"]["params"]["digits"] == "7"
    assert any(e.get("did") == {"say": "ok"} for e in phone.transcript)  # it heard the prompt stop


async def test_stop_and_hangup_send_one_final_event(world: World) -> None:
    _, cid = await world.answered_call()
    await prompt(world, cid, {"digits": {"max": 1}}, control_id="s")
    await world.run(0.5)
    assert (
        world.execute("calling.play_and_collect.volume", {"call_id": cid, "control_id": "s", "volume": 3})["code"]
        == "200"
    )
    assert world.execute("calling.play_and_collect.stop", {"call_id": cid, "control_id": "s"})["code"] == "200"
    await world.run(0)
    assert [e["result"]["type"] for e in collects(world, "s")] == ["no_input"]
    await prompt(world, cid, {"digits": {"max": 1}}, control_id="h")
    await world.run(0.5)
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    assert world.sub.kinds()[-3:] == ["collect:error", "state:ending", "state:ended"]


async def test_v4_standalone_collect_and_start_input_timers(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 8}, {"press": "9"}])
    reply = world.execute(
        "calling.collect",
        {"call_id": cid, "control_id": "v4", "digits": {"max": 1}, "initial_timeout": 2, "start_input_timers": False},
    )
    assert reply["code"] == "200"
    await world.run(5)
    assert collects(world, "v4") == []  # timers not started
    world.execute("calling.collect.start_input_timers", {"call_id": cid, "control_id": "v4"})
    await world.run(1.5)
    assert collects(world, "v4") == []
    await world.run(5)
    assert collects(world, "v4")[0]["result"] == {"type": "no_input"}


@pytest.mark.parametrize(
    "collect",
    [
        None,
        {},
        {"digits": {"max": 0}},
        {"digits": {"max": 2, "terminators": "x"}},
        {"speech": {"hints": "yes"}},
        {"digits": {"max": 1}, "initial_timeout": -1},
        {"digits": "4"},
    ],
)
async def test_bad_collect_is_a_400(world: World, collect: Any) -> None:
    _, cid = await world.answered_call()
    reply = world.execute("calling.play_and_collect", {"call_id": cid, "play": PROMPT, "collect": collect})
    assert reply["code"] == "400", reply


async def test_v4_send_start_of_input(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"press": "42"}])
    world.execute("calling.collect", {"call_id": cid, "control_id": "s", "digits": {"max": 2},
                                      "initial_timeout": 5, "send_start_of_input": True})
    await world.run(3)
    events = world.sub.of("s")
    assert [(e["result"]["type"], e["state"], e["final"]) for e in events] == [
        ("start_of_input", "collecting", False), ("digit", "finished", True)]
    assert events[-1]["result"]["params"]["digits"] == "42"
