"""HTTP digest authentication for SIP (RFC 2617, RFC 7616 algorithms, RFC 3261 22).

The server side is stateless: a nonce is a timestamp signed with a per-process secret, so a
challenge needs no table and a stale nonce is recognised (`stale=true`). Passwords are stored as
HA1 = H(user:realm:password), one per algorithm, never in the clear.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
NONCE_SECONDS = 300.0
PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def _h(algorithm: str, text: str) -> str:
    return ALGORITHMS[algorithm](text.encode()).hexdigest()


def ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    return _h(algorithm, f"{username}:{realm}:{password}")


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """`Digest a="b", c=d` -> ("digest", {"a": "b", "c": "d"})."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[m.group(1).lower()] = v
        pos = m.end()
    return scheme.lower(), params


@dataclass(slots=True)
class Credentials:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None


def parse_credentials(value: str) -> Credentials | None:
    scheme, p = parse_params(value)
    if scheme != "digest" or not all(k in p for k in ("username", "realm", "nonce", "uri", "response")):
        return None
    algorithm = p.get("algorithm", "MD5").upper()
    if algorithm not in ALGORITHMS:
        return None
    return Credentials(p["username"], p["realm"], p["nonce"], p["uri"], p["response"].lower(), algorithm,
                       p.get("qop"), p.get("nc"), p.get("cnonce"), p.get("opaque"))


def digest_response(algorithm: str, ha1_hex: str, nonce: str, method: str, uri: str, qop: str | None = None,
                    nc: str | None = None, cnonce: str | None = None) -> str:
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1_hex}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1_hex}:{nonce}:{ha2}")


class DigestServer:
    """Issues challenges and checks credentials for one realm."""

    def __init__(self, realm: str, secret: bytes | None = None, lifetime: float = NONCE_SECONDS) -> None:
        self.realm = realm
        self.secret = secret or secrets.token_bytes(32)
        self.lifetime = lifetime

    def nonce(self, now: float) -> str:
        stamp = f"{int(now * 1000) / 1000:.3f}"  # truncated: a rounded-up stamp would be "from the future"
        sig = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{stamp}.{sig}"

    def nonce_state(self, nonce: str, now: float) -> str:
        """`ok`, `stale` (ours but old) or `bad` (not ours)."""
        stamp, _, sig = nonce.rpartition(".")
        good = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        if not stamp or not hmac.compare_digest(sig, good):
            return "bad"
        try:
            issued = float(stamp)
        except ValueError:
            return "bad"
        return "ok" if 0 <= now - issued <= self.lifetime else "stale"

    def challenge(self, now: float, *, stale: bool = False, algorithm: str = "MD5") -> str:
        out = f'Digest realm="{self.realm}", nonce="{self.nonce(now)}", algorithm={algorithm}, qop="auth"'
        return out + (", stale=true" if stale else "")

    def verify(self, header: str | None, method: str, now: float, lookup_ha1: dict[str, str] | None,
               ) -> tuple[str, str | None]:
        """Check an Authorization header. Returns (verdict, username): verdict `ok`, `stale`, `missing` or `bad`.

        LOOKUP_HA1 maps algorithm -> HA1 for the claimed user (None: unknown user)."""
        if not header:
            return "missing", None
        creds = parse_credentials(header)
        if creds is None:
            return "bad", None
        if creds.realm != self.realm:
            return "bad", creds.username
        state = self.nonce_state(creds.nonce, now)
        if state == "bad" or lookup_ha1 is None or creds.algorithm not in lookup_ha1:
            return "bad", creds.username
        if creds.qop and (creds.qop != "auth" or not creds.nc or not creds.cnonce):
            return "bad", creds.username
        expected = digest_response(creds.algorithm, lookup_ha1[creds.algorithm], creds.nonce, method, creds.uri,
                                   creds.qop, creds.nc, creds.cnonce)
        if not hmac.compare_digest(expected, creds.response):
            return "bad", creds.username
        return ("stale" if state == "stale" else "ok"), creds.username


def authorization(challenge: str, method: str, uri: str, username: str, password: str, nc: int = 1,
                  cnonce: str | None = None) -> str | None:
    """The client's Authorization value for a WWW-/Proxy-Authenticate CHALLENGE (None: cannot answer)."""
    scheme, p = parse_params(challenge)
    if scheme != "digest" or "nonce" not in p:
        return None
    algorithm = p.get("algorithm", "MD5").upper()
    if algorithm not in ALGORITHMS:
        return None
    realm = p.get("realm", "")
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else None
    cnonce = cnonce or secrets.token_hex(8)
    nc_text = f"{nc:08x}"
    key = ha1(username, realm, password, algorithm)
    resp = digest_response(algorithm, key, p["nonce"], method, uri, qop, nc_text if qop else None,
                           cnonce if qop else None)
    out = (f'Digest username="{username}", realm="{realm}", nonce="{p["nonce"]}", uri="{uri}", '
           f'response="{resp}", algorithm={algorithm}')
    if qop:
        out += f', qop={qop}, nc={nc_text}, cnonce="{cnonce}"'
    if "opaque" in p:
        out += f', opaque="{p["opaque"]}"'
    return out
