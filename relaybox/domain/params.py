"""Small validators for command params: each failure is a 400 naming the offending field."""

from __future__ import annotations

from typing import Any

from relaybox.domain.errors import bad_request


def req_str(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise bad_request(f"'{key}' is required and must be a non-empty string")
    return value


def opt_str(params: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = params.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request(f"'{key}' must be a string")
    return value


def opt_number(
    params: dict[str, Any], key: str, default: float | None = None, *, low: float | None = None,
    high: float | None = None,
) -> float | None:
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, str):  # some clients send numbers as strings
        try:
            value = float(value)
        except ValueError:
            raise bad_request(f"'{key}' must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"'{key}' must be a number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise bad_request(f"'{key}' must be between {low} and {high}")
    return float(value)


def opt_dict(params: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"'{key}' must be an object")
    return value
