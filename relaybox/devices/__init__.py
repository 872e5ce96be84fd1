"""Relay push-to-talk devices: the sandbox device model, device-to-device calls with the built-in
calling experience, workflow registrations and triggers, and the workflow protocol client."""
