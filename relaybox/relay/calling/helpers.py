"""Pure builders of the calling command params (wire spec §6); unit-tested without a server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DeviceSpec = dict[str, Any]


def prepare_device(device: DeviceSpec, default_from: str | None, default_timeout: int | float | None) -> DeviceSpec:
    """{'to_number', 'from_number'?, 'timeout'?, 'call_type'?} -> {'type', 'params'}."""
    params: dict[str, Any] = {
        "from_number": device.get("from_number", default_from),
        "to_number": device.get("to_number", ""),
    }
    timeout = device.get("timeout", default_timeout)
    if timeout:
        params["timeout"] = int(timeout)
    return {"type": device.get("call_type", "phone"), "params": params}


def prepare_connect_devices(
    devices: Sequence[DeviceSpec | Sequence[DeviceSpec]],
    default_from: str | None,
    default_timeout: int | float | None = None,
) -> list[list[DeviceSpec]]:
    """The serial-of-parallel `devices` of calling.connect: a dict is one serial step, a list a parallel group."""
    final: list[list[DeviceSpec]] = []
    for device in devices:
        if isinstance(device, dict):
            final.append([prepare_device(device, default_from, default_timeout)])
        elif isinstance(device, list | tuple):
            final.append([prepare_device(d, default_from, default_timeout) for d in device if isinstance(d, dict)])
    return final


def prepare_media_list(media_list: Sequence[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Flat user media ({'type': 'tts', 'text': ...}) -> wire media ({'type': 'tts', 'params': {...}})."""
    final: list[dict[str, Any]] = []
    for media in media_list or []:
        if not isinstance(media, dict):
            continue
        if "params" in media and isinstance(media["params"], dict) and set(media) <= {"type", "params"}:
            final.append({"type": media.get("type", ""), "params": dict(media["params"])})
            continue
        params = {k: v for k, v in media.items() if k != "type"}
        final.append({"type": media.get("type", ""), "params": params})
    return final


def prepare_record_params(
    record_type: str,
    beep: bool | None,
    record_format: str | None,
    stereo: bool | None,
    direction: str | None,
    initial_timeout: float | None,
    end_silence_timeout: float | None,
    terminators: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if isinstance(beep, bool):
        params["beep"] = beep
    if record_format is not None:
        params["format"] = record_format
    if isinstance(stereo, bool):
        params["stereo"] = stereo
    if direction is not None:
        params["direction"] = direction
    if initial_timeout is not None:
        params["initial_timeout"] = initial_timeout
    if end_silence_timeout is not None:
        params["end_silence_timeout"] = end_silence_timeout
    if terminators is not None:
        params["terminators"] = terminators
    return {record_type: params}


def prepare_collect_params(
    prompt_type: str,
    *,
    initial_timeout: float | None = None,
    digits_max: int | None = None,
    digits_terminators: str | None = None,
    digits_timeout: float | None = None,
    end_silence_timeout: float | None = None,
    speech_timeout: float | None = None,
    speech_language: str | None = None,
    speech_hints: list[str] | None = None,
) -> dict[str, Any]:
    """The `collect` object of calling.play_and_collect from the flat prompt parameters."""
    collect: dict[str, Any] = {}
    if prompt_type in ("both", "digits"):
        collect["digits"] = {}
    if prompt_type in ("both", "speech"):
        collect["speech"] = {}
    if initial_timeout is not None:
        collect["initial_timeout"] = initial_timeout
    if digits_max is not None:
        collect.setdefault("digits", {})["max"] = digits_max
    if digits_terminators is not None:
        collect.setdefault("digits", {})["terminators"] = digits_terminators
    if digits_timeout is not None:
        collect.setdefault("digits", {})["digit_timeout"] = digits_timeout
    if end_silence_timeout is not None:
        collect.setdefault("speech", {})["end_silence_timeout"] = end_silence_timeout
    if speech_timeout is not None:
        collect.setdefault("speech", {})["speech_timeout"] = speech_timeout
    if speech_language is not None:
        collect.setdefault("speech", {})["language"] = speech_language
    if speech_hints is not None:
        collect.setdefault("speech", {})["hints"] = list(speech_hints)
    return collect


def prepare_tap_params(
    audio_direction: str,
    target_type: str,
    target_addr: str | None = None,
    target_port: int | None = None,
    target_ptime: int | None = None,
    target_uri: str | None = None,
    rate: int | None = None,
    codec: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tap, device) of calling.tap."""
    tap = {"type": "audio", "params": {"direction": audio_direction}}
    params: dict[str, Any] = {}
    if target_addr is not None:
        params["addr"] = target_addr
    if target_port is not None:
        params["port"] = int(target_port)
    if target_ptime is not None:
        params["ptime"] = int(target_ptime)
    if target_uri is not None:
        params["uri"] = target_uri
    if rate is not None:
        params["rate"] = int(rate)
    if codec is not None:
        params["codec"] = codec
    return tap, {"type": target_type, "params": params}
