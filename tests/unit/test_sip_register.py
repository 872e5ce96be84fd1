"""The outbound registration state machine without sockets: a fake registrar answers its REGISTERs."""

from __future__ import annotations

from relaybox.sip.auth import DigestServer, ha1
from relaybox.sip.message import Request, Response, make_response, parse
from relaybox.sip.register import RETRY_FIRST, RETRY_MAX, Account, Registration

ACCOUNT = Account(registrar="sip:carrier.test:5070", aor="sip:acct@carrier.test", contact="<sip:acct@10.0.0.1:5060>",
                  username="acct", password="pw-1", expires=600, via_host="10.0.0.1", via_port=5060)


class Registrar:
    """Challenges every REGISTER without good credentials (realm `carrier`), grants GRANT seconds."""

    def __init__(self, password: str = "pw-1", grant: int | None = None) -> None:
        self.digest = DigestServer("carrier")
        self.ha1 = {"MD5": ha1("acct", "carrier", password)}
        self.grant = grant
        self.seen: list[Request] = []

    def answer(self, request: Request, now: float = 1000.0) -> Response:
        request = parse(request.serialize())  # type: ignore[assignment]  # what the wire carries
        self.seen.append(request)
        verdict, _ = self.digest.verify(request.headers.get("Authorization"), "REGISTER", now, self.ha1)
        if verdict in ("missing", "stale"):
            return make_response(request, 401, extra=[("WWW-Authenticate", self.digest.challenge(now))])
        if verdict != "ok":
            return make_response(request, 403, "Bad credentials")
        asked = int(request.headers.get("Expires") or "0")
        granted = asked if self.grant is None or asked == 0 else self.grant
        contact = (request.headers.get("Contact") or "").split(";expires=")[0]
        extra = [("Contact", f"{contact};expires={granted}")] if granted else []
        return make_response(request, 200, extra=extra, to_tag="t1")


def register(reg: Registration, registrar: Registrar, now: float) -> list[Request]:
    """Run START/POLL's request through the registrar until nothing more is sent."""
    out = reg.start(now) if reg.state == "unregistered" else reg.poll(now)
    for _ in range(5):
        if not out:
            break
        (request,) = out
        out = reg.on_response(registrar.answer(request, now), now)
    return registrar.seen


def test_challenge_answered_then_registered_with_the_granted_expiry() -> None:
    reg, registrar = Registration(ACCOUNT), Registrar(grant=120)
    seen = register(reg, registrar, 1000.0)
    assert [r.headers.get("Authorization") is not None for r in seen] == [False, True]
    first, second = seen
    assert first.uri == "sip:carrier.test:5070" and first.headers.get("To") == "<sip:acct@carrier.test>"
    assert (first.headers.get("From") or "").startswith("<sip:acct@carrier.test>;tag=")
    assert first.headers.get("Contact") == "<sip:acct@10.0.0.1:5060>;expires=600"
    assert first.headers.get("Expires") == "600"
    assert first.call_id == second.call_id and second.cseq[0] == first.cseq[0] + 1
    assert reg.state == "registered" and reg.last_error is None
    assert reg.expires_at == 1120.0  # the registrar's 120 s, not the 600 asked for
    assert reg.deadline == 1060.0  # refreshed at half the granted time


def test_refresh_before_expiry_keeps_the_call_id_and_raises_the_cseq() -> None:
    reg, registrar = Registration(ACCOUNT), Registrar(grant=8)
    register(reg, registrar, 1000.0)
    assert reg.deadline == 1003.0  # 8 s granted: at least REFRESH_MARGIN (5 s) before it ends
    assert reg.poll(1002.0) == []  # not due yet
    seen = register(reg, registrar, 1003.0)
    assert len(seen) == 4 and len({r.call_id for r in seen}) == 1
    assert [r.cseq[0] for r in seen] == sorted({r.cseq[0] for r in seen})
    assert reg.state == "registered" and reg.expires_at == 1011.0


def test_granted_expiry_from_the_expires_header_when_the_contact_has_none() -> None:
    reg = Registration(ACCOUNT)
    (request,) = reg.start(0.0)
    ok = make_response(parse(request.serialize()), 200, extra=[("Expires", "300")])  # type: ignore[arg-type]
    assert reg.on_response(ok, 0.0) == [] and reg.expires_at == 300.0 and reg.deadline == 150.0


