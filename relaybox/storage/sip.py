"""SIP users (registrar credentials) and SIP trunks, stored in the `sip_users` / `sip_trunks` tables.

User passwords are kept only as digest HA1 hashes (per algorithm, for the realm); a trunk's password
is kept as given because relaybox must answer the trunk's digest challenges with it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from relaybox.sip.auth import ALGORITHMS, ha1
from relaybox.sip.message import SipParseError, SipUri, parse_uri
from relaybox.storage.db import Store

USERNAME = re.compile(r"^[A-Za-z0-9._~+-]{1,64}$")
TRUNK_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PREFIX = re.compile(r"^\+\d{0,14}$")
DEFAULT_REGISTER_EXPIRES = 3600
MIN_REGISTER_EXPIRES = 10
MAX_REGISTER_EXPIRES = 86400


class SipConfigError(ValueError):
    """Bad user or trunk settings; the message says which field and why."""


@dataclass(slots=True)
class SipUser:
    username: str
    ha1: dict[str, str]  # algorithm -> HA1 for the realm
    realm: str
    created_at: float = 0.0

    def public(self) -> dict[str, Any]:
        return {"username": self.username, "realm": self.realm, "created_at": self.created_at}


@dataclass(slots=True)
class Trunk:
    name: str
    uri: str
    username: str | None = None
    password: str | None = None
    prefixes: list[str] = field(default_factory=list)
    created_at: float = 0.0
    register: bool = False  # relaybox keeps USERNAME registered at the trunk (carriers that call a binding)
    register_expires: int = DEFAULT_REGISTER_EXPIRES

    @property
    def target(self) -> SipUri:
        return parse_uri(self.uri)

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "uri": self.uri, "username": self.username,
                "has_password": bool(self.password), "prefixes": list(self.prefixes),
                "created_at": self.created_at, "register": self.register,
                "register_expires": self.register_expires}


def check_trunk(name: Any, uri: Any, username: Any, password: Any, prefixes: Any, register: Any = False,
                register_expires: Any = None) -> Trunk:
    if not isinstance(name, str) or not TRUNK_NAME.match(name):
        raise SipConfigError("'name' must be 1-64 letters, digits, '.', '_' or '-'")
    if not isinstance(uri, str):
        raise SipConfigError("'uri' must be a sip: URI such as sip:carrier.example.com:5060")
    try:
        parsed = parse_uri(uri)
    except SipParseError as exc:
        raise SipConfigError(f"'uri' must be a sip: URI such as sip:carrier.example.com:5060 ({exc})") from None
    if parsed.scheme != "sip":
        raise SipConfigError("'uri': only sip: (UDP/TCP) trunks are supported, not sips:")
    if parsed.transport not in ("udp", "tcp"):
        raise SipConfigError(f"'uri': transport must be udp or tcp, got {parsed.transport}")
    for key, value in (("username", username), ("password", password)):
        if value is not None and (not isinstance(value, str) or not value or len(value) > 128):
            raise SipConfigError(f"'{key}' must be a non-empty string of at most 128 characters")
    if (username is None) != (password is None):
        raise SipConfigError("'username' and 'password' go together")
    if prefixes is None:
        prefixes = []
    if not isinstance(prefixes, list) or not all(isinstance(p, str) and PREFIX.match(p) for p in prefixes):
        raise SipConfigError("'prefixes' must be a list of E.164 prefixes such as \"+44\" (\"+\" for all numbers)")
    if not isinstance(register, bool):
        raise SipConfigError("'register' must be true or false")
    if register and (username is None or password is None):
        raise SipConfigError("'register' needs the trunk's 'username' and 'password' (the account to register)")
    if register_expires is None:
        register_expires = DEFAULT_REGISTER_EXPIRES
    if isinstance(register_expires, bool) or not isinstance(register_expires, int) \
            or not MIN_REGISTER_EXPIRES <= register_expires <= MAX_REGISTER_EXPIRES:
        raise SipConfigError(f"'register_expires' must be whole seconds from {MIN_REGISTER_EXPIRES} to "
                             f"{MAX_REGISTER_EXPIRES}")
    return Trunk(name, uri, username, password, sorted(set(prefixes)), time.time(), register, register_expires)


class SipStore:
    """SIP users and trunks: cached in memory, written through to SQLite."""

    def __init__(self, store: Store, realm: str = "relaybox") -> None:
        self.store = store
        self.realm = realm
        self.users: dict[str, SipUser] = {}
        self.trunks: dict[str, Trunk] = {}
        with store._lock:
            for (record,) in store._db.execute("SELECT record FROM sip_users"):
                data = json.loads(record)
                self.users[data["username"]] = SipUser(**data)
            for (record,) in store._db.execute("SELECT record FROM sip_trunks ORDER BY created_at"):
                data = json.loads(record)
                self.trunks[data["name"]] = Trunk(**data)

    # -- users ------------------------------------------------------------------------------------

    def add_user(self, username: Any, password: Any) -> SipUser:
        if not isinstance(username, str) or not USERNAME.match(username):
            raise SipConfigError("'username' must be 1-64 letters, digits or . _ ~ + -")
        if not isinstance(password, str) or not 4 <= len(password) <= 128:
            raise SipConfigError("'password' must be a string of 4 to 128 characters")
        user = SipUser(username, {a: ha1(username, self.realm, password, a) for a in ALGORITHMS}, self.realm,
                       time.time())
        self.store._write(
            "INSERT INTO sip_users VALUES (?, ?, ?) ON CONFLICT(username) DO UPDATE SET record = excluded.record",
            (username, json.dumps(asdict(user)), user.created_at),
        )
        self.users[username] = user
        return user

    def delete_user(self, username: str) -> bool:
        existed = self.users.pop(username, None) is not None
        self.store._write("DELETE FROM sip_users WHERE username = ?", (username,))
        self.delete_registration(username)
        return existed

    def ha1_for(self, username: str) -> dict[str, str] | None:
        user = self.users.get(username)
        if user is None or user.realm != self.realm:
            return None
        return user.ha1

    # -- registrations (a restart still reaches registered phones until their bindings expire) ---------

    def save_registration(self, username: str, record: dict[str, Any]) -> None:
        """RECORD: contact, expires (epoch seconds), source [host, port], transport."""
        self.store._write("INSERT INTO sip_registrations VALUES (?, ?) ON CONFLICT(username) DO UPDATE SET "
                          "record = excluded.record", (username, json.dumps(record)))

    def delete_registration(self, username: str) -> None:
        self.store._write("DELETE FROM sip_registrations WHERE username = ?", (username,))

    def registrations(self) -> dict[str, dict[str, Any]]:
        with self.store._lock:
            rows = list(self.store._db.execute("SELECT username, record FROM sip_registrations"))
        return {username: json.loads(record) for username, record in rows}

    # -- trunks -----------------------------------------------------------------------------------

    def add_trunk(self, trunk: Trunk) -> Trunk:
        self.store._write(
            "INSERT INTO sip_trunks VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET record = excluded.record",
            (trunk.name, json.dumps(asdict(trunk)), trunk.created_at),
        )
        self.trunks[trunk.name] = trunk
        return trunk

    def delete_trunk(self, name: str) -> bool:
        existed = self.trunks.pop(name, None) is not None
        self.store._write("DELETE FROM sip_trunks WHERE name = ?", (name,))
        return existed

    def trunk_for_number(self, number: str) -> Trunk | None:
        """The trunk with the longest prefix matching NUMBER (E.164)."""
        best: tuple[int, Trunk] | None = None
        for trunk in self.trunks.values():
            for prefix in trunk.prefixes:
                if number.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), trunk)
        return best[1] if best else None
