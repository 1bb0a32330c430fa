from __future__ import annotations

import pytest

from llmops_action.core.config import LlmopsConfig, parse_config
from llmops_action.core.gates import absolute_gates, verdict
from llmops_action.core.metrics.aggregate import aggregate_run
from llmops_action.core.results import RunResult
from llmops_action.core.shard import shard_of
from llmops_action.engine.merge import merge_results
from llmops_action.errors import IncompleteRunError, UserInputError
from tests.support.results_factory import make_run

CONFIG = """\
suite: default
datasets: [cases.jsonl]
provider: {type: outputs, path: outputs.jsonl}
metrics:
  - {type: judge, criterion: faithfulness, weight: 0.6}
  - {type: keyword_recall, weight: 0.4}
  - {type: json_valid, threshold: 0.5}
gates:
  absolute:
    - {metric: score, min: %s}
    - {metric: error_rate, max: 0.5}
"""


def config(score_min: float = 0.1) -> LlmopsConfig:
    return parse_config(CONFIG % score_min)


def whole(cfg: LlmopsConfig, n: int = 40, **kw: object) -> RunResult:
    return make_run(n=n, config_hash=cfg.config_hash(), **kw)  # type: ignore[arg-type]


def split(run: RunResult, n: int) -> list[RunResult]:
    """What n matrix jobs with `shard: i/n` would have written."""
    return [
        run.model_copy(
            update={
                "cases": [c for c in run.cases if shard_of(c.id, n) == i],
                "run": run.run.model_copy(update={"shard": f"{i}/{n}"}),
            }
        )
        for i in range(1, n + 1)
    ]


def test_merging_shards_equals_the_unsharded_run() -> None:
    cfg = config()
    run = whole(cfg, errors=(3, 17))
    shards = split(run, 3)
    assert all(s.cases for s in shards)
    merged = merge_results(list(reversed(shards)), cfg)  # argument order does not matter
    assert sorted(c.id for c in merged.cases) == sorted(c.id for c in run.cases)
    assert [c.id for c in merged.cases] == [c.id for s in shards for c in s.cases]  # shard order
    metrics, aggregates = aggregate_run(cfg, run.cases)
    # the same figures as one unsharded run, up to float summation order
    unknown = {k for k, v in aggregates.items() if v is None}  # e.g. judge cost without a price table
    assert {k for k, v in merged.aggregates.items() if v is None} == unknown
    known = {k: v for k, v in aggregates.items() if k not in unknown}
    assert {k: merged.aggregates[k] for k in known} == pytest.approx(known, rel=1e-12)
    assert merged.metrics.keys() == metrics.keys()
    for key, agg in metrics.items():
        assert merged.metrics[key].n == agg.n and merged.metrics[key].errors == agg.errors
        assert merged.metrics[key].mean == pytest.approx(agg.mean, rel=1e-12)
    assert merged.counts.cases == 40 and merged.counts.errors == 2
    assert merged.counts.cache_hits == sum(c.cache_hit for c in run.cases)
    assert merged.run.shard is None
    direct = absolute_gates(cfg.gates, aggregates, metrics)
    assert [(g.name, g.status) for g in merged.gates] == [(g.name, g.status) for g in direct]
    assert merged.verdict == verdict(direct)


def test_clean_shards_pass_their_gates() -> None:
    cfg = config()
    merged = merge_results(split(whole(cfg), 4), cfg)
    assert [g.status for g in merged.gates] == ["pass", "pass"] and merged.verdict == "pass"


def test_gates_are_recomputed_on_the_merged_cases() -> None:
    cfg = config(score_min=0.99)
    shards = split(whole(cfg), 2)
    merged = merge_results(shards, cfg)
    score_gate = merged.gates[0]
    assert score_gate.metric == "score" and score_gate.status == "fail"
    assert score_gate.value == merged.aggregates["score"]
    assert merged.verdict == "fail"


def test_too_many_errors_make_the_merge_incomplete() -> None:
    cfg = config()
    merged = merge_results(split(whole(cfg, n=20, errors=(0, 1, 2)), 2), cfg)
    assert merged.counts.errors == 3 and merged.verdict == "incomplete"


