"""Calls to providers and the judge: bounded concurrency, an adaptive rate per endpoint and key, retries.

Retries: exponential backoff with full jitter (a uniform draw in [0, min(max_delay, initial * 2**n)]), but never
sooner than the server asked (RetryInfo.retryDelay / Retry-After, carried as ProviderError.retry_after). When the
server asks for longer than `max_delay` (a daily quota, say) waiting is pointless: the call fails at once.
A refusal with a retry hint (a quota) costs no attempt while other calls succeed; the rate is quota.py's job.
A call that still fails raises its last ProviderError; the caller records it on the case — never a score.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from llmops_action.core.results import CallStats
from llmops_action.engine.quota import QuotaController
from llmops_action.errors import ProviderError

T = TypeVar("T")
R = TypeVar("R")
DEFAULT_QUOTA = "default"
_END = object()
# Seconds before a call's first refusal in which a success counts as the run's progress.
PROGRESS_LOOKBACK = 1.0


class Outcome(Generic[R]):
    """A finished call's result or exception, read like a done concurrent.futures.Future."""

    __slots__ = ("_exc", "_value")

    def __init__(self, value: R | None, exc: BaseException | None = None) -> None:
        self._value = value
        self._exc = exc

    def exception(self) -> BaseException | None:
        return self._exc

    def result(self) -> R:
        if self._exc is not None:
            raise self._exc
        return self._value  # type: ignore[return-value]


def quota_of(provider: object) -> str:
    """The quota a provider's calls count against: its endpoint and key when it says (gemini), else its kind."""
    return getattr(provider, "quota_key", None) or str(getattr(provider, "kind", DEFAULT_QUOTA))


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    initial_delay: float = 1.0
    max_delay: float = 60.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full jitter for the `retry`-th retry (1-based)."""
        cap = min(self.max_delay, self.initial_delay * (2 ** (retry - 1)))
        return rng.uniform(0.0, cap)


class Runner:
    """One per run. `sleep`, `clock` and `rng` are injectable so retry tests run instantly and deterministically.

    Calls are grouped by `quota` (an endpoint and key: provider and judge share it when they use the same), each
    group paced by its own QuotaController; `rpm`, when set, is every group's ceiling.
    """

    def __init__(
        self,
        *,
        concurrency: int = 8,
        policy: RetryPolicy | None = None,
        rpm: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.policy = policy or RetryPolicy()
        self.rpm = rpm
        self.sleep = sleep
        self.clock = clock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._controllers: dict[str, QuotaController] = {}
        self.calls = 0
        self.retries = 0
        self.free_retries = 0  # quota refusals retried without spending an attempt
        self.slept: list[float] = []

    def controller(self, quota: str = DEFAULT_QUOTA) -> QuotaController:
        with self._stats_lock:
            ctl = self._controllers.get(quota)
            if ctl is None:
                ctl = QuotaController(
                    ceiling_rpm=self.rpm, concurrency=self.concurrency, clock=self.clock, sleep=self.sleep
                )
                self._controllers[quota] = ctl
            return ctl

    def _delay(self, retry: int, err: ProviderError) -> float:
        with self._rng_lock:
            backoff = self.policy.backoff(retry, self._rng)
        return max(backoff, err.retry_after or 0.0)

    def call(self, fn: Callable[[], T], *, quota: str = DEFAULT_QUOTA) -> T:
        """fn() paced by the quota's controller, retried on retryable ProviderErrors; raises the last error when
        out. A refusal with a retry hint costs no attempt while other calls get through (issue 13): the quota is
        shared, not broken, and the case must not be lost to it."""
        ctl = self.controller(quota)
        attempts = self.policy.attempts
        attempt = 1
        refused_since: float | None = None  # start of this call's current run of quota refusals
        not_before: float | None = None  # this call's own backoff, waited inside acquire with the cool-down
        while True:
            ticket = ctl.acquire(not_before)
            with self._stats_lock:
                self.calls += 1
            try:
                result = fn()
            except ProviderError as err:
                throttled = err.retryable and (
                    err.status == 429 or (err.status == 503 and err.retry_after is not None)
                )
                if throttled:
                    # A wait past max_delay (a daily quota) fails the call at once; it holds no one back.
                    wait = err.retry_after if (err.retry_after or 0.0) <= self.policy.max_delay else None
                    ctl.refused(ticket, wait)
                else:
                    ctl.release(ticket)
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
                free = False
                if throttled and err.retry_after is not None:
                    now = self.clock()
                    # Free while refused for at most max_delay and other calls get through meanwhile (from just
                    # before this call's first refusal, so a shard sharing the quota does not make it look
                    # stuck). The first refusal is free: the answers of the calls in flight are not back yet.
                    first = refused_since is None
                    refused_since = now if refused_since is None else refused_since
                    free = now - refused_since <= self.policy.max_delay and (
                        first or ctl.progressed_since(refused_since - PROGRESS_LOOKBACK)
                    )
                else:
                    refused_since = None
                if free:
                    with self._stats_lock:
                        self.retries += 1
                        self.free_retries += 1
                    continue  # acquire() waits out the shared cool-down
                if attempt == attempts:
                    raise ProviderError(
                        f"{err.message} (gave up after {attempts} attempts)",
                        retryable=False,
                        retry_after=err.retry_after,
                        status=err.status,
                    ) from None
                delay = self._delay(attempt, err)
                attempt += 1
                with self._stats_lock:
                    self.retries += 1
                    self.slept.append(delay)
                not_before = self.clock() + delay
            except BaseException:
                ctl.release(ticket)
                raise
            else:
                ctl.success(ticket)
                return result

    def stats(self) -> CallStats:
        """What the calls cost: requests sent, refusals, retries, time waiting (summed over workers)."""
        ctls = list(self._controllers.values())
        limited = [c.rpm for c in ctls if c.stats.cuts and c.rpm is not None]
        return CallStats(
            requests=sum(c.stats.requests for c in ctls),
            throttled=sum(c.stats.throttled for c in ctls),
            retries=self.retries,
            free_retries=self.free_retries,
            rate_cuts=sum(c.stats.cuts for c in ctls),
            waited_s=round(sum(c.stats.waited_s for c in ctls), 3),
            allowed_rpm=round(min(limited), 1) if limited else None,
        )

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, workers: int | None = None
    ) -> Iterator[tuple[T, Outcome[R]]]:
        """Run fn over items with bounded concurrency; yield (item, outcome) as each completes.

        Worker threads pull the items and hand back outcomes through one queue: ThreadPoolExecutor plus
        as_completed cost a future, a waiter, an event and a notify per item, measurable per call at 16 workers
        under one GIL (issue 13's profile). If the caller stops early, the workers take no new item and are
        joined."""
        todo = list(items)
        pending = iter(todo)
        lock = threading.Lock()
        stop = threading.Event()
        done: queue.SimpleQueue[tuple[T, Outcome[R]]] = queue.SimpleQueue()

        def worker() -> None:
            while not stop.is_set():
                with lock:
                    item = next(pending, _END)
                if item is _END:
                    return
                try:
                    outcome: Outcome[R] = Outcome(fn(item))  # type: ignore[arg-type]
                except BaseException as exc:  # recorded on the item, as an executor's future would
                    outcome = Outcome(None, exc)
                done.put((item, outcome))  # type: ignore[arg-type]

        n = min(workers or self.concurrency, len(todo))
        threads = [threading.Thread(target=worker, name=f"llmops_{i}", daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        try:
            for _ in todo:
                yield done.get()
        finally:
            stop.set()
            for t in threads:
                t.join()
