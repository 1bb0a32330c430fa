"""Build a Comparison: a head RunResult against a base, with paired statistics, drift, gates and prompt diffs.

Pure: two RunResults and the config in, one Comparison out. Statistics, drift and gates live in
core/stats.py, core/drift.py and core/gates.py; this module pairs the cases and puts the pieces together.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from llmops_action.core import measurement as ms
from llmops_action.core.case_deltas import SCORE, case_deltas, case_value, error_delta
from llmops_action.core.comparison import (
    CaseChanges,
    Comparison,
    MeasurementPreview,
    MetricDelta,
    PromptChange,
    RunRef,
    TrendPoint,
    UsageSummary,
)
from llmops_action.core.config import DriftConfig, GatesConfig, LlmopsConfig
from llmops_action.core.prompt_diff import unified_prompt_diff
from llmops_action.core.results import CaseResult, GateResult, PromptInfo, RunResult

WORST_CASES = 10
NO_BASELINE = (
    "No baseline yet for this suite: regression gates were skipped and only absolute gates apply. "
    "A push to the default branch (or `llmops-action baseline save`) stores one; later pull requests "
    "compare against it."
)


def compare(
    base: RunResult | None,
    head: RunResult,
    config: LlmopsConfig | None,
    *,
    base_source: str = "given",
    trend: list[TrendPoint] | None = None,
    links: dict[str, str] | None = None,
    seed: int = 0,
    measurement: str = "given",
) -> Comparison:
    """Compare `head` with `base` (None: no baseline was found) under one measurement, `config`'s.

    `config=None` uses default gates and drift and the weights the base run recorded. The composite `score`
    of both runs is recomputed over the weighted metrics both have; cases pair by id and inputs.
    """
    from llmops_action.core import drift as drift_mod
    from llmops_action.core import gates as gates_mod

    gates_cfg = config.gates if config is not None else GatesConfig()
    drift_cfg = config.drift if config is not None else DriftConfig()
    max_error_rate = config.max_error_rate if config is not None else 0.05
    warnings: list[str] = []
    comparison = Comparison(
        suite=head.run.suite,
        head=run_ref(head),
        base=run_ref(base) if base is not None else None,
        base_source=base_source if base is not None else "none",  # type: ignore[arg-type]
        trend=list(trend or []),
        links=dict(links or {}),
        measurement=measurement,
    )

    if base is None:
        usage_head = usage_summary(head)
        gates: list[GateResult] = list(gates_mod.absolute_gates(gates_cfg, head.aggregates, head.metrics))
        metrics = [
            MetricDelta(
                name=name,
                kind=_kind(head, name),
                gated=name in gates_cfg.regression.metrics,
                head_mean=_mean(head, name),
                note="no baseline yet",
            )
            for name in metric_names(None, head)
        ]
        gated = [m for m in metrics if m.gated]
        regression = gates_mod.regression_gates(
            gates_cfg.regression, gated, base_usage=None, head_usage=usage_head
        )
        gates += [g.model_copy(update={"status": "skipped", "reason": "no baseline yet"}) for g in regression]
        warnings.append(NO_BASELINE)
        comparison.usage_head = usage_head
        comparison.metrics = metrics
        comparison.score_distribution = {"head": _scores(head.cases, _dist_metric(head, gates_cfg))}
        comparison.prompt_changes = []
    else:
        common = ms.common_score(ms.weights_of(config, base), base, head)
        base, head = ms.rescore_composite(base, common), ms.rescore_composite(head, common)
        usage_head, usage_base = usage_summary(head), usage_summary(base)
        gates = list(gates_mod.absolute_gates(gates_cfg, head.aggregates, head.metrics))
        pairing = ms.pair_cases(base, head)
        pairs = pairing.pairs
        metrics = metric_deltas(base, head, pairs, gates_cfg, seed=seed)
        judge_keys = [m.key for m in config.judge_metrics] if config is not None else None
        signals = drift_mod.drift_signals(base, head, drift_cfg, seed=seed, judge_metrics=judge_keys)
        gates += gates_mod.regression_gates(
            gates_cfg.regression, metrics, base_usage=usage_base, head_usage=usage_head
        )
        gates += gates_mod.drift_gates(drift_cfg, signals)
        changes = prompt_changes(base.run.prompts, head.run.prompts)
        warnings += [
            f"Prompt '{p.name}' changed but its version is still {p.new_version}: bump the version so runs "
            "and baselines can tell the two apart."
            for p in changes
            if p.version_unchanged
        ]
        if base.run.suite != head.run.suite:
            warnings.append(f"The base run is of suite '{base.run.suite}', the head of '{head.run.suite}'.")
        if base.verdict == "incomplete":
            warnings.append("The base run is incomplete: its scores cover only part of the dataset.")
        if common.left_out:
            warnings.append(
                "The composite score of both sides covers only the metrics both have; left out: "
                + "; ".join(f"'{k}' ({why})" for k, why in common.left_out.items())
                + "."
            )
        metric = _dist_metric(head, gates_cfg)
        errors = ms.head_errors_on_scored(pairing)
        deltas = case_deltas(base, head, pairs, metric)
        failed = [error_delta(b, h, metric, why) for b, h, why in errors]
        scored_by_base = sum(1 for b, _ in pairs if ms.error_of(b) is None)
        error_rate = len(errors) / scored_by_base if scored_by_base else 0.0
        if errors:
            warnings.append(
                f"The head could not score {len(errors)} of the {scored_by_base} paired cases the base scored "
                f"({error_rate:.1%}, limit {max_error_rate:.1%}): "
                + ", ".join(f"{h.id} ({why})" for _, h, why in errors[:5])
                + (", ..." if len(errors) > 5 else "")
                + ". They are listed among the worst cases."
            )
        comparison.usage_head, comparison.usage_base = usage_head, usage_base
        comparison.like_for_like = True
        comparison.metrics = metrics
        comparison.drift = list(signals)
        comparison.prompt_changes = changes
        regressed = [d for d in deltas if d.delta is not None and d.delta < 0]
        comparison.worst_cases = (failed + regressed)[: max(WORST_CASES, len(failed))]
        comparison.score_distribution = {
            "base": _scores(base.cases, metric),
            "head": _scores(head.cases, metric),
        }
        comparison.paired_cases = len(pairs)
        comparison.only_head = len(pairing.added)
        comparison.only_base = len(pairing.removed)
        comparison.case_changes = CaseChanges(
            added=[c.id for c in pairing.added],
            removed=[c.id for c in pairing.removed],
            changed=[h.id for _, h in pairing.changed],
            removed_base_mean=_mean_of(pairing.removed, metric),
            changed_base_mean=_mean_of([b for b, _ in pairing.changed], metric),
        )
        comparison.score_left_out = dict(common.left_out)
        comparison.head_errors_on_scored = len(errors)
        comparison.extra["case_metric"] = metric
        comparison.extra["case_deltas"] = [
            {"id": d.id, "prompt": d.prompt, "base": d.base_score, "head": d.head_score, "delta": d.delta}
            for d in deltas
        ]
        comparison.extra["head_errors"] = [
            {"id": c.id, "prompt": c.prompt, "error": c.error} for c in head.cases if c.error
        ]
        if error_rate > max_error_rate:
            head = head.model_copy(update={"verdict": "incomplete"})

    if config is not None:
        from dataclasses import asdict

        from llmops_action.core.agreement import panel_agreements

        agreements = panel_agreements(config, head.cases)
        if agreements:
            comparison.extra["judge_agreement"] = [asdict(a) for a in agreements]
    comparison.gates = gates
    comparison.warnings = warnings
    comparison.verdict = "incomplete" if head.verdict == "incomplete" else gates_mod.verdict(gates)
    return comparison


def measurement_preview(alt: Comparison, changes: list[str]) -> MeasurementPreview:
    """The gates and metrics of `alt` (both sides under the head's measurement) for the comment's section."""
    return MeasurementPreview(
        changes=changes,
        verdict=alt.verdict,
        gates=[g for g in alt.gates if g.family != "drift"],
        metrics=alt.metrics,
        paired_cases=alt.paired_cases,
        note="; ".join(alt.warnings[:3]) if alt.score_left_out else "",
    )


def _mean_of(cases: list[CaseResult], metric: str) -> float | None:
    values = [v for c in cases if (v := case_value(c, metric)) is not None]
    return float(np.mean(values)) if values else None


# --- pieces, each usable alone -------------------------------------------------------------------


def run_ref(run: RunResult) -> RunRef:
    meta = run.run
    return RunRef(
        sha=meta.git_sha,
        branch=meta.git_branch,
        config_hash=meta.config_hash,
        dataset_hash=meta.dataset_hash,
        metrics_hash=meta.metrics_hash,
        judge_model=meta.judge.model if meta.judge else None,
        judge_model_version=meta.judge.model_version if meta.judge else None,
        provider_model=meta.provider.model,
        cases=len(run.cases),
        errors=sum(1 for c in run.cases if c.error),
    )


def paired_cases(base: RunResult, head: RunResult) -> list[tuple[CaseResult, CaseResult]]:
    """Cases present in both runs with the same inputs, in head order (errors included: they count)."""
    return ms.pair_cases(base, head).pairs


def metric_names(base: RunResult | None, head: RunResult) -> list[str]:
    names: list[str] = []
    if any(c.score is not None for c in head.cases) or (
        base and any(c.score is not None for c in base.cases)
    ):
        names.append(SCORE)
    names += [m for m in head.metrics if m != SCORE]
    if base is not None:
        names += [m for m in base.metrics if m != SCORE and m not in head.metrics]
    return names


def metric_deltas(
    base: RunResult,
    head: RunResult,
    pairs: list[tuple[CaseResult, CaseResult]],
    gates_cfg: GatesConfig,
    *,
    seed: int = 0,
) -> list[MetricDelta]:
    """One MetricDelta per metric on the paired cases; Holm across gated metrics; decision per metric."""
    from llmops_action.core import stats

    reg = gates_cfg.regression
    out: list[MetricDelta] = []
    for name in metric_names(base, head):
        kind = _kind(head, name) if name in head.metrics or name == SCORE else _kind(base, name)
        md = MetricDelta(name=name, kind=kind, gated=name in reg.metrics)
        md.base_mean = _mean(base, name)
        md.head_mean = _mean(head, name)
        if name not in head.metrics and name != SCORE:
            md.note = "not in head run"
        elif name not in base.metrics and name != SCORE:
            md.note = "new metric: no base to compare"
        skip = (head.metrics.get(name) and head.metrics[name].skipped) or (
            base.metrics.get(name) and base.metrics[name].skipped
        )
        if skip:
            md.note = f"skipped: {skip}"
        elif kind == "info":
            md.note = "informational: means only, not tested"
        both = [
            (b, h) for b, h in pairs if case_value(b, name) is not None and case_value(h, name) is not None
        ]
        md.n_paired = len(both)
        if len(both) >= 2 and not md.note:
            bv = np.array([case_value(b, name) for b, _ in both], dtype=float)
            hv = np.array([case_value(h, name) for _, h in both], dtype=float)
            ps = stats.paired_stats(bv, hv, alpha=reg.alpha, seed=seed)
            md.base_mean, md.head_mean, md.delta = ps.mean_base, ps.mean_head, ps.delta
            md.ci_low, md.ci_high, md.ci_method = ps.ci_low, ps.ci_high, ps.ci_method
            md.confidence, md.detectable = ps.confidence, ps.detectable
            md.p_value, md.mde = ps.p_value, ps.mde
            if not ps.detectable:
                md.note = ps.note
            md.improved, md.regressed, md.unchanged = ps.improved, ps.regressed, ps.unchanged
            if kind == "pass_fail":
                bp = [_passed(b, name) for b, _ in both]
                hp = [_passed(h, name) for _, h in both]
                if all(p is not None for p in bp + hp):
                    md.mcnemar_p = stats.mcnemar_exact(np.array(bp, dtype=bool), np.array(hp, dtype=bool))
        elif not md.note:
            md.note = f"insufficient data ({len(both)} paired case{'s' if len(both) != 1 else ''})"
        out.append(md)

    gated = [m for m in out if m.gated]
    for m, adj in zip(gated, stats.holm([m.p_value for m in gated]), strict=True):
        m.p_adjusted = adj
    for m in out:
        if m.delta is None:
            # No test ran: "insufficient data" is a warning, never a pass (a skipped metric stays neutral).
            neutral = m.kind == "info" or m.note.startswith(("skipped", "not in head", "new metric"))
            m.decision = "pass" if neutral else "warn"
            continue
        p = m.p_adjusted if m.gated else m.p_value
        m.decision = stats.decide(p, m.delta, reg.delta, reg.alpha, detectable=m.detectable)
    return out


def prompt_changes(base: list[PromptInfo], head: list[PromptInfo]) -> list[PromptChange]:
    """Changed (content hash differs), added and removed prompts, with unified diffs."""
    b = {p.name: p for p in base}
    h = {p.name: p for p in head}
    out: list[PromptChange] = []
    for name in sorted(b.keys() | h.keys()):
        old, new = b.get(name), h.get(name)
        if old is not None and new is not None and old.hash == new.hash:
            continue
        status = "changed" if old and new else ("added" if new else "removed")
        out.append(
            PromptChange(
                name=name,
                status=status,  # type: ignore[arg-type]
                old_version=old.version if old else None,
                new_version=new.version if new else None,
                old_hash=old.hash if old else None,
                new_hash=new.hash if new else None,
                diff=unified_prompt_diff(
                    _content(old),
                    _content(new),
                    f"{name}@{old.version} (base)" if old else "/dev/null",
                    f"{name}@{new.version} (head)" if new else "/dev/null",
                ),
                version_unchanged=bool(old and new and old.version == new.version),
            )
        )
    return out


def usage_summary(run: RunResult) -> UsageSummary:
    lat = [c.latency_ms for c in run.cases if c.latency_ms is not None]
    costs = [c.cost_usd for c in run.cases if c.cost_usd is not None]
    return UsageSummary(
        cases=len(run.cases),
        errors=sum(1 for c in run.cases if c.error),
        cost_usd=float(sum(costs)) if costs else None,
        input_tokens=_known_total(c.input_tokens for c in run.cases),
        output_tokens=_known_total(c.output_tokens for c in run.cases),
        latency_p50_ms=float(np.percentile(lat, 50)) if lat else None,
        latency_p95_ms=float(np.percentile(lat, 95)) if lat else None,
        cache_hits=sum(1 for c in run.cases if c.cache_hit),
        judge_cache_hits=sum(c.judge_cache_hits for c in run.cases),
    )


# --- helpers -------------------------------------------------------------------------------------


def _known_total(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _kind(run: RunResult, name: str) -> Any:
    if name == SCORE or name not in run.metrics:
        return "score"
    return run.metrics[name].kind


def _mean(run: RunResult, name: str) -> float | None:
    if name == SCORE:
        value = run.aggregates.get(SCORE)
        if value is None:
            scores = [c.score for c in run.cases if c.score is not None]
            value = float(np.mean(scores)) if scores else None
        return value
    agg = run.metrics.get(name)
    return agg.mean if agg is not None else None


def _passed(case: CaseResult, name: str) -> bool | None:
    ms = case.metrics.get(name)
    return ms.passed if ms is not None else None


def _dist_metric(run: RunResult, gates_cfg: GatesConfig) -> str:
    """The per-case score shown in worst cases and the distribution: the aggregate, else the first gated metric."""
    if any(c.score is not None for c in run.cases):
        return SCORE
    for name in gates_cfg.regression.metrics:
        if name in run.metrics:
            return name
    return next(iter(run.metrics), SCORE)


def _scores(cases: list[CaseResult], metric: str) -> list[float]:
    return [v for c in cases if c.error is None and (v := case_value(c, metric)) is not None]


def _content(p: PromptInfo | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"system": p.system, "template": p.template, "variables": p.variables}
