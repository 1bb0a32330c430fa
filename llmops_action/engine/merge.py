"""Combine the RunResults of matrix shards (`shard: i/n`) into the one RunResult of the whole suite.

Shards must be runs of the same thing: same suite, config, dataset, metrics, prompts and git sha.
Per-shard aggregates and gates are thrown away and recomputed over all cases, because a mean of
means (or a p95 of p95s) is not the suite's figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llmops_action.core.outcome import run_outcome
from llmops_action.core.results import RunResult
from llmops_action.core.shard import parse_shard, shard_of
from llmops_action.errors import IncompleteRunError, UserInputError

if TYPE_CHECKING:
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.results import CaseResult

# Fields of RunMeta that must agree for two shards to be parts of one run.
_SAME = ("suite", "config_hash", "dataset_hash", "metrics_hash", "git_sha")


def _name(sources: Sequence[str] | None, i: int) -> str:
    return sources[i] if sources else f"results #{i + 1}"


def _prompts_key(r: RunResult) -> list[tuple[str, str, str]]:
    return sorted((p.name, p.version, p.hash) for p in r.run.prompts)


def _check_compatible(results: Sequence[RunResult], sources: Sequence[str] | None) -> None:
    first = results[0].run
    for i, r in enumerate(results[1:], 1):
        for field in _SAME:
            a, b = getattr(first, field), getattr(r.run, field)
            if a != b:
                raise UserInputError(
                    f"this shard has {field} {b!r} but {_name(sources, 0)} has {a!r}: "
                    "only shards of the same run can be merged",
                    file=_name(sources, i),
                    key=f"run.{field}",
                )
        if _prompts_key(r) != _prompts_key(results[0]):
            raise UserInputError(
                f"this shard ran other prompt versions than {_name(sources, 0)}",
                file=_name(sources, i),
                key="run.prompts",
            )


def _check_shards(results: Sequence[RunResult], sources: Sequence[str] | None) -> None:
    """Every shard i/n present once, of the same n, and each case in the shard its id hashes to."""
    labels = [r.run.shard for r in results]
    if all(label is None for label in labels):
        return  # unsharded partial runs (e.g. split by hand): only the duplicate-id check applies
    seen: dict[int, int] = {}
    total: int | None = None
    for i, (r, label) in enumerate(zip(results, labels, strict=True)):
        if label is None:
            raise UserInputError(
                "this results file is not a shard (run.shard is empty) but others are",
                file=_name(sources, i),
                key="run.shard",
            )
        parsed = parse_shard(label)
        assert parsed is not None
        index, n = parsed
        if total is not None and n != total:
            raise UserInputError(
                f"shard {label} is of {n} shards, but {_name(sources, 0)} is of {total}",
                file=_name(sources, i),
                key="run.shard",
            )
        total = n
        if index in seen:
            raise UserInputError(
                f"shard {label} appears twice (also {_name(sources, seen[index])})",
                file=_name(sources, i),
                key="run.shard",
            )
        seen[index] = i
        stray = next((c.id for c in r.cases if shard_of(c.id, n) != index), None)
        if stray is not None:
            raise UserInputError(
                f"case '{stray}' belongs to shard {shard_of(stray, n)}/{n}, not {label}",
                file=_name(sources, i),
                key="cases",
            )
    assert total is not None
    missing = sorted(set(range(1, total + 1)) - set(seen))
    if missing:
        raise IncompleteRunError(
            f"shard(s) {', '.join(f'{m}/{total}' for m in missing)} missing: "
            f"got {len(results)} of {total} results files; merging would silently drop their cases"
        )


def _merged_cases(results: Sequence[RunResult], sources: Sequence[str] | None) -> list[CaseResult]:
    where: dict[str, int] = {}
    cases: list[CaseResult] = []
    for i, r in enumerate(results):
        for c in r.cases:
            if c.id in where:
                raise UserInputError(
                    f"case '{c.id}' is in two shards (also in {_name(sources, where[c.id])})",
                    file=_name(sources, i),
                    key="cases",
                )
            where[c.id] = i
            cases.append(c)
    return cases


def _order(results: Sequence[RunResult]) -> list[int]:
    """Shard order (1/n first), so the merged file does not depend on argument order."""

    def key(i: int) -> tuple[int, int]:
        parsed = parse_shard(results[i].run.shard)
        return (parsed[0] if parsed else 0, i)

    return sorted(range(len(results)), key=key)


def merge_results(
    results: Sequence[RunResult], config: LlmopsConfig, *, sources: Sequence[str] | None = None
) -> RunResult:
    """One RunResult from shard RunResults. `sources` (file names, same order) name the culprit in errors."""
    if not results:
        raise UserInputError("give at least one results file to merge")
    if sources is not None and len(sources) != len(results):
        raise ValueError("sources must name every result")
    order = _order(results)
    results = [results[i] for i in order]
    sources = [sources[i] for i in order] if sources is not None else None
    _check_compatible(results, sources)
    _check_shards(results, sources)
    if results[0].run.config_hash != config.config_hash():
        raise UserInputError(
            f"the shards were run with config hash {results[0].run.config_hash}, "
            f"but this config's hash is {config.config_hash()}",
            file=_name(sources, 0),
            key="run.config_hash",
            hint="Merge with the same .llmops.yml the shards ran with (--config).",
        )
    cases = _merged_cases(results, sources)
    outcome = run_outcome(config, cases, judge_calls=sum(r.counts.judge_calls for r in results))
    first = results[0].run
    judge = next((r.run.judge for r in results if r.run.judge is not None), None)
    meta = first.model_copy(
        update={
            "started_at": min(r.run.started_at for r in results),
            "finished_at": max(r.run.finished_at for r in results),
            "shard": None,
            "judge": judge,
        }
    )
    return RunResult(
        run=meta,
        cases=cases,
        metrics=outcome.metrics,
        aggregates=outcome.aggregates,
        counts=outcome.counts,
        gates=outcome.gates,
        verdict=outcome.verdict,  # type: ignore[arg-type]
    )


def merge_files(
    paths: Sequence[str | Path], config: LlmopsConfig, out_dir: str | Path
) -> tuple[RunResult, Path]:
    """Read shard results files, merge them, write `<out_dir>/results.json` atomically."""
    results = [RunResult.read(p) for p in paths]
    merged = merge_results(results, config, sources=[str(p) for p in paths])
    return merged, merged.write(Path(out_dir) / "results.json")
