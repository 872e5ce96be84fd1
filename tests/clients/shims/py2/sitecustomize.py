"""sitecustomize shim for UNMODIFIED signalwire 2.x (Python) scripts.

    RELAY_WS_URL=ws://127.0.0.1:8080 PYTHONPATH=tests/clients/shims/py2 .venvs/sw2/bin/python your_example.py

1) every signalwire.relay Client / Consumer connects to RELAY_WS_URL (the host argument is ignored);
2) signalwire.relay.task.Task.deliver() (hard-wired to https://<host>/api/relay/rest/tasks) goes to plain
   http on the same host:port as RELAY_WS_URL.

Python imports this module automatically when its directory is on PYTHONPATH. Without RELAY_WS_URL it
does nothing. See relay-v2-official-clients.md section 2b.
"""

import os

_url = os.environ.get("RELAY_WS_URL")
if _url:
    import urllib.parse
    import urllib.request

    import signalwire.relay.task as _task
    from signalwire.blade import connection as _conn

    _conn.Connection._checkHost = lambda self, host: _url
    _netloc = urllib.parse.urlsplit(_url).netloc

    def _urlopen(req, *a, **k):
        req.full_url = "http://" + _netloc + urllib.parse.urlsplit(req.full_url).path
        return urllib.request.urlopen(req, *a, **k)

    _task.urlopen = _urlopen
