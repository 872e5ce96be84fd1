"""The official RELAY v2 Node client (@signalwire/node 2.6.0, tests/clients/node_modules) against relaybox."""

import official_scenarios as sc
import pytest

pytestmark = pytest.mark.official
FLAVOR = "v2_node"


def test_inbound_call_answer_hangup(relaybox, clients):
    sc.inbound_answer_hangup(relaybox, clients, FLAVOR)


def test_outbound_dial_answered(relaybox, clients):
    result = sc.outbound_answered(relaybox, clients, FLAVOR)
    assert result.find(r"^CALL \S+ state answered busy False failed False$"), result.describe()
    assert "HANGUP True hangup" in result.lines, result.describe()


def test_outbound_dial_answered_host_argument(relaybox, clients):
    """Same, with new RelayClient({host: 'ws://...'}) instead of the `node -r` shim."""
    result = sc.outbound_answered(relaybox, clients, FLAVOR, host_argument=True)
    assert "HANGUP True hangup" in result.lines, result.describe()


def test_outbound_dial_busy(relaybox, clients):
    result = sc.outbound_busy(relaybox, clients, FLAVOR)
    assert result.find(r"^CALL \S+ state \S+ busy True failed False$"), result.describe()


def test_two_consumers_share_a_context(relaybox, clients):
    sc.two_consumers(relaybox, clients, FLAVOR)
