"""The Call state machine and the event bodies it produces."""

from __future__ import annotations

from typing import Any

import pytest

from relaybox.domain.calls import END_REASONS, Call, CallState, InvalidTransition, can_advance

S = CallState
DEVICE = {"type": "phone", "params": {"from_number": "+15551110000", "to_number": "+15552220000"}}


def make_call(**kw: Any) -> Call:
    args: dict[str, Any] = {
        "call_id": "c-1", "node_id": "n-1", "project": "p", "direction": "inbound", "device": DEVICE,
        "context": "office", "created_at": 1.0,
    }
    args.update(kw)
    return Call(**args)


ALLOWED = {
    (S.CREATED, S.RINGING), (S.CREATED, S.ANSWERED), (S.CREATED, S.ENDING),
    (S.RINGING, S.ANSWERED), (S.RINGING, S.ENDING),
    (S.ANSWERED, S.ENDING),
    (S.ENDING, S.ENDED),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("new", list(S))
def test_transition_table(current: CallState, new: CallState) -> None:
    assert can_advance(current, new) is ((current, new) in ALLOWED)


def _walk(call: Call, *states: CallState) -> None:
    for i, state in enumerate(states):
        call.advance(state, 10.0 + i)


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), S.ENDED),  # created -> ended must go through ending
        ((), S.CREATED),
        ((S.RINGING,), S.RINGING),
        ((S.RINGING,), S.CREATED),
        ((S.RINGING, S.ANSWERED), S.RINGING),
        ((S.RINGING, S.ANSWERED), S.ANSWERED),
        ((S.RINGING, S.ANSWERED), S.ENDED),
        ((S.ENDING,), S.ANSWERED),
        ((S.ENDING, S.ENDED), S.ENDING),
        ((S.ENDING, S.ENDED), S.ENDED),
        ((S.ENDING, S.ENDED), S.ANSWERED),
    ],
)
def test_refused_transitions_raise_and_leave_the_call_alone(path: tuple[CallState, ...], refused: CallState) -> None:
    call = make_call()
    _walk(call, *path)
    before = (call.state, call.end_reason, call.answered_at, call.ended_at)
    with pytest.raises(InvalidTransition):
        call.advance(refused, 99.0)
    assert (call.state, call.end_reason, call.answered_at, call.ended_at) == before


def test_full_lifecycle_timestamps_and_reason() -> None:
    call = make_call()
    assert call.state is S.CREATED
    assert call.answered_at is None and call.ended_at is None and call.end_reason is None
    call.advance(S.RINGING, 2.0)
    call.advance(S.ANSWERED, 3.5)
    assert call.answered_at == 3.5
    assert not call.is_over
    call.advance(S.ENDING, 7.0, "busy")
    assert call.is_over
    assert call.end_reason == "busy"
    assert call.ended_at is None
    call.advance(S.ENDED, 8.0)
    assert call.ended_at == 8.0
    assert call.end_reason == "busy"  # kept from ending when ended gives none
    assert call.created_at == 1.0


def test_end_reason_defaults_to_hangup() -> None:
    call = make_call()
    call.advance(S.ENDING, 1.0)
    assert call.end_reason == "hangup"
    call.advance(S.ENDED, 2.0)
    assert call.end_reason == "hangup"


def test_ended_reason_overrides_ending_reason() -> None:
    call = make_call()
    call.advance(S.ENDING, 1.0, "cancel")
    call.advance(S.ENDED, 2.0, "noAnswer")
    assert call.end_reason == "noAnswer"


def test_end_reasons_are_the_documented_set() -> None:
    assert {"hangup", "cancel", "busy", "noAnswer", "decline", "error", "max_duration"} <= END_REASONS


def test_from_and_to_for_phone_and_sip_devices() -> None:
    call = make_call()
    assert (call.from_, call.to) == ("+15551110000", "+15552220000")
    sip = make_call(device={"type": "sip", "params": {"from": "sip:a@x", "to": "sip:b@y"}})
    assert (sip.from_, sip.to) == ("sip:a@x", "sip:b@y")
    assert make_call(device={"type": "phone"}).to == ""


# ---------------------------------------------------------------------------------------------- event bodies


def test_state_params_basic_fields() -> None:
    call = make_call()
    call.advance(S.RINGING, 2.0)
    params = call.state_params()
    assert params["call_id"] == "c-1"
    assert params["node_id"] == "n-1"
    assert params["call_state"] == "ringing"
    assert params["direction"] == "inbound"
    assert params["device"] == DEVICE
    assert isinstance(params["device"]["params"], dict)
    assert "tag" not in params  # only when set
    assert "end_reason" not in params
    assert "peer" not in params
    assert "created_by" not in params


def test_state_params_tag_and_created_by_when_set() -> None:
    call = make_call(direction="outbound", tag="tag-1", created_by="dial")
    params = call.state_params()
    assert params["tag"] == "tag-1"
    assert params["created_by"] == "dial"
    assert params["call_state"] == "created"


@pytest.mark.parametrize("state", [S.CREATED, S.RINGING, S.ANSWERED])
def test_no_end_reason_before_ending(state: CallState) -> None:
    call = make_call()
    if state is not S.CREATED:
        call.advance(state, 1.0)
    assert "end_reason" not in call.state_params()


def test_end_reason_on_ending_and_ended() -> None:
    call = make_call()
    call.advance(S.ENDING, 1.0, "decline")
    assert call.state_params()["end_reason"] == "decline"
    assert call.state_params()["call_state"] == "ending"
    call.advance(S.ENDED, 2.0)
    assert call.state_params()["end_reason"] == "decline"
    assert call.state_params()["call_state"] == "ended"


def test_peer_when_set() -> None:
    call = make_call()
    call.peer = {"call_id": "c-2", "node_id": "n-1"}
    assert call.state_params()["peer"] == {"call_id": "c-2", "node_id": "n-1"}


def test_receive_params() -> None:
    call = make_call()
    call.advance(S.RINGING, 2.0)
    params = call.receive_params()
    assert params["call_state"] == "created"  # always announced as created
    assert params["context"] == "office"
    assert params["direction"] == "inbound"
    assert params["device"] == DEVICE
    assert params["call_id"] == "c-1"
    assert params["node_id"] == "n-1"
    assert params["project_id"] == "p"


def test_info() -> None:
    call = make_call(tag="t")
    info = call.info()
    # what calling.call.dial's `call` and `peer` need (Node takes call_id/node_id, and device for multi-dial)
    assert {k: info[k] for k in ("call_id", "node_id", "tag", "device")} == {
        "call_id": "c-1", "node_id": "n-1", "tag": "t", "device": DEVICE
    }
    for key, value in (("call_state", "created"), ("direction", "inbound"), ("context", "office")):
        assert info.get(key, value) == value  # optional extras, when present, describe this call