def test_wrong_password_fails_with_the_reason_and_backs_off_doubling_to_five_minutes() -> None:
    reg, registrar = Registration(ACCOUNT), Registrar(password="other")
    now = 0.0
    register(reg, registrar, now)
    assert reg.state == "failed" and reg.last_error == "403 Bad credentials" and reg.expires_at is None
    delays = []
    for _ in range(6):
        assert reg.deadline is not None
        delays.append(reg.deadline - now)
        now = reg.deadline
        register(reg, registrar, now)
    assert delays == [RETRY_FIRST, 60.0, 120.0, 240.0, RETRY_MAX, RETRY_MAX]
    assert reg.state == "failed"


def test_a_second_challenge_after_credentials_is_a_refusal_not_a_loop() -> None:
    reg = Registration(ACCOUNT)
    digest = DigestServer("carrier")
    (request,) = reg.start(0.0)
    for expected in (1, 0):
        challenge = make_response(parse(request.serialize()), 401,  # type: ignore[arg-type]
                                  extra=[("WWW-Authenticate", digest.challenge(0.0))])
        out = reg.on_response(challenge, 0.0)
        assert len(out) == expected
        if out:
            request = out[0]
    assert reg.state == "failed" and reg.last_error is not None and "401" in reg.last_error


def test_timeout_and_server_error_retry_then_success_resets_the_backoff() -> None:
    reg, registrar = Registration(ACCOUNT), Registrar(grant=600)
    reg.start(0.0)
    assert reg.on_timeout(32.0) == []
    assert reg.state == "failed" and "timeout" in (reg.last_error or "") and reg.deadline == 62.0
    (request,) = reg.poll(62.0)
    assert reg.on_response(make_response(parse(request.serialize()), 503), 62.0) == []  # type: ignore[arg-type]
    assert reg.last_error == "503 Service Unavailable" and reg.deadline == 122.0
    register(reg, registrar, 122.0)
    assert reg.state == "registered" and reg.last_error is None and reg.retry_delay == RETRY_FIRST


def test_a_failed_refresh_keeps_the_binding_until_it_expires() -> None:
    reg, registrar = Registration(ACCOUNT), Registrar(grant=100)
    register(reg, registrar, 0.0)
    (request,) = reg.poll(50.0)
    reg.on_response(make_response(parse(request.serialize()), 500), 50.0)  # type: ignore[arg-type]
    assert reg.state == "registered" and reg.expires_at == 100.0 and reg.last_error == "500 Server Internal Error"
    assert reg.deadline == 80.0  # retried after 30 s, still inside the binding
    (request,) = reg.poll(80.0)
    reg.on_timeout(100.5)
    assert reg.state == "failed" and reg.expires_at is None


def test_interval_too_brief_retries_with_min_expires() -> None:
    reg = Registration(ACCOUNT)
    (request,) = reg.start(0.0)
    brief = make_response(parse(request.serialize()), 423, extra=[("Min-Expires", "1800")])  # type: ignore[arg-type]
    (again,) = reg.on_response(brief, 0.0)
    assert again.headers.get("Expires") == "1800" and again.headers.get("Contact", "").endswith("expires=1800")


def test_unregister_sends_expires_zero_answering_the_challenge() -> None:
    reg, registrar = Registration(ACCOUNT), Registrar()
    register(reg, registrar, 0.0)
    (request,) = reg.stop(10.0)
    assert request.headers.get("Expires") == "0" and (request.headers.get("Contact") or "").endswith(";expires=0")
    assert reg.state == "unregistering" and reg.deadline is None
    (authed,) = reg.on_response(registrar.answer(request), 10.0)
    assert authed.headers.get("Authorization") and authed.headers.get("Expires") == "0"
    assert reg.on_response(registrar.answer(authed), 10.0) == []
    assert reg.state == "unregistered" and reg.expires_at is None and reg.poll(1e9) == []


def test_stop_after_a_failure_sends_nothing() -> None:
    reg, registrar = Registration(ACCOUNT), Registrar(password="other")
    register(reg, registrar, 0.0)
    assert reg.stop(1.0) == [] and reg.state == "unregistered" and reg.deadline is None


def test_stray_responses_are_ignored() -> None:
    reg = Registration(ACCOUNT)
    (request,) = reg.start(0.0)
    wire = parse(request.serialize())
    assert reg.on_response(make_response(wire, 100), 0.0) == []  # type: ignore[arg-type]
    other = parse(request.serialize().replace(b"CSeq: " + str(request.cseq[0]).encode(), b"CSeq: 1"))
    assert reg.on_response(make_response(other, 200), 0.0) == []  # type: ignore[arg-type]
    assert reg.state == "registering" and reg.pending is request
