"""SIP messages (RFC 3261 section 7): parse bytes into requests/responses and serialize them back.

Sans-I/O. Parsing is tolerant of what RFC 4475 calls valid-but-odd (folded lines, compact header
names, extra whitespace, case, unknown headers) and raises `SipParseError` for anything it cannot
make sense of, so a transport can drop the datagram (or answer 400) without crashing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

MAX_MESSAGE = 65_535

COMPACT = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length", "c": "Content-Type",
    "f": "From", "s": "Subject", "k": "Supported", "t": "To", "v": "Via", "r": "Refer-To", "b": "Referred-By",
    "o": "Event", "u": "Allow-Events", "x": "Session-Expires", "a": "Accept-Contact", "j": "Reject-Contact",
    "d": "Request-Disposition", "y": "Identity", "n": "Identity-Info",
}
CANONICAL = {
    name.lower(): name
    for name in (
        "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Max-Forwards", "Content-Length", "Content-Type",
        "Route", "Record-Route", "Allow", "Supported", "Require", "Proxy-Require", "Unsupported", "Expires",
        "WWW-Authenticate", "Authorization", "Proxy-Authenticate", "Proxy-Authorization", "User-Agent",
        "Server", "Refer-To", "Referred-By", "Event", "Subscription-State", "Accept", "Min-Expires",
        "Retry-After", "Subject", "Content-Encoding", "Allow-Events", "Session-Expires", "Reason", "Date",
        "Timestamp", "Warning", "Organization", "Priority", "Alert-Info", "Call-Info", "In-Reply-To",
        "Reply-To", "MIME-Version", "Content-Disposition", "Content-Language", "Accept-Encoding",
        "Accept-Language", "Error-Info", "Authentication-Info", "RSeq", "RAck", "P-Asserted-Identity",
    )
}
# Headers whose comma-separated values are separate entries (RFC 3261 7.3.1).
MULTI = frozenset(
    {"via", "route", "record-route", "contact", "allow", "supported", "require", "proxy-require",
     "unsupported", "accept", "accept-encoding", "accept-language", "allow-events", "in-reply-to", "warning"}
)
TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
REQUEST_LINE = re.compile(r"^([A-Za-z0-9.!%*_+`'~-]+) +(\S+) +SIP/(\d+\.\d+)$", re.IGNORECASE)
STATUS_LINE = re.compile(r"^SIP/(\d+\.\d+) +(\d{3})(?: +(.*))?$", re.IGNORECASE)
HOST = re.compile(r"^[A-Za-z0-9.:_-]+$")
VIA = re.compile(r"^SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9-]+)\s+([^;]+?)\s*(;.*)?$", re.IGNORECASE)
MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")


class SipParseError(ValueError):
    """The bytes are not a SIP message this stack can handle; `status` is what to answer (400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@functools.lru_cache(maxsize=1024)  # every header access canonicalises its name: a few dozen times a message
def canonical(name: str) -> str:
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return CANONICAL.get(low) or "-".join(p[:1].upper() + p[1:] for p in low.split("-"))


def split_commas(value: str) -> list[str]:
    """Split a header value on top-level commas (not inside quotes or <...>)."""
    if '"' not in value and "<" not in value:  # the usual value (Via, Allow, Supported): nothing to skip
        return [v for v in (p.strip() for p in value.split(",")) if v]
    out: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            out.append(value[start:i].strip())
            start = i + 1
        i += 1
    out.append(value[start:].strip())
    return [v for v in out if v]


class Headers:
    """Ordered headers with case-insensitive, compact-form-aware lookup."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self.items: list[tuple[str, str]] = []
        for name, value in items or []:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        self.items.append((canonical(name), value))

    def insert(self, name: str, value: str) -> None:
        self.items.insert(0, (canonical(name), value))

    def set(self, name: str, value: str) -> None:
        name = canonical(name)
        for i, (n, _) in enumerate(self.items):
            if n == name:
                self.items[i] = (name, value)
                self.items = [it for j, it in enumerate(self.items) if j <= i or it[0] != name]
                return
        self.items.append((name, value))

    def remove(self, name: str) -> None:
        name = canonical(name)
        self.items = [it for it in self.items if it[0] != name]

    def get(self, name: str, default: str | None = None) -> str | None:
        name = canonical(name)
        for n, v in self.items:
            if n == name:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value, comma-separated lists split for the multi-value headers."""
        name = canonical(name)
        out: list[str] = []
        for n, v in self.items:
            if n == name:
                out.extend(split_commas(v) if name.lower() in MULTI else [v])
        return out

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def copy(self) -> Headers:
        h = Headers()
        h.items = list(self.items)
        return h


@dataclass(slots=True)
class Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self.headers.get("CSeq") or "")

    @property
    def via(self) -> list[str]:
        return self.headers.get_all("Via")

    def header_bytes(self) -> bytes:
        lines = [f"{n}: {v}" for n, v in self.headers.items if n != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


@dataclass(slots=True)
class Request(Message):
    method: str = ""
    uri: str = ""

    def serialize(self) -> bytes:
        return f"{self.method} {self.uri} SIP/2.0\r\n".encode() + self.header_bytes() + self.body


@dataclass(slots=True)
class Response(Message):
    status: int = 0
    reason: str = ""

    def serialize(self) -> bytes:
        return f"SIP/2.0 {self.status} {self.reason}\r\n".encode() + self.header_bytes() + self.body


def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or not TOKEN.match(parts[1]):
        raise SipParseError(f"bad CSeq {value!r}")
    number = int(parts[0])
    if number >= 2**31:
        raise SipParseError(f"CSeq number out of range {value!r}")
    return number, parts[1].upper()


def parse(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one whole message. With STREAM the body must be exactly Content-Length long."""
    if len(data) > MAX_MESSAGE:
        raise SipParseError("message too large", 513)
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
        if not sep:
            raise SipParseError("no blank line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("utf-8", "surrogateescape")
    raw_lines = text.replace("\r\n", "\n").split("\n")
    while raw_lines and not raw_lines[0].strip():
        raw_lines.pop(0)  # RFC 3261 7.5: ignore CRLFs before the start line
    if not raw_lines:
        raise SipParseError("empty message")
    start = raw_lines[0].strip()
    lines: list[str] = []
    for line in raw_lines[1:]:
        if line[:1] in (" ", "\t"):
            if not lines:
                raise SipParseError("continuation line before any header")
            lines[-1] += " " + line.strip()
        elif line:
            lines.append(line)
    headers = Headers()
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not TOKEN.match(name.strip()):
            raise SipParseError(f"bad header line {line[:60]!r}")
        headers.add(name.strip(), value.strip())
    msg: Request | Response
    m = REQUEST_LINE.match(start)
    if m:
        if m.group(3) != "2.0":
            raise SipParseError(f"unsupported SIP version {m.group(3)}", 505)
        uri = m.group(2)
        if ":" not in uri or "<" in uri or ">" in uri:
            raise SipParseError(f"bad Request-URI {uri!r}")
        msg = Request(headers=headers, method=m.group(1).upper(), uri=uri)
    else:
        s = STATUS_LINE.match(start)
        if not s:
            raise SipParseError(f"bad start line {start[:80]!r}")
        if s.group(1) != "2.0":
            raise SipParseError(f"unsupported SIP version {s.group(1)}", 505)
        status = int(s.group(2))
        if not 100 <= status <= 699:
            raise SipParseError(f"bad status code {status}")
        msg = Response(headers=headers, status=status, reason=(s.group(3) or "").strip())
    for name in MANDATORY:
        if name not in headers:
            raise SipParseError(f"missing {name} header")
    names = [n for n, _ in headers.items]
    for name in ("Call-ID", "CSeq", "From", "To", "Content-Length", "Max-Forwards"):
        if names.count(name) > 1:
            raise SipParseError(f"more than one {name} header")
    _number, method = parse_cseq(headers.get("CSeq") or "")
    if isinstance(msg, Request) and method != msg.method and not (msg.method == "ACK" and method == "ACK"):
        raise SipParseError(f"CSeq method {method} does not match the request method {msg.method}")
    for name in ("From", "To"):
        parse_name_addr(headers.get(name) or "")
    mf = headers.get("Max-Forwards")
    if mf is not None and (not mf.isdigit() or int(mf) > 255):
        raise SipParseError(f"bad Max-Forwards {mf!r}")
    for v in headers.get_all("Via"):
        parse_via(v)
    length_text = headers.get("Content-Length")
    if length_text is not None:
        if not length_text.isdigit():
            raise SipParseError(f"bad Content-Length {length_text!r}")
        length = int(length_text)
        if length > len(body):
            raise SipParseError(f"Content-Length {length} is larger than the body ({len(body)} bytes)")
        body = body[:length]
    elif stream:
        raise SipParseError("Content-Length is required on a stream transport")
    msg.body = body
    return msg


class StreamParser:
    """Frames messages on a stream transport (TCP) by Content-Length."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[Request | Response | SipParseError]:
        self.buffer += data
        out: list[Request | Response | SipParseError] = []
        while True:
            self.buffer = self.buffer.lstrip(b"\r\n")  # keep-alive CRLFs (RFC 5626)
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_MESSAGE:
                    self.buffer = b""
                    out.append(SipParseError("headers too long", 513))
                return out
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() in (b"content-length", b"l"):
                    text = value.strip()
                    if not text.isdigit() or int(text) > MAX_MESSAGE:
                        self.buffer = b""
                        out.append(SipParseError("bad Content-Length on a stream"))
                        return out
                    length = int(text)
            total = end + 4 + length
            if len(self.buffer) < total:
                return out
            chunk, self.buffer = self.buffer[:total], self.buffer[total:]
            try:
                out.append(parse(chunk))
            except SipParseError as exc:
                out.append(exc)


# -- addresses ------------------------------------------------------------------------------------

@dataclass(slots=True)
class SipUri:
    scheme: str
    user: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    password: str | None = None

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password is not None else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        params = "".join(f";{k}" + (f"={v}" if v is not None else "") for k, v in self.params.items())
        return f"{self.scheme}:{userinfo}{host}{port}{params}"

    @property
    def transport(self) -> str:
        return (self.params.get("transport") or "udp").lower()


def parse_uri(text: str) -> SipUri:
    scheme, user, host, port, params, password = _uri(text)
    return SipUri(scheme, user, host, port, dict(params), password)


Params = tuple[tuple[str, str | None], ...]


@functools.lru_cache(maxsize=4096)  # a dialog's URIs, addresses and Vias come back in every message: parsed once
def _uri(text: str) -> tuple[str, str | None, str, int | None, Params, str | None]:
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        raise SipParseError(f"not a sip: URI {text[:80]!r}")
    rest, _, _headers = rest.partition("?")
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        user, _, pw = userinfo.partition(":")
        password = pw or None
        if not user:
            raise SipParseError(f"empty user in {text[:80]!r}")
    hostport, *param_parts = rest.split(";")
    port: int | None = None
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise SipParseError(f"bad IPv6 host in {text[:80]!r}")
        host, tail = hostport[1:end], hostport[end + 1:]
        if tail.startswith(":"):
            port = _port(tail[1:], text)
    else:
        host, c, p = hostport.partition(":")
        if c:
            port = _port(p, text)
    if not host or not HOST.match(host):
        raise SipParseError(f"bad host in {text[:80]!r}")
    params: dict[str, str | None] = {}
    for part in param_parts:
        if part:
            k, eq, v = part.partition("=")
            params[k.lower()] = v if eq else None
    return scheme.lower(), user, host.lower(), port, tuple(params.items()), password


def _port(text: str, where: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SipParseError(f"bad port in {where[:80]!r}")
    return int(text)


@dataclass(slots=True)
class NameAddr:
    uri: str
    display: str = ""
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        display = f'"{self.display}" ' if self.display else ""
        params = "".join(f";{k}" + (f"={v}" if v is not None else "") for k, v in self.params.items())
        return f"{display}<{self.uri}>{params}"


def parse_name_addr(text: str) -> NameAddr:
    """`"Bob" <sip:bob@host>;tag=1` or `sip:bob@host;tag=1` (params then belong to the header)."""
    uri, display, params = _name_addr(text)
    return NameAddr(uri, display, dict(params))


@functools.lru_cache(maxsize=4096)
def _name_addr(text: str) -> tuple[str, str, Params]:
    text = text.strip()
    if not text:
        raise SipParseError("empty address")
    display = ""
    if "<" in text:
        lt = _unquoted_index(text, "<")
        if lt < 0:
            raise SipParseError(f"bad address {text[:80]!r}")
        gt = text.find(">", lt)
        if gt < 0:
            raise SipParseError(f"unclosed <> in address {text[:80]!r}")
        display = text[:lt].strip()
        if display.startswith('"'):
            if len(display) < 2 or not display.endswith('"'):
                raise SipParseError(f"bad display name in {text[:80]!r}")
            display = display[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        uri = text[lt + 1:gt].strip()
        rest = text[gt + 1:]
    else:
        uri, semi, rest = text.partition(";")
        uri = uri.strip()
        rest = semi + rest
        if uri == "*":
            return "*", "", ()
    if ":" not in uri or " " in uri:
        raise SipParseError(f"bad URI in address {text[:80]!r}")
    params: dict[str, str | None] = {}
    for part in rest.split(";"):
        part = part.strip()
        if part:
            k, eq, v = part.partition("=")
            params[k.strip().lower()] = v.strip().strip('"') if eq else None
    return uri, display, tuple(params.items())


def _unquoted_index(text: str, char: str) -> int:
    if '"' not in text:
        return text.find(char)
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            return i
        i += 1
    return -1


@dataclass(slots=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        params = "".join(f";{k}" + (f"={v}" if v is not None else "") for k, v in self.params.items())
        return f"SIP/2.0/{self.transport} {host}{port}{params}"


def parse_via(text: str) -> Via:
    transport, host, port, params = _via(text)
    return Via(transport, host, port, dict(params))


@functools.lru_cache(maxsize=4096)
def _via(text: str) -> tuple[str, str, int | None, Params]:
    m = VIA.match(text.strip())
    if not m:
        raise SipParseError(f"bad Via {text[:80]!r}")
    sent_by = m.group(2).strip()
    port: int | None = None
    if sent_by.startswith("["):
        end = sent_by.find("]")
        if end < 0:
            raise SipParseError(f"bad Via host {text[:80]!r}")
        host, tail = sent_by[1:end], sent_by[end + 1:].strip()
        if tail.startswith(":"):
            port = _port(tail[1:].strip(), text)
    else:
        host, c, p = sent_by.partition(":")
        host = host.strip()
        if c:
            port = _port(p.strip(), text)
    if not host or not HOST.match(host):
        raise SipParseError(f"bad Via host {text[:80]!r}")
    params: dict[str, str | None] = {}
    for part in (m.group(3) or "").split(";"):
        part = part.strip()
        if part:
            k, eq, v = part.partition("=")
            params[k.strip().lower()] = v.strip() if eq else None
    return m.group(1).upper(), host.lower(), port, tuple(params.items())


# -- building -------------------------------------------------------------------------------------

REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 202: "Accepted",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    407: "Proxy Authentication Required", 408: "Request Timeout", 415: "Unsupported Media Type",
    420: "Bad Extension", 423: "Interval Too Brief", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 491: "Request Pending", 500: "Server Internal Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "Version Not Supported", 513: "Message Too Large",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
}


def make_response(request: Request, status: int, reason: str | None = None, *, to_tag: str | None = None,
                  extra: list[tuple[str, str]] | None = None, body: bytes = b"",
                  content_type: str | None = None) -> Response:
    """A response to REQUEST (RFC 3261 8.2.6): Via, From, To (+tag), Call-ID, CSeq copied."""
    headers = Headers()
    for name, value in request.headers.items:
        if name in ("Via", "From", "Call-ID", "CSeq") or (name == "Record-Route" and 100 < status < 300):
            headers.add(name, value)
        elif name == "To":
            to = value
            if to_tag and status > 100 and ";tag=" not in to.replace(" ", "").lower():
                to = f"{to};tag={to_tag}"
            headers.add("To", to)
    for name, value in extra or []:
        headers.add(name, value)
    if content_type and body:
        headers.add("Content-Type", content_type)
    return Response(headers=headers, body=body, status=status, reason=reason or REASONS.get(status, "Unknown"))
