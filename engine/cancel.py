"""Cancellation shared by every long-running engine task (the session, exports, training)."""
from __future__ import annotations


class Cancelled(Exception):
    """Raised inside a task when its user asked it to stop; not an error."""
