"""Real SIP calls on loopback: sipp (Debian sip-tester) against a `relaybox serve` with --sip-port.

Inbound calls are answered by the official v2 Python consumer; outbound dials come from the official v2
client (numbers routed to a trunk) or a raw v4 WebSocket (sip: devices, which signalwire 2.x cannot dial).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import Relaybox
from relayws import V4Ws

SIPP_DIR = Path(__file__).parent / "sipp"
OFFICE = "+15552220000"
TRUNKED = "+15559990000"  # routed to the sipp trunk (prefix +1555999)


def _require_sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        if os.environ.get("CI") or os.environ.get("RELAYBOX_REQUIRE_CLIENTS") == "1":
            pytest.fail("sipp is not installed; run scripts/setup-sip.sh (make test does)", pytrace=False)
        pytest.skip("sipp is not installed; run scripts/setup-sip.sh (make test does)")
    return path


def _free_udp_tcp_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def sipp_caller_to_office(relaybox: Relaybox, clients: Any) -> tuple[int, Any]:
    """A sipp caller's port made a trunk (INVITEs from the trunk's address are trusted), OFFICE routed to
    context office, and a v2 consumer there answering one call (holding it 30 s), ready; returns both."""
    sipp_port = _free_udp_tcp_port()
    add_trunk(relaybox, "sipp", sipp_port)
    relaybox.add_number(OFFICE, "office")
    consumer = clients.start("v2_python", "consumer", env={"CONTEXT": "office", "CALLS": "1", "HOLD": "30"})
    consumer.wait_for(r"^READY\b", timeout=20)
    return sipp_port, consumer


def second_relaybox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Relaybox, int]:
    """Another relaybox, B (in TMP_PATH/b, its own SIP port), started; returns it and its SIP port. The test
    stops it."""
    b_sip = _free_udp_tcp_port()
    monkeypatch.setenv("RELAYBOX_SIP_PORT", str(b_sip))
    (tmp_path / "b").mkdir()
    box_b = Relaybox(tmp_path / "b", tmp_path / "b.log", speed="1")
    box_b.start()
    return box_b, b_sip


@pytest.fixture
def relaybox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The conftest server with SIP on a free port (real-time clock: SIP media runs in real time)."""
    _require_sipp()
    sip_port = _free_udp_tcp_port()
    monkeypatch.setenv("RELAYBOX_SIP_PORT", str(sip_port))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    box = Relaybox(data_dir, tmp_path / "relaybox.log", speed="1")
    box.start()
    box.sip_port = sip_port  # type: ignore[attr-defined]
    try:
        yield box
    finally:
        status = box.stop()
    assert status == 0, f"relaybox exited with {status}; log:\n{box.log()}"


def sipp(box: Any, tmp_path: Path, *args: str, port: int, timeout: float = 30.0,
         background: bool = False) -> Any:
    """Run sipp against BOX's SIP port from 127.0.0.1:PORT (one call unless -m is given)."""
    argv = ["sipp", f"127.0.0.1:{box.sip_port}", "-i", "127.0.0.1", "-p", str(port), "-nostdin",
            "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err", "-trace_msg", "-max_retrans", "3", *args]
    if "-m" not in args:
        argv += ["-m", "1"]
    if background:
        return subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return subprocess.run(argv, cwd=tmp_path, capture_output=True, timeout=timeout + 15)


@contextlib.contextmanager
def sipp_in_background(proc: Any, tmp_path: Path, timeout: float = 20.0) -> Iterator[Any]:
    """The body runs while a background sipp (PROC) plays its part; then sipp must end successfully (its log
    goes in the failure), and it never outlives the test."""
    try:
        yield proc
        out, _ = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, out.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()


def sipp_log(tmp_path: Path) -> str:
    out = []
    for f in sorted(tmp_path.glob("*_messages.log")) + sorted(tmp_path.glob("*_errors.log")):
        out.append(f"--- {f.name}\n{f.read_text(errors='replace')[-6000:]}")
    return "\n".join(out)


def scenario(tmp_path: Path, name: str, **codes: int | str) -> str:
    """A copy of sipp/NAME with status codes in place (sipp takes no keyword where a status code goes)."""
    text = (SIPP_DIR / name).read_text()
    for key, code in codes.items():
        text = text.replace(key.upper(), str(code))
    path = tmp_path / (name.removesuffix(".xml") + "".join(f"_{c}" for c in codes.values() if isinstance(c, int))
                       + ".xml")
    path.write_text(text)
    return str(path)


def register_scenario(tmp_path: Path, expect: int) -> str:
    return scenario(tmp_path, "register.xml", expect=expect)


def history(box: Relaybox) -> list[dict[str, Any]]:
    status, body = box.api("GET", "/api/calls?limit=50")
    assert status == 200, body
    return list(body["calls"])


def add_trunk(box: Relaybox, name: str, port: int, prefixes: list[str] | None = None, **extra: Any) -> None:
    body = {"name": name, "uri": f"sip:127.0.0.1:{port}", "prefixes": prefixes or [], **extra}
    status, reply = box.api("POST", "/api/trunks", body)
    assert status == 201, reply


# ------------------------------------------------------------------------------------------------ inbound


