"""The REST side: health, numbers, call history and the sandbox."""
