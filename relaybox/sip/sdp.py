"""SDP (RFC 4566) offer/answer (RFC 3264) for one audio stream: PCMU/PCMA and telephone-event.

Direction attributes carry hold (RFC 3264 section 8.4): an offer of `sendonly` or `inactive`
(or the old `c=0.0.0.0`) holds the call; `sendrecv` resumes it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

STATIC = {0: "PCMU", 8: "PCMA"}
SUPPORTED = ("PCMU", "PCMA")
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
ANSWER_DIRECTION = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}


class SdpError(ValueError):
    """The SDP cannot be used (maps to 488 Not Acceptable Here)."""


@dataclass(slots=True)
class Media:
    kind: str
    port: int
    proto: str
    formats: list[int]
    rtpmap: dict[int, str] = field(default_factory=dict)  # pt -> "PCMU/8000"
    direction: str = "sendrecv"
    host: str | None = None
    ptime: int | None = None


@dataclass(slots=True)
class Session:
    host: str
    media: list[Media]
    origin: str = ""

    def audio(self) -> Media | None:
        return next((m for m in self.media if m.kind == "audio" and m.port != 0), None)


@dataclass(slots=True)
class Choice:
    """What the two sides agreed on for the audio stream."""
    remote_host: str
    remote_port: int
    codec: str
    payload_type: int
    dtmf_payload_type: int | None
    direction: str  # as offered/answered by the far end

    @property
    def on_hold(self) -> bool:
        return self.direction in ("sendonly", "inactive") or self.remote_host in ("0.0.0.0", "::")


def parse(data: bytes | str) -> Session:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    host = ""
    origin = ""
    media: list[Media] = []
    session_direction = "sendrecv"
    saw_version = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"bad SDP line {line[:60]!r}")
        kind, value = line[0], line[2:]
        if kind == "v":
            saw_version = True
        elif kind == "o":
            origin = value
        elif kind == "c":
            parts = value.split()
            if len(parts) != 3 or parts[0] != "IN":
                raise SdpError(f"bad c= line {value!r}")
            address = parts[2].split("/")[0]
            if media:
                media[-1].host = address
            else:
                host = address
        elif kind == "m":
            parts = value.split()
            if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
                raise SdpError(f"bad m= line {value!r}")
            try:
                formats = [int(f) for f in parts[3:]]
            except ValueError:
                formats = []
            port = int(parts[1].split("/")[0])
            if port > 65535:
                raise SdpError(f"bad port in m= line {value!r}")
            media.append(Media(parts[0], port, parts[2], formats, direction=session_direction))
        elif kind == "a":
            name, _, arg = value.partition(":")
            if name in DIRECTIONS:
                if media:
                    media[-1].direction = name
                else:
                    session_direction = name
            elif name == "rtpmap" and media:
                pt, _, enc = arg.partition(" ")
                if pt.isdigit():
                    media[-1].rtpmap[int(pt)] = enc.strip()
            elif name == "ptime" and media and arg.strip().isdigit():
                media[-1].ptime = int(arg.strip())
    if not saw_version:
        raise SdpError("SDP without v= line")
    return Session(host, media, origin)


def codec_name(media: Media, pt: int) -> str | None:
    enc = media.rtpmap.get(pt)
    if enc is None:
        return STATIC.get(pt)
    return enc.split("/")[0].upper()


def _dtmf_pt(media: Media) -> int | None:
    for pt in media.formats:
        enc = media.rtpmap.get(pt, "")
        if enc.lower().startswith("telephone-event/8000"):
            return pt
    return None


def _choice(session: Session, media: Media, codec: str, pt: int) -> Choice:
    return Choice(media.host or session.host, media.port, codec, pt, _dtmf_pt(media), media.direction)


def negotiate_answer(offer: Session, prefs: list[str] | None = None) -> Choice:
    """Pick the codec for an answer to OFFER: the offerer's order among ours (or PREFS' order)."""
    media = offer.audio()
    if media is None:
        raise SdpError("the offer has no audio stream")
    if media.proto.upper() not in ("RTP/AVP", "RTP/AVPF"):
        raise SdpError(f"unsupported media transport {media.proto}")
    wanted = [c.upper() for c in (prefs or SUPPORTED) if c.upper() in SUPPORTED] or list(SUPPORTED)
    offered = [(codec_name(media, pt), pt) for pt in media.formats]
    if prefs:
        for codec in wanted:
            for name, pt in offered:
                if name == codec:
                    return _choice(offer, media, codec, pt)
    for name, pt in offered:
        if name in wanted:
            return _choice(offer, media, name, pt)
    raise SdpError("no common codec (relaybox speaks PCMU and PCMA)")


def read_answer(answer: Session, offered: list[str]) -> Choice:
    """What the far end chose in its ANSWER to our offer of OFFERED codecs."""
    media = answer.audio()
    if media is None:
        raise SdpError("the answer has no audio stream")
    for allowed in (offered, SUPPORTED):  # lenient: a far end answering with a G.711 we did not offer still works
        for pt in media.formats:
            name = codec_name(media, pt)
            if name is not None and name in allowed:
                return _choice(answer, media, name, pt)
    raise SdpError("the answer picked no codec relaybox can use")


def build(host: str, port: int, codecs: list[tuple[str, int]], *, dtmf_pt: int | None = 101,
          direction: str = "sendrecv", session_id: int | None = None, version: int = 1) -> bytes:
    """An SDP body for one audio stream of CODECS [(name, payload type), ...]."""
    sid = session_id if session_id is not None else secrets.randbelow(2**31)
    family = "IP6" if ":" in host else "IP4"
    formats = [pt for _, pt in codecs] + ([dtmf_pt] if dtmf_pt is not None else [])
    lines = [
        "v=0",
        f"o=relaybox {sid} {version} IN {family} {host}",
        "s=relaybox",
        f"c=IN {family} {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(f) for f in formats)}",
    ]
    for name, pt in codecs:
        lines.append(f"a=rtpmap:{pt} {name}/8000")
    if dtmf_pt is not None:
        lines.append(f"a=rtpmap:{dtmf_pt} telephone-event/8000")
        lines.append(f"a=fmtp:{dtmf_pt} 0-16")
    lines.append("a=ptime:20")
    lines.append(f"a={direction}")
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_codecs(prefs: list[str] | None = None) -> list[tuple[str, int]]:
    """Our offer's codecs in preference order (unknown names in PREFS are ignored)."""
    names = [c.upper() for c in (prefs or []) if c.upper() in SUPPORTED] or list(SUPPORTED)
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return [(n, 0 if n == "PCMU" else 8) for n in seen]


def answer_for(offer: Session, choice: Choice, host: str, port: int, *, hold: bool = False,
               session_id: int | None = None, version: int = 1) -> bytes:
    """The answer SDP to OFFER: the chosen codec, DTMF if offered, the mirrored direction."""
    direction = ANSWER_DIRECTION.get(choice.direction, "sendrecv")
    if choice.remote_host in ("0.0.0.0", "::"):
        direction = "inactive" if choice.direction == "inactive" else "recvonly"
    if hold:
        direction = {"sendrecv": "sendonly", "recvonly": "inactive"}.get(direction, direction)
    return build(host, port, [(choice.codec, choice.payload_type)], dtmf_pt=choice.dtmf_payload_type,
                 direction=direction, session_id=session_id, version=version)