def test_inbound_call_answered_by_official_v2_consumer_then_caller_hangs_up(
        relaybox: Any, clients: Any, tmp_path: Path) -> None:
    sipp_port, consumer = sipp_caller_to_office(relaybox, clients)

    done = sipp(relaybox, tmp_path, "-sn", "uac", "-s", OFFICE, "-d", "1500", port=sipp_port)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)

    line = consumer.wait_for(r"^ANSWERED (\S+) True", timeout=10)
    call_id = line.group(1)
    assert any(line.startswith(f"INBOUND CALL {call_id} ") for line in consumer.lines), consumer.lines
    calls = relaybox.wait_until(
        lambda: [c for c in history(relaybox) if c["call_id"] == call_id and c["state"] == "ended"], timeout=10,
        message="the inbound SIP call in the history as ended")
    assert calls[0]["direction"] == "inbound" and calls[0]["end_reason"] == "hangup"
    assert calls[0]["to_number"] == f"sip:{OFFICE}@127.0.0.1" and calls[0]["context"] == "office"
    messages = sipp_log(tmp_path)
    assert "SIP/2.0 200 OK" in messages and "m=audio" in messages  # answered with an SDP answer


def test_unauthenticated_invite_is_challenged_and_bad_credentials_refused(relaybox: Any, tmp_path: Path) -> None:
    relaybox.add_number(OFFICE, "office")
    port = _free_udp_tcp_port()
    # an unknown source without credentials: 407
    done = sipp(relaybox, tmp_path, "-sf", scenario(tmp_path, "uac_rejected.xml", expect=407), "-s", OFFICE,
                port=port)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    # wrong password for a real user: 403
    relaybox.api("POST", "/api/sip-users", {"username": "bob", "password": "right-password"})
    done = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uac_auth.xml"), "-s", OFFICE, "-key", "user", "bob",
                "-au", "bob", "-ap", "wrong-password", port=port, timeout=10)
    assert done.returncode != 0  # the scenario wanted a 200 and got 403
    assert "403 Bad credentials" in sipp_log(tmp_path)
    assert not [c for c in history(relaybox) if c["direction"] == "inbound"], "a refused INVITE created a call"


def test_inbound_with_digest_credentials_reaches_the_context(relaybox: Any, clients: Any, tmp_path: Path) -> None:
    relaybox.add_number(OFFICE, "office")
    status, _ = relaybox.api("POST", "/api/sip-users", {"username": "carol", "password": "s3cret-pw"})
    assert status == 201
    consumer = clients.start("v2_python", "consumer", env={"CONTEXT": "office", "CALLS": "1", "HOLD": "30"})
    consumer.wait_for(r"^READY\b", timeout=20)
    done = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uac_auth.xml"), "-s", OFFICE, "-key", "user", "carol",
                "-au", "carol", "-ap", "s3cret-pw", port=_free_udp_tcp_port())
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    consumer.wait_for(r"^ANSWERED \S+ True", timeout=10)
    call = relaybox.wait_until(lambda: [c for c in history(relaybox) if c["state"] == "ended"], timeout=10)[0]
    assert call["from_number"] == "sip:carol@127.0.0.1" and call["end_reason"] == "hangup"


def fuzz_from_a_trusted_trunk(box: Any, s: socket.socket, target: tuple[str, int], count: int = 1500) -> None:
    """Mutations of valid requests of every method from a trunk's address: they reach the handlers."""
    import random

    from relaybox.sip.dialog import initial_request

    port = s.getsockname()[1]
    add_trunk(box, "fuzz", port)
    sdp = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           b"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
    bases = []
    for m in ("INVITE", "REGISTER", "BYE", "CANCEL", "OPTIONS", "NOTIFY", "INFO", "ACK", "REFER", "UPDATE"):
        to = "<sip:+15552220000@127.0.0.1>" + (";tag=abc" if m in ("BYE", "NOTIFY", "INFO", "REFER") else "")
        bases.append(initial_request(
            m, f"sip:+15552220000@127.0.0.1:{target[1]}", "<sip:alice@127.0.0.1>", to, "127.0.0.1", port, "UDP",
            call_id=f"fz-{m}", contact=f"<sip:alice@127.0.0.1:{port}>", body=sdp if m == "INVITE" else b"",
            content_type="application/sdp" if m == "INVITE" else None).serialize())
    rng = random.Random(11)
    for i in range(count):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(0, 6)):
            op, pos = rng.random(), rng.randrange(len(data))
            if op < 0.4:
                data[pos] = rng.randrange(32, 127)
            elif op < 0.7:
                del data[pos:pos + rng.randint(1, 10)]
            else:
                data[pos:pos] = bytes(rng.choice(b":;<>\"\r\n ,=@0123456789") for _ in range(rng.randint(1, 4)))
        s.sendto(bytes(data).replace(b"fz-", b"fz%d-" % i), target)
        if i % 50 == 0:
            time.sleep(0.02)
    status, _ = box.api("DELETE", "/api/trunks/fuzz")
    assert status == 200


