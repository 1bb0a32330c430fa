"""Does the regression gate block when it should, and only then? Seeded simulations through the real comparison.

Each simulated pull request is two results files (base and head, written as `llmops-action eval` writes them)
and one comparison: `compare_and_report`'s core, `core.compare.compare(base, head, base_config)`, the function
`llmops-action compare` and `pr` call, with the base's config as the measurement. Nothing of the comparison is
re-implemented here: pairing, the composite score over the metrics both sides have, the test, the interval and
the gates are the product's.

A synthetic app answers each case and a synthetic judge scores two criteria on a 1-5 scale:

    judge score = clip(round(true quality + generation noise of this run + judge noise), 1, 5)

plus a deterministic keyword recall in [0, 1]. `score` weighs faithfulness 0.4, answer relevance 0.4 and keyword
recall 0.2. Scenarios (200 simulated PRs each) and their targets:

- no change at n = 50 and 200: false block rate <= 2%;
- no change, head without the judge (a fork PR): false block rate <= 2%;
- a true drop of 0.1 in `score` at n = 100, together with a temperature change, a model change, a re-weighted
  metric, 10 added cases, or 2 safety-blocked head cases: detection (block) rate >= 90% each;
- critical PSI drift false alarms under no change (any signal), <= 2%;
- p-value size: P(p < 0.05) of the score's test under no change at n = 10 (sign-flip), 50 and 200 (t-test),
  2,000 samples each through stats.paired_stats, 0.04-0.06;
- interval coverage for continuous, 1-5 ordinal and pass/fail deltas at n = 30 and 100, 2,000 samples each,
  through stats.paired_stats (what compare calls): each end of the reported interval is a one-sided 95% bound,
  so each end is checked against 0.94-0.96.

Printed one line per scenario: `scenario NAME: rate R (target T)`.

    .venv/bin/python benchmarks/bench_gate_validity.py
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from llmops_action.core.compare import compare
from llmops_action.core.config import LlmopsConfig
from llmops_action.core.results import CaseResult, MetricAggregate, MetricScore, ModelInfo, RunMeta, RunResult
from llmops_action.core.stats import paired_stats

PRS = 200
COVERAGE_SAMPLES = 2_000
CRITERIA = ("faithfulness", "answer_relevance")
WEIGHTS = {"faithfulness": 0.4, "answer_relevance": 0.4, "keyword_recall": 0.2}
GEN_NOISE = 0.3  # points on the 1-5 scale, per answer
JUDGE_NOISE = 0.4  # points, per criterion and per judgement
KEYWORD_NOISE = 0.08


def config(
    weights: dict[str, float] = WEIGHTS, temperature: float = 0.0, model: str = "sim-model"
) -> LlmopsConfig:
    return LlmopsConfig.model_validate(
        {
            "suite": "sim",
            "datasets": ["cases.jsonl"],
            "provider": {"type": "gemini", "model": model, "temperature": temperature},
            "metrics": [
                {"type": "judge", "criterion": "faithfulness", "weight": weights["faithfulness"]},
                {"type": "judge", "criterion": "answer_relevance", "weight": weights["answer_relevance"]},
                {"type": "keyword_recall", "weight": weights["keyword_recall"]},
            ],
        }
    )


BASE_CONFIG = config()


def make_quality(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3): true faithfulness and relevance on 1-5, true keyword recall on 0-1."""
    difficulty = rng.normal(0, 1, n)
    faith = 3.8 + 0.7 * difficulty + rng.normal(0, 0.3, n)
    rel = 4.0 + 0.5 * difficulty + rng.normal(0, 0.3, n)
    kw = np.clip(0.75 + 0.12 * difficulty + rng.normal(0, 0.1, n), 0, 1)
    return np.stack([faith, rel, kw], axis=1)


def judge(latent: np.ndarray) -> np.ndarray:
    return (np.clip(np.rint(latent), 1, 5) - 1) / 4


