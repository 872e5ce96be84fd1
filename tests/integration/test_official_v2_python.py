"""The official RELAY v2 Python client (signalwire==2.1.1, .venvs/sw2) against relaybox."""

import official_scenarios as sc
import pytest

pytestmark = pytest.mark.official
FLAVOR = "v2_python"


def test_inbound_call_answer_hangup(relaybox, clients):
    sc.inbound_answer_hangup(relaybox, clients, FLAVOR)


def test_outbound_dial_answered(relaybox, clients):
    result = sc.outbound_answered(relaybox, clients, FLAVOR)
    assert result.find(r"^CALL \S+ state answered busy False failed False$"), result.describe()
    assert "HANGUP True hangup" in result.lines, result.describe()


def test_outbound_dial_answered_host_argument(relaybox, clients):
    """Same, with Client(host='ws://...') instead of the sitecustomize shim."""
    result = sc.outbound_answered(relaybox, clients, FLAVOR, host_argument=True)
    assert "HANGUP True hangup" in result.lines, result.describe()


def test_outbound_dial_busy(relaybox, clients):
    result = sc.outbound_busy(relaybox, clients, FLAVOR)
    assert result.find(r"^CALL \S+ state \S+ busy True failed False$"), result.describe()


def test_two_consumers_share_a_context(relaybox, clients):
    sc.two_consumers(relaybox, clients, FLAVOR)


def test_outbound_dial_sip_device(relaybox, clients):
    """calling.dial(call_type='sip') sends the SIP addresses as from_number/to_number: a sandbox SIP phone answers."""
    to = "sip:alice@sandbox.example"
    relaybox.set_phone(to, [{"ring": 0.5}, {"answer": True}])
    result = clients.run(FLAVOR, "dial", env={"FROM": "sip:app@relaybox.example", "TO": to, "CALL_TYPE": "sip"})
    assert "DIAL successful: True" in result.lines, result.describe()
    assert "HANGUP True hangup" in result.lines, result.describe()
    calls = relaybox.sandbox_calls(to)
    assert len(calls) == 1 and calls[0]["from"] == "sip:app@relaybox.example", calls