def test_malformed_datagrams_do_not_crash_and_a_call_still_works(
        relaybox: Any, clients: Any, tmp_path: Path) -> None:
    from tests.unit.test_sip_message import TORTURE, WSINV

    target = ("127.0.0.1", relaybox.sip_port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in [*TORTURE, WSINV, b"\x00" * 100, os.urandom(1400), b"SIP/2.0 200 OK\r\n\r\n"]:
            s.sendto(data[:65000], target)
        fuzz_from_a_trusted_trunk(relaybox, s, target)
    with socket.create_connection(target) as t:  # TCP: garbage, then a bad Content-Length
        t.sendall(os.urandom(3000) + b"\r\n\r\nINVITE sip:a@b SIP/2.0\r\nContent-Length: zz\r\n\r\n")
    time.sleep(0.5)
    status, health = relaybox.api("GET", "/api/sip")
    assert status == 200 and health["enabled"] and health["stats"].get("malformed", 0) >= len(TORTURE) - 2, health
    assert health["stats"].get("errors", 0) == 0, health

    sipp_port, consumer = sipp_caller_to_office(relaybox, clients)
    done = sipp(relaybox, tmp_path, "-sn", "uac", "-s", OFFICE, port=sipp_port)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    consumer.wait_for(r"^ANSWERED \S+ True", timeout=10)


def test_options_over_tcp(relaybox: Any) -> None:
    with socket.create_connection(("127.0.0.1", relaybox.sip_port), timeout=5) as t:
        port = t.getsockname()[1]
        t.sendall(
            f"OPTIONS sip:relaybox@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:{port};branch=z9hG4bKt1\r\n"
            "f: <sip:t@127.0.0.1>;tag=a\r\nt: <sip:relaybox@127.0.0.1>\r\ni: tcp-options-1\r\nCSeq: 7 OPTIONS\r\n"
            "l: 0\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += t.recv(4096)
    assert data.startswith(b"SIP/2.0 200 OK\r\n"), data
    assert b"CSeq: 7 OPTIONS" in data and b"INVITE" in data


# ------------------------------------------------------------------------------------------------ registrar


def test_register_with_digest_good_and_bad_password(relaybox: Any, tmp_path: Path) -> None:
    status, body = relaybox.api("POST", "/api/sip-users", {"username": "alice", "password": "alice-pw"})
    assert status == 201, body
    port = _free_udp_tcp_port()
    bad = sipp(relaybox, tmp_path, "-sf", register_scenario(tmp_path, 403), "-key", "user", "alice", "-key",
               "contact_port", "7000", "-au", "alice", "-ap", "not-it", port=port)
    assert bad.returncode == 0, bad.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    assert relaybox.api("GET", "/api/sip-users")[1]["sip_users"][0]["registered"] is False
    good = sipp(relaybox, tmp_path, "-sf", register_scenario(tmp_path, 200), "-key", "user", "alice", "-key",
                "contact_port", "7000", "-au", "alice", "-ap", "alice-pw", port=port)
    assert good.returncode == 0, good.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    users = relaybox.api("GET", "/api/sip-users")[1]["sip_users"]
    assert users == [{"username": "alice", "realm": "relaybox", "created_at": users[0]["created_at"],
                      "registered": True, "contact": "sip:alice@127.0.0.1:7000"}]
    # an unknown user gets challenged, then refused
    unknown = sipp(relaybox, tmp_path, "-sf", register_scenario(tmp_path, 403), "-key", "user", "mallory", "-key",
                   "contact_port", "7000", "-au", "mallory", "-ap", "x", port=port)
    assert unknown.returncode == 0, unknown.stdout.decode(errors="replace")[-3000:]


# ------------------------------------------------------------------------------------------------ outbound


async def _dial(box: Any, device: dict[str, Any], hangup_after: float | None = 0.5,
                timeout: float = 30.0) -> dict[str, Any]:
    """calling.dial over a raw v4 connection; returns the final dial event's params (and ends an answered call)."""
    async with aiohttp.ClientSession() as http:
        ws = await V4Ws.open(http, box.ws_url)
        reply = await ws.connect(contexts=["office"], project=box.project, token=box.token)
        assert "result" in reply, reply
        await ws.command("calling.dial", {"tag": "sip-dial", "devices": [[device]]})

        def final() -> dict[str, Any] | None:
            for e in ws.events("calling.call.dial"):
                if e["params"]["dial_state"] in ("answered", "failed"):
                    return dict(e["params"])
            return None

        result: dict[str, Any] = await ws.wait_for(final, timeout=timeout)
        if result["dial_state"] == "answered" and hangup_after is not None:
            await asyncio.sleep(hangup_after)
            call_id = result["call"]["call_id"]
            await ws.command("calling.end", {"call_id": call_id, "reason": "hangup"})
            await ws.wait_state(call_id, "ended")
        await ws.close()
        return result


def test_dial_a_registered_sip_user_answered(relaybox: Any, tmp_path: Path) -> None:
    relaybox.api("POST", "/api/sip-users", {"username": "alice", "password": "alice-pw"})
    uas_port = _free_udp_tcp_port()
    uas = sipp(relaybox, tmp_path, "-sn", "uas", port=uas_port, background=True)
    with sipp_in_background(uas, tmp_path):
        reg = sipp(relaybox, tmp_path, "-sf", register_scenario(tmp_path, 200), "-key", "user", "alice", "-key",
                   "contact_port", str(uas_port), "-au", "alice", "-ap", "alice-pw",
                   port=_free_udp_tcp_port())
        assert reg.returncode == 0, reg.stdout.decode(errors="replace")[-3000:]
        device = {"type": "sip", "params": {"to": "sip:alice@127.0.0.1", "from": "sip:app@relaybox",
                                            "headers": [{"name": "X-Account", "value": "A-7"}],
                                            "codecs": ["PCMA"]}}
        result = asyncio.run(_dial(relaybox, device))
        assert result["dial_state"] == "answered", result
    messages = sipp_log(tmp_path)
    invite = messages[messages.find("INVITE sip:alice@127.0.0.1:"):]
    assert "X-Account: A-7" in invite.split("\n\n")[0] or "X-Account: A-7" in invite[:2000]
    assert re.search(r"m=audio \d+ RTP/AVP 8 101", invite), invite[:1500]  # codec preference: PCMA only
    assert "BYE sip:" in messages  # relaybox hung up the answered call


def test_unregistered_sip_uri_still_reaches_the_sandbox(relaybox: Any) -> None:
    result = asyncio.run(_dial(relaybox, {"type": "sip", "params": {"to": "sip:nobody@127.0.0.1"}}))
    assert result["dial_state"] == "answered", result
    assert relaybox.sandbox_calls("sip:nobody@127.0.0.1"), "the sandbox phone did not get the call"


# signalwire 2.x sets call.busy for end_reason busy and call.failed only for error: a decline is neither
@pytest.mark.parametrize(("status", "flag"), [("486", "busy"), ("603", "decline")])
def test_official_v2_dial_through_a_trunk_rejected(relaybox: Any, clients: Any, tmp_path: Path, status: str,
                                                   flag: str) -> None:
    uas_port = _free_udp_tcp_port()
    add_trunk(relaybox, "carrier", uas_port, ["+1555999"])
    uas = sipp(relaybox, tmp_path, "-sf", scenario(tmp_path, "uas_reject.xml", status=int(status)),
               port=uas_port, background=True)
    with sipp_in_background(uas, tmp_path):
        result = clients.run("v2_python", "dial", env={"FROM": OFFICE, "TO": TRUNKED})
    assert result.find(r"^DIAL successful: False"), result.describe()
    call = result.find(r"^CALL \S+ state (\S+) busy (\S+) failed (\S+)")
    assert call, result.describe()
    # the client's state/busy flags settle with its `ended` handling, which may come after its print
    if call.group(1) == "ended":
        assert (call.group(2), call.group(3)) == (("True", "False") if flag == "busy" else ("False", "False")), \
            result.describe()
    ended = [c for c in history(relaybox) if c["direction"] == "outbound"]
    assert ended and ended[0]["end_reason"] == ("busy" if status == "486" else "decline")


def test_official_v2_dial_through_a_trunk_answered(relaybox: Any, clients: Any, tmp_path: Path) -> None:
    uas_port = _free_udp_tcp_port()
    add_trunk(relaybox, "carrier", uas_port, ["+1555999"])
    uas = sipp(relaybox, tmp_path, "-sn", "uas", port=uas_port, background=True)
    with sipp_in_background(uas, tmp_path):
        result = clients.run("v2_python", "dial", env={"FROM": OFFICE, "TO": TRUNKED})
    assert result.find(r"^DIAL successful: True"), result.describe()
    assert result.find(r"^HANGUP True"), result.describe()
    messages = sipp_log(tmp_path)
    assert f"INVITE sip:{TRUNKED}@127.0.0.1:{uas_port} SIP/2.0" in messages


def test_dial_no_answer_sends_cancel(relaybox: Any, tmp_path: Path) -> None:
    uas_port = _free_udp_tcp_port()
    add_trunk(relaybox, "carrier", uas_port, ["+1555999"])
    uas = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uas_ring_cancel.xml"), port=uas_port, background=True)
    with sipp_in_background(uas, tmp_path):
        device = {"type": "phone", "params": {"to_number": TRUNKED, "from_number": OFFICE, "timeout": 2}}
        result = asyncio.run(_dial(relaybox, device))
    assert result["dial_state"] == "failed" and result["reason"] == "noAnswer", result


# ------------------------------------------------------------------------------------------------ real media

PCAP_DIR = "/usr/share/sip-tester"


def test_ivr_plays_tts_collects_rfc4733_digits_and_records(relaybox: Any, tmp_path: Path) -> None:
    """sipp calls in with PCMA audio and RFC 4733 keys 1234#; the official v2 client answers, records, prompts
    with TTS, collects the PIN, says goodbye and hangs up (relaybox sends the BYE)."""
    import io
    import wave

    import numpy as np
    from conftest import VENVS, Background, client_env, require_client

    if not Path(PCAP_DIR, "dtmf_2833_1.pcap").exists():
        pytest.skip(f"sip-tester's pcaps are not in {PCAP_DIR}")
    require_client("v2_python")
    sipp_port = _free_udp_tcp_port()
    add_trunk(relaybox, "sipp", sipp_port)
    relaybox.add_number(OFFICE, "office")
    env = {**client_env("v2_python", relaybox), "CONTEXT": "office"}
    ivr = Background("ivr", [str(VENVS / "sw2" / "bin" / "python"), "-u", str(SIPP_DIR / "ivr_v2.py")], env,
                     tmp_path)
    try:
        ivr.wait_for(r"^READY\b", timeout=20)
        done = sipp(relaybox, tmp_path, "-sf", scenario(tmp_path, "uac_dtmf.xml", pcapdir=PCAP_DIR), "-s", OFFICE,
                    "-mp", str(_free_udp_tcp_port()), port=sipp_port, timeout=40)
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
        ivr.wait_for(r"^HANGUP ", timeout=15)
    finally:
        ivr.stop()
    lines = ivr.lines
    assert "ANSWERED True" in lines, lines
    assert "PROMPT True 1234 #" in lines, lines
    assert "PLAY True" in lines, lines
    record = next((line.split() for line in lines if line.startswith("RECORD ")), None)
    assert record and record[1] == "True", lines
    url, duration = record[2], float(record[3])
    assert duration > 2.0, lines
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as resp:
        data = resp.read()
    with wave.open(io.BytesIO(data)) as w:
        frames = w.readframes(w.getnframes())
        channels, rate = w.getnchannels(), w.getframerate()
    samples = np.frombuffer(frames, dtype=np.int16).reshape(-1, channels).astype(np.float64)
    assert abs(len(samples) / rate - duration) < 1.0
    # both sides carry real sound: the caller's pcap speech and relaybox's TTS
    rms = np.sqrt((samples ** 2).mean(axis=0))
    assert (rms > 200).all() if channels == 2 else rms[0] > 200, (channels, rms)


def test_hold_unhold_reinvite_and_refer_on_a_trunk_call(relaybox: Any, tmp_path: Path) -> None:
    uas_port = _free_udp_tcp_port()
    add_trunk(relaybox, "carrier", uas_port, ["+1555999"])
    uas = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uas_hold_refer.xml"), port=uas_port, background=True,
               timeout=30)

    async def app() -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as http:
            ws = await V4Ws.open(http, relaybox.ws_url)
            await ws.connect(contexts=["office"], project=relaybox.project, token=relaybox.token)
            # a sip: URI on the trunk's host and port goes through the trunk (REFER needs a SIP call)
            device = {"type": "sip",
                      "params": {"to": f"sip:{TRUNKED}@127.0.0.1:{uas_port}", "from": "sip:ivr@relaybox"}}
            await ws.command("calling.dial", {"tag": "t", "devices": [[device]]})
            dialed = await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.dial")
                                                     if e["params"]["dial_state"] != "dialing"), None), timeout=15)
            assert dialed["dial_state"] == "answered", dialed
            call_id = dialed["call"]["call_id"]
            node_id = dialed["call"]["node_id"]
            for method, state in (("calling.hold", "hold"), ("calling.unhold", "unhold")):
                await ws.command(method, {"call_id": call_id, "node_id": node_id})
                await ws.wait_for(lambda s=state: [e for e in ws.events("calling.call.hold")  # type: ignore[misc]
                                                   if e["params"].get("state") == s])
                await asyncio.sleep(0.5)  # the re-INVITE transaction completes
            await ws.command("calling.refer", {"call_id": call_id, "node_id": node_id, "control_id": "r1",
                                               "device": {"type": "sip", "params": {"to": "sip:bob@example.com"}}})
            await ws.wait_for(lambda: [e for e in ws.events("calling.call.refer")
                                       if e["params"].get("state") in ("success", "error", "busy", "noAnswer")],
                              timeout=10)
            refer = [e["params"] for e in ws.events("calling.call.refer")]
            await ws.command("calling.end", {"call_id": call_id, "node_id": node_id, "reason": "hangup"})
            await ws.wait_state(call_id, "ended")
            await ws.close()
            return refer

    with sipp_in_background(uas, tmp_path):
        refer = asyncio.run(app())
    states = [(r["state"], r.get("sip_refer_response_code"), r.get("sip_notify_response_code")) for r in refer]
    assert states[0][:2] == ("inProgress", "202") and states[-1] == ("success", "202", "200"), refer