def metric_scores(quality: np.ndarray, shift: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) normalised scores of one run; `shift` moves true judge quality by points, recall by shift / 4."""
    n = quality.shape[0]
    gen = rng.normal(0, GEN_NOISE, n)[:, None]
    judged = judge(quality[:, :2] + shift + gen + rng.normal(0, JUDGE_NOISE, (n, 2)))
    kw = np.clip(quality[:, 2] + shift / 4 + rng.normal(0, KEYWORD_NOISE, n), 0, 1)
    return np.column_stack([judged, kw])


def run_result(
    scores: np.ndarray,
    cfg: LlmopsConfig,
    sha: str,
    *,
    judged: bool = True,
    blocked: frozenset[int] = frozenset(),
) -> RunResult:
    """A RunResult as evaluate writes it: per-case metric scores, the weighted score, aggregates."""
    weights = {m.key: m.weight for m in cfg.metrics}
    cases = []
    for i, row in enumerate(scores):
        values = dict(
            zip(("faithfulness", "answer_relevance", "keyword_recall"), map(float, row), strict=True)
        )
        if i in blocked:  # a safety block is the model's behaviour: scored as no answer
            values = dict.fromkeys(values, 0.0)
        metrics = {"keyword_recall": MetricScore(score=values["keyword_recall"])}
        for c in CRITERIA:
            metrics[c] = (
                MetricScore(score=values[c], details={"reasoning": "sim"})
                if judged
                else MetricScore(skipped="no judge credentials")
            )
        used = {k: w for k, w in weights.items() if w > 0 and metrics[k].score is not None}
        score = sum(w * values[k] for k, w in used.items()) / sum(used.values())
        cases.append(
            CaseResult(
                id=f"case-{i:04d}",
                prompt="rag_answer",
                vars={"question": f"q{i}"},
                input_hash=f"h{i}",
                output=None if i in blocked else f"answer {i}",
                blocked="SAFETY" if i in blocked else None,
                finish_reason=None if i in blocked else "STOP",
                latency_ms=800.0,
                output_tokens=100,
                metrics=metrics,
                score=score,
            )
        )
    aggs = {}
    for key, weight in weights.items():
        vals = [c.metrics[key].score for c in cases if c.metrics[key].score is not None]
        aggs[key] = MetricAggregate(
            mean=float(np.mean(vals)) if vals else None,
            n=len(vals),
            skipped=None if vals else "no judge credentials",
            weight=weight,
        )
    aggs["score"] = MetricAggregate(mean=float(np.mean([c.score for c in cases])), n=len(cases))
    meta = RunMeta(
        suite="sim",
        tool_version="bench",
        config_hash=cfg.config_hash(),
        dataset_hash=f"d{len(cases)}",
        metrics_hash="m" + str(sorted(weights.items())),
        git_sha=sha,
        provider=ModelInfo(type="gemini", model=cfg.provider.model),
        judge=ModelInfo(type="gemini", model="sim-judge") if judged else None,
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:01:00Z",
    )
    return RunResult(run=meta, cases=cases, metrics=aggs, aggregates={k: a.mean for k, a in aggs.items()})


def through_files(run: RunResult, folder: Path, name: str) -> RunResult:
    """Written and read back as results.json, as `llmops-action compare` reads it."""
    return RunResult.read(run.write(folder / f"{name}.json"))


def calibrate_shift(target_drop: float, rng: np.random.Generator) -> float:
    """The latent shift whose expected drop of `score` (base weights) is `target_drop`."""
    q = make_quality(200_000, rng)
    w = np.array([WEIGHTS["faithfulness"], WEIGHTS["answer_relevance"], WEIGHTS["keyword_recall"]])
    noise_rng = np.random.default_rng(7)
    base = (metric_scores(q, 0.0, noise_rng) @ w).mean()
    lo, hi = -3.0, 0.0
    for _ in range(40):
        mid = (lo + hi) / 2
        drop = base - (metric_scores(q, mid, np.random.default_rng(7)) @ w).mean()
        lo, hi = (mid, hi) if drop > target_drop else (lo, mid)
    return (lo + hi) / 2


Scenario = Callable[[np.ndarray, np.random.Generator], tuple[RunResult, RunResult]]


def simulate(n: int, tag: int, pair: Scenario, folder: Path) -> list[tuple[str, bool]]:
    """(status of regression/score, any critical drift signal) for PRS simulated PRs."""
    out = []
    for k in range(PRS):
        rng = np.random.default_rng([tag, n, k])
        base, head = pair(make_quality(n, rng), rng)
        base, head = through_files(base, folder, "base"), through_files(head, folder, "head")
        c = compare(base, head, BASE_CONFIG, seed=k, measurement="base")
        g = next(g for g in c.gates if g.name == "regression/score")
        out.append((g.status, any(s.status == "critical" for s in c.drift)))
    return out


def line(name: str, rate: float, target: str) -> None:
    print(f"scenario {name}: rate {rate:.3f} (target {target})", flush=True)


def block_rate(outcomes: list[tuple[str, bool]]) -> float:
    return sum(s == "fail" for s, _ in outcomes) / len(outcomes)


def drift_rate(outcomes: list[tuple[str, bool]]) -> float:
    return sum(critical for _, critical in outcomes) / len(outcomes)


def p_value_size(n: int, rng: np.random.Generator) -> float:
    """P(p < 0.05) of the score's test under no change, over COVERAGE_SAMPLES runs of the simulated app."""
    w = np.array([WEIGHTS["faithfulness"], WEIGHTS["answer_relevance"], WEIGHTS["keyword_recall"]])
    hits = 0
    for k in range(COVERAGE_SAMPLES):
        q = make_quality(n, rng)
        ps = paired_stats(metric_scores(q, 0.0, rng) @ w, metric_scores(q, 0.0, rng) @ w, seed=k)
        hits += ps.p_value is not None and ps.p_value < 0.05
    return hits / COVERAGE_SAMPLES


