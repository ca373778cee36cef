"""Answers made once and shared: identical scrapes that arrive while one is being made wait for
it instead of making their own, and making one takes one of a bounded number of slots.

A slot covers making a page (collection and rendering) and nothing else: a page, once made,
is an immutable object that each request writes to its own client at that client's pace, so a
client that stops reading holds its connection and no slot, and never delays anyone sharing
its page. Each waiting request keeps its own deadline: a request whose share key (which
includes its time budget) matches a page being made waits for it at most until its own
deadline, and is then told so to make its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Busy(Exception):
    """Every slot is taken: the request gets 503 with Retry-After."""


class Shared(Generic[T]):
    """Pages being made, by share key, at most ``slots`` at once."""

    def __init__(self, slots: int, *, quiet: tuple[type[Exception], ...] = ()) -> None:
        """``quiet``: failures that are answers (a 400), not faults to log."""
        self._slots = slots
        self._quiet = quiet
        self._making: dict[Hashable, asyncio.Task[T]] = {}
        self.running = 0  # pages being made, shared or not

    async def get(
        self,
        key: Hashable | None,
        make: Callable[[], Awaitable[T]],
        *,
        deadline: float,
    ) -> T | None:
        """Return the page of ``key``: the one being made, or one ``make`` makes now.

        ``key`` None never shares. Raise ``Busy`` when a page must be made and no slot is
        free. Return None when a page made by another request was not ready by ``deadline``
        (loop time): the caller makes its own. A page is made to its end whoever waits for it
        (its time is bounded by its own budget), so a client leaving frees nothing here.
        """
        task = self._making.get(key) if key is not None else None
        mine = task is None
        if task is None:
            if self.running >= self._slots:
                raise Busy
            task = asyncio.ensure_future(self._make(make))
            if key is not None:
                self._making[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        if mine:  # our own page is as fast as we can have it
            return await asyncio.shield(task)
        # Another's is waited for until our own deadline.
        timeout = max(0.0, deadline - asyncio.get_running_loop().time())
        done, _ = await asyncio.wait([task], timeout=timeout)
        return task.result() if done else None

    async def _make(self, make: Callable[[], Awaitable[T]]) -> T:
        self.running += 1
        try:
            return await make()
        finally:
            self.running -= 1

    def _forget(self, key: Hashable | None, task: asyncio.Task[T]) -> None:
        """Stop sharing a finished page (later requests make a fresh one); log a failure once."""
        if key is not None and self._making.get(key) is task:
            del self._making[key]
        failure = None if task.cancelled() else task.exception()
        if failure is not None and not isinstance(failure, self._quiet):
            log.error("making an answer failed", exc_info=failure)
