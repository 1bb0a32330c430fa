"""A/B experiments: does watching a running experiment fool the decision, and is the analysis fast?

1. False winners under peeking. 1,000 simulated experiments with no true difference (both variants at
   a 50% rate, a 50/50 split) are looked at every 50 units up to 2,000 units. The sequential rule is
   `analyse()` itself (a winner the first time its decision says so: min samples met, split check
   passed, the always-valid mSPRT boundary crossed); the naive rule is a fixed-n two-proportion z-test
   at p < 0.05 at every peek, as a dashboard refreshed daily would do.
2. Power. 200 experiments with a true lift of 5 points on a 50% rate, peeked every 500 units up to 10,000.
3. Speed. 1,000,000 outcome records (500,000 units with a rate metric and a continuous guardrail,
   the treatment at +1 point), analysed from columns: units per metric, the split check, the
   sequential test over every prefix, the fixed-n tests.

    .venv/bin/python benchmarks/bench_experiments.py [--simulations 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from llmops_action.core.experiment_analysis import OutcomeTable, analyse
from llmops_action.core.experiment_config import ExperimentConfig
from llmops_action.core.experiment_simulation import simulate_peeking

CONFIG = ExperimentConfig.model_validate(
    {
        "name": "bench",
        "variants": {"control": {"model": "a"}, "treatment": {"model": "b"}},
        "metric": {"name": "thumbs_up", "type": "rate"},
        "guardrails": [
            {"name": "latency_ms", "type": "continuous", "direction": "decrease", "tolerance": 20}
        ],
    }
)


def million_records(seed: int = 0) -> OutcomeTable:
    rng = np.random.default_rng(seed)
    units = 500_000
    variant = (rng.random(units) < 0.5).astype(np.int8)
    up = (rng.random(units) < np.where(variant == 1, 0.51, 0.50)).astype(float)
    latency = rng.normal(800, 120, units)
    order = rng.permutation(2 * units)  # records arrive interleaved, not grouped by metric
    return OutcomeTable(
        unit=np.r_[np.arange(units), np.arange(units)][order],
        variant=np.r_[variant, variant][order],
        metric=np.r_[np.zeros(units, np.int32), np.ones(units, np.int32)][order],
        value=np.r_[up, latency][order],
        time=np.r_[np.arange(units), np.arange(units) + 0.5][order].astype(float),
        metrics=("thumbs_up", "latency_ms"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=1000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    null = simulate_peeking(
        CONFIG, simulations=args.simulations, units=2000, peek_every=50, p0=0.5, p1=0.5, seed=1
    )
    print(
        f"false-winner rate sequential {null.sequential:.3f} (naive {null.naive:.3f})"
        f"  [{null.simulations} A/A experiments, a peek every 50 units up to 2,000; {time.perf_counter() - t0:.1f} s]"
    )
    power = simulate_peeking(
        CONFIG,
        simulations=max(50, args.simulations // 5),
        units=10_000,
        peek_every=500,
        p0=0.5,
        p1=0.55,
        seed=2,
    )
    print(
        f"winner found for a true +5 pt lift on 50%: {power.sequential_treatment:.3f}"
        f"  [{power.simulations} experiments, up to 10,000 units]"
    )

    table = million_records()
    analyse(
        CONFIG,
        OutcomeTable(
            *(c[:1000] for c in (table.unit, table.variant, table.metric, table.value, table.time)),
            table.metrics,
        ),
    )
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        result = analyse(CONFIG, table)
        best = min(best, time.perf_counter() - t0)
    print(f"analyse 1M records {best:.2f} s  [best of 3; decision: {result.decision}, {result.units} units]")


if __name__ == "__main__":
    main()
