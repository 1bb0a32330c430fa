"""The comment read as a reviewer reads it: what failed first, short statuses, the whole rule, the evidence."""

from __future__ import annotations

from llmops_action.core.compare import case_deltas, compare, paired_cases
from llmops_action.core.comparison import Comparison
from llmops_action.core.config import parse_config
from llmops_action.core.report import render_comment
from llmops_action.core.report.filters import drift_status
from llmops_action.core.report.render import _distribution
from llmops_action.core.results import RunResult
from tests.core.report.mdcheck import table_header
from tests.support.results_factory import make_run

CONFIG = """\
datasets: [data/cases.jsonl]
provider: {type: outputs, path: outputs.jsonl}
metrics:
  - {type: judge, criterion: faithfulness, weight: 0.6}
  - {type: keyword_recall, weight: 0.4}
  - {type: json_valid}
gates:
  absolute:
    - {metric: keyword_recall, min: 0.1}
    - {metric: score, min: 0.95, blocking: false}
  regression: {metrics: [score]}
"""


def regressed(config: str = CONFIG) -> tuple[RunResult, RunResult, Comparison]:
    base = make_run(sha="a" * 40)
    head = make_run(sha="b" * 40, run_seed=2, shift=-0.25)
    return base, head, compare(base, head, parse_config(config))


def table_rows(md: str, heading: str) -> list[list[str]]:
    section = md.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[1:]]


def test_the_verdict_line_names_the_gates_that_failed() -> None:
    _, _, c = regressed()
    md = render_comment(c)
    verdict = md.split("### Gates", 1)[0]
    assert "**Failed:** regression/score" in verdict
    assert "quality/keyword" not in verdict  # it passed


def test_failing_gates_come_first_with_a_short_status_and_the_why_below() -> None:
    _, _, c = regressed()
    md = render_comment(c)
    rows = table_rows(md, "Gates")
    statuses = [r[-1] for r in rows]
    assert rows[0][0] == "regression/score" and statuses[0] == "❌ fail"
    assert statuses[1] == "⚠️ fail (non-blocking)"  # score >= 0.95, non-blocking
    assert statuses.index("✅ pass") > max(i for i, s in enumerate(statuses) if "fail" in s or "warn" in s)
    assert all(len(s) <= 30 for s in statuses), statuses  # no statistics sentence in the cell
    below = md.split("### Gates", 1)[1].split("### Metrics", 1)[0]
    assert "- regression/score: significant drop beyond the threshold: Δ -" in below


def test_the_threshold_column_shows_the_whole_rule() -> None:
    _, _, c = regressed(CONFIG + "drift: {block: [faithfulness]}\n")
    rows = {r[0]: r for r in table_rows(render_comment(c), "Gates")}
    assert table_header(render_comment(c), "Gates")[4] == "Threshold"
    assert rows["regression/score"][4] == "fails on a drop ≥ 0.050 and p &lt; 0.05"
    assert rows["drift/faithfulness"][4] == "fails on adjusted PSI ≥ 0.250 and p &lt; 0.01"
    assert rows["drift/latency\\_ms"][4] == "warns on adjusted PSI ≥ 0.100 and p &lt; 0.01"
    assert rows["quality/keyword\\_recall&gt;=0.1"][4] == "&gt;= 0.100"


def test_a_critical_signal_that_does_not_block_is_a_warning_everywhere() -> None:
    _, _, blocking = regressed(CONFIG + "drift: {block: [faithfulness]}\n")
    _, _, advisory = regressed()
    for c, icon, gate_status in ((blocking, "❌", "fail"), (advisory, "⚠️", "warn")):
        signal = next(s for s in c.drift if s.signal == "faithfulness")
        gate = next(g for g in c.gates if g.name == "drift/faithfulness")
        assert signal.status == "critical" and gate.status == gate_status
        assert drift_status(signal).startswith(icon)
        drift_row = next(r for r in table_rows(render_comment(c), "Drift (PSI)") if r[0] == "faithfulness")
        gate_row = next(r for r in table_rows(render_comment(c), "Gates") if r[0] == "drift/faithfulness")
        assert drift_row[4].startswith(icon) and gate_row[-1].startswith(icon)


def test_worst_cases_show_the_question_the_reference_and_the_heads_judgement() -> None:
    _, head, c = regressed()
    md = render_comment(c)
    worst = c.worst_cases[0]
    case = head.case_map()[worst.id]
    block = md.split(f"<details><summary>{worst.id}:", 1)[1].split("</details>", 1)[0]
    assert f'"question": "{case.vars["question"]}"' in block
    assert f"Reference:\n\n```text\n{case.reference}\n```" in block
    score = case.metrics["faithfulness"].score
    assert f"**Judge (head), faithfulness {score:.3f}:** Claims in case" in block
    assert block.index("Reference:") < block.index("Base output:") < block.index("Head output:")


def test_long_questions_are_truncated_visibly() -> None:
    base = make_run(sha="a" * 40)
    head = make_run(sha="b" * 40, run_seed=2, shift=-0.25)
    for case in head.cases:
        case.vars["context"] = "lorem ipsum " * 2_000
    md = render_comment(compare(base, head, None))
    assert "lorem ipsum " * 200 not in md and len(md) <= 60_000


def test_equal_drops_are_ordered_by_size_then_id() -> None:
    base, head = make_run(sha="a" * 40, n=6), make_run(sha="b" * 40, n=6)
    for b, h in zip(base.cases, head.cases, strict=True):
        b.score, h.score = 0.7, 0.7 - 0.1  # the same drop everywhere, as floating point gives it
        h.score = 0.6 if h.id in ("q-004", "q-001") else h.score
    head.cases[3].score = 0.2  # the largest drop
    order = [d.id for d in case_deltas(base, head, paired_cases(base, head), "score")]
    assert order[0] == "q-003"
    assert order[1:] == sorted(order[1:])


def test_cost_has_its_currency() -> None:
    _, _, c = regressed()
    row = next(r for r in table_rows(render_comment(c), "Cost, tokens, latency") if r[0] == "Cost")
    assert row[1].endswith(" USD") and row[2].endswith(" USD")


def test_mde_is_na_where_it_is_undefined() -> None:
    _, _, c = regressed()
    c.metrics[0].detectable = False
    assert table_rows(render_comment(c), "Metrics")[0][6] == "n/a"


def test_histogram_bins_take_boundary_scores_exactly() -> None:
    _, _, c = regressed()
    c.score_distribution = {"head": [0.3, 0.6, 0.7, 1.0, 0.0, 0.1]}
    dist = _distribution(c)
    assert dist is not None
    labels = [label.strip('"') for label in dist["labels"]]
    counts = dict(zip(labels, dist["series"][0]["counts"], strict=True))
    assert counts["0.3-0.4"] == 1 and counts["0.2-0.3"] == 0
    assert counts["0.6-0.7"] == 1 and counts["0.7-0.8"] == 1 and counts["0.1-0.2"] == 1
    assert counts["0.9-1"] == 1 and counts["0-0.1"] == 1  # 1.0 closes the last bin
