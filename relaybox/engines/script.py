"""Validation of virtual-phone scripts (pure): a list of one-key steps, checked for the phone's role.

A callee is the phone the platform calls; a caller places a call into the platform. Ringing,
answering and refusing only make sense for a callee.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Role = Literal["callee", "caller"]

MAX_STEPS = 200
MAX_SECONDS = 3600.0
WAIT_FOR = ("prompt", "play", "silence", "answer", "hangup")
CALLEE_ONLY = frozenset({"ring", "answer", "reject", "no_answer"})
DTMF = re.compile(r"^[0-9*#A-Dw]+$", re.IGNORECASE)
DEFAULT_CALLEE: list[dict[str, Any]] = [{"ring": 1}, {"answer": True}]


class ScriptError(ValueError):
    pass


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
        raise ScriptError(f"{where} must be a number of seconds between 0 and {MAX_SECONDS:g}")
    return float(value)


def _true(value: Any, where: str) -> bool:
    if value is not True:
        raise ScriptError(f"{where} must be true")
    return True


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 2000:
        raise ScriptError(f"{where} must be a non-empty string (at most 2000 characters)")
    return value


def _step(step: Any, where: str, role: Role) -> dict[str, Any]:
    if not isinstance(step, dict) or len(step) != 1:
        raise ScriptError(f"{where} must be an object with exactly one key, e.g. {{\"wait\": 1}}")
    (kind, value), = step.items()
    if kind in CALLEE_ONLY and role == "caller":
        raise ScriptError(f"{where}: '{kind}' is a step for a phone being called, not for the caller")
    here = f"{where}.{kind}"
    if kind in ("ring", "wait"):
        return {kind: _seconds(value, here)}
    if kind in ("answer", "no_answer", "hangup"):
        return {kind: _true(value, here)}
    if kind == "reject":
        if value not in ("busy", "decline"):
            raise ScriptError(f"{here} must be 'busy' or 'decline'")
        return {kind: value}
    if kind == "wait_for":
        if value not in WAIT_FOR:
            raise ScriptError(f"{here} must be one of {', '.join(WAIT_FOR)}")
        return {kind: value}
    if kind == "press":
        if not isinstance(value, str) or not DTMF.match(value):
            raise ScriptError(f"{here} must be DTMF digits 0-9 * # A-D with w/W pauses")
        return {kind: value}
    if kind == "say":
        return {kind: _text(value, here)}
    if kind == "machine":
        if not isinstance(value, dict) or set(value) - {"greeting", "beep"}:
            raise ScriptError(f"{here} must be {{\"greeting\": TEXT, \"beep\": true|false}}")
        greeting = _text(value.get("greeting", "Please leave a message after the tone."), f"{here}.greeting")
        beep = value.get("beep", True)
        if not isinstance(beep, bool):
            raise ScriptError(f"{here}.beep must be true or false")
        return {kind: {"greeting": greeting, "beep": beep}}
    if kind == "fax":
        if not isinstance(value, dict) or set(value) - {"pages"}:
            raise ScriptError(f"{here} must be {{\"pages\": N}}")
        pages = value.get("pages", 1)
        if isinstance(pages, bool) or not isinstance(pages, int) or not 1 <= pages <= 100:
            raise ScriptError(f"{here}.pages must be a whole number from 1 to 100")
        return {kind: {"pages": pages}}
    raise ScriptError(f"{where}: unknown step '{kind}'")


def validate_script(script: Any, role: Role) -> list[dict[str, Any]]:
    if not isinstance(script, list):
        raise ScriptError("script must be a list of steps")
    if len(script) > MAX_STEPS:
        raise ScriptError(f"script has more than {MAX_STEPS} steps")
    return [_step(step, f"script[{i}]", role) for i, step in enumerate(script)]
