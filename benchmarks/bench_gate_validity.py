"""Does the regression gate block when it should, and only then? A seeded simulation, end to end.

A synthetic provider answers each case (output text, tokens, latency, finish reason, rare errors) and a
synthetic judge scores two criteria on a 1-5 scale, the way a real one does:

    judge score = clip(round(true quality of the case + generation noise of this run + judge noise), 1, 5)

Generation noise is shared by both criteria of one answer; judge noise is per criterion and per run.
Scores are normalised to [0, 1] ((s - 1) / 4) and `score` is their 0.5 / 0.5 weighted mean. Each
comparison evaluates the same dataset twice (base and head, independent run noise), builds two real
RunResults, and goes through paired_stats -> holm -> decide -> regression_gates and
drift_signals -> drift_gates with the default config (delta 0.05, alpha 0.05, PSI 0.1 / 0.25, p < 0.01).

Printed:
- false-block rate of the regression gate over 200 no-change comparisons at n=50 and at n=200 (target <= 2%);
- critical PSI false alarms over the same runs, per comparison (any of 8 signals) and per signal (target <= 2%);
- detection (block) rate for a true mean drop of 0.1 at n=100 (target >= 90%).

Bootstrap resamples are 2,000 instead of 10,000: the interval is reported but plays no part in the
decision (the permutation p-value, with the full 10,000 sign flips, and the delta do).

    .venv/bin/python benchmarks/bench_gate_validity.py
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from llmops_action.core.comparison import MetricDelta, UsageSummary
from llmops_action.core.config import DriftConfig, GatesConfig
from llmops_action.core.drift import drift_signals
from llmops_action.core.gates import drift_gates, regression_gates
from llmops_action.core.results import CaseResult, MetricAggregate, MetricScore, ModelInfo, RunMeta, RunResult
from llmops_action.core.stats import decide, holm, paired_stats

COMPARISONS = 200
CRITERIA = ("faithfulness", "answer_relevance")
GEN_NOISE = 0.3  # points on the 1-5 scale, per answer (a new sample of the model's output)
JUDGE_NOISE = 0.4  # points, per criterion and per judgement
ERROR_RATE = 0.01
MAX_TOKENS_RATE = 0.03
N_BOOT = 2_000


@dataclass(frozen=True)
class Dataset:
    quality: np.ndarray  # (n, criteria) true quality on the 1-5 scale
    length: np.ndarray  # typical answer length in characters


def make_dataset(n: int, rng: np.random.Generator) -> Dataset:
    difficulty = rng.normal(0, 1, n)
    faith = 3.8 + 0.7 * difficulty + rng.normal(0, 0.3, n)
    rel = 4.0 + 0.5 * difficulty + rng.normal(0, 0.3, n)
    return Dataset(quality=np.stack([faith, rel], axis=1), length=rng.lognormal(5.5, 0.5, n))


def judge(latent: np.ndarray) -> np.ndarray:
    return (np.clip(np.rint(latent), 1, 5) - 1) / 4


def evaluate(ds: Dataset, shift: float, rng: np.random.Generator, sha: str) -> RunResult:
    """One run of the synthetic provider and judge over the dataset; `shift` moves true quality (points)."""
    n = ds.length.size
    gen = rng.normal(0, GEN_NOISE, n)
    latent = ds.quality + shift + gen[:, None] + rng.normal(0, JUDGE_NOISE, ds.quality.shape)
    scores = judge(latent)
    errored = rng.random(n) < ERROR_RATE
    truncated = rng.random(n) < MAX_TOKENS_RATE
    lengths = np.maximum(1, ds.length * rng.lognormal(0, 0.15, n)).astype(int)
    latency = rng.lognormal(6.5, 0.35, n) * (1 + lengths / 2000)
    cases = []
    for i in range(n):
        if errored[i]:
            cases.append(
                CaseResult(
                    id=f"case-{i}",
                    prompt="rag_answer",
                    error="ProviderError: 503 UNAVAILABLE",
                    metrics={c: MetricScore(error="no output to judge") for c in CRITERIA},
                )
            )
            continue
        text = "w" * int(lengths[i])
        cases.append(
            CaseResult(
                id=f"case-{i}",
                prompt="rag_answer",
                output=text,
                finish_reason="MAX_TOKENS" if truncated[i] else "STOP",
                latency_ms=float(latency[i]),
                input_tokens=400,
                output_tokens=max(1, len(text) // 4),
                metrics={c: MetricScore(score=float(scores[i, k])) for k, c in enumerate(CRITERIA)},
                score=float(scores[i].mean()),
            )
        )
    meta = RunMeta(
        suite="sim",
        tool_version="bench",
        config_hash="c",
        dataset_hash="d",
        metrics_hash="m",
        git_sha=sha,
        provider=ModelInfo(type="python", model="synthetic"),
        judge=ModelInfo(type="gemini", model="synthetic-judge"),
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:01:00Z",
    )
    metrics = {c: MetricAggregate(kind="score", weight=0.5) for c in CRITERIA}
    return RunResult(run=meta, cases=cases, metrics=metrics)


def usage(run: RunResult) -> UsageSummary:
    lat = [c.latency_ms for c in run.cases if c.latency_ms is not None]
    return UsageSummary(cases=len(run.cases), latency_p95_ms=float(np.percentile(lat, 95)) if lat else None)


@dataclass
class Outcome:
    regression: str  # the regression/score gate's status
    critical: list[str]  # signals with critical drift
    warning: list[str]
    mde: float | None
    sd: float | None  # sd of the per-case deltas of score
    n: int


def compare(base: RunResult, head: RunResult, gates: GatesConfig, drift: DriftConfig, seed: int) -> Outcome:
    reg = gates.regression
    bmap, hmap = base.case_map(), head.case_map()
    shared = [k for k in bmap if k in hmap]
    deltas = []
    for name in reg.metrics:
        pairs = [(_value(bmap[k], name), _value(hmap[k], name)) for k in shared]
        pairs = [(b, h) for b, h in pairs if b is not None and h is not None]
        if name == reg.metrics[0]:
            sd_of_d = float(np.std([h - b for b, h in pairs], ddof=1))
        ps = paired_stats(
            np.array([b for b, _ in pairs]),
            np.array([h for _, h in pairs]),
            alpha=reg.alpha,
            seed=seed,
            n_boot=N_BOOT,
        )
        deltas.append(
            MetricDelta(
                name=name,
                gated=True,
                base_mean=ps.mean_base,
                head_mean=ps.mean_head,
                delta=ps.delta,
                ci_low=ps.ci_low,
                ci_high=ps.ci_high,
                ci_method=ps.ci_method,
                p_value=ps.p_value,
                n_paired=ps.n,
                mde=ps.mde,
            )
        )
    for d, adj in zip(deltas, holm([d.p_value for d in deltas]), strict=True):
        d.p_adjusted = adj
        d.decision = decide(adj, d.delta, reg.delta, reg.alpha)
    rgates = regression_gates(reg, deltas, base_usage=usage(base), head_usage=usage(head), like_for_like=True)
    signals = drift_signals(base, head, drift, seed=seed, judge_metrics=list(CRITERIA))
    dgates = drift_gates(drift, signals)
    assert all(g.status != "fail" for g in dgates)  # drift only warns by default
    return Outcome(
        regression=rgates[0].status,
        critical=[s.signal for s in signals if s.status == "critical"],
        warning=[s.signal for s in signals if s.status == "warning"],
        mde=deltas[0].mde,
        sd=sd_of_d,
        n=deltas[0].n_paired,
    )


def _value(case: CaseResult, name: str) -> float | None:
    if name == "score":
        return case.score
    s = case.metrics.get(name)
    return None if s is None else s.score


def calibrate_shift(target_drop: float, rng: np.random.Generator) -> float:
    """The latent shift (points) whose expected drop of the normalised `score` is `target_drop`."""
    ds = make_dataset(400_000, rng)
    noise = rng.normal(0, GEN_NOISE, ds.length.size)[:, None] + rng.normal(0, JUDGE_NOISE, ds.quality.shape)
    base_mean = judge(ds.quality + noise).mean()
    lo, hi = -3.0, 0.0
    for _ in range(40):
        mid = (lo + hi) / 2
        drop = base_mean - judge(ds.quality + mid + noise).mean()
        lo, hi = (mid, hi) if drop > target_drop else (lo, mid)
    return (lo + hi) / 2


def scenario(
    n: int, shift: float, label: str, gates: GatesConfig, drift: DriftConfig, tag: int
) -> list[Outcome]:
    out = []
    for k in range(COMPARISONS):
        rng = np.random.default_rng([tag, n, k])
        ds = make_dataset(n, rng)
        base = evaluate(ds, 0.0, rng, "a" * 40)
        head = evaluate(ds, shift, rng, "b" * 40)
        out.append(compare(base, head, gates, drift, seed=k))
    return out


def report(label: str, outcomes: list[Outcome], *, target: str, true_delta: float = 0.0) -> None:
    total = len(outcomes)
    blocks = sum(o.regression == "fail" for o in outcomes)
    warns = sum(o.regression == "warn" for o in outcomes)
    rate = blocks / total
    half = 1.96 * math.sqrt(max(rate * (1 - rate), 1 / total) / total)
    print(
        f"{label}: block {blocks}/{total} = {rate:.1%} (±{half:.1%} at 95%), warn {warns / total:.1%}  [{target}]"
    )
    mdes = [o.mde for o in outcomes if o.mde is not None]
    # Block needs delta <= -0.05 (p < 0.05 then almost always holds): its normal-approximation probability
    # from each comparison's own sd, averaged, is a smoother estimate than 200 coin flips.
    smooth = np.mean([_phi((-0.05 - true_delta) * math.sqrt(o.n) / o.sd) for o in outcomes if o.sd])
    print(
        f"    median MDE of score {np.median(mdes):.3f}; normal-approximation P(delta <= -0.05): {smooth:.2%}"
    )


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def report_drift(label: str, outcomes: list[Outcome], *, null: bool = True) -> None:
    total = len(outcomes)
    any_crit = sum(bool(o.critical) for o in outcomes)
    any_warn = sum(bool(o.warning) for o in outcomes)
    per_signal = sum(len(o.critical) for o in outcomes) / (total * 8)
    names: dict[str, int] = {}
    for o in outcomes:
        for s in o.critical:
            names[s] = names.get(s, 0) + 1
    what = "critical PSI false alarm" if null else "critical PSI"
    target = "; target <= 2%" if null else "; sensitivity, not a target"
    print(
        f"{label}: {what} in {any_crit}/{total} = {any_crit / total:.1%} of comparisons "
        f"(any of 8 signals{target}), {per_signal:.2%} per signal; warning in {any_warn / total:.1%}"
        + (f"; critical signals: {names}" if names else "")
    )


def main() -> None:
    t0 = time.perf_counter()
    gates, drift = GatesConfig(), DriftConfig()
    shift = calibrate_shift(0.1, np.random.default_rng(12345))
    print(
        f"Judge noise: generation sd {GEN_NOISE} + judge sd {JUDGE_NOISE} points on 1-5, rounded; "
        f"{COMPARISONS} comparisons per scenario; a mean drop of 0.1 = latent shift {shift:+.3f} points"
    )
    null50 = scenario(50, 0.0, "n=50", gates, drift, tag=1)
    null200 = scenario(200, 0.0, "n=200", gates, drift, tag=2)
    drop100 = scenario(100, shift, "drop", gates, drift, tag=3)
    report("False block, no change, n=50 ", null50, target="target <= 2%")
    report("False block, no change, n=200", null200, target="target <= 2%")
    report_drift("Drift, no change, n=50 ", null50)
    report_drift("Drift, no change, n=200", null200)
    report("Detection, mean drop 0.1, n=100", drop100, target="target >= 90%", true_delta=-0.1)
    report_drift("Drift under the 0.1 drop, n=100", drop100, null=False)
    print(f"Wall time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
