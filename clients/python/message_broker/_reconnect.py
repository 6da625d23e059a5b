"""Reconnecting after a lost connection: attempts spaced by exponential backoff with
jitter, until one succeeds, the client stops wanting it, or the attempts run out.

A connection that is lost soon after it was made does not start the backoff over: two
programs connecting with the same client_id close each other's connection at every
connect (the broker's ``replaced``), and without that memory they would take turns
forever, each reconnecting within a second. The delays keep growing across such short
connections until one of them stays up for the longest delay."""
from __future__ import annotations

import asyncio
import logging
import random as _random
from typing import Awaitable, Callable, Optional

from ._values import error_text

log = logging.getLogger("message_broker.client")


def reconnect_delay(attempt: int, base: float, cap: float, random: Callable[[], float] = _random.random) -> float:
    """Seconds before reconnect attempt ``attempt`` (1-based): ``base * 2**(attempt-1)``
    capped at ``cap``, then drawn uniformly from the upper half of that ("equal jitter").

    Jitter, because a broker restart drops every client at once and they should not all
    come back in lock-step; only half of it, so a retry is never immediate.
    """
    base = max(0.0, float(base))
    cap = max(base, float(cap))
    n = max(1, int(attempt))
    delay = min(cap, base * 2 ** min(n - 1, 60))
    r = min(max(random(), 0.0), 1.0)
    return delay / 2 + delay / 2 * r


class Reconnector:
    """The reconnect loop, run as one task at a time.

    ``wanted()`` says whether the client still wants to reconnect (it may have been told to
    disconnect meanwhile); ``attempt()`` connects once, raising on failure; ``give_up(error)``
    is told when ``max_attempts()`` (0 = unlimited) attempts have failed; ``cancelled()``
    when the loop's task is cancelled by someone else than ``stop()`` (``asyncio.run()``
    ending cancels every task). ``delays`` and
    ``max_attempts`` are asked as the loop runs, so that changes to the client's config apply.
    """

    def __init__(
        self,
        where: str,
        delays: Callable[[int], float],
        max_attempts: Callable[[], int],
        wanted: Callable[[], bool],
        attempt: Callable[[], Awaitable[None]],
        give_up: Callable[[ConnectionError], None],
        cancelled: Callable[[], None],
    ) -> None:
        self._where = where
        self._delays = delays
        self._max_attempts = max_attempts
        self._wanted = wanted
        self._attempt = attempt
        self._give_up = give_up
        self._cancelled = cancelled
        self._task: Optional["asyncio.Task[None]"] = None
        #: Connections in a row that were lost before they had been up for ``stable_after``:
        #: the backoff goes on from where the attempts of the one before left it.
        self.short_connections = 0
        self._carried = 0

    def start(self, lasted: Optional[float] = None, stable_after: float = 0.0) -> None:
        """Start the loop unless it runs already.

        ``lasted`` is how many seconds the lost connection had been up (None: no connection
        was lost, e.g. the first connect failed); under ``stable_after`` the backoff carries
        on from the attempts that made it.
        """
        if lasted is not None:
            if lasted < stable_after:
                self.short_connections += 1
            else:
                self.short_connections = 0
                self._carried = 0
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def forget(self) -> None:
        """Let go of the loop's task without touching it: its event loop is closed."""
        self._task = None

    def stop(self) -> None:
        """Cancel the loop (unless the caller is the loop itself, which then ends on its own)."""
        task = self._task
        self._task = None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    async def _run(self) -> None:
        try:
            await self._attempts()
        except asyncio.CancelledError:
            # stop() lets go of the task before cancelling it: this is another canceller.
            if self._task is asyncio.current_task():
                self._task = None
                self._cancelled()
            raise

    async def _attempts(self) -> None:
        attempt = 0
        limit = self._max_attempts()
        carried = self._carried
        while self._wanted():
            attempt += 1
            # The give-up limit counts this loss's attempts only; the delay counts the
            # short connections' attempts too.
            self._carried = carried + attempt
            delay = self._delays(self._carried)
            log.info("reconnecting to the broker at %s in %.3fs (attempt %d)", self._where, delay, attempt)
            await asyncio.sleep(delay)
            if not self._wanted():
                return
            try:
                await self._attempt()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._wanted():
                    return
                log.warning("reconnect attempt %d to %s failed: %s", attempt, self._where, error_text(exc))
                if limit and attempt >= limit:
                    self._task = None
                    error = ConnectionError(
                        "gave up reconnecting to the broker at %s after %d attempt(s): %s" % (self._where, attempt, error_text(exc))
                    )
                    error.__cause__ = exc
                    self._give_up(error)
                    return
