"""Which callbacks a subscribe's retained messages run.

The broker sends the retained messages matching a ``subscribe`` right after its answer,
for every pattern of it, held before or not. They are for that subscribe's callback: a
callback that already held a pattern got them when it subscribed, and a second callback
on the same pattern (a second window of an app) must not run the first one again.

The answer and its retained messages arrive in a row (the broker queues them in one
turn), so the window opens at a subscribe's answer and closes at the next frame that is
not a retained delivery. A subscribe the reconnect sends again has no window: after a
reconnect every callback gets the retained messages, the state it may have missed.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

Callback = Callable[[Any], Any]


class _Every:
    """The type of ``EVERY_CALLBACK``."""

    def __repr__(self) -> str:
        return "EVERY_CALLBACK"


#: A delivery runs every callback whose pattern matches (no subscribe's window is open).
EVERY_CALLBACK: Any = _Every()


class RetainedReplay:
    """One connection's subscribes waiting for their answer, and the window of the last one."""

    def __init__(self) -> None:
        self._awaiting: Dict[int, Optional[Callback]] = {}
        #: The callback of the subscribe answered last (None: none) while its retained
        #: messages follow, else ``EVERY_CALLBACK``.
        self._target: Any = EVERY_CALLBACK

    def expect(self, req_id: int, callback: Optional[Callback]) -> None:
        """The subscribe call ``req_id`` adds ``callback`` (None: no callback)."""
        self._awaiting[req_id] = callback

    def forget(self, req_id: int) -> None:
        """The call ``req_id`` is over for its caller (answered, timed out, not sent):
        an answer that still comes opens no window."""
        self._awaiting.pop(req_id, None)

    def answered(self, req_id: Any, ok: bool) -> None:
        """A response arrived for ``req_id``: it closes the window, and a subscribe's
        success opens one."""
        self._target = EVERY_CALLBACK
        if isinstance(req_id, int) and not isinstance(req_id, bool) and req_id in self._awaiting:
            callback = self._awaiting.pop(req_id)
            if ok:
                self._target = callback

    def interrupted(self) -> None:
        """Any other frame closes the window."""
        self._target = EVERY_CALLBACK

    def target_of(self, retained: bool) -> Any:
        """For a delivery: the one callback it may run (None for none) while a subscribe's
        retained messages follow, else ``EVERY_CALLBACK``. One that is not retained closes
        the window."""
        if not retained:
            self._target = EVERY_CALLBACK
        return self._target
