"""Call media actions (play, prompt/collect, detect, send_digits, connect, hold, refer): one state
machine per control_id, registered in the Platform command table by `MediaService.handlers()`."""

from relaybox.domain.actions.base import Action, CallMedia, MediaService

__all__ = ["Action", "CallMedia", "MediaService"]
