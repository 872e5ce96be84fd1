"""SDP offer/answer with hold, digest authentication and dialog request building (sans-I/O)."""

from __future__ import annotations

import pytest

from relaybox.sip import auth, sdp
from relaybox.sip.dialog import Dialog, initial_request
from relaybox.sip.message import Request, make_response, parse, parse_name_addr

OFFER = (
    b"v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 18 8 0 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\na=sendrecv\r\n"
)


def test_answer_picks_the_offerers_first_common_codec_and_dtmf() -> None:
    choice = sdp.negotiate_answer(sdp.parse(OFFER))
    assert (choice.codec, choice.payload_type, choice.dtmf_payload_type) == ("PCMA", 8, 101)
    assert (choice.remote_host, choice.remote_port) == ("10.0.0.5", 4000)
    body = sdp.answer_for(sdp.parse(OFFER), choice, "127.0.0.1", 20000)
    ans = sdp.parse(body)
    audio = ans.audio()
    assert audio is not None and audio.formats == [8, 101] and audio.port == 20000 and audio.direction == "sendrecv"


def test_answer_honours_preferences_and_refuses_no_common_codec() -> None:
    assert sdp.negotiate_answer(sdp.parse(OFFER), ["PCMU"]).codec == "PCMU"
    g729_only = OFFER.replace(b"18 8 0 101", b"18")
    with pytest.raises(sdp.SdpError):
        sdp.negotiate_answer(sdp.parse(g729_only))
    with pytest.raises(sdp.SdpError):
        sdp.parse(b"garbage")


def test_hold_offers_and_answers() -> None:
    held = sdp.negotiate_answer(sdp.parse(OFFER.replace(b"a=sendrecv", b"a=sendonly")))
    assert held.on_hold
    ans = sdp.parse(sdp.answer_for(sdp.parse(OFFER), held, "127.0.0.1", 1))
    assert ans.audio() is not None and ans.audio().direction == "recvonly"  # type: ignore[union-attr]
    old_style = sdp.negotiate_answer(sdp.parse(OFFER.replace(b"c=IN IP4 10.0.0.5", b"c=IN IP4 0.0.0.0")))
    assert old_style.on_hold
    assert not sdp.negotiate_answer(sdp.parse(OFFER)).on_hold
    ours = sdp.parse(sdp.build("127.0.0.1", 2, sdp.offer_codecs(["pcma"]), direction="sendonly"))
    assert ours.audio().direction == "sendonly" and ours.audio().formats == [8, 101]  # type: ignore[union-attr]


def test_read_answer() -> None:
    offer_codecs = sdp.offer_codecs()
    assert [c for c, _ in offer_codecs] == ["PCMU", "PCMA"]
    answer = sdp.parse(sdp.build("127.0.0.1", 3000, [("PCMA", 8)]))
    choice = sdp.read_answer(answer, ["PCMU", "PCMA"])
    assert (choice.codec, choice.remote_port, choice.dtmf_payload_type) == ("PCMA", 3000, 101)


def test_digest_rfc2617_vector() -> None:
    # RFC 2617 3.5 example (HTTP), the algorithm is the same for SIP
    key = auth.ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    resp = auth.digest_response("MD5", key, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "GET", "/dir/index.html",
                                "auth", "00000001", "0a4f113b")
    assert resp == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_server_round_trip_good_bad_stale(algorithm: str) -> None:
    server = auth.DigestServer("relaybox", lifetime=300)
    challenge = server.challenge(100.0, algorithm=algorithm)
    keys = {a: auth.ha1("alice", "relaybox", "secret", a) for a in auth.ALGORITHMS}
    good = auth.authorization(challenge, "REGISTER", "sip:127.0.0.1", "alice", "secret")
    assert good is not None
    assert server.verify(good, "REGISTER", 101.0, keys) == ("ok", "alice")
    assert server.verify(good, "INVITE", 101.0, keys)[0] == "bad"  # the method is part of the hash
    bad = auth.authorization(challenge, "REGISTER", "sip:127.0.0.1", "alice", "wrong")
    assert server.verify(bad, "REGISTER", 101.0, keys)[0] == "bad"
    assert server.verify(good, "REGISTER", 1000.0, keys)[0] == "stale"
    assert server.verify(good, "REGISTER", 101.0, None)[0] == "bad"  # unknown user
    assert server.verify(None, "REGISTER", 101.0, keys)[0] == "missing"
    forged = auth.DigestServer("relaybox").challenge(100.0)
    assert server.verify(auth.authorization(forged, "REGISTER", "sip:h", "alice", "secret"), "REGISTER", 101.0,
                         keys)[0] == "bad"
    assert server.verify("Digest garbage", "REGISTER", 101.0, keys)[0] == "bad"


