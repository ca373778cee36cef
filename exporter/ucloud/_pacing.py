"""Polite pacing per account: an AIMD concurrency limit and an optional request-rate limit.

UCloud throttles an account that asks too fast (RetCode 153, or HTTP 429 from a proxy).
Retrying with backoff alone keeps hammering it at the same concurrency, so each account has
its own in-flight limit: halved when a request comes back throttled, grown back by one after
each round of that many successes without throttling (additive increase, multiplicative
decrease, as TCP does). Only the first throttled answer of a round cuts: the requests already
in flight when the limit was halved carry an older epoch and are ignored. An optional token
bucket caps the account's request rate outright.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

Clock = Callable[[], float]


class Pacer:
    """One account's pace; create and use it on the client's event loop."""

    def __init__(
        self,
        *,
        ceiling: int,
        adaptive: bool,
        per_second: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ceiling, self._adaptive, self._clock = ceiling, adaptive, clock
        self.limit = ceiling
        self._in_flight = 0
        # Requests waiting for room, first come first served; a waiter is handed its slot
        # (``_in_flight`` counts it) before it wakes, so a release wakes one, not all.
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._epoch = 0  # counts the cuts; a slot remembers the epoch it was taken in
        self._successes = 0
        self._rate = per_second
        self._tokens = max(1.0, per_second or 0.0)  # burst: one second's worth
        self._refilled = clock()

    def slot(self) -> _Slot:
        """Wait for room under the limit (and a token); yield the epoch of the slot."""
        return _Slot(self)

    async def _acquire(self) -> None:
        """Take room under the limit, waiting behind earlier requests if there is none."""
        if self._in_flight < self.limit and not self._waiters:
            self._in_flight += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake()  # room may be free behind waiters that were cancelled
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot, then cancelled
                self._release()
            raise

    def _release(self) -> None:
        """Give room back and hand it to the next waiter."""
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        """Hand free room to waiters, in order (a cancelled waiter is skipped)."""
        while self._waiters and self._in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._in_flight += 1
                waiter.set_result(None)

    def throttled(self, epoch: int) -> None:
        """Halve the limit, once per round: a slot from before the last cut changes nothing."""
        if self._adaptive and epoch == self._epoch:
            self.limit = max(1, self.limit // 2)
            self._epoch += 1
            self._successes = 0

    def succeeded(self) -> None:
        """Count a success; after a whole round of them, allow one more request in flight."""
        if not self._adaptive or self.limit >= self._ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self.limit += 1
            self._successes = 0
            self._wake()

    async def _token(self) -> None:
        """Take a token from the rate limit's bucket, waiting for one if it is empty."""
        if self._rate is None:
            return
        while True:
            now = self._clock()
            self._tokens = min(
                max(1.0, self._rate), self._tokens + (now - self._refilled) * self._rate
            )
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self._rate)


class _Slot:
    """``async with pacer.slot() as epoch``: room under the limit, then a token."""

    __slots__ = ("_pacer",)

    def __init__(self, pacer: Pacer) -> None:
        self._pacer = pacer

    async def __aenter__(self) -> int:
        await self._pacer._acquire()
        try:
            await self._pacer._token()
        except BaseException:
            self._pacer._release()
            raise
        return self._pacer._epoch

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pacer._release()
