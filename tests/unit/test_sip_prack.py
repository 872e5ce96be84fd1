"""RFC 3262 reliable provisional responses (100rel / PRACK), UAS side, without sockets: the sans-I/O state
and the engine + leg glue with the transports replaced by a recorder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from test_sip_engine import PEER, _invite, feed, make_engine

from relaybox.engines.sip import SipEngine
from relaybox.engines.sip.leg import SipLeg
from relaybox.sip.dialog import initial_request
from relaybox.sip.message import Request, make_response, parse
from relaybox.sip.prack import ReliableProvisionals, parse_rack, requires_100rel
from relaybox.storage.sip import check_trunk


def prack(rseq: int, cseq: int = 1, *, to_tag: str = "", call_id: str = "inv-1", pcseq: int = 2) -> Request:
    to = "<sip:+15552220000@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    req = initial_request("PRACK", "sip:relaybox@127.0.0.1:5060", "<sip:x@127.0.0.1>", to, "127.0.0.1", PEER[1],
                          "UDP", call_id=call_id, cseq=pcseq, extra=[("RAck", f"{rseq} {cseq} INVITE")])
    return req


# ------------------------------------------------------------------------------------------------ sans-I/O


def test_rack_and_require_parsing() -> None:
    assert parse_rack("4711 1 INVITE") == (4711, 1, "INVITE")
    assert parse_rack("x 1 INVITE") is None and parse_rack(None) is None and parse_rack("1 1") is None
    assert requires_100rel(_invite("x", extra=[("Require", "timer, 100rel")]))
    assert not requires_100rel(_invite("x", extra=[("Supported", "100rel")]))  # Supported only: unreliable 18x


def test_reliable_180_carries_require_and_rseq_and_retransmits_until_prack() -> None:
    state = ReliableProvisionals(1, t1=0.5, t2=4.0, rseq=100)
    resp = state.stamp(make_response(_invite("x"), 180, to_tag="t"), now=0.0)
    wire = parse(resp.serialize())
    assert wire.headers.get("Require") == "100rel" and wire.headers.get("RSeq") == "100"
    assert state.outstanding and state.next_deadline() == 0.5
    times = []
    now = 0.0
    while (deadline := state.next_deadline()) is not None and deadline < 30:
        now = deadline
        if state.poll(now) == "retransmit":
            times.append(now)
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5]  # T1 doubling, capped at T2
    assert not state.prack(prack(99))  # another RSeq
    assert not state.prack(prack(100, cseq=2))  # another INVITE
    assert state.prack(prack(100))
    assert not state.outstanding and state.next_deadline() is None and state.poll(now + 1) is None
    assert state.prack(prack(100))  # a retransmitted PRACK still matches
    nxt = state.stamp(make_response(_invite("x"), 183, to_tag="t"), now=40.0)
    assert nxt.headers.get("RSeq") == "101"  # +1 per reliable provisional


def test_no_prack_in_64_t1_times_out() -> None:
    state = ReliableProvisionals(1, t1=0.5, t2=4.0)
    state.stamp(make_response(_invite("x"), 180, to_tag="t"), now=10.0)
    outcomes = []
    while (deadline := state.next_deadline()) is not None:
        outcomes.append((deadline, state.poll(deadline)))
    assert outcomes[-1] == (10.0 + 32.0, "timeout") and not state.outstanding


# ------------------------------------------------------------------------------------------------ engine glue


class StubEndpoint:
    port = 40000
    started = False

    def start(self, *args: Any) -> None:
        self.started = True

    def update(self, *args: Any) -> None:
        pass

    def hold(self, on: bool) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    eng = make_engine(tmp_path)
    eng.store.add_trunk(check_trunk("t", f"sip:127.0.0.1:{PEER[1]}", None, None, []))
    eng.spawn = lambda coro: coro.close()  # type: ignore[method-assign]  # no leg setup (RTP port, app)
    return eng


def ringing_leg(engine: SipEngine, t1: float = 0.5) -> tuple[SipLeg, Any]:
    """An inbound leg for an INVITE with Require: 100rel, ringing (as `setup_inbound` leaves it)."""
    sent = engine.transports.sent  # type: ignore[attr-defined]
    invite = _invite("x", extra=[("Require", "100rel")])
    engine.on_message(parse(invite.serialize()), PEER, "UDP")
    (leg,) = engine.legs.values()  # its setup (RTP port, the app) is not run: see the fixture
    assert leg.reliable is not None
    leg.reliable.t1, leg.reliable.t2 = t1, 8 * t1
    leg.endpoint = StubEndpoint()
    leg.state = "early"
    leg.provisional(180)
    return leg, sent


def test_engine_2xx_waits_for_prack_and_prack_gets_200(engine: SipEngine) -> None:
    async def go() -> None:
        engine.loop = asyncio.get_running_loop()
        leg, _ = ringing_leg(engine)
        ringing = engine.transports.responses()[-1]  # type: ignore[attr-defined]
        assert ringing.status == 180 and ringing.headers.get("Require") == "100rel"
        rseq = int(ringing.headers.get("RSeq") or 0)
        assert ringing.headers.get("Contact")  # the early dialog's target for the PRACK
        leg.provisional(183)  # one unacknowledged reliable 18x at a time
        assert engine.transports.responses()[-1] is ringing  # type: ignore[attr-defined]
        leg.answer()
        assert leg.answer_held and [r.status for r in engine.transports.responses()] == [100, 180]  # type: ignore[attr-defined]
        assert [r.status for r in feed(engine, prack(rseq + 7, to_tag=leg.local_tag))] == [481]
        out = feed(engine, prack(rseq, to_tag=leg.local_tag, pcseq=3))
        assert [(r.status, r.cseq[1]) for r in out] == [(200, "PRACK"), (200, "INVITE")]
        assert b"m=audio 40000" in out[1].body and leg.state == "answered" and not leg.answer_held
        assert leg._reliable_timer is None

    asyncio.run(go())


def test_engine_stray_prack_gets_481(engine: SipEngine) -> None:
    async def go() -> None:
        engine.loop = asyncio.get_running_loop()
        assert [r.status for r in feed(engine, prack(1, to_tag="nobody"))] == [481]
        allow = feed(engine, initial_request("OPTIONS", "sip:x@127.0.0.1", "<sip:a@b>", "<sip:x@127.0.0.1>",
                                             "127.0.0.1", PEER[1], "UDP", call_id="o1"))[0]
        assert "PRACK" in (allow.headers.get("Allow") or "") and "100rel" in (allow.headers.get("Supported") or "")

    asyncio.run(go())


def test_engine_retransmits_the_reliable_180_then_rejects_with_504(engine: SipEngine) -> None:
    async def go() -> None:
        engine.loop = asyncio.get_running_loop()
        leg, _ = ringing_leg(engine, t1=0.01)
        await asyncio.sleep(0.8)  # 64*T1 = 0.64 s
        statuses = [r.status for r in engine.transports.responses()]  # type: ignore[attr-defined]
        assert statuses[:2] == [100, 180] and statuses.count(180) >= 5 and statuses[-1] == 504
        assert leg.state == "ended" and (leg.call_id, leg.local_tag) not in engine.legs

    asyncio.run(go())
