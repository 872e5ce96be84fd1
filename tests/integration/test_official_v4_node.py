"""The official RELAY v4 Node client (@signalwire/realtime-api 4.x, tests/clients/node_modules) against relaybox."""

import official_scenarios as sc
import pytest

pytestmark = pytest.mark.official
FLAVOR = "v4_node"


def test_inbound_call_answer_hangup(relaybox, clients):
    # realtime-api exposes no end reason: the consumer prints the call's final state
    sc.inbound_answer_hangup(relaybox, clients, FLAVOR, hangup_word="ended")


def test_outbound_dial_answered(relaybox, clients):
    result = sc.outbound_answered(relaybox, clients, FLAVOR)
    assert result.find(r"^CALL \S+ state answered direction outbound$"), result.describe()
    assert "HANGUP True ended" in result.lines, result.describe()


def test_outbound_dial_busy(relaybox, clients):
    result = sc.outbound_busy(relaybox, clients, FLAVOR)
    # a failed dial rejects the dialPhone() promise
    assert result.find(r"^DIAL error: "), result.describe()


def test_two_consumers_share_a_context(relaybox, clients):
    sc.two_consumers(relaybox, clients, FLAVOR)