@pytest.mark.parametrize(("reason", "code"), [("busy", 486), ("decline", 603)])
def test_inbound_rejected_by_the_application(relaybox: Any, tmp_path: Path, reason: str, code: int) -> None:
    sipp_port = _free_udp_tcp_port()
    add_trunk(relaybox, "sipp", sipp_port)
    relaybox.add_number(OFFICE, "office")

    async def app() -> None:
        async with aiohttp.ClientSession() as http:
            ws = await V4Ws.open(http, relaybox.ws_url)
            await ws.connect(contexts=["office"], project=relaybox.project, token=relaybox.token)
            caller = await asyncio.create_subprocess_exec(
                "sipp", f"127.0.0.1:{relaybox.sip_port}", "-i", "127.0.0.1", "-p", str(sipp_port), "-nostdin",
                "-m", "1", "-timeout", "20s", "-timeout_error", "-trace_err", "-trace_msg", "-s", OFFICE,
                "-sf", scenario(tmp_path, "uac_rejected.xml", expect=code), cwd=tmp_path)
            offer = await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.receive")), None),
                                      timeout=15)
            await ws.command("calling.end", {"call_id": offer["call_id"], "node_id": offer["node_id"],
                                             "reason": reason})
            assert await asyncio.wait_for(caller.wait(), 20) == 0, sipp_log(tmp_path)
            await ws.close()

    asyncio.run(app())
    call = relaybox.wait_until(lambda: [c for c in history(relaybox) if c["state"] == "ended"], timeout=5)[0]
    assert call["end_reason"] == reason


