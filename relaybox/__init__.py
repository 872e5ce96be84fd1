"""relaybox: a self-hosted RELAY platform (voice, messaging, device workflows) with a sandbox network."""

__version__ = "0.1.0"
