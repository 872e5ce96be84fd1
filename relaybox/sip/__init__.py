"""Sans-I/O SIP: messages, transactions, dialogs, SDP and digest authentication (no sockets here)."""
