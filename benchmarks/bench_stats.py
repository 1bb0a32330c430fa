"""Speed of the statistics: PSI over 20 signals x 1,000,000 values per side, and a paired BCa bootstrap of
10,000 resamples x 5,000 cases. Target: each under 1 s. Prints wall times (best of 3) and peak memory.

    .venv/bin/python benchmarks/bench_stats.py
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from llmops_action.core.config import DriftConfig
from llmops_action.core.drift import psi_numeric
from llmops_action.core.stats import bca_interval, paired_stats

N_SIGNALS = 20
N_VALUES = 1_000_000
N_CASES = 5_000
N_BOOT = 10_000


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Best wall time of `repeat` runs, and the peak traced allocation (MB) of one run."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 1e6, result


def main() -> None:
    rng = np.random.default_rng(0)
    cfg = DriftConfig()
    signals = []
    for i in range(N_SIGNALS):
        base = rng.lognormal(0, 0.5 + 0.05 * i, N_VALUES)
        head = rng.lognormal(0.01 * (i % 3), 0.5 + 0.05 * i, N_VALUES)
        signals.append((f"signal_{i}", base, head))
    data_mb = sum(b.nbytes + h.nbytes for _, b, h in signals) / 1e6

    def all_psi() -> list[Any]:
        return [psi_numeric(b, h, name=name, cfg=cfg) for name, b, h in signals]

    t_psi, mem_psi, out = timed(all_psi)
    statuses = {s.status for s in out}
    print(f"PSI, {N_SIGNALS} signals x {N_VALUES:,} values per side: {t_psi:.3f} s  (target < 1 s)")
    print(
        f"  per signal {t_psi / N_SIGNALS * 1000:.1f} ms; peak extra memory {mem_psi:.1f} MB over {data_mb:.0f} MB of data"
    )
    print(f"  statuses: {sorted(statuses)}; max PSI {max(s.psi for s in out):.4f}")

    base = np.clip(np.rint(rng.uniform(1.5, 4.8, N_CASES) + rng.normal(0, 0.4, N_CASES)), 1, 5) / 5
    head = np.clip(base + rng.normal(-0.01, 0.1, N_CASES), 0, 1)
    d = head - base

    t_boot, mem_boot, (lo, hi) = timed(lambda: bca_interval(d, n_boot=N_BOOT, rng=np.random.default_rng(0)))
    print(f"Paired BCa bootstrap, {N_BOOT:,} resamples x {N_CASES:,} cases: {t_boot:.3f} s  (target < 1 s)")
    print(f"  peak extra memory {mem_boot:.1f} MB; CI [{lo:+.5f}, {hi:+.5f}]")

    t_all, mem_all, ps = timed(lambda: paired_stats(base, head))
    print(
        f"Full paired_stats (the comparison's paired t-test and its interval) on {N_CASES:,} cases: {t_all:.3f} s, "
        f"peak extra memory {mem_all:.1f} MB; p={ps.p_value:.4g}"
    )
    print(f"Process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
