from __future__ import annotations

import random
import threading
import time

import pytest

from llmops_action.engine.runner import RetryPolicy, Runner
from llmops_action.errors import ProviderError


class Script:
    """A callable that raises the given errors in order, then returns 'ok'."""

    def __init__(self, *errors: ProviderError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def runner(attempts: int = 4, *, initial: float = 1.0, max_delay: float = 60.0) -> tuple[Runner, list[float]]:
    slept: list[float] = []
    r = Runner(policy=RetryPolicy(attempts, initial, max_delay), sleep=slept.append, rng=random.Random(1))
    return r, slept


def retryable(status: int = 503, after: float | None = None) -> ProviderError:
    return ProviderError(f"{status}", retryable=True, status=status, retry_after=after)


def test_retries_then_succeeds() -> None:
    r, slept = runner()
    fn = Script(retryable(), retryable())
    assert r.call(fn) == "ok"
    assert fn.calls == 3 and len(slept) == 2


def test_backoff_is_full_jitter_within_the_exponential_cap() -> None:
    r, slept = runner(attempts=6, initial=1.0, max_delay=5.0)
    r.call(Script(*(retryable() for _ in range(5))))
    caps = [1, 2, 4, 5, 5]
    assert all(0 <= s <= cap for s, cap in zip(slept, caps, strict=True))
    assert len(set(slept)) == 5  # jittered, not constant


def test_retry_after_is_a_floor() -> None:
    r, slept = runner(initial=0.001)
    r.call(Script(retryable(429, after=7.0)))
    assert slept == [pytest.approx(7.0, abs=0.01)]


def test_retry_after_beyond_max_delay_fails_at_once() -> None:
    r, slept = runner(max_delay=10)
    fn = Script(retryable(429, after=3600.0))
    with pytest.raises(ProviderError, match="3600s") as e:
        r.call(fn)
    assert fn.calls == 1 and slept == [] and e.value.status == 429


def test_non_retryable_is_raised_immediately() -> None:
    r, slept = runner()
    fn = Script(ProviderError("400 bad", status=400))
    with pytest.raises(ProviderError, match="400 bad"):
        r.call(fn)
    assert fn.calls == 1 and slept == []


def test_attempts_are_bounded_and_the_reason_kept() -> None:
    r, slept = runner(attempts=3)
    fn = Script(*(retryable(503) for _ in range(10)))
    with pytest.raises(ProviderError, match="gave up after 3 attempts") as e:
        r.call(fn)
    assert fn.calls == 3 and len(slept) == 2 and e.value.status == 503


def test_real_sleep_honours_a_short_retry_after() -> None:
    r = Runner(policy=RetryPolicy(3, 0.0, 5.0))
    start = time.monotonic()
    r.call(Script(retryable(429, after=0.2)))
    assert time.monotonic() - start >= 0.2


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rpm_spaces_calls_evenly() -> None:
    clock = FakeClock()
    r = Runner(rpm=120, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(5):
        r.call(lambda: stamps.append(clock.now))
    assert stamps == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])


def test_rate_limit_applies_to_every_attempt() -> None:
    clock = FakeClock()
    r = Runner(policy=RetryPolicy(3, 0.0, 1.0), rpm=60, clock=clock, sleep=clock.sleep, rng=random.Random(0))
    r.call(Script(retryable(), retryable()))
    assert clock.now >= 2.0  # three calls, one second apart


def test_a_quota_refusal_with_progress_costs_no_attempt() -> None:
    """Two attempts allowed, five 429s with a retry hint: the call still gets through, because other calls
    succeed in between (the quota is shared, not broken)."""
    clock = FakeClock()
    r = Runner(policy=RetryPolicy(2, 0.0, 10.0), clock=clock, sleep=clock.sleep, rng=random.Random(0))
    errors = [retryable(429, after=0.5) for _ in range(5)]
    calls = 0

    def refused_unless_other_calls_succeed() -> str:
        nonlocal calls
        calls += 1
        if errors:
            clock.sleep(0.01)  # the call takes a while, and meanwhile another worker's call succeeds
            r.call(lambda: "another case")
            raise errors.pop(0)
        return "ok"

    assert r.call(refused_unless_other_calls_succeed) == "ok"
    assert calls == 6 and r.free_retries == 5
    stats = r.stats()
    assert stats.throttled == 5 and stats.requests == 11 and stats.rate_cuts >= 1


def test_a_quota_refusal_without_progress_spends_attempts() -> None:
    clock = FakeClock()
    r = Runner(policy=RetryPolicy(3, 0.0, 10.0), clock=clock, sleep=clock.sleep, rng=random.Random(0))
    fn = Script(*(retryable(429, after=0.5) for _ in range(5)))
    with pytest.raises(ProviderError, match="gave up after 3 attempts"):
        r.call(fn)
    # The first refusal is free (the answers in flight are not back yet); then no call gets through.
    assert fn.calls == 4 and r.free_retries == 1


def test_provider_and_judge_share_a_quota_by_key() -> None:
    r = Runner()
    assert r.controller("gemini url k1") is r.controller("gemini url k1")
    assert r.controller("gemini url k1") is not r.controller("gemini url k2")


def test_map_unordered_bounds_concurrency_and_returns_everything() -> None:
    r = Runner(concurrency=3)
    active = 0
    peak = 0
    lock = threading.Lock()

    def work(i: int) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.01)
        with lock:
            active -= 1
        if i == 5:
            raise ValueError("boom")
        return i * 2

    done = dict(r.map_unordered(work, range(12)))
    assert sorted(done) == list(range(12))
    assert peak <= 3
    assert isinstance(done[5].exception(), ValueError)
    assert done[4].result() == 8


def test_a_call_refused_for_longer_than_max_delay_gives_up_even_while_others_succeed() -> None:
    clock = FakeClock()
    r = Runner(policy=RetryPolicy(2, 0.0, 3.0), clock=clock, sleep=clock.sleep, rng=random.Random(0))

    def always_refused() -> str:
        clock.sleep(0.01)
        r.call(lambda: "another case")
        raise retryable(429, after=1.0)

    with pytest.raises(ProviderError, match="gave up after 2 attempts"):
        r.call(always_refused)
    assert 3.0 <= clock.now <= 7.0  # free retries for max_delay, then the attempt budget
