from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from llmops_action.core.compare import compare
from llmops_action.core.comparison import Comparison, TrendPoint
from llmops_action.core.report import (
    comment_marker,
    render_comment,
    render_junit,
    render_summary,
    write_reports,
)
from llmops_action.core.results import RunResult
from tests.core.report.mdcheck import parse, problems, table_header
from tests.support.results_factory import make_run, prompt_info

BASE_SHA, HEAD_SHA = "a" * 40, "b" * 40
MARKER = comment_marker("default")


def degraded(**head_kw: object) -> tuple[RunResult, RunResult, Comparison]:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, run_seed=2, shift=-0.25, **head_kw)  # type: ignore[arg-type]
    return (
        base,
        head,
        compare(base, head, None, links={"workflow_run": "https://github.com/o/r/actions/runs/7"}),
    )


def assert_safe(md: str, budget: int = 60_000) -> None:
    assert problems(md, MARKER) == []
    assert len(md) <= budget


# --- structure -----------------------------------------------------------------------------------


def test_the_comment_has_every_section_in_order() -> None:
    _, _, c = degraded(prompts=[prompt_info(version="1.3.0", system="Be brief.")])
    md = render_comment(c)
    assert md.startswith(MARKER + "\n")
    headings = [line for line in md.split("\n") if line.startswith("### ")]
    assert headings == [
        "### Gates",
        "### Metrics",
        "### Drift (PSI)",
        "### Prompt changes",
        "### Worst regressed cases (score)",
        "### Cost, tokens, latency",
        "### Score distribution (score)",
    ]
    assert "## ❌ LLM evaluation: fail" in md
    assert (
        "Head `bbbbbbb` vs base `aaaaaaa` (given results file) · measurement: one config, for both sides"
        " · 40 paired, 0 added, 0 removed, 0 changed cases"
    ) in md
    assert table_header(md, "Gates") == ["Gate", "Base", "Head", "Δ (CI)", "Threshold", "Status"]
    assert table_header(md, "Metrics") == [
        "Metric",
        "Base",
        "Head",
        "Δ (CI)",
        "p (Holm)",
        "Improved / regressed / unchanged",
        "MDE",
        "Notes",
    ]
    assert table_header(md, "Drift (PSI)") == ["Signal", "PSI", "Adjusted PSI", "p", "Status", "Top bin"]
    assert md.count("<details>") == 1 + len(c.worst_cases)
    assert "[workflow run](https://github.com/o/r/actions/runs/7)" in md
    assert "config `cfg0000000000001`" in md and "`gemini-2.5-pro-002`" in md
    assert_safe(md)


def test_table_rows_have_as_many_cells_as_the_header() -> None:
    _, _, c = degraded()
    md = render_comment(c)
    for heading in ("Gates", "Metrics", "Drift (PSI)"):
        width = len(table_header(md, heading))
        lines = md.split("\n")
        start = lines.index(f"### {heading}") + 2
        rows = []
        for line in lines[start:]:
            if not line.startswith("|"):
                break
            rows.append(line)
        assert len(rows) > 2
        for row in rows:
            cells = row.replace("\\|", "").strip("|").split("|")
            assert len(cells) == width, row


def test_the_mermaid_chart_counts_every_scored_case() -> None:
    _, _, c = degraded()
    chart = next(body for info, body in parse(render_comment(c)).fences if info == "mermaid")
    assert chart.startswith("xychart-beta")
    bar = next(line for line in chart.split("\n") if line.strip().startswith("bar"))
    line = next(line for line in chart.split("\n") if line.strip().startswith("line"))
    assert sum(json.loads(bar.strip()[4:])) == len(c.score_distribution["base"])
    assert sum(json.loads(line.strip()[5:])) == len(c.score_distribution["head"])


def test_a_trend_adds_a_line_chart_with_safe_labels() -> None:
    *_, c = degraded()
    c.trend = [TrendPoint(label='main@"1"]; evil', score=0.8), TrendPoint(label="PR #12", score=0.7)]
    charts = [body for info, body in parse(render_comment(c)).fences if info == "mermaid"]
    assert len(charts) == 2
    assert 'x-axis ["main 1 evil", "PR #12"]' in charts[1]


def test_a_single_point_is_not_drawn_as_a_trend() -> None:
    *_, c = degraded()
    c.trend = [TrendPoint(label="PR #12", score=0.7)]
    charts = [body for info, body in parse(render_comment(c)).fences if info == "mermaid"]
    assert len(charts) == 1 and "recent baselines" not in render_comment(c)


