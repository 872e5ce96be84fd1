"""The SIP engine's decisions without sockets: registrar, who may call in, where a dial goes.

The engine's transports are replaced by a recorder; messages are fed to `on_message` as the transport would.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from relaybox.engines.sip import RoutingNetwork, SipEngine
from relaybox.sip.auth import authorization
from relaybox.sip.dialog import initial_request
from relaybox.sip.message import Request, Response, make_response, parse
from relaybox.storage.db import Store
from relaybox.storage.sip import SipStore, check_trunk

PEER = ("127.0.0.1", 5099)


class FakeTransports:
    def __init__(self) -> None:
        self.sent: list[tuple[Request | Response, tuple[str, int], str]] = []
        self.port = 5060

    def send(self, message: Request | Response, addr: tuple[str, int], transport: str) -> None:
        self.sent.append((parse(message.serialize()), addr, transport))  # what the wire would carry

    def local_host_for(self, remote_host: str) -> str:
        return "127.0.0.1"

    def responses(self) -> list[Response]:
        return [m for m, _, _ in self.sent if isinstance(m, Response)]


class FakeCalling:
    def __init__(self) -> None:
        self.inbound_calls: list[dict[str, Any]] = []


class Numbers:
    def context_for(self, number: str) -> str | None:
        return {"+15552220000": "office"}.get(number)


def make_engine(tmp_path: Path) -> Any:
    """A SipEngine on fake transports (what it sends is kept), a fake calling domain and a store in TMP_PATH."""
    store = SipStore(Store(tmp_path))
    eng = SipEngine(host="127.0.0.1", port=5060, calling=FakeCalling(), numbers=Numbers(), store=store,  # type: ignore[arg-type]
                    project=lambda: "p")
    eng.transports = FakeTransports()  # type: ignore[assignment]
    return eng


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    return make_engine(tmp_path)


def feed(engine: SipEngine, msg: Request, addr: tuple[str, int] = PEER) -> list[Response]:
    before = len(engine.transports.responses())  # type: ignore[attr-defined]
    engine.on_message(parse(msg.serialize()), addr, "UDP")
    return engine.transports.responses()[before:]  # type: ignore[attr-defined, no-any-return]


def register(user: str, contact_port: int = 7000, auth: str | None = None, cseq: int = 1,
             expires: int = 300) -> Request:
    extra = [("Expires", str(expires))] + ([("Authorization", auth)] if auth else [])
    return initial_request("REGISTER", "sip:127.0.0.1", f"<sip:{user}@127.0.0.1>", f"<sip:{user}@127.0.0.1>",
                           "127.0.0.1", PEER[1], "UDP", call_id="reg-1", cseq=cseq,
                           contact=f"<sip:{user}@127.0.0.1:{contact_port}>", extra=extra)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_register_challenge_then_bind_and_route(engine: SipEngine) -> None:
    async def go() -> None:
        engine.loop = asyncio.get_running_loop()
        engine.store.add_user("alice", "alice-pw")
        (challenge,) = feed(engine, register("alice"))
        assert challenge.status == 401
        www = challenge.headers.get("WWW-Authenticate") or ""
        bad = authorization(www, "REGISTER", "sip:127.0.0.1", "alice", "nope")
        assert [r.status for r in feed(engine, register("alice", auth=bad, cseq=2))] == [403]
        assert engine.binding("alice") is None
        good = authorization(www, "REGISTER", "sip:127.0.0.1", "alice", "alice-pw")
        (ok,) = feed(engine, register("alice", auth=good, cseq=3))
        assert ok.status == 200 and "expires=300" in (ok.headers.get("Contact") or "")
        binding = engine.binding("alice")
        assert binding is not None and binding.contact == "sip:alice@127.0.0.1:7000" and binding.source == PEER
        assert engine._trusted(_invite("alice"), PEER) == ("user", "alice")  # calls from where alice registered
        assert engine._trusted(_invite("alice"), ("127.0.0.1", 1)) is None
        target = engine.route({"type": "sip", "params": {"to": "sip:alice@127.0.0.1", "codecs": ["PCMA"],
                                                         "headers": [{"name": "X-A", "value": "1"},
                                                                     {"name": "P-Other", "value": "2"}]}})
        assert target is not None and target.addr == ("127.0.0.1", 7000) and target.codecs == ["PCMA"]
        assert target.headers == [("X-A", "1")]  # only custom X- headers go on the INVITE
        assert engine.route({"type": "sip", "params": {"to": "sip:bob@127.0.0.1"}}) is None  # sandbox
        assert engine.route({"type": "sip", "params": {"to": "sip:alice@example.com"}}) is None
        # too short an expiry, then unregister
        assert [r.status for r in feed(engine, register("alice", auth=good, cseq=4, expires=2))] == [423]
        assert [r.status for r in feed(engine, register("alice", auth=good, cseq=5, expires=0))] == [200]
        assert engine.binding("alice") is None

    run(go())


def test_registrations_survive_a_restart_until_they_expire(tmp_path: Path) -> None:
    """A restarted relaybox still reaches registered phones (with the time their binding has left); expired
    bindings, unregistered ones and those of deleted users are not restored."""

    def new_engine() -> SipEngine:
        eng = SipEngine(host="127.0.0.1", port=5060, calling=FakeCalling(), numbers=Numbers(),  # type: ignore[arg-type]
                        store=SipStore(Store(tmp_path)), project=lambda: "p")
        eng.transports = FakeTransports()  # type: ignore[assignment]
        return eng

    async def registered(eng: SipEngine, user: str, port: int, expires: int, cseq: int) -> None:
        (challenge,) = feed(eng, register(user, port, cseq=cseq, expires=expires))
        auth = authorization(challenge.headers.get("WWW-Authenticate") or "", "REGISTER", "sip:127.0.0.1", user,
                             f"{user}-pw")
        assert [r.status for r in feed(eng, register(user, port, auth=auth, cseq=cseq + 1, expires=expires))] \
            == [200]

    async def first() -> None:
        eng = new_engine()
        eng.loop = asyncio.get_running_loop()
        for user in ("alice", "bob", "carol", "dave"):
            eng.store.add_user(user, f"{user}-pw")
        await registered(eng, "alice", 7000, 300, 1)
        await registered(eng, "bob", 7001, 60, 10)
        await registered(eng, "carol", 7002, 300, 20)
        await registered(eng, "dave", 7003, 300, 30)
        assert [r.status for r in feed(eng, register("carol", 7002, cseq=40, expires=0))] == [401]  # needs auth
        await registered(eng, "carol", 7002, 0, 50)  # unregistered
        eng.store.delete_user("dave")
        # bob's binding ran out while relaybox was down: his stored expiry is in the past
        eng.store.save_registration("bob", {**eng.store.registrations()["bob"], "expires": time.time() - 1})

    async def second() -> None:
        eng = new_engine()
        eng.loop = asyncio.get_running_loop()
        assert eng.restore_registrations() == 1  # alice
        alice = eng.binding("alice")
        assert alice is not None and alice.contact == "sip:alice@127.0.0.1:7000" and alice.source == PEER
        assert 290 < alice.expires_at - eng.now() <= 300
        assert eng.binding("bob") is None and eng.binding("carol") is None and eng.binding("dave") is None
        target = eng.route({"type": "sip", "params": {"to": "sip:alice@127.0.0.1"}})
        assert target is not None and target.addr == ("127.0.0.1", 7000)
        assert set(eng.store.registrations()) == {"alice"}  # expired ones are gone from the store too

    run(first())
    run(second())


def _invite(from_user: str, extra: list[tuple[str, str]] | None = None, body: bytes = b"") -> Request:
    sdp = body or (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                   b"m=audio 4000 RTP/AVP 0\r\n")
    return initial_request("INVITE", "sip:+15552220000@127.0.0.1", f"<sip:{from_user}@127.0.0.1>",
                           "<sip:+15552220000@127.0.0.1>", "127.0.0.1", PEER[1], "UDP", call_id="inv-1",
                           contact=f"<sip:{from_user}@127.0.0.1:{PEER[1]}>", extra=extra, body=sdp,
                           content_type="application/sdp")


def test_who_may_call_in(engine: SipEngine) -> None:
    async def go() -> None:
        engine.loop = asyncio.get_running_loop()
        engine.store.add_user("carol", "carol-pw")
        (challenge,) = feed(engine, _invite("carol"))
        assert challenge.status == 407
        assert engine._trusted(_invite("x"), PEER) is None
        engine.store.add_trunk(check_trunk("t", f"sip:127.0.0.1:{PEER[1]}", None, None, ["+44"]))
        assert engine._trusted(_invite("x"), PEER) == ("trunk", "t")
        assert engine._trusted(_invite("x"), ("127.0.0.1", PEER[1] + 1)) is None  # the trunk URI names a port
        trunk_target = engine.route({"type": "phone", "params": {"to_number": "+442071230000",
                                                                 "from_number": "+15552220000"}})
        assert trunk_target is not None and trunk_target.request_uri == f"sip:+442071230000@127.0.0.1:{PEER[1]}"
        assert engine.route({"type": "phone", "params": {"to_number": "+15553330000"}}) is None

    run(go())


def test_bad_requests_get_stateless_errors_and_never_raise(engine: SipEngine) -> None:
    async def go() -> None:
        engine.loop = asyncio.get_running_loop()
        odd = initial_request("SUBSCRIBE", "sip:x@127.0.0.1", "<sip:a@b>", "<sip:x@127.0.0.1>", "127.0.0.1",
                              PEER[1], "UDP", call_id="s1")
        assert [r.status for r in feed(engine, odd)] == [405]
        required = initial_request("OPTIONS", "sip:x@127.0.0.1", "<sip:a@b>", "<sip:x@127.0.0.1>", "127.0.0.1",
                                   PEER[1], "UDP", call_id="o1", extra=[("Require", "100rel")])
        (unsupported,) = feed(engine, required)
        assert unsupported.status == 420 and unsupported.headers.get("Unsupported") == "100rel"
        bye = initial_request("BYE", "sip:x@127.0.0.1", "<sip:a@b>", "<sip:x@127.0.0.1>;tag=zz", "127.0.0.1",
                              PEER[1], "UDP", call_id="nope")
        assert [r.status for r in feed(engine, bye)] == [481]
        engine.store.add_trunk(check_trunk("t", f"sip:127.0.0.1:{PEER[1]}", None, None, []))
        no_codec = _invite("x", body=b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\n")
        (refused,) = feed(engine, no_codec)
        assert refused.status == 488
        no_contact = _invite("x")
        no_contact.headers.remove("Contact")
        assert [r.status for r in feed(engine, no_contact)] == [400]
        engine.on_message(ValueError("x"), PEER, "UDP")  # type: ignore[arg-type]  # a bug is logged, not raised
        assert engine.stats["errors"] == 1

    run(go())


def test_routing_network_dispatch() -> None:
    class Sandbox:
        placed: list[Any] = []

        def place(self, call: Any, listener: Any) -> str:
            self.placed.append(call)
            return "sandbox-leg"

        def originate(self) -> str:
            return "sandbox-extra"

    net = RoutingNetwork(None, Sandbox())  # type: ignore[arg-type]
    call = type("C", (), {"device": {"type": "sip", "params": {"to": "sip:a@b"}}})()
    assert net.place(call, None) == "sandbox-leg"  # type: ignore[arg-type]
    assert net.originate() == "sandbox-extra"


def test_inbound_device_and_context(engine: SipEngine) -> None:
    req = _invite("alice")
    device, context = engine.inbound_device(parse(req.serialize()))  # type: ignore[arg-type]
    assert context == "office"
    assert device == {"type": "sip", "params": {"from": "sip:alice@127.0.0.1", "to": "sip:+15552220000@127.0.0.1",
                                                "headers": []}}
    tel = initial_request("INVITE", "sip:+15552220000@127.0.0.1", "<tel:+15551110000>",
                          "<sip:+15552220000@127.0.0.1>", "127.0.0.1", PEER[1], "UDP", call_id="t1",
                          extra=[("X-Ticket", "7")])
    device, context = engine.inbound_device(parse(tel.serialize()))  # type: ignore[arg-type]
    assert device == {"type": "phone", "params": {"from_number": "+15551110000", "to_number": "+15552220000"}}
    other = initial_request("INVITE", "sip:sales@127.0.0.1", "<sip:bob@10.0.0.1>", "<sip:sales@127.0.0.1>",
                            "127.0.0.1", PEER[1], "UDP", call_id="t2", extra=[("X-Ticket", "7")])
    device, context = engine.inbound_device(parse(other.serialize()))  # type: ignore[arg-type]
    assert context == "default" and device["params"]["headers"] == [{"name": "X-Ticket", "value": "7"}]


def test_a_carrier_calling_the_registered_contact_is_routed_by_the_called_number(engine: SipEngine) -> None:
    engine.store.add_trunk(check_trunk("carrier", "sip:127.0.0.1:5099", "acct", "pw", [], True))
    req = initial_request("INVITE", "sip:acct@127.0.0.1:5060", "<sip:+15551110000@127.0.0.1>",
                          "<sip:+15552220000@127.0.0.1>", "127.0.0.1", PEER[1], "UDP", call_id="c1")
    device, context = engine.inbound_device(parse(req.serialize()), ("trunk", "carrier"))  # type: ignore[arg-type]
    assert context == "office"
    assert device == {"type": "phone", "params": {"from_number": "+15551110000", "to_number": "+15552220000"}}
    # the same INVITE from a trunk that does not register keeps the Request-URI's user (as before)
    engine.store.add_trunk(check_trunk("plain", "sip:127.0.0.1:5098", "acct", "pw", []))
    device, context = engine.inbound_device(parse(req.serialize()), ("trunk", "plain"))  # type: ignore[arg-type]
    assert context == "default" and device["params"]["to"] == "sip:acct@127.0.0.1"


def test_registering_trunks_follow_the_store(engine: SipEngine) -> None:
    async def go() -> None:
        engine.loop = asyncio.get_running_loop()
        sent: list[Request] = engine.transports.sent  # type: ignore[attr-defined, assignment]
        engine.store.add_trunk(check_trunk("carrier", "sip:127.0.0.1:5099", "acct", "pw", [], True, 120))
        engine.store.add_trunk(check_trunk("plain", "sip:127.0.0.1:5098", "x", "y", []))
        engine.registrations.sync()
        (first,) = [m for m, _, _ in sent]  # type: ignore[misc]
        assert isinstance(first, Request) and first.method == "REGISTER" and first.uri == "sip:127.0.0.1:5099"
        assert first.headers.get("Contact") == "<sip:acct@127.0.0.1:5060>;expires=120"
        assert sent[0][1] == ("127.0.0.1", 5099)  # type: ignore[index]
        granted = [("Contact", "<sip:acct@127.0.0.1:5060>;expires=60")]
        engine.on_message(make_response(first, 200, to_tag="r", extra=granted), ("127.0.0.1", 5099), "UDP")
        status = engine.registrations.status("carrier")
        assert status is not None and status["state"] == "registered" and status["last_error"] is None
        assert abs(status["expires_at"] - (time.time() + 60)) < 2
        assert engine.registrations.status("plain") is None
        engine.store.delete_trunk("carrier")
        engine.registrations.sync()
        last = sent[-1][0]  # type: ignore[index]
        assert isinstance(last, Request) and last.headers.get("Expires") == "0"
        assert engine.registrations.status("carrier") is None
        await engine.registrations.close()

    run(go())
