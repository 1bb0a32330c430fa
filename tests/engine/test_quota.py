"""The adaptive pacer on an injected clock (a cut on 429, recovery on success, one cool-down for every worker), then
a whole run through evaluate() against the fake server enforcing a quota."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from llmops_action.core.report.eval_summary import format_summary
from llmops_action.core.results import RunResult
from llmops_action.engine.evaluate import evaluate
from llmops_action.engine.providers.gemini import parse_duration
from llmops_action.engine.quota import QuotaController
from llmops_action.engine.workspace import load_workspace
from tests.support.eval_workspace import make_workspace
from tests.support.gemini_server import GeminiServer, Quota

JUDGE = {"type": "judge", "criterion": "answer_relevance", "weight": 0.5}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def controller(**kwargs: float) -> tuple[QuotaController, FakeClock]:
    clock = FakeClock()
    return QuotaController(clock=clock, sleep=clock.sleep, **kwargs), clock  # type: ignore[arg-type]


def serve(ctl: QuotaController, clock: FakeClock, seconds: float, *, quota_rps: float | None = None) -> int:
    """Workers calling back to back for `seconds`, against a server that admits `quota_rps` (a token bucket
    with a one-request burst; None: admits everything). Returns the number of refusals."""
    tokens, last, refused = 1.0, clock.now, 0
    end = clock.now + seconds
    while clock.now < end:
        ticket = ctl.acquire()
        if quota_rps is not None:
            tokens = min(1.0, tokens + (clock.now - last) * quota_rps)
            last = clock.now
        if quota_rps is None or tokens >= 1:
            tokens -= 1 if quota_rps is not None else 0
            ctl.success(ticket)
        else:
            refused += 1
            ctl.refused(ticket, retry_after=(1 - tokens) / quota_rps)
        clock.sleep(0.001)  # the time a call takes
    return refused


def test_unlimited_until_the_first_refusal() -> None:
    ctl, clock = controller()
    assert ctl.rate is None
    for _ in range(100):
        ctl.success(ctl.acquire())
    assert clock.now == 0.0 and ctl.stats.waited_s == 0.0


def test_a_429_cuts_the_rate_multiplicatively_from_what_was_admitted() -> None:
    ctl, clock = controller(decrease=0.5)
    for _ in range(10):  # ten admitted in half a second
        ctl.success(ctl.acquire())
        clock.sleep(0.05)
    ctl.refused(ctl.acquire(), retry_after=None)
    assert ctl.rate == pytest.approx(10.0)  # half of the 20 per second the server let through
    ctl.refused(ctl.acquire(), retry_after=None)
    assert ctl.rate == pytest.approx(5.0)
    assert ctl.stats.cuts == 2 and ctl.stats.throttled == 2


def test_refusals_of_requests_sent_before_the_cut_cut_nothing() -> None:
    ctl, _ = controller(decrease=0.5)
    ctl.success(ctl.acquire())
    in_flight = [ctl.acquire() for _ in range(8)]  # all sent before the server starts refusing
    for ticket in in_flight:
        ctl.refused(ticket, retry_after=None)
    assert ctl.stats.cuts == 1 and ctl.stats.throttled == 8


def test_the_rate_paces_sends_evenly() -> None:
    ctl, _ = controller(ceiling_rpm=600)  # 10 per second
    stamps = [ctl.acquire().sent_at for _ in range(4)]
    assert stamps == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_successes_grow_the_rate_back_to_where_it_was_cut_and_no_further_than_rpm() -> None:
    ctl, clock = controller(ceiling_rpm=1200)  # 20 per second at most
    ctl.refused(ctl.acquire(), retry_after=None)
    assert ctl.rate == pytest.approx(20.0 * ctl.decrease)
    rates = []
    for _ in range(6):
        start = clock.now
        while clock.now < start + 0.5:
            ctl.success(ctl.acquire())
        rates.append(ctl.rate)
    assert rates == sorted(rates)  # only up
    assert 20.0 * ctl.decrease < rates[0] < 20.0  # part of the way in half a second
    assert rates[-1] == pytest.approx(20.0)  # back within three seconds
    assert max(rates) <= 20.0  # rpm stays a ceiling


def test_no_growth_while_the_pacer_does_not_bind() -> None:
    ctl, clock = controller(decrease=0.5, growth=0.5)
    for _ in range(10):
        ctl.success(ctl.acquire())
        clock.sleep(0.1)
    ctl.refused(ctl.acquire(), retry_after=None)
    cut = ctl.rate
    clock.sleep(5)
    for _ in range(20):  # slower than the allowed rate: the pool, not the pacer, is the bound
        ctl.success(ctl.acquire())
        clock.sleep(1.0)
    assert ctl.rate == cut


def test_the_cool_down_holds_every_worker() -> None:
    ctl, _ = controller()
    ctl.refused(ctl.acquire(), retry_after=7.0)
    # Every later send, whoever makes it, waits the seven seconds the server asked for.
    sends = [ctl.acquire().sent_at for _ in range(3)]
    assert min(sends) >= 7.0
    assert ctl.stats.waited_s >= 7.0


def test_the_cool_down_reaches_workers_already_waiting() -> None:
    """Four threads parked on their pacing slots when one refusal asks for 30 s: each wakes, sees the cool-down
    and sends no sooner than it ends."""
    parked = threading.Semaphore(0)
    gate = threading.Event()
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        parked.release()
        gate.wait()

    ctl = QuotaController(ceiling_rpm=60 * 10, clock=clock, sleep=sleep)  # 10/s: the four wait for slots
    first = ctl.acquire()
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        ticket = ctl.acquire()
        with lock:
            sent.append(ticket.sent_at)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in threads:
        assert parked.acquire(timeout=5)
    ctl.refused(first, retry_after=30.0)
    gate.set()
    for t in threads:
        t.join(timeout=5)
    assert len(sent) == 4 and min(sent) >= 30.0


def test_it_converges_under_a_quota_with_few_refusals() -> None:
    """A simulated minute against a 50-per-second server and a worker that would send 1000 a second: the pacer
    finds the rate, uses 90% of it or more, and is refused for under 3% of its requests."""
    ctl, clock = controller()
    refused = serve(ctl, clock, 60.0, quota_rps=50.0)
    share = refused / ctl.stats.requests
    admitted = ctl.stats.requests - refused
    assert share < 0.03, share
    assert admitted / 60.0 > 0.9 * 50.0, admitted
    assert ctl.rpm is not None and 0.7 * 3000 < ctl.rpm < 1.3 * 3000


def test_progress_is_any_success_after_a_moment() -> None:
    ctl, clock = controller()
    clock.sleep(1)
    assert not ctl.progressed_since(0.5)
    ctl.success(ctl.acquire())
    assert ctl.progressed_since(0.5) and not ctl.progressed_since(clock.now)


# -- through evaluate(), against the fake server enforcing a quota --------------------------------------------


def test_a_run_under_an_unknown_quota_loses_no_case_and_records_what_it_cost(tmp_path: Path) -> None:
    """40 requests a second allowed, 8 workers that would send far more, only 2 attempts per call and no `rpm`
    in the config: every case is still scored, and results.json and the summary say what the quota cost."""
    with GeminiServer(quota=Quota(2400, burst=4)) as server:
        make_workspace(
            tmp_path,
            n_cases=8,
            provider={"type": "gemini", "model": "gemini-2.5-flash", "base_url": server.url},
            metrics=[{"type": "contains", "value": "item", "weight": 0.5}, JUDGE],
            extra={
                "concurrency": 8,
                "retries": {"attempts": 2, "initial_delay": 0.05, "max_delay": 10},
                "judge": {"model": "gemini-2.5-flash", "base_url": server.url},
            },
        )
        ws = load_workspace(tmp_path / ".llmops.yml")
        result = evaluate(ws, api_key="k", use_cache=False, out_dir=tmp_path / "out")
        statuses = [r.status for r in server.requests]

    assert statuses.count(429) > 0  # the quota did bite
    assert all(c.error is None and c.metrics["answer_relevance"].score is not None for c in result.cases)
    calls = RunResult.read(tmp_path / "out" / "results.json").calls
    assert calls is not None
    assert calls.requests == len(statuses) and calls.throttled == statuses.count(429)
    assert calls.free_retries > 0 and calls.rate_cuts > 0 and calls.allowed_rpm is not None
    assert f"{calls.throttled} refused by a quota" in format_summary(result)


def test_the_fake_quota_answers_the_way_the_api_does() -> None:
    clock = FakeClock()
    quota = Quota(120, burst=1, clock=clock)  # two a second
    assert quota.take() is None
    wait = quota.take()
    assert wait == pytest.approx(0.5)
    status, body, _ = quota.refusal(wait)
    err = body["error"]
    assert status == 429 and err["status"] == "RESOURCE_EXHAUSTED"
    types = {d["@type"].rsplit(".", 1)[-1]: d for d in err["details"]}
    assert parse_duration(types["RetryInfo"]["retryDelay"]) == pytest.approx(0.5)
    assert "PerMinute" in types["QuotaFailure"]["violations"][0]["quotaId"]
    clock.sleep(0.5)
    assert quota.take() is None and (quota.admitted, quota.refused) == (2, 1)
