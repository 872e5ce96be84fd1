"""Dial targets: validation and normalisation of devices and serial/parallel groups."""

from __future__ import annotations

from typing import Any

import pytest

from relaybox.domain.devices import (
    DEFAULT_TIMEOUT,
    is_phone_number,
    is_sip_uri,
    leg_timeout,
    normalize_device,
    normalize_groups,
)
from relaybox.domain.errors import RelayError

A, B, C = "+15551110000", "+15552220000", "+15553330000"


def phone(to: str = B, frm: str = A, **extra: Any) -> dict[str, Any]:
    return {"type": "phone", "params": {"from_number": frm, "to_number": to, **extra}}


def refused(fn: Any, *args: Any, match: str | None = None) -> str:
    with pytest.raises(RelayError) as err:
        fn(*args)
    assert err.value.code == "400"
    assert err.value.message
    if match:
        assert match in err.value.message
    return err.value.message


# ---------------------------------------------------------------------------------------------- phone


def test_nested_phone_device() -> None:
    assert normalize_device(phone(timeout=30)) == {
        "type": "phone", "params": {"from_number": A, "to_number": B, "timeout": 30}
    }


def test_flat_phone_device() -> None:
    assert normalize_device({"type": "phone", "from_number": A, "to_number": B}) == phone()


def test_type_defaults_to_phone() -> None:
    assert normalize_device({"params": {"from_number": A, "to_number": B}}) == phone()


def test_phone_to_and_from_aliases() -> None:
    assert normalize_device({"type": "phone", "params": {"from": A, "to": B}}) == phone()


def test_extra_phone_params_are_kept() -> None:
    out = normalize_device(phone(call_state_events=["ended"], region="us"))
    assert out["params"]["call_state_events"] == ["ended"]
    assert out["params"]["region"] == "us"


def test_input_is_not_mutated() -> None:
    device = {"type": "phone", "params": {"from": A, "to": B, "timeout": "30"}}
    normalize_device(device)
    assert device == {"type": "phone", "params": {"from": A, "to": B, "timeout": "30"}}


@pytest.mark.parametrize(
    "number", ["15552220000", "+0555", "+1", "+1555222000011111", "+1555-222-0000", "", "+1 5552220000", 15552220000]
)
def test_phone_numbers_must_be_e164(number: Any) -> None:
    refused(normalize_device, phone(to=number), match="to_number")
    refused(normalize_device, phone(frm=number), match="from_number")


def test_phone_needs_both_numbers() -> None:
    refused(normalize_device, {"type": "phone", "params": {"to_number": B}}, match="from_number")
    refused(normalize_device, {"type": "phone", "params": {"from_number": A}}, match="to_number")


@pytest.mark.parametrize("device", [None, "phone", [phone()], 5])
def test_device_must_be_an_object(device: Any) -> None:
    refused(normalize_device, device, match="object")


def test_params_must_be_an_object() -> None:
    refused(normalize_device, {"type": "phone", "params": [A, B]}, match="params")


@pytest.mark.parametrize("dtype", ["webrtc", "fax", "", 5])
def test_unsupported_type(dtype: Any) -> None:
    refused(normalize_device, {"type": dtype, "params": {"from_number": A, "to_number": B}}, match="unsupported")


def test_where_is_in_the_message() -> None:
    refused(normalize_device, phone(to="x"), "devices[1][0]", match="devices[1][0]")


def test_defaults_fill_missing_params_only() -> None:
    out = normalize_device({"type": "phone", "params": {"to_number": B}}, "d", {"from_number": A, "timeout": 10})
    assert out["params"] == {"to_number": B, "from_number": A, "timeout": 10}
    out = normalize_device(phone(timeout=20), "d", {"timeout": 10})
    assert out["params"]["timeout"] == 20


# ---------------------------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize(("value", "expected"), [(30, 30), (0.5, 0.5), ("45", 45.0), (600, 600)])
def test_good_timeouts(value: Any, expected: float) -> None:
    out = normalize_device(phone(timeout=value))
    assert out["params"]["timeout"] == expected
    assert leg_timeout(out) == float(expected)


@pytest.mark.parametrize("value", [0, -1, 601, "abc", "", True, [30], {"s": 1}, "inf", "nan"])
def test_bad_timeouts(value: Any) -> None:
    refused(normalize_device, phone(timeout=value), match="timeout")


def test_null_timeout_is_ignored() -> None:
    out = normalize_device(phone(timeout=None))
    assert leg_timeout(out) == DEFAULT_TIMEOUT


def test_leg_timeout_default() -> None:
    assert leg_timeout(normalize_device(phone())) == DEFAULT_TIMEOUT


@pytest.mark.parametrize("value", [0, -5, 86401, "x", False])
def test_bad_device_max_duration(value: Any) -> None:
    refused(normalize_device, phone(max_duration=value), match="max_duration")


def test_good_device_max_duration() -> None:
    assert normalize_device(phone(max_duration="60"))["params"]["max_duration"] == 60.0


# ---------------------------------------------------------------------------------------------- sip


