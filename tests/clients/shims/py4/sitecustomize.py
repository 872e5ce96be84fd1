"""sitecustomize shim for the UNMODIFIED signalwire-sdk RelayClient ("option B").

    PYTHONPATH=tests/clients/shims/py4 RELAY_WS_SCHEME=ws SIGNALWIRE_SPACE=127.0.0.1:8080 \\
        .venvs/sw4/bin/python your_app.py

The client always dials wss://<host>. With RELAY_WS_SCHEME=ws this makes it dial ws:// instead, without
touching the SDK or the application. Python imports this module automatically when its directory is on
PYTHONPATH; without RELAY_WS_SCHEME=ws it does nothing. See relay-v4-official-clients.md section 2.
"""

import os

if os.environ.get("RELAY_WS_SCHEME") == "ws":
    import websockets

    _real_connect = websockets.connect

    def _connect(uri, *args, **kwargs):
        if isinstance(uri, str) and uri.startswith("wss://"):
            uri = "ws://" + uri[len("wss://") :]
            if kwargs.get("ssl") is None:
                kwargs.pop("ssl", None)
        return _real_connect(uri, *args, **kwargs)

    websockets.connect = _connect