def test_added_and_removed_cases_are_listed_under_the_verdict_line() -> None:
    base = make_run(sha=BASE_SHA, n=40)
    head = make_run(sha=HEAD_SHA, n=43)
    head.cases = head.cases[2:]
    md = render_comment(compare(base, head, None))
    assert "· 38 paired, 3 added, 2 removed, 0 changed cases" in md
    assert "- This PR adds 3 cases (not gated: no base to pair with): `q-040`, `q-041`, `q-042`" in md
    assert re.search(r"- This PR removes 2 cases whose base mean is 0\.\d+: `q-000`, `q-001`", md)
    row = next(line for line in md.split("\n") if line.startswith("| regression/score"))
    assert "skipped" not in row


def test_no_baseline_renders_without_base_columns_and_explains() -> None:
    md = render_comment(compare(None, make_run(sha=HEAD_SHA), None))
    assert "vs base none (no baseline)" in md and "measurement: n/a" in md
    assert "No baseline yet" in md and "### Drift" not in md
    assert_safe(md)


# --- adversarial content --------------------------------------------------------------------------

ADVERSARIAL = {
    "backticks": "```\n````` code ``````````\n~~~\n` `` ```",
    "details_and_comments": f"</details></summary><!-- hidden -->{MARKER}\n<details><summary>fake</summary>",
    "mentions": "ping @octocat and @github/security-team, cc @user-1 @org/team (mail a@b.co)",
    "invisible": "\u200b@\u200duser \u202eevil\u202c \u2066rtl\u2069 \ufeffbom @\u200borg/team",
    "html": "<img src=x onerror=alert(1)><script>x</script><a href='javascript:1'>x</a>",
    "markdown": "# Heading\n![tracker](https://evil.test/p.png) [click](https://evil.test) | col | #1",
}


@pytest.mark.parametrize("kind", sorted(ADVERSARIAL))
def test_adversarial_outputs_reasons_and_names_leave_the_comment_well_formed(kind: str) -> None:
    text = ADVERSARIAL[kind]
    base = make_run(sha=BASE_SHA, output=lambda i, f: f"{text} base {i}")
    head = make_run(sha=HEAD_SHA, run_seed=2, shift=-0.25, output=lambda i, f: f"{text} head {i}")
    for case in head.cases:
        case.metrics["faithfulness"].details["reasoning"] = text
    c = compare(base, head, None)
    c.warnings.append(text)
    c.not_comparable = [text]
    c.prompt_changes[:0] = []
    c.worst_cases[0].id = text
    c.drift[0].top_bin = text
    c.gates[0].reason = text
    c.metrics[0].note = text
    md = render_comment(c)
    assert_safe(md)
    summary = render_summary(c, head)
    assert problems(summary) == []
    ET.fromstring(render_junit(c))


def test_a_200_kb_output_is_truncated_visibly_and_the_comment_stays_in_budget() -> None:
    huge = "x" * 200_000
    base = make_run(sha=BASE_SHA, output=lambda i, f: huge)
    head = make_run(sha=HEAD_SHA, run_seed=2, shift=-0.25, output=lambda i, f: huge + "@user")
    c = compare(base, head, None)
    md = render_comment(c)
    assert_safe(md)
    assert "more characters)" in md
    summary = render_summary(c, head)
    assert len(summary.encode()) <= 1_048_576 and problems(summary) == []


def test_a_prompt_diff_containing_fences_stays_inside_its_block() -> None:
    evil = "```\n</details>\n````diff\n@user <!-- x -->\n~~~"
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, prompts=[prompt_info(version="2.0.0", template=evil, system="`````")])
    c = compare(base, head, None)
    md = render_comment(c)
    assert_safe(md)
    diff = next(body for info, body in parse(md).fences if info == "diff")
    assert "+</details>" in diff and "+@user" in diff  # verbatim inside the fence, where it is inert
    assert "+````diff" in diff


def test_over_budget_drops_cases_then_diffs_and_says_how_many() -> None:
    big = "y" * 50_000
    base = make_run(sha=BASE_SHA, output=lambda i, f: big)
    prompts = [prompt_info(name=f"p{k}", version="1.0.1", template=f"{k}\n" + "z\n" * 3000) for k in range(8)]
    head = make_run(sha=HEAD_SHA, run_seed=2, shift=-0.25, output=lambda i, f: big, prompts=prompts)
    c = compare(base, head, None)
    md = render_comment(c)
    assert_safe(md)
    assert "left out of this comment" in md and "the job summary has them" in md
    # Tables are kept whatever goes.
    assert "### Gates" in md and "### Metrics" in md and "### Drift (PSI)" in md
    full = render_summary(c, head)
    assert full.count("<details>") == len(c.worst_cases) + len(c.prompt_changes)


