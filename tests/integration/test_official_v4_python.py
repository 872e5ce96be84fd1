"""The official RELAY v4 Python client (signalwire-sdk's signalwire.relay.RelayClient, .venvs/sw4) against
relaybox, over plain ws:// through the option-B sitecustomize shim (tests/clients/shims/py4)."""

import official_scenarios as sc
import pytest

pytestmark = pytest.mark.official
FLAVOR = "v4_python"


def test_inbound_call_answer_hangup(relaybox, clients):
    sc.inbound_answer_hangup(relaybox, clients, FLAVOR)


def test_outbound_dial_answered(relaybox, clients):
    result = sc.outbound_answered(relaybox, clients, FLAVOR)
    assert result.find(r"^CALL \S+ state answered direction outbound$"), result.describe()
    assert "HANGUP True hangup" in result.lines, result.describe()


def test_outbound_dial_busy(relaybox, clients):
    result = sc.outbound_busy(relaybox, clients, FLAVOR)
    # a failed dial raises RelayError ("Dial failed (tag=...)")
    assert result.find(r"^DIAL error: RelayError "), result.describe()


def test_two_consumers_share_a_context(relaybox, clients):
    """Two consumer processes (one RelayClient per process, the SDK's default limit)."""
    sc.two_consumers(relaybox, clients, FLAVOR)
