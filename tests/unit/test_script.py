"""Virtual-phone script validation: every step kind, for callers and callees."""

from __future__ import annotations

from typing import Any

import pytest

from relaybox.engines.script import DEFAULT_CALLEE, MAX_STEPS, ScriptError, validate_script


@pytest.mark.parametrize(
    ("step", "normalized"),
    [
        ({"ring": 2}, {"ring": 2.0}),
        ({"ring": 0}, {"ring": 0.0}),
        ({"ring": 0.5}, {"ring": 0.5}),
        ({"answer": True}, {"answer": True}),
        ({"reject": "busy"}, {"reject": "busy"}),
        ({"reject": "decline"}, {"reject": "decline"}),
        ({"no_answer": True}, {"no_answer": True}),
        ({"wait": 3600}, {"wait": 3600.0}),
        ({"wait_for": "prompt"}, {"wait_for": "prompt"}),
        ({"wait_for": "play"}, {"wait_for": "play"}),
        ({"wait_for": "silence"}, {"wait_for": "silence"}),
        ({"wait_for": "answer"}, {"wait_for": "answer"}),
        ({"wait_for": "hangup"}, {"wait_for": "hangup"}),
        ({"press": "123#*"}, {"press": "123#*"}),
        ({"press": "1w2W3abcdD"}, {"press": "1w2W3abcdD"}),
        ({"say": "hello"}, {"say": "hello"}),
        ({"machine": {}}, {"machine": {"greeting": "Please leave a message after the tone.", "beep": True}}),
        ({"machine": {"greeting": "Hi", "beep": False}}, {"machine": {"greeting": "Hi", "beep": False}}),
        ({"fax": {}}, {"fax": {"pages": 1}}),
        ({"fax": {"pages": 100}}, {"fax": {"pages": 100}}),
        ({"hangup": True}, {"hangup": True}),
    ],
)
def test_good_callee_steps(step: dict[str, Any], normalized: dict[str, Any]) -> None:
    assert validate_script([step], "callee") == [normalized]


@pytest.mark.parametrize(
    "step",
    [
        {"wait": 1}, {"wait_for": "answer"}, {"press": "1"}, {"say": "hi"}, {"machine": {}}, {"fax": {"pages": 2}},
        {"hangup": True},
    ],
)
def test_good_caller_steps(step: dict[str, Any]) -> None:
    assert len(validate_script([step], "caller")) == 1


@pytest.mark.parametrize("step", [{"ring": 1}, {"answer": True}, {"reject": "busy"}, {"no_answer": True}])
def test_callee_only_steps_are_refused_for_callers(step: dict[str, Any]) -> None:
    with pytest.raises(ScriptError, match="not for the caller"):
        validate_script([step], "caller")
    assert validate_script([step], "callee")


@pytest.mark.parametrize(
    "step",
    [
        {"ring": -1}, {"ring": 3601}, {"ring": "1"}, {"ring": True}, {"ring": None},
        {"wait": -0.1}, {"wait": 4000}, {"wait": "soon"},
        {"answer": False}, {"answer": 1}, {"answer": "yes"},
        {"no_answer": False},
        {"hangup": False}, {"hangup": None},
        {"reject": "nope"}, {"reject": True}, {"reject": "Busy"},
        {"wait_for": "dtmf"}, {"wait_for": 1}, {"wait_for": None},
        {"press": ""}, {"press": "12x"}, {"press": 12}, {"press": "E"},
        {"say": ""}, {"say": "   "}, {"say": 5}, {"say": "x" * 2001},
        {"machine": "yes"}, {"machine": {"greeting": ""}}, {"machine": {"beep": "yes"}},
        {"machine": {"greeting": "hi", "volume": 3}},
        {"fax": 3}, {"fax": {"pages": 0}}, {"fax": {"pages": 101}}, {"fax": {"pages": 1.5}},
        {"fax": {"pages": True}}, {"fax": {"pages": 1, "color": True}},
    ],
)
def test_bad_values_are_refused(step: dict[str, Any]) -> None:
    with pytest.raises(ScriptError) as err:
        validate_script([step], "callee")
    kind = next(iter(step))
    assert kind in str(err.value)  # the message names the offending step


def test_error_names_the_step_index() -> None:
    with pytest.raises(ScriptError, match=r"script\[2\]"):
        validate_script([{"ring": 1}, {"answer": True}, {"wait": -5}], "callee")


@pytest.mark.parametrize("step", [{"dance": True}, {"": 1}])
def test_unknown_step(step: dict[str, Any]) -> None:
    with pytest.raises(ScriptError, match="unknown step"):
        validate_script([step], "callee")


@pytest.mark.parametrize("step", [{"ring": 1, "answer": True}, {}, "ring", ["ring", 1], None, 5])
def test_steps_must_be_single_key_objects(step: Any) -> None:
    with pytest.raises(ScriptError, match="exactly one key"):
        validate_script([step], "callee")


@pytest.mark.parametrize("script", [None, {"ring": 1}, "ring 1", 5])
def test_script_must_be_a_list(script: Any) -> None:
    with pytest.raises(ScriptError, match="list"):
        validate_script(script, "callee")


def test_empty_script_is_fine() -> None:
    assert validate_script([], "callee") == []
    assert validate_script([], "caller") == []


def test_step_limit() -> None:
    assert len(validate_script([{"wait": 0}] * MAX_STEPS, "caller")) == MAX_STEPS
    with pytest.raises(ScriptError, match="more than"):
        validate_script([{"wait": 0}] * (MAX_STEPS + 1), "caller")


def test_script_error_is_a_value_error() -> None:
    assert issubclass(ScriptError, ValueError)


def test_default_callee_rings_then_answers() -> None:
    assert validate_script(DEFAULT_CALLEE, "callee") == [{"ring": 1.0}, {"answer": True}]
