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
    # no `final` key on start_of_input: realtime-api turns `final: false` into collect.updated, never startOfInput
    assert [(e["result"]["type"], e["state"], e.get("final")) for e in events] == [
        ("start_of_input", "collecting", None), ("digit", "finished", True)]
    assert events[-1]["result"]["params"]["digits"] == "42"


def shape(events: list[dict[str, Any]]) -> list[tuple[str, str, Any, Any]]:
    """(type, state, final, digits or text) of each collect event."""
    out = []
    for e in events:
        params = e["result"].get("params", {})
        out.append((e["result"]["type"], e["state"], e.get("final"), params.get("digits", params.get("text"))))
    return out


def finals(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("final") is True and e["state"] != "collecting"]


async def test_partial_digits_then_one_final(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"press": "123#"}])
    world.execute("calling.collect", {"call_id": cid, "control_id": "p", "partial_results": True,
                                      "digits": {"max": 5, "terminators": "#"}, "initial_timeout": 5})
    await world.run(5)
    assert shape(world.sub.of("p")) == [
        ("digit", "collecting", False, "1"), ("digit", "collecting", False, "12"),
        ("digit", "collecting", False, "123"), ("digit", "finished", True, "123")]
    assert world.sub.of("p")[0]["result"] == {"type": "digit", "params": {"digits": "1"}}  # no terminator yet
    assert world.sub.of("p")[-1]["result"]["params"]["terminator"] == "#"


async def test_partial_speech_grows_word_by_word_before_the_final(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"say": "check my balance please"}])
    world.execute("calling.collect", {"call_id": cid, "control_id": "p", "partial_results": True,
                                      "speech": {"end_silence_timeout": 1}, "initial_timeout": 5})
    await world.run(1.1)
    assert shape(world.sub.of("p")) == []  # the first word is not over yet
    await world.run(8)
    events = world.sub.of("p")
    assert shape(events) == [
        ("speech", "collecting", False, "check"), ("speech", "collecting", False, "check my"),
        ("speech", "collecting", False, "check my balance"),
        ("speech", "collecting", False, "check my balance please"),
        ("speech", "finished", True, "check my balance please")]
    assert events[-1]["result"]["params"]["confidence"] > 0


async def test_without_partial_results_only_the_final(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"press": "12"}, {"say": "hello there"}])
    world.execute("calling.collect", {"call_id": cid, "control_id": "q", "partial_results": False,
                                      "digits": {"max": 2}, "initial_timeout": 5})
    await world.run(8)
    assert shape(world.sub.of("q")) == [("digit", "finished", True, "12")]


async def test_partial_results_are_ignored_by_play_and_collect(world: World) -> None:
    # v2 Node sends collect.partial_results, and takes the first collect event as the prompt's result
    _, cid = await world.answered_call([{"wait_for": "prompt"}, {"press": "12"}])
    await prompt(world, cid, {"digits": {"max": 2}, "partial_results": True, "continuous": True})
    await world.run(5)
    assert shape(collects(world, "c")) == [("digit", "finished", True, "12")]


async def test_continuous_results_until_stop(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"press": "12#"}, {"wait": 1}, {"say": "yes"},
                                        {"wait": 2}, {"press": "7"}, {"wait": 3}, {"press": "9"}])
    world.execute("calling.collect", {"call_id": cid, "control_id": "k", "continuous": True,
                                      "digits": {"max": 3, "terminators": "#", "digit_timeout": 2},
                                      "speech": {"end_silence_timeout": 0.5}, "initial_timeout": 30})
    await world.run(9)
    assert shape(world.sub.of("k")) == [
        ("digit", "collecting", True, "12"), ("speech", "collecting", True, "yes"),
        ("digit", "collecting", True, "7")]  # the digit timer ended the third round
    assert world.execute("calling.collect.stop", {"call_id": cid, "control_id": "k"})["code"] == "200"
    await world.run(0)
    events = world.sub.of("k")
    assert shape(events)[-1] == ("digit", "finished", True, "9")  # the keys pressed so far
    assert len(finals(events)) == 1
    await world.run(10)
    assert len(world.sub.of("k")) == 4  # nothing after the final event
    assert world.execute("calling.collect.stop", {"call_id": cid, "control_id": "k"})["code"] == "404"


async def test_continuous_timers_restart_each_round(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"press": "4"}, {"wait": 2.5}, {"press": "5"}])
    world.execute("calling.collect", {"call_id": cid, "control_id": "t", "continuous": True,
                                      "digits": {"max": 1}, "initial_timeout": 3})
    await world.run(4)  # "5" (at 3.7 s) comes 2.7 s after "4": within a fresh 3 s initial timeout
    assert shape(world.sub.of("t")) == [("digit", "collecting", True, "4"), ("digit", "collecting", True, "5")]
    await world.run(2.6)
    assert len(world.sub.of("t")) == 2
    await world.run(0.2)  # 3 s of quiet after "5": reported once, and the collection goes on
    assert shape(world.sub.of("t"))[-1] == ("no_input", "collecting", True, None)
    await world.run(20)
    assert len(world.sub.of("t")) == 3
    world.execute("calling.collect.stop", {"call_id": cid, "control_id": "t"})
    await world.run(0)
    assert shape(world.sub.of("t"))[-1] == ("digit", "finished", True, "5")  # the last result


async def test_continuous_with_partials_and_start_of_input_then_hangup(world: World) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"press": "12"}, {"wait": 1}, {"press": "3"}])
    world.execute("calling.collect", {"call_id": cid, "control_id": "h", "continuous": True, "partial_results": True,
                                      "send_start_of_input": True, "digits": {"max": 2}, "initial_timeout": 5})
    await world.run(3)
    assert shape(world.sub.of("h")) == [
        ("start_of_input", "collecting", None, None), ("digit", "collecting", False, "1"),
        ("digit", "collecting", True, "12"),
        ("start_of_input", "collecting", None, None), ("digit", "collecting", False, "3")]
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    events = world.sub.of("h")
    assert shape(finals(events)) == [("digit", "finished", True, "3")]
    assert world.sub.kinds()[-3:] == ["collect:finished", "state:ending", "state:ended"]


async def test_continuous_stop_or_hangup_without_a_result(world: World) -> None:
    _, cid = await world.answered_call()
    for control_id in ("a", "b"):
        world.execute("calling.collect", {"call_id": cid, "control_id": control_id, "continuous": True,
                                          "digits": {"max": 1}, "initial_timeout": 60})
    await world.run(1)
    world.execute("calling.collect.stop", {"call_id": cid, "control_id": "a"})
    await world.run(0)
    assert shape(world.sub.of("a")) == [("no_input", "no_input", True, None)]
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    assert shape(world.sub.of("b")) == [("error", "error", True, None)]


@pytest.mark.parametrize("key", ["partial_results", "continuous", "send_start_of_input", "start_input_timers"])
async def test_collect_flags_must_be_booleans(world: World, key: str) -> None:
    _, cid = await world.answered_call()
    reply = world.execute("calling.collect", {"call_id": cid, "digits": {"max": 1}, key: "yes"})
    assert reply["code"] == "400" and key in reply["message"], reply
