"""Constants of the RELAY v2 SDK: default host, client event names, Blade methods."""

from __future__ import annotations

import os


class Constants:
    HOST = "relay.signalwire.com"
    READY = "ready"
    #: environment variables consulted (in this order) when no host is passed
    HOST_ENV = ("RELAYBOX_HOST", "SIGNALWIRE_HOST")


class WebSocketEvents:
    OPEN = "signalwire.socket.open"
    CLOSE = "signalwire.socket.close"
    MESSAGE = "signalwire.socket.message"
    ERROR = "signalwire.socket.error"


class BladeMethod:
    CONNECT = "blade.connect"
    EXECUTE = "blade.execute"
    SUBSCRIPTION = "blade.subscription"
    PING = "blade.ping"
    NETCAST = "blade.netcast"
    BROADCAST = "blade.broadcast"
    DISCONNECT = "blade.disconnect"


def resolve_host(host: str | None) -> str:
    """The host to use: the argument, else $RELAYBOX_HOST, else $SIGNALWIRE_HOST, else relay.signalwire.com."""
    if host:
        return host
    for name in Constants.HOST_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return Constants.HOST
