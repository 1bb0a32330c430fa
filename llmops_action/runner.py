"""Calls to providers and the judge: bounded concurrency, a shared requests-per-minute limit, retries.

Retries: exponential backoff with full jitter (a uniform draw in [0, min(max_delay, initial * 2**n)]), but never
sooner than the server asked (RetryInfo.retryDelay / Retry-After, carried as ProviderError.retry_after). When the
server asks for longer than `max_delay` (a daily quota, say) waiting is pointless: the call fails at once.
A call that still fails raises its last ProviderError; the caller records it on the case — never a score.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TypeVar

from llmops_action.errors import ProviderError

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    initial_delay: float = 1.0
    max_delay: float = 60.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full jitter for the `retry`-th retry (1-based)."""
        cap = min(self.max_delay, self.initial_delay * (2 ** (retry - 1)))
        return rng.uniform(0.0, cap)


class RateLimiter:
    """Token bucket shared by every thread (provider and judge alike). Burst 1: calls are spaced evenly, so no
    minute window ever sees more than `rpm` calls."""

    def __init__(
        self,
        rpm: int,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / rpm
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) / self.interval)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) * self.interval
            self._sleep(wait)


class Runner:
    """One per run. `sleep` and `rng` are injectable so retry tests run instantly and deterministically."""

    def __init__(
        self,
        *,
        concurrency: int = 8,
        policy: RetryPolicy | None = None,
        rpm: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.limiter = RateLimiter(rpm, sleep=sleep) if rpm else None
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.calls = 0
        self.retries = 0
        self.slept: list[float] = []

    def _delay(self, retry: int, err: ProviderError) -> float:
        with self._rng_lock:
            backoff = self.policy.backoff(retry, self._rng)
        return max(backoff, err.retry_after or 0.0)

    def call(self, fn: Callable[[], T]) -> T:
        """fn() under the rate limit, retried on retryable ProviderErrors; raises the last error when out."""
        attempts = self.policy.attempts
        for attempt in range(1, attempts + 1):
            if self.limiter is not None:
                self.limiter.acquire()
            with self._stats_lock:
                self.calls += 1
            try:
                return fn()
            except ProviderError as err:
                if not err.retryable:
                    raise
                if err.retry_after is not None and err.retry_after > self.policy.max_delay:
                    raise ProviderError(
                        f"{err.message} (server asks to retry after {err.retry_after:g}s, more than "
                        f"retries.max_delay {self.policy.max_delay:g}s)",
                        retryable=False,
                        retry_after=err.retry_after,
                        status=err.status,
                    ) from None
                if attempt == attempts:
                    raise ProviderError(
                        f"{err.message} (gave up after {attempts} attempts)",
                        retryable=False,
                        retry_after=err.retry_after,
                        status=err.status,
                    ) from None
                delay = self._delay(attempt, err)
                with self._stats_lock:
                    self.retries += 1
                    self.slept.append(delay)
                self.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, workers: int | None = None
    ) -> Iterator[tuple[T, Future[R]]]:
        """Run fn over items with bounded concurrency; yield (item, finished future) as each completes."""
        with ThreadPoolExecutor(max_workers=workers or self.concurrency, thread_name_prefix="llmops") as pool:
            futures = {pool.submit(fn, item): item for item in items}
            for fut in as_completed(futures):
                yield futures[fut], fut