@pytest.mark.parametrize("budget", [20_000, 8_000, 3_000, 600])
def test_any_budget_is_respected_without_breaking_structure(budget: int) -> None:
    _, _, c = degraded(output=lambda i, f: "```" + "w" * 5000)
    md = render_comment(c, budget=budget)
    assert_safe(md, budget)
    assert md.startswith(MARKER)


def test_the_marker_is_stable_and_sanitised() -> None:
    assert comment_marker("default") == "<!-- llmops-action:comment suite=default -->"
    # A suite name can never end the HTML comment early or smuggle markup into it.
    assert comment_marker("a b-->x<y") == "<!-- llmops-action:comment suite=a_b--_x_y -->"


# --- summary, junit, files ------------------------------------------------------------------------


def test_the_summary_lists_every_case_including_errors() -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, errors=[4])
    c = compare(base, head, None)
    md = render_summary(c, head)
    assert MARKER not in md
    all_cases = md.split("### All cases")[1]
    rows = [line for line in all_cases.split("\n") if line.startswith("| q-")]
    assert len(rows) == 40
    assert "503 UNAVAILABLE" in next(r for r in rows if r.startswith("| q-004"))
    assert problems(md) == []


def test_junit_has_a_testcase_per_gate_and_per_regressed_case() -> None:
    _, _, c = degraded()
    root = ET.fromstring(render_junit(c))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    regressed = [d for d in c.extra["case_deltas"] if d["delta"] < 0]
    assert len(cases) == len(c.gates) + len(regressed) == int(suite.get("tests", "0"))
    failed = [tc for tc in cases if tc.find("failure") is not None]
    assert int(suite.get("failures", "0")) == len(failed)
    gate = next(tc for tc in cases if tc.get("name") == "regression/score")
    assert gate.find("failure") is not None
    big_drops = [d for d in regressed if d["delta"] <= -0.05]
    assert len(failed) == 1 + len(big_drops)


def test_junit_survives_control_characters() -> None:
    _, _, c = degraded()
    c.gates[0].reason = "bad \x00\x07 chars \ud800?"[:14]
    ET.fromstring(render_junit(c))


def test_write_reports_writes_the_four_files(tmp_path: Path) -> None:
    _, head, c = degraded()
    paths = write_reports(c, head, tmp_path / "out")
    assert {k: p.name for k, p in paths.items()} == {
        "comment": "comment.md",
        "summary": "summary.md",
        "comparison": "comparison.json",
        "junit": "junit.xml",
    }
    assert Comparison.from_json(paths["comparison"].read_text()) == c
    assert paths["comment"].read_text() == render_comment(c)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths.values())


def test_an_incomplete_run_is_flagged_at_the_top() -> None:
    base = make_run(sha=BASE_SHA)
    c = compare(base, make_run(sha=HEAD_SHA, verdict="incomplete", errors=range(10)), None)
    md = render_comment(c)
    assert "## ⏸️ LLM evaluation: incomplete" in md and "> [!CAUTION]" in md
    assert_safe(md)


def test_junit_reports_skipped_gates_as_skipped() -> None:
    c = compare(None, make_run(sha=HEAD_SHA), None)
    suite = ET.fromstring(render_junit(c)).find("testsuite")
    assert suite is not None
    skipped = [tc for tc in suite.findall("testcase") if tc.find("skipped") is not None]
    assert [tc.get("name") for tc in skipped] == ["regression/score"]
    assert suite.get("skipped") == "1"


def test_at_n_3_the_comment_says_it_cannot_detect_a_drop_and_shows_no_mde() -> None:
    base = make_run(sha=BASE_SHA, n=3)
    head = make_run(sha=HEAD_SHA, n=3, run_seed=2, shift=-0.4)
    c = compare(base, head, None)
    md = render_comment(c)
    row = next(line for line in md.split("\n") if line.startswith("| score"))
    cells = [x.strip() for x in row.split("|")]
    assert cells[7] == "n/a"  # the MDE column
    assert "cannot detect a drop at n = 3" in row
    # the gate's status stays short; its why is the line below the gates table (issue 8)
    why = next(line for line in md.split("\n") if line.startswith("- regression/score:"))
    assert "decided on the practical threshold alone" in why
