"""Failures of a domain command, reported to the client as a RELAY `{code, message}` result."""

from __future__ import annotations

from typing import Any


class RelayError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def bad_request(message: str) -> RelayError:
    return RelayError("400", message)


def not_found(message: str) -> RelayError:
    return RelayError("404", message)


class UnknownMethod(Exception):
    """No domain service handles this method: the dialect answers with a JSON-RPC error."""
