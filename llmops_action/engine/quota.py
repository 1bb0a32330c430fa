"""The request rate one endpoint and key allows, found while the run goes (issue 13).

A Gemini key has a per-minute quota that nobody types into the config and that other jobs may share. One
`QuotaController` per endpoint and key (provider and judge alike) paces every worker's sends:

- a refusal (429, or a 503 with a retry hint) starts a cool-down that every worker honours, as long as the
  server asked (RetryInfo.retryDelay / Retry-After), and cuts the allowed rate multiplicatively;
- successes grow it back along CUBIC's curve (RFC 9438) in the time since the cut: quickly toward the rate
  that was refused, flat near it, then faster past it, but only while the pacer actually holds workers back and
  never far above what they send: once the pool's `concurrency` is the bound again, it stops;
- a fixed `rpm` is a ceiling the rate never passes.

A cut counts once per round trip: refusals of requests sent before the last cut say nothing about the new rate
(TCP's "one decrease per window"), so a burst of stale 429s does not collapse the rate. Before the first cut
the rate is unlimited, after a slow start (a few calls in flight, one more per success, up to `concurrency`);
the first cut starts from what the server let through so far, a later one from what it let through between
two close refusals, or from the rate. Tuned on benchmarks/bench_quota.py: decrease 0.7, growth 0.05 (back to
the refused rate in about 1.8 s).

`clock` and `sleep` are injectable: the tests drive a whole run of backoff and recovery on a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 1.0  # seconds over which the first cut measures the admitted rate
HEADROOM = 1.2  # how far the rate may run ahead of what the workers send
SLOW_START = 4  # calls in flight at first
MIN_SAMPLE = 3  # successes between two cuts that make their rate an estimate of the server's
MIN_RATE = 1.0 / 60  # one request a minute: a cut never stops the run outright


@dataclass(frozen=True)
class Ticket:
    """What a send was allowed under: the cut epoch it saw and when it went."""

    epoch: int
    sent_at: float


@dataclass
class QuotaStats:
    requests: int = 0
    throttled: int = 0  # 429s and 503s with a retry hint
    cuts: int = 0
    waited_s: float = 0.0  # cool-down and pacing, summed over workers


class QuotaController:
    """Shared by every worker that calls one endpoint with one key. Thread-safe."""

    def __init__(
        self,
        *,
        ceiling_rpm: float | None = None,
        decrease: float = 0.7,
        growth: float = 0.05,
        concurrency: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = ceiling_rpm / 60.0 if ceiling_rpm else None
        self.decrease = decrease
        self.growth = growth
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._in_flight = 0
        # Slow start (TCP's): SLOW_START calls in flight at first, one more per success, until `concurrency` or
        # the first refusal. A run that starts while another job holds the quota then meets it with a few
        # requests, not with the whole pool at once.
        self._window: int | None = SLOW_START if concurrency and concurrency > SLOW_START else None
        self._concurrency = concurrency or 0
        self.rate: float | None = self.ceiling  # requests per second; None: unlimited
        self._wmax = 0.0  # the rate the last cut started from
        self._k = 0.0
        self._next = clock()  # earliest time the next send may go
        self._cool_until = 0.0
        self._epoch = 0
        self._bound_at = float("-inf")  # last time the pacer held a worker back
        self._admitted: deque[float] = deque()  # success times within WINDOW
        self._sent: deque[float] = deque()  # send times within WINDOW
        self.last_success = float("-inf")
        self._first_send: float | None = None
        self._cut_at = float("-inf")
        self._ok_since_cut = 0
        self.stats = QuotaStats()

    @property
    def rpm(self) -> float | None:
        """The allowed rate now, in requests per minute (None: not limited)."""
        return None if self.rate is None else self.rate * 60.0

    def acquire(self, not_before: float | None = None) -> Ticket:
        """Wait for the cool-down, `not_before` (a worker's own backoff) and this worker's pacing slot, then
        return the ticket to report the answer with."""
        while True:
            with self._lock:
                if self._window is not None and self._in_flight >= self._window:
                    start = self._clock()
                    while self._window is not None and self._in_flight >= self._window:
                        self._freed.wait()
                    self.stats.waited_s += self._clock() - start
                now = self._clock()
                held = max(now, self._cool_until, not_before or now)
                slot = held if self.rate is None else max(held, self._next)
                if self.rate is not None:
                    self._next = slot + 1.0 / self.rate
                wait = slot - now
                seen = (self._epoch, self._cool_until)
                if wait <= 0:
                    return self._send(now)
                if slot > held:
                    self._bound_at = now
                self.stats.waited_s += wait
            self._sleep(wait)
            with self._lock:
                # A cut or a longer cool-down while we slept voids the slot: queue again under the new rules.
                # Otherwise the slot is ours (not re-read from the clock, so an injected sleep that does not
                # advance it cannot spin here).
                if (self._epoch, self._cool_until) == seen:
                    return self._send(max(self._clock(), slot))
                not_before = None

    def _send(self, now: float) -> Ticket:
        self.stats.requests += 1
        self._in_flight += 1
        if self._first_send is None:
            self._first_send = now
        self._sent.append(now)
        _trim(self._sent, now)
        return Ticket(self._epoch, now)

    def release(self, ticket: Ticket) -> None:
        """The send made under `ticket` ended some other way (an error that is not a refusal)."""
        with self._lock:
            self._release()

    def _release(self) -> None:
        self._in_flight -= 1
        self._freed.notify()

    def success(self, ticket: Ticket) -> None:
        with self._lock:
            self._release()
            if self._window is not None:
                self._window += 1
                if self._window >= self._concurrency:
                    self._window = None
                self._freed.notify()
            now = self._clock()
            self.last_success = now
            self._ok_since_cut += 1
            self._admitted.append(now)
            _trim(self._admitted, now)
            if self.rate is None or ticket.epoch != self._epoch or now - self._bound_at > WINDOW:
                return
            # Never far above what the workers really send: a rate they do not reach says nothing about the
            # server, and would let a burst through once they speed up.
            sent = self._sent_rate(now)
            if sent is not None and self.rate > HEADROOM * sent:
                return
            # CUBIC's curve (RFC 9438) in time since the cut: back up quickly toward the rate that was refused,
            # slowly past it, then faster again, so room that opens (another shard finishing) is taken up.
            t = now - self._cut_at - self._k
            self.rate = max(self.rate, self._wmax * (1.0 + self.growth * t * t * t))
            if self.ceiling is not None:
                self.rate = min(self.rate, self.ceiling)

    def refused(self, ticket: Ticket, retry_after: float | None) -> None:
        """A 429 (or a 503 with a retry hint) answered the send made under `ticket`."""
        with self._lock:
            self._release()
            if self._window is not None:
                self._window = None  # the rate takes over
                self._freed.notify_all()
            now = self._clock()
            self.stats.throttled += 1
            if retry_after and now + retry_after > self._cool_until:
                # Sleepers re-queue from the end of the cool-down, so their voided slots are not lost.
                self._cool_until = now + retry_after
                self._next = self._cool_until
            if ticket.epoch != self._epoch:
                return  # sent before the last cut: already accounted for
            interval = now - self._cut_at
            if self.rate is None:
                # The first cut: what the server let through lately. A burst allowance makes this an
                # overestimate, which the next cut corrects; an underestimate would take long to grow back.
                first = now if self._first_send is None else self._first_send
                elapsed = max(min(WINDOW, now - first), 1e-3)
                _trim(self._admitted, now)
                _trim(self._sent, now)
                base = (len(self._admitted) or len(self._sent)) / elapsed
            elif interval <= WINDOW and self._ok_since_cut >= MIN_SAMPLE:
                # Refused at both ends of a short interval: the server was saturated throughout, so what it
                # admitted in between is its rate.
                base = min(self.rate, self._ok_since_cut / interval)
            else:
                sent = self._sent_rate(now)  # the workers may not have reached the rate
                base = self.rate if sent is None else min(self.rate, sent)
            self.rate = max(MIN_RATE, base * self.decrease)
            if self.ceiling is not None:
                self.rate = min(self.rate, self.ceiling)
            self._wmax = base
            self._k = ((1.0 - self.decrease) / self.growth) ** (1.0 / 3.0)  # seconds back to wmax
            self._epoch += 1
            self._cut_at, self._ok_since_cut = now, 0
            self._next = max(now, self._cool_until)
            self.stats.cuts += 1

    def _sent_rate(self, now: float) -> float | None:
        """Sends per second over the last WINDOW; None until the traffic is that old."""
        if self._first_send is None or now - self._first_send < WINDOW:
            return None
        _trim(self._sent, now)
        return len(self._sent) / WINDOW

    def progressed_since(self, since: float) -> bool:
        """Whether any call through this controller succeeded after `since` (the run is moving)."""
        with self._lock:
            return self.last_success > since


def _trim(times: deque[float], now: float) -> None:
    while times and times[0] < now - WINDOW:
        times.popleft()
