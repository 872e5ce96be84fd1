"""The domain: calls, actions, messages, tasks, devices. It knows nothing of dialects or sockets."""
