"""Simulated experiments watched while they run: how often does peeking declare a winner? (issue 15)

Each simulated experiment assigns units by the configured split, draws 0/1 outcomes with the given
rates, and is looked at every `peek_every` units: the sequential rule is `analyse(...)` itself (a
winner the first time its decision is "winner"); the naive rule declares a winner the first time a
fixed-n two-proportion z-test gives p < alpha, which is what repeated dashboards do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llmops_action.core.experiment_analysis import OutcomeTable, analyse
from llmops_action.core.experiment_config import ExperimentConfig
from llmops_action.core.experiment_stats import two_proportion_test


@dataclass(frozen=True)
class PeekingRates:
    sequential: float  # share of experiments where analyse() named a winner at some peek
    naive: float  # share where a repeated fixed-n z-test did
    sequential_treatment: float  # share where the treatment was named the winner
    simulations: int


def simulated_table(
    rng: np.random.Generator, n: int, p0: float, p1: float, treatment_share: float, metric: str
) -> OutcomeTable:
    v = (rng.random(n) < treatment_share).astype(np.int8)
    x = (rng.random(n) < np.where(v == 1, p1, p0)).astype(float)
    return OutcomeTable(np.arange(n), v, np.zeros(n, np.int32), x, np.arange(n, dtype=float), (metric,))


def _prefix(t: OutcomeTable, k: int) -> OutcomeTable:
    return OutcomeTable(t.unit[:k], t.variant[:k], t.metric[:k], t.value[:k], t.time[:k], t.metrics)


def simulate_peeking(
    cfg: ExperimentConfig,
    *,
    simulations: int,
    units: int,
    peek_every: int,
    p0: float,
    p1: float,
    seed: int = 0,
) -> PeekingRates:
    rng = np.random.default_rng(seed)
    share = cfg.split.weights()[1]
    seq = naive = seq_treatment = 0
    peeks = range(peek_every, units + 1, peek_every)
    for _ in range(simulations):
        t = simulated_table(rng, units, p0, p1, share, cfg.metric.name)
        won = next((r for k in peeks if (r := analyse(cfg, _prefix(t, k))).decision == "winner"), None)
        seq += won is not None
        seq_treatment += won is not None and won.recommended_winner == "treatment"
        is1 = t.variant == 1
        n1, k1 = np.cumsum(is1), np.cumsum(t.value * is1)
        n0, k0 = np.arange(1, units + 1) - n1, np.cumsum(t.value * ~is1)
        for k in peeks:
            a0, a1 = int(n0[k - 1]), int(n1[k - 1])
            if (
                min(a0, a1) >= cfg.min_samples
                and two_proportion_test(k0[k - 1], a0, k1[k - 1], a1).p_value < cfg.alpha
            ):
                naive += 1
                break
    return PeekingRates(seq / simulations, naive / simulations, seq_treatment / simulations, simulations)
