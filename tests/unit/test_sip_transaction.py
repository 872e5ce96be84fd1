"""RFC 3261 transaction state machines driven by clock readings (no sockets, no sleeping)."""

from __future__ import annotations

from relaybox.sip.dialog import initial_request
from relaybox.sip.message import Request, Response, make_response, parse
from relaybox.sip.transaction import Deliver, Send, Timeout, TransactionLayer

ADDR = ("127.0.0.1", 5062)


def _req(method: str = "INVITE", transport: str = "UDP") -> Request:
    return initial_request(method, "sip:bob@127.0.0.1", "<sip:alice@127.0.0.1>", "<sip:bob@127.0.0.1>",
                           "127.0.0.1", 5060, transport, call_id="c1@x")


def _wire(msg: Request | Response) -> Request | Response:
    return parse(msg.serialize())


def _sends(actions: list) -> list[Send]:
    return [a for a in actions if isinstance(a, Send)]


def test_invite_client_timer_a_doubles_and_b_times_out() -> None:
    layer = TransactionLayer()
    tx, out = layer.send_request(_req(), ADDR, "UDP", 0.0)
    assert tx is not None and len(_sends(out)) == 1
    times = []
    now = 0.0
    while True:
        deadline = layer.next_deadline()
        if deadline is None:
            break
        now = deadline
        actions = layer.poll(now)
        if any(isinstance(a, Timeout) for a in actions):
            assert [a.timer for a in actions if isinstance(a, Timeout)] == ["B"]
            break
        if _sends(actions):
            times.append(now)
    assert times[:4] == [0.5, 1.5, 3.5, 7.5]  # A: T1, 2T1, 4T1, ...
    assert now == 32.0  # B: 64*T1
    assert tx.terminated


def test_invite_client_non_2xx_sends_ack_and_absorbs_retransmissions() -> None:
    layer = TransactionLayer()
    req = _req()
    tx, _ = layer.send_request(req, ADDR, "UDP", 0.0)
    out = layer.receive(_wire(make_response(req, 180, to_tag="t")), ADDR, "UDP", 0.1)
    assert [type(a) for a in out] == [Deliver] and tx.state == "proceeding"
    busy = _wire(make_response(req, 486, to_tag="t"))
    out = layer.receive(busy, ADDR, "UDP", 0.2)
    acks = _sends(out)
    assert len(acks) == 1 and isinstance(acks[0].message, Request) and acks[0].message.method == "ACK"
    assert acks[0].message.via[0] == req.via[0]  # same branch (17.1.1.3)
    assert any(isinstance(a, Deliver) for a in out)
    again = layer.receive(busy, ADDR, "UDP", 0.3)
    assert len(_sends(again)) == 1 and not any(isinstance(a, Deliver) for a in again)
    assert layer.poll(0.2 + 32.0) == [] and tx.terminated  # timer D


def test_invite_client_2xx_accepted_delivers_retransmissions() -> None:
    layer = TransactionLayer()
    req = _req()
    tx, _ = layer.send_request(req, ADDR, "UDP", 0.0)
    ok = _wire(make_response(req, 200, to_tag="t"))
    assert len(layer.receive(ok, ADDR, "UDP", 0.1)) == 1
    assert tx.state == "accepted"
    assert [type(a) for a in layer.receive(ok, ADDR, "UDP", 0.6)] == [Deliver]  # TU re-ACKs
    layer.poll(0.1 + 32.0)
    assert tx.terminated  # timer M


def test_non_invite_client_timer_e_caps_at_t2_and_k() -> None:
    layer = TransactionLayer()
    req = _req("OPTIONS")
    tx, _ = layer.send_request(req, ADDR, "UDP", 0.0)
    times = []
    while (d := layer.next_deadline()) is not None and d < 20:
        if _sends(layer.poll(d)):
            times.append(d)
    assert times[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]  # E doubles up to T2=4
    out = layer.receive(_wire(make_response(req, 200, to_tag="t")), ADDR, "UDP", 20.0)
    assert [type(a) for a in out] == [Deliver] and tx.state == "completed"
    layer.poll(25.0)
    assert tx.terminated  # timer K = T4


def test_non_invite_client_reliable_has_no_retransmissions_and_f_fires() -> None:
    layer = TransactionLayer()
    layer.send_request(_req("BYE", "TCP"), ADDR, "TCP", 0.0)
    assert layer.next_deadline() == 32.0
    out = layer.poll(32.0)
    assert [a.timer for a in out if isinstance(a, Timeout)] == ["F"]