def test_inbound_call_over_tcp(relaybox: Any, clients: Any, tmp_path: Path) -> None:
    status, _ = relaybox.api("POST", "/api/trunks", {"name": "loopback", "uri": "sip:127.0.0.1;transport=tcp"})
    assert status == 201  # no port in the URI: every source port of 127.0.0.1 is the trunk
    relaybox.add_number(OFFICE, "office")
    consumer = clients.start("v2_python", "consumer", env={"CONTEXT": "office", "CALLS": "1", "HOLD": "30"})
    consumer.wait_for(r"^READY\b", timeout=20)
    done = sipp(relaybox, tmp_path, "-sn", "uac", "-t", "t1", "-s", OFFICE, port=_free_udp_tcp_port())
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    consumer.wait_for(r"^ANSWERED \S+ True", timeout=10)
    assert "SIP/2.0/TCP" in sipp_log(tmp_path)


def test_official_v2_dial_through_a_trunk_that_challenges(relaybox: Any, clients: Any, tmp_path: Path) -> None:
    uas_port = _free_udp_tcp_port()
    add_trunk(relaybox, "carrier", uas_port, ["+1555999"], username="acct", password="trunk-pw")
    uas = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uas_auth.xml"),
               port=uas_port, background=True)
    with sipp_in_background(uas, tmp_path):
        result = clients.run("v2_python", "dial", env={"FROM": OFFICE, "TO": TRUNKED})
    assert result.find(r"^DIAL successful: True"), result.describe()
    assert "Authorization: Digest username=\"acct\"" in sipp_log(tmp_path)


def test_far_end_holds_and_resumes_with_reinvites(relaybox: Any, clients: Any, tmp_path: Path) -> None:
    sipp_port, consumer = sipp_caller_to_office(relaybox, clients)
    done = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uac_hold.xml"), "-s", OFFICE, port=sipp_port)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    consumer.wait_for(r"^ANSWERED \S+ True", timeout=10)
    log = relaybox.log()
    assert "re-INVITE: held by the far end" in log and "re-INVITE: resumed by the far end" in log


