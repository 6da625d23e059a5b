"""The client's own record of its subscriptions: the patterns it holds (re-subscribed after
every reconnect) and the callbacks each runs. The broker keeps the authoritative list;
this one decides which callbacks a delivery runs."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ._retained_replay import EVERY_CALLBACK

Callback = Callable[[Any], Any]


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` matches ``pattern`` the way the broker matches it.

    ``*`` and ``+`` match exactly one level; ``#`` as the last level matches its parent
    level and everything below it (``a.#`` matches ``a``, ``a.b``, ``a.b.c``).
    """
    if pattern == "#":
        return True
    p = pattern.split(".")
    t = topic.split(".")
    for i, level in enumerate(p):
        if level == "#":
            return True
        if i >= len(t):
            return False
        if level != "*" and level != "+" and level != t[i]:
            return False
    return len(p) == len(t)


class SubscriptionRegistry:
    """Pattern -> callbacks; a pattern may have none (held only for the ``message`` event)."""

    def __init__(self) -> None:
        self._by_pattern: Dict[str, List[Callback]] = {}
        #: Runs for every delivery, whatever its topic, before the patterns' callbacks
        #: (the Qt worker's relay): not a pattern, so never subscribed at the broker, and
        #: it also sees deliveries no held pattern matches (a session's queued messages,
        #: delivered at connect before the application subscribed again).
        self.every_delivery: Optional[Callback] = None

    @property
    def patterns(self) -> List[str]:
        """The patterns held, in the order they were first added."""
        return list(self._by_pattern)

    def add(self, patterns: List[str], callback: Any = None) -> Callable[[], None]:
        """Hold ``patterns``, each running ``callback`` if given.

        Returns an undo that takes back exactly what this call added, for when the broker
        refuses the subscription: a pattern or callback that was already there stays.
        """
        undo: List[Callable[[], None]] = []
        for pattern in patterns:
            callbacks = self._by_pattern.get(pattern)
            if callbacks is None:
                callbacks = []
                self._by_pattern[pattern] = callbacks
                undo.append(self._dropper(pattern, callbacks))
            if callback is not None and callback not in callbacks:
                callbacks.append(callback)
                # Callbacks come off before their patterns, so an emptied pattern can go too.
                undo.insert(0, self._remover(callbacks, callback))

        def run() -> None:
            for step in undo:
                step()

        return run

    def _dropper(self, pattern: str, created: List[Callback]) -> Callable[[], None]:
        def drop() -> None:
            # Another subscribe may have added a callback meanwhile; keep the pattern then.
            if self._by_pattern.get(pattern) is created and not created:
                del self._by_pattern[pattern]

        return drop

    @staticmethod
    def _remover(callbacks: List[Callback], callback: Callback) -> Callable[[], None]:
        def remove() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return remove

    def remove(self, patterns: List[str]) -> None:
        """Drop ``patterns`` and their callbacks."""
        for pattern in patterns:
            self._by_pattern.pop(pattern, None)

    def callbacks_for(self, topic: str, only: Any = EVERY_CALLBACK) -> List[Callback]:
        """``every_delivery`` if set, then every callback whose pattern matches ``topic``, each
        once, in subscription order; with ``only``, of those callbacks that one alone (None:
        none), as for a subscribe's retained messages (``_retained_replay``). Compared by
        equality, as ``add`` compares them: ``obj.method`` is a new, equal object each time."""
        found: List[Callback] = [] if self.every_delivery is None else [self.every_delivery]
        for pattern, callbacks in self._by_pattern.items():
            if callbacks and topic_matches(pattern, topic):
                for callback in callbacks:
                    if callback not in found and (only is EVERY_CALLBACK or callback == only):
                        found.append(callback)
        return found

