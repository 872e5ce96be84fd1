"""Sessions and connections: authentication, dialect choice, subscriptions, event fan-out, resume."""