def coverage(kind: str, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """Share of samples whose upper (lower) end is at or above (below) the true mean delta."""

    def draw(size: int, r: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if kind == "continuous":  # skewed case quality, bounded scores
            q = r.beta(5, 2, size)
            return np.clip(q + r.normal(0, 0.1, size), 0, 1), np.clip(q - 0.05 + r.normal(0, 0.1, size), 0, 1)
        if kind == "ordinal":  # a 1-5 judge, normalised
            q = r.normal(3.8, 0.8, size)
            return judge(q + r.normal(0, 0.5, size)), judge(q - 0.2 + r.normal(0, 0.5, size))
        p = r.beta(4, 1.5, size)  # pass/fail
        return (r.random(size) < p).astype(float), (r.random(size) < np.clip(p - 0.05, 0, 1)).astype(float)

    b, h = draw(2_000_000, np.random.default_rng(99))
    truth = float((h - b).mean())
    upper = lower = 0
    for k in range(COVERAGE_SAMPLES):
        b, h = draw(n, rng)
        ps = paired_stats(b, h, alpha=0.05, seed=k)
        upper += ps.ci_high is not None and truth <= ps.ci_high
        lower += ps.ci_low is not None and truth >= ps.ci_low
    return upper / COVERAGE_SAMPLES, lower / COVERAGE_SAMPLES


def main() -> None:
    t0 = time.perf_counter()
    drop = calibrate_shift(0.1, np.random.default_rng(12345))
    print(f"{PRS} simulated PRs per scenario; a drop of 0.1 in score = latent shift {drop:+.3f} points")

    def same(shift: float = 0.0, **head: object) -> Scenario:
        def pair(q: np.ndarray, rng: np.random.Generator) -> tuple[RunResult, RunResult]:
            base = run_result(metric_scores(q, 0.0, rng), BASE_CONFIG, "a" * 40)
            hq = q
            added = int(head.get("added", 0))  # type: ignore[call-overload]
            if added:
                hq = np.vstack([q, make_quality(added, rng)])
            cfg = head.get("config", BASE_CONFIG)
            assert isinstance(cfg, LlmopsConfig)
            blocked = frozenset(range(int(head.get("blocked", 0))))  # type: ignore[call-overload]
            judged = bool(head.get("judged", True))
            return base, run_result(
                metric_scores(hq, shift, rng), cfg, "b" * 40, judged=judged, blocked=blocked
            )

        return pair

    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as tmp:
        folder = Path(tmp)
        null50 = simulate(50, 1, same(), folder)
        line("no-change-n50 false block", block_rate(null50), "<= 0.02")
        null200 = simulate(200, 2, same(), folder)
        line("no-change-n200 false block", block_rate(null200), "<= 0.02")
        fork = simulate(100, 3, same(judged=False), folder)
        line("no-change-head-without-judge-n100 false block", block_rate(fork), "<= 0.02")
        line("no-change-n50 critical drift false alarm", drift_rate(null50), "<= 0.02")
        line("no-change-n200 critical drift false alarm", drift_rate(null200), "<= 0.02")
        heads = {
            "drop-0.1-with-temperature-change": {"config": config(temperature=0.2)},
            "drop-0.1-with-model-change": {"config": config(model="other-model")},
            "drop-0.1-with-reweighted-metric": {
                "config": config({"faithfulness": 0.6, "answer_relevance": 0.2, "keyword_recall": 0.2})
            },
            "drop-0.1-with-10-added-cases": {"added": 10},
            "drop-0.1-with-2-safety-blocked-head-cases": {"blocked": 2},
        }
        for i, (name, head) in enumerate(heads.items()):
            line(
                f"{name}-n100 detection",
                block_rate(simulate(100, 10 + i, same(drop, **head), folder)),
                ">= 0.90",
            )
    rng = np.random.default_rng(2024)
    for n in (10, 50, 200):
        line(f"p-value-size-n{n} P(p < 0.05) under no change", p_value_size(n, rng), "0.04-0.06")
    for kind in ("continuous", "ordinal", "binary"):
        for n in (30, 100):
            upper, lower = coverage(kind, n, rng)
            line(f"coverage-{kind}-n{n} upper bound", upper, "0.94-0.96")
            line(f"coverage-{kind}-n{n} lower bound", lower, "0.94-0.96")
    print(f"wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