def test_caller_cancels_while_ringing(relaybox: Any, tmp_path: Path) -> None:
    sipp_port = _free_udp_tcp_port()
    add_trunk(relaybox, "sipp", sipp_port)
    relaybox.add_number(OFFICE, "office")  # nobody consumes "office": the call rings until the caller gives up
    done = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uac_cancel.xml"), "-s", OFFICE, port=sipp_port)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    call = relaybox.wait_until(lambda: [c for c in history(relaybox) if c["state"] == "ended"], timeout=5)[0]
    assert call["direction"] == "inbound" and call["end_reason"] == "cancel"
    status, sip = relaybox.api("GET", "/api/sip")
    assert status == 200 and sip["calls"] == 0, sip  # the dialog is forgotten


def test_relaybox_to_relaybox_call_with_rfc4733_keys_tts_and_recording(
        relaybox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """relaybox A dials a number routed to a trunk that is relaybox B; on B the official v2 IVR answers,
    prompts with TTS and records; on A the application sends 1234# (RFC 4733) once answered; B hangs up."""
    from conftest import VENVS, Background, client_env, require_client

    require_client("v2_python")
    box_b, b_sip = second_relaybox(tmp_path, monkeypatch)
    try:
        add_trunk(relaybox, "box-b", b_sip, ["+1555999"])  # A: numbers +1555999... go to B
        add_trunk(box_b, "box-a", relaybox.sip_port)  # B: trusts A's SIP address
        box_b.add_number(TRUNKED, "office")
        env = {**client_env("v2_python", box_b), "CONTEXT": "office"}
        ivr = Background("ivr-b", [str(VENVS / "sw2" / "bin" / "python"), "-u", str(SIPP_DIR / "ivr_v2.py")], env,
                         tmp_path)
        try:
            ivr.wait_for(r"^READY\b", timeout=20)

            async def caller() -> list[str]:
                async with aiohttp.ClientSession() as http:
                    ws = await V4Ws.open(http, relaybox.ws_url)
                    await ws.connect(contexts=["office"], project=relaybox.project, token=relaybox.token)
                    device = {"type": "phone", "params": {"to_number": TRUNKED, "from_number": OFFICE}}
                    await ws.command("calling.dial", {"tag": "b", "devices": [[device]]})
                    dialed = await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.dial")
                                                             if e["params"]["dial_state"] != "dialing"), None),
                                               timeout=15)
                    assert dialed["dial_state"] == "answered", dialed
                    call_id, node_id = dialed["call"]["call_id"], dialed["call"]["node_id"]
                    await asyncio.sleep(1.0)
                    await ws.command("calling.send_digits", {"call_id": call_id, "node_id": node_id,
                                                             "control_id": "d1", "digits": "1234#"})
                    await ws.wait_state(call_id, "ended")  # B says goodbye and hangs up
                    states = ws.states(call_id)
                    await ws.close()
                    return states

            states = asyncio.run(caller())
            ivr.wait_for(r"^HANGUP ", timeout=15)
        finally:
            ivr.stop()
    finally:
        assert box_b.stop() == 0
    assert states[-1] == "ended" and "answered" in states, states
    lines = ivr.lines
    assert "PROMPT True 1234 #" in lines and "PLAY True" in lines, lines
    a_calls = [c for c in history(relaybox) if c["direction"] == "outbound"]
    assert a_calls and a_calls[0]["end_reason"] == "hangup", a_calls


def test_connect_an_inbound_sip_call_to_a_trunk(relaybox: Any, tmp_path: Path) -> None:
    """sipp calls in, the application answers and connects it to a number on a trunk (a sipp UAS); when the
    caller hangs up, relaybox ends the connected leg with a BYE."""
    caller_port, callee_port = _free_udp_tcp_port(), _free_udp_tcp_port()
    add_trunk(relaybox, "callers", caller_port)
    add_trunk(relaybox, "carrier", callee_port, ["+1555999"])
    relaybox.add_number(OFFICE, "office")
    callee = sipp(relaybox, tmp_path, "-sn", "uas", port=callee_port, background=True)

    async def app() -> list[str]:
        async with aiohttp.ClientSession() as http:
            ws = await V4Ws.open(http, relaybox.ws_url)
            await ws.connect(contexts=["office"], project=relaybox.project, token=relaybox.token)
            caller = await asyncio.create_subprocess_exec(
                "sipp", f"127.0.0.1:{relaybox.sip_port}", "-i", "127.0.0.1", "-p", str(caller_port), "-nostdin",
                "-m", "1", "-timeout", "30s", "-timeout_error", "-trace_err", "-sn", "uac", "-d", "4000", "-s", OFFICE,
                cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL)
            offer = await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.receive")), None),
                                      timeout=15)
            call_id, node_id = offer["call_id"], offer["node_id"]
            await ws.command("calling.answer", {"call_id": call_id, "node_id": node_id})
            await ws.wait_state(call_id, "answered")
            device = {"type": "phone", "params": {"to_number": TRUNKED, "from_number": OFFICE}}
            await ws.command("calling.connect", {"call_id": call_id, "node_id": node_id, "devices": [[device]]})
            await ws.wait_for(lambda: [e for e in ws.events("calling.call.connect")
                                       if e["params"].get("connect_state") == "connected"], timeout=15)
            assert await asyncio.wait_for(caller.wait(), 30) == 0, sipp_log(tmp_path)
            await ws.wait_state(call_id, "ended")
            states = [e["params"]["connect_state"] for e in ws.events("calling.call.connect")]
            await ws.close()
            return states

    with sipp_in_background(callee, tmp_path):
        states = asyncio.run(app())
    assert states[:2] == ["connecting", "connected"], states
    ended = {c["to_number"]: c["end_reason"] for c in history(relaybox) if c["state"] == "ended"}
    assert ended.get(TRUNKED) is not None and ended.get(f"sip:{OFFICE}@127.0.0.1") == "hangup", ended


