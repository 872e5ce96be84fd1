"""Engines carry call legs: the sandbox's virtual phones now, real SIP/RTP later."""