def test_dialog_uas_requests_use_route_set_and_tags() -> None:
    invite = initial_request("INVITE", "sip:bob@127.0.0.1", "<sip:alice@a.example>", "<sip:bob@127.0.0.1>",
                             "10.0.0.1", 5062, "UDP", call_id="c1", contact="<sip:alice@10.0.0.1:5062>",
                             extra=[("Record-Route", "<sip:p1.example;lr>, <sip:p2.example;lr>")])
    wire = parse(invite.serialize())
    assert isinstance(wire, Request)
    dlg = Dialog.as_uas(wire, "ourtag", "<sip:rb@127.0.0.1:5060>")
    assert dlg.remote_target == "sip:alice@10.0.0.1:5062"
    assert dlg.route_set == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    bye = dlg.request("BYE", "127.0.0.1", 5060, "UDP")
    assert bye.uri == "sip:alice@10.0.0.1:5062"
    assert bye.headers.get_all("Route") == dlg.route_set
    assert parse_name_addr(bye.headers.get("From") or "").tag == "ourtag"
    assert parse_name_addr(bye.headers.get("To") or "").tag == parse_name_addr(invite.headers.get("From") or "").tag
    assert dlg.next_hop() == "sip:p1.example;lr"
    first = bye.cseq[0]
    assert dlg.request("INVITE", "127.0.0.1", 5060, "UDP").cseq[0] == first + 1
    # remote CSeq ordering
    assert not dlg.check_remote_cseq(wire)
    later = parse(invite.serialize().replace(b"CSeq: 1 INVITE", b"CSeq: 2 BYE").replace(b"INVITE sip", b"BYE sip"))
    assert isinstance(later, Request) and dlg.check_remote_cseq(later)


def test_dialog_uac_from_2xx() -> None:
    invite = initial_request("INVITE", "sip:bob@127.0.0.1", "<sip:rb@127.0.0.1>", "<sip:bob@127.0.0.1>",
                             "127.0.0.1", 5060, "UDP", call_id="c2", contact="<sip:rb@127.0.0.1:5060>")
    ok = make_response(invite, 200, to_tag="bobtag", extra=[("Contact", "<sip:bob@10.0.0.9:7000>"),
                                                              ("Record-Route", "<sip:p1;lr>, <sip:p2;lr>")])
    dlg = Dialog.as_uac(invite, ok)
    assert dlg.remote_tag == "bobtag" and dlg.remote_target == "sip:bob@10.0.0.9:7000"
    assert dlg.route_set == ["<sip:p2;lr>", "<sip:p1;lr>"]
    ack = dlg.request("ACK", "127.0.0.1", 5060, "UDP", cseq=invite.cseq[0])
    assert ack.cseq == (1, "ACK")


def test_digest_answer_in_the_same_millisecond_is_not_stale() -> None:
    # a nonce issued at x.7628 and answered at x.7630 (seen under load): its stamp must not round up to x.763
    server = auth.DigestServer("relaybox")
    challenge = server.challenge(1000.7628)
    keys = {a: auth.ha1("alice", "relaybox", "secret", a) for a in auth.ALGORITHMS}
    good = auth.authorization(challenge, "REGISTER", "sip:127.0.0.1", "alice", "secret")
    assert server.verify(good, "REGISTER", 1000.7629, keys) == ("ok", "alice")