def sip(**params: Any) -> dict[str, Any]:
    return {"type": "sip", "params": {"to": "sip:bob@example.com", **params}}


def test_sip_device_keeps_headers_and_codecs() -> None:
    headers = [{"name": "X-Account", "value": "42"}, {"name": "P-Asserted-Identity", "value": "<sip:a@b>"}]
    out = normalize_device(sip(**{"from": "sip:alice@example.com", "headers": headers, "codecs": ["PCMU", "OPUS"]}))
    assert out["type"] == "sip"
    assert out["params"]["headers"] == headers
    assert out["params"]["codecs"] == ["PCMU", "OPUS"]


def test_flat_sip_device() -> None:
    out = normalize_device({"type": "sip", "to": "sips:bob@example.com", "from": A})
    assert out == {"type": "sip", "params": {"to": "sips:bob@example.com", "from": A}}


@pytest.mark.parametrize("to", ["bob@example.com", "tel:+15551110000", "sip:", "sip:bob @x", "", None, 5, A])
def test_sip_to_must_be_a_sip_uri(to: Any) -> None:
    refused(normalize_device, {"type": "sip", "params": {"to": to}}, match="'to'")


@pytest.mark.parametrize("frm", ["alice", 5, "http://x"])
def test_sip_from_must_be_uri_or_number(frm: Any) -> None:
    refused(normalize_device, sip(**{"from": frm}), match="'from'")


@pytest.mark.parametrize(
    "headers",
    [
        "X-A: 1",
        {"name": "X-A", "value": "1"},
        [{"name": "X A", "value": "1"}],
        [{"name": "X-A:", "value": "1"}],
        [{"name": "", "value": "1"}],
        [{"name": "X-A", "value": 1}],
        [{"name": "X-A"}],
        [{"value": "1"}],
        ["X-A"],
    ],
)
def test_bad_sip_headers(headers: Any) -> None:
    refused(normalize_device, sip(headers=headers), match="header")


@pytest.mark.parametrize("codecs", ["PCMU", [1], [""], [None], {"a": 1}])
def test_bad_codecs(codecs: Any) -> None:
    refused(normalize_device, sip(codecs=codecs), match="codecs")


def test_sip_timeout_is_validated_too() -> None:
    refused(normalize_device, sip(timeout=-1), match="timeout")


def test_predicates() -> None:
    assert is_phone_number("+15551110000") and not is_phone_number("5551110000")
    assert is_sip_uri("sip:a@b") and is_sip_uri("SIPS:a@b.c") and is_sip_uri("sip:trunk")
    assert not is_sip_uri("tel:+1555") and not is_sip_uri("sip:a b@c")


# ---------------------------------------------------------------------------------------------- groups


def test_serial_groups_of_parallel_devices() -> None:
    groups = normalize_groups([[phone(B), phone(C)], [phone("+15554440000")]])
    assert [[d["params"]["to_number"] for d in g] for g in groups] == [[B, C], ["+15554440000"]]


def test_single_group() -> None:
    assert normalize_groups([[phone()]]) == [[phone()]]


def test_flat_list_means_one_device_per_group() -> None:
    groups = normalize_groups([phone(B), phone(C)])
    assert groups == [[phone(B)], [phone(C)]]


def test_mixed_flat_and_nested_entries() -> None:
    groups = normalize_groups([phone(B), [phone(C), sip()]])
    assert [len(g) for g in groups] == [1, 2]
    assert groups[1][1]["type"] == "sip"


def test_flat_form_devices_inside_groups() -> None:
    groups = normalize_groups([[{"type": "phone", "from_number": A, "to_number": B}]])
    assert groups == [[phone()]]


@pytest.mark.parametrize("devices", [None, [], {}, "x", phone()])
def test_devices_must_be_a_non_empty_list(devices: Any) -> None:
    refused(normalize_groups, devices, match="'devices'")


def test_empty_group_is_refused() -> None:
    refused(normalize_groups, [[phone()], []], match="devices[1]")


def test_bad_device_in_a_group_names_its_position() -> None:
    refused(normalize_groups, [[phone()], [phone(), phone(to="bad")]], match="devices[1][1]")


def test_three_levels_of_nesting_are_refused() -> None:
    refused(normalize_groups, [[[phone()]]], match="object")


def test_group_defaults_apply_to_every_device() -> None:
    groups = normalize_groups([[{"type": "phone", "params": {"to_number": B}}]], {"from_number": A})
    assert groups[0][0]["params"]["from_number"] == A


def test_sip_device_as_signalwire_2x_sends_it() -> None:
    # signalwire 2.1.1's calling.dial(call_type='sip', from_number=..., to_number=...) names the keys so
    out = normalize_device({"type": "sip", "params": {"from_number": "sip:a@example.com", "to_number": "sip:b@h"}})
    assert out["params"]["to"] == "sip:b@h"
    assert out["params"]["from"] == "sip:a@example.com"
    refused(normalize_device, {"type": "sip", "params": {"to_number": "+15551230000"}}, match="'to'")
