"""Drive `relaybox.gateway.link.Link` through a real RelayBox (no sockets): a transport that records frames."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from relaybox.app import RelayBox, Settings
from relaybox.clock import ManualClock
from relaybox.gateway import gateway as gateway_module
from relaybox.gateway.link import Link

PROJECT, TOKEN = "p", "t"


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    def send_text(self, text: str) -> None:
        assert self.closed is None, "frame sent after close"
        self.sent.append(json.loads(text))

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class Client:
    """One fake connection. `request` sends a frame and returns the reply with its id."""

    _ids = itertools.count(1)

    def __init__(self, box: RelayBox, name: str = "client") -> None:
        self.box = box
        self.transport = FakeTransport()
        self.link = Link(box.gateway, self.transport, peer=name)
        box.gateway.open_link(self.link)
        self.protocol: str | None = None
        self.sessionid: str | None = None

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.transport.sent

    def send_raw(self, data: str) -> list[dict[str, Any]]:
        """Send a text frame; the frames sent back synchronously."""
        before = len(self.sent)
        self.link.receive_text(data)
        return self.sent[before:]

    def send(self, frame: Any) -> list[dict[str, Any]]:
        return self.send_raw(json.dumps(frame))

    def request(self, method: str, params: Any = None, req_id: Any = None) -> dict[str, Any]:
        req_id = req_id if req_id is not None else f"req-{next(self._ids)}"
        frame: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id, "method": method}
        if params is not None:
            frame["params"] = params
        replies = [f for f in self.send(frame) if f.get("id") == req_id and ("result" in f or "error" in f)]
        assert len(replies) == 1, f"expected one reply to {method} id={req_id}, got {self.sent[-5:]}"
        return replies[0]

    def lost(self) -> None:
        """The socket went away (what ws.py does when the read loop ends)."""
        self.box.gateway.close_link(self.link)

    # -- events ----------------------------------------------------------------------------------

    def event_frames(self) -> list[dict[str, Any]]:
        return [f for f in self.sent if f.get("method") in ("signalwire.event", "blade.broadcast")]

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """(event_type, inner params) of every event, in both dialects, as {"event_type", "params", "id"}."""
        out = []
        for f in self.event_frames():
            if f["method"] == "signalwire.event":
                et, params = f["params"]["event_type"], f["params"]["params"]
            else:
                inner = f["params"]["params"]
                et, params = inner.get("event_type", "relay.task"), inner.get("params", inner)
            if event_type is None or et == event_type:
                out.append({"event_type": et, "params": params, "id": f["id"]})
        return out

    def receives(self) -> list[str]:
        return [e["params"]["call_id"] for e in self.events("calling.call.receive")]

    def states(self, call_id: str | None = None) -> list[str]:
        return [
            e["params"]["call_state"]
            for e in self.events("calling.call.state")
            if call_id is None or e["params"]["call_id"] == call_id
        ]

    def ack_all(self) -> None:
        for f in self.event_frames():
            self.send({"jsonrpc": "2.0", "id": f["id"], "result": {}})


class V2(Client):
    def connect(self, project: str = PROJECT, token: str = TOKEN, sessionid: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "version": {"major": 2, "minor": 3, "revision": 0},
            "authentication": {"project": project, "token": token},
            "agent": "test",
        }
        if sessionid:
            params["sessionid"] = sessionid
        reply = self.request("blade.connect", params)
        if "result" in reply:
            self.sessionid = reply["result"]["sessionid"]
        return reply

    def setup(self, protocol: str | None = None) -> dict[str, Any]:
        reply = self.request(
            "blade.execute",
            {"protocol": "signalwire", "method": "setup", "params": {"protocol": protocol} if protocol else {}},
        )
        if "result" in reply:
            self.protocol = reply["result"]["result"]["protocol"]
        return reply

    def execute(self, method: str, params: Any = None, protocol: str | None = None) -> dict[str, Any]:
        outer: dict[str, Any] = {"protocol": protocol or self.protocol, "method": method}
        if params is not None:
            outer["params"] = params
        return self.request("blade.execute", outer)

    def handshake(self, *contexts: str) -> None:
        assert "result" in self.connect()
        assert "result" in self.setup()
        assert "result" in self.request(
            "blade.subscription", {"command": "add", "protocol": self.protocol, "channels": ["notifications"]}
        )
        assert "result" in self.request("blade.ping", {})
        if contexts:
            assert self.execute("signalwire.receive", {"contexts": list(contexts)})["result"]["result"]["code"] == "200"

    def command(self, method: str, params: Any = None) -> dict[str, Any]:
        """A RELAY command's inner result (`result.result`)."""
        reply = self.execute(method, params)
        assert "result" in reply, reply
        return dict(reply["result"]["result"])

    def ping(self) -> bool:
        reply = self.request("blade.ping", {})
        return "result" in reply and "timestamp" in reply["result"]


class V4(Client):
    def connect(
        self, project: str = PROJECT, token: str = TOKEN, contexts: list[str] | None = None,
        protocol: str | None = None, authorization_state: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "version": {"major": 2, "minor": 0, "revision": 0},
            "agent": "test",
            "event_acks": True,
            "authentication": {"project": project, "token": token},
        }
        if contexts:
            params["contexts"] = contexts
        if protocol:
            params["protocol"] = protocol
        if authorization_state:
            params["authorization_state"] = authorization_state
        reply = self.request("signalwire.connect", params)
        if "result" in reply:
            self.protocol = reply["result"]["protocol"]
            self.sessionid = reply["result"]["sessionid"]
        return reply

    def handshake(self, *contexts: str) -> None:
        assert "result" in self.connect(contexts=list(contexts) or None)

    def command(self, method: str, params: Any = None) -> dict[str, Any]:
        reply = self.request(method, params if params is not None else {})
        assert "result" in reply, reply
        return dict(reply["result"])

    def ping(self) -> bool:
        reply = self.request("signalwire.ping", {})
        return "result" in reply and "timestamp" in reply["result"]


@asynccontextmanager
async def relaybox(tmp_path: Path) -> AsyncIterator[RelayBox]:
    box = RelayBox(Settings(data_dir=tmp_path, project=PROJECT, token=TOKEN), clock=ManualClock())
    try:
        yield box
    finally:
        for session in list(box.gateway.sessions.values()):
            if session.expiry is not None:
                session.expiry.cancel()
        box.calling.end_all("hangup", "test over")
        for task in list(box.calling._tasks):
            task.cancel()
        await box.network.close()
        await asyncio.sleep(0)
        box.store.close()


async def settle(box: RelayBox) -> None:
    """Let receive subscriptions (after the gateway's real-time RECEIVE_SETTLE) and call_soon effects run."""
    await asyncio.sleep(gateway_module.RECEIVE_SETTLE * 2 + 0.002)
    clock = box.clock
    if isinstance(clock, ManualClock):
        await clock.advance(0)


def call_in(box: RelayBox, context: str = "office", script: list[dict[str, Any]] | None = None,
            from_: str = "+15551110000", to: str = "+15552220000") -> str:
    phone = box.network.originate(project=PROJECT, from_=from_, to=to, script=script or [], context=context)
    assert phone.call is not None
    return phone.call.call_id
