"""What a client asked for, independent of the dialect that carried it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ReqId = str | int | None


@dataclass(slots=True)
class Connect:
    req_id: ReqId
    project: str | None
    token: str | None
    jwt: str | None = None
    sessionid: str | None = None  # v2 Node resume
    protocol: str | None = None  # v4 resume
    authorization_state: str | None = None  # v4 resume blob
    contexts: list[str] = field(default_factory=list)
    agent: str = ""


@dataclass(slots=True)
class Setup:
    """v2 `blade.execute {protocol:"signalwire", method:"setup"}`: allocate (or resume) a protocol."""

    req_id: ReqId
    protocol: str | None


@dataclass(slots=True)
class Subscribe:
    req_id: ReqId
    protocol: str | None
    channels: list[str]


@dataclass(slots=True)
class Ping:
    req_id: ReqId


@dataclass(slots=True)
class Receive:
    req_id: ReqId
    contexts: list[str]
    add: bool = True


@dataclass(slots=True)
class Execute:
    """A domain command (`calling.*`, `messaging.*`); `protocol` is the v2 envelope's, if any."""

    req_id: ReqId
    method: str
    params: dict[str, Any]
    protocol: str | None = None


@dataclass(slots=True)
class Ack:
    """The client's answer to a server request (v4 event acks, server pings)."""

    req_id: ReqId


@dataclass(slots=True)
class Goodbye:
    """v4 client `signalwire.disconnect`: answer `{}` and close."""

    req_id: ReqId


@dataclass(slots=True)
class Reject:
    """A request the dialect itself refuses; `reply` is the error frame (None: send nothing)."""

    reply: dict[str, Any] | None
    reason: str


Command = Connect | Setup | Subscribe | Ping | Receive | Execute | Ack | Goodbye | Reject
