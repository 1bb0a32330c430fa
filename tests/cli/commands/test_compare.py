from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from llmops_action.cli.main import main
from llmops_action.core.comparison import Comparison
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
    - {metric: score, min: 0.95}
"""


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """base/, degraded/, same/ and incomplete/ results.json files in a folder with no .llmops.yml."""
    monkeypatch.chdir(tmp_path)
    base = make_run(sha="a" * 40)
    base.write(tmp_path / "base" / "results.json")
    make_run(sha="b" * 40, run_seed=2, shift=-0.25).write(tmp_path / "degraded" / "results.json")
    make_run(sha="c" * 40).write(tmp_path / "same" / "results.json")
    make_run(sha="d" * 40, verdict="incomplete", errors=range(20)).write(
        tmp_path / "incomplete" / "results.json"
    )
    return tmp_path


def test_a_regression_exits_1_and_writes_the_four_files(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compare", "--base", "base/results.json", "--head", "degraded/results.json", "--out", "out"])
    assert code == 1
    out, err = capsys.readouterr()
    assert out.startswith("verdict: fail (head bbbbbbb vs base aaaaaaa, given results files)")
    assert "[FAIL] regression/score: significant drop" in out
    assert "no --config and no .llmops.yml here" in err
    files = {p.name for p in (runs / "out").iterdir()}
    assert files == {"comment.md", "summary.md", "comparison.json", "junit.xml"}
    c = Comparison.from_json((runs / "out" / "comparison.json").read_text())
    assert c.verdict == "fail"
    ET.parse(runs / "out" / "junit.xml")
    assert (
        (runs / "out" / "comment.md").read_text().startswith("<!-- llmops-action:comment suite=default -->")
    )


def test_identical_runs_exit_0(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["compare", "--base", "base/results.json", "--head", "same/results.json", "--out", "out"]) == 0
    )
    assert capsys.readouterr().out.startswith("verdict: pass")


def test_the_config_in_the_current_folder_is_used(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (runs / ".llmops.yml").write_text(CONFIG)
    # Same scores, but the absolute gate (score >= 0.95) from .llmops.yml now fails.
    assert (
        main(["compare", "--base", "base/results.json", "--head", "same/results.json", "--out", "out"]) == 1
    )
    out, err = capsys.readouterr()
    assert "quality/score>=0.95" in out and "no --config" not in err


def test_an_incomplete_head_exits_3(runs: Path) -> None:
    assert main(["compare", "--base", "base/results.json", "--head", "incomplete/results.json"]) == 3
    assert (runs / ".llmops" / "report" / "comment.md").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "missing.json", "--head", "same/results.json"], "results file not found"),
        (["--base", "bad.json", "--head", "same/results.json"], "not JSON"),
        (
            ["--base", "base/results.json", "--head", "same/results.json", "--config", "nope.yml"],
            "config file not found",
        ),
        (
            ["--base", "base/results.json", "--head", "same/results.json", "--config", "bad.yml"],
            "unknown key",
        ),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    runs: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (runs / "bad.json").write_text("{not json")
    (runs / "bad.yml").write_text(CONFIG + "gatez: {}\n")
    assert main(["compare", *args, "--out", "out"]) == 2
    assert message in capsys.readouterr().err
    assert not (runs / "out").exists()


def test_help_ends_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "Example:\n  llmops-action compare --base" in capsys.readouterr().out


def test_runs_made_outside_git_read_as_given_results_files(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("nosha-base", "nosha-head"):
        run = make_run(sha="a" * 40)
        run.run.git_sha = None
        run.write(runs / name / "results.json")
    code = main(["compare", "--base", "nosha-base/results.json", "--head", "nosha-head/results.json"])
    assert code == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "verdict: pass (given results files)"