@pytest.mark.parametrize("answered", [True, False], ids=["answer-in-ack", "no-answer"])
def test_late_offer_invite_without_sdp(relaybox: Any, clients: Any, tmp_path: Path, answered: bool) -> None:
    """RFC 3261 13.2.1: an INVITE without SDP gets relaybox's offer in the 200 OK; the ACK's answer starts the
    media (PCMA chosen by the caller), and an ACK without an answer ends the call with a BYE."""
    sipp_port, consumer = sipp_caller_to_office(relaybox, clients)
    name = "uac_late_offer.xml" if answered else "uac_late_offer_no_answer.xml"
    done = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / name), "-s", OFFICE, port=sipp_port)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    consumer.wait_for(r"^ANSWERED \S+ True", timeout=10)
    call = relaybox.wait_until(lambda: [c for c in history(relaybox) if c["state"] == "ended"], timeout=10,
                               message="the late-offer call ended")[0]
    log = relaybox.log()
    assert "answered with our SDP offer (late offer)" in log
    if answered:
        assert "late offer answered in the ACK: PCMA" in log and call["end_reason"] == "hangup"
    else:
        assert "late offer not answered: the ACK carries no SDP answer; BYE" in log
        assert call["end_reason"] == "error"


def test_reinvite_without_sdp_is_a_late_offer(relaybox: Any, clients: Any, tmp_path: Path) -> None:
    """A re-INVITE without SDP (a session refresh, a PBX re-routing media) gets relaybox's offer in the 200 OK;
    the ACK's answer moves the media (PCMA, another port) without ending the call."""
    sipp_port, _consumer = sipp_caller_to_office(relaybox, clients)
    done = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uac_reinvite_late_offer.xml"), "-s", OFFICE,
                port=sipp_port)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    call = relaybox.wait_until(lambda: [c for c in history(relaybox) if c["state"] == "ended"], timeout=10,
                               message="the call ended")[0]
    log = relaybox.log()
    assert "re-INVITE without SDP: our offer in the 200 OK" in log
    assert "late offer answered in the ACK: PCMA to 127.0.0.1:41000" in log and call["end_reason"] == "hangup"