def test_invite_server_retransmits_final_until_ack_then_i() -> None:
    layer = TransactionLayer()
    invite = _wire(_req())
    assert isinstance(invite, Request)
    out = layer.receive(invite, ADDR, "UDP", 0.0)
    (deliver,) = out
    assert isinstance(deliver, Deliver) and deliver.tx is not None
    tx = deliver.tx
    ringing = make_response(invite, 180, to_tag="u")
    layer.respond(tx, ringing, 0.0)
    # a retransmitted INVITE gets the last provisional again
    assert [a.message for a in _sends(layer.receive(invite, ADDR, "UDP", 0.2))] == [ringing]
    layer.respond(tx, make_response(invite, 486, to_tag="u"), 1.0)
    retrans = []
    for t in (1.5, 2.5, 4.5):
        retrans += _sends(layer.poll(t))
    assert len(retrans) == 3  # timer G
    ack = _wire(TransactionLayer._ack_for(invite, make_response(invite, 486, to_tag="u")))
    assert layer.receive(ack, ADDR, "UDP", 5.0) == []
    assert tx.state == "confirmed"
    assert layer.poll(10.1) == [] and tx.terminated  # timer I
    assert _sends(layer.poll(20.0)) == []


def test_invite_server_timer_h_without_ack() -> None:
    layer = TransactionLayer()
    invite = _wire(_req())
    (d,) = layer.receive(invite, ADDR, "UDP", 0.0)
    assert isinstance(d, Deliver) and d.tx is not None and isinstance(invite, Request)
    layer.respond(d.tx, make_response(invite, 603, to_tag="u"), 0.0)
    timeouts = []
    while (dl := layer.next_deadline()) is not None:
        timeouts += [a for a in layer.poll(dl) if isinstance(a, Timeout)]
    assert [t.timer for t in timeouts] == ["H"]


def test_invite_server_2xx_retransmitted_until_ack_matched_by_tu() -> None:
    layer = TransactionLayer()
    invite = _wire(_req())
    (d,) = layer.receive(invite, ADDR, "UDP", 0.0)
    assert isinstance(d, Deliver) and d.tx is not None and isinstance(invite, Request)
    layer.respond(d.tx, make_response(invite, 200, to_tag="u"), 0.0)
    assert len(_sends(layer.poll(0.5))) == 1
    ack = initial_request("ACK", "sip:rb@127.0.0.1", "<sip:alice@127.0.0.1>", "<sip:bob@127.0.0.1>;tag=u",
                          "127.0.0.1", 5062, "UDP", call_id="c1@x")
    out = layer.receive(_wire(ack), ADDR, "UDP", 0.7)
    assert [type(a) for a in out] == [Deliver] and out[0].tx is None  # the TU matches it to the dialog
    layer.ack_2xx(d.tx)
    assert _sends(layer.poll(5.0)) == [] and d.tx.terminated


def test_non_invite_server_absorbs_and_replays_then_j() -> None:
    layer = TransactionLayer()
    bye = _wire(_req("BYE"))
    (d,) = layer.receive(bye, ADDR, "UDP", 0.0)
    assert isinstance(d, Deliver) and d.tx is not None and isinstance(bye, Request)
    assert layer.receive(bye, ADDR, "UDP", 0.1) == []  # trying: absorbed
    ok = make_response(bye, 200)
    layer.respond(d.tx, ok, 0.2)
    assert [a.message for a in _sends(layer.receive(bye, ADDR, "UDP", 0.3))] == [ok]
    layer.poll(0.2 + 32.0)
    assert d.tx.terminated  # timer J


def test_cancel_finds_its_invite() -> None:
    from relaybox.sip.dialog import cancel_for

    layer = TransactionLayer()
    invite = _wire(_req())
    assert isinstance(invite, Request)
    (d,) = layer.receive(invite, ADDR, "UDP", 0.0)
    cancel = _wire(cancel_for(invite))
    assert isinstance(cancel, Request)
    assert layer.find_invite(cancel) is d.tx
    (dc,) = layer.receive(cancel, ADDR, "UDP", 0.1)
    assert isinstance(dc, Deliver) and dc.tx is not d.tx