def test_times_span_all_shards() -> None:
    cfg = config()
    a, b = split(whole(cfg), 2)
    b = b.model_copy(
        update={
            "run": b.run.model_copy(
                update={"started_at": "2024-12-31T23:59:00Z", "finished_at": "2025-01-01T00:09:00Z"}
            )
        }
    )
    merged = merge_results([a, b], cfg)
    assert (merged.run.started_at, merged.run.finished_at) == ("2024-12-31T23:59:00Z", "2025-01-01T00:09:00Z")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("suite", "other"),
        ("dataset_hash", "ds-other"),
        ("metrics_hash", "mt-other"),
        ("git_sha", "b" * 40),
    ],
)
def test_shards_of_different_runs_are_refused_naming_the_file(field: str, value: str) -> None:
    cfg = config()
    a, b = split(whole(cfg), 2)
    b = b.model_copy(update={"run": b.run.model_copy(update={field: value})})
    with pytest.raises(UserInputError) as exc:
        merge_results([a, b], cfg, sources=["s1.json", "s2.json"])
    assert exc.value.file == "s2.json" and exc.value.key == f"run.{field}"


def test_shards_with_other_prompt_versions_are_refused() -> None:
    cfg = config()
    a, b = split(whole(cfg), 2)
    prompts = [p.model_copy(update={"version": "9.0.0"}) for p in b.run.prompts]
    b = b.model_copy(update={"run": b.run.model_copy(update={"prompts": prompts})})
    with pytest.raises(UserInputError, match="prompt versions") as exc:
        merge_results([a, b], cfg, sources=["s1.json", "s2.json"])
    assert exc.value.file == "s2.json"


def test_a_config_other_than_the_shards_is_refused() -> None:
    cfg = config()
    shards = split(whole(cfg), 2)
    other = parse_config((CONFIG % 0.1).replace("weight: 0.4", "weight: 0.5"))
    with pytest.raises(UserInputError, match="config hash"):
        merge_results(shards, other)


def test_duplicate_case_ids_are_refused() -> None:
    cfg = config()
    run = whole(cfg)
    with pytest.raises(UserInputError, match="in two shards") as exc:
        merge_results([run, run], cfg, sources=["x.json", "y.json"])
    assert exc.value.file == "y.json"


def test_a_missing_shard_makes_the_merge_incomplete() -> None:
    cfg = config()
    s1, _, s3 = split(whole(cfg), 3)
    with pytest.raises(IncompleteRunError, match="2/3 missing"):
        merge_results([s1, s3], cfg)


def test_the_same_shard_twice_is_refused() -> None:
    cfg = config()
    s1, s2 = split(whole(cfg), 2)
    with pytest.raises(UserInputError, match="appears twice"):
        merge_results([s1, s2, s1], cfg, sources=["a", "b", "c"])


def test_shards_of_different_counts_are_refused() -> None:
    cfg = config()
    run = whole(cfg)
    with pytest.raises(UserInputError, match="of 3 shards"):
        merge_results([*split(run, 2)[:1], *split(run, 3)[1:]], cfg, sources=["a", "b", "c"])


def test_a_case_in_the_wrong_shard_is_refused() -> None:
    cfg = config()
    s1, s2 = split(whole(cfg), 2)
    moved = s2.cases[0]
    s1 = s1.model_copy(update={"cases": [*s1.cases, moved]})
    s2 = s2.model_copy(update={"cases": s2.cases[1:]})
    with pytest.raises(UserInputError, match=f"case '{moved.id}' belongs to shard 2/2"):
        merge_results([s1, s2], cfg, sources=["a", "b"])


def test_mixing_sharded_and_unsharded_results_is_refused() -> None:
    cfg = config()
    run = whole(cfg)
    s1, _ = split(run, 2)
    with pytest.raises(UserInputError, match="not a shard"):
        merge_results([s1, run], cfg, sources=["a", "b"])


def test_nothing_to_merge() -> None:
    with pytest.raises(UserInputError):
        merge_results([], config())
