"""`relaybox trunks ...`, `relaybox sip-users ...` and their REST endpoints (400s with reasons, persistence)."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

from conftest import Relaybox


def run_cli(box: Any, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "relaybox", *args, "--url", box.url, "--project", box.project, "--token", box.token]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_trunks_add_list_delete(relaybox: Any) -> None:
    added = run_cli(relaybox, "trunks", "add", "carrier", "--uri", "sip:carrier.example.com:5070", "--username",
                    "acct", "--password", "pw", "--prefix", "+44", "--prefix", "+33")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "carrier -> sip:carrier.example.com:5070  prefixes=+33,+44"
    listed = run_cli(relaybox, "trunks", "list")
    assert listed.stdout.strip() == "carrier -> sip:carrier.example.com:5070  prefixes=+33,+44  user=acct"
    status, body = relaybox.api("GET", "/api/trunks")
    assert status == 200 and body["trunks"][0]["has_password"] is True and "password" not in body["trunks"][0]
    assert run_cli(relaybox, "trunks", "delete", "carrier").returncode == 0
    assert relaybox.api("GET", "/api/trunks")[1] == {"trunks": []}
    missing = run_cli(relaybox, "trunks", "delete", "carrier")
    assert missing.returncode != 0 and "404" in missing.stderr and "Traceback" not in missing.stderr


def test_trunk_bad_input_gets_reasons(relaybox: Any) -> None:
    for body, reason in [
        ({"name": "x", "uri": "tel:+4420"}, "'uri' must be a sip: URI"),
        ({"name": "x", "uri": "sips:h"}, "only sip:"),
        ({"name": "x", "uri": "sip:h;transport=sctp"}, "transport must be udp or tcp"),
        ({"name": "bad name", "uri": "sip:h"}, "'name'"),
        ({"name": "x", "uri": "sip:h", "username": "u"}, "go together"),
        ({"name": "x", "uri": "sip:h", "prefixes": ["44"]}, "E.164 prefixes"),
        ({"name": "x", "uri": "sip:h", "colour": "red"}, "unknown field"),
        ({"uri": "sip:h"}, "missing field"),
        ({"name": "x", "uri": "sip:h", "register": True}, "'register' needs the trunk's 'username' and 'password'"),
        ({"name": "x", "uri": "sip:h", "register": "yes"}, "'register' must be true or false"),
        ({"name": "x", "uri": "sip:h", "username": "u", "password": "p", "register": True, "register_expires": 5},
         "'register_expires' must be whole seconds from 10 to 86400"),
        ({"name": "x", "uri": "sip:h", "register_expires": "60"}, "'register_expires' must be whole seconds"),
    ]:
        status, reply = relaybox.api("POST", "/api/trunks", body)
        assert status == 400 and reason in reply["error"], (body, status, reply)
    bad = run_cli(relaybox, "trunks", "add", "x", "--uri", "http://nope")
    assert bad.returncode != 0 and "400" in bad.stderr and "sip: URI" in bad.stderr and "Traceback" not in bad.stderr
    bare = run_cli(relaybox, "trunks", "add", "x", "--uri", "sip:h", "--register")
    assert bare.returncode == 2 and "--register needs --username and --password" in bare.stderr
    assert relaybox.api("GET", "/api/trunks")[1] == {"trunks": []}


def test_sip_users_add_list_delete_and_bad_input(relaybox: Any) -> None:
    added = run_cli(relaybox, "sip-users", "add", "alice", "--password", "s3cret")
    assert added.returncode == 0 and added.stdout.strip() == "alice added (realm relaybox)", added.stderr
    listed = run_cli(relaybox, "sip-users", "list")
    assert listed.stdout.strip() == "alice  not registered"
    for body, reason in [({"username": "a b", "password": "s3cret"}, "'username'"),
                         ({"username": "bob", "password": "x"}, "'password'"),
                         ({"username": "bob"}, "missing field")]:
        status, reply = relaybox.api("POST", "/api/sip-users", body)
        assert status == 400 and reason in reply["error"], (body, reply)
    assert run_cli(relaybox, "sip-users", "delete", "alice").returncode == 0
    assert relaybox.api("GET", "/api/sip-users")[1] == {"sip_users": []}
    assert "404" in run_cli(relaybox, "sip-users", "delete", "alice").stderr


def test_users_and_trunks_survive_a_restart(tmp_path: Any) -> None:
    data = tmp_path / "data"
    data.mkdir()
    box = Relaybox(data, tmp_path / "a.log")
    box.start()
    try:
        assert box.api("POST", "/api/sip-users", {"username": "alice", "password": "s3cret"})[0] == 201
        assert box.api("POST", "/api/trunks", {"name": "c", "uri": "sip:127.0.0.1:5099", "prefixes": ["+1"]})[0] == 201
        assert box.api("POST", "/api/trunks", {"name": "d", "uri": "sip:127.0.0.1:5098", "username": "u",
                                               "password": "p", "register": True, "register_expires": 120})[0] == 201
    finally:
        assert box.stop() == 0
    again = Relaybox(data, tmp_path / "b.log")
    again.start()
    try:
        assert [u["username"] for u in again.api("GET", "/api/sip-users")[1]["sip_users"]] == ["alice"]
        c, d = again.api("GET", "/api/trunks")[1]["trunks"]
        assert c["prefixes"] == ["+1"] and c["register"] is False and "registration" not in c
        assert (d["register"], d["register_expires"]) == (True, 120) and "registration" in d
    finally:
        assert again.stop() == 0


def test_busy_sip_port_given_explicitly_is_a_clear_error(relaybox: Any, tmp_path: Any) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        busy = subprocess.run(
            [sys.executable, "-m", "relaybox", "serve", "--port", "0", "--sip-port", str(port), "--data-dir",
             str(tmp_path / "d")], capture_output=True, text=True, timeout=30)
    assert busy.returncode != 0 and "SIP port" in busy.stderr and "Traceback" not in busy.stderr, busy.stderr
