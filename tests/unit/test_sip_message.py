"""SIP message parsing/serialization, including RFC 4475 style torture messages."""

from __future__ import annotations

import contextlib
import random

import pytest

from relaybox.sip.message import (
    Request,
    Response,
    SipParseError,
    StreamParser,
    make_response,
    parse,
    parse_name_addr,
    parse_uri,
    parse_via,
)

INVITE = (
    b"INVITE sip:+15551230000@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKabc;rport\r\n"
    b"v: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKdef, SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bKghi\r\n"
    b"Max-Forwards: 70\r\n"
    b'f: "Alice, A." <sip:alice@example.com>;tag=1928\r\n'
    b"t: <sip:+15551230000@127.0.0.1>\r\n"
    b"i: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"m: <sip:alice@10.0.0.1:5062>\r\n"
    b"X-Custom: one\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"v=0\r\nEXTRA"
)


def test_parse_request_compact_forms_and_multi_value_headers() -> None:
    msg = parse(INVITE)
    assert isinstance(msg, Request)
    assert msg.method == "INVITE" and msg.uri == "sip:+15551230000@127.0.0.1"
    assert msg.call_id == "a84b4c76e66710"
    assert msg.cseq == (314159, "INVITE")
    assert len(msg.via) == 3
    assert parse_via(msg.via[2]).port == 5070 and parse_via(msg.via[2]).transport == "TCP"
    assert msg.headers.get("content-type") == "application/sdp"
    assert msg.body == b"v=0\r"[:4]  # Content-Length cuts the body (UDP rule)
    frm = parse_name_addr(msg.headers.get("From") or "")
    assert frm.display == "Alice, A." and frm.tag == "1928" and frm.uri == "sip:alice@example.com"
    assert msg.headers.get("X-Custom") == "one"


def test_serialize_round_trip_sets_content_length() -> None:
    msg = parse(INVITE)
    msg.body = b"hello"
    again = parse(msg.serialize())
    assert isinstance(again, Request)
    assert again.body == b"hello" and again.headers.get("Content-Length") == "5"
    assert again.via == msg.via


def test_response_and_make_response() -> None:
    req = parse(INVITE)
    assert isinstance(req, Request)
    resp = make_response(req, 180, to_tag="xyz", extra=[("Contact", "<sip:rb@127.0.0.1>")])
    parsed = parse(resp.serialize())
    assert isinstance(parsed, Response)
    assert parsed.status == 180 and parsed.reason == "Ringing"
    assert parse_name_addr(parsed.headers.get("To") or "").tag == "xyz"
    assert parsed.via == req.via and parsed.cseq == req.cseq


# RFC 4475 3.1.1.1 (abridged): a short, tricky but valid message
WSINV = (
    b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
    b"TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
    b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n'
    b"MaX-fOrWaRdS: 0068\r\n"
    b"Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
    b"Content-Length   : 0\r\n"
    b"cseq: 0009\r\n  INVITE\r\n"
    b"Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\n"
    b"s :\r\n"
    b"NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"
    b"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
    b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n"
    b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n"
    b"m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n"
    b"  secondparam ; q = 0.33\r\n"
    b"\r\n"
)


def test_rfc4475_wsinv_parses() -> None:
    msg = parse(WSINV)
    assert isinstance(msg, Request)
    assert msg.cseq == (9, "INVITE")
    assert len(msg.via) == 3
    assert parse_via(msg.via[1]).branch == "z9hG4bK9ikj8"
    assert parse_name_addr(msg.headers.get("To") or "").tag == "1918181833n"
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"


TORTURE = [
    b"",
    b"\r\n\r\n",
    b"garbage\r\n\r\n",
    b"INVITE sip:a@b SIP/2.0\r\n\r\n",  # no mandatory headers
    b"INVITE sip:a@b SIP/7.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",  # bad version
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n",  # CSeq method mismatch
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 9999\r\n\r\nv=0",  # short body
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: -1 INVITE\r\n\r\n",  # negative CSeq
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 99999999999 INVITE\r\n\r\n",  # CSeq out of range
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCall-ID: 2\r\nCSeq: 1 INVITE\r\n\r\n",  # two Call-IDs
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",  # unclosed <
    b"INVITE <sip:a@b> SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",  # RFC 4475 3.1.2.10 <> in Request-URI
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:99999;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",  # bad port
    b"SIP/2.0 999 Huh\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",  # bad status
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
    b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 300\r\n\r\n",  # Max-Forwards
    b"INVITE sip:a@b SIP/2.0\r\n continuation first\r\nVia: SIP/2.0/UDP h\r\n\r\n",
    b"INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n",  # no colon
    b"\xff\xfe\x00INVITE\x00 sip:a@b SIP/2.0\r\n\r\n",
    b"INVITE sip:a@b SIP/2.0\r\n" + b"X: " + b"a" * 70_000 + b"\r\n\r\n",  # too large
]


@pytest.mark.parametrize("data", TORTURE)
def test_torture_messages_raise_parse_error(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse(data)


def test_random_mutations_never_raise_anything_but_parse_error() -> None:
    rng = random.Random(7)
    base = bytearray(INVITE)
    for _ in range(3000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            pos = rng.randrange(len(data))
            if op < 0.4:
                data[pos] = rng.randrange(256)
            elif op < 0.7:
                del data[pos:pos + rng.randint(1, 20)]
            else:
                data[pos:pos] = bytes(rng.choice(b":;<>\"\r\n ,=@") for _ in range(rng.randint(1, 5)))
        with contextlib.suppress(SipParseError):
            parse(bytes(data))


def test_stream_parser_frames_by_content_length() -> None:
    p = StreamParser()
    msg = parse(INVITE)
    data = b"\r\n\r\n" + msg.serialize() + msg.serialize()
    out = p.feed(data[:50])
    assert out == []
    out = p.feed(data[50:])
    assert len(out) == 2 and all(isinstance(m, Request) for m in out)
    bad = p.feed(b"INVITE sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n")
    assert len(bad) == 1 and isinstance(bad[0], SipParseError)


def test_uri_parsing() -> None:
    uri = parse_uri("sip:alice:pw@Example.COM:5070;transport=tcp;lr")
    assert (uri.user, uri.password, uri.host, uri.port, uri.transport) == ("alice", "pw", "example.com", 5070, "tcp")
    assert "lr" in uri.params
    assert parse_uri("sip:[::1]:5060").host == "::1"
    assert str(parse_uri("sip:+1555@h;user=phone")) == "sip:+1555@h;user=phone"
    for bad in ("tel:+1555", "sip:", "sip:a@", "sip:a@h:0", "sip:a@h:x", "sip:@h"):
        with pytest.raises(SipParseError):
            parse_uri(bad)