def test_conference_of_two_sip_calls_mixed_and_recorded(
        relaybox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """relaybox A dials two numbers on a trunk that is relaybox B, whose application answers each and plays a
    tone (600 Hz on one, 1400 Hz on the other); on A both SIP calls join one conference recorded from its start:
    the recording (served by A, announced to a recording_status_callback) holds both tones, mixed."""
    import wave

    import numpy as np
    from aiohttp import web

    from relaybox.media import audiofiles
    from relaybox.media.tones import tone
    from relaybox.relay import RelayClient

    box_b, b_sip = second_relaybox(tmp_path, monkeypatch)
    numbers = {"+15559990601": 600.0, "+15559991401": 1400.0}
    for hz in numbers.values():
        with wave.open(str(tmp_path / f"{int(hz)}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(tone((hz,), 6.0, 6000.0).tobytes())
    try:
        add_trunk(relaybox, "box-b", b_sip, ["+1555999"])
        add_trunk(box_b, "box-a", relaybox.sip_port)
        for number in numbers:
            box_b.add_number(number, "office")

        async def scenario() -> tuple[dict[str, str], bytes]:
            got: list[dict[str, str]] = []

            async def handle(request: web.Request) -> web.StreamResponse:
                if request.method == "POST":
                    got.append({k: str(v) for k, v in (await request.post()).items()})
                    return web.Response(text="ok")
                return web.FileResponse(tmp_path / request.path.lstrip("/"))

            app = web.Application()
            app.router.add_route("*", "/{name}", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            web_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
            answerer = RelayClient(project=box_b.project, token=box_b.token, host=box_b.ws_url, contexts=["office"])

            @answerer.on_call
            async def on_call(call: Any) -> None:
                await call.answer()
                hz = numbers[call.device.get("params", {}).get("to_number", "")]
                await call.play([{"type": "audio", "params": {"url": f"{web_url}/{int(hz)}.wav"}}])

            try:
                async with answerer, RelayClient(project=relaybox.project, token=relaybox.token,
                                                 host=relaybox.ws_url) as dialer:
                    calls = [await dialer.dial([[{"type": "phone", "params": {"to_number": n, "from_number": OFFICE}}]])
                             for n in numbers]
                    for call in calls:
                        await call.join_conference("e2e", record="record-from-start", trim="do-not-trim",
                                                   recording_status_callback=f"{web_url}/rec")
                    await asyncio.sleep(2.5)
                    for call in calls:
                        await call.hangup()
                    for _ in range(100):
                        if got and got[-1].get("RecordingStatus") == "completed":
                            break
                        await asyncio.sleep(0.1)
                    assert got and got[-1]["RecordingStatus"] == "completed", got
                    async with aiohttp.ClientSession() as http, http.get(got[-1]["RecordingUrl"]) as resp:
                        assert resp.status == 200
                        return got[-1], await resp.read()
            finally:
                await runner.cleanup()

        done, wav = asyncio.run(scenario())
    finally:
        assert box_b.stop() == 0
    audio = audiofiles.decode(wav).astype(float)
    assert 2 <= int(done["RecordingDuration"]) <= 4, done
    x = audio[len(audio) // 4: 3 * len(audio) // 4]  # both calls mixed by then
    spec = np.abs(np.fft.rfft(x))
    level = {hz: spec[int(hz * len(x) / 8000)] for hz in (600.0, 1000.0, 1400.0)}
    assert level[600.0] > 10 * level[1000.0] and level[1400.0] > 10 * level[1000.0], level


# ------------------------------------------------------------------------------------------------ trunk REGISTER


def _until(what: Any, timeout: float = 10.0) -> Any:
    """Poll WHAT() until it returns something truthy (returned), or fail after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s")


def _acct_binding(box: Relaybox) -> str | None:
    """Where B's SIP user acct is registered (None: not registered)."""
    status, body = box.api("GET", "/api/sip-users")
    assert status == 200, body
    (acct,) = [u for u in body["sip_users"] if u["username"] == "acct"]
    return str(acct["contact"]) if acct["registered"] else None


def _registration(box: Relaybox, trunk: str) -> dict[str, Any]:
    status, body = box.api("GET", "/api/trunks")
    assert status == 200, body
    (row,) = [t for t in body["trunks"] if t["name"] == trunk]
    return dict(row["registration"])


def _trunks_list(box: Relaybox) -> str:
    import sys

    argv = [sys.executable, "-m", "relaybox", "trunks", "list", "--url", box.url, "--project", box.project,
            "--token", box.token]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_trunk_registers_to_a_second_relaybox_receives_its_call_and_unregisters(
        relaybox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registers to B as B's SIP user acct; B dials sip:acct@B: the call reaches A's context, answered by a
    v4 client; deleting the trunk (and later A's shutdown) ends the registration on B."""
    from relaybox.relay import RelayClient

    box_b, b_sip = second_relaybox(tmp_path, monkeypatch)
    try:
        assert box_b.api("POST", "/api/sip-users", {"username": "acct", "password": "acct-pw"})[0] == 201
        add_trunk(relaybox, "box-b", b_sip, username="acct", password="acct-pw", register=True)
        contact = _until(lambda: _acct_binding(box_b))
        assert contact == f"sip:acct@127.0.0.1:{relaybox.sip_port}"
        reg = _until(lambda: (r := _registration(relaybox, "box-b"))["state"] == "registered" and r)
        assert reg["last_error"] is None and 3500 < reg["expires_at"] - time.time() <= 3601, reg
        assert re.search(r"box-b -> .*  registered until \d\d:\d\d:\d\d$", _trunks_list(relaybox).strip())
        relaybox.add_number("sip:acct@127.0.0.1", "office")  # the called party B puts in To

        async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            arrived: list[dict[str, Any]] = []
            answerer = RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url,
                                   contexts=["office"])

            @answerer.on_call
            async def on_call(call: Any) -> None:
                arrived.append(dict(call.device))
                await call.answer()

            async with answerer:
                await asyncio.sleep(0.5)
                result = await _dial(box_b, {"type": "sip", "params": {"to": "sip:acct@127.0.0.1",
                                                                       "from": "sip:caller@carrier"}})
            return result, arrived

        result, arrived = asyncio.run(scenario())
        assert result["dial_state"] == "answered", result
        assert arrived and arrived[0]["params"]["to"] == "sip:acct@127.0.0.1", arrived
        a_calls = [c for c in history(relaybox) if c["direction"] == "inbound"]
        assert a_calls and a_calls[0]["context"] == "office", a_calls

        assert relaybox.api("DELETE", "/api/trunks/box-b")[0] == 200
        _until(lambda: _acct_binding(box_b) is None)  # Expires: 0 reached B

        add_trunk(relaybox, "box-b", b_sip, username="acct", password="acct-pw", register=True)
        _until(lambda: _acct_binding(box_b))
        assert relaybox.stop() == 0  # shutting down unregisters too
        assert _acct_binding(box_b) is None
    finally:
        assert box_b.stop() == 0
    assert "registration failed" not in relaybox.log()


def test_trunk_registration_with_a_wrong_password_reports_the_reason(
        relaybox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box_b, b_sip = second_relaybox(tmp_path, monkeypatch)
    try:
        assert box_b.api("POST", "/api/sip-users", {"username": "acct", "password": "acct-pw"})[0] == 201
        add_trunk(relaybox, "box-b", b_sip, username="acct", password="wrong", register=True, register_expires=60)
        reg = _until(lambda: (r := _registration(relaybox, "box-b"))["state"] == "failed" and r)
        assert reg == {"state": "failed", "expires_at": None, "last_error": "403 Bad credentials"}
        assert "box-b -> " in _trunks_list(relaybox) and "not registered: 403 Bad credentials" in _trunks_list(relaybox)
        assert _acct_binding(box_b) is None
        assert relaybox.api("GET", "/api/sip")[0] == 200  # still serving
        _until(lambda: "trunk box-b: registration failed: 403 Bad credentials" in relaybox.log())
    finally:
        assert box_b.stop() == 0


def test_inbound_call_with_require_100rel_is_pracked_then_answered(
        relaybox: Any, clients: Any, tmp_path: Path) -> None:
    """RFC 3262: a caller requiring 100rel gets a reliable 180 (Require: 100rel, RSeq), PRACKs it (200), and
    only then the INVITE's 200 OK; the call reaches the app's context like any other."""
    sipp_port, consumer = sipp_caller_to_office(relaybox, clients)
    done = sipp(relaybox, tmp_path, "-sf", str(SIPP_DIR / "uac_100rel.xml"), "-s", OFFICE, port=sipp_port)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
    consumer.wait_for(r"^ANSWERED \S+ True", timeout=10)
    call = relaybox.wait_until(lambda: [c for c in history(relaybox) if c["state"] == "ended"], timeout=10,
                               message="the 100rel call ended")[0]
    assert call["end_reason"] == "hangup" and call["context"] == "office"
    log = relaybox.log()
    assert "reliable 180 (RSeq " in log and "PRACK" in log
